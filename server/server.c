/* server.c - the daemon: the listening socket, libmicrohttpd with a pool of worker threads, the
 * limits (connections, idle time, body size), reading a request body and queuing the reply with
 * the headers every response carries. What a request means is decided in routes.c. */
#include "server.h"

#include "api.h"
#include "handle-pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pgpdesk_server {
    pgpdesk_server_config_t config;
    struct MHD_Daemon *daemon;
    handle_pool_t *handles;
    uint16_t port;
};

/* A request while its body arrives. */
typedef struct pending_request {
    uint8_t *body;
    size_t size, capacity;
    bool too_large;
} pending_request_t;

static const char content_security_policy[] =
    "default-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

static void
server_log(const pgpdesk_server_t *server, const char *fmt, ...)
{
    if (!server->config.log)
        return;
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    server->config.log(server->config.log_context, message);
}

static void
log_from_microhttpd(void *context, const char *fmt, va_list ap)
{
    const pgpdesk_server_t *server = context;
    if (!server->config.log)
        return;
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    message[strcspn(message, "\n")] = '\0';
    server->config.log(server->config.log_context, message);
}

static enum MHD_Result
queue_reply(struct MHD_Connection *connection, api_request_t *req)
{
    static const char out_of_memory[] =
        "{\"error\":\"out_of_memory\",\"error_human\":\"Out of memory.\"}";
    if (!req->response) {
        req->status = 500;
        req->response = MHD_create_response_from_buffer(sizeof out_of_memory - 1,
                                                        (void *) out_of_memory,
                                                        MHD_RESPMEM_PERSISTENT);
        if (!req->response)
            return MHD_NO;
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8");
    }
    struct MHD_Response *r = req->response;
    MHD_add_response_header(r, "Content-Security-Policy", content_security_policy);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    /* API answers are per user and may hold secrets: no cache keeps them. */
    if (!MHD_get_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response(connection, req->status, r);
    MHD_destroy_response(r);
    req->response = NULL;
    return result;
}

/* Replies right away, without a library handle (limits, failures before routing). */
static enum MHD_Result
queue_error(struct MHD_Connection *connection, unsigned status, const char *code,
            const char *human)
{
    api_request_t req = {.connection = connection};
    reply_error(&req, status, code, human);
    return queue_reply(connection, &req);
}

static const char body_too_large[] = "The request body is larger than the server accepts.";

static bool
append_body(pending_request_t *pending, const char *data, size_t size, size_t max)
{
    if (pending->too_large || size > max - pending->size) {
        pending->too_large = true;
        return true;
    }
    if (pending->size + size + 1 > pending->capacity) {
        size_t capacity = pending->capacity ? pending->capacity : 16 * 1024;
        while (capacity < pending->size + size + 1)
            capacity *= 2;
        /* Not realloc(): the old buffer may hold a passphrase and is wiped before it goes. */
        uint8_t *grown = malloc(capacity);
        if (!grown)
            return false;
        if (pending->body) {
            memcpy(grown, pending->body, pending->size);
            explicit_bzero(pending->body, pending->size);
            free(pending->body);
        }
        pending->body = grown;
        pending->capacity = capacity;
    }
    memcpy(pending->body + pending->size, data, size);
    pending->size += size;
    pending->body[pending->size] = '\0';
    return true;
}

/* libmicrohttpd's access handler: called once for the headers, once per chunk of the body,
 * then once more to reply. */
static enum MHD_Result
on_request(void *context, struct MHD_Connection *connection, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **request_state)
{
    pgpdesk_server_t *server = context;
    pending_request_t *pending = *request_state;
    if (!pending) {
        const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        /* Refused before the body is read: a client sending "Expect: 100-continue" never
         * sends it. */
        if (length && strtoull(length, NULL, 10) > server->config.max_body)
            return queue_error(connection, 413, "body_too_large", body_too_large);
        if (!(pending = calloc(1, sizeof *pending)))
            return MHD_NO;
        *request_state = pending;
        return MHD_YES;
    }
    if (*upload_data_size) {
        bool stored = append_body(pending, upload_data, *upload_data_size,
                                  server->config.max_body);
        *upload_data_size = 0;
        return stored ? MHD_YES : MHD_NO;
    }
    if (pending->too_large)
        return queue_error(connection, 413, "body_too_large", body_too_large);

    api_request_t req = {
        .connection = connection,
        .method = method,
        .path = url,
        .body = pending->body ? pending->body : (const uint8_t *) "",
        .body_size = pending->size,
        .tls = server->config.tls_cert_pem != NULL,
    };
    req.pd = handle_pool_acquire(server->handles);
    routes_dispatch(&req);
    if (req.status >= 500)
        server_log(server, "%s %s: %u %s", method, url, req.status, pgpdesk_errmsg(req.pd));
    handle_pool_release(server->handles, req.pd);
    pgpdesk_user_destroy(req.user);
    return queue_reply(connection, &req);
}

/* Frees what a request kept while its body arrived; bodies may hold passphrases. */
static void
on_request_completed(void *context, struct MHD_Connection *connection, void **request_state,
                     enum MHD_RequestTerminationCode code)
{
    pending_request_t *pending = *request_state;
    if (!pending)
        return;
    if (pending->body)
        explicit_bzero(pending->body, pending->size);
    free(pending->body);
    free(pending);
    *request_state = NULL;
}

/* A listening socket on host:port. On failure returns -1 and sets *error (caller frees). */
static int
listen_on(const char *host, uint16_t port, bool *ipv6, char **error)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *addresses = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &addresses);
    if (rc) {
        if (asprintf(error, "%s: %s", host, gai_strerror(rc)) < 0)
            *error = NULL;
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *a = addresses; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *ipv6 = a->ai_family == AF_INET6;
    }
    freeaddrinfo(addresses);
    if (fd < 0 && asprintf(error, "cannot listen on %s:%u: %s", host, port, strerror(err)) < 0)
        *error = NULL;
    return fd;
}

static uint16_t
bound_port(int fd)
{
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *) &address, &length) != 0)
        return 0;
    if (address.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *) &address)->sin6_port);
    return ntohs(((struct sockaddr_in *) &address)->sin_port);
}

bool
pgpdesk_server_start(const pgpdesk_server_config_t *config, pgpdesk_server_t **out, char **error)
{
    *error = NULL;
    if ((config->tls_cert_pem != NULL) != (config->tls_key_pem != NULL)) {
        *error = strdup("TLS needs both a certificate and its key");
        return false;
    }
    if (config->tls_cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        *error = strdup("this libmicrohttpd was built without TLS support");
        return false;
    }
    pgpdesk_server_t *server = calloc(1, sizeof *server);
    if (!server) {
        *error = strdup("out of memory");
        return false;
    }
    server->config = *config;
    unsigned threads = config->threads ? config->threads : 1;
    if (!handle_pool_open(config->db_path, config->master_key_path, threads, &server->handles,
                          error)) {
        free(server);
        return false;
    }
    bool ipv6 = false;
    int fd = listen_on(config->host, config->port, &ipv6, error);
    if (fd < 0) {
        pgpdesk_server_stop(server);
        return false;
    }
    server->port = bound_port(fd);

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    if (config->tls_cert_pem)
        flags |= MHD_USE_TLS;
    if (config->log)
        flags |= MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *) config->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *) config->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server,
        MHD_OPTION_EXTERNAL_LOGGER, log_from_microhttpd, server, /* first, to catch all */
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, config->connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, config->connection_timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_request_completed, server,
        MHD_OPTION_ARRAY, config->tls_cert_pem ? tls_options : tls_options + 2,
        MHD_OPTION_END);
    if (!server->daemon) {
        close(fd);
        *error = strdup(config->tls_cert_pem
                            ? "the HTTP server could not start (is the TLS certificate and key "
                              "PEM, and do they match?)"
                            : "the HTTP server could not start");
        pgpdesk_server_stop(server);
        return false;
    }
    *out = server;
    return true;
}

uint16_t
pgpdesk_server_port(const pgpdesk_server_t *server)
{
    return server->port;
}

void
pgpdesk_server_stop(pgpdesk_server_t *server)
{
    if (!server)
        return;
    if (server->daemon)
        MHD_stop_daemon(server->daemon);
    handle_pool_close(server->handles);
    free(server);
}
