/* crypto-rnp.c - OpenPGP on librnp, the only file that includes <rnp/rnp.h>.
 *
 * librnp's defaults are not safe enough for mail a helpdesk agent must trust, so this file:
 *   - sends librnp's log to /dev/null (never the user's terminal),
 *   - never prompts for a password (no password provider),
 *   - writes every output into buffers it owns, so secrets are wiped and sizes capped,
 *   - hands nothing to the caller before the whole operation succeeded. */
#include "crypto.h"
#include "internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

typedef struct passphrase_entry {
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    char *passphrase; /* malloc'd; wiped on destroy */
} passphrase_entry_t;

struct openpgp_keyring {
    rnp_ffi_t ffi;
    rnp_ffi_t keyless;  /* holds no key: counts a message's session keys (made on first use) */
    char (*primaries)[PGPDESK_FINGERPRINT_SIZE]; /* in load order, no duplicates */
    size_t primary_count;
    passphrase_entry_t *passphrases;
    size_t passphrase_count;
    openpgp_key_fetch_fn fetch;
    void *fetch_ctx;
};

/* ---------------------------------------------------------------- owned output buffers */

/* A growable buffer librnp writes into through a callback; a secret buffer is wiped whenever it
 * moves or is freed. Writes past limit fail the librnp operation. With fd >= 0 the bytes go to
 * that file instead (a stream: constant memory), and releasing the buffer empties the file, so
 * a failed operation leaves nothing behind there either. */
typedef struct membuf {
    uint8_t *data;
    size_t size;
    size_t cap;
    size_t limit;
    bool secret;
    bool overflow;
    int fd;
} membuf_t;

static void
membuf_release(membuf_t *buf)
{
    if (buf->fd >= 0 && buf->size) {
        if (ftruncate(buf->fd, 0) == 0)
            lseek(buf->fd, 0, SEEK_SET);
    }
    if (buf->secret)
        seal_free(buf->data, buf->cap);
    else
        free(buf->data);
    memset(buf, 0, sizeof *buf);
    buf->fd = -1;
}

static bool
membuf_write(void *app_ctx, const void *data, size_t len)
{
    membuf_t *buf = app_ctx;
    if (len > buf->limit - buf->size) {
        buf->overflow = true;
        return false;
    }
    if (buf->fd >= 0) {
        buf->size += len; /* counted first: a partial write is emptied by membuf_release */
        return pd_write_all(buf->fd, data, len);
    }
    if (buf->size + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->size + len + 1)
            cap *= 2;
        if (cap > buf->limit + 1 && buf->limit < SIZE_MAX / 2)
            cap = buf->limit + 1;
        uint8_t *grown = malloc(cap);
        if (!grown)
            return false;
        if (buf->size)
            memcpy(grown, buf->data, buf->size);
        bool secret = buf->secret;
        size_t size = buf->size, limit = buf->limit;
        membuf_release(buf);
        *buf = (membuf_t){.data = grown, .size = size, .cap = cap, .limit = limit, .secret = secret,
                          .fd = -1};
    }
    memcpy(buf->data + buf->size, data, len);
    buf->size += len;
    buf->data[buf->size] = '\0';
    return true;
}

/* fd: -1 for memory, else the (empty) file the output is written to. */
static pgpdesk_status_t
membuf_output(membuf_t *buf, size_t limit, bool secret, int fd, rnp_output_t *out)
{
    *buf = (membuf_t){.limit = limit, .secret = secret, .fd = fd};
    if (rnp_output_to_callback(out, membuf_write, NULL, buf) != RNP_SUCCESS)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    return PGPDESK_STATUS_SUCCESS;
}

/* Hands the buffer's bytes to the caller (NUL-terminated) and empties buf; for a file, only
 * the size (the bytes stay in the file). */
static void
membuf_take(membuf_t *buf, uint8_t **out, size_t *size)
{
    if (buf->fd >= 0) {
        *size = buf->size;
        buf->size = 0; /* kept: release must not empty the file */
        membuf_release(buf);
        return;
    }
    if (!buf->data)
        membuf_write(buf, "", 0);
    *out = buf->data;
    *size = buf->size;
    buf->data = NULL;
    membuf_release(buf);
}

/* Where an operation reads from: bytes in memory, or a reader (a stream). */
typedef struct source {
    const uint8_t *data;
    size_t size;
    openpgp_reader_t *reader;
} source_t;

static bool
reader_read(void *app_ctx, void *buf, size_t len, size_t *read)
{
    openpgp_reader_t *reader = app_ctx;
    ptrdiff_t n = reader->read(reader->ctx, buf, len);
    if (n < 0)
        return false;
    *read = (size_t) n;
    return true;
}

static pgpdesk_status_t
source_input(const source_t *src, rnp_input_t *input)
{
    rnp_result_t rc = src->reader
                          ? rnp_input_from_callback(input, reader_read, NULL, src->reader)
                          : rnp_input_from_memory(input, src->data, src->size, false);
    return rc == RNP_SUCCESS ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_OUT_OF_MEMORY;
}

/* ---------------------------------------------------------------- keyrings */

static void
silence_console_log(void)
{
    setenv("RNP_LOG_CONSOLE", "0", 0);
}

void
openpgp_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, silence_console_log);
}

/* Sends librnp's log for this ffi to fd, which librnp then owns (and closes with the ffi or
 * the next call). */
static void
log_to(rnp_ffi_t ffi, int fd)
{
    if (fd >= 0 && rnp_ffi_set_log_fd(ffi, fd) != RNP_SUCCESS)
        close(fd);
}

pgpdesk_status_t
openpgp_keyring_create(openpgp_keyring_t **out)
{
    openpgp_keyring_t *ring = calloc(1, sizeof *ring);
    if (!ring)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    if (rnp_ffi_create(&ring->ffi, RNP_KEYSTORE_GPG, RNP_KEYSTORE_GPG) != RNP_SUCCESS) {
        free(ring);
        return PGPDESK_STATUS_CRYPTO_ERROR;
    }
    log_to(ring->ffi, open("/dev/null", O_WRONLY | O_CLOEXEC));
    *out = ring;
    return PGPDESK_STATUS_SUCCESS;
}

void
openpgp_keyring_destroy(openpgp_keyring_t *ring)
{
    if (!ring)
        return;
    rnp_ffi_destroy(ring->ffi);
    rnp_ffi_destroy(ring->keyless);
    free(ring->primaries);
    for (size_t i = 0; i < ring->passphrase_count; i++)
        seal_free(ring->passphrases[i].passphrase, strlen(ring->passphrases[i].passphrase));
    free(ring->passphrases);
    free(ring);
}

/* librnp asks for a key it does not hold: hand the request to the key store. */
static void
fetch_key(rnp_ffi_t ffi, void *app_ctx, const char *id_type, const char *id, bool secret)
{
    openpgp_keyring_t *ring = app_ctx;
    char upper[PGPDESK_FINGERPRINT_SIZE * 2];
    size_t n = 0;
    for (; id[n] && n < sizeof upper - 1; n++)
        upper[n] = (char) toupper((unsigned char) id[n]);
    upper[n] = '\0';
    ring->fetch(ring->fetch_ctx, ring, id_type, upper, secret);
}

void
openpgp_keyring_set_fetch(openpgp_keyring_t *ring, openpgp_key_fetch_fn fetch, void *ctx)
{
    ring->fetch = fetch;
    ring->fetch_ctx = ctx;
    rnp_ffi_set_key_provider(ring->ffi, fetch ? fetch_key : NULL, ring);
}

/* librnp needs to unlock key: answer with the stored passphrase of its primary key. */
static bool
provide_passphrase(rnp_ffi_t ffi, void *app_ctx, rnp_key_handle_t key, const char *context,
                   char buf[], size_t buf_len)
{
    openpgp_keyring_t *ring = app_ctx;
    char *fpr = NULL;
    bool primary = false;
    if (!key || rnp_key_is_primary(key, &primary) != RNP_SUCCESS)
        return false;
    if ((primary ? rnp_key_get_fprint(key, &fpr) : rnp_key_get_primary_fprint(key, &fpr)) !=
        RNP_SUCCESS)
        return false;
    bool found = false;
    for (size_t i = 0; i < ring->passphrase_count && !found; i++) {
        if (strcasecmp(ring->passphrases[i].fingerprint, fpr) != 0)
            continue;
        size_t len = strlen(ring->passphrases[i].passphrase);
        if (len < buf_len) {
            memcpy(buf, ring->passphrases[i].passphrase, len + 1);
            found = true;
        }
    }
    rnp_buffer_destroy(fpr);
    return found;
}

pgpdesk_status_t
openpgp_keyring_set_passphrase(openpgp_keyring_t *ring, const char *fpr, const char *passphrase)
{
    for (size_t i = 0; i < ring->passphrase_count; i++)
        if (strcmp(ring->passphrases[i].fingerprint, fpr) == 0)
            return PGPDESK_STATUS_SUCCESS;
    passphrase_entry_t *grown =
        realloc(ring->passphrases, (ring->passphrase_count + 1) * sizeof *grown);
    if (!grown)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    ring->passphrases = grown;
    passphrase_entry_t *entry = &grown[ring->passphrase_count];
    if (!(entry->passphrase = strdup(passphrase)))
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    snprintf(entry->fingerprint, sizeof entry->fingerprint, "%s", fpr);
    ring->passphrase_count++;
    rnp_ffi_set_pass_provider(ring->ffi, provide_passphrase, ring);
    return PGPDESK_STATUS_SUCCESS;
}

bool
openpgp_data_is_armored(const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    static const char header[] = "-----BEGIN PGP ";
    return size - i >= sizeof header - 1 && memcmp(data + i, header, sizeof header - 1) == 0;
}

static rnp_key_handle_t
locate(openpgp_keyring_t *ring, const char *fpr)
{
    rnp_key_handle_t key = NULL;
    if (rnp_locate_key(ring->ffi, "fingerprint", fpr, &key) != RNP_SUCCESS)
        return NULL;
    return key;
}

static void
remember_primary(openpgp_keyring_t *ring, const char *hex)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE];
    if (!pd_normalize_fingerprint(hex, fpr))
        return;
    rnp_key_handle_t key = locate(ring, fpr);
    bool primary = false;
    if (!key || rnp_key_is_primary(key, &primary) != RNP_SUCCESS || !primary) {
        rnp_key_handle_destroy(key);
        return;
    }
    rnp_key_handle_destroy(key);
    for (size_t i = 0; i < ring->primary_count; i++)
        if (strcmp(ring->primaries[i], fpr) == 0)
            return;
    void *grown = realloc(ring->primaries, (ring->primary_count + 1) * sizeof *ring->primaries);
    if (!grown)
        return;
    ring->primaries = grown;
    snprintf(ring->primaries[ring->primary_count++], PGPDESK_FINGERPRINT_SIZE, "%s", fpr);
}

/* Adds the keys named in an rnp_import_keys() result to the primary list; returns how many. */
static size_t
note_imported(openpgp_keyring_t *ring, const char *results)
{
    json_t *root = json_loads(results, 0, NULL);
    json_t *keys = json_object_get(root, "keys");
    size_t i, n = json_array_size(keys);
    json_t *item;
    json_array_foreach (keys, i, item) {
        const char *fpr = json_string_value(json_object_get(item, "fingerprint"));
        if (fpr)
            remember_primary(ring, fpr);
    }
    json_decref(root);
    return n;
}

pgpdesk_status_t
openpgp_keyring_load(openpgp_keyring_t *ring, const uint8_t *data, size_t size)
{
    rnp_input_t input = NULL;
    if (rnp_input_from_memory(&input, data, size, false) != RNP_SUCCESS)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    const uint32_t flags = RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS |
                           RNP_LOAD_SAVE_PERMISSIVE | RNP_LOAD_SAVE_SINGLE;
    size_t empty_rounds = 0;
    /* One key per call, so several armored blocks in one file all load; bounded so a stream
     * that stops advancing cannot loop. */
    for (size_t round = 0; round < 100000; round++) {
        char *results = NULL;
        rnp_result_t rc = rnp_import_keys(ring->ffi, input, flags, &results);
        if (rc != RNP_SUCCESS) {
            rnp_buffer_destroy(results);
            break;
        }
        size_t n = results ? note_imported(ring, results) : 0;
        rnp_buffer_destroy(results);
        if (n == 0 && ++empty_rounds > 64)
            break;
    }
    rnp_input_destroy(input);
    return ring->primary_count ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_NO_VALID_DATA;
}

pgpdesk_status_t
openpgp_keyring_primaries(openpgp_keyring_t *ring, char (**fprs)[PGPDESK_FINGERPRINT_SIZE],
                         size_t *count)
{
    size_t bytes = ring->primary_count * sizeof **fprs;
    *fprs = malloc(bytes ? bytes : 1);
    if (!*fprs)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    if (bytes)
        memcpy(*fprs, ring->primaries, bytes);
    *count = ring->primary_count;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- facts about a key */

/* The last second key may be used for usage ("sign"/"encrypt"): 0 when it cannot,
 * INT64_MAX when it never expires. */
static int64_t
usable_until(rnp_key_handle_t key, const char *usage)
{
    bool allows = false, revoked = false, valid = false;
    uint64_t till = 0;
    if (rnp_key_allows_usage(key, usage, &allows) != RNP_SUCCESS || !allows)
        return 0;
    if (rnp_key_is_revoked(key, &revoked) != RNP_SUCCESS || revoked)
        return 0;
    if (rnp_key_is_valid(key, &valid) != RNP_SUCCESS)
        return 0;
    if (rnp_key_valid_till64(key, &till) != RNP_SUCCESS || till == 0)
        return 0;
    return till >= (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) till;
}

static void
widen(int64_t *until, int64_t candidate)
{
    if (candidate > *until)
        *until = candidate;
}

static pgpdesk_status_t
collect_user_ids(rnp_key_handle_t key, openpgp_key_facts_t *out)
{
    size_t count = 0;
    if (rnp_key_get_uid_count(key, &count) != RNP_SUCCESS)
        return PGPDESK_STATUS_CRYPTO_ERROR;
    for (size_t i = 0; i < count; i++) {
        rnp_uid_handle_t uid = NULL;
        uint32_t type = 0;
        void *data = NULL;
        size_t size = 0;
        bool valid = false, revoked = false, primary = false;
        if (rnp_key_get_uid_handle_at(key, i, &uid) != RNP_SUCCESS)
            return PGPDESK_STATUS_CRYPTO_ERROR;
        if (rnp_uid_get_type(uid, &type) != RNP_SUCCESS || type != RNP_USER_ID) {
            rnp_uid_handle_destroy(uid);
            continue; /* photo ids and other attributes are not user ids */
        }
        out->all_user_id_count++;
        rnp_uid_get_data(uid, &data, &size);
        rnp_uid_is_valid(uid, &valid);
        rnp_uid_is_revoked(uid, &revoked);
        rnp_uid_is_primary(uid, &primary);
        rnp_uid_handle_destroy(uid);
        if (size > out->longest_user_id)
            out->longest_user_id = size;
        if (valid && !revoked && data && size <= PGPDESK_USER_ID_MAX &&
            !memchr(data, '\0', size)) {
            char *text = strndup(data, size);
            bool ok = text && pd_strv_push(&out->user_ids, &out->user_id_count, text);
            free(text);
            if (!ok) {
                rnp_buffer_destroy(data);
                return PGPDESK_STATUS_OUT_OF_MEMORY;
            }
            if (primary && out->user_id_count > 1) {
                char *moved = out->user_ids[out->user_id_count - 1];
                memmove(out->user_ids + 1, out->user_ids,
                        (out->user_id_count - 1) * sizeof *out->user_ids);
                out->user_ids[0] = moved;
            }
        }
        rnp_buffer_destroy(data);
    }
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
openpgp_key_facts(openpgp_keyring_t *ring, const char *fpr, openpgp_key_facts_t *out)
{
    memset(out, 0, sizeof *out);
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    pgpdesk_status_t st = collect_user_ids(key, out);
    uint32_t created = 0, expiration = 0, bits = 0;
    char *alg = NULL;
    rnp_key_get_creation(key, &created);
    rnp_key_get_expiration(key, &expiration);
    rnp_key_is_revoked(key, &out->revoked);
    rnp_key_get_bits(key, &bits);
    rnp_key_have_secret(key, &out->secret);
    if (out->secret)
        rnp_key_is_protected(key, &out->protected_secret);
    out->created_at = created;
    out->expires_at = expiration ? (int64_t) created + expiration : 0;
    out->bits = bits;
    if (rnp_key_get_alg(key, &alg) == RNP_SUCCESS) {
        out->algorithm = strdup(alg);
        rnp_buffer_destroy(alg);
    }
    size_t subkeys = 0;
    rnp_key_get_subkey_count(key, &subkeys);
    out->fingerprints = calloc(subkeys + 1, sizeof *out->fingerprints);
    if (!out->fingerprints)
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    else
        snprintf(out->fingerprints[out->fingerprint_count++], PGPDESK_FINGERPRINT_SIZE, "%s", fpr);
    if (!out->revoked) {
        widen(&out->sign_until, usable_until(key, "sign"));
        widen(&out->encrypt_until, usable_until(key, "encrypt"));
    }
    for (size_t i = 0; out->fingerprints && i < subkeys; i++) {
        rnp_key_handle_t sub = NULL;
        char *sub_fpr = NULL;
        if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
            continue;
        if (rnp_key_get_fprint(sub, &sub_fpr) == RNP_SUCCESS &&
            pd_normalize_fingerprint(sub_fpr, out->fingerprints[out->fingerprint_count]))
            out->fingerprint_count++;
        rnp_buffer_destroy(sub_fpr);
        if (!out->revoked) {
            widen(&out->sign_until, usable_until(sub, "sign"));
            widen(&out->encrypt_until, usable_until(sub, "encrypt"));
        }
        rnp_key_handle_destroy(sub);
    }
    rnp_key_handle_destroy(key);
    if (st == PGPDESK_STATUS_SUCCESS && !out->algorithm)
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (st != PGPDESK_STATUS_SUCCESS)
        openpgp_key_facts_clear(out);
    return st;
}

void
openpgp_key_facts_clear(openpgp_key_facts_t *facts)
{
    pd_strv_free(facts->user_ids, facts->user_id_count);
    free(facts->algorithm);
    free(facts->fingerprints);
    memset(facts, 0, sizeof *facts);
}

pgpdesk_status_t
openpgp_key_strip_certifications(openpgp_keyring_t *ring, const char *fpr)
{
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    rnp_result_t rc = rnp_key_remove_signatures(
        key, RNP_KEY_SIGNATURE_NON_SELF_SIG | RNP_KEY_SIGNATURE_INVALID, NULL, NULL);
    rnp_key_handle_destroy(key);
    return rc == RNP_SUCCESS ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_CRYPTO_ERROR;
}

/* Does this key hold secret material that a passphrase protects (not a gpg offline stub)? */
static bool
has_protected_secret(rnp_key_handle_t key)
{
    bool secret = false, protect = false;
    char *type = NULL;
    if (rnp_key_have_secret(key, &secret) != RNP_SUCCESS || !secret)
        return false;
    if (rnp_key_is_protected(key, &protect) != RNP_SUCCESS || !protect)
        return false;
    bool stub = rnp_key_get_protection_type(key, &type) == RNP_SUCCESS && type &&
                strncmp(type, "GNU-", 4) == 0;
    rnp_buffer_destroy(type);
    return !stub;
}

static pgpdesk_status_t
unlock(rnp_key_handle_t key, const char *passphrase, bool relock)
{
    if (!has_protected_secret(key))
        return PGPDESK_STATUS_SUCCESS;
    if (rnp_key_unlock(key, passphrase) != RNP_SUCCESS)
        return PGPDESK_STATUS_PASSPHRASE_INVALID;
    if (relock)
        rnp_key_lock(key);
    return PGPDESK_STATUS_SUCCESS;
}

/* Unlocks the primary key fpr and its subkeys; relock: lock each again at once. */
static pgpdesk_status_t
unlock_all(openpgp_keyring_t *ring, const char *fpr, const char *passphrase, bool relock)
{
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    pgpdesk_status_t st = unlock(key, passphrase, relock);
    size_t subkeys = 0;
    rnp_key_get_subkey_count(key, &subkeys);
    for (size_t i = 0; st == PGPDESK_STATUS_SUCCESS && i < subkeys; i++) {
        rnp_key_handle_t sub = NULL;
        if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
            continue;
        st = unlock(sub, passphrase, relock);
        rnp_key_handle_destroy(sub);
    }
    rnp_key_handle_destroy(key);
    return st;
}

pgpdesk_status_t
openpgp_key_check_passphrase(openpgp_keyring_t *ring, const char *fpr, const char *passphrase)
{
    return unlock_all(ring, fpr, passphrase, true);
}

pgpdesk_status_t
openpgp_key_unlock(openpgp_keyring_t *ring, const char *fpr, const char *passphrase)
{
    return unlock_all(ring, fpr, passphrase, false);
}

pgpdesk_status_t
openpgp_key_export(openpgp_keyring_t *ring, const char *fpr, bool secret, bool armored,
                  uint8_t **out, size_t *size)
{
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    membuf_t buf;
    rnp_output_t output = NULL;
    pgpdesk_status_t st = membuf_output(&buf, SIZE_MAX / 2, secret, -1, &output);
    if (st == PGPDESK_STATUS_SUCCESS) {
        uint32_t flags = RNP_KEY_EXPORT_SUBKEYS | (armored ? RNP_KEY_EXPORT_ARMORED : 0) |
                         (secret ? RNP_KEY_EXPORT_SECRET : RNP_KEY_EXPORT_PUBLIC);
        if (rnp_key_export(key, output, flags) != RNP_SUCCESS ||
            rnp_output_finish(output) != RNP_SUCCESS)
            st = secret ? PGPDESK_STATUS_NOT_PRIVATE_KEY : PGPDESK_STATUS_CRYPTO_ERROR;
    }
    rnp_output_destroy(output);
    rnp_key_handle_destroy(key);
    if (st == PGPDESK_STATUS_SUCCESS)
        membuf_take(&buf, out, size);
    else
        membuf_release(&buf);
    return st;
}

/* ---------------------------------------------------------------- signing and encryption */

/* The key that should make signatures for primary fpr (a signing subkey, or the primary). */
static rnp_key_handle_t
signing_key(openpgp_keyring_t *ring, const char *fpr)
{
    rnp_key_handle_t primary = locate(ring, fpr), key = NULL;
    if (primary && rnp_key_get_default_key(primary, "sign", 0, &key) != RNP_SUCCESS)
        key = NULL;
    rnp_key_handle_destroy(primary);
    return key;
}

/* The hash a key signs with: SHA-256, or what its curve needs (librnp raises it for ECDSA on
 * larger curves, and micalg must name the hash really used). */
static const char *
signing_hash(rnp_key_handle_t key)
{
    char *curve = NULL;
    const char *hash = "SHA256";
    if (rnp_key_get_curve(key, &curve) == RNP_SUCCESS && curve) {
        if (strcmp(curve, "NIST P-384") == 0 || strcmp(curve, "brainpoolP384r1") == 0)
            hash = "SHA384";
        else if (strcmp(curve, "NIST P-521") == 0 || strcmp(curve, "brainpoolP512r1") == 0)
            hash = "SHA512";
    }
    rnp_buffer_destroy(curve);
    return hash;
}

static const char *
micalg_for(const char *hash)
{
    if (strcmp(hash, "SHA384") == 0)
        return "pgp-sha384";
    if (strcmp(hash, "SHA512") == 0)
        return "pgp-sha512";
    return "pgp-sha256";
}

static pgpdesk_status_t
sign_detached(openpgp_keyring_t *ring, const char *signer_fpr, const source_t *src,
              uint8_t **sig, size_t *sig_size, const char **micalg)
{
    rnp_key_handle_t key = signing_key(ring, signer_fpr);
    if (!key)
        return PGPDESK_STATUS_NO_SENDER_KEY;
    const char *hash = signing_hash(key);
    rnp_input_t input = NULL;
    rnp_output_t output = NULL;
    rnp_op_sign_t op = NULL;
    membuf_t buf;
    pgpdesk_status_t st = membuf_output(&buf, SIZE_MAX / 2, false, -1, &output);
    if (!st)
        st = source_input(src, &input);
    if (!st && (rnp_op_sign_detached_create(&op, ring->ffi, input, output) != RNP_SUCCESS ||
                rnp_op_sign_add_signature(op, key, NULL) != RNP_SUCCESS ||
                rnp_op_sign_set_hash(op, hash) != RNP_SUCCESS ||
                rnp_op_sign_set_armor(op, true) != RNP_SUCCESS))
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    if (!st) {
        rnp_result_t rc = rnp_op_sign_execute(op);
        if (rc == RNP_ERROR_BAD_PASSWORD)
            st = PGPDESK_STATUS_PASSPHRASE_INVALID;
        else if (rc != RNP_SUCCESS || rnp_output_finish(output) != RNP_SUCCESS)
            st = PGPDESK_STATUS_CRYPTO_ERROR;
    }
    rnp_op_sign_destroy(op);
    rnp_input_destroy(input);
    rnp_output_destroy(output);
    rnp_key_handle_destroy(key);
    if (st) {
        membuf_release(&buf);
        return st;
    }
    membuf_take(&buf, sig, sig_size);
    *micalg = micalg_for(hash);
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
openpgp_sign_detached(openpgp_keyring_t *ring, const char *signer_fpr, const uint8_t *data,
                     size_t size, uint8_t **sig, size_t *sig_size, const char **micalg)
{
    source_t src = {.data = data, .size = size};
    return sign_detached(ring, signer_fpr, &src, sig, sig_size, micalg);
}

pgpdesk_status_t
openpgp_sign_detached_stream(openpgp_keyring_t *ring, const char *signer_fpr,
                            openpgp_reader_t *in, uint8_t **sig, size_t *sig_size,
                            const char **micalg)
{
    source_t src = {.reader = in};
    return sign_detached(ring, signer_fpr, &src, sig, sig_size, micalg);
}

/* out_fd: -1 to encrypt into *out, else the empty file the message is written to. */
static pgpdesk_status_t
encrypt_to(openpgp_keyring_t *ring, const char *const *recipient_fprs, size_t recipient_count,
           const char *signer_fpr, const source_t *src, int out_fd, uint8_t **out,
           size_t *out_size)
{
    rnp_input_t input = NULL;
    rnp_output_t output = NULL;
    rnp_op_encrypt_t op = NULL;
    membuf_t buf;
    pgpdesk_status_t st = membuf_output(&buf, SIZE_MAX / 2, false, out_fd, &output);
    if (!st)
        st = source_input(src, &input);
    if (!st && rnp_op_encrypt_create(&op, ring->ffi, input, output) != RNP_SUCCESS)
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    for (size_t i = 0; !st && i < recipient_count; i++) {
        rnp_key_handle_t primary = locate(ring, recipient_fprs[i]), key = NULL;
        if (!primary || rnp_key_get_default_key(primary, "encrypt", 0, &key) != RNP_SUCCESS ||
            rnp_op_encrypt_add_recipient(op, key) != RNP_SUCCESS)
            st = PGPDESK_STATUS_NO_RECIPIENT_KEY;
        rnp_key_handle_destroy(key);
        rnp_key_handle_destroy(primary);
    }
    if (!st && signer_fpr) {
        rnp_key_handle_t key = signing_key(ring, signer_fpr);
        if (!key || rnp_op_encrypt_add_signature(op, key, NULL) != RNP_SUCCESS ||
            rnp_op_encrypt_set_hash(op, signing_hash(key)) != RNP_SUCCESS)
            st = PGPDESK_STATUS_NO_SENDER_KEY;
        rnp_key_handle_destroy(key);
    }
    /* SEIPD v1 with MDC: integrity-protected and readable by gpg 2.2 (no AEAD). */
    if (!st && (rnp_op_encrypt_set_cipher(op, "AES256") != RNP_SUCCESS ||
                rnp_op_encrypt_set_aead(op, "None") != RNP_SUCCESS ||
                rnp_op_encrypt_set_compression(op, "Uncompressed", 0) != RNP_SUCCESS ||
                rnp_op_encrypt_set_armor(op, true) != RNP_SUCCESS))
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    if (!st) {
        rnp_result_t rc = rnp_op_encrypt_execute(op);
        if (rc == RNP_ERROR_BAD_PASSWORD)
            st = PGPDESK_STATUS_PASSPHRASE_INVALID;
        else if (rc != RNP_SUCCESS || rnp_output_finish(output) != RNP_SUCCESS)
            st = PGPDESK_STATUS_CRYPTO_ERROR;
    }
    rnp_op_encrypt_destroy(op);
    rnp_input_destroy(input);
    rnp_output_destroy(output);
    if (st) {
        membuf_release(&buf);
        return st;
    }
    membuf_take(&buf, out, out_size);
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
openpgp_encrypt(openpgp_keyring_t *ring, const char *const *recipient_fprs, size_t recipient_count,
               const char *signer_fpr, const uint8_t *data, size_t size, uint8_t **out,
               size_t *out_size)
{
    source_t src = {.data = data, .size = size};
    return encrypt_to(ring, recipient_fprs, recipient_count, signer_fpr, &src, -1, out,
                      out_size);
}

pgpdesk_status_t
openpgp_encrypt_stream(openpgp_keyring_t *ring, const char *const *recipient_fprs,
                      size_t recipient_count, const char *signer_fpr, openpgp_reader_t *in,
                      int out_fd, size_t *out_size)
{
    source_t src = {.reader = in};
    return encrypt_to(ring, recipient_fprs, recipient_count, signer_fpr, &src, out_fd, NULL,
                      out_size);
}

/* ---------------------------------------------------------------- verification */

/* 2019-01-19: from then on SHA-1 signatures count as forgeable (SHA-1 chosen-prefix
 * collisions); gpg and librnp use the same cut-off. */
#define WEAK_HASH_CUTOFF 1547856000

static bool
is_weak_hash(const char *hash)
{
    return strcasecmp(hash, "SHA1") == 0 || strcasecmp(hash, "MD5") == 0 ||
           strcasecmp(hash, "RIPEMD160") == 0;
}

/* The primary fingerprint of the key that made a signature, from the key handle. */
static void
signer_fingerprint(rnp_key_handle_t key, char out[PGPDESK_FINGERPRINT_SIZE])
{
    char *fpr = NULL;
    bool primary = false;
    out[0] = '\0';
    if (!key || rnp_key_is_primary(key, &primary) != RNP_SUCCESS)
        return;
    if ((primary ? rnp_key_get_fprint(key, &fpr) : rnp_key_get_primary_fprint(key, &fpr)) ==
            RNP_SUCCESS &&
        !pd_normalize_fingerprint(fpr, out))
        out[0] = '\0';
    rnp_buffer_destroy(fpr);
}

/* Is the key revoked, or expired now? As gpg (EXPKEYSIG) and Zammad do, a signature by a key
 * that has expired since is not shown as good. */
static openpgp_sig_status_t
key_state_at(rnp_key_handle_t key, int64_t t)
{
    bool revoked = false;
    uint64_t till = 0;
    if (rnp_key_is_revoked(key, &revoked) == RNP_SUCCESS && revoked)
        return OPENPGP_SIG_REVOKED_KEY;
    if (rnp_key_valid_till64(key, &till) == RNP_SUCCESS && till != UINT64_MAX &&
        (int64_t) till < t)
        return OPENPGP_SIG_EXPIRED_KEY;
    return OPENPGP_SIG_GOOD;
}

static openpgp_signature_t
describe_signature(rnp_op_verify_signature_t vsig)
{
    openpgp_signature_t out = {.status = OPENPGP_SIG_MALFORMED};
    rnp_result_t rc = rnp_op_verify_signature_get_status(vsig);
    uint32_t created = 0, expires = 0;
    char *hash = NULL, *keyid = NULL;
    rnp_signature_handle_t handle = NULL;
    rnp_key_handle_t key = NULL;
    rnp_op_verify_signature_get_times(vsig, &created, &expires);
    out.created_at = created;
    if (rnp_op_verify_signature_get_hash(vsig, &hash) == RNP_SUCCESS && hash)
        snprintf(out.hash, sizeof out.hash, "%s", hash);
    if (rnp_op_verify_signature_get_handle(vsig, &handle) == RNP_SUCCESS &&
        rnp_signature_get_keyid(handle, &keyid) == RNP_SUCCESS && keyid)
        snprintf(out.signing_key_id, sizeof out.signing_key_id, "%s", keyid);
    if (rnp_op_verify_signature_get_key(vsig, &key) == RNP_SUCCESS)
        signer_fingerprint(key, out.signer_fingerprint);

    if (hash && is_weak_hash(hash) && created >= WEAK_HASH_CUTOFF)
        out.status = OPENPGP_SIG_WEAK_HASH;
    else if (rc == RNP_ERROR_KEY_NOT_FOUND || (!key && rc != RNP_ERROR_SIGNATURE_INVALID))
        out.status = rc == RNP_SUCCESS ? OPENPGP_SIG_MALFORMED : OPENPGP_SIG_NO_KEY;
    else if (rc == RNP_SUCCESS || rc == RNP_ERROR_SIGNATURE_EXPIRED ||
             rc == RNP_ERROR_SIGNATURE_INVALID) {
        /* librnp calls a signature by a revoked or expired key invalid too: tell them apart
         * by the key, and keep "bad" for signatures that do not match the data. */
        openpgp_sig_status_t state = key ? key_state_at(key, time(NULL)) : OPENPGP_SIG_GOOD;
        if (state != OPENPGP_SIG_GOOD)
            out.status = state;
        else if (rc == RNP_SUCCESS)
            out.status = OPENPGP_SIG_GOOD;
        else if (rc == RNP_ERROR_SIGNATURE_EXPIRED)
            out.status = OPENPGP_SIG_EXPIRED_KEY;
        else
            out.status = OPENPGP_SIG_BAD;
    }
    rnp_buffer_destroy(hash);
    rnp_buffer_destroy(keyid);
    rnp_signature_handle_destroy(handle);
    rnp_key_handle_destroy(key);
    return out;
}

static pgpdesk_status_t
collect_signatures(rnp_op_verify_t op, openpgp_verify_result_t *result)
{
    size_t count = 0;
    memset(result, 0, sizeof *result);
    if (rnp_op_verify_get_signature_count(op, &count) != RNP_SUCCESS || count == 0)
        return PGPDESK_STATUS_SUCCESS;
    if (!(result->signatures = calloc(count, sizeof *result->signatures)))
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < count; i++) {
        rnp_op_verify_signature_t vsig = NULL;
        if (rnp_op_verify_get_signature_at(op, i, &vsig) != RNP_SUCCESS)
            continue;
        result->signatures[result->count++] = describe_signature(vsig);
    }
    return PGPDESK_STATUS_SUCCESS;
}

static pgpdesk_status_t
malformed_result(openpgp_verify_result_t *result)
{
    memset(result, 0, sizeof *result);
    if (!(result->signatures = calloc(1, sizeof *result->signatures)))
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    result->signatures[0].status = OPENPGP_SIG_MALFORMED;
    result->count = 1;
    return PGPDESK_STATUS_SUCCESS;
}

void
openpgp_verify_result_clear(openpgp_verify_result_t *result)
{
    free(result->signatures);
    memset(result, 0, sizeof *result);
}

static pgpdesk_status_t
verify_detached(openpgp_keyring_t *ring, const source_t *src, const uint8_t *sig,
                size_t sig_size, openpgp_verify_result_t *result)
{
    rnp_input_t input = NULL, signature = NULL;
    rnp_op_verify_t op = NULL;
    memset(result, 0, sizeof *result);
    pgpdesk_status_t st = source_input(src, &input);
    if (!st && rnp_input_from_memory(&signature, sig, sig_size, false) != RNP_SUCCESS)
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (!st && rnp_op_verify_detached_create(&op, ring->ffi, input, signature) != RNP_SUCCESS)
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    if (!st) {
        rnp_op_verify_execute(op); /* the outcome is in the signatures */
        st = collect_signatures(op, result);
        if (!st && result->count == 0)
            st = malformed_result(result);
    }
    rnp_op_verify_destroy(op);
    rnp_input_destroy(input);
    rnp_input_destroy(signature);
    return st;
}

pgpdesk_status_t
openpgp_verify_detached(openpgp_keyring_t *ring, const uint8_t *data, size_t size,
                       const uint8_t *sig, size_t sig_size, openpgp_verify_result_t *result)
{
    source_t src = {.data = data, .size = size};
    return verify_detached(ring, &src, sig, sig_size, result);
}

pgpdesk_status_t
openpgp_verify_detached_stream(openpgp_keyring_t *ring, openpgp_reader_t *data,
                              const uint8_t *sig, size_t sig_size,
                              openpgp_verify_result_t *result)
{
    source_t src = {.reader = data};
    return verify_detached(ring, &src, sig, sig_size, result);
}

/* ---------------------------------------------------------------- decryption */

/* What kind of integrity protection the message had, and did its check pass? */
static bool
protection_passed(rnp_op_verify_t op, char mode_out[16], char cipher_out[16])
{
    char *mode = NULL, *cipher = NULL;
    bool valid = false;
    if (rnp_op_verify_get_protection_info(op, &mode, &cipher, &valid) != RNP_SUCCESS)
        return false;
    snprintf(mode_out, 16, "%s", mode ? mode : "");
    snprintf(cipher_out, 16, "%s", cipher ? cipher : "");
    /* Only MDC- or AEAD-protected data whose check passed; "cfb" (no MDC) never. */
    bool ok = valid && mode &&
              (strcmp(mode, "cfb-mdc") == 0 || strncmp(mode, "aead-", 5) == 0);
    rnp_buffer_destroy(mode);
    rnp_buffer_destroy(cipher);
    return ok;
}

/* The primary fingerprint of the key whose session key was used; false when no session key
 * was recovered at all. */
static bool
used_key_fingerprint(rnp_op_verify_t op, rnp_ffi_t ffi, char out[PGPDESK_FINGERPRINT_SIZE])
{
    rnp_recipient_handle_t recipient = NULL;
    rnp_symenc_handle_t symenc = NULL;
    char *keyid = NULL;
    rnp_key_handle_t key = NULL;
    out[0] = '\0';
    if (rnp_op_verify_get_used_recipient(op, &recipient) != RNP_SUCCESS || !recipient)
        return rnp_op_verify_get_used_symenc(op, &symenc) == RNP_SUCCESS && symenc;
    if (rnp_recipient_get_keyid(recipient, &keyid) != RNP_SUCCESS)
        return true;
    if (rnp_locate_key(ffi, "keyid", keyid, &key) == RNP_SUCCESS && key)
        signer_fingerprint(key, out);
    rnp_key_handle_destroy(key);
    rnp_buffer_destroy(keyid);
    return true;
}

/* Does the ring hold the private key of one of the message's recipients? */
static bool
holds_recipient_key(rnp_op_verify_t op, rnp_ffi_t ffi, size_t recipients)
{
    bool found = false;
    for (size_t i = 0; i < recipients && !found; i++) {
        rnp_recipient_handle_t recipient = NULL;
        char *keyid = NULL;
        rnp_key_handle_t key = NULL;
        if (rnp_op_verify_get_recipient_at(op, i, &recipient) == RNP_SUCCESS &&
            rnp_recipient_get_keyid(recipient, &keyid) == RNP_SUCCESS &&
            rnp_locate_key(ffi, "keyid", keyid, &key) == RNP_SUCCESS && key)
            rnp_key_have_secret(key, &found);
        rnp_key_handle_destroy(key);
        rnp_buffer_destroy(keyid);
    }
    return found;
}

/* Why decryption failed. Once a session key was recovered (a recipient or password was used),
 * every failure is tampering, whatever librnp calls it: one uniform integrity_failure. */
static openpgp_decrypt_status_t
decrypt_failure(rnp_result_t rc, bool overflow, bool session_key, size_t recipients,
                bool had_private_key)
{
    if (overflow)
        return OPENPGP_DECRYPT_TOO_LARGE;
    /* Our private key (its passphrase proven at import) could not open the session key: it
     * names an algorithm librnp refuses (librnp says so only on stderr), or it is damaged. */
    if (rc == RNP_ERROR_NOT_SUPPORTED || rc == RNP_ERROR_NOT_IMPLEMENTED ||
        (had_private_key && !session_key))
        return OPENPGP_DECRYPT_UNSUPPORTED;
    if (session_key)
        return OPENPGP_DECRYPT_INTEGRITY;
    if (recipients > 0)
        return OPENPGP_DECRYPT_NO_KEY;
    return OPENPGP_DECRYPT_MALFORMED;
}

/* More session-key packets than any real message has: each one we hold a key for costs a
 * private-key operation, so a message repeating one thousands of times would be a CPU bomb. */
#define MAX_SESSION_KEYS 64

/* Counts the session-key packets (public-key and password) in front of the encrypted data of a
 * message in memory: librnp lists every packet of it. */
static size_t
count_session_keys_in_memory(const uint8_t *data, size_t size)
{
    rnp_input_t input = NULL;
    char *dump = NULL;
    size_t count = 0;
    if (rnp_input_from_memory(&input, data, size, false) != RNP_SUCCESS)
        return SIZE_MAX;
    if (rnp_dump_packets_to_json(input, 0, &dump) == RNP_SUCCESS) {
        json_t *packets = json_loads(dump, 0, NULL);
        size_t i;
        json_t *packet;
        json_array_foreach (packets, i, packet) {
            json_int_t tag = json_integer_value(json_object_get(json_object_get(packet, "header"),
                                                                "tag"));
            count += tag == 1 || tag == 3;
        }
        json_decref(packets);
    }
    rnp_buffer_destroy(dump);
    rnp_input_destroy(input);
    return count;
}

/* How much of a stream is read to count its session-key packets. They all come before the
 * encrypted data, and 64 of the largest librnp reads (RSA-16384) take 130 KiB. */
#define SESSION_KEY_PREFIX (256 * 1024)

typedef struct prefix_reader {
    openpgp_reader_t *reader;
    size_t left;
    bool cut; /* the prefix ended before the input did (or may have) */
} prefix_reader_t;

static bool
prefix_read(void *app_ctx, void *buf, size_t len, size_t *read)
{
    prefix_reader_t *p = app_ctx;
    *read = 0;
    if (p->left == 0) {
        p->cut = true;
        return true;
    }
    if (!reader_read(p->reader, buf, len < p->left ? len : p->left, read))
        return false;
    p->left -= *read;
    return true;
}

/* The same for a stream, which a dump would read to its end (a large message twice over): an
 * ffi that holds no key reads the start of it, lists the session-key packets and fails for
 * want of a key, without a single private-key operation (librnp says so on stderr). SIZE_MAX
 * when they do not all fit in SESSION_KEY_PREFIX (no real message has that many). */
static size_t
count_session_keys_in_stream(openpgp_keyring_t *ring, openpgp_reader_t *reader)
{
    if (!ring->keyless) {
        if (rnp_ffi_create(&ring->keyless, RNP_KEYSTORE_GPG, RNP_KEYSTORE_GPG) != RNP_SUCCESS)
            return SIZE_MAX;
        log_to(ring->keyless, open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    prefix_reader_t prefix = {.reader = reader, .left = SESSION_KEY_PREFIX};
    rnp_input_t input = NULL;
    rnp_output_t output = NULL;
    rnp_op_verify_t op = NULL;
    size_t recipients = 0, passwords = 0;
    if (rnp_input_from_callback(&input, prefix_read, NULL, &prefix) == RNP_SUCCESS &&
        rnp_output_to_null(&output) == RNP_SUCCESS &&
        rnp_op_verify_create(&op, ring->keyless, input, output) == RNP_SUCCESS) {
        rnp_op_verify_execute(op); /* fails: no key */
        rnp_op_verify_get_recipient_count(op, &recipients);
        rnp_op_verify_get_symenc_count(op, &passwords);
    }
    rnp_op_verify_destroy(op);
    rnp_input_destroy(input);
    rnp_output_destroy(output);
    /* librnp reports them only once it read past the last one. */
    return recipients + passwords == 0 && prefix.cut ? SIZE_MAX : recipients + passwords;
}

/* out_fd: -1 to decrypt into result->plaintext, else the empty file the plaintext goes to. */
static pgpdesk_status_t
decrypt_from(openpgp_keyring_t *ring, const source_t *src, size_t cap, int out_fd,
             openpgp_decrypt_result_t *result)
{
    memset(result, 0, sizeof *result);
    /* A stream's start is read twice: counted, then decrypted. */
    size_t session_keys = src->reader ? count_session_keys_in_stream(ring, src->reader)
                                      : count_session_keys_in_memory(src->data, src->size);
    if (session_keys > MAX_SESSION_KEYS ||
        (src->reader && !src->reader->rewind(src->reader->ctx))) {
        result->status = OPENPGP_DECRYPT_MALFORMED;
        return PGPDESK_STATUS_SUCCESS;
    }
    rnp_input_t input = NULL;
    rnp_output_t output = NULL;
    rnp_op_verify_t op = NULL;
    membuf_t buf;
    pgpdesk_status_t st = membuf_output(&buf, cap, out_fd < 0, out_fd, &output);
    if (!st)
        st = source_input(src, &input);
    if (!st && rnp_op_verify_create(&op, ring->ffi, input, output) != RNP_SUCCESS)
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    if (st) {
        rnp_input_destroy(input);
        rnp_output_destroy(output);
        membuf_release(&buf);
        return st;
    }
    /* The execute result then speaks of decryption only; signatures are judged one by one. */
    rnp_op_verify_set_flags(op, RNP_VERIFY_IGNORE_SIGS_ON_DECRYPT);
    rnp_result_t rc = rnp_op_verify_execute(op);
    if (rc == RNP_SUCCESS && rnp_output_finish(output) != RNP_SUCCESS)
        rc = RNP_ERROR_WRITE;
    bool protected_ok = protection_passed(op, result->protection, result->cipher);
    bool session_key = used_key_fingerprint(op, ring->ffi, result->key_fingerprint);
    size_t recipients = 0, passwords = 0;
    rnp_op_verify_get_recipient_count(op, &recipients);
    rnp_op_verify_get_symenc_count(op, &passwords);

    if (rc == RNP_SUCCESS && strcmp(result->protection, "none") == 0)
        result->status = OPENPGP_DECRYPT_MALFORMED; /* signed only, not encrypted */
    else if (rc == RNP_SUCCESS && protected_ok)
        result->status = OPENPGP_DECRYPT_OK;
    else if (rc == RNP_SUCCESS)
        result->status = OPENPGP_DECRYPT_INTEGRITY;
    else
        result->status = decrypt_failure(rc, buf.overflow, session_key, recipients + passwords,
                                         holds_recipient_key(op, ring->ffi, recipients));

    if (result->status == OPENPGP_DECRYPT_OK) {
        st = collect_signatures(op, &result->verify);
        if (!st)
            membuf_take(&buf, &result->plaintext, &result->size);
    }
    membuf_release(&buf); /* every byte of a failed decryption is wiped here */
    rnp_op_verify_destroy(op);
    rnp_input_destroy(input);
    rnp_output_destroy(output);
    return st;
}

pgpdesk_status_t
openpgp_decrypt(openpgp_keyring_t *ring, const uint8_t *data, size_t size, size_t cap,
               openpgp_decrypt_result_t *result)
{
    source_t src = {.data = data, .size = size};
    return decrypt_from(ring, &src, cap, -1, result);
}

pgpdesk_status_t
openpgp_decrypt_stream(openpgp_keyring_t *ring, openpgp_reader_t *in, size_t cap, int out_fd,
                      openpgp_decrypt_result_t *result)
{
    source_t src = {.reader = in};
    return decrypt_from(ring, &src, cap, out_fd, result);
}

void
openpgp_decrypt_result_clear(openpgp_decrypt_result_t *result)
{
    seal_free(result->plaintext, result->size);
    openpgp_verify_result_clear(&result->verify);
    memset(result, 0, sizeof *result);
}

pgpdesk_status_t
openpgp_verify_inline(openpgp_keyring_t *ring, const uint8_t *data, size_t size, size_t cap,
                     uint8_t **content, size_t *content_size, openpgp_verify_result_t *result)
{
    rnp_input_t input = NULL;
    rnp_output_t output = NULL;
    rnp_op_verify_t op = NULL;
    membuf_t buf;
    *content = NULL;
    *content_size = 0;
    memset(result, 0, sizeof *result);
    pgpdesk_status_t st = membuf_output(&buf, cap, false, -1, &output);
    if (!st && rnp_input_from_memory(&input, data, size, false) != RNP_SUCCESS)
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (!st && rnp_op_verify_create(&op, ring->ffi, input, output) != RNP_SUCCESS)
        st = PGPDESK_STATUS_CRYPTO_ERROR;
    if (!st) {
        rnp_result_t rc = rnp_op_verify_execute(op);
        char mode[16] = "", cipher[16] = "";
        protection_passed(op, mode, cipher);
        bool signed_only = strcmp(mode, "none") == 0 || mode[0] == '\0';
        if (rc == RNP_SUCCESS)
            rnp_output_finish(output);
        st = collect_signatures(op, result);
        if (!st && (!signed_only || result->count == 0 || buf.overflow)) {
            openpgp_verify_result_clear(result);
            st = malformed_result(result);
        } else if (!st) {
            membuf_take(&buf, content, content_size);
        }
    }
    membuf_release(&buf);
    rnp_op_verify_destroy(op);
    rnp_input_destroy(input);
    rnp_output_destroy(output);
    return st;
}
