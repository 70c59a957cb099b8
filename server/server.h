/* server.h - the pgpdesk HTTP server (libpgpdesk-server): the JSON API and the embedded web UI
 * over libpgpdesk. The one header of the server the CLI's `serve` command includes.
 *
 * Like the library, the server never prints and never exits: failures to start come back as a
 * message, and what goes wrong while serving goes to the log callback of the configuration. */
#ifndef PGPDESK_SERVER_H
#define PGPDESK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGPDESK_SERVER_MAX_BODY (25u * 1024u * 1024u) /* bytes of one request body */
#define PGPDESK_SERVER_CONNECTION_LIMIT 256u
#define PGPDESK_SERVER_CONNECTION_TIMEOUT 30u /* seconds a connection may stay idle */
#define PGPDESK_SERVER_SESSION_TTL (12 * 3600) /* seconds a browser session lasts */

typedef struct pgpdesk_server pgpdesk_server_t;

/* Every string must stay valid until pgpdesk_server_stop(). */
typedef struct pgpdesk_server_config {
    const char *db_path;
    const char *master_key_path; /* NULL: <db_path>.key */
    const char *host;            /* a numeric address or a name to listen on */
    uint16_t port;               /* 0: any free port (pgpdesk_server_port() tells which) */
    unsigned threads;            /* worker threads, each with a library handle of its own */
    const char *tls_cert_pem;    /* NULL for plain HTTP, else the PEM certificate (chain) */
    const char *tls_key_pem;     /* with tls_cert_pem: its PEM private key */
    size_t max_body;             /* larger request bodies are refused with 413 */
    unsigned connection_limit;
    unsigned connection_timeout; /* seconds */
    /* Called (from any thread) with what goes wrong while serving; may be NULL. */
    void (*log)(void *log_context, const char *message);
    void *log_context;
} pgpdesk_server_config_t;

/* Opens a library handle per worker thread and starts serving. On failure returns false and
 * sets *error to a message the caller frees with free().
 * out: the running server; the caller stops it with pgpdesk_server_stop(). */
bool pgpdesk_server_start(const pgpdesk_server_config_t *config, pgpdesk_server_t **out,
                          char **error);

/* The port the server listens on (the one chosen when the configuration said 0). */
uint16_t pgpdesk_server_port(const pgpdesk_server_t *server);

/* Stops accepting, finishes the requests in progress, closes the handles. Accepts NULL. */
void pgpdesk_server_stop(pgpdesk_server_t *server);

#endif
