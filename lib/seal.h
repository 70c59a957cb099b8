/* seal.h - sealing secrets at rest under the store's 32-byte master key (libsodium
 * XChaCha20-Poly1305). A sealed blob is nonce || ciphertext || tag, bound by associated data
 * to the record and field it belongs to, so blobs cannot be swapped between records. */
#ifndef PGPDESK_SEAL_H
#define PGPDESK_SEAL_H

#include "pgpdesk.h"

#define SEAL_KEY_SIZE 32

/* Initializes libsodium once; false if it cannot. */
bool seal_init(void);

/* A fresh random master key in key (SEAL_KEY_SIZE bytes). */
void seal_keygen(uint8_t *key);

/* out: malloc'd sealed blob the caller frees with free(). */
pgpdesk_status_t seal_close(const uint8_t *key, const char *context, const uint8_t *plain,
                            size_t plain_size, uint8_t **out, size_t *out_size);

/* out: malloc'd plaintext plus a NUL byte (not counted in out_size); the caller releases it
 * with seal_free(). MASTER_KEY_MISMATCH if the blob does not open under key. */
pgpdesk_status_t seal_open(const uint8_t *key, const char *context, const uint8_t *sealed,
                           size_t sealed_size, uint8_t **out, size_t *out_size);

/* Wipes and frees a secret buffer. Accepts NULL. */
void seal_free(void *secret, size_t size);

#endif
