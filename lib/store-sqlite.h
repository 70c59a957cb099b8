/* store-sqlite.h - what the files of the SQLite backend share: the handle and the statement
 * helpers. Private to store-sqlite*.c. */
#ifndef PGPDESK_STORE_SQLITE_H
#define PGPDESK_STORE_SQLITE_H

#include "internal.h"

#include <sqlite3.h>

/* A prepared statement kept for reuse, keyed by its SQL text's address (always a literal). */
typedef struct cached_statement {
    const char *sql;
    sqlite3_stmt *stmt;
    bool in_use;
} cached_statement_t;

#define STATEMENT_CACHE_SIZE 64

typedef struct sqlite_store {
    store_t base;
    sqlite3 *db;
    cached_statement_t statements[STATEMENT_CACHE_SIZE];
    size_t statement_count;
    bool writing; /* holds the process's write turn (see sqlite_begin) */
} sqlite_store_t;

/* The name of store-sqlite-vfs.c's file layer, which every connection opens with. */
#define STORE_SQLITE_VFS "pgpdesk"
/* Registers it with SQLite once per process; false if SQLite's own unix layer is missing. */
bool store_sqlite_vfs_register(void);

/* Records the database's message in the store and returns DATABASE_ERROR. */
pgpdesk_status_t db_error(sqlite_store_t *s);
pgpdesk_status_t exec_sql(sqlite_store_t *s, const char *sql);
/* Runs one statement of a fixed text, a string constant: prepared once per handle and kept
 * (transaction control runs several times per message). */
pgpdesk_status_t run_sql(sqlite_store_t *s, const char *sql);
/* A ready statement for sql (a string literal): prepared once per connection and reused.
 * Give it back with finish(). */
pgpdesk_status_t prepare(sqlite_store_t *s, const char *sql, sqlite3_stmt **stmt);
/* Resets a statement from prepare() for its next use. */
void finish(sqlite_store_t *s, sqlite3_stmt *stmt);
/* Runs a statement that returns no rows and finishes it. */
pgpdesk_status_t step_done(sqlite_store_t *s, sqlite3_stmt *stmt);
/* Column copies; caller frees. */
char *column_text(sqlite3_stmt *stmt, int i);
bool column_blob(sqlite3_stmt *stmt, int i, uint8_t **out, size_t *size);
void bind_text_or_null(sqlite3_stmt *stmt, int i, const char *text);

/* Reads the current row into item (zeroed beforehand); false when out of memory. */
typedef bool (*row_reader_t)(sqlite3_stmt *stmt, void *item, void *ctx);

/* Steps stmt to its end, reading each row with read (ctx passed along) into a growing array of
 * item_size-byte items, and finishes stmt. items, count: what was read, set even on failure so
 * the caller releases it the way it releases a full list; *items is malloc'd. */
pgpdesk_status_t collect_rows(sqlite_store_t *s, sqlite3_stmt *stmt, size_t item_size,
                              row_reader_t read, void *ctx, void **items, size_t *count);

/* store-sqlite-articles.c */
pgpdesk_status_t sqlite_article_insert(store_t *store, const char *direction, const void *raw,
                                       size_t size, const char *raw_file, int64_t created_at,
                                       const store_article_fields_t *fields, int64_t *id);
pgpdesk_status_t sqlite_article_update(store_t *store, int64_t id,
                                       const store_article_fields_t *fields);
pgpdesk_status_t sqlite_article_get(store_t *store, int64_t id, pgpdesk_article_t **out,
                                    char **raw_file, char **mime_file);
pgpdesk_status_t sqlite_article_list(store_t *store, int64_t group_id, size_t limit,
                                     size_t offset, pgpdesk_article_list_t **out);
pgpdesk_status_t sqlite_log_insert(store_t *store, int64_t created_at, const char *direction,
                                   const char *method, const char *status, const char *from_to,
                                   const char *message_id, const char *detail_json);
pgpdesk_status_t sqlite_log_purge(store_t *store, int64_t older_than);
pgpdesk_status_t sqlite_log_list(store_t *store, size_t limit, pgpdesk_log_list_t **out);

/* store-sqlite-accounts.c */
pgpdesk_status_t sqlite_group_put(store_t *store, pgpdesk_group_t *group);
pgpdesk_status_t sqlite_group_delete(store_t *store, int64_t id);
pgpdesk_status_t sqlite_group_list(store_t *store, int64_t id, pgpdesk_group_list_t **out);
pgpdesk_status_t sqlite_user_insert(store_t *store, const char *login, const char *password_hash,
                                    pgpdesk_role_t role, int64_t created_at, int64_t *id);
pgpdesk_status_t sqlite_user_set_password(store_t *store, const char *login,
                                          const char *password_hash);
pgpdesk_status_t sqlite_user_delete(store_t *store, const char *login);
pgpdesk_status_t sqlite_user_find(store_t *store, const char *login, int64_t id,
                                  pgpdesk_user_t **out, char **password_hash);
pgpdesk_status_t sqlite_user_list(store_t *store, pgpdesk_user_list_t **out);
pgpdesk_status_t sqlite_credential_insert(store_t *store, const char *kind, const char *secret_hash,
                                          int64_t user_id, const char *csrf_hash,
                                          int64_t expires_at);
pgpdesk_status_t sqlite_credential_find(store_t *store, const char *kind, const char *secret_hash,
                                        int64_t now, int64_t *user_id, char **csrf_hash);
pgpdesk_status_t sqlite_credential_delete(store_t *store, const char *kind,
                                          const char *secret_hash);

#endif
