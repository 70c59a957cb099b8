/* api-settings.c - the global settings: {"pgp_integration": bool}, Zammad's switch that turns
 * the PGP integration on and off. */
#include "api.h"

static void
reply_settings(api_request_t *req, unsigned status)
{
    bool enabled = false;
    pgpdesk_status_t st = pgpdesk_integration_enabled(req->pd, &enabled);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, status, json_pack("{s:b}", "pgp_integration", enabled));
}

void
api_settings_show(api_request_t *req)
{
    reply_settings(req, 200);
}

void
api_settings_update(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    const json_t *enabled = json_object_get(body, "pgp_integration");
    pgpdesk_status_t st;
    if (!json_is_boolean(enabled))
        reply_invalid(req, "pgp_integration must be true or false.");
    else if ((st = pgpdesk_set_integration_enabled(req->pd, json_is_true(enabled))))
        reply_failure(req, st);
    else
        reply_settings(req, 200);
    json_decref(body);
}
