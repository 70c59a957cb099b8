/* spool.h - large messages: private temporary files, readers over GMime streams for the
 * streaming OpenPGP calls, and article bodies kept as files beside the database. Messages
 * above PD_STREAM_THRESHOLD go through these in constant memory instead of through buffers. */
#ifndef PGPDESK_SPOOL_H
#define PGPDESK_SPOOL_H

#include "crypto.h"
#include "internal.h"

#include <gmime/gmime.h>

/* Messages (and decrypted payloads) larger than this are streamed through files. */
#define PD_STREAM_THRESHOLD ((size_t) 8 << 20)

/* An unlinked temporary file only this process can reach (mode 0600, in $TMPDIR or /tmp):
 * gone when closed, or when the process dies. -1 with the handle's error set on failure. */
int pd_temp_file(pgpdesk_t *pd);

/* A reader over stream (borrowed; it must outlive the reader's use). */
openpgp_reader_t pd_stream_reader(GMimeStream *stream);

/* A byte range of a file, read with pread: for librnp, the cheapest way to a part of a large
 * message that needs no transfer decoding. */
typedef struct pd_file_range {
    int fd;
    uint64_t start, end, pos;
} pd_file_range_t;

/* A reader over the bytes start..end of the file fd (not closed). range: filled in; must
 * outlive the reader. */
openpgp_reader_t pd_file_range_open(pd_file_range_t *range, int fd, uint64_t start,
                                    uint64_t end);

/* A reader over the bytes of stream, when they are a range of a file (a pd_file_stream() or
 * a substream of one); false when they are not. range: filled in; must outlive the reader. */
bool pd_file_range_reader(GMimeStream *stream, pd_file_range_t *range, openpgp_reader_t *out);

/* A read-only stream over the whole of the file fd, which stays the caller's (dup'd); its
 * substreams keep it alive (spool-stream.c). NULL on failure. */
GMimeStream *pd_file_stream(int fd);

/* The descriptor a pd_file_stream() (or a substream of one) reads; -1 for any other stream. */
int pd_file_stream_fd(GMimeStream *stream);

/* Copies size bytes of the file from, starting at start, to the file to at its offset (in the
 * kernel where it can); false on a read or write failure. */
bool pd_copy_file(int from, uint64_t start, uint64_t size, int to);

/* Copies all of from (from its start) to the end of to. */
bool pd_stream_copy(GMimeStream *from, GMimeStream *to);

/* A thread that makes the file fd durable (fdatasync) again and again while it is written, so
 * that the disk flushes while we compute and the final body_file_keep() finds little left. */
typedef struct pd_syncer pd_syncer_t;

/* Starts one on fd (dup'd; the caller keeps its own). NULL when it cannot: then the file is
 * simply synced at the end. */
pd_syncer_t *pd_syncer_start(int fd);

/* Stops and frees the syncer; accepts NULL. */
void pd_syncer_stop(pd_syncer_t *s);

/* ---------------------------------------------------------------- body files */

#define PD_BODY_NAME_SIZE 40 /* 32 hex digits, ".eml", NUL */

/* A new, empty body file in "<database>.files/" (created 0700 when missing). fd: open for
 * reading and writing, the caller's until body_file_keep() or body_file_discard(). */
pgpdesk_status_t body_file_create(pgpdesk_t *pd, int *fd, char name[PD_BODY_NAME_SIZE]);

/* An unnamed file in "<database>.files/" (O_TMPFILE): gone when closed, unless
 * body_file_link() names it first; where the file system cannot, a pd_temp_file() (which
 * cannot be named). -1 with the handle's error set on failure. */
int body_file_unnamed(pgpdesk_t *pd);

/* Names the body_file_unnamed() fd as a new body file and makes it durable. false when it
 * cannot (name is then ""); the file is left as it was. */
bool body_file_link(pgpdesk_t *pd, int fd, char name[PD_BODY_NAME_SIZE]);

/* Makes the written file durable and closes fd. */
pgpdesk_status_t body_file_keep(pgpdesk_t *pd, int fd);

/* Closes fd (if >= 0) and removes the file (when name is not empty). */
void body_file_discard(pgpdesk_t *pd, int fd, const char *name);

/* The body file opened for reading; -1 with the handle's error set. */
int body_file_open(pgpdesk_t *pd, const char *name);

/* head (head_size bytes; none when 0) followed by the whole file. data: malloc'd,
 * NUL-terminated (not counted in size); caller frees. */
pgpdesk_status_t body_file_load(pgpdesk_t *pd, const char *name, const uint8_t *head,
                                size_t head_size, uint8_t **data, size_t *size);

#endif
