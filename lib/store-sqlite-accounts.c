/* store-sqlite-accounts.c - the SQLite backend's groups, users and credentials (API tokens and
 * browser sessions, kept as hashes only). */
#include "store-sqlite.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- groups */

static void
bind_default(sqlite3_stmt *stmt, int i, pgpdesk_default_t value)
{
    if (value == PGPDESK_DEFAULT_UNSET)
        sqlite3_bind_null(stmt, i);
    else
        sqlite3_bind_int(stmt, i, value == PGPDESK_DEFAULT_ON);
}

static pgpdesk_default_t
column_default(sqlite3_stmt *stmt, int i)
{
    if (sqlite3_column_type(stmt, i) == SQLITE_NULL)
        return PGPDESK_DEFAULT_UNSET;
    return sqlite3_column_int(stmt, i) ? PGPDESK_DEFAULT_ON : PGPDESK_DEFAULT_OFF;
}

static bool
is_unique_violation(sqlite_store_t *s)
{
    return sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE;
}

pgpdesk_status_t
sqlite_group_put(store_t *store, pgpdesk_group_t *g)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, g->id
        ? "UPDATE groups SET name = ?, email = ?, sign_default = ?, encrypt_default = ?,"
          " policy = ? WHERE id = ?"
        : "INSERT INTO groups (name, email, sign_default, encrypt_default, policy)"
          " VALUES (?, ?, ?, ?, ?) RETURNING id", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, g->name, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 2, g->email);
    bind_default(stmt, 3, g->sign_default);
    bind_default(stmt, 4, g->encrypt_default);
    sqlite3_bind_text(stmt, 5, g->policy == PGPDESK_POLICY_REQUIRED ? "required" : "optional", -1,
                      SQLITE_STATIC);
    if (g->id)
        sqlite3_bind_int64(stmt, 6, g->id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        g->id = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = is_unique_violation(s) ? PGPDESK_STATUS_GROUP_EXISTS : db_error(s);
    else if (sqlite3_changes(s->db) == 0)
        st = PGPDESK_STATUS_GROUP_NOT_FOUND;
    finish(s, stmt);
    return st;
}

pgpdesk_status_t
sqlite_group_delete(store_t *store, int64_t id)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, "DELETE FROM groups WHERE id = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    if ((st = step_done(s, stmt)))
        return st;
    return sqlite3_changes(s->db) ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_GROUP_NOT_FOUND;
}

static bool
read_group_row(sqlite3_stmt *stmt, void *item, void *ctx)
{
    pgpdesk_group_t *g = item;
    g->id = sqlite3_column_int64(stmt, 0);
    g->name = column_text(stmt, 1);
    g->email = column_text(stmt, 2);
    g->sign_default = column_default(stmt, 3);
    g->encrypt_default = column_default(stmt, 4);
    return g->name && pgpdesk_policy_from_string((const char *) sqlite3_column_text(stmt, 5),
                                                 &g->policy);
}

pgpdesk_status_t
sqlite_group_list(store_t *store, int64_t id, pgpdesk_group_list_t **out)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT id, name, email, sign_default, encrypt_default, policy FROM groups"
        " WHERE ? = 0 OR id = ? ORDER BY name", &stmt);
    if (st)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, id);
    pgpdesk_group_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        finish(s, stmt);
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    st = collect_rows(s, stmt, sizeof *list->groups, read_group_row, NULL, (void **) &list->groups,
                      &list->count);
    if (st) {
        pgpdesk_group_list_destroy(list);
        return st;
    }
    *out = list;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- users */

static const char *
role_name(pgpdesk_role_t role)
{
    return role == PGPDESK_ROLE_ADMIN ? "admin" : "agent";
}

static void
read_user_row(sqlite3_stmt *stmt, pgpdesk_user_t *u)
{
    u->id = sqlite3_column_int64(stmt, 0);
    u->login = column_text(stmt, 1);
    u->role = strcmp((const char *) sqlite3_column_text(stmt, 2), "admin") == 0
                  ? PGPDESK_ROLE_ADMIN
                  : PGPDESK_ROLE_AGENT;
    u->created_at = sqlite3_column_int64(stmt, 3);
}

pgpdesk_status_t
sqlite_user_insert(store_t *store, const char *login, const char *password_hash,
                   pgpdesk_role_t role, int64_t created_at, int64_t *id)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "INSERT INTO users (login, password_hash, role, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, login, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, role_name(role), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, created_at);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *id = sqlite3_column_int64(stmt, 0);
    else
        st = is_unique_violation(s) ? PGPDESK_STATUS_USER_EXISTS : db_error(s);
    finish(s, stmt);
    return st;
}

/* Runs a one-row UPDATE/DELETE keyed by login; USER_NOT_FOUND when no row changed. */
static pgpdesk_status_t
change_user(sqlite_store_t *s, const char *sql, const char *first, const char *login)
{
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, sql, &stmt);
    if (st)
        return st;
    int i = 1;
    if (first)
        sqlite3_bind_text(stmt, i++, first, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, i, login, -1, SQLITE_STATIC);
    if ((st = step_done(s, stmt)))
        return st;
    return sqlite3_changes(s->db) ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_USER_NOT_FOUND;
}

pgpdesk_status_t
sqlite_user_set_password(store_t *store, const char *login, const char *password_hash)
{
    return change_user((sqlite_store_t *) store,
                       "UPDATE users SET password_hash = ? WHERE login = ?", password_hash, login);
}

pgpdesk_status_t
sqlite_user_delete(store_t *store, const char *login)
{
    return change_user((sqlite_store_t *) store, "DELETE FROM users WHERE login = ?", NULL, login);
}

pgpdesk_status_t
sqlite_user_find(store_t *store, const char *login, int64_t id, pgpdesk_user_t **out,
                 char **password_hash)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s, login
        ? "SELECT id, login, role, created_at, password_hash FROM users WHERE login = ?"
        : "SELECT id, login, role, created_at, password_hash FROM users WHERE id = ?", &stmt);
    if (st)
        return st;
    if (login)
        sqlite3_bind_text(stmt, 1, login, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        pgpdesk_user_t *u = calloc(1, sizeof *u);
        if (u) {
            read_user_row(stmt, u);
            if (password_hash)
                *password_hash = column_text(stmt, 4);
            *out = u;
        } else {
            st = PGPDESK_STATUS_OUT_OF_MEMORY;
        }
    } else {
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_USER_NOT_FOUND : db_error(s);
    }
    finish(s, stmt);
    return st;
}

static bool
read_user_item(sqlite3_stmt *stmt, void *item, void *ctx)
{
    read_user_row(stmt, item);
    return ((pgpdesk_user_t *) item)->login != NULL;
}

pgpdesk_status_t
sqlite_user_list(store_t *store, pgpdesk_user_list_t **out)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st =
        prepare(s, "SELECT id, login, role, created_at FROM users ORDER BY login", &stmt);
    if (st)
        return st;
    pgpdesk_user_list_t *list = calloc(1, sizeof *list);
    if (!list) {
        finish(s, stmt);
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    st = collect_rows(s, stmt, sizeof *list->users, read_user_item, NULL, (void **) &list->users,
                      &list->count);
    if (st) {
        pgpdesk_user_list_destroy(list);
        return st;
    }
    *out = list;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- credentials */

pgpdesk_status_t
sqlite_credential_insert(store_t *store, const char *kind, const char *secret_hash,
                         int64_t user_id, const char *csrf_hash, int64_t expires_at)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "INSERT INTO credentials (kind, secret_hash, user_id, csrf_hash, expires_at)"
        " VALUES (?, ?, ?, ?, ?)", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, secret_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, user_id);
    bind_text_or_null(stmt, 4, csrf_hash);
    sqlite3_bind_int64(stmt, 5, expires_at);
    return step_done(s, stmt);
}

pgpdesk_status_t
sqlite_credential_find(store_t *store, const char *kind, const char *secret_hash, int64_t now,
                       int64_t *user_id, char **csrf_hash)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st = prepare(s,
        "SELECT user_id, csrf_hash FROM credentials WHERE kind = ? AND secret_hash = ?"
        " AND (expires_at = 0 OR expires_at > ?)", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, secret_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *user_id = sqlite3_column_int64(stmt, 0);
        if (csrf_hash)
            *csrf_hash = column_text(stmt, 1);
    } else {
        st = rc == SQLITE_DONE ? PGPDESK_STATUS_AUTH_FAILED : db_error(s);
    }
    finish(s, stmt);
    return st;
}

pgpdesk_status_t
sqlite_credential_delete(store_t *store, const char *kind, const char *secret_hash)
{
    sqlite_store_t *s = (sqlite_store_t *) store;
    sqlite3_stmt *stmt = NULL;
    pgpdesk_status_t st =
        prepare(s, "DELETE FROM credentials WHERE kind = ? AND secret_hash = ?", &stmt);
    if (st)
        return st;
    sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, secret_hash, -1, SQLITE_STATIC);
    return step_done(s, stmt);
}
