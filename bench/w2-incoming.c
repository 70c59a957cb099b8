/* w2-incoming.c - W2: an incoming W1-style message (PGP/MIME, signed and encrypted in one
 * pass) decrypted and verified end to end (raw stored, parsed, decrypted, verified, article
 * and log written), and its floor: librnp's decrypt+verify of the same armored bytes.
 *
 * The message is what the customer's own pgpdesk makes with W1's code path, customer ->
 * helpdesk (so the helpdesk opens it with its private key and verifies the customer's
 * signature, as in real use); it is written to w2-<algo>-input.eml for the gpg/sq baselines. */
#include "bench.h"
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W2_BODY_SIZE 4096

/* The customer's mail to the helpdesk, made by pgpdesk in a database of the customer's. */
static uint8_t *
customer_message(const bench_args_t *args, size_t *size)
{
    pgpdesk_t *pd = bench_open_party_db(args, "w2-customer", BENCH_PARTY_CUSTOMER);
    char *body = bench_text_body(W2_BODY_SIZE);
    size_t draft_size = 0;
    char *draft = bench_compose(pd, args, BENCH_CUSTOMER, BENCH_HELPDESK, body, NULL, 0,
                                &draft_size);
    const pgpdesk_outgoing_options_t opts = {.sign = true, .encrypt = true,
                                             .protected_headers = true};
    pgpdesk_outgoing_result_t *res = NULL;
    if (pgpdesk_outgoing_process(pd, draft, draft_size, &opts, &res) || res->count != 1)
        bench_die(args, "the customer's message could not be made: %s", pgpdesk_errmsg(pd));
    uint8_t *msg = malloc(res->copies[0].size + 1);
    memcpy(msg, res->copies[0].message, res->copies[0].size + 1);
    *size = res->copies[0].size;
    pgpdesk_outgoing_result_destroy(res);
    free(draft);
    free(body);
    pgpdesk_close(pd);

    char name[128];
    snprintf(name, sizeof name, "w2-%s-input.eml", args->algo);
    char *path = bench_path(args->work_dir, name);
    if (!path || !bench_write_file(path, msg, *size))
        bench_die(args, "cannot write %s", path ? path : name);
    free(path);
    return msg;
}

/* ---------------------------------------------------------------- pgpdesk end to end */

typedef struct w2 {
    pgpdesk_t *pd;
    uint8_t *message;
    size_t size;
} w2_t;

static bool
w2_op(void *ctx)
{
    w2_t *w = ctx;
    pgpdesk_article_t *article = NULL;
    if (pgpdesk_incoming_process(w->pd, w->message, w->size, &article)) {
        fprintf(stderr, "pgpdesk-bench: w2: incoming failed: %s\n", pgpdesk_errmsg(w->pd));
        return false;
    }
    /* Fast but wrong must not pass: every message must decrypt and verify. */
    bool ok = bench_article_ok(article);
    if (!ok) {
        char *json = json_dumps(article->security, JSON_COMPACT);
        fprintf(stderr, "pgpdesk-bench: w2: not decrypted and verified: %s\n", json ? json : "");
        free(json);
    }
    pgpdesk_article_destroy(article);
    return ok;
}

int
bench_w2_incoming(const bench_args_t *args)
{
    w2_t w = {0};
    w.message = customer_message(args, &w.size);
    w.pd = bench_open_party_db(args, "w2-helpdesk", BENCH_PARTY_HELPDESK);
    bench_samples_t s;
    if (!bench_run(args, w2_op, &w, &s))
        bench_die(args, "an operation failed");
    json_t *r = bench_result(args, "pgpdesk", &s);
    json_object_set_new(r, "message_bytes", json_integer((json_int_t) w.size));
    bench_emit(r);
    bench_samples_free(&s);
    free(w.message);
    pgpdesk_close(w.pd);
    return 0;
}

/* ---------------------------------------------------------------- the librnp floor */

typedef struct floor_w2 {
    openpgp_keyring_t *ring;
    const uint8_t *armored; /* the encrypted.asc part of the W2 message */
    size_t size;
} floor_w2_t;

static bool
floor_w2_op(void *ctx)
{
    floor_w2_t *f = ctx;
    openpgp_decrypt_result_t res;
    if (openpgp_decrypt(f->ring, f->armored, f->size, 1 << 26, &res))
        return false;
    bool ok = res.status == OPENPGP_DECRYPT_OK && res.verify.count == 1 &&
              res.verify.signatures[0].status == OPENPGP_SIG_GOOD;
    openpgp_decrypt_result_clear(&res);
    return ok;
}

static int
floor_w2(const bench_args_t *args, bool locked, const char *variant)
{
    char name[128];
    snprintf(name, sizeof name, "w2-%s-input.eml", args->algo);
    char *path = bench_path(args->work_dir, name);
    size_t msg_size = 0;
    uint8_t *msg = path ? bench_read_file(path, &msg_size) : NULL;
    floor_w2_t f = {.ring = bench_floor_ring(args, locked, BENCH_PARTY_HELPDESK)};
    f.armored = msg ? bench_armored_part(msg, msg_size, &f.size) : NULL;
    if (!f.armored)
        bench_die(args, "no W2 message at %s (run w2 first)", path ? path : name);
    bench_samples_t s;
    if (!bench_run(args, floor_w2_op, &f, &s))
        bench_die(args, "openpgp_decrypt failed or the signature was not good");
    json_t *r = bench_result(args, variant, &s);
    json_object_set_new(r, "armored_bytes", json_integer((json_int_t) f.size));
    bench_emit(r);
    bench_samples_free(&s);
    openpgp_keyring_destroy(f.ring);
    free(msg);
    free(path);
    return 0;
}

int
bench_w2_floor(const bench_args_t *args)
{
    return floor_w2(args, false, "floor");
}

int
bench_w2_floor_locked(const bench_args_t *args)
{
    return floor_w2(args, true, "floor-locked");
}
