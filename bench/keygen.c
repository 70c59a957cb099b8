/* keygen.c - synthetic OpenPGP v4 certificates for W4's key store of 100,000 keys.
 *
 * gpg makes a key in tens of milliseconds at best (a process, the agent, entropy), so 100,000
 * would take longer than the whole bench may. These are real, valid certificates made
 * directly with libsodium: an Ed25519 primary key (certify+sign) with one user id and its
 * positive certification, and a Curve25519 encryption subkey with its binding signature, both
 * signatures SHA-256 over RFC 4880 section 5.2.4's hash input. run.py has gpg check a sample
 * of them (gpg --import and --check-signatures), and W4 checks the library reads one the same
 * way as the records it writes for the rest (see w4-keystore.c). */
#include "keygen.h"

#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALGO_ECDH 18
#define ALGO_EDDSA 22
#define HASH_SHA256 8

/* OIDs of RFC 4880bis: Ed25519 (1.3.6.1.4.1.11591.15.1) and Curve25519 (1.3.6.1.4.1.3029.1.5.1). */
static const uint8_t oid_ed25519[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01};
static const uint8_t oid_cv25519[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01};

/* A small growable byte buffer. Failures to grow abort: the bench has memory to spare. */
typedef struct buf {
    uint8_t *data;
    size_t size, cap;
} buf_t;

static void
put(buf_t *b, const void *data, size_t size)
{
    if (b->size + size > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->size + size)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            abort();
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, size);
    b->size += size;
}

static void
put8(buf_t *b, unsigned v)
{
    uint8_t c = (uint8_t) v;
    put(b, &c, 1);
}

static void
put16(buf_t *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v);
}

static void
put32(buf_t *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xFFFF);
}

/* An MPI of big-endian bytes: leading zero bytes dropped, the bit count of what is left. */
static void
put_mpi(buf_t *b, const uint8_t *bytes, size_t size)
{
    while (size && bytes[0] == 0) {
        bytes++;
        size--;
    }
    unsigned bits = size ? (unsigned) (size - 1) * 8 : 0;
    for (unsigned top = size ? bytes[0] : 0; top; top >>= 1)
        bits++;
    put16(b, bits);
    put(b, bytes, size);
}

/* A new-format packet header (RFC 4880 section 4.2.2) and body. */
static void
put_packet(buf_t *b, unsigned tag, const buf_t *body)
{
    put8(b, 0xC0 | tag);
    size_t n = body->size;
    if (n < 192) {
        put8(b, (unsigned) n);
    } else if (n < 8384) {
        put8(b, (unsigned) ((n - 192) >> 8) + 192);
        put8(b, (unsigned) ((n - 192) & 0xFF));
    } else {
        put8(b, 0xFF);
        put32(b, (uint32_t) n);
    }
    put(b, body->data, body->size);
}

/* A public key packet's body: v4, creation time, algorithm, curve OID, the 0x40-prefixed
 * native point, and for ECDH the KDF parameters (SHA-256, AES-128, as gpg makes them). */
static void
key_body(buf_t *b, uint32_t created, unsigned algo, const uint8_t *oid, size_t oid_size,
         const uint8_t point[32])
{
    uint8_t prefixed[33] = {0x40};
    memcpy(prefixed + 1, point, 32);
    put8(b, 4);
    put32(b, created);
    put8(b, algo);
    put8(b, (unsigned) oid_size);
    put(b, oid, oid_size);
    put_mpi(b, prefixed, sizeof prefixed);
    if (algo == ALGO_ECDH) {
        static const uint8_t kdf[] = {0x03, 0x01, HASH_SHA256, 7 /* AES-128 */};
        put(b, kdf, sizeof kdf);
    }
}

/* The v4 fingerprint: SHA-1 over 0x99, the body's two-byte length and the body. */
static void
fingerprint(const buf_t *body, uint8_t out[20])
{
    uint8_t head[3] = {0x99, (uint8_t) (body->size >> 8), (uint8_t) body->size};
    GChecksum *sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sha1, head, sizeof head);
    g_checksum_update(sha1, body->data, body->size);
    gsize len = 20;
    g_checksum_get_digest(sha1, out, &len);
    g_checksum_free(sha1);
}

static void
hash_key(GChecksum *h, const buf_t *body)
{
    uint8_t head[3] = {0x99, (uint8_t) (body->size >> 8), (uint8_t) body->size};
    g_checksum_update(h, head, sizeof head);
    g_checksum_update(h, body->data, body->size);
}

/* A signature packet's body, EdDSA over SHA-256 of: what hash_prefix fed h, the hashed part
 * of the signature and its trailer. flags: the key flags subpacket. */
static void
signature_body(buf_t *out, GChecksum *h, unsigned type, uint32_t created, unsigned flags,
               const uint8_t issuer_fpr[20], const uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
    buf_t hashed = {0}, sub = {0};
    /* hashed subpackets: creation time, key flags, issuer fingerprint */
    put8(&sub, 5);
    put8(&sub, 2);
    put32(&sub, created);
    put8(&sub, 2);
    put8(&sub, 27);
    put8(&sub, flags);
    put8(&sub, 22);
    put8(&sub, 33);
    put8(&sub, 4);
    put(&sub, issuer_fpr, 20);

    put8(&hashed, 4);
    put8(&hashed, type);
    put8(&hashed, ALGO_EDDSA);
    put8(&hashed, HASH_SHA256);
    put16(&hashed, (unsigned) sub.size);
    put(&hashed, sub.data, sub.size);

    uint8_t trailer[6] = {0x04, 0xFF, 0, 0, 0, 0};
    uint32_t n = (uint32_t) hashed.size;
    trailer[2] = (uint8_t) (n >> 24);
    trailer[3] = (uint8_t) (n >> 16);
    trailer[4] = (uint8_t) (n >> 8);
    trailer[5] = (uint8_t) n;
    g_checksum_update(h, hashed.data, hashed.size);
    g_checksum_update(h, trailer, sizeof trailer);
    uint8_t digest[32];
    gsize len = sizeof digest;
    g_checksum_get_digest(h, digest, &len);

    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, digest, sizeof digest, sk);

    put(out, hashed.data, hashed.size);
    put16(out, 10); /* unhashed: the issuer key id */
    put8(out, 9);
    put8(out, 16);
    put(out, issuer_fpr + 12, 8);
    put(out, digest, 2);
    put_mpi(out, sig, 32);
    put_mpi(out, sig + 32, 32);
    free(hashed.data);
    free(sub.data);
}

static void
hex(const uint8_t *in, size_t size, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * size] = '\0';
}

void
bench_cert_make(size_t index, uint32_t created, bench_cert_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->email, sizeof out->email, "user%zu@d%zu.example", index, index % 997);
    snprintf(out->uid, sizeof out->uid, "Customer %zu <%s>", index, out->email);
    out->created = created;

    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t xpk[crypto_box_PUBLICKEYBYTES], xsk[crypto_box_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    crypto_box_keypair(xpk, xsk);
    sodium_memzero(xsk, sizeof xsk);

    buf_t primary = {0}, subkey = {0}, uid_sig = {0}, sub_sig = {0}, cert = {0};
    buf_t uid = {.data = (uint8_t *) out->uid, .size = strlen(out->uid)};
    key_body(&primary, created, ALGO_EDDSA, oid_ed25519, sizeof oid_ed25519, pk);
    key_body(&subkey, created, ALGO_ECDH, oid_cv25519, sizeof oid_cv25519, xpk);
    uint8_t fpr[20], sub_fpr[20];
    fingerprint(&primary, fpr);
    fingerprint(&subkey, sub_fpr);
    hex(fpr, 20, out->fpr);
    hex(sub_fpr, 20, out->sub_fpr);

    /* Positive certification (0x13) of the user id: key, 0xB4, the id's 4-byte length, id. */
    GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
    hash_key(h, &primary);
    uint8_t uid_head[5] = {0xB4, (uint8_t) (uid.size >> 24), (uint8_t) (uid.size >> 16),
                           (uint8_t) (uid.size >> 8), (uint8_t) uid.size};
    g_checksum_update(h, uid_head, sizeof uid_head);
    g_checksum_update(h, uid.data, uid.size);
    signature_body(&uid_sig, h, 0x13, created, 0x03 /* certify, sign */, fpr, sk);
    g_checksum_free(h);

    /* Subkey binding (0x18): primary key, then subkey. */
    h = g_checksum_new(G_CHECKSUM_SHA256);
    hash_key(h, &primary);
    hash_key(h, &subkey);
    signature_body(&sub_sig, h, 0x18, created, 0x0C /* encrypt communications, storage */, fpr, sk);
    g_checksum_free(h);
    sodium_memzero(sk, sizeof sk);

    put_packet(&cert, 6, &primary);
    put_packet(&cert, 13, &uid);
    put_packet(&cert, 2, &uid_sig);
    put_packet(&cert, 14, &subkey);
    put_packet(&cert, 2, &sub_sig);
    out->data = cert.data;
    out->size = cert.size;
    free(primary.data);
    free(subkey.data);
    free(uid_sig.data);
    free(sub_sig.data);
}

void
bench_cert_clear(bench_cert_t *cert)
{
    free(cert->data);
    memset(cert, 0, sizeof *cert);
}
