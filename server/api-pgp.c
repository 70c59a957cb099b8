/* api-pgp.c - Zammad's PGP integration API: the security options of a draft (which decide the
 * Sign and Encrypt buttons), the key store (list, show, add, delete, download) and Recent Logs.
 * Paths and JSON follow Zammad's, so its clients work against pgpdesk. */
#include "api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char integration_disabled[] = "The PGP integration is disabled.";
static const char unprotected_warning[] = "The private PGP key is not protected by a passphrase.";

/* With the integration switched off nothing is possible: both options say so (200, not an
 * error, so that the UI simply shows no active buttons). */
static json_t *
disabled_options_json(void)
{
    pgpdesk_security_option_t off = {.message = (char *) integration_disabled};
    pgpdesk_security_options_t options = {.sign = off, .encryption = off};
    return pgpdesk_security_options_to_json(&options);
}

void
api_pgp_security_options(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    const json_t *ticket = json_object_get(body, "ticket");
    const json_t *article = json_object_get(body, "article");
    int64_t group_id = 0;
    bool ok = json_member_id(ticket, "group_id", &group_id);
    const char *customer = json_member_string(ticket, "customer", &ok);
    const char *to = json_member_string(article, "to", &ok);
    const char *cc = json_member_string(article, "cc", &ok);
    bool enabled = false;
    pgpdesk_status_t st;
    pgpdesk_security_options_t *options = NULL;
    if (!ok)
        reply_invalid(req, "ticket.group_id must be a group id; ticket.customer, article.to and "
                           "article.cc must be strings.");
    else if ((st = pgpdesk_integration_enabled(req->pd, &enabled)))
        reply_failure(req, st);
    else if (!enabled)
        reply_json(req, 200, disabled_options_json());
    else if ((st = pgpdesk_security_options(req->pd, group_id, to, cc, customer, &options)))
        reply_failure(req, st);
    else
        reply_json(req, 200, pgpdesk_security_options_to_json(options));
    pgpdesk_security_options_destroy(options);
    json_decref(body);
}

/* {} while the key store can be used, else {"error": why} (Zammad's status check). */
void
api_pgp_status(api_request_t *req)
{
    bool enabled;
    pgpdesk_status_t st = pgpdesk_integration_enabled(req->pd, &enabled);
    reply_json(req, 200, st ? json_pack("{s:s}", "error", pgpdesk_errmsg(req->pd)) : json_object());
}

void
api_pgp_key_list(api_request_t *req)
{
    pgpdesk_key_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_list(req->pd, NULL, &list);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *keys = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(keys, pgpdesk_key_to_json(&list->keys[i]));
    pgpdesk_key_list_destroy(list);
    reply_json(req, 200, keys);
}

/* The fingerprint of the key req->param names (a fingerprint or the key's id). Returns false
 * after replying (404 when there is no such key). */
static bool
param_fingerprint(api_request_t *req, char fingerprint[PGPDESK_FINGERPRINT_SIZE])
{
    pgpdesk_key_t *key = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_get(req->pd, req->param, &key);
    if (st) {
        reply_failure(req, st);
        return false;
    }
    memcpy(fingerprint, key->fingerprint, PGPDESK_FINGERPRINT_SIZE);
    pgpdesk_key_destroy(key);
    return true;
}

void
api_pgp_key_show(api_request_t *req)
{
    pgpdesk_key_t *key = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_get(req->pd, req->param, &key);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, 200, pgpdesk_key_to_json(key));
    pgpdesk_key_destroy(key);
}

void
api_pgp_key_delete(api_request_t *req)
{
    pgpdesk_status_t st = pgpdesk_keystore_delete(req->pd, req->param);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, 200, json_object());
}

/* Imports data and replies 201 with the imported keys (each with "action" and "warnings", as
 * `pgpdesk key import --json` prints them), or 422 with the key store's message. */
static void
import_and_reply(api_request_t *req, const void *data, size_t size,
                 const pgpdesk_import_options_t *options)
{
    pgpdesk_import_report_t *report = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_import(req->pd, data, size, options, &report);
    if (st) {
        reply_status(req, st);
        pgpdesk_import_report_destroy(report);
        return;
    }
    json_t *keys = json_array();
    for (size_t i = 0; i < report->count; i++) {
        const pgpdesk_import_item_t *item = &report->items[i];
        json_t *key = pgpdesk_key_to_json(item->key);
        json_object_set_new(key, "action", json_string(item->action == PGPDESK_IMPORT_ADDED
                                                           ? "added" : "updated"));
        json_object_set_new(key, "warnings", item->unprotected_secret
                                                 ? json_pack("[s]", unprotected_warning)
                                                 : json_array());
        json_array_append_new(keys, key);
    }
    pgpdesk_import_report_destroy(report);
    reply_json(req, 201, keys);
}

/* An optional text field: absent and "" both mean not given. */
static const char *
form_text(const form_t *form, const char *name)
{
    const form_field_t *field = form_get(form, name);
    return field && field->size ? (const char *) field->data : NULL;
}

/* Zammad's form: an uploaded `file` (armored or binary) or a pasted `private_key` (or `key`;
 * armor only), with `passphrase` and `domain_alias`. */
static void
add_from_form(api_request_t *req)
{
    form_t *form = NULL;
    if (!request_form(req, &form))
        return;
    pgpdesk_import_options_t options = {.passphrase = form_text(form, "passphrase"),
                                        .domain_alias = form_text(form, "domain_alias")};
    const form_field_t *key = form_get(form, "file");
    if (!key || !key->size) {
        key = form_get(form, "private_key");
        if (!key || !key->size)
            key = form_get(form, "key");
        options.armored_only = true;
    }
    if (key && key->size)
        import_and_reply(req, key->data, key->size, &options);
    else
        reply_status(req, PGPDESK_STATUS_NO_VALID_DATA);
    form_destroy(form);
}

/* {"key": armored text, "passphrase", "domain_alias"}: a paste, so armor only. */
static void
add_from_json(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    bool ok = true;
    const char *key = json_member_string(body, "key", &ok);
    const char *passphrase = json_member_string(body, "passphrase", &ok);
    const char *domain_alias = json_member_string(body, "domain_alias", &ok);
    pgpdesk_import_options_t options = {
        .passphrase = passphrase && *passphrase ? passphrase : NULL,
        .domain_alias = domain_alias && *domain_alias ? domain_alias : NULL,
        .armored_only = true,
    };
    if (!ok)
        reply_invalid(req, "key, passphrase and domain_alias must be strings.");
    else if (!key || !*key)
        reply_status(req, PGPDESK_STATUS_NO_VALID_DATA);
    else
        import_and_reply(req, key, strlen(key), &options);
    json_decref(body);
}

void
api_pgp_key_add(api_request_t *req)
{
    if (request_is_form(req))
        add_from_form(req);
    else
        add_from_json(req);
}

/* ?secret=true downloads the private key (still protected by its passphrase). */
void
api_pgp_key_download(api_request_t *req)
{
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    if (!param_fingerprint(req, fingerprint))
        return;
    const char *secret_arg = request_query(req, "secret");
    bool secret = secret_arg && (strcmp(secret_arg, "true") == 0 || strcmp(secret_arg, "1") == 0);
    char *armored = NULL;
    size_t size = 0;
    pgpdesk_status_t st = pgpdesk_keystore_export(req->pd, fingerprint, secret, &armored, &size);
    if (st) {
        reply_failure(req, st);
        return;
    }
    char *filename = pgpdesk_key_export_filename(fingerprint, secret);
    if (!filename) {
        reply_status(req, PGPDESK_STATUS_OUT_OF_MEMORY);
    } else if (secret) {
        pgpdesk_log_private_key_export(req->pd, fingerprint, req->user->login);
        reply_secret_download(req, "application/pgp-keys", armored, size, filename);
        armored = NULL;
    } else {
        reply_download(req, "application/pgp-keys", armored, size, filename);
    }
    if (armored)
        explicit_bzero(armored, size);
    free(armored);
    free(filename);
}

void
api_pgp_logs(api_request_t *req)
{
    int64_t limit;
    if (!request_query_number(req, "limit", 50, 10000, &limit))
        return;
    pgpdesk_log_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_log_list(req->pd, (size_t) limit, &list);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *entries = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(entries, pgpdesk_log_entry_to_json(&list->entries[i]));
    pgpdesk_log_list_destroy(list);
    reply_json(req, 200, entries);
}
