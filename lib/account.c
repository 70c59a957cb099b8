/* account.c - users, API tokens and browser sessions. Passwords are kept as Argon2id hashes
 * (libsodium's crypto_pwhash_str); tokens and session ids only as BLAKE2b hashes, so the
 * database alone lets nobody in. */
#include "internal.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MIN 8
#define LOGIN_MAX 64
#define SECRET_BYTES 32
#define HASH_HEX_SIZE (crypto_generichash_BYTES * 2 + 1)

static bool
valid_login(const char *login)
{
    size_t n = login ? strlen(login) : 0;
    if (n == 0 || n > LOGIN_MAX)
        return false;
    for (const char *p = login; *p; p++)
        if (!isalnum((unsigned char) *p) && !strchr("._@-", *p))
            return false;
    return true;
}

static pgpdesk_status_t
hash_password(pgpdesk_t *pd, const char *password, char out[crypto_pwhash_STRBYTES])
{
    if (!password || strlen(password) < PASSWORD_MIN)
        return pd_fail(pd, PGPDESK_STATUS_WEAK_PASSWORD, NULL);
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_user_create(pgpdesk_t *pd, const char *login, const char *password, pgpdesk_role_t role,
                    int64_t *id)
{
    if (!valid_login(login))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT,
                       "A login is 1 to 64 letters, digits or . _ @ -.");
    char hash[crypto_pwhash_STRBYTES];
    pgpdesk_status_t st = hash_password(pd, password, hash);
    if (st)
        return st;
    int64_t new_id = 0;
    st = pd->store->ops->user_insert(pd->store, login, hash,
                                     role == PGPDESK_ROLE_ADMIN ? role : PGPDESK_ROLE_AGENT,
                                     pd_now(), &new_id);
    if (!st && id)
        *id = new_id;
    return pd_store_fail(pd, st);
}

pgpdesk_status_t
pgpdesk_user_set_password(pgpdesk_t *pd, const char *login, const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    pgpdesk_status_t st = hash_password(pd, password, hash);
    if (st)
        return st;
    return pd_store_fail(pd, pd->store->ops->user_set_password(pd->store, login, hash));
}

pgpdesk_status_t
pgpdesk_user_delete(pgpdesk_t *pd, const char *login)
{
    return pd_store_fail(pd, pd->store->ops->user_delete(pd->store, login));
}

pgpdesk_status_t
pgpdesk_user_list(pgpdesk_t *pd, pgpdesk_user_list_t **out)
{
    return pd_store_fail(pd, pd->store->ops->user_list(pd->store, out));
}

pgpdesk_status_t
pgpdesk_user_get(pgpdesk_t *pd, const char *login, pgpdesk_user_t **out)
{
    if (!login)
        return pd_fail(pd, PGPDESK_STATUS_USER_NOT_FOUND, NULL);
    return pd_store_fail(pd, pd->store->ops->user_find(pd->store, login, 0, out, NULL));
}

pgpdesk_status_t
pgpdesk_user_count(pgpdesk_t *pd, size_t *count)
{
    pgpdesk_user_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_user_list(pd, &list);
    if (!st)
        *count = list->count;
    pgpdesk_user_list_destroy(list);
    return st;
}

/* A hash to verify against when the login is unknown. */
static char decoy[crypto_pwhash_STRBYTES];

static void
make_decoy(void)
{
    if (crypto_pwhash_str(decoy, "decoy password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        decoy[0] = '\0';
}

pgpdesk_status_t
pgpdesk_user_authenticate(pgpdesk_t *pd, const char *login, const char *password,
                          pgpdesk_user_t **out)
{
    /* An unknown login costs the same Argon2id work as a known one: no timing oracle. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_decoy);
    if (!decoy[0])
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_user_t *user = NULL;
    char *hash = NULL;
    pgpdesk_status_t st = login && password
                              ? pd->store->ops->user_find(pd->store, login, 0, &user, &hash)
                              : PGPDESK_STATUS_USER_NOT_FOUND;
    if (st && st != PGPDESK_STATUS_USER_NOT_FOUND)
        return pd_store_fail(pd, st);
    const char *pw = password ? password : "";
    bool ok = crypto_pwhash_str_verify(hash ? hash : decoy, pw, strlen(pw)) == 0 && user;
    free(hash);
    if (!ok) {
        pgpdesk_user_destroy(user);
        return pd_fail(pd, PGPDESK_STATUS_AUTH_FAILED, NULL);
    }
    *out = user;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- tokens and sessions */

/* A new random secret as hex, with its hash (hex) for storage. secret: malloc'd. */
static char *
new_secret(const char *prefix, char hash[HASH_HEX_SIZE])
{
    uint8_t raw[SECRET_BYTES], digest[crypto_generichash_BYTES];
    char hex[SECRET_BYTES * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    char *secret = NULL;
    if (asprintf(&secret, "%s%s", prefix, hex) < 0)
        return NULL;
    crypto_generichash(digest, sizeof digest, (const uint8_t *) secret, strlen(secret), NULL, 0);
    sodium_bin2hex(hash, HASH_HEX_SIZE, digest, sizeof digest);
    return secret;
}

static void
hash_secret(const char *secret, char hash[HASH_HEX_SIZE])
{
    uint8_t digest[crypto_generichash_BYTES];
    crypto_generichash(digest, sizeof digest, (const uint8_t *) secret, strlen(secret), NULL, 0);
    sodium_bin2hex(hash, HASH_HEX_SIZE, digest, sizeof digest);
}

static pgpdesk_status_t
user_by_id(pgpdesk_t *pd, int64_t id, pgpdesk_user_t **out)
{
    pgpdesk_status_t st = pd->store->ops->user_find(pd->store, NULL, id, out, NULL);
    /* A credential whose user is gone opens nothing. */
    return st == PGPDESK_STATUS_USER_NOT_FOUND ? pd_fail(pd, PGPDESK_STATUS_AUTH_FAILED, NULL)
                                               : pd_store_fail(pd, st);
}

pgpdesk_status_t
pgpdesk_token_create(pgpdesk_t *pd, const char *login, char **token)
{
    pgpdesk_user_t *user = NULL;
    pgpdesk_status_t st = pd->store->ops->user_find(pd->store, login, 0, &user, NULL);
    if (st)
        return pd_store_fail(pd, st);
    char hash[HASH_HEX_SIZE];
    char *secret = new_secret("pgpdesk_", hash);
    st = secret ? pd->store->ops->credential_insert(pd->store, "token", hash, user->id, NULL, 0)
                : PGPDESK_STATUS_OUT_OF_MEMORY;
    pgpdesk_user_destroy(user);
    if (st) {
        free(secret);
        return pd_store_fail(pd, st);
    }
    *token = secret;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_token_authenticate(pgpdesk_t *pd, const char *token, pgpdesk_user_t **out)
{
    char hash[HASH_HEX_SIZE];
    int64_t user_id = 0;
    if (!token)
        return pd_fail(pd, PGPDESK_STATUS_AUTH_FAILED, NULL);
    hash_secret(token, hash);
    pgpdesk_status_t st =
        pd->store->ops->credential_find(pd->store, "token", hash, pd_now(), &user_id, NULL);
    return st ? pd_store_fail(pd, st) : user_by_id(pd, user_id, out);
}

pgpdesk_status_t
pgpdesk_session_create(pgpdesk_t *pd, int64_t user_id, int64_t ttl_seconds, char **session,
                       char **csrf)
{
    char session_hash[HASH_HEX_SIZE], csrf_hash[HASH_HEX_SIZE];
    char *s = new_secret("", session_hash), *c = new_secret("", csrf_hash);
    pgpdesk_status_t st = s && c ? pd->store->ops->credential_insert(
                                       pd->store, "session", session_hash, user_id, csrf_hash,
                                       pd_now() + ttl_seconds)
                                 : PGPDESK_STATUS_OUT_OF_MEMORY;
    if (st) {
        free(s);
        free(c);
        return pd_store_fail(pd, st);
    }
    *session = s;
    *csrf = c;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
pgpdesk_session_authenticate(pgpdesk_t *pd, const char *session, const char *csrf,
                             pgpdesk_user_t **out, bool *csrf_ok)
{
    char hash[HASH_HEX_SIZE];
    char *stored_csrf = NULL;
    int64_t user_id = 0;
    if (!session)
        return pd_fail(pd, PGPDESK_STATUS_AUTH_FAILED, NULL);
    hash_secret(session, hash);
    pgpdesk_status_t st = pd->store->ops->credential_find(pd->store, "session", hash, pd_now(),
                                                          &user_id, &stored_csrf);
    if (st)
        return pd_store_fail(pd, st);
    if (csrf_ok) {
        char given[HASH_HEX_SIZE];
        if (csrf)
            hash_secret(csrf, given);
        *csrf_ok = csrf && stored_csrf && strlen(stored_csrf) == HASH_HEX_SIZE - 1 &&
                   sodium_memcmp(given, stored_csrf, HASH_HEX_SIZE - 1) == 0;
    }
    free(stored_csrf);
    return user_by_id(pd, user_id, out);
}

pgpdesk_status_t
pgpdesk_session_delete(pgpdesk_t *pd, const char *session)
{
    char hash[HASH_HEX_SIZE];
    if (!session)
        return PGPDESK_STATUS_SUCCESS;
    hash_secret(session, hash);
    return pd_store_fail(pd, pd->store->ops->credential_delete(pd->store, "session", hash));
}

void
pgpdesk_user_destroy(pgpdesk_user_t *user)
{
    if (!user)
        return;
    free(user->login);
    free(user);
}

void
pgpdesk_user_list_destroy(pgpdesk_user_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->users[i].login);
    free(list->users);
    free(list);
}
