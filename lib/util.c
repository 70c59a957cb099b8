/* util.c - error reporting on the handle and the small string helpers lib/ shares. */
#include "internal.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pgpdesk_status_t
pd_fail(pgpdesk_t *pd, pgpdesk_status_t status, const char *fmt, ...)
{
    if (!pd)
        return status;
    if (!fmt) {
        snprintf(pd->errmsg, sizeof pd->errmsg, "%s", pgpdesk_status_to_string(status));
        return status;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pd->errmsg, sizeof pd->errmsg, fmt, ap);
    va_end(ap);
    return status;
}

pgpdesk_status_t
pd_store_fail(pgpdesk_t *pd, pgpdesk_status_t st)
{
    if (st == PGPDESK_STATUS_DATABASE_ERROR)
        return pd_fail(pd, st, "%s", pd->store->errmsg);
    return st ? pd_fail(pd, st, NULL) : st;
}

bool
pd_normalize_fingerprint(const char *in, char out[PGPDESK_FINGERPRINT_SIZE])
{
    size_t n = 0;
    if (!in)
        return false;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == ':')
            continue;
        if (!isxdigit((unsigned char) *p) || n == 40)
            return false;
        out[n++] = (char) toupper((unsigned char) *p);
    }
    out[n] = '\0';
    return n == 40;
}

char *
pd_lowercase(const char *s)
{
    char *copy = strdup(s);
    if (copy)
        for (char *p = copy; *p; p++)
            *p = (char) tolower((unsigned char) *p);
    return copy;
}

char *
pd_email_from_user_id(const char *uid)
{
    const char *open = strrchr(uid, '<');
    const char *start = uid, *end = uid + strlen(uid);
    if (open) {
        const char *close = strchr(open, '>');
        if (!close)
            return NULL;
        start = open + 1;
        end = close;
    }
    while (start < end && isspace((unsigned char) *start))
        start++;
    while (end > start && isspace((unsigned char) end[-1]))
        end--;
    size_t len = (size_t) (end - start);
    const char *at = memchr(start, '@', len);
    if (!at || at == start || at == end - 1 || memchr(start, ' ', len))
        return NULL;
    char *email = strndup(start, len);
    if (!email)
        return NULL;
    for (char *p = email; *p; p++)
        *p = (char) tolower((unsigned char) *p);
    return email;
}

const char *
pd_email_domain(const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    return at && at[1] ? at + 1 : NULL;
}

bool
pd_valid_domain(const char *s)
{
    size_t label = 0, labels = 0, len = strlen(s);
    if (len == 0 || len > 253)
        return false;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-')
                return false;
            labels++;
            label = 0;
            if (*p == '\0')
                break;
            continue;
        }
        if (!isalnum((unsigned char) *p) && *p != '-')
            return false;
        if (label == 0 && *p == '-')
            return false;
        label++;
    }
    return labels >= 2;
}

bool
pd_strv_push(char ***v, size_t *n, const char *s)
{
    char **grown = realloc(*v, (*n + 1) * sizeof **v);
    if (!grown)
        return false;
    *v = grown;
    if (!(grown[*n] = strdup(s)))
        return false;
    (*n)++;
    return true;
}

void
pd_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
pd_random_hex(char out[PD_RANDOM_HEX_SIZE])
{
    uint8_t raw[(PD_RANDOM_HEX_SIZE - 1) / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, PD_RANDOM_HEX_SIZE, raw, sizeof raw);
}

char *
pd_new_message_id(const char *domain)
{
    char hex[PD_RANDOM_HEX_SIZE], *id = NULL;
    pd_random_hex(hex);
    return asprintf(&id, "%s@%s", hex, domain) < 0 ? NULL : id;
}

/* Whether the LF at p (in a buffer starting at start) lacks its CR. */
static bool
is_bare_lf(const uint8_t *start, const uint8_t *p)
{
    return p == start || p[-1] != '\r';
}

pgpdesk_status_t
pd_crlf_canonical(const uint8_t *in, size_t size, uint8_t **out, size_t *out_size)
{
    const uint8_t *end = in + size;
    size_t bare = 0;
    for (const uint8_t *p = in; (p = memchr(p, '\n', (size_t) (end - p))); p++)
        bare += is_bare_lf(in, p);
    uint8_t *buf = malloc(size + bare + 1);
    if (!buf)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    /* Line by line with memchr and memcpy: most input (GMime writes CRLF) needs no change. */
    size_t n = 0;
    for (const uint8_t *p = in; p < end;) {
        const uint8_t *lf = memchr(p, '\n', (size_t) (end - p));
        size_t len = (size_t) ((lf ? lf : end) - p);
        memcpy(buf + n, p, len);
        n += len;
        if (!lf)
            break;
        if (is_bare_lf(in, lf))
            buf[n++] = '\r';
        buf[n++] = '\n';
        p = lf + 1;
    }
    buf[n] = '\0';
    *out = buf;
    *out_size = n;
    return PGPDESK_STATUS_SUCCESS;
}

const char *const pd_protected_headers[PD_PROTECTED_HEADER_COUNT] = {
    "Subject", "From", "To", "Cc", "Date", "Message-ID", "Reply-To"};

int64_t
pd_now(void)
{
    return (int64_t) time(NULL);
}

void
pgpdesk_format_time(int64_t t, char buf[21])
{
    time_t tt = (time_t) t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
pd_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
gmime_init_once(void)
{
    g_mime_init();
}

void
pd_gmime_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, gmime_init_once);
}

/* Appends the mailboxes of list (recursing into groups) to addrs. */
static bool
collect_mailboxes(InternetAddressList *list, char ***addrs, size_t *count)
{
    for (int i = 0, n = internet_address_list_length(list); i < n; i++) {
        InternetAddress *a = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(a)) {
            if (!collect_mailboxes(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
                                   addrs, count))
                return false;
            continue;
        }
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
        if (!addr || !*addr)
            continue;
        char *lower = pd_lowercase(addr);
        bool seen = false;
        for (size_t j = 0; lower && j < *count && !seen; j++)
            seen = strcmp((*addrs)[j], lower) == 0;
        bool ok = lower && (seen || pd_strv_push(addrs, count, lower));
        free(lower);
        if (!ok)
            return false;
    }
    return true;
}

bool
pd_parse_addresses(const char *list, char ***addrs, size_t *count)
{
    if (!list || !*list)
        return true;
    pd_gmime_init();
    InternetAddressList *parsed = internet_address_list_parse(NULL, list);
    if (!parsed)
        return true;
    bool ok = collect_mailboxes(parsed, addrs, count);
    g_object_unref(parsed);
    return ok;
}
