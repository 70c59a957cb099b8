/* internal.h - what every file of lib/ shares: the handle's layout, error reporting and the
 * small string helpers. Not installed; the CLI and server see only pgpdesk.h. */
#ifndef PGPDESK_INTERNAL_H
#define PGPDESK_INTERNAL_H

#include "pgpdesk.h"
#include "seal.h"
#include "store.h"

struct pgpdesk {
    store_t *store;
    uint8_t *master_key; /* SEAL_KEY_SIZE bytes in sodium_malloc'd, locked memory */
    char errmsg[512];
};

/* Records status (and an optional printf-style detail) as the handle's last error and returns
 * status, so call sites read `return pd_fail(pd, ST, NULL);`. */
pgpdesk_status_t pd_fail(pgpdesk_t *pd, pgpdesk_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Normalizes a fingerprint (any case, spaces or colons allowed) to 40 upper-case hex digits.
 * Returns false if it is not one. */
bool pd_normalize_fingerprint(const char *in, char out[PGPDESK_FINGERPRINT_SIZE]);

/* The address inside a user id ("Name <a@b>" or a bare "a@b"), lower-cased; NULL if it holds
 * none. Caller frees. */
char *pd_email_from_user_id(const char *uid);

/* Lower-cased copy; caller frees. NULL when out of memory. */
char *pd_lowercase(const char *s);

/* The part after the last '@', or NULL. Points into email. */
const char *pd_email_domain(const char *email);

/* Is s a plausible DNS domain name (labels of [a-z0-9-], at least one dot)? */
bool pd_valid_domain(const char *s);

/* Appends a string copy to a growable array of strings. */
bool pd_strv_push(char ***v, size_t *n, const char *s);
void pd_strv_free(char **v, size_t n);

int64_t pd_now(void);

#endif
