/* api-users.c - users (admins and agents, with passwords) and their API tokens. Admins manage
 * users; any user may make a token for themselves. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

void
api_user_list(api_request_t *req)
{
    pgpdesk_user_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_user_list(req->pd, &list);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *users = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(users, pgpdesk_user_to_json(&list->users[i]));
    pgpdesk_user_list_destroy(list);
    reply_json(req, 200, users);
}

static bool
parse_role(const char *text, pgpdesk_role_t *role)
{
    if (!text || strcmp(text, "agent") == 0)
        *role = PGPDESK_ROLE_AGENT;
    else if (strcmp(text, "admin") == 0)
        *role = PGPDESK_ROLE_ADMIN;
    else
        return false;
    return true;
}

/* Replies status with the user login as stored. */
static void
reply_user(api_request_t *req, unsigned status, const char *login)
{
    pgpdesk_user_t *user = NULL;
    pgpdesk_status_t st = pgpdesk_user_get(req->pd, login, &user);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, status, pgpdesk_user_to_json(user));
    pgpdesk_user_destroy(user);
}

/* {"login", "password", "role": "admin"|"agent" (default agent)} */
void
api_user_create(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    bool ok = true;
    const char *login = json_member_string(body, "login", &ok);
    const char *password = json_member_string(body, "password", &ok);
    const char *role_name = json_member_string(body, "role", &ok);
    pgpdesk_role_t role;
    pgpdesk_status_t st;
    if (!ok || !login || !*login || !password || !parse_role(role_name, &role))
        reply_invalid(req, "login and password must be strings, role \"admin\" or \"agent\".");
    else if ((st = pgpdesk_user_create(req->pd, login, password, role, NULL)))
        reply_failure(req, st);
    else
        reply_user(req, 201, login);
    json_decref(body);
}

void
api_user_delete(api_request_t *req)
{
    pgpdesk_status_t st;
    /* Deleting oneself could leave nobody able to sign in and manage users. */
    if (strcmp(req->param, req->user->login) == 0)
        reply_invalid(req, "You cannot delete your own user.");
    else if ((st = pgpdesk_user_delete(req->pd, req->param)))
        reply_failure(req, st);
    else
        reply_json(req, 200, json_object());
}

/* Body {} or none: a token for the caller; {"login": L}: for L (admins only). The token is
 * shown this once: only its hash is stored. */
void
api_token_create(api_request_t *req)
{
    json_t *body = req->body_size ? request_json(req) : json_object();
    if (!body)
        return;
    bool ok = true;
    const char *login = json_member_string(body, "login", &ok);
    if (!login)
        login = req->user->login;
    char *token = NULL;
    pgpdesk_status_t st;
    if (!ok)
        reply_invalid(req, "login must be a string.");
    else if (strcmp(login, req->user->login) != 0 && req->user->role != PGPDESK_ROLE_ADMIN)
        reply_error(req, 403, "forbidden", "Only admins make tokens for other users.");
    else if ((st = pgpdesk_token_create(req->pd, login, &token)))
        reply_failure(req, st);
    else
        reply_json(req, 201, json_pack("{s:s}", "token", token));
    if (token)
        explicit_bzero(token, strlen(token));
    free(token);
    json_decref(body);
}
