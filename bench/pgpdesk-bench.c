/* pgpdesk-bench - measures one workload of issue 5 in this process and prints its result as
 * JSON lines. bench/run.py (`make bench`) runs every workload, each in a process of its own so
 * that peak RSS is per workload, next to the gpg and sq baselines, and writes the tables.
 *
 *   pgpdesk-bench WORKLOAD --keys DIR --work DIR [--algo A] [--seconds S] [--warmup S]
 *                 [--min-ops N] [--max-ops N] [--size-mb N] [--keys-in-store N] */
#include "bench.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct workload {
    const char *name;
    int (*run)(const bench_args_t *args);
    const char *what;
} workload_t;

static const workload_t workloads[] = {
    {"w1", bench_w1_outgoing, "W1: 4 KB draft -> PGP/MIME signed+encrypted, end to end"},
    {"w1-floor", bench_w1_floor, "W1 floor: librnp sign+encrypt of the same payload, key unlocked"},
    {"w1-floor-locked", bench_w1_floor_locked, "W1 floor with an S2K per message (locked key)"},
    {"w2", bench_w2_incoming, "W2: decrypt+verify of a W1-style message, end to end"},
    {"w2-floor", bench_w2_floor, "W2 floor: librnp decrypt+verify of the same bytes, key unlocked"},
    {"w2-floor-locked", bench_w2_floor_locked, "W2 floor with an S2K per message (locked key)"},
    {"w3-compose", bench_w3_compose, "W3 set-up: compose the draft with a --size-mb attachment"},
    {"w3-seal", bench_w3_seal, "W3: seal the large draft"},
    {"w3-open", bench_w3_open, "W3: open the sealed large message"},
    {"w3-floor-seal", bench_w3_floor_seal, "W3 floor: librnp encrypt+sign of the draft in memory"},
    {"w3-floor-open", bench_w3_floor_open, "W3 floor: librnp decrypt+verify in memory"},
    {"w3-floor-seal-stream", bench_w3_floor_seal_stream,
     "W3 floor: librnp encrypt+sign streaming, draft file to a file"},
    {"w3-floor-open-stream", bench_w3_floor_open_stream,
     "W3 floor: librnp decrypt+verify streaming, armored part of a file to a file"},
    {"w4", bench_w4_keystore, "W4: lookups and import with --keys-in-store keys"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: pgpdesk-bench WORKLOAD --keys DIR --work DIR [--algo ed25519|rsa3072|rsa4096]\n"
                 "       [--seconds S] [--warmup S] [--min-ops N] [--max-ops N] [--size-mb N]\n"
                 "       [--keys-in-store N]\n\nworkloads (normally run by bench/run.py):\n");
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        fprintf(out, "  %-16s %s\n", workloads[i].name, workloads[i].what);
}

int
main(int argc, char **argv)
{
    bench_args_t args = {.algo = "ed25519", .warmup_s = 1.0, .seconds = 5.0, .min_ops = 5,
                         .max_ops = 1000000, .size_mb = 10, .keys = 100000};
    enum { OPT_KEYS = 256, OPT_WORK, OPT_ALGO, OPT_SECONDS, OPT_WARMUP, OPT_MIN, OPT_MAX,
           OPT_SIZE, OPT_STORE };
    static const struct option options[] = {
        {"keys", required_argument, NULL, OPT_KEYS},
        {"work", required_argument, NULL, OPT_WORK},
        {"algo", required_argument, NULL, OPT_ALGO},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"min-ops", required_argument, NULL, OPT_MIN},
        {"max-ops", required_argument, NULL, OPT_MAX},
        {"size-mb", required_argument, NULL, OPT_SIZE},
        {"keys-in-store", required_argument, NULL, OPT_STORE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case OPT_KEYS: args.keys_dir = optarg; break;
        case OPT_WORK: args.work_dir = optarg; break;
        case OPT_ALGO: args.algo = optarg; break;
        case OPT_SECONDS: args.seconds = strtod(optarg, NULL); break;
        case OPT_WARMUP: args.warmup_s = strtod(optarg, NULL); break;
        case OPT_MIN: args.min_ops = strtoul(optarg, NULL, 10); break;
        case OPT_MAX: args.max_ops = strtoul(optarg, NULL, 10); break;
        case OPT_SIZE: args.size_mb = strtoul(optarg, NULL, 10); break;
        case OPT_STORE: args.keys = strtoul(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || !args.keys_dir || !args.work_dir) {
        usage(stderr);
        return 2;
    }
    args.workload = argv[optind];
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        if (strcmp(workloads[i].name, args.workload) == 0)
            return workloads[i].run(&args);
    fprintf(stderr, "pgpdesk-bench: unknown workload %s\n", args.workload);
    usage(stderr);
    return 2;
}
