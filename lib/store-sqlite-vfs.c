/* store-sqlite-vfs.c - SQLite's own file layer ("unix") with one change: a transaction's WAL
 * frames reach the kernel in one write instead of two per page.
 *
 * SQLite writes each WAL frame as two system calls, its 24-byte header and then its page, and
 * a message's commit has a dozen frames: on a virtual machine, where a system call costs about
 * a microsecond before any work, that was a tenth of a message's time. Here the frames of a
 * transaction gather in a buffer and go out together when the commit frame is complete, which
 * is before SQLite publishes the commit in the WAL index, so no reader (of this process or
 * another) can look for a frame that is not in the file yet. Anything else that touches the
 * WAL file (a read, a sync, a size, a truncate, a close) writes the buffer out first. The
 * database file and every other file pass straight through. */
#include "store-sqlite.h"

#include <stdlib.h>
#include <string.h>

/* A WAL frame header (SQLite's file format document, "WAL File Format"): the page number,
 * then the database size in pages, which is non-zero only in the frame that commits. */
#define WAL_FRAME_HEADER_SIZE 24
/* Beyond this the frames of one transaction go out in more than one write: SQLite's unix
 * layer writes less than 128 KiB per call (it masks the length with 0x1ffff). */
#define WAL_BUFFER_MAX (127 * 1024)

typedef struct vfs_file {
    sqlite3_file base;
    sqlite3_file *real; /* the unix file, in the same allocation, just after this struct */
    bool wal;
    bool commit_page_next; /* the last write was a commit frame's header */
    unsigned char *buffer;
    size_t used;
    sqlite3_int64 offset; /* where buffer[0] goes in the file */
} vfs_file_t;

/* The real file lives right after our struct, aligned as SQLite aligns file objects. */
#define REAL_FILE_OFFSET ((sizeof(vfs_file_t) + 7) & ~(size_t) 7)

static sqlite3_vfs *real_vfs;

static int
flush(vfs_file_t *f)
{
    if (f->used == 0)
        return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buffer, (int) f->used, f->offset);
    f->used = 0;
    return rc;
}

/* Room for n more bytes in f's buffer (allocated on first use)? */
static bool
has_room(vfs_file_t *f, size_t n)
{
    if (!f->buffer && !(f->buffer = malloc(WAL_BUFFER_MAX)))
        return false;
    return f->used + n <= WAL_BUFFER_MAX;
}

static int
buffered_write(vfs_file_t *f, const void *data, int amount, sqlite3_int64 offset)
{
    size_t n = (size_t) amount;
    const unsigned char *p = data;
    bool commit_page = f->commit_page_next;
    f->commit_page_next = n == WAL_FRAME_HEADER_SIZE && (p[4] | p[5] | p[6] | p[7]) != 0;
    int rc = SQLITE_OK;
    if (f->used && offset != f->offset + (sqlite3_int64) f->used)
        rc = flush(f);
    if (rc == SQLITE_OK && !has_room(f, n) && (rc = flush(f)) == SQLITE_OK && !has_room(f, n))
        return f->real->pMethods->xWrite(f->real, data, amount, offset); /* out of memory */
    if (rc != SQLITE_OK)
        return rc;
    if (f->used == 0)
        f->offset = offset;
    memcpy(f->buffer + f->used, data, n);
    f->used += n;
    return commit_page ? flush(f) : SQLITE_OK;
}

/* ---------------------------------------------------------------- io methods */

#define FILE_OF(file) ((vfs_file_t *) (file))
#define REAL(file) (FILE_OF(file)->real)
/* Writes out what a WAL file holds back before an operation that may look at the file. */
#define FLUSH_OR_RETURN(file)                                                                 \
    do {                                                                                      \
        int flush_rc = flush(FILE_OF(file));                                                  \
        if (flush_rc != SQLITE_OK)                                                            \
            return flush_rc;                                                                  \
    } while (0)

static int
vfs_close(sqlite3_file *file)
{
    vfs_file_t *f = FILE_OF(file);
    int rc = flush(f);
    int close_rc = f->real->pMethods->xClose(f->real);
    free(f->buffer);
    f->buffer = NULL;
    return rc != SQLITE_OK ? rc : close_rc;
}

static int
vfs_read(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset)
{
    FLUSH_OR_RETURN(file);
    return REAL(file)->pMethods->xRead(REAL(file), data, amount, offset);
}

static int
vfs_write(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset)
{
    if (FILE_OF(file)->wal)
        return buffered_write(FILE_OF(file), data, amount, offset);
    return REAL(file)->pMethods->xWrite(REAL(file), data, amount, offset);
}

static int
vfs_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    FLUSH_OR_RETURN(file);
    return REAL(file)->pMethods->xTruncate(REAL(file), size);
}

static int
vfs_sync(sqlite3_file *file, int flags)
{
    FLUSH_OR_RETURN(file);
    return REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int
vfs_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    FLUSH_OR_RETURN(file);
    return REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int
vfs_lock(sqlite3_file *file, int level)
{
    return REAL(file)->pMethods->xLock(REAL(file), level);
}

static int
vfs_unlock(sqlite3_file *file, int level)
{
    return REAL(file)->pMethods->xUnlock(REAL(file), level);
}

static int
vfs_check_reserved_lock(sqlite3_file *file, int *out)
{
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int
vfs_file_control(sqlite3_file *file, int op, void *arg)
{
    FLUSH_OR_RETURN(file);
    return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int
vfs_sector_size(sqlite3_file *file)
{
    return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int
vfs_device_characteristics(sqlite3_file *file)
{
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int
vfs_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return REAL(file)->pMethods->xShmMap(REAL(file), region, size, extend, out);
}

static int
vfs_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void
vfs_shm_barrier(sqlite3_file *file)
{
    REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int
vfs_shm_unmap(sqlite3_file *file, int delete_flag)
{
    return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}

static int
vfs_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out)
{
    return REAL(file)->pMethods->xFetch(REAL(file), offset, amount, out);
}

static int
vfs_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *page)
{
    return REAL(file)->pMethods->xUnfetch(REAL(file), offset, page);
}

static const sqlite3_io_methods io_methods = {
    .iVersion = 3,
    .xClose = vfs_close,
    .xRead = vfs_read,
    .xWrite = vfs_write,
    .xTruncate = vfs_truncate,
    .xSync = vfs_sync,
    .xFileSize = vfs_file_size,
    .xLock = vfs_lock,
    .xUnlock = vfs_unlock,
    .xCheckReservedLock = vfs_check_reserved_lock,
    .xFileControl = vfs_file_control,
    .xSectorSize = vfs_sector_size,
    .xDeviceCharacteristics = vfs_device_characteristics,
    .xShmMap = vfs_shm_map,
    .xShmLock = vfs_shm_lock,
    .xShmBarrier = vfs_shm_barrier,
    .xShmUnmap = vfs_shm_unmap,
    .xFetch = vfs_fetch,
    .xUnfetch = vfs_unfetch,
};

/* ---------------------------------------------------------------- the vfs */

static int
vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags)
{
    vfs_file_t *f = FILE_OF(file);
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *) ((char *) file + REAL_FILE_OFFSET);
    f->wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    /* SQLite closes a file whose open failed only if it has methods: so do we. */
    file->pMethods = f->real->pMethods ? &io_methods : NULL;
    return rc;
}

static int
vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int
vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out)
{
    return real_vfs->xFullPathname(real_vfs, name, size, out);
}

static void *
vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
    return real_vfs->xDlOpen(real_vfs, name);
}

static void
vfs_dl_error(sqlite3_vfs *vfs, int size, char *out)
{
    real_vfs->xDlError(real_vfs, size, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void)
{
    return real_vfs->xDlSym(real_vfs, handle, symbol);
}

static void
vfs_dl_close(sqlite3_vfs *vfs, void *handle)
{
    real_vfs->xDlClose(real_vfs, handle);
}

static int
vfs_randomness(sqlite3_vfs *vfs, int size, char *out)
{
    return real_vfs->xRandomness(real_vfs, size, out);
}

static int
vfs_sleep(sqlite3_vfs *vfs, int microseconds)
{
    return real_vfs->xSleep(real_vfs, microseconds);
}

static int
vfs_current_time(sqlite3_vfs *vfs, double *out)
{
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int
vfs_get_last_error(sqlite3_vfs *vfs, int size, char *out)
{
    return real_vfs->xGetLastError(real_vfs, size, out);
}

static int
vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static sqlite3_vfs vfs = {
    .iVersion = 2,
    .mxPathname = 0, /* set from the real vfs */
    .zName = STORE_SQLITE_VFS,
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_full_pathname,
    .xDlOpen = vfs_dl_open,
    .xDlError = vfs_dl_error,
    .xDlSym = vfs_dl_sym,
    .xDlClose = vfs_dl_close,
    .xRandomness = vfs_randomness,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_current_time,
    .xGetLastError = vfs_get_last_error,
    .xCurrentTimeInt64 = vfs_current_time_int64,
};

bool
store_sqlite_vfs_register(void)
{
    real_vfs = sqlite3_vfs_find("unix");
    if (!real_vfs || real_vfs->iVersion < 2)
        return false;
    vfs.mxPathname = real_vfs->mxPathname;
    vfs.szOsFile = (int) (REAL_FILE_OFFSET + (size_t) real_vfs->szOsFile);
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}
