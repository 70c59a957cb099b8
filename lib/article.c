/* article.c - articles (every message in or out, raw bytes first) and the log of crypto
 * operations ("Recent Logs"), plus the public entry points of incoming processing and retry. */
#include "internal.h"
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECONDS_PER_DAY 86400

static pgpdesk_status_t article_read(pgpdesk_t *pd, int64_t id, bool with_bodies,
                                     pgpdesk_article_t **out);

/* fields as the store takes them, into out; *security: their JSON text, caller frees. False
 * when out of memory. */
static bool
store_fields(const article_fields_t *f, store_article_fields_t *out, char **security)
{
    *security = f->security ? json_dumps(f->security, JSON_COMPACT) : NULL;
    *out = (store_article_fields_t){.mime = f->mime, .mime_size = f->mime_size,
                                    .mime_file = f->mime_file, .from = f->from, .to = f->to,
                                    .cc = f->cc, .subject = f->subject,
                                    .message_id = f->message_id, .security_json = *security,
                                    .group_id = f->group_id};
    return !f->security || *security;
}

pgpdesk_status_t
article_store(pgpdesk_t *pd, const char *direction, const void *raw, size_t size,
              const char *raw_file, int64_t created_at, const article_fields_t *fields,
              int64_t *id)
{
    store_article_fields_t found;
    char *security = NULL;
    if (fields && !store_fields(fields, &found, &security))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_status_t st = pd->store->ops->article_insert(pd->store, direction, raw, size,
                                                         raw_file, created_at,
                                                         fields ? &found : NULL, id);
    free(security);
    return pd_store_fail(pd, st);
}

pgpdesk_status_t
article_store_fields(pgpdesk_t *pd, int64_t id, const article_fields_t *f)
{
    store_article_fields_t found;
    char *security = NULL;
    if (!store_fields(f, &found, &security))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_status_t st = pd->store->ops->article_update(pd->store, id, &found);
    free(security);
    return pd_store_fail(pd, st);
}

void
log_write(pgpdesk_t *pd, const char *direction, const char *method, bool success,
          const char *from, const char *to, const char *message_id, json_t *detail)
{
    char *from_to = NULL, *detail_json = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    if (asprintf(&from_to, "%s -> %s", from ? from : "", to ? to : "") < 0)
        from_to = NULL;
    if (from_to)
        pd->store->ops->log_insert(pd->store, pd_now(), direction, method,
                                   success ? "success" : "failed", from_to, message_id,
                                   detail_json ? detail_json : "{}");
    free(from_to);
    free(detail_json);
}

void
pgpdesk_log_private_key_export(pgpdesk_t *pd, const char *fingerprint, const char *actor)
{
    json_t *detail = json_pack("{s:s}", "fingerprint", fingerprint ? fingerprint : "");
    log_write(pd, "out", "key_export", true, actor, fingerprint, NULL, detail);
    json_decref(detail);
}

/* ---------------------------------------------------------------- incoming */

/* One log row for each crypto layer the message had. */
static void
log_incoming(pgpdesk_t *pd, const incoming_analysis_t *a)
{
    static const char *const methods[][2] = {{"encryption", "encryption"}, {"sign", "sign"}};
    for (size_t i = 0; i < 2; i++) {
        json_t *part = json_object_get(a->security, methods[i][0]);
        const char *status = json_string_value(json_object_get(part, "status"));
        if (!status || strcmp(status, "none") == 0)
            continue;
        log_write(pd, "in", methods[i][1], json_is_true(json_object_get(part, "success")),
                  a->from, a->to, a->message_id, part);
    }
}

/* With the integration switched off a message is stored, filed and left alone. A large
 * message (fd >= 0) is analyzed from its file. */
static pgpdesk_status_t
analyze(pgpdesk_t *pd, const uint8_t *raw, size_t size, int fd, incoming_analysis_t *a)
{
    bool enabled = true;
    pgpdesk_status_t st = pgpdesk_integration_enabled(pd, &enabled);
    if (st || enabled)
        return st ? st : fd >= 0 ? incoming_analyze_file(pd, fd, size, a)
                                 : incoming_analyze(pd, raw, size, a);
    a->security = json_pack("{s:s, s:{s:s, s:b}, s:{s:s, s:b}, s:s}", "type", "PGP", "sign",
                            "status", "none", "success", 0, "encryption", "status", "none",
                            "success", 0, "error", "The PGP integration is disabled.");
    return a->security ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_OUT_OF_MEMORY;
}

/* analyze() in one read transaction: its many small reads (settings, keys) share one snapshot
 * and one lock instead of taking each their own, a few system calls each. */
static pgpdesk_status_t
analyze_read_only(pgpdesk_t *pd, const uint8_t *raw, size_t size, incoming_analysis_t *a)
{
    store_t *store = pd->store;
    pgpdesk_status_t st = pd_store_fail(pd, store->ops->begin_read(store));
    if (!st && (st = analyze(pd, raw, size, -1, a)))
        pd_fail(pd, st, NULL);
    if (store->ops->commit(store) && !st)
        st = pd_store_fail(pd, PGPDESK_STATUS_DATABASE_ERROR);
    return st;
}

/* Records what analysis found about article id, its group and its log rows: one transaction,
 * so a message costs one commit besides the one that stored it raw. */
static pgpdesk_status_t
record_analysis(pgpdesk_t *pd, int64_t id, const incoming_analysis_t *a, int64_t *group)
{
    store_t *store = pd->store;
    pgpdesk_status_t st = store->ops->begin(store);
    if (st)
        return pd_store_fail(pd, st);
    int64_t group_id = group_for_recipients(pd, a->to, a->cc);
    article_fields_t fields = {
        .mime = a->mime, .mime_size = a->mime_size, .mime_file = a->mime_file, .from = a->from,
        .to = a->to, .cc = a->cc, .subject = a->subject, .message_id = a->message_id,
        .security = a->security, .group_id = group_id};
    st = article_store_fields(pd, id, &fields);
    if (!st)
        log_incoming(pd, a);
    if (!st)
        st = store->ops->commit(store);
    if (st)
        store->ops->rollback(store);
    else if (group)
        *group = group_id;
    return pd_store_fail(pd, st);
}

/* The article just stored, made from what is at hand instead of read back: raw is copied,
 * the analysis's view and fields are taken over. */
static pgpdesk_status_t
stored_article(pgpdesk_t *pd, int64_t id, int64_t created_at, int64_t group_id, const void *raw,
               size_t size, incoming_analysis_t *a, pgpdesk_article_t **out)
{
    pgpdesk_article_t *art = malloc(sizeof *art);
    uint8_t *copy = malloc(size + 1);
    if (!art || !copy) {
        free(art);
        free(copy);
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    memcpy(copy, raw, size);
    copy[size] = '\0';
    *art = (pgpdesk_article_t){.id = id, .direction = "in", .group_id = group_id,
                               .raw = copy, .raw_size = size, .mime = a->mime,
                               .mime_size = a->mime_size, .from = a->from, .to = a->to,
                               .cc = a->cc, .subject = a->subject,
                               .message_id = a->message_id, .security = json_incref(a->security),
                               .created_at = created_at};
    a->mime = NULL;
    a->from = a->to = a->cc = a->subject = a->message_id = NULL;
    *out = art;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_incoming_process(pgpdesk_t *pd, const void *raw, size_t size, pgpdesk_article_t **out)
{
    int64_t id = 0, group_id = 0, created_at = pd_now();
    /* Nothing is ever lost: the raw message is stored before anything else looks at it. */
    pgpdesk_status_t st = article_store(pd, "in", raw, size, NULL, created_at, NULL, &id);
    if (st)
        return st;
    incoming_analysis_t analysis = {0};
    st = analyze_read_only(pd, raw, size, &analysis);
    if (!st)
        st = record_analysis(pd, id, &analysis, &group_id);
    if (!st)
        st = stored_article(pd, id, created_at, group_id, raw, size, &analysis, out);
    incoming_analysis_clear(&analysis);
    return st;
}

/* The size of the regular file fd, or INVALID_ARGUMENT. */
static pgpdesk_status_t
file_size(pgpdesk_t *pd, int fd, size_t *size)
{
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT,
                       "The message must be given as a regular file.");
    *size = (size_t) sb.st_size;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_incoming_process_file(pgpdesk_t *pd, int fd, pgpdesk_article_t **out)
{
    size_t size = 0;
    pgpdesk_status_t st = pd ? file_size(pd, fd, &size) : PGPDESK_STATUS_INVALID_ARGUMENT;
    if (st)
        return st;
    if (size <= PD_STREAM_THRESHOLD) {
        uint8_t *raw = malloc(size + 1);
        if (!raw)
            return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
        if (pread(fd, raw, size, 0) == (ssize_t) size)
            st = pgpdesk_incoming_process(pd, raw, size, out);
        else
            st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "The message file could not be read.");
        free(raw);
        return st;
    }
    /* Nothing is ever lost: the raw message goes to a body file and its row first. */
    char name[PD_BODY_NAME_SIZE];
    int body = -1;
    int64_t id = 0;
    if ((st = body_file_create(pd, &body, name)))
        return st;
    pd_syncer_t *syncer = pd_syncer_start(body); /* the disk flushes while the kernel copies */
    bool copied = pd_copy_file(fd, 0, size, body);
    pd_syncer_stop(syncer);
    if (!copied)
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "The message could not be stored: %s.",
                     strerror(errno));
    else
        st = body_file_keep(pd, body);
    if (!st)
        st = article_store(pd, "in", NULL, size, name, pd_now(), NULL, &id);
    if (st) {
        body_file_discard(pd, -1, name);
        return st;
    }
    incoming_analysis_t analysis = {0};
    st = analyze(pd, NULL, size, fd, &analysis);
    if (st)
        pd_fail(pd, st, NULL);
    else
        st = record_analysis(pd, id, &analysis, NULL);
    if (st)
        body_file_discard(pd, -1, analysis.mime_file);
    incoming_analysis_clear(&analysis);
    if (st)
        return st;
    return article_read(pd, id, false, out);
}

static bool
layer_succeeded(json_t *security, const char *layer)
{
    return json_is_true(json_object_get(json_object_get(security, layer), "success"));
}

/* Better: a layer that failed now succeeds, and none that succeeded fails. */
static bool
is_improvement(json_t *before, json_t *after)
{
    bool gained = false;
    static const char *const layers[] = {"encryption", "sign"};
    for (size_t i = 0; i < 2; i++) {
        bool was = layer_succeeded(before, layers[i]), is = layer_succeeded(after, layers[i]);
        if (was && !is)
            return false;
        gained = gained || (!was && is);
    }
    return gained;
}

pgpdesk_status_t
pgpdesk_article_retry(pgpdesk_t *pd, int64_t id, bool *improved, pgpdesk_article_t **out)
{
    pgpdesk_article_t *article = NULL;
    char *raw_file = NULL, *mime_file = NULL;
    size_t raw_size = 0;
    pgpdesk_status_t st = pd_store_fail(pd, pd->store->ops->article_get(pd->store, id, &article,
                                                                        &raw_file, &mime_file));
    if (st)
        return st;
    free(mime_file);
    if (!raw_file) {
        pgpdesk_article_destroy(article);
        st = pgpdesk_article_get(pd, id, &article);
        if (st)
            return st;
    }
    if (strcmp(article->direction, "in") != 0) {
        free(raw_file);
        pgpdesk_article_destroy(article);
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT,
                       "Article %lld is outgoing; only incoming articles can be retried.",
                       (long long) id);
    }
    incoming_analysis_t a = {0};
    int fd = raw_file ? body_file_open(pd, raw_file) : -1;
    if (raw_file)
        st = fd < 0 ? PGPDESK_STATUS_IO_ERROR : file_size(pd, fd, &raw_size);
    if (!st)
        st = analyze(pd, article->raw, raw_file ? raw_size : article->raw_size, fd, &a);
    bool better = !st && is_improvement(article->security, a.security);
    if (better)
        st = record_analysis(pd, id, &a, NULL);
    if (!better || st)
        body_file_discard(pd, -1, a.mime_file);
    incoming_analysis_clear(&a);
    pgpdesk_article_destroy(article);
    if (fd >= 0)
        close(fd);
    free(raw_file);
    if (st)
        return pd_fail(pd, st, NULL);
    if (improved)
        *improved = better;
    return pgpdesk_article_get(pd, id, out);
}

/* One article; with_bodies also loads raw and mime from their body files. */
static pgpdesk_status_t
article_read(pgpdesk_t *pd, int64_t id, bool with_bodies, pgpdesk_article_t **out)
{
    pgpdesk_article_t *a = NULL;
    char *raw_file = NULL, *mime_file = NULL;
    pgpdesk_status_t st = pd_store_fail(pd, pd->store->ops->article_get(pd->store, id, &a,
                                                                        &raw_file, &mime_file));
    if (!st && with_bodies && raw_file)
        st = body_file_load(pd, raw_file, NULL, 0, &a->raw, &a->raw_size);
    if (!st && mime_file) {
        /* The mime column then holds what comes before the file's bytes, if anything. */
        uint8_t *head = a->mime;
        size_t head_size = a->mime_size;
        a->mime = NULL;
        a->mime_size = 0;
        if (with_bodies)
            st = body_file_load(pd, mime_file, head, head_size, &a->mime, &a->mime_size);
        free(head);
    }
    free(raw_file);
    free(mime_file);
    if (st) {
        pgpdesk_article_destroy(a);
        return st;
    }
    *out = a;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_article_get(pgpdesk_t *pd, int64_t id, pgpdesk_article_t **out)
{
    return article_read(pd, id, true, out);
}

static void
article_clear(pgpdesk_article_t *a)
{
    free(a->raw);
    free(a->mime);
    free(a->from);
    free(a->to);
    free(a->cc);
    free(a->subject);
    free(a->message_id);
    json_decref(a->security);
}

void
pgpdesk_article_destroy(pgpdesk_article_t *a)
{
    if (!a)
        return;
    article_clear(a);
    free(a);
}

pgpdesk_status_t
pgpdesk_article_list(pgpdesk_t *pd, int64_t group_id, size_t limit, size_t offset,
                     pgpdesk_article_list_t **out)
{
    return pd_store_fail(pd, pd->store->ops->article_list(pd->store, group_id, limit, offset, out));
}

void
pgpdesk_article_list_destroy(pgpdesk_article_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        article_clear(&list->articles[i]);
    free(list->articles);
    free(list);
}

/* ---------------------------------------------------------------- the log */

pgpdesk_status_t
pgpdesk_log_list(pgpdesk_t *pd, size_t limit, pgpdesk_log_list_t **out)
{
    int64_t cutoff = pd_now() - (int64_t) pd->limits.log_retention_days * SECONDS_PER_DAY;
    pgpdesk_status_t st = pd->store->ops->log_purge(pd->store, cutoff);
    if (!st)
        st = pd->store->ops->log_list(pd->store, limit, out);
    return pd_store_fail(pd, st);
}

void
pgpdesk_log_list_destroy(pgpdesk_log_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        pgpdesk_log_entry_t *e = &list->entries[i];
        free(e->direction);
        free(e->method);
        free(e->status);
        free(e->from_to);
        free(e->message_id);
        json_decref(e->detail);
    }
    free(list->entries);
    free(list);
}
