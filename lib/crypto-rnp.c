/* crypto-rnp.c - OpenPGP on librnp, the only file that includes <rnp/rnp.h>.
 *
 * librnp's defaults are not safe enough for mail a helpdesk agent must trust, so this file:
 *   - sends librnp's log to /dev/null (never the user's terminal),
 *   - never prompts for a password (no password provider),
 *   - writes every output into buffers it owns, so secrets are wiped and sizes capped,
 *   - hands nothing to the caller before the whole operation succeeded. */
#include "crypto.h"
#include "internal.h"

#include <fcntl.h>
#include <jansson.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct crypto_keyring {
    rnp_ffi_t ffi;
    char (*primaries)[PGPDESK_FINGERPRINT_SIZE]; /* in load order, no duplicates */
    size_t primary_count;
};

/* ---------------------------------------------------------------- owned output buffers */

/* A growable buffer librnp writes into through a callback; a secret buffer is wiped whenever it
 * moves or is freed. Writes past limit fail the librnp operation. */
typedef struct membuf {
    uint8_t *data;
    size_t size;
    size_t cap;
    size_t limit;
    bool secret;
    bool overflow;
} membuf_t;

static void
membuf_release(membuf_t *buf)
{
    if (buf->secret)
        seal_free(buf->data, buf->cap);
    else
        free(buf->data);
    memset(buf, 0, sizeof *buf);
}

static bool
membuf_write(void *app_ctx, const void *data, size_t len)
{
    membuf_t *buf = app_ctx;
    if (len > buf->limit - buf->size) {
        buf->overflow = true;
        return false;
    }
    if (buf->size + len + 1 > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 4096;
        while (cap < buf->size + len + 1)
            cap *= 2;
        uint8_t *grown = malloc(cap);
        if (!grown)
            return false;
        if (buf->size)
            memcpy(grown, buf->data, buf->size);
        bool secret = buf->secret;
        size_t size = buf->size, limit = buf->limit;
        membuf_release(buf);
        *buf = (membuf_t){.data = grown, .size = size, .cap = cap, .limit = limit, .secret = secret};
    }
    memcpy(buf->data + buf->size, data, len);
    buf->size += len;
    buf->data[buf->size] = '\0';
    return true;
}

static pgpdesk_status_t
membuf_output(membuf_t *buf, size_t limit, bool secret, rnp_output_t *out)
{
    *buf = (membuf_t){.limit = limit, .secret = secret};
    if (rnp_output_to_callback(out, membuf_write, NULL, buf) != RNP_SUCCESS)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    return PGPDESK_STATUS_SUCCESS;
}

/* Hands the buffer's bytes to the caller (NUL-terminated) and empties buf. */
static void
membuf_take(membuf_t *buf, uint8_t **out, size_t *size)
{
    if (!buf->data)
        membuf_write(buf, "", 0);
    *out = buf->data;
    *size = buf->size;
    buf->data = NULL;
    membuf_release(buf);
}

/* ---------------------------------------------------------------- keyrings */

pgpdesk_status_t
crypto_keyring_create(crypto_keyring_t **out)
{
    crypto_keyring_t *ring = calloc(1, sizeof *ring);
    if (!ring)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    if (rnp_ffi_create(&ring->ffi, RNP_KEYSTORE_GPG, RNP_KEYSTORE_GPG) != RNP_SUCCESS) {
        free(ring);
        return PGPDESK_STATUS_CRYPTO_ERROR;
    }
    /* librnp closes the log descriptor with the ffi. */
    int log_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (log_fd >= 0 && rnp_ffi_set_log_fd(ring->ffi, log_fd) != RNP_SUCCESS)
        close(log_fd);
    *out = ring;
    return PGPDESK_STATUS_SUCCESS;
}

void
crypto_keyring_destroy(crypto_keyring_t *ring)
{
    if (!ring)
        return;
    rnp_ffi_destroy(ring->ffi);
    free(ring->primaries);
    free(ring);
}

bool
crypto_data_is_armored(const uint8_t *data, size_t size)
{
    size_t i = 0;
    while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    static const char header[] = "-----BEGIN PGP ";
    return size - i >= sizeof header - 1 && memcmp(data + i, header, sizeof header - 1) == 0;
}

static rnp_key_handle_t
locate(crypto_keyring_t *ring, const char *fpr)
{
    rnp_key_handle_t key = NULL;
    if (rnp_locate_key(ring->ffi, "fingerprint", fpr, &key) != RNP_SUCCESS)
        return NULL;
    return key;
}

static void
remember_primary(crypto_keyring_t *ring, const char *hex)
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
note_imported(crypto_keyring_t *ring, const char *results)
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
crypto_keyring_load(crypto_keyring_t *ring, const uint8_t *data, size_t size)
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
crypto_keyring_primaries(crypto_keyring_t *ring, char (**fprs)[PGPDESK_FINGERPRINT_SIZE],
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
collect_user_ids(rnp_key_handle_t key, crypto_key_facts_t *out)
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
crypto_key_facts(crypto_keyring_t *ring, const char *fpr, crypto_key_facts_t *out)
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
    if (!out->revoked) {
        widen(&out->sign_until, usable_until(key, "sign"));
        widen(&out->encrypt_until, usable_until(key, "encrypt"));
        size_t subkeys = 0;
        rnp_key_get_subkey_count(key, &subkeys);
        for (size_t i = 0; i < subkeys; i++) {
            rnp_key_handle_t sub = NULL;
            if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
                continue;
            widen(&out->sign_until, usable_until(sub, "sign"));
            widen(&out->encrypt_until, usable_until(sub, "encrypt"));
            rnp_key_handle_destroy(sub);
        }
    }
    rnp_key_handle_destroy(key);
    if (st == PGPDESK_STATUS_SUCCESS && !out->algorithm)
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (st != PGPDESK_STATUS_SUCCESS)
        crypto_key_facts_clear(out);
    return st;
}

void
crypto_key_facts_clear(crypto_key_facts_t *facts)
{
    pd_strv_free(facts->user_ids, facts->user_id_count);
    free(facts->algorithm);
    memset(facts, 0, sizeof *facts);
}

pgpdesk_status_t
crypto_key_strip_certifications(crypto_keyring_t *ring, const char *fpr)
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
unlock_and_relock(rnp_key_handle_t key, const char *passphrase)
{
    if (!has_protected_secret(key))
        return PGPDESK_STATUS_SUCCESS;
    if (rnp_key_unlock(key, passphrase) != RNP_SUCCESS)
        return PGPDESK_STATUS_PASSPHRASE_INVALID;
    rnp_key_lock(key);
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
crypto_key_check_passphrase(crypto_keyring_t *ring, const char *fpr, const char *passphrase)
{
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    pgpdesk_status_t st = unlock_and_relock(key, passphrase);
    size_t subkeys = 0;
    rnp_key_get_subkey_count(key, &subkeys);
    for (size_t i = 0; st == PGPDESK_STATUS_SUCCESS && i < subkeys; i++) {
        rnp_key_handle_t sub = NULL;
        if (rnp_key_get_subkey_at(key, i, &sub) != RNP_SUCCESS)
            continue;
        st = unlock_and_relock(sub, passphrase);
        rnp_key_handle_destroy(sub);
    }
    rnp_key_handle_destroy(key);
    return st;
}

pgpdesk_status_t
crypto_key_export(crypto_keyring_t *ring, const char *fpr, bool secret, bool armored,
                  uint8_t **out, size_t *size)
{
    rnp_key_handle_t key = locate(ring, fpr);
    if (!key)
        return PGPDESK_STATUS_KEY_NOT_FOUND;
    membuf_t buf;
    rnp_output_t output = NULL;
    pgpdesk_status_t st = membuf_output(&buf, SIZE_MAX / 2, secret, &output);
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
