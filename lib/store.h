/* store.h - the storage interface. The key store, articles and logs reach the database only
 * through these calls; store-sqlite.c implements them now, a PostgreSQL backend later. The SQL
 * behind them is kept to what both accept. */
#ifndef PGPDESK_STORE_H
#define PGPDESK_STORE_H

#include "pgpdesk.h"

typedef struct store store_t;

/* A key row: the public description plus the material. Secret fields are sealed blobs. */
typedef struct store_key_record {
    pgpdesk_key_t info;      /* info.expired/can_sign/can_encrypt are derived on read */
    int64_t sign_until;      /* see openpgp_key_facts_t */
    int64_t encrypt_until;
    uint8_t *public_key;     /* binary transferable public key */
    size_t public_key_size;
    uint8_t *secret_sealed;  /* NULL when public only */
    size_t secret_sealed_size;
    uint8_t *passphrase_sealed; /* NULL when none */
    size_t passphrase_sealed_size;
    char (*fingerprints)[PGPDESK_FINGERPRINT_SIZE]; /* on put: primary and subkeys, indexed */
    size_t fingerprint_count;
} store_key_record_t;

void store_key_record_clear(store_key_record_t *rec);

/* What processing found out about an article. Strings may be NULL. */
typedef struct store_article_fields {
    const uint8_t *mime; /* the processed view, or NULL; with mime_file: the start of it */
    size_t mime_size;
    const char *mime_file; /* the body file holding (the rest of) it (spool.h), or NULL */
    const char *from, *to, *cc, *subject, *message_id;
    const char *security_json;
    int64_t group_id; /* the group it is filed under; 0: none */
} store_article_fields_t;

typedef struct store_ops {
    void (*close)(store_t *store);
    pgpdesk_status_t (*begin)(store_t *store);
    /* A read-only transaction: the reads until commit() share one snapshot and one lock. */
    pgpdesk_status_t (*begin_read)(store_t *store);
    pgpdesk_status_t (*commit)(store_t *store);
    void (*rollback)(store_t *store);
    /* value: malloc'd, caller frees; KEY_NOT_FOUND when unset. */
    pgpdesk_status_t (*meta_get)(store_t *store, const char *name, char **value);
    pgpdesk_status_t (*meta_set)(store_t *store, const char *name, const char *value);
    /* rec: filled on success; caller clears it with store_key_record_clear(). */
    pgpdesk_status_t (*key_get)(store_t *store, const char *fpr, store_key_record_t *rec);
    /* Inserts or replaces the row for rec->info.fingerprint and its e-mail index;
     * sets rec->info.id. */
    pgpdesk_status_t (*key_put)(store_t *store, store_key_record_t *rec);
    pgpdesk_status_t (*key_delete)(store_t *store, const char *fpr);
    /* The fingerprint of the key with store id id. KEY_NOT_FOUND if absent. */
    pgpdesk_status_t (*key_fingerprint)(store_t *store, int64_t id,
                                        char fpr[PGPDESK_FINGERPRINT_SIZE]);
    /* Every key (email NULL) or the keys for email or its domain alias, newest first, without
     * material. recs: malloc'd array; caller clears each and frees it. */
    pgpdesk_status_t (*key_list)(store_t *store, const char *email, store_key_record_t **recs,
                                 size_t *count);
    /* The keys having a primary key or subkey with this key id (16 hex) or fingerprint (40 hex),
     * with material. recs: malloc'd array; caller clears each and frees it. */
    pgpdesk_status_t (*key_find_by_id)(store_t *store, const char *id, store_key_record_t **recs,
                                       size_t *count);

    /* raw_file: NULL, or the body file holding the raw message (raw is then ignored).
     * fields: what processing found, stored in the same statement; NULL to store the raw
     * message alone (it is filled in later with article_update). */
    pgpdesk_status_t (*article_insert)(store_t *store, const char *direction, const void *raw,
                                       size_t size, const char *raw_file, int64_t created_at,
                                       const store_article_fields_t *fields, int64_t *id);
    /* A group_id of 0 leaves the article's group as it is. */
    pgpdesk_status_t (*article_update)(store_t *store, int64_t id,
                                       const store_article_fields_t *fields);
    /* out: caller destroys with pgpdesk_article_destroy(). ARTICLE_NOT_FOUND if absent.
     * raw_file, mime_file: the body files holding raw and mime (then left NULL in out), else
     * NULL; malloc'd, caller frees. */
    pgpdesk_status_t (*article_get)(store_t *store, int64_t id, pgpdesk_article_t **out,
                                    char **raw_file, char **mime_file);
    /* Newest first, without raw and mime. out: caller destroys it. */
    pgpdesk_status_t (*article_list)(store_t *store, int64_t group_id, size_t limit,
                                     size_t offset, pgpdesk_article_list_t **out);

    pgpdesk_status_t (*log_insert)(store_t *store, int64_t created_at, const char *direction,
                                   const char *method, const char *status, const char *from_to,
                                   const char *message_id, const char *detail_json);
    pgpdesk_status_t (*log_purge)(store_t *store, int64_t older_than);
    /* out: caller destroys with pgpdesk_log_list_destroy(). */
    pgpdesk_status_t (*log_list)(store_t *store, size_t limit, pgpdesk_log_list_t **out);

    /* Inserts (group->id == 0; sets it) or replaces a group. GROUP_EXISTS for a taken name. */
    pgpdesk_status_t (*group_put)(store_t *store, pgpdesk_group_t *group);
    pgpdesk_status_t (*group_delete)(store_t *store, int64_t id);
    /* One group (id) or all (id 0), by name. out: caller destroys it. */
    pgpdesk_status_t (*group_list)(store_t *store, int64_t id, pgpdesk_group_list_t **out);

    /* USER_EXISTS for a taken login. */
    pgpdesk_status_t (*user_insert)(store_t *store, const char *login, const char *password_hash,
                                    pgpdesk_role_t role, int64_t created_at, int64_t *id);
    pgpdesk_status_t (*user_set_password)(store_t *store, const char *login,
                                          const char *password_hash);
    pgpdesk_status_t (*user_delete)(store_t *store, const char *login);
    /* By login (not NULL) or id. out, password_hash (may be NULL): caller frees. */
    pgpdesk_status_t (*user_find)(store_t *store, const char *login, int64_t id,
                                  pgpdesk_user_t **out, char **password_hash);
    pgpdesk_status_t (*user_list)(store_t *store, pgpdesk_user_list_t **out);

    /* API tokens (kind "token") and sessions (kind "session"), stored as hashes. */
    pgpdesk_status_t (*credential_insert)(store_t *store, const char *kind,
                                          const char *secret_hash, int64_t user_id,
                                          const char *csrf_hash, int64_t expires_at);
    /* AUTH_FAILED when unknown or expired at now. csrf_hash: caller frees (may be NULL). */
    pgpdesk_status_t (*credential_find)(store_t *store, const char *kind, const char *secret_hash,
                                        int64_t now, int64_t *user_id, char **csrf_hash);
    pgpdesk_status_t (*credential_delete)(store_t *store, const char *kind,
                                          const char *secret_hash);
} store_ops_t;

struct store {
    const store_ops_t *ops;
    char errmsg[256]; /* the backend's own words for the last DATABASE_ERROR */
};

/* Opens (creating and migrating) a SQLite database. out: close with out->ops->close().
 * errmsg: on failure, what the database said. */
pgpdesk_status_t store_sqlite_open(const char *path, store_t **out, char *errmsg,
                                   size_t errmsg_size);

#endif
