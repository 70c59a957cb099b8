/* bench-util.c - timing loop, statistics, result lines, files. */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool
samples_push(bench_samples_t *s, int64_t ns)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *grown = realloc(s->ns, cap * sizeof *grown);
        if (!grown)
            return false;
        s->ns = grown;
        s->cap = cap;
    }
    s->ns[s->count++] = ns;
    return true;
}

bool
bench_run(const bench_args_t *args, bench_op_fn op, void *ctx, bench_samples_t *out)
{
    memset(out, 0, sizeof *out);
    /* Warm-up: the first operations pay for lazy initialisation (GMime, SQLite's page cache,
     * key unlocking where the library caches it); the steady state is what a server sees. */
    if (args->warmup_s > 0) {
        int64_t until = bench_now_ns() + (int64_t) (args->warmup_s * 1e9);
        do {
            if (!op(ctx))
                return false;
        } while (bench_now_ns() < until);
    }

    int64_t start = bench_now_ns();
    int64_t stop = start + (int64_t) (args->seconds * 1e9);
    int64_t t = start;
    while (out->count < args->max_ops && (t < stop || out->count < args->min_ops)) {
        int64_t t0 = bench_now_ns();
        if (!op(ctx))
            return false;
        t = bench_now_ns();
        if (!samples_push(out, t - t0))
            return false;
    }
    out->wall_ns = t - start;
    return true;
}

void
bench_samples_free(bench_samples_t *s)
{
    free(s->ns);
    memset(s, 0, sizeof *s);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static double
percentile_ms(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t) (p * (double) n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double) sorted[rank - 1] / 1e6;
}

json_t *
bench_result(const bench_args_t *args, const char *variant, const bench_samples_t *s)
{
    int64_t *sorted = malloc((s->count ? s->count : 1) * sizeof *sorted);
    if (!sorted)
        return NULL;
    double sum = 0;
    for (size_t i = 0; i < s->count; i++) {
        sorted[i] = s->ns[i];
        sum += (double) s->ns[i];
    }
    qsort(sorted, s->count, sizeof *sorted, cmp_i64);
    size_t n = s->count;
    json_t *r = json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:I}",
                          "workload", args->workload, "variant", variant,
                          "n", (json_int_t) n,
                          "median_ms", percentile_ms(sorted, n, 0.50),
                          "p99_ms", percentile_ms(sorted, n, 0.99),
                          "mean_ms", n ? sum / (double) n / 1e6 : 0.0,
                          "min_ms", n ? (double) sorted[0] / 1e6 : 0.0,
                          "max_ms", n ? (double) sorted[n - 1] / 1e6 : 0.0,
                          "ops_per_s", s->wall_ns > 0 ? (double) n * 1e9 / (double) s->wall_ns : 0.0,
                          "peak_rss_kb", (json_int_t) bench_peak_rss_kb());
    if (r && args->algo)
        json_object_set_new(r, "algo", json_string(args->algo));
    free(sorted);
    return r;
}

void
bench_emit(json_t *result)
{
    if (!result)
        return;
    char *line = json_dumps(result, JSON_COMPACT);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
        free(line);
    }
    json_decref(result);
}

static long
status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kb = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

long
bench_peak_rss_kb(void)
{
    return status_kb("VmHWM");
}

long
bench_rss_kb(void)
{
    return status_kb("VmRSS");
}

void
bench_die(const bench_args_t *args, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pgpdesk-bench: %s: ", args && args->workload ? args->workload : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

uint8_t *
bench_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *grown = realloc(data, cap);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        size_t got = fread(data + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        free(data);
        return NULL;
    }
    data[n] = '\0';
    *size = n;
    return data;
}

bool
bench_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

char *
bench_path(const char *dir, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return NULL;
    return path;
}
