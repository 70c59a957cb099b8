/* pgpdesk.h - the public contract of libpgpdesk.
 *
 * pgpdesk is an OpenPGP secure-mail library for helpdesk mailboxes: a key store with secrets
 * sealed at rest, PGP/MIME processing and an audit log. This header is the only one the CLI and
 * the server include; everything in lib/ besides it is private.
 *
 * Conventions (after SQLite and the RNP FFI):
 *   - handles are opaque; every _create/_open has a _destroy/_close that accepts NULL;
 *   - functions return pgpdesk_status_t; out-parameters are written only on success and each
 *     says who frees it;
 *   - the library never prints and never exits.
 */
#ifndef PGPDESK_H
#define PGPDESK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Append-only: a released value never changes meaning. */
typedef enum pgpdesk_status {
    PGPDESK_STATUS_SUCCESS = 0,
    PGPDESK_STATUS_OUT_OF_MEMORY = 1,
    PGPDESK_STATUS_INVALID_ARGUMENT = 2,
    PGPDESK_STATUS_IO_ERROR = 3,
    PGPDESK_STATUS_DATABASE_ERROR = 4,
    PGPDESK_STATUS_MASTER_KEY_MISSING = 5,
    PGPDESK_STATUS_MASTER_KEY_MISMATCH = 6,
    PGPDESK_STATUS_NO_VALID_DATA = 7,
    PGPDESK_STATUS_NOT_ARMORED = 8,
    PGPDESK_STATUS_INPUT_TOO_LARGE = 9,
    PGPDESK_STATUS_USER_ID_TOO_LONG = 10,
    PGPDESK_STATUS_TOO_MANY_USER_IDS = 11,
    PGPDESK_STATUS_DUPLICATE_KEY = 12,
    PGPDESK_STATUS_PASSPHRASE_MISSING = 13,
    PGPDESK_STATUS_PASSPHRASE_INVALID = 14,
    PGPDESK_STATUS_NOT_PRIVATE_KEY = 15,
    PGPDESK_STATUS_KEY_NOT_FOUND = 16,
    PGPDESK_STATUS_CRYPTO_ERROR = 17,
    PGPDESK_STATUS_INVALID_DOMAIN_ALIAS = 18,
    PGPDESK_STATUS_SCHEMA_TOO_NEW = 19,
    PGPDESK_STATUS_NO_SENDER_KEY = 20,      /* "The PGP key for %s was not found." (signing) */
    PGPDESK_STATUS_SENDER_KEY_EXPIRED = 21, /* "The PGP key for %s was found, but has expired." */
    PGPDESK_STATUS_NO_RECIPIENT_KEY = 22,   /* "The PGP key for %s was not found." (encryption) */
    PGPDESK_STATUS_RECIPIENT_KEY_EXPIRED = 23,
    PGPDESK_STATUS_NO_RECIPIENT = 24,       /* "There was no recipient found." */
    PGPDESK_STATUS_MALFORMED_MESSAGE = 25,  /* the draft or message cannot be parsed */
    PGPDESK_STATUS_MESSAGE_TOO_LARGE = 26,
    PGPDESK_STATUS_TIMEOUT = 27,            /* processing exceeded its time limit */
    PGPDESK_STATUS_ARTICLE_NOT_FOUND = 28,
    PGPDESK_STATUS_KEY_REVOKED = 29,        /* "The PGP key for %s has been revoked." */
    PGPDESK_STATUS_NO_SENDER = 30,          /* the draft has no single From address */
    PGPDESK_STATUS_AUTH_FAILED = 31,        /* wrong login, password, token or session */
    PGPDESK_STATUS_USER_EXISTS = 32,
    PGPDESK_STATUS_USER_NOT_FOUND = 33,
    PGPDESK_STATUS_GROUP_NOT_FOUND = 34,
    PGPDESK_STATUS_GROUP_EXISTS = 35,
    PGPDESK_STATUS_INTEGRATION_DISABLED = 36, /* the PGP integration switch is off */
    PGPDESK_STATUS_POLICY_VIOLATION = 37,   /* the group requires signed and encrypted mail */
    PGPDESK_STATUS_WEAK_PASSWORD = 38,      /* shorter than 8 characters */
} pgpdesk_status_t;

/* The stable, user-facing message for a status. Static storage; never NULL. */
const char *pgpdesk_status_to_string(pgpdesk_status_t status);

/* ---------------------------------------------------------------- the handle */

typedef struct pgpdesk pgpdesk_t;

/* Opens (creating if needed) the database at db_path and its master key.
 * master_key_path: NULL means "<db_path>.key". A new database gets a new master key file
 * (mode 0600); an existing database whose master key file is missing or different is refused
 * with PGPDESK_STATUS_MASTER_KEY_MISSING / _MISMATCH and nothing is changed.
 * out: on success a handle the caller closes with pgpdesk_close().
 * error: if not NULL, on failure set to a message naming the file at fault (caller frees it
 * with free()), else to NULL. */
pgpdesk_status_t pgpdesk_open(const char *db_path, const char *master_key_path, pgpdesk_t **out,
                              char **error);

/* Closes the handle and wipes the master key from memory. Accepts NULL. */
void pgpdesk_close(pgpdesk_t *pd);

/* Detail of the last failure on this handle (may name an address or a limit), or the status
 * message when there is no more to say. Owned by the handle; valid until the next call. */
const char *pgpdesk_errmsg(const pgpdesk_t *pd);

/* ---------------------------------------------------------------- the key store */

#define PGPDESK_FINGERPRINT_SIZE 41 /* 40 upper-case hex digits and NUL */

/* Limits on imported key data (abuse protection). */
#define PGPDESK_KEY_INPUT_MAX (5u * 1024u * 1024u)
#define PGPDESK_USER_ID_MAX 2048u
#define PGPDESK_USER_IDS_MAX 100u

/* A stored key as the key store describes it. Never holds secret material. */
typedef struct pgpdesk_key {
    int64_t id;             /* the store's row id (API paths accept it or the fingerprint) */
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    char *name;             /* the primary (or first) valid user id; "" if none */
    char **user_ids;        /* valid user ids only (revoked or unbound ones dropped) */
    size_t user_id_count;
    char **emails;          /* lower-cased addresses from user_ids */
    size_t email_count;
    int64_t created_at;     /* unix time */
    int64_t expires_at;     /* unix time; 0 = never */
    bool expired;           /* as of the moment the record was read */
    bool revoked;
    bool secret;            /* the store holds the private key */
    bool can_sign;          /* a usable (valid, unexpired, unrevoked) signing key exists now */
    bool can_encrypt;       /* a usable encryption key exists now */
    char *algorithm;        /* of the primary key: "RSA", "EDDSA", "ECDSA", ... */
    unsigned bits;
    char *domain_alias;     /* NULL, or a domain: the key serves any address @domain */
} pgpdesk_key_t;

/* Frees a key and its strings. Accepts NULL. */
void pgpdesk_key_destroy(pgpdesk_key_t *key);

typedef struct pgpdesk_key_list {
    pgpdesk_key_t *keys;
    size_t count;
} pgpdesk_key_list_t;

/* Frees a list and every key in it. Accepts NULL. */
void pgpdesk_key_list_destroy(pgpdesk_key_list_t *list);

typedef struct pgpdesk_import_options {
    const char *passphrase;   /* the private key's passphrase; NULL if none was given */
    const char *domain_alias; /* NULL, or a domain this key serves (*@domain) */
    bool armored_only;        /* a paste: binary data is refused with NOT_ARMORED */
} pgpdesk_import_options_t;

typedef enum pgpdesk_import_action {
    PGPDESK_IMPORT_FAILED = 0,
    PGPDESK_IMPORT_ADDED = 1,   /* a new record */
    PGPDESK_IMPORT_UPDATED = 2, /* an existing record: private key added, or a newer copy */
} pgpdesk_import_action_t;

/* What happened to one key of an import. */
typedef struct pgpdesk_import_item {
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    pgpdesk_import_action_t action;
    pgpdesk_status_t status;  /* SUCCESS, or why this key was not imported */
    bool unprotected_secret;  /* warning: the private key has no passphrase */
    pgpdesk_key_t *key;       /* the stored record after import; NULL if it failed */
} pgpdesk_import_item_t;

typedef struct pgpdesk_import_report {
    pgpdesk_import_item_t *items;
    size_t count;
} pgpdesk_import_report_t;

void pgpdesk_import_report_destroy(pgpdesk_import_report_t *report);

/* Imports every key in data (armored or binary, public or private; auto-detected). Each key is
 * imported atomically: all of it or nothing. Third-party certifications are stripped.
 * Returns SUCCESS when every key was imported, else the status of the first that was not (or of
 * the input as a whole: NO_VALID_DATA, NOT_ARMORED, INPUT_TOO_LARGE).
 * report: set whenever at least one key was found, even on failure; caller destroys it with
 * pgpdesk_import_report_destroy(). */
pgpdesk_status_t pgpdesk_keystore_import(pgpdesk_t *pd, const void *data, size_t size,
                                         const pgpdesk_import_options_t *options,
                                         pgpdesk_import_report_t **report);

/* Every stored key, or only those for email (exact, case-insensitive, plus domain-alias keys
 * for its domain) when email is not NULL. Ordered by creation time, newest first.
 * out: caller destroys with pgpdesk_key_list_destroy(). */
pgpdesk_status_t pgpdesk_keystore_list(pgpdesk_t *pd, const char *email, pgpdesk_key_list_t **out);

/* Functions taking a key "fingerprint" below also take the key's store id in decimal.
 * One key by fingerprint (any case, spaces allowed). KEY_NOT_FOUND if absent.
 * out: caller destroys with pgpdesk_key_destroy(). */
pgpdesk_status_t pgpdesk_keystore_get(pgpdesk_t *pd, const char *fingerprint, pgpdesk_key_t **out);

typedef enum pgpdesk_key_purpose {
    PGPDESK_PURPOSE_SIGN = 1,    /* needs the private key and a usable signing key */
    PGPDESK_PURPOSE_ENCRYPT = 2, /* needs a usable encryption key */
} pgpdesk_key_purpose_t;

/* The newest usable key for email and purpose: expired, revoked and capability-less keys are
 * skipped; an exact address match is preferred over a domain alias. KEY_NOT_FOUND if none.
 * out: caller destroys with pgpdesk_key_destroy(). */
pgpdesk_status_t pgpdesk_keystore_find_usable(pgpdesk_t *pd, const char *email,
                                              pgpdesk_key_purpose_t purpose, pgpdesk_key_t **out);

/* Exports a key armored: the public key (self-signatures only), or with secret=true the private
 * key, still protected by its passphrase (NOT_PRIVATE_KEY for a public-only record).
 * armored: NUL-terminated; caller frees it with free(). size: its length (may be NULL). */
pgpdesk_status_t pgpdesk_keystore_export(pgpdesk_t *pd, const char *fingerprint, bool secret,
                                         char **armored, size_t *size);

/* The file name a download of the key should get: "<FPR>.pub.asc" or "<FPR>.asc".
 * Returns a string the caller frees with free(), or NULL when out of memory. */
char *pgpdesk_key_export_filename(const char *fingerprint, bool secret);

/* Deletes a key (public and private) by fingerprint. KEY_NOT_FOUND if absent. */
pgpdesk_status_t pgpdesk_keystore_delete(pgpdesk_t *pd, const char *fingerprint);

/* ---------------------------------------------------------------- limits */

typedef struct pgpdesk_limits {
    size_t decrypt_cap;        /* bytes of plaintext one message may decrypt to; 128 MiB */
    unsigned time_limit_ms;    /* per message processed; 10,000 */
    size_t max_message_size;   /* bytes of one raw message or draft; 128 MiB (a 50 MB
                                * attachment is a 68 MB draft, sealed 93 MB) */
    unsigned max_mime_depth;   /* nesting of multiparts and messages; 16 */
    unsigned max_mime_parts;   /* leaves and containers in one message; 1,000 */
    unsigned log_retention_days; /* log rows older than this are purged; 30 */
} pgpdesk_limits_t;

/* The limits in force (defaults above until changed). */
void pgpdesk_get_limits(const pgpdesk_t *pd, pgpdesk_limits_t *limits);
void pgpdesk_set_limits(pgpdesk_t *pd, const pgpdesk_limits_t *limits);

/* ---------------------------------------------------------------- outgoing mail */

typedef struct pgpdesk_outgoing_options {
    bool sign;
    bool encrypt;
    bool protected_headers; /* RFC 9788 headers inside the payload; outer Subject "..." */
    int64_t group_id;       /* the group the sent articles are filed under; 0: none */
} pgpdesk_outgoing_options_t;

/* One message to deliver: the To/Cc copy, or one per Bcc recipient. */
typedef struct pgpdesk_outgoing_copy {
    char **recipients;      /* the addresses this copy is delivered to */
    size_t recipient_count;
    char *message;          /* the complete RFC 5322 message (PGP/MIME when asked), or NULL
                             * when it is in file */
    size_t size;
    int64_t article_id;     /* the outgoing article stored for it */
    FILE *file;             /* pgpdesk_outgoing_process_file() with a large draft: the message,
                             * open for reading from its start; else NULL. Closed by
                             * pgpdesk_outgoing_result_destroy(). */
} pgpdesk_outgoing_copy_t;

typedef struct pgpdesk_outgoing_result {
    pgpdesk_outgoing_copy_t *copies;
    size_t count;
} pgpdesk_outgoing_result_t;

void pgpdesk_outgoing_result_destroy(pgpdesk_outgoing_result_t *result);

/* Signs and/or encrypts a draft (RFC 5322 with MIME) as PGP/MIME from the From address's key
 * to every To and Cc address's key (and the sender's own). Each Bcc recipient gets a copy of
 * its own. Nothing is produced when something asked for is impossible: the status says why and
 * pgpdesk_errmsg() names the address. Each copy is stored as an outgoing article and logged.
 * out: caller destroys with pgpdesk_outgoing_result_destroy(). */
pgpdesk_status_t pgpdesk_outgoing_process(pgpdesk_t *pd, const void *draft, size_t size,
                                          const pgpdesk_outgoing_options_t *options,
                                          pgpdesk_outgoing_result_t **out);

/* Large drafts, in constant memory: as pgpdesk_outgoing_process(), the draft read from the
 * regular file draft_fd (not closed). A draft over 8 MiB is never held whole in memory: it is
 * parsed and encrypted as a stream, and each copy is written to a file beside the database
 * (its article) that copy->file reads; a smaller draft is processed in memory and its copies
 * come in copy->message. out: caller destroys with pgpdesk_outgoing_result_destroy(). */
pgpdesk_status_t pgpdesk_outgoing_process_file(pgpdesk_t *pd, int draft_fd,
                                               const pgpdesk_outgoing_options_t *options,
                                               pgpdesk_outgoing_result_t **out);

/* ---------------------------------------------------------------- incoming mail and articles */

typedef struct pgpdesk_article {
    int64_t id;
    char direction[4];      /* "in" or "out" */
    int64_t group_id;       /* 0 when no group */
    uint8_t *raw;           /* the message exactly as received or sent */
    size_t raw_size;
    uint8_t *mime;          /* the processed view: decrypted, unwrapped; NULL if none */
    size_t mime_size;
    char *from, *to, *cc, *subject, *message_id; /* for the ticket; NULL when absent */
    json_t *security;       /* the security result (see pgpdesk_incoming_process) */
    int64_t created_at;
} pgpdesk_article_t;

void pgpdesk_article_destroy(pgpdesk_article_t *article);

/* Stores the raw message first, then verifies/decrypts it and records the result. Whatever
 * the message holds, an article is stored (the failure is in its result); only a failure to
 * store at all is returned as an error.
 * out: the stored article; caller destroys with pgpdesk_article_destroy(). */
pgpdesk_status_t pgpdesk_incoming_process(pgpdesk_t *pd, const void *raw, size_t size,
                                          pgpdesk_article_t **out);

/* Large messages, in constant memory: as pgpdesk_incoming_process(), the message read from
 * the regular file fd (not closed; its file offset may move). A message over 8 MiB is never held
 * whole in memory: it is stored as a file beside the database, parsed and decrypted as a
 * stream, and its view written to a file too; out then comes without raw and mime (NULL:
 * pgpdesk_article_get() loads them). A smaller one is processed in memory, as
 * pgpdesk_incoming_process() does. out: caller destroys with pgpdesk_article_destroy(). */
pgpdesk_status_t pgpdesk_incoming_process_file(pgpdesk_t *pd, int fd, pgpdesk_article_t **out);

/* out: caller destroys with pgpdesk_article_destroy(). ARTICLE_NOT_FOUND if absent. */
pgpdesk_status_t pgpdesk_article_get(pgpdesk_t *pd, int64_t id, pgpdesk_article_t **out);

/* Re-runs incoming processing on a stored incoming article's raw message (after a key was
 * added) and updates the article when the result improved. improved: may be NULL.
 * out: the article as stored afterwards; caller destroys it. */
pgpdesk_status_t pgpdesk_article_retry(pgpdesk_t *pd, int64_t id, bool *improved,
                                       pgpdesk_article_t **out);

/* {"id","direction","from","to","cc","subject","message_id","created_at","security"}.
 * New reference; NULL when out of memory. */
json_t *pgpdesk_article_to_json(const pgpdesk_article_t *article);

/* ---------------------------------------------------------------- the log ("Recent Logs") */

typedef struct pgpdesk_log_entry {
    int64_t id;
    int64_t created_at;
    char *direction;        /* "in" / "out" */
    char *method;           /* "sign" / "encryption" */
    char *status;           /* "success" / "failed" */
    char *from_to;          /* "from -> to" */
    char *message_id;
    json_t *detail;         /* the result or error */
} pgpdesk_log_entry_t;

typedef struct pgpdesk_log_list {
    pgpdesk_log_entry_t *entries;
    size_t count;
} pgpdesk_log_list_t;

void pgpdesk_log_list_destroy(pgpdesk_log_list_t *list);

/* The newest limit entries (after purging those past retention), newest first.
 * out: caller destroys with pgpdesk_log_list_destroy(). */
pgpdesk_status_t pgpdesk_log_list(pgpdesk_t *pd, size_t limit, pgpdesk_log_list_t **out);

json_t *pgpdesk_log_entry_to_json(const pgpdesk_log_entry_t *entry);

/* Logs that actor (a login) downloaded the private key fingerprint: method "key_export". */
void pgpdesk_log_private_key_export(pgpdesk_t *pd, const char *fingerprint, const char *actor);

/* ---------------------------------------------------------------- settings */

/* The global PGP integration switch (Zammad's "pgp_integration"); on in a new database.
 * Disabled: no incoming processing, no outgoing signing/encryption, no buttons. */
pgpdesk_status_t pgpdesk_integration_enabled(pgpdesk_t *pd, bool *enabled);
pgpdesk_status_t pgpdesk_set_integration_enabled(pgpdesk_t *pd, bool enabled);

/* ---------------------------------------------------------------- groups */

typedef enum pgpdesk_policy {
    PGPDESK_POLICY_OPTIONAL = 0, /* agents choose (default) */
    PGPDESK_POLICY_REQUIRED = 1, /* the server refuses drafts that are not signed and encrypted */
} pgpdesk_policy_t;

/* A group default: unset means on (Zammad's pgp_config semantics); it applies only when the
 * option is possible. */
typedef enum pgpdesk_default {
    PGPDESK_DEFAULT_UNSET = -1,
    PGPDESK_DEFAULT_OFF = 0,
    PGPDESK_DEFAULT_ON = 1,
} pgpdesk_default_t;

typedef struct pgpdesk_group {
    int64_t id;
    char *name;
    char *email;                   /* the sender address (outgoing account); NULL if none */
    pgpdesk_default_t sign_default;
    pgpdesk_default_t encrypt_default;
    pgpdesk_policy_t policy;
} pgpdesk_group_t;

typedef struct pgpdesk_group_list {
    pgpdesk_group_t *groups;
    size_t count;
} pgpdesk_group_list_t;

void pgpdesk_group_destroy(pgpdesk_group_t *group);
void pgpdesk_group_list_destroy(pgpdesk_group_list_t *list);

/* Creates a group from group (its id is ignored). GROUP_EXISTS for a taken name.
 * id: the new group's id. */
pgpdesk_status_t pgpdesk_group_create(pgpdesk_t *pd, const pgpdesk_group_t *group, int64_t *id);
/* Replaces every field of the group group->id. GROUP_NOT_FOUND if absent. */
pgpdesk_status_t pgpdesk_group_update(pgpdesk_t *pd, const pgpdesk_group_t *group);
pgpdesk_status_t pgpdesk_group_delete(pgpdesk_t *pd, int64_t id);
/* out: caller destroys with pgpdesk_group_destroy(). */
pgpdesk_status_t pgpdesk_group_get(pgpdesk_t *pd, int64_t id, pgpdesk_group_t **out);
/* Ordered by name. out: caller destroys with pgpdesk_group_list_destroy(). */
pgpdesk_status_t pgpdesk_group_list(pgpdesk_t *pd, pgpdesk_group_list_t **out);

/* "optional" / "required", and back; false for anything else. */
const char *pgpdesk_policy_to_string(pgpdesk_policy_t policy);
bool pgpdesk_policy_from_string(const char *text, pgpdesk_policy_t *policy);

/* {"id","name","email","sign_default":true|false|null,"encrypt_default":...,"policy"}. */
json_t *pgpdesk_group_to_json(const pgpdesk_group_t *group);

/* ---------------------------------------------------------------- security options */

/* Can a draft be signed / encrypted? Zammad's rules: message templates with %s and their
 * placeholders, plus pgpdesk's own for revoked and capability-less keys. */
typedef struct pgpdesk_security_option {
    bool possible;
    bool active_by_default; /* the group default, when possible */
    char *message;          /* a template, e.g. "The PGP key for %s was found." */
    char **placeholders;
    size_t placeholder_count;
} pgpdesk_security_option_t;

typedef struct pgpdesk_security_options {
    pgpdesk_security_option_t sign;
    pgpdesk_security_option_t encryption;
} pgpdesk_security_options_t;

void pgpdesk_security_options_destroy(pgpdesk_security_options_t *options);

/* The options for a draft in group_id (0: none) to the addresses in to and cc (comma-separated
 * lists, may be NULL) and customer (an address, may be NULL).
 * out: caller destroys with pgpdesk_security_options_destroy(). */
pgpdesk_status_t pgpdesk_security_options(pgpdesk_t *pd, int64_t group_id, const char *to,
                                          const char *cc, const char *customer,
                                          pgpdesk_security_options_t **out);

/* Zammad's JSON: {"type":"PGP","sign":{"success","comment","commentPlaceholders",
 * "active_by_default"},"encryption":{...}}. */
json_t *pgpdesk_security_options_to_json(const pgpdesk_security_options_t *options);

/* ---------------------------------------------------------------- composing drafts */

typedef struct pgpdesk_draft_attachment {
    const char *filename;
    const char *content_type; /* NULL: application/octet-stream */
    const void *data;
    size_t size;
    const char *content_id;   /* NULL, or the cid an inline image is referenced by */
} pgpdesk_draft_attachment_t;

/* What the compose form sends. Address fields are comma-separated lists; NULL or "" if none. */
typedef struct pgpdesk_draft {
    const char *to, *cc, *bcc;
    const char *subject;
    const char *body;          /* text/plain, UTF-8 */
    const char *in_reply_to;   /* a Message-ID being answered, or NULL */
    const pgpdesk_draft_attachment_t *attachments;
    size_t attachment_count;
} pgpdesk_draft_t;

/* Builds an RFC 5322 draft from the fields, From from, with Date and Message-ID.
 * message: malloc'd, NUL-terminated; caller frees. MALFORMED_MESSAGE for unusable addresses. */
pgpdesk_status_t pgpdesk_draft_compose(pgpdesk_t *pd, const char *from, const pgpdesk_draft_t *draft,
                                       char **message, size_t *size);

/* ---------------------------------------------------------------- sending from a group */

/* Sends a draft from a group: the group's sender address becomes From, the server re-checks
 * the security options (refusing what is impossible, with the option's message in errmsg) and
 * the group policy (POLICY_VIOLATION), then does what pgpdesk_outgoing_process() does; the
 * articles are filed under the group. out: as pgpdesk_outgoing_process(). */
pgpdesk_status_t pgpdesk_group_send(pgpdesk_t *pd, int64_t group_id, const void *draft,
                                    size_t size, const pgpdesk_outgoing_options_t *options,
                                    pgpdesk_outgoing_result_t **out);

/* ---------------------------------------------------------------- article lists */

typedef struct pgpdesk_article_list {
    pgpdesk_article_t *articles; /* without raw and mime bytes (NULL) */
    size_t count;
} pgpdesk_article_list_t;

void pgpdesk_article_list_destroy(pgpdesk_article_list_t *list);

/* The articles of group_id (0: all), newest first, at most limit after skipping offset.
 * Incoming articles belong to the group whose sender address is among their To/Cc.
 * out: caller destroys with pgpdesk_article_list_destroy(). */
pgpdesk_status_t pgpdesk_article_list(pgpdesk_t *pd, int64_t group_id, size_t limit,
                                      size_t offset, pgpdesk_article_list_t **out);

/* ---------------------------------------------------------------- users and sessions */

typedef enum pgpdesk_role {
    PGPDESK_ROLE_AGENT = 1,
    PGPDESK_ROLE_ADMIN = 2,
} pgpdesk_role_t;

typedef struct pgpdesk_user {
    int64_t id;
    char *login;
    pgpdesk_role_t role;
    int64_t created_at;
} pgpdesk_user_t;

typedef struct pgpdesk_user_list {
    pgpdesk_user_t *users;
    size_t count;
} pgpdesk_user_list_t;

void pgpdesk_user_destroy(pgpdesk_user_t *user);
void pgpdesk_user_list_destroy(pgpdesk_user_list_t *list);

/* Passwords are hashed with Argon2id (libsodium's crypto_pwhash_str); at least 8 characters.
 * id: may be NULL. */
pgpdesk_status_t pgpdesk_user_create(pgpdesk_t *pd, const char *login, const char *password,
                                     pgpdesk_role_t role, int64_t *id);
pgpdesk_status_t pgpdesk_user_set_password(pgpdesk_t *pd, const char *login,
                                           const char *password);
pgpdesk_status_t pgpdesk_user_delete(pgpdesk_t *pd, const char *login);
/* out: caller destroys with pgpdesk_user_list_destroy(). */
pgpdesk_status_t pgpdesk_user_list(pgpdesk_t *pd, pgpdesk_user_list_t **out);
/* out: caller destroys with pgpdesk_user_destroy(). USER_NOT_FOUND if absent. */
pgpdesk_status_t pgpdesk_user_get(pgpdesk_t *pd, const char *login, pgpdesk_user_t **out);
/* Number of users, for first-start set-up. */
pgpdesk_status_t pgpdesk_user_count(pgpdesk_t *pd, size_t *count);

/* AUTH_FAILED for an unknown login or wrong password (same status, same time: no oracle).
 * out: caller destroys with pgpdesk_user_destroy(). */
pgpdesk_status_t pgpdesk_user_authenticate(pgpdesk_t *pd, const char *login,
                                           const char *password, pgpdesk_user_t **out);

/* A new API token for login, shown once and stored only as a hash.
 * token: malloc'd, caller frees. */
pgpdesk_status_t pgpdesk_token_create(pgpdesk_t *pd, const char *login, char **token);
/* out: the token's user; caller destroys. AUTH_FAILED if unknown. */
pgpdesk_status_t pgpdesk_token_authenticate(pgpdesk_t *pd, const char *token,
                                            pgpdesk_user_t **out);

/* A browser session for user_id, valid for ttl_seconds; stored as hashes.
 * session, csrf: malloc'd, caller frees. */
pgpdesk_status_t pgpdesk_session_create(pgpdesk_t *pd, int64_t user_id, int64_t ttl_seconds,
                                        char **session, char **csrf);
/* out: the session's user; csrf_ok (may be NULL) tells whether csrf (may be NULL) is the
 * session's CSRF token. AUTH_FAILED if unknown or expired. */
pgpdesk_status_t pgpdesk_session_authenticate(pgpdesk_t *pd, const char *session,
                                              const char *csrf, pgpdesk_user_t **out,
                                              bool *csrf_ok);
pgpdesk_status_t pgpdesk_session_delete(pgpdesk_t *pd, const char *session);

json_t *pgpdesk_user_to_json(const pgpdesk_user_t *user);

/* ---------------------------------------------------------------- JSON */

/* The key object of the CLI and API: id, fingerprint, name, email_addresses, created_at,
 * expires_at, expired, revoked, secret, can_sign, can_encrypt, algorithm, bits, domain_alias.
 * Returns a new reference the caller releases with json_decref(), or NULL when out of memory. */
json_t *pgpdesk_key_to_json(const pgpdesk_key_t *key);

/* Formats unix time as ISO 8601 UTC ("2026-11-28T13:10:32Z") into buf (at least 21 bytes). */
void pgpdesk_format_time(int64_t t, char buf[21]);

#ifdef __cplusplus
}
#endif

#endif /* PGPDESK_H */
