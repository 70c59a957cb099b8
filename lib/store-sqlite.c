/* store-sqlite.c - the SQLite backend of store.h: WAL mode, a versioned schema migrated on open,
 * prepared statements, and SQL kept to what PostgreSQL also accepts. */
#include "store-sqlite.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* Each entry brings the schema from version i to i + 1. Append only. */
static const char *const migrations[] = {
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE keys ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  user_ids TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT,"
    "  revoked INTEGER NOT NULL,"
    "  algorithm TEXT NOT NULL,"
    "  bits INTEGER NOT NULL,"
    "  sign_until BIGINT NOT NULL,"
    "  encrypt_until BIGINT NOT NULL,"
    "  domain_alias TEXT,"
    "  public_key BLOB NOT NULL,"
    "  secret_key BLOB,"
    "  passphrase BLOB,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX keys_domain_alias ON keys (domain_alias);"
    "CREATE TABLE key_emails ("
    "  key_id INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,"
    "  email TEXT NOT NULL,"
    "  PRIMARY KEY (key_id, email));"
    "CREATE INDEX key_emails_email ON key_emails (email);"
    "CREATE TABLE key_fingerprints ("
    "  key_id INTEGER NOT NULL REFERENCES keys (id) ON DELETE CASCADE,"
    "  fingerprint TEXT NOT NULL,"
    "  keyid TEXT NOT NULL,"
    "  PRIMARY KEY (key_id, fingerprint));"
    "CREATE INDEX key_fingerprints_fingerprint ON key_fingerprints (fingerprint);"
    "CREATE INDEX key_fingerprints_keyid ON key_fingerprints (keyid);"
    "CREATE TABLE articles ("
    "  id INTEGER PRIMARY KEY,"
    "  direction TEXT NOT NULL,"
    "  raw BLOB NOT NULL,"
    "  mime BLOB,"
    "  from_addr TEXT,"
    "  to_addr TEXT,"
    "  cc_addr TEXT,"
    "  subject TEXT,"
    "  message_id TEXT,"
    "  security TEXT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX articles_message_id ON articles (message_id);"
    "CREATE TABLE logs ("
    "  id INTEGER PRIMARY KEY,"
    "  created_at BIGINT NOT NULL,"
    "  direction TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  from_to TEXT NOT NULL,"
    "  message_id TEXT,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX logs_created_at ON logs (created_at);",

    "CREATE TABLE groups ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  email TEXT,"
    "  sign_default INTEGER,"
    "  encrypt_default INTEGER,"
    "  policy TEXT NOT NULL);"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  login TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  created_at BIGINT NOT NULL);"
    "CREATE TABLE credentials ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  secret_hash TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    "  csrf_hash TEXT,"
    "  expires_at BIGINT NOT NULL);"
    "ALTER TABLE articles ADD COLUMN group_id INTEGER;"
    "CREATE INDEX articles_group ON articles (group_id, id);",

    /* Raw messages get a table of their own: filling in an article's fields then does not
     * rewrite (and, under secure_delete, zero) the pages of its raw message. A large message
     * lives in a body file beside the database (spool.h), named in raw_file or mime_file. */
    "CREATE TABLE article_raws ("
    "  article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,"
    "  raw BLOB,"
    "  raw_file TEXT);"
    "INSERT INTO article_raws (article_id, raw) SELECT id, raw FROM articles;"
    "ALTER TABLE articles DROP COLUMN raw;"
    "ALTER TABLE articles ADD COLUMN mime_file TEXT;",

    /* Nothing looks an article up by its Message-ID, and the index cost every message a page
     * write per commit (an incoming one two: stored raw, then filled in). */
    "DROP INDEX articles_message_id;",
};

#define SCHEMA_VERSION ((int) (sizeof migrations / sizeof migrations[0]))

pgpdesk_status_t
db_error(sqlite_store_t *s)
{
    snprintf(s->base.errmsg, sizeof s->base.errmsg, "%s", sqlite3_errmsg(s->db));
    return PGPDESK_STATUS_DATABASE_ERROR;
}

pgpdesk_status_t
exec_sql(sqlite_store_t *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? PGPDESK_STATUS_SUCCESS
                                                                    : db_error(s);
}

pgpdesk_status_t
run_sql(sqlite_store_t *s, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, sql, &stmt);
    return st ? st : step_done(s, stmt);
}

pgpdesk_status_t
prepare(sqlite_store_t *s, const char *sql, sqlite3_stmt **stmt)
{
    cached_statement_t *slot = NULL;
    for (size_t i = 0; i < s->statement_count && !slot; i++)
        if (s->statements[i].sql == sql)
            slot = &s->statements[i];
    if (slot && !slot->in_use) {
        slot->in_use = true;
        *stmt = slot->stmt;
        return PGPDESK_STATUS_SUCCESS;
    }
    /* Parsing SQL costs more than running these statements: keep each one (a statement
     * already in use, or one past the cache's size, is prepared for this use only). */
    unsigned flags = slot || s->statement_count == STATEMENT_CACHE_SIZE ? 0
                                                                        : SQLITE_PREPARE_PERSISTENT;
    if (sqlite3_prepare_v3(s->db, sql, -1, flags, stmt, NULL) != SQLITE_OK)
        return db_error(s);
    if (flags)
        s->statements[s->statement_count++] = (cached_statement_t){sql, *stmt, true};
    return PGPDESK_STATUS_SUCCESS;
}

void
finish(sqlite_store_t *s, sqlite3_stmt *stmt)
{
    for (size_t i = 0; i < s->statement_count; i++) {
        if (s->statements[i].stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            s->statements[i].in_use = false;
            return;
        }
    }
    sqlite3_finalize(stmt);
}

/* Runs a statement that returns no rows and finishes it. */
pgpdesk_status_t
step_done(sqlite_store_t *s, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    pgpdesk_status_t st = rc == SQLITE_DONE ? PGPDESK_STATUS_SUCCESS : db_error(s);
    finish(s, stmt);
    return st;
}

static void
sqlite_close(store_t *store)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    if (!s)
        return;
    for (size_t i = 0; i < s->statement_count; i++)
        sqlite3_finalize(s->statements[i].stmt);
    sqlite3_close_v2(s->db);
    free(s);
}

/* One write transaction at a time per process. SQLite lets only one writer in anyway; the
 * others would poll for the lock (busy_nap), each nap a sleep past the moment it is free.
 * Queued here, the next writer starts as soon as the last one commits. Other processes
 * (the CLI) still meet busy_nap. */
static pthread_mutex_t write_turn = PTHREAD_MUTEX_INITIALIZER;

static void
end_write_turn(sqlite_store_t *s)
{
    if (s->writing) {
        s->writing = false;
        pthread_mutex_unlock(&write_turn);
    }
}

static pgpdesk_status_t
sqlite_begin(store_t *store)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    pthread_mutex_lock(&write_turn);
    s->writing = true;
    pgpdesk_status_t st = run_sql(s, "BEGIN IMMEDIATE");
    if (st)
        end_write_turn(s);
    return st;
}

static pgpdesk_status_t
sqlite_begin_read(store_t *store)
{
    return run_sql((sqlite_store_t *) store, "BEGIN DEFERRED");
}

static pgpdesk_status_t
sqlite_commit(store_t *store)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    pgpdesk_status_t st = run_sql(s, "COMMIT");
    end_write_turn(s);
    return st;
}

static void
sqlite_rollback(store_t *store)
{
    run_sql((sqlite_store_t *) store, "ROLLBACK");
    end_write_turn((sqlite_store_t *) store);
}

static pgpdesk_status_t
sqlite_meta_get(store_t *store, const char *name, char **value)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, "SELECT value FROM meta WHERE name = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *value = strdup((const char *) sqlite3_column_text(stmt, 0));
        st = *value ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_OUT_OF_MEMORY;
    } else {
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_KEY_NOT_FOUND : db_error(s);
    }
    finish(s, stmt);
    return st;
}

static pgpdesk_status_t
sqlite_meta_set(store_t *store, const char *name, const char *value)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "INSERT INTO meta (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    return step_done(s, stmt);
}

/* ---------------------------------------------------------------- keys */

#define KEY_COLUMNS                                                                         \
    "k.id, k.fingerprint, k.name, k.user_ids, k.created_at, k.expires_at, k.revoked,"       \
    " k.algorithm, k.bits, k.sign_until, k.encrypt_until, k.domain_alias,"                  \
    " k.secret_key IS NOT NULL"
#define KEY_MATERIAL_COLUMNS ", k.public_key, k.secret_key, k.passphrase"

char *
column_text(sqlite3_stmt *stmt, int i)
{
    const unsigned char *t = sqlite3_column_text(stmt, i);
    return t ? strdup((const char *) t) : NULL;
}

bool
column_blob(sqlite3_stmt *stmt, int i, uint8_t **out, size_t *size)
{
    const void *blob = sqlite3_column_blob(stmt, i);
    *size = (size_t) sqlite3_column_bytes(stmt, i);
    *out = NULL;
    if (!blob)
        return true;
    *out = malloc(*size ? *size : 1);
    if (!*out)
        return false;
    memcpy(*out, blob, *size);
    return true;
}

/* Derives the e-mail list from the user ids, so the list cannot disagree with them. */
static bool
fill_emails(pgpdesk_key_t *key)
{
    for (size_t i = 0; i < key->user_id_count; i++) {
        char *email = pd_email_from_user_id(key->user_ids[i]);
        if (!email)
            continue;
        bool seen = false;
        for (size_t j = 0; j < key->email_count && !seen; j++)
            seen = strcmp(key->emails[j], email) == 0;
        bool ok = seen || pd_strv_push(&key->emails, &key->email_count, email);
        free(email);
        if (!ok)
            return false;
    }
    return true;
}

static bool
read_key_row(sqlite3_stmt *stmt, bool material, store_key_record_t *rec)
{
    memset(rec, 0, sizeof *rec);
    pgpdesk_key_t *k = &rec->info;
    int64_t now = pd_now();
    k->id = sqlite3_column_int64(stmt, 0);
    snprintf(k->fingerprint, sizeof k->fingerprint, "%s", sqlite3_column_text(stmt, 1));
    k->name = column_text(stmt, 2);
    json_t *uids = json_loads((const char *) sqlite3_column_text(stmt, 3), 0, NULL);
    size_t i;
    json_t *uid;
    bool ok = k->name != NULL;
    json_array_foreach (uids, i, uid)
        ok = ok && pd_strv_push(&k->user_ids, &k->user_id_count, json_string_value(uid));
    json_decref(uids);
    k->created_at = sqlite3_column_int64(stmt, 4);
    k->expires_at = sqlite3_column_int64(stmt, 5);
    k->expired = k->expires_at != 0 && k->expires_at <= now;
    k->revoked = sqlite3_column_int(stmt, 6) != 0;
    k->algorithm = column_text(stmt, 7);
    k->bits = (unsigned) sqlite3_column_int(stmt, 8);
    rec->sign_until = sqlite3_column_int64(stmt, 9);
    rec->encrypt_until = sqlite3_column_int64(stmt, 10);
    k->domain_alias = column_text(stmt, 11);
    k->secret = sqlite3_column_int(stmt, 12) != 0;
    k->can_sign = !k->revoked && rec->sign_until > now;
    k->can_encrypt = !k->revoked && rec->encrypt_until > now;
    ok = ok && k->algorithm && fill_emails(k);
    if (material)
        ok = ok && column_blob(stmt, 13, &rec->public_key, &rec->public_key_size) &&
             column_blob(stmt, 14, &rec->secret_sealed, &rec->secret_sealed_size) &&
             column_blob(stmt, 15, &rec->passphrase_sealed, &rec->passphrase_sealed_size);
    if (!ok)
        store_key_record_clear(rec);
    return ok;
}

static pgpdesk_status_t
sqlite_key_get(store_t *store, const char *fpr, store_key_record_t *rec)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT " KEY_COLUMNS KEY_MATERIAL_COLUMNS " FROM keys k WHERE k.fingerprint = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        st = read_key_row(stmt, true, rec) ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_OUT_OF_MEMORY;
    else
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_KEY_NOT_FOUND : db_error(s);
    finish(s, stmt);
    return st;
}

static void
bind_blob_or_null(sqlite3_stmt *stmt, int i, const uint8_t *blob, size_t size)
{
    if (blob)
        sqlite3_bind_blob(stmt, i, blob, (int) size, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, i);
}

/* Replaces the rows of an index table (key_emails, key_fingerprints) for one key. */
static pgpdesk_status_t
put_index(sqlite_store_t *s, int64_t key_id, const char *delete_sql, const char *insert_sql,
          const char *(*value)(const store_key_record_t *, size_t), size_t count,
          const store_key_record_t *rec)
{
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, delete_sql, &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, key_id);
    if ((st = step_done(s, stmt)) || (st = prepare(s, insert_sql, &stmt)))
        return st;
    for (size_t i = 0; i < count && !st; i++) {
        const char *v = value(rec, i);
        sqlite3_bind_int64(stmt, 1, key_id);
        sqlite3_bind_text(stmt, 2, v, -1, SQLITE_STATIC);
        /* a v4 key id is the low 64 bits of the fingerprint */
        if (sqlite3_bind_parameter_count(stmt) == 3)
            sqlite3_bind_text(stmt, 3, v + strlen(v) - 16, -1, SQLITE_STATIC);
        if (sqlite3_step(stmt) != SQLITE_DONE)
            st = db_error(s);
        sqlite3_reset(stmt);
    }
    finish(s, stmt);
    return st;
}

static const char *
email_at(const store_key_record_t *rec, size_t i)
{
    return rec->info.emails[i];
}

static const char *
fingerprint_at(const store_key_record_t *rec, size_t i)
{
    return rec->fingerprints[i];
}

static pgpdesk_status_t
sqlite_key_put(store_t *store, store_key_record_t *rec)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    pgpdesk_key_t *k = &rec->info;
    json_t *uids = json_array();
    for (size_t i = 0; i < k->user_id_count; i++)
        json_array_append_new(uids, json_string(k->user_ids[i]));
    char *uids_text = json_dumps(uids, JSON_COMPACT);
    json_decref(uids);
    if (!uids_text)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "INSERT INTO keys (fingerprint, name, user_ids, created_at, expires_at, revoked,"
        " algorithm, bits, sign_until, encrypt_until, domain_alias, public_key, secret_key,"
        " passphrase, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (fingerprint) DO UPDATE SET name = excluded.name,"
        " user_ids = excluded.user_ids, created_at = excluded.created_at,"
        " expires_at = excluded.expires_at, revoked = excluded.revoked,"
        " algorithm = excluded.algorithm, bits = excluded.bits,"
        " sign_until = excluded.sign_until, encrypt_until = excluded.encrypt_until,"
        " domain_alias = excluded.domain_alias, public_key = excluded.public_key,"
        " secret_key = excluded.secret_key, passphrase = excluded.passphrase,"
        " updated_at = excluded.updated_at"
        " RETURNING id", &stmt);
    if (st) {
        free(uids_text);
        return st;
    }
    sqlite3_bind_text(stmt, 1, k->fingerprint, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, k->name ? k->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, uids_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, k->created_at);
    if (k->expires_at)
        sqlite3_bind_int64(stmt, 5, k->expires_at);
    else
        sqlite3_bind_null(stmt, 5);
    sqlite3_bind_int(stmt, 6, k->revoked);
    sqlite3_bind_text(stmt, 7, k->algorithm, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 8, (int) k->bits);
    sqlite3_bind_int64(stmt, 9, rec->sign_until);
    sqlite3_bind_int64(stmt, 10, rec->encrypt_until);
    if (k->domain_alias)
        sqlite3_bind_text(stmt, 11, k->domain_alias, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 11);
    bind_blob_or_null(stmt, 12, rec->public_key, rec->public_key_size);
    bind_blob_or_null(stmt, 13, rec->secret_sealed, rec->secret_sealed_size);
    bind_blob_or_null(stmt, 14, rec->passphrase_sealed, rec->passphrase_sealed_size);
    sqlite3_bind_int64(stmt, 15, pd_now());
    if (sqlite3_step(stmt) == SQLITE_ROW)
        k->id = sqlite3_column_int64(stmt, 0);
    else
        st = db_error(s);
    finish(s, stmt);
    free(uids_text);
    if (!st)
        st = put_index(s, k->id, "DELETE FROM key_emails WHERE key_id = ?",
                       "INSERT INTO key_emails (key_id, email) VALUES (?, ?)", email_at,
                       k->email_count, rec);
    if (!st && rec->fingerprint_count)
        st = put_index(s, k->id, "DELETE FROM key_fingerprints WHERE key_id = ?",
                       "INSERT INTO key_fingerprints (key_id, fingerprint, keyid) VALUES (?, ?, ?)",
                       fingerprint_at, rec->fingerprint_count, rec);
    return st;
}

static pgpdesk_status_t
sqlite_key_fingerprint(store_t *store, int64_t id, char fpr[PGPDESK_FINGERPRINT_SIZE])
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, "SELECT fingerprint FROM keys WHERE id = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        snprintf(fpr, PGPDESK_FINGERPRINT_SIZE, "%s", sqlite3_column_text(stmt, 0));
    else
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_KEY_NOT_FOUND : db_error(s);
    finish(s, stmt);
    return st;
}

static pgpdesk_status_t
sqlite_key_delete(store_t *store, const char *fpr)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, "DELETE FROM keys WHERE fingerprint = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, fpr, -1, SQLITE_STATIC);
    if ((st = step_done(s, stmt)))
        return st;
    return sqlite3_changes(s->db) ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_KEY_NOT_FOUND;
}

pgpdesk_status_t
collect_rows(sqlite_store_t *s, sqlite3_stmt *stmt, size_t item_size, row_reader_t read,
             void *ctx, void **items, size_t *count)
{
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    uint8_t *list = NULL;
    size_t n = 0;
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        uint8_t *grown = realloc(list, (n + 1) * item_size);
        if (!grown) {
            st = PGPDESK_STATUS_OUT_OF_MEMORY;
            break;
        }
        list = grown;
        memset(list + n * item_size, 0, item_size);
        /* Counted before it is read, so a half-read item is released with the rest. */
        if (!read(stmt, list + n++ * item_size, ctx)) {
            st = PGPDESK_STATUS_OUT_OF_MEMORY;
            break;
        }
    }
    if (!st && rc != SQLITE_DONE)
        st = db_error(s);
    finish(s, stmt);
    *items = list;
    *count = n;
    return st;
}

static bool
read_key_item(sqlite3_stmt *stmt, void *item, void *material)
{
    return read_key_row(stmt, *(bool *) material, item);
}

/* Steps a prepared key query to its end, collecting the rows; finalizes stmt. */
static pgpdesk_status_t
collect_keys(sqlite_store_t *s, sqlite3_stmt *stmt, bool material, store_key_record_t **recs,
             size_t *count)
{
    pgpdesk_status_t st = collect_rows(s, stmt, sizeof **recs, read_key_item, &material,
                                       (void **) recs, count);
    if (st) {
        for (size_t i = 0; i < *count; i++)
            store_key_record_clear(&(*recs)[i]);
        free(*recs);
    }
    return st;
}

static pgpdesk_status_t
sqlite_key_list(store_t *store, const char *email, store_key_record_t **recs, size_t *count)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, email
        ? "SELECT " KEY_COLUMNS " FROM keys k WHERE k.id IN"
          " (SELECT key_id FROM key_emails WHERE email = ?) OR k.domain_alias = ?"
          " ORDER BY k.created_at DESC, k.id DESC"
        : "SELECT " KEY_COLUMNS " FROM keys k ORDER BY k.created_at DESC, k.id DESC", &stmt);
    if (st)
        return st;
    if (email) {
        sqlite3_bind_text(stmt, 1, email, -1, SQLITE_STATIC);
        const char *domain = pd_email_domain(email);
        sqlite3_bind_text(stmt, 2, domain ? domain : "", -1, SQLITE_STATIC);
    }
    return collect_keys(s, stmt, false, recs, count);
}

static pgpdesk_status_t
sqlite_key_find_by_id(store_t *store, const char *id, store_key_record_t **recs, size_t *count)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT " KEY_COLUMNS KEY_MATERIAL_COLUMNS " FROM keys k WHERE k.id IN"
        " (SELECT key_id FROM key_fingerprints WHERE fingerprint = ? OR keyid = ?)"
        " ORDER BY k.created_at DESC, k.id DESC", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
    return collect_keys(s, stmt, true, recs, count);
}

void
bind_text_or_null(sqlite3_stmt *stmt, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, i);
}

void
store_key_record_clear(store_key_record_t *rec)
{
    if (!rec)
        return;
    pgpdesk_key_t *k = &rec->info;
    free(k->name);
    pd_strv_free(k->user_ids, k->user_id_count);
    pd_strv_free(k->emails, k->email_count);
    free(k->algorithm);
    free(k->domain_alias);
    free(rec->public_key);
    free(rec->secret_sealed);
    free(rec->passphrase_sealed);
    free(rec->fingerprints);
    memset(rec, 0, sizeof *rec);
}

/* ---------------------------------------------------------------- open and migrate */

static int
schema_version(sqlite_store_t *s)
{
    sqlite3_stmt *stmt = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    finish(s, stmt);
    return version;
}

static pgpdesk_status_t
migrate(sqlite_store_t *s)
{
    pgpdesk_status_t st = exec_sql(s, "BEGIN IMMEDIATE");
    if (st)
        return st;
    int version = schema_version(s);
    if (version > SCHEMA_VERSION) {
        sqlite_rollback(&s->base);
        return PGPDESK_STATUS_SCHEMA_TOO_NEW;
    }
    for (; version < SCHEMA_VERSION && !st; version++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version + 1);
        st = exec_sql(s, migrations[version]);
        if (!st)
            st = exec_sql(s, pragma);
    }
    if (st) {
        sqlite_rollback(&s->base);
        return st;
    }
    return exec_sql(s, "COMMIT");
}

static const store_ops_t sqlite_ops = {
    .close = sqlite_close,
    .begin = sqlite_begin,
    .begin_read = sqlite_begin_read,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .meta_get = sqlite_meta_get,
    .meta_set = sqlite_meta_set,
    .key_get = sqlite_key_get,
    .key_put = sqlite_key_put,
    .key_delete = sqlite_key_delete,
    .key_fingerprint = sqlite_key_fingerprint,
    .key_list = sqlite_key_list,
    .key_find_by_id = sqlite_key_find_by_id,
    .article_insert = sqlite_article_insert,
    .article_update = sqlite_article_update,
    .article_get = sqlite_article_get,
    .article_list = sqlite_article_list,
    .log_insert = sqlite_log_insert,
    .log_purge = sqlite_log_purge,
    .log_list = sqlite_log_list,
    .group_put = sqlite_group_put,
    .group_delete = sqlite_group_delete,
    .group_list = sqlite_group_list,
    .user_insert = sqlite_user_insert,
    .user_set_password = sqlite_user_set_password,
    .user_delete = sqlite_user_delete,
    .user_find = sqlite_user_find,
    .user_list = sqlite_user_list,
    .credential_insert = sqlite_credential_insert,
    .credential_find = sqlite_credential_find,
    .credential_delete = sqlite_credential_delete,
};

/* How long a writer waits for another (a server thread, the CLI) to finish. */
#define BUSY_WAIT_US (5 * 1000 * 1000)
#define BUSY_NAP_US 50

/* Handles in several threads or processes write to one database. SQLite's own busy wait naps
 * 1, 2, 5, 10 ms and more, where a write transaction here lasts about 0.1 ms: the waiting
 * thread would idle for ten times the work. Short naps let it in as soon as the lock is free,
 * so sending scales with the server's threads. */
static int
busy_nap(void *ctx, int count)
{
    if ((long long) count * BUSY_NAP_US >= BUSY_WAIT_US)
        return 0;
    struct timespec nap = {.tv_nsec = BUSY_NAP_US * 1000};
    nanosleep(&nap, NULL);
    return 1;
}

static bool vfs_registered;

/* SQLite counts every allocation under one process-wide mutex unless told not to: with a
 * handle per server thread, that mutex was the most contended lock of a send. Set before
 * SQLite initializes (if the program initialized it already, the call is refused, harmlessly).
 * Then our file layer (store-sqlite-vfs.c) joins SQLite's. */
static void
configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    vfs_registered = store_sqlite_vfs_register();
}

pgpdesk_status_t
store_sqlite_open(const char *path, store_t **out, char *errmsg, size_t errmsg_size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    sqlite_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    s->base.ops = &sqlite_ops;
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        vfs_registered ? STORE_SQLITE_VFS : NULL) != SQLITE_OK)
        st = db_error(s);
    if (!st) {
        sqlite3_busy_handler(s->db, busy_nap, NULL);
        /* secure_delete: a deleted private key does not linger in free pages.
         * synchronous NORMAL: in WAL mode a commit is atomic and survives a crash of the
         * process; only a power loss may undo the last commits (SQLite's own advice for WAL),
         * and an fsync per message would cap throughput at the disk's flush rate. */
        st = exec_sql(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                         " PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");
    }
    if (!st)
        st = migrate(s);
    if (st) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, s->base.errmsg);
        sqlite_close(&s->base);
        return st;
    }
    *out = &s->base;
    return PGPDESK_STATUS_SUCCESS;
}
