/* reply.c - how handlers answer: JSON, the one error shape {"error","error_human"} with the
 * HTTP status each library status maps to, and downloads. The headers every response carries
 * are added in server.c when the reply is queued. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The HTTP status and machine code of each library status. Validation failures are 422 with
 * the library's message; only what the client cannot fix is a 500. */
static const struct failure {
    pgpdesk_status_t status;
    unsigned http;
    const char *code;
} failures[] = {
    {PGPDESK_STATUS_OUT_OF_MEMORY, 500, "out_of_memory"},
    {PGPDESK_STATUS_INVALID_ARGUMENT, 422, "invalid_argument"},
    {PGPDESK_STATUS_IO_ERROR, 500, "io_error"},
    {PGPDESK_STATUS_DATABASE_ERROR, 500, "database_error"},
    {PGPDESK_STATUS_MASTER_KEY_MISSING, 500, "master_key_missing"},
    {PGPDESK_STATUS_MASTER_KEY_MISMATCH, 500, "master_key_mismatch"},
    {PGPDESK_STATUS_NO_VALID_DATA, 422, "no_valid_data"},
    {PGPDESK_STATUS_NOT_ARMORED, 422, "not_armored"},
    {PGPDESK_STATUS_INPUT_TOO_LARGE, 422, "input_too_large"},
    {PGPDESK_STATUS_USER_ID_TOO_LONG, 422, "user_id_too_long"},
    {PGPDESK_STATUS_TOO_MANY_USER_IDS, 422, "too_many_user_ids"},
    {PGPDESK_STATUS_DUPLICATE_KEY, 422, "duplicate_key"},
    {PGPDESK_STATUS_PASSPHRASE_MISSING, 422, "passphrase_missing"},
    {PGPDESK_STATUS_PASSPHRASE_INVALID, 422, "passphrase_invalid"},
    {PGPDESK_STATUS_NOT_PRIVATE_KEY, 422, "not_private_key"},
    {PGPDESK_STATUS_KEY_NOT_FOUND, 404, "key_not_found"},
    {PGPDESK_STATUS_CRYPTO_ERROR, 422, "crypto_error"},
    {PGPDESK_STATUS_INVALID_DOMAIN_ALIAS, 422, "invalid_domain_alias"},
    {PGPDESK_STATUS_SCHEMA_TOO_NEW, 500, "schema_too_new"},
    {PGPDESK_STATUS_NO_SENDER_KEY, 422, "no_sender_key"},
    {PGPDESK_STATUS_SENDER_KEY_EXPIRED, 422, "sender_key_expired"},
    {PGPDESK_STATUS_NO_RECIPIENT_KEY, 422, "no_recipient_key"},
    {PGPDESK_STATUS_RECIPIENT_KEY_EXPIRED, 422, "recipient_key_expired"},
    {PGPDESK_STATUS_NO_RECIPIENT, 422, "no_recipient"},
    {PGPDESK_STATUS_MALFORMED_MESSAGE, 422, "malformed_message"},
    {PGPDESK_STATUS_MESSAGE_TOO_LARGE, 413, "message_too_large"},
    {PGPDESK_STATUS_TIMEOUT, 422, "timeout"},
    {PGPDESK_STATUS_ARTICLE_NOT_FOUND, 404, "article_not_found"},
    {PGPDESK_STATUS_KEY_REVOKED, 422, "key_revoked"},
    {PGPDESK_STATUS_NO_SENDER, 422, "no_sender"},
    {PGPDESK_STATUS_AUTH_FAILED, 401, "auth_failed"},
    {PGPDESK_STATUS_USER_EXISTS, 422, "user_exists"},
    {PGPDESK_STATUS_USER_NOT_FOUND, 404, "user_not_found"},
    {PGPDESK_STATUS_GROUP_NOT_FOUND, 404, "group_not_found"},
    {PGPDESK_STATUS_GROUP_EXISTS, 422, "group_exists"},
    {PGPDESK_STATUS_INTEGRATION_DISABLED, 422, "integration_disabled"},
    {PGPDESK_STATUS_POLICY_VIOLATION, 422, "policy_violation"},
    {PGPDESK_STATUS_WEAK_PASSWORD, 422, "weak_password"},
};

static const struct failure unknown_failure = {PGPDESK_STATUS_SUCCESS, 500, "internal_error"};

static const struct failure *
failure_of(pgpdesk_status_t status)
{
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
        if (failures[i].status == status)
            return &failures[i];
    return &unknown_failure;
}

/* Takes over response (NULL: out of memory, answered by the server with a bare 500). */
static void
set_reply(api_request_t *req, unsigned status, struct MHD_Response *response)
{
    if (req->response)
        MHD_destroy_response(req->response);
    req->status = status;
    req->response = response;
}

void
reply_add_header(api_request_t *req, const char *name, const char *value)
{
    if (req->response)
        MHD_add_response_header(req->response, name, value);
}

void
reply_json(api_request_t *req, unsigned status, json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(value);
    if (!text) {
        set_reply(req, 500, NULL);
        return;
    }
    set_reply(req, status,
              MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE));
    if (!req->response)
        free(text);
    reply_add_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
}

void
reply_error(api_request_t *req, unsigned status, const char *code, const char *human)
{
    reply_json(req, status, json_pack("{s:s, s:s}", "error", code, "error_human", human));
}

void
reply_failure(api_request_t *req, pgpdesk_status_t status)
{
    const char *detail = req->pd ? pgpdesk_errmsg(req->pd) : NULL;
    const struct failure *f = failure_of(status);
    reply_error(req, f->http, f->code,
                detail && *detail ? detail : pgpdesk_status_to_string(status));
}

void
reply_status(api_request_t *req, pgpdesk_status_t status)
{
    const struct failure *f = failure_of(status);
    reply_error(req, f->http, f->code, pgpdesk_status_to_string(status));
}

void
reply_invalid(api_request_t *req, const char *human)
{
    reply_error(req, 422, "invalid", human);
}

static void
add_download_headers(api_request_t *req, const char *content_type, const char *filename)
{
    char disposition[300];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    reply_add_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    reply_add_header(req, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
}

void
reply_download(api_request_t *req, const char *content_type, const void *data, size_t size,
               const char *filename)
{
    set_reply(req, 200,
              MHD_create_response_from_buffer(size, (void *) data, MHD_RESPMEM_MUST_COPY));
    add_download_headers(req, content_type, filename);
}

/* Frees a secret download once it is sent, wiping it first. */
static void
wipe_and_free(void *secret)
{
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

void
reply_secret_download(api_request_t *req, const char *content_type, char *data, size_t size,
                      const char *filename)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback(size, data, wipe_and_free);
    if (!response)
        wipe_and_free(data);
    set_reply(req, 200, response);
    add_download_headers(req, content_type, filename);
}

void
reply_static(api_request_t *req, unsigned status, const char *content_type, const void *data,
             size_t size)
{
    set_reply(req, status,
              MHD_create_response_from_buffer(size, (void *) data, MHD_RESPMEM_PERSISTENT));
    reply_add_header(req, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
}
