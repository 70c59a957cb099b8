/* json.c - the JSON form of pgpdesk's objects, shared by the CLI and the server so that both
 * print the same thing. */
#include "internal.h"

static json_t *
time_or_null(int64_t t)
{
    if (!t)
        return json_null();
    char buf[21];
    pgpdesk_format_time(t, buf);
    return json_string(buf);
}

static json_t *
string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *
pgpdesk_key_to_json(const pgpdesk_key_t *key)
{
    json_t *emails = json_array();
    for (size_t i = 0; emails && i < key->email_count; i++)
        json_array_append_new(emails, json_string(key->emails[i]));
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:b, s:s, s:i, s:o}",
                     "id", (json_int_t) key->id,
                     "fingerprint", key->fingerprint,
                     "name", key->name ? key->name : "",
                     "email_addresses", emails,
                     "created_at", time_or_null(key->created_at),
                     "expires_at", time_or_null(key->expires_at),
                     "expired", key->expired,
                     "revoked", key->revoked,
                     "secret", key->secret,
                     "can_sign", key->can_sign,
                     "can_encrypt", key->can_encrypt,
                     "algorithm", key->algorithm ? key->algorithm : "",
                     "bits", (int) key->bits,
                     "domain_alias", string_or_null(key->domain_alias));
}

json_t *
pgpdesk_article_to_json(const pgpdesk_article_t *a)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:O}",
                     "id", (json_int_t) a->id,
                     "direction", a->direction,
                     "group_id", a->group_id ? json_integer(a->group_id) : json_null(),
                     "from", string_or_null(a->from),
                     "to", string_or_null(a->to),
                     "cc", string_or_null(a->cc),
                     "subject", string_or_null(a->subject),
                     "message_id", string_or_null(a->message_id),
                     "created_at", time_or_null(a->created_at),
                     "security", a->security ? a->security : json_null());
}

json_t *
pgpdesk_log_entry_to_json(const pgpdesk_log_entry_t *e)
{
    return json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:O}",
                     "id", (json_int_t) e->id,
                     "created_at", time_or_null(e->created_at),
                     "direction", e->direction ? e->direction : "",
                     "method", e->method ? e->method : "",
                     "status", e->status ? e->status : "",
                     "from_to", e->from_to ? e->from_to : "",
                     "message_id", string_or_null(e->message_id),
                     "detail", e->detail ? e->detail : json_null());
}

static json_t *
default_json(pgpdesk_default_t value)
{
    return value == PGPDESK_DEFAULT_UNSET ? json_null() : json_boolean(value == PGPDESK_DEFAULT_ON);
}

json_t *
pgpdesk_group_to_json(const pgpdesk_group_t *g)
{
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:s}",
                     "id", (json_int_t) g->id,
                     "name", g->name ? g->name : "",
                     "email", string_or_null(g->email),
                     "sign_default", default_json(g->sign_default),
                     "encrypt_default", default_json(g->encrypt_default),
                     "policy", pgpdesk_policy_to_string(g->policy));
}

static json_t *
option_to_json(const pgpdesk_security_option_t *opt)
{
    json_t *placeholders = json_array();
    for (size_t i = 0; placeholders && i < opt->placeholder_count; i++)
        json_array_append_new(placeholders, json_string(opt->placeholders[i]));
    return json_pack("{s:b, s:s, s:o, s:b}",
                     "success", opt->possible,
                     "comment", opt->message ? opt->message : "",
                     "commentPlaceholders", placeholders,
                     "active_by_default", opt->active_by_default);
}

json_t *
pgpdesk_security_options_to_json(const pgpdesk_security_options_t *options)
{
    return json_pack("{s:s, s:o, s:o}",
                     "type", "PGP",
                     "sign", option_to_json(&options->sign),
                     "encryption", option_to_json(&options->encryption));
}

json_t *
pgpdesk_user_to_json(const pgpdesk_user_t *u)
{
    return json_pack("{s:I, s:s, s:s, s:o}",
                     "id", (json_int_t) u->id,
                     "login", u->login ? u->login : "",
                     "role", u->role == PGPDESK_ROLE_ADMIN ? "admin" : "agent",
                     "created_at", time_or_null(u->created_at));
}
