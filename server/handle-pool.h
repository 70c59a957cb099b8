/* handle-pool.h - library handles for the worker threads. A pgpdesk_t is not thread-safe, so
 * each request borrows a handle of its own for as long as it runs. */
#ifndef PGPDESK_SERVER_HANDLE_POOL_H
#define PGPDESK_SERVER_HANDLE_POOL_H

#include "pgpdesk.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct handle_pool handle_pool_t;

/* Opens count handles on the database (and master key; NULL: <db>.key). On failure returns
 * false and sets *error to a message the caller frees. out: close it with handle_pool_close(). */
bool handle_pool_open(const char *db_path, const char *master_key_path, size_t count,
                      handle_pool_t **out, char **error);

/* A free handle, waiting for one when all are lent out. Give it back with handle_pool_release(). */
pgpdesk_t *handle_pool_acquire(handle_pool_t *pool);
void handle_pool_release(handle_pool_t *pool, pgpdesk_t *pd);

/* Closes every handle; none may be lent out. Accepts NULL. */
void handle_pool_close(handle_pool_t *pool);

#endif
