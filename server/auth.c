/* auth.c - who is calling: API tokens (Authorization header) and browser sessions (cookies with
 * a CSRF token), plus the sign-in, sign-out and "who am I" routes.
 *
 * A browser session is two cookies set at sign-in: pgpdesk_session (HttpOnly) and pgpdesk_csrf,
 * the session's CSRF token. Every state-changing request with the session cookie must repeat
 * the CSRF token in the X-CSRF-Token header; a cross-site page can neither read the cookie nor
 * set the header. The CSRF cookie is there for GET /api/v1/me: the library keeps only hashes,
 * so the token of an existing session (a reload, a second tab) is read back from it, checked
 * against the session, and returned. */
#include "api.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The token of "Authorization: Bearer T", or of Zammad's "Authorization: Token token=T". */
static const char *
authorization_token(const char *authorization)
{
    if (strncasecmp(authorization, "Bearer ", 7) == 0)
        return authorization + 7;
    if (strncasecmp(authorization, "Token token=", 12) == 0)
        return authorization + 12;
    return NULL;
}

bool
auth_identify(api_request_t *req, bool *csrf_ok)
{
    const char *authorization = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (authorization) {
        const char *token = authorization_token(authorization);
        *csrf_ok = true;
        return token && pgpdesk_token_authenticate(req->pd, token, &req->user) == 0;
    }
    const char *session = request_cookie(req, SESSION_COOKIE);
    if (!session)
        return false;
    bool ok = false;
    if (pgpdesk_session_authenticate(req->pd, session, request_header(req, CSRF_HEADER),
                                     &req->user, &ok) != 0)
        return false;
    req->session = session;
    *csrf_ok = ok;
    return true;
}

/* Sets (or, with NULL values, clears) the two session cookies on the reply. */
static void
set_session_cookies(api_request_t *req, const char *session, const char *csrf)
{
    long max_age = session ? PGPDESK_SERVER_SESSION_TTL : 0;
    const char *secure = req->tls ? "; Secure" : "";
    char cookie[512];
    snprintf(cookie, sizeof cookie, SESSION_COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; "
             "Max-Age=%ld%s", session ? session : "", max_age, secure);
    reply_add_header(req, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    snprintf(cookie, sizeof cookie, CSRF_COOKIE "=%s; SameSite=Strict; Path=/; Max-Age=%ld%s",
             csrf ? csrf : "", max_age, secure);
    reply_add_header(req, MHD_HTTP_HEADER_SET_COOKIE, cookie);
}

/* Starts a session for user (replacing the one the request came with, if any) and replies
 * {"user", "csrf_token"} with its cookies. */
static void
reply_new_session(api_request_t *req, const pgpdesk_user_t *user)
{
    char *session = NULL, *csrf = NULL;
    pgpdesk_status_t st = pgpdesk_session_create(req->pd, user->id, PGPDESK_SERVER_SESSION_TTL,
                                                 &session, &csrf);
    if (st) {
        reply_failure(req, st);
        return;
    }
    const char *old = request_cookie(req, SESSION_COOKIE);
    if (old)
        pgpdesk_session_delete(req->pd, old); /* no longer usable either way */
    reply_json(req, 200, json_pack("{s:o, s:s}", "user", pgpdesk_user_to_json(user),
                                   "csrf_token", csrf));
    set_session_cookies(req, session, csrf);
    free(session);
    free(csrf);
}

void
api_signin(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    bool ok = true;
    const char *login = json_member_string(body, "login", &ok);
    const char *password = json_member_string(body, "password", &ok);
    if (!ok || !login || !password) {
        reply_invalid(req, "The login and password are required.");
    } else {
        pgpdesk_user_t *user = NULL;
        pgpdesk_status_t st = pgpdesk_user_authenticate(req->pd, login, password, &user);
        if (st)
            reply_failure(req, st);
        else
            reply_new_session(req, user);
        pgpdesk_user_destroy(user);
    }
    json_decref(body);
}

void
api_signout(api_request_t *req)
{
    if (req->session)
        pgpdesk_session_delete(req->pd, req->session);
    reply_json(req, 200, json_object());
    if (req->session)
        set_session_cookies(req, NULL, NULL);
}

void
api_me(api_request_t *req)
{
    if (!req->session) {
        reply_json(req, 200, json_pack("{s:o, s:n}", "user", pgpdesk_user_to_json(req->user),
                                       "csrf_token"));
        return;
    }
    const char *csrf = request_cookie(req, CSRF_COOKIE);
    pgpdesk_user_t *user = NULL;
    bool csrf_ok = false;
    if (csrf && pgpdesk_session_authenticate(req->pd, req->session, csrf, &user, &csrf_ok) == 0
        && csrf_ok) {
        reply_json(req, 200, json_pack("{s:o, s:s}", "user", pgpdesk_user_to_json(user),
                                       "csrf_token", csrf));
    } else {
        /* The CSRF cookie is gone or wrong: the token cannot be recovered, so start afresh. */
        reply_new_session(req, req->user);
    }
    pgpdesk_user_destroy(user);
}
