/* api-groups.c - groups: a helpdesk mailbox with its sender address, its sign/encrypt defaults
 * and its policy. Agents read them; admins change them. */
#include "api.h"

#include <string.h>

/* The body's member as a group default: true, false, or null (unset: on when possible). */
static bool
parse_default(const json_t *member, pgpdesk_default_t *value)
{
    if (json_is_null(member))
        *value = PGPDESK_DEFAULT_UNSET;
    else if (json_is_boolean(member))
        *value = json_is_true(member) ? PGPDESK_DEFAULT_ON : PGPDESK_DEFAULT_OFF;
    else
        return false;
    return true;
}

/* Applies the members present in body to group; strings stay borrowed from body. Returns false
 * after replying 422 for a member of the wrong kind. */
static bool
apply_group_fields(api_request_t *req, const json_t *body, pgpdesk_group_t *group)
{
    const json_t *member;
    if ((member = json_object_get(body, "name"))) {
        if (!json_is_string(member) || !*json_string_value(member)) {
            reply_invalid(req, "name must be a non-empty string.");
            return false;
        }
        group->name = (char *) json_string_value(member);
    }
    if ((member = json_object_get(body, "email"))) {
        if (!json_is_null(member) && !json_is_string(member)) {
            reply_invalid(req, "email must be an address, or null for none.");
            return false;
        }
        const char *email = json_string_value(member);
        group->email = email && *email ? (char *) email : NULL;
    }
    if (((member = json_object_get(body, "sign_default")) &&
         !parse_default(member, &group->sign_default)) ||
        ((member = json_object_get(body, "encrypt_default")) &&
         !parse_default(member, &group->encrypt_default))) {
        reply_invalid(req, "sign_default and encrypt_default must be true, false or null.");
        return false;
    }
    if ((member = json_object_get(body, "policy"))) {
        if (!pgpdesk_policy_from_string(json_string_value(member), &group->policy)) {
            reply_invalid(req, "policy must be \"optional\" or \"required\".");
            return false;
        }
    }
    return true;
}

static void
reply_group(api_request_t *req, unsigned status, int64_t id)
{
    pgpdesk_group_t *group = NULL;
    pgpdesk_status_t st = pgpdesk_group_get(req->pd, id, &group);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, status, pgpdesk_group_to_json(group));
    pgpdesk_group_destroy(group);
}

void
api_group_list(api_request_t *req)
{
    pgpdesk_group_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_group_list(req->pd, &list);
    if (st) {
        reply_failure(req, st);
        return;
    }
    json_t *groups = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(groups, pgpdesk_group_to_json(&list->groups[i]));
    pgpdesk_group_list_destroy(list);
    reply_json(req, 200, groups);
}

void
api_group_create(api_request_t *req)
{
    json_t *body = request_json(req);
    if (!body)
        return;
    pgpdesk_group_t group = {.sign_default = PGPDESK_DEFAULT_UNSET,
                             .encrypt_default = PGPDESK_DEFAULT_UNSET,
                             .policy = PGPDESK_POLICY_OPTIONAL};
    int64_t id = 0;
    pgpdesk_status_t st;
    if (apply_group_fields(req, body, &group)) {
        if (!group.name)
            reply_invalid(req, "name must be a non-empty string.");
        else if ((st = pgpdesk_group_create(req->pd, &group, &id)))
            reply_failure(req, st);
        else
            reply_group(req, 201, id);
    }
    json_decref(body);
}

void
api_group_show(api_request_t *req)
{
    int64_t id;
    if (request_param_id(req, &id))
        reply_group(req, 200, id);
}

/* Members left out of the body keep their values. */
void
api_group_update(api_request_t *req)
{
    int64_t id;
    if (!request_param_id(req, &id))
        return;
    json_t *body = request_json(req);
    if (!body)
        return;
    pgpdesk_group_t *stored = NULL;
    pgpdesk_status_t st = pgpdesk_group_get(req->pd, id, &stored);
    if (st) {
        reply_failure(req, st);
    } else {
        pgpdesk_group_t changed = *stored; /* its strings stay owned by stored */
        if (apply_group_fields(req, body, &changed)) {
            if ((st = pgpdesk_group_update(req->pd, &changed)))
                reply_failure(req, st);
            else
                reply_group(req, 200, id);
        }
    }
    pgpdesk_group_destroy(stored);
    json_decref(body);
}

void
api_group_delete(api_request_t *req)
{
    int64_t id;
    if (!request_param_id(req, &id))
        return;
    pgpdesk_status_t st = pgpdesk_group_delete(req->pd, id);
    if (st)
        reply_failure(req, st);
    else
        reply_json(req, 200, json_object());
}
