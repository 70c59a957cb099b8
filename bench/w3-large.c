/* w3-large.c - W3: a draft with one large attachment (10 MB, 50 MB) sealed (signed and
 * encrypted) and opened (decrypted and verified): MB/s of attachment and the process's peak
 * RSS. Each direction runs in a process of its own (run.py), so VmHWM is that direction's.
 *
 * pgpdesk runs through its file entry points (pgpdesk_outgoing_process_file,
 * pgpdesk_incoming_process_file), which stream a large message instead of holding it in
 * memory; the result also says how much RSS the process had before the first operation.
 *
 * w3-compose makes the draft (composing is not what W3 measures); w3-seal seals it in the
 * helpdesk's database and writes the sealed message; w3-open opens that in the customer's
 * database. The floors do the same OpenPGP work on the same bytes through crypto.h. */
#include "bench.h"
#include "crypto.h"
#include "spool.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

static char *
w3_file(const bench_args_t *args, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "w3-%zumb-%s.eml", args->size_mb, what);
    char *path = bench_path(args->work_dir, name);
    if (!path)
        bench_die(args, "out of memory");
    return path;
}

/* The whole W3 file `what` (its w3_file name), or the bench dies. data: caller frees. */
static uint8_t *
read_or_die(const bench_args_t *args, const char *what, size_t *size)
{
    char *path = w3_file(args, what);
    uint8_t *data = bench_read_file(path, size);
    if (!data)
        bench_die(args, "cannot read %s", path);
    free(path);
    return data;
}

/* The W3 file `what` opened for reading, and its size, or the bench dies. */
static int
open_or_die(const bench_args_t *args, const char *what, size_t *size)
{
    char *path = w3_file(args, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0)
        bench_die(args, "cannot open %s", path);
    free(path);
    *size = (size_t) sb.st_size;
    return fd;
}

/* Generous limits, so that W3 measures the work and not the limits (the defaults, 128 MiB of
 * message and 10 s, let a 50 MB attachment through: a 68 MB draft, a 93 MB sealed message). */
static void
raise_limits(pgpdesk_t *pd)
{
    pgpdesk_limits_t limits;
    pgpdesk_get_limits(pd, &limits);
    limits.max_message_size = 512u << 20;
    limits.decrypt_cap = 512u << 20;
    limits.time_limit_ms = 600000;
    pgpdesk_set_limits(pd, &limits);
}

int
bench_w3_compose(const bench_args_t *args)
{
    pgpdesk_t *pd = bench_open_party_db(args, "w3-compose", BENCH_PARTY_HELPDESK);
    size_t size = args->size_mb << 20;
    uint8_t *data = malloc(size);
    if (!data)
        bench_die(args, "out of memory");
    randombytes_buf(data, size); /* incompressible, like the PDFs and images people attach */
    pgpdesk_draft_attachment_t att = {.filename = "scan.pdf", .content_type = "application/pdf",
                                      .data = data, .size = size};
    char *body = bench_text_body(2048);
    size_t draft_size = 0;
    char *draft = bench_compose(pd, args, BENCH_HELPDESK, BENCH_CUSTOMER, body, &att, 1,
                                &draft_size);
    char *path = w3_file(args, "draft");
    if (!bench_write_file(path, draft, draft_size))
        bench_die(args, "cannot write %s", path);
    free(path);
    free(draft);
    free(body);
    free(data);
    pgpdesk_close(pd);
    return 0;
}

/* The fields every W3 result has: MB/s of attachment (from the median), RSS before. */
static void
emit_w3(const bench_args_t *args, const char *variant, const bench_samples_t *s,
        long rss_before_kb, size_t in_size, size_t out_size)
{
    json_t *r = bench_result(args, variant, s);
    double median_s = json_real_value(json_object_get(r, "median_ms")) / 1000.0;
    json_object_set_new(r, "size_mb", json_integer((json_int_t) args->size_mb));
    json_object_set_new(r, "mb_per_s",
                        json_real(median_s > 0 ? (double) args->size_mb / median_s : 0));
    json_object_set_new(r, "rss_before_kb", json_integer(rss_before_kb));
    json_object_set_new(r, "input_bytes", json_integer((json_int_t) in_size));
    json_object_set_new(r, "output_bytes", json_integer((json_int_t) out_size));
    bench_emit(r);
}

/* ---------------------------------------------------------------- seal */

/* Writes a sealed copy to path, from its file or (a small draft) its buffer. */
static bool
write_copy(const pgpdesk_outgoing_copy_t *copy, const char *path)
{
    if (copy->message)
        return bench_write_file(path, copy->message, copy->size);
    FILE *out = fopen(path, "wb");
    char buf[65536];
    size_t n;
    bool ok = out && fseek(copy->file, 0, SEEK_SET) == 0;
    while (ok && (n = fread(buf, 1, sizeof buf, copy->file)) > 0)
        ok = fwrite(buf, 1, n, out) == n;
    return out && fclose(out) == 0 && ok && !ferror(copy->file);
}

typedef struct seal {
    pgpdesk_t *pd;
    int fd;
    size_t size;
    pgpdesk_outgoing_result_t *last;
} seal_t;

static bool
seal_op(void *ctx)
{
    seal_t *w = ctx;
    static const pgpdesk_outgoing_options_t opts = {.sign = true, .encrypt = true,
                                                    .protected_headers = true};
    pgpdesk_outgoing_result_destroy(w->last);
    w->last = NULL;
    if (pgpdesk_outgoing_process_file(w->pd, w->fd, &opts, &w->last)) {
        fprintf(stderr, "pgpdesk-bench: w3-seal: %s\n", pgpdesk_errmsg(w->pd));
        return false;
    }
    return true;
}

int
bench_w3_seal(const bench_args_t *args)
{
    seal_t w = {.pd = bench_open_party_db(args, "w3-helpdesk", BENCH_PARTY_HELPDESK)};
    w.fd = open_or_die(args, "draft", &w.size);
    /* Says whether the default limits let this draft through at all. */
    pgpdesk_outgoing_result_t *res = NULL;
    static const pgpdesk_outgoing_options_t opts = {.sign = true, .encrypt = true};
    pgpdesk_status_t at_defaults = pgpdesk_outgoing_process_file(w.pd, w.fd, &opts, &res);
    pgpdesk_outgoing_result_destroy(res);
    raise_limits(w.pd);

    long rss_before = bench_rss_kb();
    bench_samples_t s;
    if (!bench_run(args, seal_op, &w, &s))
        bench_die(args, "sealing failed");
    char *path = w3_file(args, "sealed");
    if (!write_copy(&w.last->copies[0], path))
        bench_die(args, "cannot write %s", path);
    free(path);
    size_t out_size = w.last->copies[0].size;
    pgpdesk_outgoing_result_destroy(w.last);
    close(w.fd);
    emit_w3(args, "pgpdesk-seal", &s, rss_before, w.size, out_size);
    if (at_defaults)
        fprintf(stderr, "pgpdesk-bench: w3-seal: at the default limits: %s\n",
                pgpdesk_status_to_string(at_defaults));
    bench_samples_free(&s);
    pgpdesk_close(w.pd);
    return 0;
}

/* ---------------------------------------------------------------- open */

typedef struct open_ctx {
    pgpdesk_t *pd;
    int fd;
    size_t size;
} open_t;

static bool
open_op(void *ctx)
{
    open_t *w = ctx;
    pgpdesk_article_t *article = NULL;
    if (pgpdesk_incoming_process_file(w->pd, w->fd, &article)) {
        fprintf(stderr, "pgpdesk-bench: w3-open: %s\n", pgpdesk_errmsg(w->pd));
        return false;
    }
    bool ok = bench_article_ok(article);
    if (!ok) {
        char *json = json_dumps(article->security, JSON_COMPACT);
        fprintf(stderr, "pgpdesk-bench: w3-open: not decrypted and verified: %s\n",
                json ? json : "");
        free(json);
    }
    pgpdesk_article_destroy(article);
    return ok;
}

int
bench_w3_open(const bench_args_t *args)
{
    open_t w = {.pd = bench_open_party_db(args, "w3-customer", BENCH_PARTY_CUSTOMER)};
    raise_limits(w.pd);
    w.fd = open_or_die(args, "sealed", &w.size);
    long rss_before = bench_rss_kb();
    bench_samples_t s;
    if (!bench_run(args, open_op, &w, &s))
        bench_die(args, "opening failed");
    emit_w3(args, "pgpdesk-open", &s, rss_before, w.size, 0);
    bench_samples_free(&s);
    close(w.fd);
    pgpdesk_close(w.pd);
    return 0;
}

/* ---------------------------------------------------------------- floors */

typedef struct floor_w3 {
    openpgp_keyring_t *ring;
    const char *recipients[2];
    const char *signer;
    const uint8_t *data;
    size_t size;
    size_t out_size;
} floor_w3_t;

/* A floor's open succeeded: decrypted, with one good signature. Clears res; size: the
 * plaintext's. */
static bool
opened_good(openpgp_decrypt_result_t *res, size_t *size)
{
    bool ok = res->status == OPENPGP_DECRYPT_OK && res->verify.count == 1 &&
              res->verify.signatures[0].status == OPENPGP_SIG_GOOD;
    *size = res->size;
    openpgp_decrypt_result_clear(res);
    return ok;
}

/* The helpdesk's keyring for sealing, and the two fingerprints a copy is encrypted to. */
static openpgp_keyring_t *
sealing_ring(const bench_args_t *args, char helpdesk[PGPDESK_FINGERPRINT_SIZE],
             char customer[PGPDESK_FINGERPRINT_SIZE])
{
    bench_fingerprint(args, BENCH_PARTY_HELPDESK, helpdesk);
    bench_fingerprint(args, BENCH_PARTY_CUSTOMER, customer);
    return bench_floor_ring(args, false, BENCH_PARTY_HELPDESK);
}

static bool
floor_seal_op(void *ctx)
{
    floor_w3_t *f = ctx;
    uint8_t *out = NULL;
    if (openpgp_encrypt(f->ring, f->recipients, 2, f->signer, f->data, f->size, &out,
                        &f->out_size))
        return false;
    free(out);
    return true;
}

static bool
floor_open_op(void *ctx)
{
    floor_w3_t *f = ctx;
    openpgp_decrypt_result_t res;
    return openpgp_decrypt(f->ring, f->data, f->size, 512u << 20, &res) == PGPDESK_STATUS_SUCCESS &&
           opened_good(&res, &f->out_size);
}

/* librnp encrypting the draft's bytes in memory (about the size of the payload pgpdesk
 * encrypts), as the helpdesk to the customer and itself. */
int
bench_w3_floor_seal(const bench_args_t *args)
{
    char helpdesk[PGPDESK_FINGERPRINT_SIZE], customer[PGPDESK_FINGERPRINT_SIZE];
    floor_w3_t f = {.ring = sealing_ring(args, helpdesk, customer),
                    .recipients = {customer, helpdesk}, .signer = helpdesk};
    size_t size = 0;
    uint8_t *draft = read_or_die(args, "draft", &size);
    f.data = draft;
    f.size = size;
    long rss_before = bench_rss_kb();
    bench_samples_t s;
    if (!bench_run(args, floor_seal_op, &f, &s))
        bench_die(args, "openpgp_encrypt failed");
    emit_w3(args, "floor-seal", &s, rss_before, f.size, f.out_size);
    bench_samples_free(&s);
    free(draft);
    openpgp_keyring_destroy(f.ring);
    return 0;
}

/* librnp decrypting and verifying the sealed message's armored part, as the customer. */
int
bench_w3_floor_open(const bench_args_t *args)
{
    floor_w3_t f = {.ring = bench_floor_ring(args, false, BENCH_PARTY_CUSTOMER)};
    size_t size = 0;
    uint8_t *msg = read_or_die(args, "sealed", &size);
    f.data = bench_armored_part(msg, size, &f.size);
    if (!f.data)
        bench_die(args, "no armored message in the sealed W3 message");
    long rss_before = bench_rss_kb();
    bench_samples_t s;
    if (!bench_run(args, floor_open_op, &f, &s))
        bench_die(args, "openpgp_decrypt failed or the signature was not good");
    emit_w3(args, "floor-open", &s, rss_before, f.size, f.out_size);
    bench_samples_free(&s);
    free(msg);
    openpgp_keyring_destroy(f.ring);
    return 0;
}

/* ---------------------------------------------------------------- streaming floors */

/* The same OpenPGP work through crypto.h's streaming calls, as pgpdesk drives them for a large
 * message: librnp reads a byte range of a file and writes into a file (the page cache only: no
 * fdatasync), with no MIME, lookup or storage around it. */

typedef struct floor_stream {
    openpgp_keyring_t *ring;
    const char *recipients[2];
    const char *signer;
    int in_fd;
    uint64_t start, end; /* the bytes of in_fd librnp reads */
    pd_file_range_t range;
    int out_fd; /* a temporary file, emptied before each operation */
    size_t out_size;
} floor_stream_t;

static openpgp_reader_t
floor_stream_start(floor_stream_t *f)
{
    bool emptied = ftruncate(f->out_fd, 0) == 0 && lseek(f->out_fd, 0, SEEK_SET) == 0;
    /* Not emptied: nothing to read, and the operation fails. */
    return pd_file_range_open(&f->range, f->in_fd, f->start, emptied ? f->end : f->start);
}

static bool
floor_seal_stream_op(void *ctx)
{
    floor_stream_t *f = ctx;
    openpgp_reader_t in = floor_stream_start(f);
    return openpgp_encrypt_stream(f->ring, f->recipients, 2, f->signer, &in, f->out_fd,
                                  &f->out_size) == PGPDESK_STATUS_SUCCESS;
}

static bool
floor_open_stream_op(void *ctx)
{
    floor_stream_t *f = ctx;
    openpgp_reader_t in = floor_stream_start(f);
    openpgp_decrypt_result_t res;
    return openpgp_decrypt_stream(f->ring, &in, 512u << 20, f->out_fd, &res) ==
               PGPDESK_STATUS_SUCCESS &&
           opened_good(&res, &f->out_size);
}

/* Where needle first occurs in the file fd at or after from (-1: nowhere), read a MiB at a
 * time so that the process's peak RSS stays the floor's own. */
static off_t
find_in_file(int fd, off_t from, const char *needle)
{
    size_t n = strlen(needle), chunk = 1 << 20;
    char *buf = malloc(chunk + n);
    off_t found = -1;
    ssize_t got;
    while (buf && found < 0 && (got = pread(fd, buf, chunk + n, from)) >= (ssize_t) n) {
        char *hit = memmem(buf, (size_t) got, needle, n);
        if (hit)
            found = from + (hit - buf);
        from += (off_t) chunk;
    }
    free(buf);
    return found;
}

static void
floor_stream_run(const bench_args_t *args, floor_stream_t *f, const char *variant,
                 bool (*op)(void *))
{
    char *path = bench_path(args->work_dir, "w3-floor-stream.out");
    if (!path || (f->out_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        bench_die(args, "cannot make the floor's output file");
    unlink(path);
    free(path);
    long rss_before = bench_rss_kb();
    bench_samples_t s;
    if (!bench_run(args, op, f, &s))
        bench_die(args, "%s failed", variant);
    emit_w3(args, variant, &s, rss_before, (size_t) (f->end - f->start), f->out_size);
    bench_samples_free(&s);
    close(f->out_fd);
    close(f->in_fd);
    openpgp_keyring_destroy(f->ring);
}

/* librnp sealing the draft file into a file, as the helpdesk to the customer and itself. */
int
bench_w3_floor_seal_stream(const bench_args_t *args)
{
    char helpdesk[PGPDESK_FINGERPRINT_SIZE], customer[PGPDESK_FINGERPRINT_SIZE];
    floor_stream_t f = {.ring = sealing_ring(args, helpdesk, customer),
                        .recipients = {customer, helpdesk}, .signer = helpdesk};
    size_t size = 0;
    f.in_fd = open_or_die(args, "draft", &size);
    f.end = size;
    floor_stream_run(args, &f, "floor-seal-stream", floor_seal_stream_op);
    return 0;
}

/* librnp opening the sealed message's armored part, read from its file, as the customer. */
int
bench_w3_floor_open_stream(const bench_args_t *args)
{
    floor_stream_t f = {.ring = bench_floor_ring(args, false, BENCH_PARTY_CUSTOMER)};
    size_t size = 0;
    f.in_fd = open_or_die(args, "sealed", &size);
    static const char end[] = "-----END PGP MESSAGE-----";
    off_t begin = find_in_file(f.in_fd, 0, "-----BEGIN PGP MESSAGE-----");
    off_t last = begin < 0 ? -1 : find_in_file(f.in_fd, begin, end);
    if (last < 0)
        bench_die(args, "no armored message in the sealed W3 message");
    f.start = (uint64_t) begin;
    f.end = (uint64_t) last + strlen(end);
    floor_stream_run(args, &f, "floor-open-stream", floor_open_stream_op);
    return 0;
}
