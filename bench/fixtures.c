/* fixtures.c - the keys, databases and drafts the workloads start from. Keys are made by gpg
 * (bench/run.py) and reach pgpdesk the way an admin's would: pgpdesk_keystore_import() of
 * gpg's armored export with its passphrase. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const party_names[] = {"helpdesk", "customer"};

uint8_t *
bench_key_file(const bench_args_t *args, bench_party_t party, const char *kind, size_t *size)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%s.%s.asc", party_names[party], args->algo, kind);
    char *path = bench_path(args->keys_dir, name);
    uint8_t *data = path ? bench_read_file(path, size) : NULL;
    if (!data)
        bench_die(args, "cannot read %s (run through bench/run.py, which makes the keys)",
                  path ? path : name);
    free(path);
    return data;
}

char *
bench_passphrase(const bench_args_t *args)
{
    char *path = bench_path(args->keys_dir, "passphrase");
    size_t size = 0;
    uint8_t *data = path ? bench_read_file(path, &size) : NULL;
    if (!data)
        bench_die(args, "cannot read %s", path ? path : "passphrase");
    free(path);
    while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        data[--size] = '\0';
    return (char *) data;
}

void
bench_fingerprint(const bench_args_t *args, bench_party_t party, char out[PGPDESK_FINGERPRINT_SIZE])
{
    char name[128];
    snprintf(name, sizeof name, "%s-%s.fpr", party_names[party], args->algo);
    char *path = bench_path(args->keys_dir, name);
    size_t size = 0;
    uint8_t *data = path ? bench_read_file(path, &size) : NULL;
    if (!data || size < PGPDESK_FINGERPRINT_SIZE - 1)
        bench_die(args, "cannot read %s", path ? path : name);
    memcpy(out, data, PGPDESK_FINGERPRINT_SIZE - 1);
    out[PGPDESK_FINGERPRINT_SIZE - 1] = '\0';
    free(data);
    free(path);
}

static void
import_or_die(const bench_args_t *args, pgpdesk_t *pd, const uint8_t *data, size_t size,
              const char *passphrase)
{
    pgpdesk_import_options_t opts = {.passphrase = passphrase};
    pgpdesk_status_t st = pgpdesk_keystore_import(pd, data, size, &opts, NULL);
    if (st)
        bench_die(args, "key import failed: %s", pgpdesk_errmsg(pd));
}

pgpdesk_t *
bench_open_party_db(const bench_args_t *args, const char *name, bench_party_t owner)
{
    char file[256];
    snprintf(file, sizeof file, "%s.db", name);
    char *db = bench_path(args->work_dir, file);
    if (!db)
        bench_die(args, "out of memory");
    /* A fresh database every run: a leftover one would hold another run's keys. */
    static const char *const suffixes[] = {"", ".key", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *old = NULL;
        if (asprintf(&old, "%s%s", db, suffixes[i]) >= 0) {
            unlink(old);
            free(old);
        }
    }
    pgpdesk_t *pd = NULL;
    char *error = NULL;
    if (pgpdesk_open(db, NULL, &pd, &error))
        bench_die(args, "cannot open %s: %s", db, error ? error : "");
    free(db);

    char *passphrase = bench_passphrase(args);
    size_t size = 0;
    uint8_t *own = bench_key_file(args, owner, "secret", &size);
    import_or_die(args, pd, own, size, passphrase);
    free(own);
    uint8_t *other = bench_key_file(args, owner == BENCH_PARTY_HELPDESK ? BENCH_PARTY_CUSTOMER
                                                                          : BENCH_PARTY_HELPDESK,
                                    "pub", &size);
    import_or_die(args, pd, other, size, NULL);
    free(other);
    free(passphrase);
    return pd;
}

char *
bench_text_body(size_t size)
{
    static const char words[] =
        "Dear customer, thank you for your message about the invoice and the delivery of the "
        "replacement parts. We have checked the order and the shipment will leave our warehouse "
        "tomorrow morning; the tracking number follows in a separate mail. ";
    char *body = malloc(size + 1);
    if (!body)
        return NULL;
    size_t col = 0, w = 0;
    for (size_t i = 0; i < size; i++) {
        char c = words[w++ % (sizeof words - 1)];
        if (col >= 72 && c == ' ') {
            c = '\n';
            col = 0;
        } else {
            col++;
        }
        body[i] = c;
    }
    body[size - 1] = '\n';
    body[size] = '\0';
    return body;
}

char *
bench_compose(pgpdesk_t *pd, const bench_args_t *args, const char *from, const char *to,
              const char *body, const pgpdesk_draft_attachment_t *attachments,
              size_t attachment_count, size_t *size)
{
    pgpdesk_draft_t draft = {.to = to, .subject = "Your order 4711: shipping update",
                             .body = body, .attachments = attachments,
                             .attachment_count = attachment_count};
    char *message = NULL;
    if (pgpdesk_draft_compose(pd, from, &draft, &message, size))
        bench_die(args, "composing the draft failed: %s", pgpdesk_errmsg(pd));
    return message;
}

const uint8_t *
bench_armored_part(const uint8_t *message, size_t size, size_t *armored_size)
{
    static const char begin[] = "-----BEGIN PGP MESSAGE-----";
    static const char end[] = "-----END PGP MESSAGE-----";
    const uint8_t *b = memmem(message, size, begin, sizeof begin - 1);
    if (!b)
        return NULL;
    const uint8_t *e = memmem(b, size - (size_t) (b - message), end, sizeof end - 1);
    if (!e)
        return NULL;
    *armored_size = (size_t) (e - b) + sizeof end - 1;
    return b;
}

bool
bench_article_ok(const pgpdesk_article_t *article)
{
    json_t *enc = json_object_get(article->security, "encryption");
    json_t *sign = json_object_get(article->security, "sign");
    return json_is_true(json_object_get(enc, "success")) &&
           json_is_true(json_object_get(sign, "success"));
}
