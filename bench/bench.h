/* bench.h - what the workloads of pgpdesk-bench share: timing one operation many times, the
 * statistics of the timings, the result line the driver (bench/run.py) reads, and the key and
 * draft fixtures every workload starts from.
 *
 * One run of pgpdesk-bench measures one workload in one process, so the process's peak RSS
 * (VmHWM) is that workload's. It prints one JSON object per measured variant on stdout; the
 * driver runs the baselines (gpg, sq) next to it and writes bench/results.md. */
#ifndef PGPDESK_BENCH_H
#define PGPDESK_BENCH_H

#include "pgpdesk.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- options */

/* The command line, shared by every workload (each uses what it needs). */
typedef struct bench_args {
    const char *workload;
    const char *keys_dir;   /* from bench/run.py: <party>-<algo>.{pub,secret,unprotected}.asc, passphrase */
    const char *work_dir;   /* scratch: databases and the messages workloads hand on */
    const char *algo;       /* "ed25519", "rsa3072", "rsa4096" */
    double warmup_s;        /* untimed operations first: caches, page faults, lazy init */
    double seconds;         /* then operations are timed until this much time has passed... */
    size_t min_ops;         /* ...and at least this many were done... */
    size_t max_ops;         /* ...but never more than this many */
    size_t size_mb;         /* W3: the attachment's size */
    size_t keys;            /* W4: keys in the store */
} bench_args_t;

/* ---------------------------------------------------------------- timing */

/* Nanoseconds of CLOCK_MONOTONIC. */
int64_t bench_now_ns(void);

/* One operation; returns false when it failed (the workload then stops and says so). */
typedef bool (*bench_op_fn)(void *ctx);

/* Per-operation timings in nanoseconds. */
typedef struct bench_samples {
    int64_t *ns;
    size_t count, cap;
    int64_t wall_ns; /* from the first timed operation's start to the last one's end */
} bench_samples_t;

/* Runs op untimed for args->warmup_s (at least once; none when 0), then timed until args->seconds have
 * passed and args->min_ops were done, or args->max_ops were. false when an operation failed. */
bool bench_run(const bench_args_t *args, bench_op_fn op, void *ctx, bench_samples_t *out);

void bench_samples_free(bench_samples_t *s);

/* The result object of one variant: {"workload","variant","algo","n","median_ms","p99_ms",
 * "mean_ms","min_ms","max_ms","ops_per_s","peak_rss_kb"}. ops_per_s is operations over the
 * wall time of the timed loop (one thread). New reference; the caller adds fields and emits it. */
json_t *bench_result(const bench_args_t *args, const char *variant, const bench_samples_t *s);

/* Prints the object as one line on stdout (the driver's input) and releases it. */
void bench_emit(json_t *result);

/* ---------------------------------------------------------------- the process */

/* VmHWM / VmRSS of this process in KiB (from /proc/self/status); 0 if unknown. */
long bench_peak_rss_kb(void);
long bench_rss_kb(void);

/* Prints "pgpdesk-bench: <workload>: <message>" on stderr and exits 1. */
void bench_die(const bench_args_t *args, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* ---------------------------------------------------------------- files */

/* The whole file; NULL when unreadable. out: malloc'd, NUL-terminated (not counted). */
uint8_t *bench_read_file(const char *path, size_t *size);
bool bench_write_file(const char *path, const void *data, size_t size);

/* "<dir>/<name>", malloc'd. */
char *bench_path(const char *dir, const char *name);

/* ---------------------------------------------------------------- fixtures */

/* The two parties of every workload: the helpdesk (the mailbox pgpdesk serves) and a
 * customer writing to it. Their keys are made by gpg at bench time (bench/run.py). */
#define BENCH_HELPDESK "support@example.com"
#define BENCH_CUSTOMER "customer@example.org"

typedef enum bench_party { BENCH_PARTY_HELPDESK = 0, BENCH_PARTY_CUSTOMER = 1 } bench_party_t;

/* "<keys>/<party>-<algo>.<kind>.asc" read into memory; kind: "pub", "secret" (passphrase
 * protected, as gpg exports it), "unprotected" (the same key without a passphrase). */
uint8_t *bench_key_file(const bench_args_t *args, bench_party_t party, const char *kind,
                        size_t *size);

/* The passphrase of every generated key ("<keys>/passphrase"). malloc'd. */
char *bench_passphrase(const bench_args_t *args);

/* The primary fingerprint of a party's key ("<keys>/<party>-<algo>.fpr"). */
void bench_fingerprint(const bench_args_t *args, bench_party_t party,
                       char out[PGPDESK_FINGERPRINT_SIZE]);

/* A new database "<work>/<name>.db" holding owner's private key (imported with its
 * passphrase, as an admin would) and the other party's public key, both through
 * pgpdesk_keystore_import(). */
pgpdesk_t *bench_open_party_db(const bench_args_t *args, const char *name, bench_party_t owner);

/* The 4 KB plain-text body of the W1 draft: printable ASCII in 72-column lines. malloc'd. */
char *bench_text_body(size_t size);

/* A draft from "from" to "to" with body and optional attachments, composed by the library as
 * the compose form would (pgpdesk_draft_compose). malloc'd. */
char *bench_compose(pgpdesk_t *pd, const bench_args_t *args, const char *from, const char *to,
                    const char *body, const pgpdesk_draft_attachment_t *attachments,
                    size_t attachment_count, size_t *size);

/* The armored OpenPGP message inside a PGP/MIME message (its encrypted.asc part), borrowed
 * from message; NULL if there is none. */
const uint8_t *bench_armored_part(const uint8_t *message, size_t size, size_t *armored_size);

/* Does an article's security result say "decrypted and a good signature"? */
bool bench_article_ok(const pgpdesk_article_t *article);

/* ---------------------------------------------------------------- floors */

struct openpgp_keyring;

/* A crypto.h keyring with owner's private key and the other party's public key, loaded once.
 * locked: the passphrase-protected private key, unlocked by librnp through the passphrase
 * callback on every private-key operation (an S2K per use); otherwise the unprotected copy,
 * which costs librnp what a key unlocked once costs. */
struct openpgp_keyring *bench_floor_ring(const bench_args_t *args, bool locked,
                                         bench_party_t owner);

/* ---------------------------------------------------------------- workloads */

/* Each measures one workload and emits its result line(s); returns the exit status. */
int bench_w1_outgoing(const bench_args_t *args);
int bench_w1_floor(const bench_args_t *args);
int bench_w1_floor_locked(const bench_args_t *args);
int bench_w2_incoming(const bench_args_t *args);
int bench_w2_floor(const bench_args_t *args);
int bench_w2_floor_locked(const bench_args_t *args);
int bench_w3_compose(const bench_args_t *args);
int bench_w3_seal(const bench_args_t *args);
int bench_w3_open(const bench_args_t *args);
int bench_w3_floor_seal(const bench_args_t *args);
int bench_w3_floor_open(const bench_args_t *args);
int bench_w3_floor_seal_stream(const bench_args_t *args);
int bench_w3_floor_open_stream(const bench_args_t *args);
int bench_w4_keystore(const bench_args_t *args);

#endif
