/* internal.h - what every file of lib/ shares: the handle's layout, error reporting and the
 * small string helpers. Not installed; the CLI and server see only pgpdesk.h. */
#ifndef PGPDESK_INTERNAL_H
#define PGPDESK_INTERNAL_H

#include "pgpdesk.h"
#include "seal.h"
#include "store.h"

struct openpgp_keyring;
typedef struct keyring_cache keyring_cache_t;

struct pgpdesk {
    store_t *store;
    char *db_path;       /* body files of large articles live in "<db_path>.files/" */
    uint8_t *master_key; /* SEAL_KEY_SIZE bytes in sodium_malloc'd, locked memory */
    keyring_cache_t *keys; /* the handle's keyring (see keystore_ring()) */
    pgpdesk_limits_t limits;
    char errmsg[512];
};

/* ---------------------------------------------------------------- keys for operations */

/* The handle's keyring, which fetches stored keys on demand while librnp works: public keys
 * by key id or fingerprint (to verify, to encrypt), private keys unlocked with their unsealed
 * passphrase (to sign, to decrypt). Keys stay loaded, and private keys unlocked, for the
 * handle's later operations until the store's keys change (in any process): the S2K of a
 * protected key is paid once per handle, not per message. out: borrowed from the handle;
 * valid until the next keystore call. Not thread-safe: one handle per thread. */
pgpdesk_status_t keystore_ring(pgpdesk_t *pd, struct openpgp_keyring **out);
/* The key pgpdesk_keystore_find_usable() would pick, by fingerprint: from the handle's cache of
 * lookups while the key store is unchanged. KEY_NOT_FOUND (with the handle's message set) when
 * email has no usable key. */
pgpdesk_status_t keystore_usable_fingerprint(pgpdesk_t *pd, const char *email,
                                             pgpdesk_key_purpose_t purpose,
                                             char fingerprint[PGPDESK_FINGERPRINT_SIZE]);
/* The user id of the stored key fingerprint whose address is email, or NULL; caller frees.
 * From the same cache, taken as it stands (no key generation check), so that an analysis
 * holding the handle's keyring never has it rebuilt under it. */
char *keystore_user_id_for(pgpdesk_t *pd, const char *fingerprint, const char *email);

/* Frees the handle's keyring (wiping its unlocked keys). */
void keystore_cache_destroy(pgpdesk_t *pd);

/* Loads the stored key fpr into the handle's keyring ring: its public part, and with secret
 * its private part, unlocked. KEY_NOT_FOUND / NOT_PRIVATE_KEY when the store lacks it. */
pgpdesk_status_t keystore_ring_load(pgpdesk_t *pd, struct openpgp_keyring *ring, const char *fpr,
                                    bool secret);

/* ---------------------------------------------------------------- articles and the log */

/* What processing found out about an article. Every pointer is borrowed. */
typedef struct article_fields {
    const uint8_t *mime; /* the processed view, or NULL; with mime_file: the start of it */
    size_t mime_size;
    const char *mime_file; /* the body file holding (the rest of) it (spool.h), or NULL */
    const char *from, *to, *cc, *subject, *message_id;
    json_t *security;
    int64_t group_id; /* the group it is filed under; 0: none (when filled in: unchanged) */
} article_fields_t;

/* Stores a new article: its raw message, the bytes raw or (raw_file not NULL) the body file of
 * that name (spool.h), and unless fields is NULL what processing found. An incoming message
 * is stored raw before anything else is done with it, and filled in afterwards. */
pgpdesk_status_t article_store(pgpdesk_t *pd, const char *direction, const void *raw,
                               size_t size, const char *raw_file, int64_t created_at,
                               const article_fields_t *fields, int64_t *id);

/* Fills in an article stored raw. */
pgpdesk_status_t article_store_fields(pgpdesk_t *pd, int64_t id, const article_fields_t *fields);

/* Writes one "Recent Logs" row. Failures to log are not fatal to the operation logged. */
void log_write(pgpdesk_t *pd, const char *direction, const char *method, bool success,
               const char *from, const char *to, const char *message_id, json_t *detail);

/* The group whose sender address is among the To/Cc addresses, or 0. */
int64_t group_for_recipients(pgpdesk_t *pd, const char *to, const char *cc);

/* ---------------------------------------------------------------- incoming analysis */

/* What incoming processing makes of one raw message. */
typedef struct incoming_analysis {
    json_t *security;    /* {"type":"PGP","sign":{...},"encryption":{...}}, new reference */
    uint8_t *mime;       /* the processed view (decrypted/unwrapped MIME), malloc'd, or NULL; */
    size_t mime_size;    /* ... with mime_file, the start of it (the outer headers) */
    char *mime_file;     /* (large messages) the body file holding (the rest of) it; malloc'd */
    char *from, *to, *cc, *subject, *message_id; /* malloc'd or NULL; protected headers win */
} incoming_analysis_t;

/* Analyzes raw (already stored). Bad input is not an error: the result says what was wrong.
 * Returns an error only for OUT_OF_MEMORY and the like. out: clear with
 * incoming_analysis_clear(). */
pgpdesk_status_t incoming_analyze(pgpdesk_t *pd, const uint8_t *raw, size_t size,
                                  incoming_analysis_t *out);
/* The same for a large message in the file fd (size bytes), read as a stream: the view goes
 * to a body file (out->mime_file), never whole into memory. */
pgpdesk_status_t incoming_analyze_file(pgpdesk_t *pd, int fd, size_t size,
                                       incoming_analysis_t *out);
void incoming_analysis_clear(incoming_analysis_t *analysis);

/* Records status (and an optional printf-style detail) as the handle's last error and returns
 * status, so call sites read `return pd_fail(pd, ST, NULL);`. */
pgpdesk_status_t pd_fail(pgpdesk_t *pd, pgpdesk_status_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a store call's failure on the handle (with the database's own words for
 * DATABASE_ERROR) and returns it; SUCCESS passes through. */
pgpdesk_status_t pd_store_fail(pgpdesk_t *pd, pgpdesk_status_t st);

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
/* 128 random bits as 32 hex digits and a NUL. */
#define PD_RANDOM_HEX_SIZE 33
void pd_random_hex(char out[PD_RANDOM_HEX_SIZE]);
/* A new Message-ID's address part (no angle brackets): pd_random_hex() at domain. malloc'd;
 * NULL when out of memory. */
char *pd_new_message_id(const char *domain);

/* Is s a plausible DNS domain name (labels of [a-z0-9-], at least one dot)? */
bool pd_valid_domain(const char *s);

/* Appends a string copy to a growable array of strings. */
bool pd_strv_push(char ***v, size_t *n, const char *s);
void pd_strv_free(char **v, size_t n);

/* Copies in with every line break made CRLF: a bare LF gains its CR (RFC 3156 canonical
 * form). out: malloc'd, NUL-terminated (not counted in out_size); caller frees. */
pgpdesk_status_t pd_crlf_canonical(const uint8_t *in, size_t size, uint8_t **out,
                                   size_t *out_size);

/* The headers an RFC 9788 cryptographic payload carries. */
#define PD_PROTECTED_HEADER_COUNT 7
extern const char *const pd_protected_headers[PD_PROTECTED_HEADER_COUNT];

int64_t pd_now(void);

/* Writes all of data to fd; false on any failure (spool.c). */
bool pd_write_all(int fd, const void *data, size_t len);

/* Milliseconds of a monotonic clock, for time limits. */
int64_t pd_monotonic_ms(void);

/* Initializes GMime once per process (thread-safe). */
void pd_gmime_init(void);

/* The mailbox addresses in an RFC 5322 address list (groups flattened), lower-cased, without
 * duplicates, appended to *addrs. list may be NULL. */
bool pd_parse_addresses(const char *list, char ***addrs, size_t *count);

/* ---------------------------------------------------------------- key states */

/* Why a key for an address can or cannot serve a purpose, most hopeful first. */
typedef enum key_state {
    KEY_USABLE = 0,
    KEY_EXPIRED,   /* only expired keys */
    KEY_REVOKED,   /* only revoked (or expired) keys */
    KEY_INCAPABLE, /* keys, but none with a usable subkey for the purpose */
    KEY_MISSING,   /* no key at all (for signing: no private key) */
} key_state_t;

/* The state of the keys for email and purpose (signing needs a private key). */
key_state_t keystore_key_state(pgpdesk_t *pd, const char *email, pgpdesk_key_purpose_t purpose);

#endif
