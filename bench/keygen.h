/* keygen.h - synthetic Ed25519/Cv25519 certificates for W4 (see keygen.c). */
#ifndef PGPDESK_BENCH_KEYGEN_H
#define PGPDESK_BENCH_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct bench_cert {
    uint8_t *data;      /* binary transferable public key; malloc'd */
    size_t size;
    char fpr[41];       /* primary key, 40 upper-case hex */
    char sub_fpr[41];   /* the encryption subkey */
    char uid[96];       /* "Customer N <userN@dM.example>" */
    char email[64];
    uint32_t created;
} bench_cert_t;

/* Certificate number index (its address is userINDEX@dINDEX%997.example), created at
 * created. Fresh random key material each call. */
void bench_cert_make(size_t index, uint32_t created, bench_cert_t *out);
void bench_cert_clear(bench_cert_t *cert);

#endif
