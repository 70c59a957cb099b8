/* crypto.h - pgpdesk's own view of OpenPGP. crypto-rnp.c implements it on librnp and is the
 * only file that includes <rnp/rnp.h>; librnp's unsafe defaults are made safe there. */
#ifndef PGPDESK_CRYPTO_H
#define PGPDESK_CRYPTO_H

#include "pgpdesk.h"

/* A set of keys in memory (one librnp ffi). Not thread-safe: one per thread. */
typedef struct crypto_keyring crypto_keyring_t;

/* out: caller destroys with crypto_keyring_destroy(). */
pgpdesk_status_t crypto_keyring_create(crypto_keyring_t **out);
void crypto_keyring_destroy(crypto_keyring_t *ring);

/* Does data start (after white space) with an OpenPGP armor header line? */
bool crypto_data_is_armored(const uint8_t *data, size_t size);

/* Loads every key (public and secret) in data, armored or binary, several blocks allowed, into
 * ring, merging with keys already there. NO_VALID_DATA if data holds no key at all. */
pgpdesk_status_t crypto_keyring_load(crypto_keyring_t *ring, const uint8_t *data, size_t size);

/* The fingerprints of the primary keys in ring, in load order.
 * fprs: malloc'd array of count entries; caller frees it with free(). */
pgpdesk_status_t crypto_keyring_primaries(crypto_keyring_t *ring,
                                          char (**fprs)[PGPDESK_FINGERPRINT_SIZE],
                                          size_t *count);

/* What the key store records about a primary key. */
typedef struct crypto_key_facts {
    char **user_ids;          /* valid, unrevoked user ids (primary first) */
    size_t user_id_count;
    size_t all_user_id_count; /* every user id packet, valid or not */
    size_t longest_user_id;   /* in bytes */
    int64_t created_at;
    int64_t expires_at;       /* 0 = never */
    bool revoked;
    int64_t sign_until;       /* last second a signing-capable key is valid; 0 none, INT64_MAX never ends */
    int64_t encrypt_until;    /* likewise for encryption */
    char *algorithm;
    unsigned bits;
    bool secret;              /* the private primary key is present */
    bool protected_secret;    /* ... and is protected by a passphrase */
} crypto_key_facts_t;

pgpdesk_status_t crypto_key_facts(crypto_keyring_t *ring, const char *fpr, crypto_key_facts_t *out);
void crypto_key_facts_clear(crypto_key_facts_t *facts);

/* Removes every signature on the key and its user ids that is not a self-signature. */
pgpdesk_status_t crypto_key_strip_certifications(crypto_keyring_t *ring, const char *fpr);

/* PASSPHRASE_INVALID unless passphrase unlocks the primary key and every secret subkey.
 * The key is locked again afterwards. */
pgpdesk_status_t crypto_key_check_passphrase(crypto_keyring_t *ring, const char *fpr,
                                             const char *passphrase);

/* Exports the key with its subkeys: public, or secret (still protected as it is).
 * out: malloc'd (NUL-terminated when armored, not counted in size); caller frees with free(),
 * or seal_free() for a secret export. */
pgpdesk_status_t crypto_key_export(crypto_keyring_t *ring, const char *fpr, bool secret,
                                   bool armored, uint8_t **out, size_t *size);

#endif
