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
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:O}",
                     "id", (json_int_t) a->id,
                     "direction", a->direction,
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
