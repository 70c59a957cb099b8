/* group.c - groups (a sender address, sign/encrypt defaults and a policy), the PGP integration
 * switch, the security-options decision for a draft (Zammad's rules, made stricter: revoked and
 * capability-less keys are never "found"), and sending from a group, where the server checks
 * again what the client was told. */
#include "internal.h"

#include <gmime/gmime.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define INTEGRATION_SETTING "pgp_integration"

/* ---------------------------------------------------------------- the integration switch */

pgpdesk_status_t
pgpdesk_integration_enabled(pgpdesk_t *pd, bool *enabled)
{
    char *value = NULL;
    pgpdesk_status_t st = pd->store->ops->meta_get(pd->store, INTEGRATION_SETTING, &value);
    if (st == PGPDESK_STATUS_KEY_NOT_FOUND) {
        *enabled = true;
        return PGPDESK_STATUS_SUCCESS;
    }
    if (!st)
        *enabled = strcmp(value, "false") != 0;
    free(value);
    return pd_store_fail(pd, st);
}

pgpdesk_status_t
pgpdesk_set_integration_enabled(pgpdesk_t *pd, bool enabled)
{
    return pd_store_fail(pd, pd->store->ops->meta_set(pd->store, INTEGRATION_SETTING,
                                                     enabled ? "true" : "false"));
}

/* ---------------------------------------------------------------- groups */

const char *
pgpdesk_policy_to_string(pgpdesk_policy_t policy)
{
    return policy == PGPDESK_POLICY_REQUIRED ? "required" : "optional";
}

bool
pgpdesk_policy_from_string(const char *text, pgpdesk_policy_t *policy)
{
    if (text && strcmp(text, "optional") == 0)
        *policy = PGPDESK_POLICY_OPTIONAL;
    else if (text && strcmp(text, "required") == 0)
        *policy = PGPDESK_POLICY_REQUIRED;
    else
        return false;
    return true;
}

static pgpdesk_status_t
check_group(pgpdesk_t *pd, const pgpdesk_group_t *g)
{
    if (!g->name || !*g->name)
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT, "A group needs a name.");
    if (g->email && *g->email && !pd_email_domain(g->email))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT,
                       "The sender address %s is not an e-mail address.", g->email);
    return PGPDESK_STATUS_SUCCESS;
}

/* Writes a copy of g with its address lower-cased ("" meaning none). */
static pgpdesk_status_t
put_group(pgpdesk_t *pd, const pgpdesk_group_t *g, int64_t id, int64_t *new_id)
{
    pgpdesk_status_t st = check_group(pd, g);
    if (st)
        return st;
    pgpdesk_group_t copy = *g;
    copy.id = id;
    copy.email = g->email && *g->email ? pd_lowercase(g->email) : NULL;
    st = pd->store->ops->group_put(pd->store, &copy);
    free(copy.email);
    if (!st && new_id)
        *new_id = copy.id;
    return pd_store_fail(pd, st);
}

pgpdesk_status_t
pgpdesk_group_create(pgpdesk_t *pd, const pgpdesk_group_t *group, int64_t *id)
{
    return put_group(pd, group, 0, id);
}

pgpdesk_status_t
pgpdesk_group_update(pgpdesk_t *pd, const pgpdesk_group_t *group)
{
    if (group->id <= 0)
        return pd_fail(pd, PGPDESK_STATUS_GROUP_NOT_FOUND, NULL);
    return put_group(pd, group, group->id, NULL);
}

pgpdesk_status_t
pgpdesk_group_delete(pgpdesk_t *pd, int64_t id)
{
    return pd_store_fail(pd, pd->store->ops->group_delete(pd->store, id));
}

pgpdesk_status_t
pgpdesk_group_list(pgpdesk_t *pd, pgpdesk_group_list_t **out)
{
    return pd_store_fail(pd, pd->store->ops->group_list(pd->store, 0, out));
}

pgpdesk_status_t
pgpdesk_group_get(pgpdesk_t *pd, int64_t id, pgpdesk_group_t **out)
{
    pgpdesk_group_list_t *list = NULL;
    pgpdesk_status_t st = id > 0 ? pd->store->ops->group_list(pd->store, id, &list)
                                 : PGPDESK_STATUS_GROUP_NOT_FOUND;
    if (!st && list->count == 0)
        st = PGPDESK_STATUS_GROUP_NOT_FOUND;
    if (!st) {
        *out = malloc(sizeof **out);
        if (*out) {
            **out = list->groups[0];
            list->count = 0; /* ownership of the strings moved */
        } else {
            st = PGPDESK_STATUS_OUT_OF_MEMORY;
        }
    }
    pgpdesk_group_list_destroy(list);
    return pd_store_fail(pd, st);
}

static void
group_clear(pgpdesk_group_t *g)
{
    free(g->name);
    free(g->email);
}

void
pgpdesk_group_destroy(pgpdesk_group_t *group)
{
    if (!group)
        return;
    group_clear(group);
    free(group);
}

void
pgpdesk_group_list_destroy(pgpdesk_group_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        group_clear(&list->groups[i]);
    free(list->groups);
    free(list);
}

int64_t
group_for_recipients(pgpdesk_t *pd, const char *to, const char *cc)
{
    char **addrs = NULL;
    size_t count = 0;
    pgpdesk_group_list_t *groups = NULL;
    int64_t found = 0;
    if (!pd_parse_addresses(to, &addrs, &count) || !pd_parse_addresses(cc, &addrs, &count) ||
        pd->store->ops->group_list(pd->store, 0, &groups)) {
        pd_strv_free(addrs, count);
        return 0;
    }
    for (size_t g = 0; g < groups->count && !found; g++)
        for (size_t i = 0; i < count && !found && groups->groups[g].email; i++)
            if (strcmp(addrs[i], groups->groups[g].email) == 0)
                found = groups->groups[g].id;
    pgpdesk_group_list_destroy(groups);
    pd_strv_free(addrs, count);
    return found;
}

/* ---------------------------------------------------------------- security options */

/* Sets an option's message template and its placeholders (NULL-terminated). */
static bool
set_message(pgpdesk_security_option_t *opt, const char *message, ...)
{
    free(opt->message);
    pd_strv_free(opt->placeholders, opt->placeholder_count);
    opt->placeholders = NULL;
    opt->placeholder_count = 0;
    opt->message = strdup(message);
    va_list ap;
    va_start(ap, message);
    bool ok = opt->message != NULL;
    for (const char *p; ok && (p = va_arg(ap, const char *));)
        ok = pd_strv_push(&opt->placeholders, &opt->placeholder_count, p);
    va_end(ap);
    return ok;
}

static bool
check_signing(pgpdesk_t *pd, const pgpdesk_group_t *group, pgpdesk_security_option_t *opt)
{
    if (!group || !group->email)
        return set_message(opt, "There was no PGP key found.", NULL);
    const char *email = group->email;
    switch (keystore_key_state(pd, email, PGPDESK_PURPOSE_SIGN)) {
    case KEY_USABLE:
        opt->possible = true;
        return set_message(opt, "The PGP key for %s was found.", email, NULL);
    case KEY_EXPIRED:
        return set_message(opt, "The PGP key for %s was found, but has expired.", email, NULL);
    case KEY_REVOKED:
        return set_message(opt, "The PGP key for %s has been revoked.", email, NULL);
    case KEY_INCAPABLE:
        return set_message(opt, "The PGP key for %s cannot be used for signing.", email, NULL);
    case KEY_MISSING:
        break;
    }
    return set_message(opt, "The PGP key for %s was not found.", email, NULL);
}

static char *
join(char **items, size_t count)
{
    size_t len = 1;
    for (size_t i = 0; i < count; i++)
        len += strlen(items[i]) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, items[i]);
    }
    return out;
}

static bool
check_encryption(pgpdesk_t *pd, char **recipients, size_t count, pgpdesk_security_option_t *opt)
{
    if (count == 0)
        return set_message(opt, "There was no recipient found.", NULL);
    bool any_expired = false;
    for (size_t i = 0; i < count; i++) {
        switch (keystore_key_state(pd, recipients[i], PGPDESK_PURPOSE_ENCRYPT)) {
        case KEY_USABLE:
            break;
        case KEY_EXPIRED:
            any_expired = true;
            break;
        case KEY_REVOKED:
            return set_message(opt, "The PGP key for %s has been revoked.", recipients[i], NULL);
        case KEY_INCAPABLE:
            return set_message(opt, "The PGP key for %s cannot be used for encryption.",
                               recipients[i], NULL);
        case KEY_MISSING:
            return set_message(opt, "The PGP key for %s was not found.", recipients[i], NULL);
        }
    }
    char *all = join(recipients, count);
    if (!all)
        return false;
    opt->possible = !any_expired;
    bool ok = set_message(opt, any_expired
                                   ? "There were PGP keys found for %s, but at least one of them "
                                     "has expired."
                                   : "The PGP keys for %s were found.",
                          all, NULL);
    free(all);
    return ok;
}

pgpdesk_status_t
pgpdesk_security_options(pgpdesk_t *pd, int64_t group_id, const char *to, const char *cc,
                         const char *customer, pgpdesk_security_options_t **out)
{
    pgpdesk_security_options_t *opts = calloc(1, sizeof *opts);
    pgpdesk_group_t *group = NULL;
    char **recipients = NULL;
    size_t count = 0;
    bool enabled = true;
    if (!opts)
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_status_t st = pgpdesk_integration_enabled(pd, &enabled);
    if (!st && group_id) {
        st = pgpdesk_group_get(pd, group_id, &group);
        if (st == PGPDESK_STATUS_GROUP_NOT_FOUND)
            st = PGPDESK_STATUS_SUCCESS; /* like Zammad: no group, no signing */
    }
    bool ok = !st && pd_parse_addresses(customer, &recipients, &count) &&
              pd_parse_addresses(to, &recipients, &count) &&
              pd_parse_addresses(cc, &recipients, &count);
    if (!st && !enabled)
        ok = set_message(&opts->sign, "The PGP integration is disabled.", NULL) &&
             set_message(&opts->encryption, "The PGP integration is disabled.", NULL);
    else if (!st)
        ok = ok && check_signing(pd, group, &opts->sign) &&
             check_encryption(pd, recipients, count, &opts->encryption);
    if (!st && !ok)
        st = pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    opts->sign.active_by_default =
        opts->sign.possible && !(group && group->sign_default == PGPDESK_DEFAULT_OFF);
    opts->encryption.active_by_default =
        opts->encryption.possible && !(group && group->encrypt_default == PGPDESK_DEFAULT_OFF);
    pgpdesk_group_destroy(group);
    pd_strv_free(recipients, count);
    if (st) {
        pgpdesk_security_options_destroy(opts);
        return st;
    }
    *out = opts;
    return PGPDESK_STATUS_SUCCESS;
}

static void
option_clear(pgpdesk_security_option_t *opt)
{
    free(opt->message);
    pd_strv_free(opt->placeholders, opt->placeholder_count);
}

void
pgpdesk_security_options_destroy(pgpdesk_security_options_t *options)
{
    if (!options)
        return;
    option_clear(&options->sign);
    option_clear(&options->encryption);
    free(options);
}

/* ---------------------------------------------------------------- sending from a group */

/* The option's message with its placeholders filled in, as the error of a refused send. */
static pgpdesk_status_t
refuse(pgpdesk_t *pd, pgpdesk_status_t st, const pgpdesk_security_option_t *opt)
{
    const char *arg = opt->placeholder_count ? opt->placeholders[0] : "";
    return pd_fail(pd, st, opt->message, arg);
}

/* The To and Cc of a draft, as the server sees them (not as the client said). */
static pgpdesk_status_t
draft_recipients(pgpdesk_t *pd, const void *draft, size_t size, char **from, char **to,
                 char **cc)
{
    pd_gmime_init();
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(draft, size);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (!msg)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE, NULL);
    char *lists[3] = {NULL, NULL, NULL};
    InternetAddressList *sources[3] = {g_mime_message_get_from(msg), g_mime_message_get_to(msg),
                                       g_mime_message_get_cc(msg)};
    for (size_t i = 0; i < 3; i++) {
        char *text = sources[i] ? internet_address_list_to_string(sources[i], NULL, FALSE) : NULL;
        lists[i] = text ? strdup(text) : NULL;
        g_free(text);
    }
    g_object_unref(msg);
    *from = lists[0];
    *to = lists[1];
    *cc = lists[2];
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_group_send(pgpdesk_t *pd, int64_t group_id, const void *draft, size_t size,
                   const pgpdesk_outgoing_options_t *options, pgpdesk_outgoing_result_t **out)
{
    pgpdesk_group_t *group = NULL;
    pgpdesk_security_options_t *sec = NULL;
    char *from = NULL, *to = NULL, *cc = NULL, **senders = NULL;
    size_t sender_count = 0;
    pgpdesk_status_t st = pgpdesk_group_get(pd, group_id, &group);
    if (!st)
        st = draft_recipients(pd, draft, size, &from, &to, &cc);
    if (!st && (!pd_parse_addresses(from, &senders, &sender_count) || sender_count != 1 ||
                !group->email || strcmp(senders[0], group->email) != 0))
        st = pd_fail(pd, PGPDESK_STATUS_NO_SENDER, "A draft of group %s must be sent from %s.",
                     group->name, group->email ? group->email : "the group's address");
    if (!st && group->policy == PGPDESK_POLICY_REQUIRED && !(options->sign && options->encrypt))
        st = pd_fail(pd, PGPDESK_STATUS_POLICY_VIOLATION,
                     "The group %s only sends signed and encrypted mail.", group->name);
    if (!st)
        st = pgpdesk_security_options(pd, group_id, to, cc, NULL, &sec);
    if (!st && (options->sign || options->encrypt)) {
        bool enabled = true;
        pgpdesk_integration_enabled(pd, &enabled);
        if (!enabled)
            st = pd_fail(pd, PGPDESK_STATUS_INTEGRATION_DISABLED, NULL);
        else if (options->sign && !sec->sign.possible)
            st = refuse(pd, PGPDESK_STATUS_NO_SENDER_KEY, &sec->sign);
        else if (options->encrypt && !sec->encryption.possible)
            st = refuse(pd, PGPDESK_STATUS_NO_RECIPIENT_KEY, &sec->encryption);
    }
    /* Filed under the group in the commit that stores them. */
    pgpdesk_outgoing_options_t filed = *options;
    filed.group_id = group_id;
    if (!st)
        st = pgpdesk_outgoing_process(pd, draft, size, &filed, out);
    pgpdesk_security_options_destroy(sec);
    pgpdesk_group_destroy(group);
    pd_strv_free(senders, sender_count);
    free(from);
    free(to);
    free(cc);
    return st;
}
