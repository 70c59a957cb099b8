/* pgpdesk.c - the handle: opening the store and its master key, and closing both.
 *
 * The master key lives in a file beside the database (mode 0600), never in it. The database
 * holds a check value sealed under it, so a missing or foreign master key is refused before
 * anything is read or written with it. */
#include "crypto.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MASTER_CHECK_NAME "master_key_check"
#define MASTER_CHECK_CONTEXT "pgpdesk master key check"

/* Reads exactly SEAL_KEY_SIZE bytes. ENOENT when the file does not exist. */
static int
read_master_key(const char *path, uint8_t *key)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    uint8_t extra;
    ssize_t n = read(fd, key, SEAL_KEY_SIZE);
    ssize_t more = n == SEAL_KEY_SIZE ? read(fd, &extra, 1) : 0;
    close(fd);
    return n == SEAL_KEY_SIZE && more == 0 ? 0 : EINVAL;
}

static int
create_master_key(const char *path, uint8_t *key)
{
    seal_keygen(key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    bool ok = write(fd, key, SEAL_KEY_SIZE) == SEAL_KEY_SIZE && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        return EIO;
    }
    return 0;
}

static pgpdesk_status_t
load_master_key(pgpdesk_t *pd, const char *path)
{
    char *check = NULL;
    pgpdesk_status_t st = pd->store->ops->meta_get(pd->store, MASTER_CHECK_NAME, &check);
    if (st && st != PGPDESK_STATUS_KEY_NOT_FOUND)
        return pd_fail(pd, st, "%s", pd->store->errmsg);
    bool sealed_before = st == PGPDESK_STATUS_SUCCESS;

    int err = read_master_key(path, pd->master_key);
    if (err == ENOENT && !sealed_before)
        err = create_master_key(path, pd->master_key);
    if (err == ENOENT) {
        free(check);
        return pd_fail(pd, PGPDESK_STATUS_MASTER_KEY_MISSING,
                       "The master key file %s is missing; sealed secrets cannot be opened.",
                       path);
    }
    if (err) {
        free(check);
        return pd_fail(pd, err == EINVAL ? PGPDESK_STATUS_MASTER_KEY_MISMATCH
                                         : PGPDESK_STATUS_IO_ERROR,
                       "The master key file %s cannot be used: %s.", path,
                       err == EINVAL ? "it is not 32 bytes long" : strerror(err));
    }

    if (sealed_before) {
        size_t blob_size = strlen(check) / 2, plain_size = 0;
        uint8_t *blob = malloc(blob_size + 1), *plain = NULL;
        if (!blob || sodium_hex2bin(blob, blob_size, check, strlen(check), NULL, &blob_size,
                                    NULL) != 0)
            st = PGPDESK_STATUS_DATABASE_ERROR;
        else
            st = seal_open(pd->master_key, MASTER_CHECK_CONTEXT, blob, blob_size, &plain,
                           &plain_size);
        seal_free(plain, plain_size);
        free(blob);
        free(check);
        if (st == PGPDESK_STATUS_MASTER_KEY_MISMATCH)
            return pd_fail(pd, st,
                           "The master key %s does not belong to this database; sealed secrets "
                           "cannot be opened.", path);
        return st ? pd_fail(pd, st, NULL) : PGPDESK_STATUS_SUCCESS;
    }

    uint8_t *blob = NULL;
    size_t blob_size = 0;
    static const uint8_t marker[] = "pgpdesk";
    st = seal_close(pd->master_key, MASTER_CHECK_CONTEXT, marker, sizeof marker, &blob, &blob_size);
    if (st)
        return pd_fail(pd, st, NULL);
    char *hex = malloc(blob_size * 2 + 1);
    if (!hex) {
        free(blob);
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    sodium_bin2hex(hex, blob_size * 2 + 1, blob, blob_size);
    st = pd->store->ops->meta_set(pd->store, MASTER_CHECK_NAME, hex);
    free(hex);
    free(blob);
    return st ? pd_fail(pd, st, "%s", pd->store->errmsg) : PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_open(const char *db_path, const char *master_key_path, pgpdesk_t **out, char **error)
{
    if (error)
        *error = NULL;
    if (!db_path || !out)
        return PGPDESK_STATUS_INVALID_ARGUMENT;
    if (!seal_init())
        return PGPDESK_STATUS_CRYPTO_ERROR;
    openpgp_init();
    pgpdesk_t *pd = calloc(1, sizeof *pd);
    if (!pd)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    pd->master_key = sodium_malloc(SEAL_KEY_SIZE);
    pd->db_path = strdup(db_path);
    pd->limits = (pgpdesk_limits_t){
        .decrypt_cap = 128u << 20,
        .time_limit_ms = 10000,
        .max_message_size = 128u << 20,
        .max_mime_depth = 16,
        .max_mime_parts = 1000,
        .log_retention_days = 30,
    };
    char *default_path = NULL;
    if (!master_key_path && asprintf(&default_path, "%s.key", db_path) < 0)
        default_path = NULL;
    pgpdesk_status_t st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (pd->master_key && pd->db_path && (master_key_path || default_path)) {
        char detail[300] = "";
        st = store_sqlite_open(db_path, &pd->store, detail, sizeof detail);
        if (!st)
            st = load_master_key(pd, master_key_path ? master_key_path : default_path);
        else
            pd_fail(pd, st, "%s", detail);
    }
    free(default_path);
    if (st) {
        if (error)
            *error = strdup(pd->errmsg[0] ? pd->errmsg : pgpdesk_status_to_string(st));
        pgpdesk_close(pd);
        return st;
    }
    *out = pd;
    return PGPDESK_STATUS_SUCCESS;
}

void
pgpdesk_close(pgpdesk_t *pd)
{
    if (!pd)
        return;
    keystore_cache_destroy(pd);
    if (pd->store)
        pd->store->ops->close(pd->store);
    sodium_free(pd->master_key);
    free(pd->db_path);
    free(pd);
}

const char *
pgpdesk_errmsg(const pgpdesk_t *pd)
{
    return pd && pd->errmsg[0] ? pd->errmsg : "";
}

void
pgpdesk_get_limits(const pgpdesk_t *pd, pgpdesk_limits_t *limits)
{
    *limits = pd->limits;
}

void
pgpdesk_set_limits(pgpdesk_t *pd, const pgpdesk_limits_t *limits)
{
    pd->limits = *limits;
}
