/* w4-keystore.c - W4: a key store of 100,000 public keys. Measures the security-options lookup
 * a compose form makes for every draft (pgpdesk_security_options: the group's signing key and
 * each recipient's encryption key) and pgpdesk_keystore_find_usable alone, at that scale; and
 * the import rate of pgpdesk_keystore_import, one key per call as an admin or an API client
 * imports them, into the full store.
 *
 * Filling the store: importing 100,000 keys through the library would itself take minutes
 * (that rate is what the import figure measures), so the store is filled white-box, through
 * the store's own key_put in one transaction, with records made from the synthetic
 * certificates (keygen.c). To keep that honest, the first certificate is imported through
 * pgpdesk_keystore_import and the record the library wrote is compared with the one the fill
 * would have written; any difference stops the bench. */
#include "bench.h"
#include "internal.h"
#include "keygen.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A deterministic xorshift generator: the same addresses every run. */
static uint64_t
next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* The record the fill writes for a certificate; template: the library's record of the first
 * certificate, for what every synthetic certificate shares (algorithm, bits, validity). */
static void
cert_record(const bench_cert_t *cert, const store_key_record_t *template, store_key_record_t *rec,
            char *uid_slot[1], char *email_slot[1], char fprs[2][PGPDESK_FINGERPRINT_SIZE])
{
    memset(rec, 0, sizeof *rec);
    pgpdesk_key_t *k = &rec->info;
    snprintf(k->fingerprint, sizeof k->fingerprint, "%s", cert->fpr);
    uid_slot[0] = (char *) cert->uid;
    email_slot[0] = (char *) cert->email;
    k->name = (char *) cert->uid;
    k->user_ids = uid_slot;
    k->user_id_count = 1;
    k->emails = email_slot;
    k->email_count = 1;
    k->created_at = cert->created;
    k->expires_at = template->info.expires_at;
    k->algorithm = template->info.algorithm;
    k->bits = template->info.bits;
    rec->sign_until = template->sign_until;
    rec->encrypt_until = template->encrypt_until;
    rec->public_key = cert->data;
    rec->public_key_size = cert->size;
    snprintf(fprs[0], PGPDESK_FINGERPRINT_SIZE, "%s", cert->fpr);
    snprintf(fprs[1], PGPDESK_FINGERPRINT_SIZE, "%s", cert->sub_fpr);
    rec->fingerprints = fprs;
    rec->fingerprint_count = 2;
}

/* Imports certificate 0 through the library and checks the fill's record would match the
 * library's. template: the library's record; caller clears it. */
static void
import_reference(const bench_args_t *args, pgpdesk_t *pd, const bench_cert_t *cert,
                 store_key_record_t *template)
{
    if (pgpdesk_keystore_import(pd, cert->data, cert->size, NULL, NULL))
        bench_die(args, "the synthetic certificate was refused: %s", pgpdesk_errmsg(pd));
    if (pd->store->ops->key_get(pd->store, cert->fpr, template))
        bench_die(args, "the imported certificate is not in the store");
    const pgpdesk_key_t *k = &template->info;
    char *uid[1], *email[1], fprs[2][PGPDESK_FINGERPRINT_SIZE];
    store_key_record_t mine;
    cert_record(cert, template, &mine, uid, email, fprs);
    const char *differs = NULL;
    if (strcmp(k->name, mine.info.name) != 0 || k->user_id_count != 1 ||
        strcmp(k->user_ids[0], cert->uid) != 0)
        differs = "user ids";
    else if (k->email_count != 1 || strcmp(k->emails[0], cert->email) != 0)
        differs = "e-mail addresses";
    else if (k->created_at != cert->created || k->expires_at != 0 || k->revoked)
        differs = "validity";
    else if (strcmp(k->algorithm, "EDDSA") != 0)
        differs = "algorithm";
    else if (!k->can_sign || !k->can_encrypt || k->secret)
        differs = "capabilities";
    if (differs)
        bench_die(args, "the library reads the synthetic certificate differently (%s)", differs);
    /* The subkey's fingerprint must be indexed, as the fill indexes it. */
    store_key_record_t *found = NULL;
    size_t count = 0;
    if (pd->store->ops->key_find_by_id(pd->store, cert->sub_fpr, &found, &count) || count != 1)
        bench_die(args, "the library did not index the synthetic subkey");
    store_key_record_clear(&found[0]);
    free(found);
}

/* Certificates are made by a second thread while the store writes them (libsodium's work
 * and SQLite's then share the two cores), through a bounded queue. */
#define QUEUE_SIZE 1024

typedef struct cert_queue {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bench_cert_t slots[QUEUE_SIZE];
    size_t made, taken, count; /* certificates 1..count-1 */
    uint32_t t0;
} cert_queue_t;

static void *
make_certs(void *arg)
{
    cert_queue_t *q = arg;
    for (size_t i = 1; i < q->count; i++) {
        bench_cert_t cert;
        bench_cert_make(i, q->t0 - (uint32_t) i, &cert);
        pthread_mutex_lock(&q->lock);
        while (q->made - q->taken == QUEUE_SIZE)
            pthread_cond_wait(&q->changed, &q->lock);
        q->slots[q->made++ % QUEUE_SIZE] = cert;
        pthread_cond_broadcast(&q->changed);
        pthread_mutex_unlock(&q->lock);
    }
    return NULL;
}

static void
take_cert(cert_queue_t *q, bench_cert_t *cert)
{
    pthread_mutex_lock(&q->lock);
    while (q->made == q->taken)
        pthread_cond_wait(&q->changed, &q->lock);
    *cert = q->slots[q->taken++ % QUEUE_SIZE];
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
}

/* Writes certificates 1..count-1 into the store in one transaction. */
static double
fill_store(const bench_args_t *args, pgpdesk_t *pd, size_t count, uint32_t t0,
           const store_key_record_t *template, FILE *sample)
{
    store_t *store = pd->store;
    int64_t start = bench_now_ns();
    static cert_queue_t q = {.lock = PTHREAD_MUTEX_INITIALIZER,
                             .changed = PTHREAD_COND_INITIALIZER};
    q.count = count;
    q.t0 = t0;
    pthread_t maker;
    if (pthread_create(&maker, NULL, make_certs, &q))
        bench_die(args, "pthread_create failed");
    if (store->ops->begin(store))
        bench_die(args, "begin failed: %s", store->errmsg);
    for (size_t i = 1; i < count; i++) {
        bench_cert_t cert;
        take_cert(&q, &cert);
        char *uid[1], *email[1], fprs[2][PGPDESK_FINGERPRINT_SIZE];
        store_key_record_t rec;
        cert_record(&cert, template, &rec, uid, email, fprs);
        if (store->ops->key_put(store, &rec))
            bench_die(args, "key_put failed: %s", store->errmsg);
        if (sample && i <= 20) /* for gpg's check of the generator (run.py) */
            fwrite(cert.data, 1, cert.size, sample);
        bench_cert_clear(&cert);
    }
    if (store->ops->commit(store))
        bench_die(args, "commit failed: %s", store->errmsg);
    pthread_join(maker, NULL);
    return (double) (bench_now_ns() - start) / 1e9;
}

/* ---------------------------------------------------------------- lookups */

typedef struct lookup {
    pgpdesk_t *pd;
    int64_t group_id;
    size_t keys;
    uint64_t random;
} lookup_t;

static void
random_address(lookup_t *l, char out[64])
{
    size_t i = 1 + (size_t) (next_random(&l->random) % (l->keys - 1));
    snprintf(out, 64, "user%zu@d%zu.example", i, i % 997);
}

static bool
options_op(void *ctx)
{
    lookup_t *l = ctx;
    char to[64];
    random_address(l, to);
    pgpdesk_security_options_t *opts = NULL;
    if (pgpdesk_security_options(l->pd, l->group_id, to, NULL, NULL, &opts))
        return false;
    bool ok = opts->sign.possible && opts->encryption.possible;
    if (!ok)
        fprintf(stderr, "pgpdesk-bench: w4: %s: sign %s, encryption %s\n", to,
                opts->sign.message, opts->encryption.message);
    pgpdesk_security_options_destroy(opts);
    return ok;
}

static bool
find_usable_op(void *ctx)
{
    lookup_t *l = ctx;
    char to[64];
    random_address(l, to);
    pgpdesk_key_t *key = NULL;
    if (pgpdesk_keystore_find_usable(l->pd, to, PGPDESK_PURPOSE_ENCRYPT, &key))
        return false;
    pgpdesk_key_destroy(key);
    return true;
}

/* ---------------------------------------------------------------- import */

typedef struct import {
    pgpdesk_t *pd;
    bench_cert_t *certs;
    size_t count, next;
} import_t;

static bool
import_op(void *ctx)
{
    import_t *im = ctx;
    if (im->next == im->count)
        return false;
    const bench_cert_t *cert = &im->certs[im->next++];
    pgpdesk_import_report_t *report = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_import(im->pd, cert->data, cert->size, NULL, &report);
    bool ok = !st && report && report->count == 1 &&
              report->items[0].action == PGPDESK_IMPORT_ADDED;
    if (!ok)
        fprintf(stderr, "pgpdesk-bench: w4: import failed: %s\n", pgpdesk_errmsg(im->pd));
    pgpdesk_import_report_destroy(report);
    return ok;
}

int
bench_w4_keystore(const bench_args_t *args)
{
    bench_args_t a = *args;
    a.algo = "ed25519"; /* the helpdesk's own key */
    size_t keys = args->keys ? args->keys : 100000;
    pgpdesk_t *pd = bench_open_party_db(&a, "w4", BENCH_PARTY_HELPDESK);
    pgpdesk_group_t group = {.name = "Support", .email = BENCH_HELPDESK,
                             .sign_default = PGPDESK_DEFAULT_UNSET,
                             .encrypt_default = PGPDESK_DEFAULT_UNSET};
    int64_t group_id = 0;
    if (pgpdesk_group_create(pd, &group, &group_id))
        bench_die(args, "group_create failed: %s", pgpdesk_errmsg(pd));

    uint32_t t0 = (uint32_t) time(NULL) - 86400;
    bench_cert_t first;
    bench_cert_make(0, t0, &first);
    store_key_record_t template;
    import_reference(args, pd, &first, &template);
    bench_cert_clear(&first);

    char *sample_path = bench_path(args->work_dir, "w4-sample.pgp");
    FILE *sample = sample_path ? fopen(sample_path, "wb") : NULL;
    double fill_s = fill_store(args, pd, keys, t0, &template, sample);
    if (sample)
        fclose(sample);
    free(sample_path);
    store_key_record_clear(&template);

    /* Lookups: five seconds each unless told otherwise. */
    lookup_t l = {.pd = pd, .group_id = group_id, .keys = keys, .random = 0x9E3779B97F4A7C15u};
    bench_args_t la = a;
    la.max_ops = 1000000;
    la.min_ops = 100;
    bench_samples_t s;
    if (!bench_run(&la, options_op, &l, &s))
        bench_die(args, "a security-options lookup failed");
    json_t *r = bench_result(&la, "security-options", &s);
    json_object_set_new(r, "keys", json_integer((json_int_t) keys));
    json_object_set_new(r, "fill_s", json_real(fill_s));
    bench_emit(r);
    bench_samples_free(&s);
    if (!bench_run(&la, find_usable_op, &l, &s))
        bench_die(args, "a find_usable lookup failed");
    r = bench_result(&la, "find-usable", &s);
    json_object_set_new(r, "keys", json_integer((json_int_t) keys));
    bench_emit(r);
    bench_samples_free(&s);

    /* Import: fresh certificates, made before the clock starts. */
    import_t im = {.pd = pd, .count = args->max_ops ? args->max_ops : 20000};
    im.certs = calloc(im.count, sizeof *im.certs);
    for (size_t i = 0; i < im.count; i++)
        bench_cert_make(keys + i, t0 + 1 + (uint32_t) i, &im.certs[i]);
    bench_args_t ia = a;
    ia.max_ops = im.count;
    ia.warmup_s = 0; /* every import is a new key: there is nothing to warm up */
    if (!bench_run(&ia, import_op, &im, &s))
        bench_die(args, "an import failed");
    r = bench_result(&ia, "import", &s);
    json_object_set_new(r, "keys", json_integer((json_int_t) (keys + im.next)));
    bench_emit(r);
    bench_samples_free(&s);
    for (size_t i = 0; i < im.count; i++)
        bench_cert_clear(&im.certs[i]);
    free(im.certs);

    /* What W5 (the HTTP figure, run against this database) needs. */
    char *path = bench_path(args->work_dir, "w4-addresses.txt");
    FILE *f = path ? fopen(path, "w") : NULL;
    for (size_t i = 0; f && i < 1000; i++) {
        char to[64];
        random_address(&l, to);
        fprintf(f, "%s\n", to);
    }
    if (f)
        fclose(f);
    free(path);
    path = bench_path(args->work_dir, "w4-group-id");
    f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%lld\n", (long long) group_id);
        fclose(f);
    }
    free(path);
    pgpdesk_close(pd);
    return 0;
}
