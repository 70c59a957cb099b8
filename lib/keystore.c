/* keystore.c - the key store: import (with merge, upgrade and abuse limits), export, lookup
 * and deletion. Private keys and passphrases are sealed under the master key before they reach
 * the store and unsealed only for an operation or an explicit export. */
#include "crypto.h"
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- sealed fields */

/* The associated data binds a sealed blob to its key and field. */
static void
seal_context(char *ctx, size_t size, const char *fpr, const char *field)
{
    snprintf(ctx, size, "pgpdesk key %s %s", fpr, field);
}

static pgpdesk_status_t
seal_field(pgpdesk_t *pd, const char *fpr, const char *field, const uint8_t *plain, size_t size,
           uint8_t **out, size_t *out_size)
{
    char ctx[128];
    seal_context(ctx, sizeof ctx, fpr, field);
    return seal_close(pd->master_key, ctx, plain, size, out, out_size);
}

static pgpdesk_status_t
unseal_field(pgpdesk_t *pd, const char *fpr, const char *field, const uint8_t *sealed,
             size_t sealed_size, uint8_t **plain, size_t *size)
{
    char ctx[128];
    seal_context(ctx, sizeof ctx, fpr, field);
    return seal_open(pd->master_key, ctx, sealed, sealed_size, plain, size);
}

/* Loads a stored key's public part, and its private part unless public_only, into ring. */
static pgpdesk_status_t
load_record(pgpdesk_t *pd, const store_key_record_t *rec, bool public_only,
            openpgp_keyring_t *ring)
{
    pgpdesk_status_t st = openpgp_keyring_load(ring, rec->public_key, rec->public_key_size);
    if (st || public_only || !rec->secret_sealed)
        return st;
    uint8_t *secret = NULL;
    size_t size = 0;
    st = unseal_field(pd, rec->info.fingerprint, "secret_key", rec->secret_sealed,
                      rec->secret_sealed_size, &secret, &size);
    if (!st)
        st = openpgp_keyring_load(ring, secret, size);
    seal_free(secret, size);
    return st;
}

/* ---------------------------------------------------------------- the handle's keyring */

/* Keys loaded into the handle's keyring, so each is parsed (and unlocked) once. */
typedef struct loaded_key {
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    bool secret;
} loaded_key_t;

/* What choosing among an address's keys needs to know of one of them (see pick_usable). */
typedef struct candidate {
    char fingerprint[PGPDESK_FINGERPRINT_SIZE];
    int64_t expires_at, sign_until, encrypt_until;
    bool revoked, secret;
    bool exact;    /* one of its addresses is the one looked up (not only its domain alias) */
    char *user_id; /* its first valid user id with that address; NULL when not exact */
} candidate_t;

/* The keys found for one address, newest first. */
typedef struct address_keys {
    char *email; /* lower case */
    candidate_t *candidates;
    size_t count;
} address_keys_t;

/* Past this many addresses the lookups kept are dropped and gathered anew. */
#define ADDRESS_CACHE_MAX 256

/* What a handle keeps of the key store between operations, valid for one key generation: the
 * keyring with the keys loaded (private ones unlocked), and the keys found per address, so a
 * message does not repeat the store's joins and sorts for its sender and recipients. */
struct keyring_cache {
    openpgp_keyring_t *ring;
    char *generation;     /* the store's key generation the ring reflects */
    loaded_key_t *loaded;
    size_t loaded_count;
    address_keys_t *addresses;
    size_t address_count;
};

#define KEY_GENERATION "key_generation"

static void
forget_addresses(keyring_cache_t *cache)
{
    for (size_t i = 0; i < cache->address_count; i++) {
        for (size_t j = 0; j < cache->addresses[i].count; j++)
            free(cache->addresses[i].candidates[j].user_id);
        free(cache->addresses[i].email);
        free(cache->addresses[i].candidates);
    }
    free(cache->addresses);
    cache->addresses = NULL;
    cache->address_count = 0;
}

void
keystore_cache_destroy(pgpdesk_t *pd)
{
    keyring_cache_t *cache = pd->keys;
    if (!cache)
        return;
    openpgp_keyring_destroy(cache->ring);
    free(cache->generation);
    free(cache->loaded);
    forget_addresses(cache);
    free(cache);
    pd->keys = NULL;
}

/* Marks every handle's keyring (in this process and others) stale after a key changed. */
static void
bump_key_generation(pgpdesk_t *pd)
{
    uint8_t raw[16];
    char hex[sizeof raw * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    pd->store->ops->meta_set(pd->store, KEY_GENERATION, hex);
    keystore_cache_destroy(pd);
}

static bool
is_loaded(const keyring_cache_t *cache, const char *fpr, bool secret)
{
    for (size_t i = 0; i < cache->loaded_count; i++)
        if (strcmp(cache->loaded[i].fingerprint, fpr) == 0 && (cache->loaded[i].secret || !secret))
            return true;
    return false;
}

static void
mark_loaded(keyring_cache_t *cache, const char *fpr, bool secret)
{
    loaded_key_t *grown = realloc(cache->loaded, (cache->loaded_count + 1) * sizeof *grown);
    if (!grown)
        return;
    cache->loaded = grown;
    snprintf(grown[cache->loaded_count].fingerprint, PGPDESK_FINGERPRINT_SIZE, "%s", fpr);
    grown[cache->loaded_count++].secret = secret;
}

/* Loads a stored record into the handle's keyring; with secret also its private part, which
 * is unlocked once with the stored passphrase and stays unlocked for later operations. */
static pgpdesk_status_t
load_for_use(pgpdesk_t *pd, const store_key_record_t *rec, bool secret)
{
    keyring_cache_t *cache = pd->keys;
    const char *fpr = rec->info.fingerprint;
    if (secret && !rec->secret_sealed)
        return PGPDESK_STATUS_NOT_PRIVATE_KEY;
    if (is_loaded(cache, fpr, secret))
        return PGPDESK_STATUS_SUCCESS;
    pgpdesk_status_t st = load_record(pd, rec, !secret, cache->ring);
    if (!st && secret && rec->passphrase_sealed) {
        uint8_t *passphrase = NULL;
        size_t size = 0;
        st = unseal_field(pd, fpr, "passphrase", rec->passphrase_sealed,
                          rec->passphrase_sealed_size, &passphrase, &size);
        if (!st)
            st = openpgp_key_unlock(cache->ring, fpr, (const char *) passphrase);
        seal_free(passphrase, size);
    }
    if (!st)
        mark_loaded(cache, fpr, secret);
    return st;
}

/* librnp asks for a key by id while it works: load every stored key that has it. */
static void
fetch_from_store(void *ctx, openpgp_keyring_t *ring, const char *id_type, const char *id,
                 bool secret)
{
    pgpdesk_t *pd = ctx;
    if (strcmp(id_type, "keyid") != 0 && strcmp(id_type, "fingerprint") != 0)
        return;
    store_key_record_t *recs = NULL;
    size_t count = 0;
    if (pd->store->ops->key_find_by_id(pd->store, id, &recs, &count))
        return;
    for (size_t i = 0; i < count; i++) {
        load_for_use(pd, &recs[i], secret && recs[i].secret_sealed);
        store_key_record_clear(&recs[i]);
    }
    free(recs);
}

pgpdesk_status_t
keystore_ring(pgpdesk_t *pd, openpgp_keyring_t **out)
{
    char *generation = NULL;
    pgpdesk_status_t st = pd->store->ops->meta_get(pd->store, KEY_GENERATION, &generation);
    if (st == PGPDESK_STATUS_KEY_NOT_FOUND && (generation = strdup("")))
        st = PGPDESK_STATUS_SUCCESS;
    if (st)
        return pd_store_fail(pd, st);
    if (pd->keys && strcmp(pd->keys->generation, generation) == 0) {
        free(generation);
        *out = pd->keys->ring;
        return PGPDESK_STATUS_SUCCESS;
    }
    keystore_cache_destroy(pd);
    keyring_cache_t *cache = calloc(1, sizeof *cache);
    if (!cache || (st = openpgp_keyring_create(&cache->ring))) {
        free(cache);
        free(generation);
        return pd_fail(pd, st ? st : PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    cache->generation = generation;
    openpgp_keyring_set_fetch(cache->ring, fetch_from_store, pd);
    pd->keys = cache;
    *out = cache->ring;
    return PGPDESK_STATUS_SUCCESS;
}

pgpdesk_status_t
keystore_ring_load(pgpdesk_t *pd, openpgp_keyring_t *ring, const char *fpr, bool secret)
{
    if (!pd->keys || pd->keys->ring != ring)
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT, NULL);
    if (is_loaded(pd->keys, fpr, secret))
        return PGPDESK_STATUS_SUCCESS;
    store_key_record_t rec;
    pgpdesk_status_t st = pd->store->ops->key_get(pd->store, fpr, &rec);
    if (st)
        return pd_store_fail(pd, st);
    st = load_for_use(pd, &rec, secret);
    store_key_record_clear(&rec);
    return st ? pd_fail(pd, st, NULL) : st;
}

/* ---------------------------------------------------------------- records to keys */

static pgpdesk_key_t *
take_key(store_key_record_t *rec)
{
    pgpdesk_key_t *key = malloc(sizeof *key);
    if (!key) {
        store_key_record_clear(rec);
        return NULL;
    }
    *key = rec->info;
    memset(&rec->info, 0, sizeof rec->info);
    store_key_record_clear(rec);
    return key;
}

static void
key_clear(pgpdesk_key_t *key)
{
    store_key_record_t rec = {.info = *key};
    store_key_record_clear(&rec);
}

void
pgpdesk_key_destroy(pgpdesk_key_t *key)
{
    if (!key)
        return;
    key_clear(key);
    free(key);
}

void
pgpdesk_key_list_destroy(pgpdesk_key_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        key_clear(&list->keys[i]);
    free(list->keys);
    free(list);
}

void
pgpdesk_import_report_destroy(pgpdesk_import_report_t *report)
{
    if (!report)
        return;
    for (size_t i = 0; i < report->count; i++)
        pgpdesk_key_destroy(report->items[i].key);
    free(report->items);
    free(report);
}

/* ---------------------------------------------------------------- import */

/* The material of one key as the input carries it. */
typedef struct incoming_key {
    uint8_t *public_key;
    size_t public_size;
    uint8_t *secret_key; /* NULL when the input holds no private part */
    size_t secret_size;
    bool protected_secret;
} incoming_key_t;

static void
incoming_key_clear(incoming_key_t *in)
{
    free(in->public_key);
    seal_free(in->secret_key, in->secret_size);
    memset(in, 0, sizeof *in);
}

/* Takes the key out of the parsed input and checks its passphrase. */
static pgpdesk_status_t
take_incoming(openpgp_keyring_t *parsed, const char *fpr, const pgpdesk_import_options_t *opts,
              incoming_key_t *in)
{
    openpgp_key_facts_t facts;
    pgpdesk_status_t st = openpgp_key_facts(parsed, fpr, &facts);
    if (st)
        return st;
    bool secret = facts.secret;
    in->protected_secret = facts.protected_secret;
    openpgp_key_facts_clear(&facts);
    if (secret && in->protected_secret) {
        if (!opts->passphrase || !*opts->passphrase)
            return PGPDESK_STATUS_PASSPHRASE_MISSING;
        if ((st = openpgp_key_check_passphrase(parsed, fpr, opts->passphrase)))
            return st;
    }
    st = openpgp_key_export(parsed, fpr, false, false, &in->public_key, &in->public_size);
    if (!st && secret)
        st = openpgp_key_export(parsed, fpr, true, false, &in->secret_key, &in->secret_size);
    return st;
}

static bool
same_bytes(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp(a, b, a_size) == 0);
}

static pgpdesk_status_t
check_limits(const openpgp_key_facts_t *facts)
{
    if (facts->all_user_id_count > PGPDESK_USER_IDS_MAX)
        return PGPDESK_STATUS_TOO_MANY_USER_IDS;
    if (facts->longest_user_id > PGPDESK_USER_ID_MAX)
        return PGPDESK_STATUS_USER_ID_TOO_LONG;
    return PGPDESK_STATUS_SUCCESS;
}

/* Was anything new brought by this import, compared with the stored record old? */
static pgpdesk_status_t
is_news(pgpdesk_t *pd, const store_key_record_t *old, const uint8_t *public_key,
        size_t public_size, const incoming_key_t *in, const char *domain_alias, bool *news)
{
    *news = !same_bytes(old->public_key, old->public_key_size, public_key, public_size) ||
            (domain_alias && (!old->info.domain_alias ||
                              strcmp(domain_alias, old->info.domain_alias) != 0));
    if (*news || !in->secret_key)
        return PGPDESK_STATUS_SUCCESS;
    if (!old->secret_sealed) {
        *news = true;
        return PGPDESK_STATUS_SUCCESS;
    }
    uint8_t *stored = NULL;
    size_t size = 0;
    pgpdesk_status_t st = unseal_field(pd, old->info.fingerprint, "secret_key", old->secret_sealed,
                                       old->secret_sealed_size, &stored, &size);
    if (!st)
        *news = !same_bytes(stored, size, in->secret_key, in->secret_size);
    seal_free(stored, size);
    return st;
}

/* Fills rec (fingerprint already set) from the merged keyring and seals its secrets. */
static pgpdesk_status_t
build_record(pgpdesk_t *pd, openpgp_keyring_t *merged, const openpgp_key_facts_t *facts,
             const incoming_key_t *in, const store_key_record_t *old,
             const pgpdesk_import_options_t *opts, store_key_record_t *rec)
{
    const char *fpr = rec->info.fingerprint;
    pgpdesk_key_t *k = &rec->info;
    k->name = strdup(facts->user_id_count ? facts->user_ids[0] : "");
    k->algorithm = strdup(facts->algorithm);
    const char *alias = opts->domain_alias ? opts->domain_alias
                        : old ? old->info.domain_alias : NULL;
    k->domain_alias = alias ? strdup(alias) : NULL;
    if (!k->name || !k->algorithm || (alias && !k->domain_alias))
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < facts->user_id_count; i++) {
        if (!pd_strv_push(&k->user_ids, &k->user_id_count, facts->user_ids[i]))
            return PGPDESK_STATUS_OUT_OF_MEMORY;
        char *email = pd_email_from_user_id(facts->user_ids[i]);
        bool ok = !email || pd_strv_push(&k->emails, &k->email_count, email);
        free(email);
        if (!ok)
            return PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    k->created_at = facts->created_at;
    k->expires_at = facts->expires_at;
    k->revoked = facts->revoked;
    k->bits = facts->bits;
    rec->sign_until = facts->sign_until;
    rec->encrypt_until = facts->encrypt_until;
    rec->fingerprints = malloc(facts->fingerprint_count * sizeof *rec->fingerprints + 1);
    if (!rec->fingerprints)
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    memcpy(rec->fingerprints, facts->fingerprints,
           facts->fingerprint_count * sizeof *rec->fingerprints);
    rec->fingerprint_count = facts->fingerprint_count;

    pgpdesk_status_t st =
        openpgp_key_export(merged, fpr, false, false, &rec->public_key, &rec->public_key_size);
    if (st || !facts->secret)
        return st;

    uint8_t *secret = NULL;
    size_t secret_size = 0;
    if ((st = openpgp_key_export(merged, fpr, true, false, &secret, &secret_size)))
        return st;
    st = seal_field(pd, fpr, "secret_key", secret, secret_size, &rec->secret_sealed,
                    &rec->secret_sealed_size);
    seal_free(secret, secret_size);
    if (st)
        return st;
    if (in->secret_key && in->protected_secret)
        return seal_field(pd, fpr, "passphrase", (const uint8_t *) opts->passphrase,
                          strlen(opts->passphrase), &rec->passphrase_sealed,
                          &rec->passphrase_sealed_size);
    if (!in->secret_key && old && old->passphrase_sealed) {
        rec->passphrase_sealed = malloc(old->passphrase_sealed_size);
        if (!rec->passphrase_sealed)
            return PGPDESK_STATUS_OUT_OF_MEMORY;
        memcpy(rec->passphrase_sealed, old->passphrase_sealed, old->passphrase_sealed_size);
        rec->passphrase_sealed_size = old->passphrase_sealed_size;
    }
    return PGPDESK_STATUS_SUCCESS;
}

/* Merges the incoming key with the stored one (if any) and writes the record atomically. */
static pgpdesk_status_t
store_merged(pgpdesk_t *pd, const char *fpr, const incoming_key_t *in,
             const pgpdesk_import_options_t *opts, pgpdesk_import_item_t *item)
{
    store_t *store = pd->store;
    store_key_record_t old = {0}, rec = {0};
    openpgp_keyring_t *merged = NULL;
    openpgp_key_facts_t facts = {0};
    pgpdesk_status_t st = store->ops->key_get(store, fpr, &old);
    bool found = st == PGPDESK_STATUS_SUCCESS;
    if (st == PGPDESK_STATUS_KEY_NOT_FOUND)
        st = PGPDESK_STATUS_SUCCESS;
    if (!st)
        st = openpgp_keyring_create(&merged);
    /* A new private part replaces the stored one; otherwise the stored one is kept. */
    if (!st && found)
        st = load_record(pd, &old, in->secret_key != NULL, merged);
    if (!st)
        st = openpgp_keyring_load(merged, in->public_key, in->public_size);
    if (!st && in->secret_key)
        st = openpgp_keyring_load(merged, in->secret_key, in->secret_size);
    if (!st)
        st = openpgp_key_strip_certifications(merged, fpr);
    if (!st)
        st = openpgp_key_facts(merged, fpr, &facts);
    if (!st)
        st = check_limits(&facts);
    snprintf(rec.info.fingerprint, sizeof rec.info.fingerprint, "%s", fpr);
    if (!st)
        st = build_record(pd, merged, &facts, in, found ? &old : NULL, opts, &rec);
    if (!st && found) {
        bool news = false;
        st = is_news(pd, &old, rec.public_key, rec.public_key_size, in, opts->domain_alias, &news);
        if (!st && !news)
            st = PGPDESK_STATUS_DUPLICATE_KEY;
    }
    if (!st && !(st = store->ops->begin(store))) {
        st = store->ops->key_put(store, &rec);
        if (!st)
            st = store->ops->commit(store);
        if (st)
            store->ops->rollback(store);
        if (st == PGPDESK_STATUS_DATABASE_ERROR)
            pd_fail(pd, st, "%s", store->errmsg);
    }
    if (!st) {
        bump_key_generation(pd);
        item->action = found ? PGPDESK_IMPORT_UPDATED : PGPDESK_IMPORT_ADDED;
        item->unprotected_secret = in->secret_key && !in->protected_secret;
    }
    openpgp_key_facts_clear(&facts);
    openpgp_keyring_destroy(merged);
    store_key_record_clear(&old);
    store_key_record_clear(&rec);
    return st;
}

static pgpdesk_status_t
import_one(pgpdesk_t *pd, openpgp_keyring_t *parsed, const char *fpr,
           const pgpdesk_import_options_t *opts, pgpdesk_import_item_t *item)
{
    incoming_key_t in = {0};
    pgpdesk_status_t st = take_incoming(parsed, fpr, opts, &in);
    if (!st)
        st = store_merged(pd, fpr, &in, opts, item);
    incoming_key_clear(&in);
    if (!st)
        st = pgpdesk_keystore_get(pd, fpr, &item->key);
    return st;
}

/* Binary OpenPGP data (a packet header has bit 7 set) or control bytes: not pasted text. */
static bool
looks_binary(const uint8_t *data, size_t size)
{
    if (size && (data[0] & 0x80))
        return true;
    for (size_t i = 0; i < size; i++)
        if (data[i] < 0x20 && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
            return true;
    return false;
}

pgpdesk_status_t
pgpdesk_keystore_import(pgpdesk_t *pd, const void *data, size_t size,
                        const pgpdesk_import_options_t *options,
                        pgpdesk_import_report_t **report)
{
    static const pgpdesk_import_options_t no_options = {0};
    pgpdesk_import_options_t opts = options ? *options : no_options;
    if (report)
        *report = NULL;
    if (!pd || (!data && size))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT, NULL);
    if (size > PGPDESK_KEY_INPUT_MAX)
        return pd_fail(pd, PGPDESK_STATUS_INPUT_TOO_LARGE, NULL);
    if (size == 0)
        return pd_fail(pd, PGPDESK_STATUS_NO_VALID_DATA, NULL);
    if (opts.armored_only && !openpgp_data_is_armored(data, size))
        return pd_fail(pd, looks_binary(data, size) ? PGPDESK_STATUS_NOT_ARMORED
                                                    : PGPDESK_STATUS_NO_VALID_DATA, NULL);
    char *alias = NULL;
    if (opts.domain_alias && *opts.domain_alias) {
        const char *a = opts.domain_alias[0] == '@' ? opts.domain_alias + 1 : opts.domain_alias;
        if (!pd_valid_domain(a))
            return pd_fail(pd, PGPDESK_STATUS_INVALID_DOMAIN_ALIAS, NULL);
        if (!(alias = pd_lowercase(a)))
            return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    opts.domain_alias = alias;

    openpgp_keyring_t *parsed = NULL;
    char (*fprs)[PGPDESK_FINGERPRINT_SIZE] = NULL;
    size_t count = 0;
    pgpdesk_import_report_t *rep = NULL;
    pgpdesk_status_t st = openpgp_keyring_create(&parsed);
    if (!st)
        st = openpgp_keyring_load(parsed, data, size);
    if (!st)
        st = openpgp_keyring_primaries(parsed, &fprs, &count);
    if (!st && (!(rep = calloc(1, sizeof *rep)) || !(rep->items = calloc(count, sizeof *rep->items))))
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    pgpdesk_status_t first_failure = st;
    for (size_t i = 0; !st && i < count; i++) {
        pgpdesk_import_item_t *item = &rep->items[rep->count++];
        snprintf(item->fingerprint, sizeof item->fingerprint, "%s", fprs[i]);
        item->status = import_one(pd, parsed, fprs[i], &opts, item);
        if (item->status)
            item->action = PGPDESK_IMPORT_FAILED;
        if (item->status && !first_failure)
            first_failure = item->status;
    }
    free(fprs);
    free(alias);
    openpgp_keyring_destroy(parsed);
    if (rep && (!report || rep->count == 0)) {
        pgpdesk_import_report_destroy(rep);
        rep = NULL;
    }
    if (report)
        *report = rep;
    if (first_failure && first_failure != PGPDESK_STATUS_DATABASE_ERROR)
        pd_fail(pd, first_failure, NULL);
    return first_failure;
}

/* ---------------------------------------------------------------- lookup */

/* A key reference: a fingerprint (any case, spaces allowed) or the store id in decimal. */
static pgpdesk_status_t
normalize_or_fail(pgpdesk_t *pd, const char *ref, char fpr[PGPDESK_FINGERPRINT_SIZE])
{
    if (pd_normalize_fingerprint(ref, fpr))
        return PGPDESK_STATUS_SUCCESS;
    size_t digits = ref ? strspn(ref, "0123456789") : 0;
    if (digits == 0 || digits > 18 || ref[digits])
        return pd_fail(pd, PGPDESK_STATUS_KEY_NOT_FOUND, NULL);
    pgpdesk_status_t st = pd->store->ops->key_fingerprint(pd->store, strtoll(ref, NULL, 10), fpr);
    return st ? pd_store_fail(pd, st) : st;
}

pgpdesk_status_t
pgpdesk_keystore_get(pgpdesk_t *pd, const char *fingerprint, pgpdesk_key_t **out)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE];
    store_key_record_t rec;
    pgpdesk_status_t st = normalize_or_fail(pd, fingerprint, fpr);
    if (!st)
        st = pd_store_fail(pd, pd->store->ops->key_get(pd->store, fpr, &rec));
    if (st)
        return st;
    if (!(*out = take_key(&rec)))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    return PGPDESK_STATUS_SUCCESS;
}

static pgpdesk_status_t
list_records(pgpdesk_t *pd, const char *email, store_key_record_t **recs, size_t *count)
{
    char *lower = NULL;
    if (email && !(lower = pd_lowercase(email)))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_status_t st = pd->store->ops->key_list(pd->store, lower, recs, count);
    free(lower);
    return pd_store_fail(pd, st);
}

pgpdesk_status_t
pgpdesk_keystore_list(pgpdesk_t *pd, const char *email, pgpdesk_key_list_t **out)
{
    store_key_record_t *recs = NULL;
    size_t count = 0;
    pgpdesk_status_t st = list_records(pd, email, &recs, &count);
    if (st)
        return st;
    pgpdesk_key_list_t *list = calloc(1, sizeof *list);
    if (list && count && !(list->keys = calloc(count, sizeof *list->keys))) {
        free(list);
        list = NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (list)
            list->keys[list->count++] = recs[i].info;
        else
            store_key_record_clear(&recs[i]);
    }
    free(recs); /* the records carry no material in a listing */
    if (!list)
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    *out = list;
    return PGPDESK_STATUS_SUCCESS;
}

/* A copy of k's first valid user id whose address is email, or NULL. */
static char *
user_id_with_email(const pgpdesk_key_t *k, const char *email)
{
    char *uid = NULL;
    for (size_t i = 0; i < k->user_id_count && !uid; i++) {
        char *addr = pd_email_from_user_id(k->user_ids[i]);
        if (addr && strcasecmp(addr, email) == 0)
            uid = strdup(k->user_ids[i]);
        free(addr);
    }
    return uid;
}

static bool
usable_for(const candidate_t *c, pgpdesk_key_purpose_t purpose, int64_t now)
{
    if (c->revoked || (c->expires_at != 0 && c->expires_at <= now))
        return false;
    return purpose == PGPDESK_PURPOSE_SIGN ? c->secret && c->sign_until > now
                                           : c->encrypt_until > now;
}

/* Newest first; an exact address beats a domain alias. SIZE_MAX when none is usable. */
static size_t
pick_usable(const address_keys_t *keys, pgpdesk_key_purpose_t purpose)
{
    int64_t now = pd_now();
    size_t pick = SIZE_MAX;
    for (size_t i = 0; i < keys->count; i++) {
        if (!usable_for(&keys->candidates[i], purpose, now))
            continue;
        if (keys->candidates[i].exact)
            return i;
        if (pick == SIZE_MAX)
            pick = i;
    }
    return pick;
}

/* Finds the keys of email in the store, or in the handle's cache when the key store has not
 * changed since (with check_generation, keystore_ring() checks; without, the cache stands as
 * it is, for callers that hold the handle's keyring and must not see it rebuilt). NULL with
 * *st set on failure. */
static const address_keys_t *
address_keys(pgpdesk_t *pd, const char *email, bool check_generation, pgpdesk_status_t *st)
{
    openpgp_keyring_t *ring = NULL;
    char *lower = NULL;
    if ((check_generation || !pd->keys) && (*st = keystore_ring(pd, &ring)))
        return NULL;
    if (!(lower = pd_lowercase(email))) {
        *st = pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
        return NULL;
    }
    keyring_cache_t *cache = pd->keys;
    for (size_t i = 0; i < cache->address_count; i++)
        if (strcmp(cache->addresses[i].email, lower) == 0) {
            free(lower);
            return &cache->addresses[i];
        }
    store_key_record_t *recs = NULL;
    size_t count = 0;
    if ((*st = list_records(pd, email, &recs, &count))) {
        free(lower);
        return NULL;
    }
    candidate_t *candidates = calloc(count ? count : 1, sizeof *candidates);
    for (size_t i = 0; i < count; i++) {
        const store_key_record_t *r = &recs[i];
        if (candidates) {
            char *uid = user_id_with_email(&r->info, lower);
            candidates[i] = (candidate_t){.expires_at = r->info.expires_at,
                                          .sign_until = r->sign_until,
                                          .encrypt_until = r->encrypt_until,
                                          .revoked = r->info.revoked, .secret = r->info.secret,
                                          .exact = uid != NULL, .user_id = uid};
            memcpy(candidates[i].fingerprint, r->info.fingerprint, PGPDESK_FINGERPRINT_SIZE);
        }
        store_key_record_clear(&recs[i]);
    }
    free(recs);
    if (cache->address_count == ADDRESS_CACHE_MAX)
        forget_addresses(cache);
    address_keys_t *grown = candidates ? realloc(cache->addresses,
                                                 (cache->address_count + 1) * sizeof *grown)
                                       : NULL;
    if (!grown) {
        for (size_t i = 0; candidates && i < count; i++)
            free(candidates[i].user_id);
        free(candidates);
        free(lower);
        *st = pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
        return NULL;
    }
    cache->addresses = grown;
    grown[cache->address_count] = (address_keys_t){lower, candidates, count};
    return &grown[cache->address_count++];
}

pgpdesk_status_t
keystore_usable_fingerprint(pgpdesk_t *pd, const char *email, pgpdesk_key_purpose_t purpose,
                            char fingerprint[PGPDESK_FINGERPRINT_SIZE])
{
    if (!email)
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT, NULL);
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    const address_keys_t *keys = address_keys(pd, email, true, &st);
    if (!keys)
        return st;
    size_t pick = pick_usable(keys, purpose);
    if (pick == SIZE_MAX)
        return pd_fail(pd, PGPDESK_STATUS_KEY_NOT_FOUND, NULL);
    memcpy(fingerprint, keys->candidates[pick].fingerprint, PGPDESK_FINGERPRINT_SIZE);
    return PGPDESK_STATUS_SUCCESS;
}

char *
keystore_user_id_for(pgpdesk_t *pd, const char *fingerprint, const char *email)
{
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    /* An analysis holds the keyring while it asks: it sees the key store as of its start. */
    const address_keys_t *keys = email ? address_keys(pd, email, false, &st) : NULL;
    for (size_t i = 0; keys && i < keys->count; i++)
        if (keys->candidates[i].user_id &&
            strcasecmp(keys->candidates[i].fingerprint, fingerprint) == 0)
            return strdup(keys->candidates[i].user_id);
    return NULL;
}

pgpdesk_status_t
pgpdesk_keystore_find_usable(pgpdesk_t *pd, const char *email, pgpdesk_key_purpose_t purpose,
                             pgpdesk_key_t **out)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE];
    pgpdesk_status_t st = keystore_usable_fingerprint(pd, email, purpose, fpr);
    return st ? st : pgpdesk_keystore_get(pd, fpr, out);
}

key_state_t
keystore_key_state(pgpdesk_t *pd, const char *email, pgpdesk_key_purpose_t purpose)
{
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    const address_keys_t *keys = address_keys(pd, email, true, &st);
    if (!keys)
        return KEY_MISSING;
    int64_t now = pd_now();
    key_state_t state = KEY_MISSING;
    for (size_t i = 0; i < keys->count; i++) {
        const candidate_t *c = &keys->candidates[i];
        key_state_t s = usable_for(c, purpose, now)                         ? KEY_USABLE
                        : purpose == PGPDESK_PURPOSE_SIGN && !c->secret     ? KEY_MISSING
                        : c->revoked                                        ? KEY_REVOKED
                        : c->expires_at != 0 && c->expires_at <= now        ? KEY_EXPIRED
                                                                            : KEY_INCAPABLE;
        if (s < state)
            state = s;
    }
    return state;
}

/* ---------------------------------------------------------------- export and delete */

pgpdesk_status_t
pgpdesk_keystore_export(pgpdesk_t *pd, const char *fingerprint, bool secret, char **armored,
                        size_t *size)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE];
    store_key_record_t rec = {0};
    openpgp_keyring_t *ring = NULL;
    uint8_t *out = NULL;
    size_t out_size = 0;
    pgpdesk_status_t st = normalize_or_fail(pd, fingerprint, fpr);
    if (!st)
        st = pd_store_fail(pd, pd->store->ops->key_get(pd->store, fpr, &rec));
    if (!st && secret && !rec.secret_sealed)
        st = PGPDESK_STATUS_NOT_PRIVATE_KEY;
    if (!st)
        st = openpgp_keyring_create(&ring);
    if (!st)
        st = load_record(pd, &rec, !secret, ring);
    if (!st)
        st = openpgp_key_export(ring, fpr, secret, true, &out, &out_size);
    openpgp_keyring_destroy(ring);
    store_key_record_clear(&rec);
    if (st)
        return pd->errmsg[0] && st == PGPDESK_STATUS_DATABASE_ERROR ? st : pd_fail(pd, st, NULL);
    *armored = (char *) out;
    if (size)
        *size = out_size;
    return PGPDESK_STATUS_SUCCESS;
}

char *
pgpdesk_key_export_filename(const char *fingerprint, bool secret)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE], *name = NULL;
    if (!pd_normalize_fingerprint(fingerprint, fpr))
        return NULL;
    if (asprintf(&name, "%s%s", fpr, secret ? ".asc" : ".pub.asc") < 0)
        return NULL;
    return name;
}

pgpdesk_status_t
pgpdesk_keystore_delete(pgpdesk_t *pd, const char *fingerprint)
{
    char fpr[PGPDESK_FINGERPRINT_SIZE];
    pgpdesk_status_t st = normalize_or_fail(pd, fingerprint, fpr);
    if (!st)
        st = pd_store_fail(pd, pd->store->ops->key_delete(pd->store, fpr));
    if (!st)
        bump_key_generation(pd);
    return st;
}
