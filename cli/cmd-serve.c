/* cmd-serve.c - `pgpdesk serve`: runs the HTTP server (the JSON API and the web UI) until
 * SIGINT or SIGTERM. On the first start of a database it creates the user "admin" and prints
 * its one-time password. */
#include "cli.h"
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: pgpdesk serve [--listen HOST:PORT] [--threads N] [--tls-cert FILE --tls-key FILE]\n"
    "                     [--max-body BYTES]\n"
    "\n"
    "Serves the JSON API (/api/v1/...) and the web UI (/) until SIGINT or SIGTERM. Prints\n"
    "\"pgpdesk: listening on URL\" once connections are accepted. The first start of a database\n"
    "creates the user \"admin\" and prints its password, this once.\n"
    "\n"
    "  --listen HOST:PORT  where to listen (default 127.0.0.1:8080; port 0: any free port;\n"
    "                      IPv6 as [::1]:8080)\n"
    "  --threads N         worker threads (default: the number of processors)\n"
    "  --tls-cert FILE     serve HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE      ... and its PEM private key\n"
    "  --max-body BYTES    largest request body accepted (default 26214400, 25 MiB)\n"
    "\n"
    "Example:\n"
    "  pgpdesk --db /var/lib/pgpdesk/pgpdesk.db serve --listen 0.0.0.0:8443 \\\n"
    "      --tls-cert /etc/pgpdesk/cert.pem --tls-key /etc/pgpdesk/key.pem\n";

typedef struct serve_args {
    char host[256];
    uint16_t port;
    unsigned threads;
    size_t max_body;
    const char *tls_cert, *tls_key;
} serve_args_t;

enum { OPT_LISTEN = 0x100, OPT_THREADS, OPT_TLS_CERT, OPT_TLS_KEY, OPT_MAX_BODY, OPT_HELP };

/* A decimal number in [min, max]. */
static bool
parse_number(const char *text, unsigned long long min, unsigned long long max,
             unsigned long long *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || n < min || n > max)
        return false;
    *value = n;
    return true;
}

/* HOST:PORT, with an IPv6 host in brackets. */
static bool
parse_listen(const char *text, serve_args_t *args)
{
    const char *colon = strrchr(text, ':');
    unsigned long long port;
    if (!colon || !parse_number(colon + 1, 0, 65535, &port))
        return false;
    const char *host = text;
    size_t length = (size_t) (colon - text);
    if (length >= 2 && host[0] == '[' && host[length - 1] == ']') {
        host++;
        length -= 2;
    }
    if (length == 0 || length >= sizeof args->host)
        return false;
    memcpy(args->host, host, length);
    args->host[length] = '\0';
    args->port = (uint16_t) port;
    return true;
}

/* Returns CLI_OK to go on, CLI_USAGE after a usage error, -1 after printing help. */
static int
parse_args(int argc, char **argv, serve_args_t *args)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    memset(args, 0, sizeof *args);
    strcpy(args->host, "127.0.0.1");
    args->port = 8080;
    args->threads = processors > 0 ? (unsigned) processors : 1;
    args->max_body = PGPDESK_SERVER_MAX_BODY;
    optind = 0;
    opterr = 0;
    int c;
    unsigned long long n;
    while ((c = getopt_long(argc, argv, "-", options, NULL)) != -1) {
        switch (c) {
        case OPT_HELP:
            return cli_help(usage) - 1;
        case OPT_LISTEN:
            if (!parse_listen(optarg, args))
                return cli_usage_error(usage, "--listen wants HOST:PORT, not '%s'", optarg);
            break;
        case OPT_THREADS:
            if (!parse_number(optarg, 1, 1024, &n))
                return cli_usage_error(usage, "--threads wants a number from 1 to 1024");
            args->threads = (unsigned) n;
            break;
        case OPT_MAX_BODY:
            if (!parse_number(optarg, 1, SIZE_MAX, &n))
                return cli_usage_error(usage, "--max-body wants a positive number of bytes");
            args->max_body = (size_t) n;
            break;
        case OPT_TLS_CERT: args->tls_cert = optarg; break;
        case OPT_TLS_KEY: args->tls_key = optarg; break;
        case 1: return cli_usage_error(usage, "unexpected argument '%s'", optarg);
        default:
            return cli_usage_error(usage, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!args->tls_cert != !args->tls_key)
        return cli_usage_error(usage, "--tls-cert and --tls-key go together");
    return CLI_OK;
}

/* With no user yet, creates "admin" with a random password and prints it, this once. */
static int
create_first_admin(cli_t *cli)
{
    size_t users = 0;
    pgpdesk_status_t st = pgpdesk_user_count(cli->pd, &users);
    if (st)
        return cli_fail(cli, st);
    if (users > 0)
        return CLI_OK;
    char *password = cli_random_password();
    if (!password)
        return cli_error("out of memory");
    st = pgpdesk_user_create(cli->pd, "admin", password, PGPDESK_ROLE_ADMIN, NULL);
    if (!st) {
        printf("pgpdesk: admin login: admin  password: %s\n", password);
        fflush(stdout);
    }
    cli_free_secret(password);
    return st ? cli_fail(cli, st) : CLI_OK;
}

static void
log_to_stderr(void *context, const char *message)
{
    fprintf(cli_err, "pgpdesk: %s\n", message);
}

int
cli_cmd_serve(cli_t *cli, int argc, char **argv)
{
    serve_args_t args;
    int rc = parse_args(argc, argv, &args);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    uint8_t *cert = NULL, *key = NULL;
    size_t size;
    if (args.tls_cert && ((rc = cli_read_input(args.tls_cert, 1024 * 1024, &cert, &size)) ||
                          (rc = cli_read_input(args.tls_key, 1024 * 1024, &key, &size)))) {
        free(cert);
        return rc;
    }
    if (!(rc = cli_open(cli)))
        rc = create_first_admin(cli);
    if (rc) {
        free(cert);
        cli_free_secret((char *) key);
        return rc;
    }

    /* Blocked before the server's threads start, so that they inherit the mask and the signals
     * reach sigwait() below; SIGPIPE from a client gone away must not end the server. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    pgpdesk_server_config_t config = {
        .db_path = cli->db_path,
        .master_key_path = cli->master_key_path,
        .host = args.host,
        .port = args.port,
        .threads = args.threads,
        .tls_cert_pem = (const char *) cert,
        .tls_key_pem = (const char *) key,
        .max_body = args.max_body,
        .connection_limit = PGPDESK_SERVER_CONNECTION_LIMIT,
        .connection_timeout = PGPDESK_SERVER_CONNECTION_TIMEOUT,
        .log = log_to_stderr,
    };
    pgpdesk_server_t *server = NULL;
    char *error = NULL;
    if (!pgpdesk_server_start(&config, &server, &error)) {
        rc = cli_error("%s", error ? error : "the server could not start");
    } else {
        bool ipv6 = strchr(args.host, ':') != NULL;
        printf("pgpdesk: listening on %s://%s%s%s:%u/\n", cert ? "https" : "http",
               ipv6 ? "[" : "", args.host, ipv6 ? "]" : "", pgpdesk_server_port(server));
        fflush(stdout);
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        pgpdesk_server_stop(server);
    }
    free(error);
    free(cert);
    cli_free_secret((char *) key);
    return rc;
}
