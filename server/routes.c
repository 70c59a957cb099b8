/* routes.c - the route table of the server, and the one place that enforces it: 404 for an
 * unknown API path, 405 for a known path with another method, 401 without credentials, 403 for
 * a missing CSRF token or a role too low; then the handler. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

/* The pattern of the route that takes every path not under /api/. */
#define OUTSIDE_API "/**"

typedef struct route {
    const char *method;
    const char *pattern; /* "/api/v1/groups/:id" (":name" matches one segment), or OUTSIDE_API */
    access_t access;
    void (*handler)(api_request_t *req);
} route_t;

static const route_t routes[] = {
    /* sessions */
    {"POST", "/api/v1/signin", ACCESS_PUBLIC, api_signin},
    {"POST", "/api/v1/signout", ACCESS_USER, api_signout},
    {"GET", "/api/v1/me", ACCESS_USER, api_me},

    /* Zammad's PGP integration */
    {"POST", "/api/v1/integration/pgp", ACCESS_AGENT, api_pgp_security_options},
    {"GET", "/api/v1/integration/pgp/status", ACCESS_ADMIN, api_pgp_status},
    {"GET", "/api/v1/integration/pgp/key", ACCESS_ADMIN, api_pgp_key_list},
    {"POST", "/api/v1/integration/pgp/key", ACCESS_ADMIN, api_pgp_key_add},
    {"GET", "/api/v1/integration/pgp/key/:id", ACCESS_ADMIN, api_pgp_key_show},
    {"DELETE", "/api/v1/integration/pgp/key/:id", ACCESS_ADMIN, api_pgp_key_delete},
    {"GET", "/api/v1/integration/pgp/key_download/:id", ACCESS_ADMIN, api_pgp_key_download},
    {"GET", "/api/v1/http_logs/PGP", ACCESS_ADMIN, api_pgp_logs},

    /* pgpdesk's own */
    {"GET", "/api/v1/settings", ACCESS_AGENT, api_settings_show},
    {"PUT", "/api/v1/settings", ACCESS_ADMIN, api_settings_update},
    {"GET", "/api/v1/groups", ACCESS_AGENT, api_group_list},
    {"POST", "/api/v1/groups", ACCESS_ADMIN, api_group_create},
    {"GET", "/api/v1/groups/:id", ACCESS_AGENT, api_group_show},
    {"PUT", "/api/v1/groups/:id", ACCESS_ADMIN, api_group_update},
    {"DELETE", "/api/v1/groups/:id", ACCESS_ADMIN, api_group_delete},
    {"GET", "/api/v1/articles", ACCESS_AGENT, api_article_list},
    {"GET", "/api/v1/articles/:id", ACCESS_AGENT, api_article_show},
    {"GET", "/api/v1/articles/:id/raw", ACCESS_AGENT, api_article_raw},
    {"GET", "/api/v1/articles/:id/mime", ACCESS_AGENT, api_article_mime},
    {"POST", "/api/v1/articles/:id/retry", ACCESS_AGENT, api_article_retry},
    {"POST", "/api/v1/incoming", ACCESS_AGENT, api_incoming},
    {"POST", "/api/v1/send", ACCESS_AGENT, api_send},
    {"GET", "/api/v1/users", ACCESS_ADMIN, api_user_list},
    {"POST", "/api/v1/users", ACCESS_ADMIN, api_user_create},
    {"DELETE", "/api/v1/users/:login", ACCESS_ADMIN, api_user_delete},
    {"POST", "/api/v1/tokens", ACCESS_USER, api_token_create},

    /* the web UI: its files, and index.html for every other path (the UI routes by hash) */
    {"GET", OUTSIDE_API, ACCESS_PUBLIC, api_ui},
};

#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

/* Does path match pattern? A ":name" segment matches any one non-empty segment and is stored
 * in *param. */
static bool
path_matches(const char *pattern, const char *path, const char **param, char *param_buf,
             size_t param_size)
{
    if (strcmp(pattern, OUTSIDE_API) == 0)
        return strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0;
    while (*pattern && *path) {
        if (*pattern++ != '/' || *path++ != '/')
            return false;
        size_t segment = strcspn(path, "/");
        if (*pattern == ':') {
            if (segment == 0 || segment >= param_size)
                return false;
            memcpy(param_buf, path, segment);
            param_buf[segment] = '\0';
            *param = param_buf;
            pattern += strcspn(pattern, "/");
        } else {
            size_t literal = strcspn(pattern, "/");
            if (literal != segment || strncmp(pattern, path, segment) != 0)
                return false;
            pattern += literal;
        }
        path += segment;
    }
    return !*pattern && !*path;
}

static bool
changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static bool
has_access(const pgpdesk_user_t *user, access_t access)
{
    switch (access) {
    case ACCESS_PUBLIC:
    case ACCESS_USER:
        return true;
    case ACCESS_AGENT:
        return user->role == PGPDESK_ROLE_AGENT || user->role == PGPDESK_ROLE_ADMIN;
    case ACCESS_ADMIN:
        return user->role == PGPDESK_ROLE_ADMIN;
    }
    return false;
}

/* Replies 405 with the methods the path does allow. */
static void
reply_method_not_allowed(api_request_t *req, const char *allowed)
{
    reply_error(req, 405, "method_not_allowed", "This method is not allowed here.");
    reply_add_header(req, MHD_HTTP_HEADER_ALLOW, allowed);
}

void
routes_dispatch(api_request_t *req)
{
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    const route_t *route = NULL;
    char param[1024], allowed[64] = "";
    for (size_t i = 0; i < ROUTE_COUNT && !route; i++) {
        const char *p = NULL;
        if (!path_matches(routes[i].pattern, req->path, &p, param, sizeof param))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            route = &routes[i];
            req->param = p;
        } else if (!strstr(allowed, routes[i].method)) {
            if (*allowed)
                strcat(allowed, ", ");
            strcat(allowed, routes[i].method);
        }
    }
    if (!route) {
        if (*allowed)
            reply_method_not_allowed(req, allowed);
        else
            reply_error(req, 404, "not_found", "Not found.");
        return;
    }
    if (route->access != ACCESS_PUBLIC) {
        bool csrf_ok = false;
        if (!auth_identify(req, &csrf_ok)) {
            reply_error(req, 401, "unauthorized", "Sign in, or send an API token.");
            return;
        }
        if (changes_state(req->method) && !csrf_ok) {
            reply_error(req, 403, "csrf", "The request lacks the session's CSRF token "
                                          "(header " CSRF_HEADER ").");
            return;
        }
        if (!has_access(req->user, route->access)) {
            reply_error(req, 403, "forbidden", "Your role does not allow this.");
            return;
        }
    }
    route->handler(req);
}
