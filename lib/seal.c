/* seal.c - secrets sealed at rest with libsodium's XChaCha20-Poly1305 AEAD (see seal.h). */
#include "seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_SIZE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_SIZE crypto_aead_xchacha20poly1305_ietf_ABYTES

bool
seal_init(void)
{
    return sodium_init() >= 0;
}

void
seal_keygen(uint8_t *key)
{
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
}

pgpdesk_status_t
seal_close(const uint8_t *key, const char *context, const uint8_t *plain, size_t plain_size,
           uint8_t **out, size_t *out_size)
{
    size_t size = NONCE_SIZE + plain_size + TAG_SIZE;
    uint8_t *blob = malloc(size);
    if (!blob)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    randombytes_buf(blob, NONCE_SIZE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(blob + NONCE_SIZE, &clen, plain, plain_size,
                                               (const uint8_t *) context, strlen(context), NULL,
                                               blob, key);
    *out = blob;
    *out_size = NONCE_SIZE + (size_t) clen;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
seal_open(const uint8_t *key, const char *context, const uint8_t *sealed, size_t sealed_size,
          uint8_t **out, size_t *out_size)
{
    if (sealed_size < NONCE_SIZE + TAG_SIZE)
        return PGPDESK_STATUS_MASTER_KEY_MISMATCH;
    size_t max = sealed_size - NONCE_SIZE - TAG_SIZE;
    uint8_t *plain = malloc(max + 1);
    if (!plain)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, sealed + NONCE_SIZE,
                                                   sealed_size - NONCE_SIZE,
                                                   (const uint8_t *) context, strlen(context),
                                                   sealed, key) != 0) {
        free(plain);
        return PGPDESK_STATUS_MASTER_KEY_MISMATCH;
    }
    plain[plen] = '\0';
    *out = plain;
    *out_size = (size_t) plen;
    return PGPDESK_STATUS_SUCCESS;
}

void
seal_free(void *secret, size_t size)
{
    if (!secret)
        return;
    sodium_memzero(secret, size);
    free(secret);
}
