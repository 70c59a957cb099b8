/* w1-outgoing.c - W1: a 4 KB text draft sealed as PGP/MIME, signed and encrypted to one
 * recipient and the sender itself, end to end (key lookup, MIME, crypto, article and log
 * written), and its floor: librnp's sign+encrypt of the same payload bytes through crypto.h,
 * with no MIME, no lookup and no storage. */
#include "bench.h"
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W1_BODY_SIZE 4096

/* ---------------------------------------------------------------- pgpdesk end to end */

typedef struct w1 {
    pgpdesk_t *pd;
    char *draft;
    size_t size;
    pgpdesk_outgoing_result_t *last; /* the newest output, kept for gpg's check */
    pgpdesk_outgoing_result_t *first;
} w1_t;

/* The options the server's send endpoint uses. */
static const pgpdesk_outgoing_options_t seal_options = {.sign = true, .encrypt = true,
                                                        .protected_headers = true};

static bool
w1_op(void *ctx)
{
    w1_t *w = ctx;
    pgpdesk_outgoing_result_t *res = NULL;
    pgpdesk_status_t st = pgpdesk_outgoing_process(w->pd, w->draft, w->size, &seal_options, &res);
    if (st || res->count != 1) {
        fprintf(stderr, "pgpdesk-bench: w1: outgoing failed: %s\n", pgpdesk_errmsg(w->pd));
        pgpdesk_outgoing_result_destroy(res);
        return false;
    }
    if (!w->first) {
        w->first = res;
    } else {
        pgpdesk_outgoing_result_destroy(w->last);
        w->last = res;
    }
    return true;
}

static void
save_copy(const bench_args_t *args, const char *which, const pgpdesk_outgoing_result_t *res)
{
    char name[128];
    snprintf(name, sizeof name, "w1-%s-%s.eml", args->algo, which);
    char *path = bench_path(args->work_dir, name);
    if (!path || !bench_write_file(path, res->copies[0].message, res->copies[0].size))
        bench_die(args, "cannot write %s", path ? path : name);
    free(path);
}

int
bench_w1_outgoing(const bench_args_t *args)
{
    w1_t w = {.pd = bench_open_party_db(args, "w1-helpdesk", BENCH_PARTY_HELPDESK)};
    char *body = bench_text_body(W1_BODY_SIZE);
    w.draft = bench_compose(w.pd, args, BENCH_HELPDESK, BENCH_CUSTOMER, body, NULL, 0, &w.size);
    free(body);
    /* run.py compares what gpg decrypts with this draft's text. */
    char name[128];
    snprintf(name, sizeof name, "w1-%s-draft.eml", args->algo);
    char *path = bench_path(args->work_dir, name);
    if (!path || !bench_write_file(path, w.draft, w.size))
        bench_die(args, "cannot write %s", path ? path : name);
    free(path);

    bench_samples_t s;
    if (!bench_run(args, w1_op, &w, &s))
        bench_die(args, "an operation failed");
    /* bench/run.py has gpg decrypt and verify the first and the last message. */
    save_copy(args, "first", w.first);
    save_copy(args, "last", w.last ? w.last : w.first);

    json_t *r = bench_result(args, "pgpdesk", &s);
    json_object_set_new(r, "draft_bytes", json_integer((json_int_t) w.size));
    json_object_set_new(r, "output_bytes", json_integer((json_int_t) w.first->copies[0].size));
    bench_emit(r);
    bench_samples_free(&s);
    pgpdesk_outgoing_result_destroy(w.first);
    pgpdesk_outgoing_result_destroy(w.last);
    free(w.draft);
    pgpdesk_close(w.pd);
    return 0;
}

/* ---------------------------------------------------------------- the librnp floor */

typedef struct floor_w1 {
    openpgp_keyring_t *ring;
    const char *recipients[2];
    const char *signer;
    uint8_t *payload; /* the exact bytes pgpdesk encrypted in W1 */
    size_t size;
} floor_w1_t;

static bool
floor_w1_op(void *ctx)
{
    floor_w1_t *f = ctx;
    uint8_t *out = NULL;
    size_t out_size = 0;
    if (openpgp_encrypt(f->ring, f->recipients, 2, f->signer, f->payload, f->size, &out,
                        &out_size))
        return false;
    free(out);
    return true;
}

openpgp_keyring_t *
bench_floor_ring(const bench_args_t *args, bool locked, bench_party_t owner)
{
    openpgp_init();
    openpgp_keyring_t *ring = NULL;
    if (openpgp_keyring_create(&ring))
        bench_die(args, "openpgp_keyring_create failed");
    bench_party_t other = owner == BENCH_PARTY_HELPDESK ? BENCH_PARTY_CUSTOMER : BENCH_PARTY_HELPDESK;
    size_t size = 0;
    uint8_t *data = bench_key_file(args, owner, locked ? "secret" : "unprotected", &size);
    if (openpgp_keyring_load(ring, data, size))
        bench_die(args, "loading the private key failed");
    free(data);
    data = bench_key_file(args, other, "pub", &size);
    if (openpgp_keyring_load(ring, data, size))
        bench_die(args, "loading the public key failed");
    free(data);
    if (locked) {
        char fpr[PGPDESK_FINGERPRINT_SIZE];
        char *passphrase = bench_passphrase(args);
        bench_fingerprint(args, owner, fpr);
        if (openpgp_keyring_set_passphrase(ring, fpr, passphrase))
            bench_die(args, "openpgp_keyring_set_passphrase failed");
        free(passphrase);
    }
    return ring;
}

/* The payload pgpdesk encrypted in W1: the last W1 message decrypted with the sender's own
 * key (every copy is encrypted to the sender too). */
static uint8_t *
w1_payload(const bench_args_t *args, openpgp_keyring_t *ring, size_t *size)
{
    char name[128];
    snprintf(name, sizeof name, "w1-%s-last.eml", args->algo);
    char *path = bench_path(args->work_dir, name);
    size_t msg_size = 0, armored_size = 0;
    uint8_t *msg = path ? bench_read_file(path, &msg_size) : NULL;
    const uint8_t *armored = msg ? bench_armored_part(msg, msg_size, &armored_size) : NULL;
    if (!armored)
        bench_die(args, "no W1 message at %s (run w1 first)", path ? path : name);
    openpgp_decrypt_result_t res;
    if (openpgp_decrypt(ring, armored, armored_size, 1 << 26, &res) ||
        res.status != OPENPGP_DECRYPT_OK)
        bench_die(args, "cannot decrypt the W1 message");
    uint8_t *payload = malloc(res.size + 1);
    memcpy(payload, res.plaintext, res.size + 1);
    *size = res.size;
    openpgp_decrypt_result_clear(&res);
    free(msg);
    free(path);
    return payload;
}

/* The detached signature alone: one private-key operation, to set beside OpenSSL's. */
static bool
floor_sign_op(void *ctx)
{
    floor_w1_t *f = ctx;
    uint8_t *sig = NULL;
    size_t sig_size = 0;
    const char *micalg = NULL;
    if (openpgp_sign_detached(f->ring, f->signer, f->payload, f->size, &sig, &sig_size, &micalg))
        return false;
    free(sig);
    return true;
}

static int
floor_w1(const bench_args_t *args, bool locked, const char *variant)
{
    char helpdesk[PGPDESK_FINGERPRINT_SIZE], customer[PGPDESK_FINGERPRINT_SIZE];
    bench_fingerprint(args, BENCH_PARTY_HELPDESK, helpdesk);
    bench_fingerprint(args, BENCH_PARTY_CUSTOMER, customer);
    floor_w1_t f = {.ring = bench_floor_ring(args, locked, BENCH_PARTY_HELPDESK),
                    .recipients = {customer, helpdesk}, .signer = helpdesk};
    f.payload = w1_payload(args, f.ring, &f.size);
    bench_samples_t s;
    if (!bench_run(args, floor_w1_op, &f, &s))
        bench_die(args, "openpgp_encrypt failed");
    json_t *r = bench_result(args, variant, &s);
    json_object_set_new(r, "payload_bytes", json_integer((json_int_t) f.size));
    bench_emit(r);
    bench_samples_free(&s);
    if (!locked) {
        if (!bench_run(args, floor_sign_op, &f, &s))
            bench_die(args, "openpgp_sign_detached failed");
        bench_emit(bench_result(args, "floor-sign", &s));
        bench_samples_free(&s);
    }
    free(f.payload);
    openpgp_keyring_destroy(f.ring);
    return 0;
}

int
bench_w1_floor(const bench_args_t *args)
{
    return floor_w1(args, false, "floor");
}

int
bench_w1_floor_locked(const bench_args_t *args)
{
    return floor_w1(args, true, "floor-locked");
}
