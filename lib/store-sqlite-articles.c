/* store-sqlite-articles.c - the SQLite backend's articles and log ("Recent Logs"). */
#include "store-sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- articles */

/* Binds fields (all NULL when fields is NULL) to parameters first.. first + 8 of stmt, in the
 * order mime, from_addr, to_addr, cc_addr, subject, message_id, security, mime_file,
 * group_id. */
static void
bind_fields(sqlite3_stmt *stmt, int first, const store_article_fields_t *fields)
{
    static const store_article_fields_t none = {0};
    const store_article_fields_t *f = fields ? fields : &none;
    if (f->mime)
        sqlite3_bind_blob64(stmt, first, f->mime, f->mime_size, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, first);
    const char *text[] = {f->from, f->to, f->cc, f->subject, f->message_id, f->security_json,
                          f->mime_file};
    for (int i = 0; i < (int) (sizeof text / sizeof text[0]); i++)
        bind_text_or_null(stmt, first + 1 + i, text[i]);
    if (f->group_id)
        sqlite3_bind_int64(stmt, first + 8, f->group_id);
    else
        sqlite3_bind_null(stmt, first + 8);
}

pgpdesk_status_t
sqlite_article_insert(store_t *store, const char *direction, const void *raw, size_t size,
                      const char *raw_file, int64_t created_at,
                      const store_article_fields_t *fields, int64_t *id)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    /* Both rows or neither, inside a transaction or not. */
    pgpdesk_status_t st = run_sql(s, "SAVEPOINT article_insert");
    if (!st)
        st = prepare(s,
            "INSERT INTO articles (direction, created_at, mime, from_addr, to_addr, cc_addr,"
            " subject, message_id, security, mime_file, group_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", &stmt);
    if (!st) {
        sqlite3_bind_text(stmt, 1, direction, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, created_at);
        bind_fields(stmt, 3, fields);
        if (sqlite3_step(stmt) == SQLITE_ROW)
            *id = sqlite3_column_int64(stmt, 0);
        else
            st = db_error(s);
        finish(s, stmt);
    }
    if (!st)
        st = prepare(s, "INSERT INTO article_raws (article_id, raw, raw_file) VALUES (?, ?, ?)",
                     &stmt);
    if (!st) {
        sqlite3_bind_int64(stmt, 1, *id);
        if (raw_file)
            sqlite3_bind_null(stmt, 2);
        else
            sqlite3_bind_blob64(stmt, 2, size ? raw : "", size, SQLITE_STATIC);
        bind_text_or_null(stmt, 3, raw_file);
        st = step_done(s, stmt);
    }
    if (st) {
        run_sql(s, "ROLLBACK TO article_insert");
        run_sql(s, "RELEASE article_insert");
        return st;
    }
    return run_sql(s, "RELEASE article_insert");
}

pgpdesk_status_t
sqlite_article_update(store_t *store, int64_t id, const store_article_fields_t *fields)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "UPDATE articles SET mime = ?, from_addr = ?, to_addr = ?, cc_addr = ?, subject = ?,"
        " message_id = ?, security = ?, mime_file = ?, group_id = coalesce(?, group_id)"
        " WHERE id = ?", &stmt);
    if (st)
        return st;
    bind_fields(stmt, 1, fields);
    sqlite3_bind_int64(stmt, 10, id);
    if ((st = step_done(s, stmt)))
        return st;
    return sqlite3_changes(s->db) ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_ARTICLE_NOT_FOUND;
}

#define ARTICLE_COLUMNS                                                                     \
    "id, direction, from_addr, to_addr, cc_addr, subject, message_id, security, created_at,"  \
    " group_id"

/* Reads the ARTICLE_COLUMNS of the current row into a (raw and mime are left alone). */
static bool
read_article_row(sqlite3_stmt *stmt, pgpdesk_article_t *a)
{
    a->id = sqlite3_column_int64(stmt, 0);
    snprintf(a->direction, sizeof a->direction, "%s", sqlite3_column_text(stmt, 1));
    a->from = column_text(stmt, 2);
    a->to = column_text(stmt, 3);
    a->cc = column_text(stmt, 4);
    a->subject = column_text(stmt, 5);
    a->message_id = column_text(stmt, 6);
    const unsigned char *security = sqlite3_column_text(stmt, 7);
    if (security)
        a->security = json_loads((const char *) security, 0, NULL);
    a->created_at = sqlite3_column_int64(stmt, 8);
    a->group_id = sqlite3_column_int64(stmt, 9);
    return true;
}

pgpdesk_status_t
sqlite_article_get(store_t *store, int64_t id, pgpdesk_article_t **out, char **raw_file,
                   char **mime_file)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT " ARTICLE_COLUMNS ", raw, mime, raw_file, mime_file FROM articles"
        " JOIN article_raws ON article_id = id WHERE id = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_ARTICLE_NOT_FOUND : db_error(s);
        finish(s, stmt);
        return st;
    }
    pgpdesk_article_t *a = calloc(1, sizeof *a);
    bool ok = a && read_article_row(stmt, a) && column_blob(stmt, 10, &a->raw, &a->raw_size) &&
              column_blob(stmt, 11, &a->mime, &a->mime_size);
    *raw_file = column_text(stmt, 12);
    *mime_file = column_text(stmt, 13);
    finish(s, stmt);
    if (!ok) {
        free(*raw_file);
        free(*mime_file);
        pgpdesk_article_destroy(a);
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    *out = a;
    return PGPDESK_STATUS_SUCCESS;
}

static bool
read_article_item(sqlite3_stmt *stmt, void *item, void *ctx)
{
    return read_article_row(stmt, item);
}

pgpdesk_status_t
sqlite_article_list(store_t *store, int64_t group_id, size_t limit, size_t offset,
                    pgpdesk_article_list_t **out)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, group_id
        ? "SELECT " ARTICLE_COLUMNS " FROM articles WHERE group_id = ?"
          " ORDER BY id DESC LIMIT ? OFFSET ?"
        : "SELECT " ARTICLE_COLUMNS " FROM articles WHERE ? = 0"
          " ORDER BY id DESC LIMIT ? OFFSET ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, group_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) limit);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64) offset);
    pgpdesk_article_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        finish(s, stmt);
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    st = collect_rows(s, stmt, sizeof *list->articles, read_article_item, NULL, (void **) &list->articles,
                      &list->count);
    if (st) {
        pgpdesk_article_list_destroy(list);
        return st;
    }
    *out = list;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- the log */

pgpdesk_status_t
sqlite_log_insert(store_t *store, int64_t created_at, const char *direction, const char *method,
                  const char *status, const char *from_to, const char *message_id,
                  const char *detail_json)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "INSERT INTO logs (created_at, direction, method, status, from_to, message_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, created_at);
    sqlite3_bind_text(stmt, 2, direction, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, method, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, from_to, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 6, message_id);
    sqlite3_bind_text(stmt, 7, detail_json, -1, SQLITE_STATIC);
    return step_done(s, stmt);
}

pgpdesk_status_t
sqlite_log_purge(store_t *store, int64_t older_than)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, "DELETE FROM logs WHERE created_at < ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, older_than);
    return step_done(s, stmt);
}

static bool
read_log_row(sqlite3_stmt *stmt, void *item, void *ctx)
{
    pgpdesk_log_entry_t *e = item;
    e->id = sqlite3_column_int64(stmt, 0);
    e->created_at = sqlite3_column_int64(stmt, 1);
    e->direction = column_text(stmt, 2);
    e->method = column_text(stmt, 3);
    e->status = column_text(stmt, 4);
    e->from_to = column_text(stmt, 5);
    e->message_id = column_text(stmt, 6);
    e->detail = json_loads((const char *) sqlite3_column_text(stmt, 7), 0, NULL);
    return e->direction && e->method && e->status && e->from_to;
}

pgpdesk_status_t
sqlite_log_list(store_t *store, size_t limit, pgpdesk_log_list_t **out)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT id, created_at, direction, method, status, from_to, message_id, detail"
        " FROM logs ORDER BY created_at DESC, id DESC LIMIT ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64) limit);
    pgpdesk_log_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        finish(s, stmt);
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    st = collect_rows(s, stmt, sizeof *list->entries, read_log_row, NULL, (void **) &list->entries,
                      &list->count);
    if (st) {
        pgpdesk_log_list_destroy(list);
        return st;
    }
    *out = list;
    return PGPDESK_STATUS_SUCCESS;
}

