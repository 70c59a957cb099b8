/* crypto.h - pgpdesk's own view of OpenPGP. crypto-rnp.c implements it on librnp and is the
 * only file that includes <rnp/rnp.h>; librnp's unsafe defaults are made safe there. */
#ifndef PGPDESK_OPENPGP_H
#define PGPDESK_OPENPGP_H

#include "pgpdesk.h"

/* Once per process, before any other call: librnp prints some diagnostics straight to stderr
 * unless RNP_LOG_CONSOLE=0; the library must never write to the user's terminal. */
void openpgp_init(void);

/* A set of keys in memory (one librnp ffi). Not thread-safe: one per thread. */
typedef struct openpgp_keyring openpgp_keyring_t;

/* out: caller destroys with openpgp_keyring_destroy(). */
pgpdesk_status_t openpgp_keyring_create(openpgp_keyring_t **out);
void openpgp_keyring_destroy(openpgp_keyring_t *ring);

/* Called when an operation needs a key the ring does not hold. id_type is "keyid" (16 hex),
 * "fingerprint" (40 hex) or "grip"; id is upper-case hex. The callback loads what it finds
 * with openpgp_keyring_load() (and openpgp_keyring_set_passphrase() for a private key). */
typedef void (*openpgp_key_fetch_fn)(void *ctx, openpgp_keyring_t *ring, const char *id_type,
                                    const char *id, bool secret);
void openpgp_keyring_set_fetch(openpgp_keyring_t *ring, openpgp_key_fetch_fn fetch, void *ctx);

/* The passphrase librnp gets when it must unlock the key fpr (a primary key; its subkeys use
 * it too). Copied into memory that is wiped when the ring is destroyed. */
pgpdesk_status_t openpgp_keyring_set_passphrase(openpgp_keyring_t *ring, const char *fpr,
                                               const char *passphrase);

/* Does data start (after white space) with an OpenPGP armor header line? */
bool openpgp_data_is_armored(const uint8_t *data, size_t size);

/* Loads every key (public and secret) in data, armored or binary, several blocks allowed, into
 * ring, merging with keys already there. NO_VALID_DATA if data holds no key at all. */
pgpdesk_status_t openpgp_keyring_load(openpgp_keyring_t *ring, const uint8_t *data, size_t size);

/* The fingerprints of the primary keys in ring, in load order.
 * fprs: malloc'd array of count entries; caller frees it with free(). */
pgpdesk_status_t openpgp_keyring_primaries(openpgp_keyring_t *ring,
                                          char (**fprs)[PGPDESK_FINGERPRINT_SIZE],
                                          size_t *count);

/* What the key store records about a primary key. */
typedef struct openpgp_key_facts {
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
    char (*fingerprints)[PGPDESK_FINGERPRINT_SIZE]; /* the primary key's, then each subkey's */
    size_t fingerprint_count;
} openpgp_key_facts_t;

pgpdesk_status_t openpgp_key_facts(openpgp_keyring_t *ring, const char *fpr, openpgp_key_facts_t *out);
void openpgp_key_facts_clear(openpgp_key_facts_t *facts);

/* Removes every signature on the key and its user ids that is not a self-signature. */
pgpdesk_status_t openpgp_key_strip_certifications(openpgp_keyring_t *ring, const char *fpr);

/* Unlocks the private primary key fpr and its secret subkeys and leaves them unlocked, so
 * operations skip the S2K (tens of milliseconds per use for gpg-made keys). */
pgpdesk_status_t openpgp_key_unlock(openpgp_keyring_t *ring, const char *fpr,
                                    const char *passphrase);

/* PASSPHRASE_INVALID unless passphrase unlocks the primary key and every secret subkey.
 * The key is locked again afterwards. */
pgpdesk_status_t openpgp_key_check_passphrase(openpgp_keyring_t *ring, const char *fpr,
                                             const char *passphrase);

/* Exports the key with its subkeys: public, or secret (still protected as it is).
 * out: malloc'd (NUL-terminated when armored, not counted in size); caller frees with free(),
 * or seal_free() for a secret export. */
pgpdesk_status_t openpgp_key_export(openpgp_keyring_t *ring, const char *fpr, bool secret,
                                   bool armored, uint8_t **out, size_t *size);

/* ---------------------------------------------------------------- messages */

/* Signature results, the sign side of pgpdesk's status vocabulary. */
typedef enum openpgp_sig_status {
    OPENPGP_SIG_GOOD = 0,
    OPENPGP_SIG_BAD,         /* does not verify: data or signature altered */
    OPENPGP_SIG_NO_KEY,      /* the signer's public key is not in the store */
    OPENPGP_SIG_EXPIRED_KEY, /* made by a key that had expired */
    OPENPGP_SIG_REVOKED_KEY,
    OPENPGP_SIG_WEAK_HASH,   /* SHA-1/MD5 (or weaker) made after 2019-01-19 */
    OPENPGP_SIG_MALFORMED,
} openpgp_sig_status_t;

typedef struct openpgp_signature {
    openpgp_sig_status_t status;
    char signer_fingerprint[PGPDESK_FINGERPRINT_SIZE]; /* the primary key; "" when unknown */
    char signing_key_id[17];  /* the (sub)key that signed, 16 hex; "" when unknown */
    char hash[16];            /* "SHA256", ... */
    int64_t created_at;
} openpgp_signature_t;

typedef struct openpgp_verify_result {
    openpgp_signature_t *signatures; /* malloc'd */
    size_t count;
} openpgp_verify_result_t;

void openpgp_verify_result_clear(openpgp_verify_result_t *result);

typedef enum openpgp_decrypt_status {
    OPENPGP_DECRYPT_OK = 0,
    OPENPGP_DECRYPT_NO_KEY,        /* no private key in the store for any recipient */
    OPENPGP_DECRYPT_INTEGRITY,     /* no MDC/AEAD, or its check failed: every byte discarded */
    OPENPGP_DECRYPT_TOO_LARGE,     /* the plaintext would exceed the cap */
    OPENPGP_DECRYPT_MALFORMED,     /* not an OpenPGP message */
    OPENPGP_DECRYPT_UNSUPPORTED,   /* an algorithm librnp refuses */
} openpgp_decrypt_status_t;

typedef struct openpgp_decrypt_result {
    openpgp_decrypt_status_t status;
    uint8_t *plaintext;       /* only when OK; NUL-terminated; release with seal_free() */
    size_t size;
    char key_fingerprint[PGPDESK_FINGERPRINT_SIZE]; /* primary key whose subkey decrypted */
    char cipher[16];          /* "AES256", ... */
    char protection[16];      /* "cfb-mdc", "aead-ocb", "aead-eax" */
    openpgp_verify_result_t verify; /* signatures inside a signed+encrypted message */
} openpgp_decrypt_result_t;

void openpgp_decrypt_result_clear(openpgp_decrypt_result_t *result);

/* A detached signature over data, ASCII-armored, by the signing-capable (sub)key of the
 * primary key signer_fpr (its private key must be in ring). The hash is SHA-256 or stronger,
 * never SHA-1/MD5. sig: malloc'd, NUL-terminated; caller frees. micalg: "pgp-sha256" or
 * "pgp-sha512", static. */
pgpdesk_status_t openpgp_sign_detached(openpgp_keyring_t *ring, const char *signer_fpr,
                                      const uint8_t *data, size_t size, uint8_t **sig,
                                      size_t *sig_size, const char **micalg);

/* Encrypts data to every recipient (primary fingerprints; their encryption subkeys are used)
 * as an ASCII-armored OpenPGP message: AES-256, integrity-protected (SEIPD v1 with MDC, which
 * gpg 2.2 reads). With signer_fpr (not NULL) the message is also signed in the same pass.
 * out: malloc'd, NUL-terminated; caller frees. */
pgpdesk_status_t openpgp_encrypt(openpgp_keyring_t *ring, const char *const *recipient_fprs,
                                size_t recipient_count, const char *signer_fpr,
                                const uint8_t *data, size_t size, uint8_t **out,
                                size_t *out_size);

/* Decrypts (and verifies signatures inside) an OpenPGP message, armored or binary. The
 * plaintext goes to a private buffer capped at cap bytes and reaches result only when the
 * whole message decrypted and its integrity check passed. Returns SUCCESS with the outcome in
 * result->status; result: caller clears with openpgp_decrypt_result_clear(). */
pgpdesk_status_t openpgp_decrypt(openpgp_keyring_t *ring, const uint8_t *data, size_t size,
                                size_t cap, openpgp_decrypt_result_t *result);

/* Verifies a detached signature (armored or binary) over data. result: one entry per
 * signature; caller clears it. A signature that cannot be parsed gives one MALFORMED entry. */
pgpdesk_status_t openpgp_verify_detached(openpgp_keyring_t *ring, const uint8_t *data,
                                        size_t size, const uint8_t *sig, size_t sig_size,
                                        openpgp_verify_result_t *result);

/* Verifies a signed, unencrypted OpenPGP message or cleartext-signed text and returns the
 * signed content (capped at cap). content: malloc'd, NUL-terminated; caller frees.
 * MALFORMED entry and no content when it is not one. */
pgpdesk_status_t openpgp_verify_inline(openpgp_keyring_t *ring, const uint8_t *data, size_t size,
                                      size_t cap, uint8_t **content, size_t *content_size,
                                      openpgp_verify_result_t *result);

/* ---------------------------------------------------------------- streams */

/* Large messages go through the operations below in constant memory: the input is pulled
 * through a reader, the output pushed into a file the caller owns (an empty, private one). */
typedef struct openpgp_reader {
    /* Up to len bytes into buf: how many (0 at the end), or -1 when reading failed. */
    ptrdiff_t (*read)(void *ctx, void *buf, size_t len);
    /* Back to the first byte (decryption reads its input twice); false if impossible. */
    bool (*rewind)(void *ctx);
    void *ctx;
} openpgp_reader_t;

/* As openpgp_encrypt(), the armored message written to out_fd. out_size: bytes written. */
pgpdesk_status_t openpgp_encrypt_stream(openpgp_keyring_t *ring,
                                       const char *const *recipient_fprs,
                                       size_t recipient_count, const char *signer_fpr,
                                       openpgp_reader_t *in, int out_fd, size_t *out_size);

/* As openpgp_sign_detached(), over the bytes of in (the signature is small: in memory). */
pgpdesk_status_t openpgp_sign_detached_stream(openpgp_keyring_t *ring, const char *signer_fpr,
                                             openpgp_reader_t *in, uint8_t **sig,
                                             size_t *sig_size, const char **micalg);

/* As openpgp_decrypt(), the plaintext written to out_fd, which is emptied again unless the
 * outcome is OPENPGP_DECRYPT_OK: nothing of a failed decryption stays there. result->plaintext
 * stays NULL; result->size is the plaintext's size. */
pgpdesk_status_t openpgp_decrypt_stream(openpgp_keyring_t *ring, openpgp_reader_t *in,
                                       size_t cap, int out_fd, openpgp_decrypt_result_t *result);

/* As openpgp_verify_detached(), over the bytes of data. */
pgpdesk_status_t openpgp_verify_detached_stream(openpgp_keyring_t *ring, openpgp_reader_t *data,
                                               const uint8_t *sig, size_t sig_size,
                                               openpgp_verify_result_t *result);

#endif
