/* spool.c - large messages: temporary files, GMime stream readers and article body files (see
 * spool.h). */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool
pd_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t) n;
    }
    return true;
}

int
pd_temp_file(pgpdesk_t *pd)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        /* A file system without O_TMPFILE: a named file, unlinked at once. */
        char *path = NULL;
        if (asprintf(&path, "%s/pgpdesk-XXXXXX", dir) >= 0) {
            fd = mkostemp(path, O_CLOEXEC);
            if (fd >= 0)
                unlink(path);
        }
        free(path);
    }
    if (fd < 0)
        pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "A temporary file could not be made in %s: %s.", dir,
                strerror(errno));
    return fd;
}

static ptrdiff_t
stream_read(void *ctx, void *buf, size_t len)
{
    /* A bounded GMime stream fails reads past its end; librnp reads again after an end. */
    if (g_mime_stream_eos(ctx))
        return 0;
    ssize_t n = g_mime_stream_read(ctx, buf, len);
    return n < 0 ? -1 : (ptrdiff_t) n;
}

static bool
stream_rewind(void *ctx)
{
    return g_mime_stream_reset(ctx) == 0;
}

openpgp_reader_t
pd_stream_reader(GMimeStream *stream)
{
    return (openpgp_reader_t){.read = stream_read, .rewind = stream_rewind, .ctx = stream};
}

static ptrdiff_t
range_read(void *ctx, void *buf, size_t len)
{
    pd_file_range_t *r = ctx;
    if (len > r->end - r->pos)
        len = (size_t) (r->end - r->pos);
    ssize_t n = len ? pread(r->fd, buf, len, (off_t) r->pos) : 0;
    if (n > 0)
        r->pos += (uint64_t) n;
    return n < 0 ? -1 : (ptrdiff_t) n;
}

static bool
range_rewind(void *ctx)
{
    pd_file_range_t *r = ctx;
    r->pos = r->start;
    return true;
}

openpgp_reader_t
pd_file_range_open(pd_file_range_t *range, int fd, uint64_t start, uint64_t end)
{
    *range = (pd_file_range_t){.fd = fd, .start = start, .end = end, .pos = start};
    return (openpgp_reader_t){.read = range_read, .rewind = range_rewind, .ctx = range};
}

bool
pd_file_range_reader(GMimeStream *stream, pd_file_range_t *range, openpgp_reader_t *out)
{
    int fd = pd_file_stream_fd(stream);
    if (fd < 0 || stream->bound_end < stream->bound_start)
        return false;
    *out = pd_file_range_open(range, fd, (uint64_t) stream->bound_start,
                              (uint64_t) stream->bound_end);
    return true;
}

bool
pd_copy_file(int from, uint64_t start, uint64_t size, int to)
{
    loff_t offset = (loff_t) start, end = (loff_t) (start + size);
    while (offset < end) {
        ssize_t n = copy_file_range(from, &offset, to, NULL, (size_t) (end - offset), 0);
        if (n > 0)
            continue;
        if (n == 0 || (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EINTR))
            return false;
        if (errno == EINTR)
            continue;
        char buf[65536]; /* a file system copy_file_range cannot serve */
        size_t want = (size_t) (end - offset) < sizeof buf ? (size_t) (end - offset) : sizeof buf;
        ssize_t got = pread(from, buf, want, offset);
        if (got <= 0 || !pd_write_all(to, buf, (size_t) got))
            return false;
        offset += got;
    }
    return true;
}

bool
pd_stream_copy(GMimeStream *from, GMimeStream *to)
{
    int in = pd_file_stream_fd(from);
    if (in >= 0 && GMIME_IS_STREAM_FS(to) && g_mime_stream_flush(to) == 0) {
        /* Both are files: the kernel copies, and to's position follows the descriptor's. */
        gint64 end = from->bound_end >= 0 ? from->bound_end
                                          : g_mime_stream_length(from) + from->bound_start;
        bool ok = end >= from->bound_start &&
                  pd_copy_file(in, (uint64_t) from->bound_start,
                               (uint64_t) (end - from->bound_start), GMIME_STREAM_FS(to)->fd);
        return ok && g_mime_stream_seek(to, 0, GMIME_STREAM_SEEK_END) >= 0;
    }
    return g_mime_stream_reset(from) == 0 && g_mime_stream_write_to_stream(from, to) >= 0;
}

/* ---------------------------------------------------------------- syncer */

/* How often the syncer makes the file durable again while it is being written. */
#define SYNCER_INTERVAL_MS 20

struct pd_syncer {
    int fd; /* dup'd: the thread's own */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
};

static void *
syncer_run(void *arg)
{
    pd_syncer_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        fdatasync(s->fd);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += SYNCER_INTERVAL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&s->lock);
        while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

pd_syncer_t *
pd_syncer_start(int fd)
{
    pd_syncer_t *s = calloc(1, sizeof *s);
    if (!s || (s->fd = dup(fd)) < 0) {
        free(s);
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&s->lock, NULL);
    if (pthread_create(&s->thread, NULL, syncer_run, s) != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

void
pd_syncer_stop(pd_syncer_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    close(s->fd);
    free(s);
}

/* ---------------------------------------------------------------- body files */

static char *
body_path(pgpdesk_t *pd, const char *name)
{
    char *path = NULL;
    if (asprintf(&path, "%s.files%s%s", pd->db_path, name ? "/" : "", name ? name : "") < 0)
        return NULL;
    return path;
}

/* The body files' directory, made (0700) when missing. path: malloc'd; caller frees. */
static pgpdesk_status_t
body_dir(pgpdesk_t *pd, char **path)
{
    if (!(*path = body_path(pd, NULL)))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    if (mkdir(*path, 0700) != 0 && errno != EEXIST) {
        pgpdesk_status_t st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "%s: %s", *path,
                                      strerror(errno));
        free(*path);
        *path = NULL;
        return st;
    }
    return PGPDESK_STATUS_SUCCESS;
}

static void
new_body_name(char name[PD_BODY_NAME_SIZE])
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(name, PD_BODY_NAME_SIZE, raw, sizeof raw);
    strcat(name, ".eml");
}

pgpdesk_status_t
body_file_create(pgpdesk_t *pd, int *fd, char name[PD_BODY_NAME_SIZE])
{
    new_body_name(name);
    char *dir = NULL, *path = body_path(pd, name);
    pgpdesk_status_t st =
        path ? body_dir(pd, &dir) : pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    if (!st && (*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "%s: %s", path, strerror(errno));
    free(dir);
    free(path);
    return st;
}

int
body_file_unnamed(pgpdesk_t *pd)
{
    char *dir = NULL;
    int fd = -1;
    if (body_dir(pd, &dir) == PGPDESK_STATUS_SUCCESS)
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    free(dir);
    return fd >= 0 ? fd : pd_temp_file(pd);
}

bool
body_file_link(pgpdesk_t *pd, int fd, char name[PD_BODY_NAME_SIZE])
{
    new_body_name(name);
    char *path = body_path(pd, name), proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    bool ok = path && linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0;
    if (ok && fdatasync(fd) != 0) {
        unlink(path);
        ok = false;
    }
    free(path);
    if (!ok)
        name[0] = '\0';
    return ok;
}

pgpdesk_status_t
body_file_keep(pgpdesk_t *pd, int fd)
{
    bool ok = fdatasync(fd) == 0;
    ok = close(fd) == 0 && ok;
    return ok ? PGPDESK_STATUS_SUCCESS
              : pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "A message file could not be written: %s.",
                        strerror(errno));
}

void
body_file_discard(pgpdesk_t *pd, int fd, const char *name)
{
    if (fd >= 0)
        close(fd);
    char *path = name && *name ? body_path(pd, name) : NULL;
    if (path)
        unlink(path);
    free(path);
}

int
body_file_open(pgpdesk_t *pd, const char *name)
{
    char *path = body_path(pd, name);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "%s: %s", path ? path : name, strerror(errno));
    free(path);
    return fd;
}

pgpdesk_status_t
body_file_load(pgpdesk_t *pd, const char *name, const uint8_t *head, size_t head_size,
               uint8_t **data, size_t *size)
{
    int fd = body_file_open(pd, name);
    if (fd < 0)
        return PGPDESK_STATUS_IO_ERROR;
    struct stat sb;
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    size_t total = 0;
    if (fstat(fd, &sb) != 0)
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "%s: %s", name, strerror(errno));
    else if (!(*data = malloc((total = head_size + (size_t) sb.st_size) + 1)))
        st = pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    else if (head_size)
        memcpy(*data, head, head_size);
    size_t got = head_size;
    while (!st && got < total) {
        ssize_t n = read(fd, *data + got, total - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "%s: cannot be read.", name);
            free(*data);
            *data = NULL;
            break;
        }
        got += (size_t) n;
    }
    if (!st) {
        (*data)[got] = '\0';
        *size = got;
    }
    close(fd);
    return st;
}
