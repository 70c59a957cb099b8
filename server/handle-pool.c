/* handle-pool.c - a fixed set of library handles lent to requests, one at a time each. There are
 * as many handles as worker threads, so a request waits only if a thread runs more than one. */
#include "handle-pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct handle_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    pgpdesk_t **free_handles; /* a stack of the handles not lent out */
    size_t free_count;
    pgpdesk_t **all;
    size_t count;
};

bool
handle_pool_open(const char *db_path, const char *master_key_path, size_t count,
                 handle_pool_t **out, char **error)
{
    handle_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) {
        *error = strdup("out of memory");
        return false;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->returned, NULL);
    pool->all = calloc(count, sizeof *pool->all);
    pool->free_handles = calloc(count, sizeof *pool->free_handles);
    if (!pool->all || !pool->free_handles) {
        handle_pool_close(pool);
        *error = strdup("out of memory");
        return false;
    }
    for (; pool->count < count; pool->count++) {
        char *detail = NULL;
        pgpdesk_status_t st = pgpdesk_open(db_path, master_key_path, &pool->all[pool->count],
                                           &detail);
        if (st) {
            *error = detail ? detail : strdup(pgpdesk_status_to_string(st));
            handle_pool_close(pool);
            return false;
        }
        pool->free_handles[pool->free_count++] = pool->all[pool->count];
    }
    *out = pool;
    return true;
}

pgpdesk_t *
handle_pool_acquire(handle_pool_t *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (pool->free_count == 0)
        pthread_cond_wait(&pool->returned, &pool->lock);
    pgpdesk_t *pd = pool->free_handles[--pool->free_count];
    pthread_mutex_unlock(&pool->lock);
    return pd;
}

void
handle_pool_release(handle_pool_t *pool, pgpdesk_t *pd)
{
    pthread_mutex_lock(&pool->lock);
    pool->free_handles[pool->free_count++] = pd;
    pthread_cond_signal(&pool->returned);
    pthread_mutex_unlock(&pool->lock);
}

void
handle_pool_close(handle_pool_t *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; pool->all && i < pool->count; i++)
        pgpdesk_close(pool->all[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->returned);
    free(pool->all);
    free(pool->free_handles);
    free(pool);
}
