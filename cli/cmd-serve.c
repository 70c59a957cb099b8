/* cmd-serve.c - `pgpdesk serve`: runs the HTTP server (the JSON API and the web UI) until
 * SIGINT or SIGTERM. On the first start of a database it creates the user "admin" and prints
 * its one-time password. */
#include "cli.h"
#include "server.h"

#include <errno.h>
#include <malloc.h>
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

/* HOST:PORT, with an IPv6 host in brackets; host has room for size bytes. */
static bool
parse_listen(const char *text, char *host, size_t size, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    unsigned long long number;
    if (!colon || !parse_number(colon + 1, 0, 65535, &number))
        return false;
    const char *start = text;
    size_t length = (size_t) (colon - text);
    if (length >= 2 && start[0] == '[' && start[length - 1] == ']') {
        start++;
        length -= 2;
    }
    if (length == 0 || length >= size)
        return false;
    memcpy(host, start, length);
    host[length] = '\0';
    *port = (uint16_t) number;
    return true;
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

/* Serves as config says until SIGINT or SIGTERM. */
static int
run_server(const pgpdesk_server_config_t *config)
{
    /* Blocked before the server's threads start, so that they inherit the mask and the signals
     * reach sigwait() below; SIGPIPE from a client gone away must not end the server. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* glibc gives each worker thread a heap of its own and hands its free top back to the
     * kernel after nearly every request (madvise), which the next request pays for again in
     * page faults and, with two threads, in TLB shootdowns. A request's working set is a few
     * MiB: keep that much. (W5: sending 557 -> 836 requests/s on one thread.) */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 16 << 20);

    pgpdesk_server_t *server = NULL;
    char *error = NULL;
    int rc = CLI_OK;
    if (!pgpdesk_server_start(config, &server, &error)) {
        rc = cli_error("%s", error ? error : "the server could not start");
    } else {
        bool ipv6 = strchr(config->host, ':') != NULL;
        printf("pgpdesk: listening on %s://%s%s%s:%u/\n", config->tls_cert_pem ? "https" : "http",
               ipv6 ? "[" : "", config->host, ipv6 ? "]" : "", pgpdesk_server_port(server));
        fflush(stdout);
        int signal_number = 0;
        sigwait(&stop_signals, &signal_number);
        pgpdesk_server_stop(server);
    }
    free(error);
    return rc;
}

int
cli_cmd_serve(cli_t *cli, int argc, char **argv)
{
    const char *address = "127.0.0.1:8080", *threads = NULL, *max_body = NULL;
    const char *tls_cert = NULL, *tls_key = NULL;
    const cli_option_t options[] = {
        {"listen", .value = &address},
        {"threads", .value = &threads},
        {"tls-cert", .value = &tls_cert},
        {"tls-key", .value = &tls_key},
        {"max-body", .value = &max_body},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, options, NULL, NULL));
    char host[256];
    uint16_t port;
    long processors = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned long long thread_count = processors > 0 ? (unsigned long long) processors : 1;
    unsigned long long body_limit = PGPDESK_SERVER_MAX_BODY;
    if (!parse_listen(address, host, sizeof host, &port))
        return cli_usage_error(usage, "--listen wants HOST:PORT, not '%s'", address);
    if (threads && !parse_number(threads, 1, 1024, &thread_count))
        return cli_usage_error(usage, "--threads wants a number from 1 to 1024");
    if (max_body && !parse_number(max_body, 1, SIZE_MAX, &body_limit))
        return cli_usage_error(usage, "--max-body wants a positive number of bytes");
    if (!tls_cert != !tls_key)
        return cli_usage_error(usage, "--tls-cert and --tls-key go together");

    uint8_t *cert = NULL, *key = NULL;
    size_t size;
    int rc = CLI_OK;
    if (tls_cert && ((rc = cli_read_input(tls_cert, 1024 * 1024, &cert, &size)) ||
                     (rc = cli_read_input(tls_key, 1024 * 1024, &key, &size)))) {
        free(cert);
        return rc;
    }
    if (!(rc = cli_open(cli)))
        rc = create_first_admin(cli);
    if (!rc) {
        pgpdesk_server_config_t config = {
            .db_path = cli->db_path,
            .master_key_path = cli->master_key_path,
            .host = host,
            .port = port,
            .threads = (unsigned) thread_count,
            .tls_cert_pem = (const char *) cert,
            .tls_key_pem = (const char *) key,
            .max_body = (size_t) body_limit,
            .connection_limit = PGPDESK_SERVER_CONNECTION_LIMIT,
            .connection_timeout = PGPDESK_SERVER_CONNECTION_TIMEOUT,
            .log = log_to_stderr,
        };
        rc = run_server(&config);
    }
    free(cert);
    cli_free_secret((char *) key);
    return rc;
}
