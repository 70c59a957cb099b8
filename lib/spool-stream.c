/* spool-stream.c - the GMime stream large messages are parsed and read from (see spool.h): a
 * file read with pread through a buffer of its own. GMime's fd and stdio streams seek before
 * every read, and its parser reads 4 KiB at a time, so a 100 MB message cost some 50,000
 * lseek calls (stdio re-seeks even inside its buffer); this stream makes one pread per
 * FILE_STREAM_BUFFER and no seek at all. */
#include "spool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_STREAM_BUFFER (256 * 1024)

typedef struct PdFileStream {
    GMimeStream parent;
    int fd;                     /* the root's; closed when the root is finalized */
    struct PdFileStream *root;  /* a substream holds a reference to its root; NULL for it */
    char *buffer;               /* made on the first buffered read */
    gint64 buffer_start;        /* the file offset of buffer[0] */
    size_t buffer_len;
    bool eos;                   /* an unbounded stream read up to the end of the file */
} PdFileStream;

typedef struct PdFileStreamClass {
    GMimeStreamClass parent_class;
} PdFileStreamClass;

G_DEFINE_TYPE(PdFileStream, pd_file_stream_object, GMIME_TYPE_STREAM)

#define PD_FILE_STREAM(obj) ((PdFileStream *) (obj))

static gint64
file_end(PdFileStream *fs)
{
    struct stat sb;
    return fstat(fs->fd, &sb) == 0 ? (gint64) sb.st_size : -1;
}

static ssize_t
stream_read(GMimeStream *stream, char *buf, size_t len)
{
    PdFileStream *fs = PD_FILE_STREAM(stream);
    if (stream->bound_end != -1) {
        if (stream->position >= stream->bound_end)
            return 0;
        if ((gint64) len > stream->bound_end - stream->position)
            len = (size_t) (stream->bound_end - stream->position);
    }
    gint64 pos = stream->position;
    bool buffered = pos >= fs->buffer_start && pos < fs->buffer_start + (gint64) fs->buffer_len;
    ssize_t n;
    if (!buffered && len < FILE_STREAM_BUFFER) {
        if (!fs->buffer && !(fs->buffer = malloc(FILE_STREAM_BUFFER)))
            return -1;
        do {
            n = pread(fs->fd, fs->buffer, FILE_STREAM_BUFFER, (off_t) pos);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return -1;
        fs->buffer_start = pos;
        fs->buffer_len = (size_t) n;
        buffered = true;
    }
    if (buffered) {
        size_t left = fs->buffer_len - (size_t) (pos - fs->buffer_start);
        n = (ssize_t) (len < left ? len : left);
        memcpy(buf, fs->buffer + (pos - fs->buffer_start), (size_t) n);
    } else { /* a large read goes straight to the caller's buffer */
        do {
            n = pread(fs->fd, buf, len, (off_t) pos);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            return -1;
    }
    stream->position += n;
    if (n == 0 && len > 0)
        fs->eos = true;
    return n;
}

static ssize_t
stream_write(GMimeStream *stream, const char *buf, size_t len)
{
    (void) stream, (void) buf, (void) len;
    errno = EBADF; /* read-only */
    return -1;
}

static int
stream_flush(GMimeStream *stream)
{
    (void) stream;
    return 0;
}

static int
stream_close(GMimeStream *stream)
{
    (void) stream;
    return 0; /* the descriptor lives as long as the root */
}

static gboolean
stream_eos(GMimeStream *stream)
{
    if (stream->bound_end != -1)
        return stream->position >= stream->bound_end;
    return PD_FILE_STREAM(stream)->eos;
}

static int
stream_reset(GMimeStream *stream)
{
    stream->position = stream->bound_start;
    PD_FILE_STREAM(stream)->eos = false;
    return 0;
}

static gint64
stream_seek(GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
    gint64 end = stream->bound_end != -1 ? stream->bound_end : file_end(PD_FILE_STREAM(stream));
    gint64 real = whence == GMIME_STREAM_SEEK_SET   ? offset
                  : whence == GMIME_STREAM_SEEK_CUR ? stream->position + offset
                                                    : end + offset;
    if (end < 0 || real < stream->bound_start ||
        (stream->bound_end != -1 && real > stream->bound_end)) {
        errno = EINVAL;
        return -1;
    }
    stream->position = real;
    PD_FILE_STREAM(stream)->eos = false;
    return real;
}

static gint64
stream_tell(GMimeStream *stream)
{
    return stream->position;
}

static gint64
stream_length(GMimeStream *stream)
{
    if (stream->bound_end != -1)
        return stream->bound_end - stream->bound_start;
    gint64 end = file_end(PD_FILE_STREAM(stream));
    return end < 0 ? -1 : end - stream->bound_start;
}

static GMimeStream *
stream_substream(GMimeStream *stream, gint64 start, gint64 end)
{
    PdFileStream *fs = PD_FILE_STREAM(stream);
    PdFileStream *sub = g_object_new(pd_file_stream_object_get_type(), NULL);
    sub->root = g_object_ref(fs->root ? fs->root : fs);
    sub->fd = fs->fd;
    g_mime_stream_construct(GMIME_STREAM(sub), start, end);
    return GMIME_STREAM(sub);
}

static void
pd_file_stream_object_init(PdFileStream *fs)
{
    fs->fd = -1;
    fs->buffer_start = -1;
}

static void
pd_file_stream_object_finalize(GObject *object)
{
    PdFileStream *fs = PD_FILE_STREAM(object);
    free(fs->buffer);
    if (fs->root)
        g_object_unref(fs->root);
    else if (fs->fd >= 0)
        close(fs->fd);
    G_OBJECT_CLASS(pd_file_stream_object_parent_class)->finalize(object);
}

static void
pd_file_stream_object_class_init(PdFileStreamClass *klass)
{
    GMimeStreamClass *stream = GMIME_STREAM_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = pd_file_stream_object_finalize;
    stream->read = stream_read;
    stream->write = stream_write;
    stream->flush = stream_flush;
    stream->close = stream_close;
    stream->eos = stream_eos;
    stream->reset = stream_reset;
    stream->seek = stream_seek;
    stream->tell = stream_tell;
    stream->length = stream_length;
    stream->substream = stream_substream;
}

GMimeStream *
pd_file_stream(int fd)
{
    int own = dup(fd);
    if (own < 0)
        return NULL;
    PdFileStream *fs = g_object_new(pd_file_stream_object_get_type(), NULL);
    fs->fd = own;
    g_mime_stream_construct(GMIME_STREAM(fs), 0, -1);
    return GMIME_STREAM(fs);
}

int
pd_file_stream_fd(GMimeStream *stream)
{
    return G_TYPE_CHECK_INSTANCE_TYPE(stream, pd_file_stream_object_get_type())
               ? PD_FILE_STREAM(stream)->fd
               : -1;
}
