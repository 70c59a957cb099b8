/* api.h - what the server's files share: the request a handler gets, the reply helpers, the
 * access levels of the route table, and the handlers (one file per subsystem). Private to
 * server/; the CLI includes only server.h. */
#ifndef PGPDESK_SERVER_API_H
#define PGPDESK_SERVER_API_H

#include "pgpdesk.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SESSION_COOKIE "pgpdesk_session"
#define CSRF_COOKIE "pgpdesk_csrf"
#define CSRF_HEADER "X-CSRF-Token"

/* Who may call a route. Each level includes the ones above it. */
typedef enum access {
    ACCESS_PUBLIC, /* anyone, no credentials */
    ACCESS_USER,   /* any signed-in user or token */
    ACCESS_AGENT,  /* agents and admins */
    ACCESS_ADMIN,
} access_t;

/* One request being answered. The handler reads the request part and sets the reply through
 * the reply_* helpers (exactly one of them). */
typedef struct api_request {
    struct MHD_Connection *connection;
    const char *method;       /* "GET", "POST", ...; HEAD is routed as GET */
    const char *path;         /* decoded, without the query */
    const char *param;        /* the :name segment of the route, or NULL */
    const uint8_t *body;      /* NUL-terminated; "" when there is none */
    size_t body_size;
    bool tls;
    pgpdesk_t *pd;            /* a handle for this thread, for this request only */
    pgpdesk_user_t *user;     /* the authenticated user, NULL on public routes */
    const char *session;      /* the session cookie the user came with; NULL for a token */

    unsigned status;                /* the reply: HTTP status ... */
    struct MHD_Response *response;  /* ... and response, owned by the request until queued */
} api_request_t;

/* ---------------------------------------------------------------- replies (reply.c) */

/* Replies with value as JSON and releases it (a NULL value is a 500). */
void reply_json(api_request_t *req, unsigned status, json_t *value);

/* Replies {"error": code, "error_human": human}. */
void reply_error(api_request_t *req, unsigned status, const char *code, const char *human);

/* Replies with the error of a failed library call on req->pd: the HTTP status and machine code
 * its status maps to, and pgpdesk_errmsg() (which may name an address) as error_human. */
void reply_failure(api_request_t *req, pgpdesk_status_t status);

/* As reply_failure() for a status without handle detail (e.g. one item of an import). */
void reply_status(api_request_t *req, pgpdesk_status_t status);

/* A 422 for a field the request got wrong; human says which and how. */
void reply_invalid(api_request_t *req, const char *human);

/* Replies with bytes (copied) as a download: Content-Disposition attachment; filename. */
void reply_download(api_request_t *req, const char *content_type, const void *data, size_t size,
                    const char *filename);

/* As reply_download() for a secret: data (malloc'd, NUL-terminated) is taken over and wiped
 * when the response is done with it. */
void reply_secret_download(api_request_t *req, const char *content_type, char *data, size_t size,
                           const char *filename);

/* Replies with static bytes (not copied: they must outlive the response). */
void reply_static(api_request_t *req, unsigned status, const char *content_type, const void *data,
                  size_t size);

/* Adds a header to the reply set before (ignored when there is none). */
void reply_add_header(api_request_t *req, const char *name, const char *value);

/* ---------------------------------------------------------------- request helpers (request.c) */

/* The request body as a JSON object: new reference the caller releases; NULL after replying
 * 400 when the body is not a JSON object. */
json_t *request_json(api_request_t *req);

/* A header, cookie or query argument; NULL when absent. Owned by the connection. */
const char *request_header(const api_request_t *req, const char *name);
const char *request_cookie(const api_request_t *req, const char *name);
const char *request_query(const api_request_t *req, const char *name);

/* A query argument as a number in [0, max], or fallback when absent. Returns false after
 * replying 422 when it is not one. */
bool request_query_number(api_request_t *req, const char *name, int64_t fallback, int64_t max,
                          int64_t *value);

/* req->param as a positive row id; false after replying 404 when it is not one. */
bool request_param_id(api_request_t *req, int64_t *id);

/* A JSON member as a row id: a positive integer or a string of digits (Zammad's UI sends
 * both). Returns false when it is neither; absent or null gives 0. */
bool json_member_id(const json_t *object, const char *name, int64_t *id);

/* A JSON member that must be a string (or absent/null: NULL). *ok is set false when it is
 * something else. Borrowed from object. */
const char *json_member_string(const json_t *object, const char *name, bool *ok);

/* The fields of a multipart/form-data body. */
typedef struct form_field {
    char *name;
    char *filename; /* NULL unless a file was uploaded */
    uint8_t *data;  /* NUL-terminated */
    size_t size;
} form_field_t;

typedef struct form {
    form_field_t *fields;
    size_t count;
} form_t;

/* Is the body multipart/form-data? */
bool request_is_form(const api_request_t *req);

/* Parses a multipart/form-data body. out: caller frees it with form_destroy(). Returns false
 * after replying 400 when the body cannot be parsed. */
bool request_form(api_request_t *req, form_t **out);
/* The first field called name, or NULL. */
const form_field_t *form_get(const form_t *form, const char *name);
void form_destroy(form_t *form);

/* ---------------------------------------------------------------- authentication (auth.c) */

/* Sets req->user (and req->session) from an Authorization header or the session cookie.
 * csrf_ok: whether the request carries the session's CSRF token (always true for a token,
 * which a browser never sends on its own). Returns false when there are no valid credentials. */
bool auth_identify(api_request_t *req, bool *csrf_ok);

/* ---------------------------------------------------------------- the route table (routes.c) */

/* Finds the route, checks credentials, role and CSRF token, runs the handler. */
void routes_dispatch(api_request_t *req);

/* ---------------------------------------------------------------- handlers */

/* auth.c */
void api_signin(api_request_t *req);
void api_signout(api_request_t *req);
void api_me(api_request_t *req);

/* api-pgp.c: Zammad's PGP integration */
void api_pgp_security_options(api_request_t *req);
void api_pgp_status(api_request_t *req);
void api_pgp_key_list(api_request_t *req);
void api_pgp_key_show(api_request_t *req);
void api_pgp_key_add(api_request_t *req);
void api_pgp_key_delete(api_request_t *req);
void api_pgp_key_download(api_request_t *req);
void api_pgp_logs(api_request_t *req);

/* api-settings.c */
void api_settings_show(api_request_t *req);
void api_settings_update(api_request_t *req);

/* api-groups.c */
void api_group_list(api_request_t *req);
void api_group_create(api_request_t *req);
void api_group_show(api_request_t *req);
void api_group_update(api_request_t *req);
void api_group_delete(api_request_t *req);

/* api-articles.c */
void api_article_list(api_request_t *req);
void api_article_show(api_request_t *req);
void api_article_raw(api_request_t *req);
void api_article_mime(api_request_t *req);
void api_article_retry(api_request_t *req);
void api_incoming(api_request_t *req);

/* api-send.c */
void api_send(api_request_t *req);

/* api-users.c */
void api_user_list(api_request_t *req);
void api_user_create(api_request_t *req);
void api_user_delete(api_request_t *req);
void api_token_create(api_request_t *req);

/* static-ui.c */
void api_ui(api_request_t *req);

#endif
