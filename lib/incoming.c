/* incoming.c - what an incoming message is, cryptographically, and what an agent may trust.
 *
 * A badge is earned only by the crypto layer at the MIME root (or the root of a decrypted
 * payload): multipart/encrypted, multipart/signed, or a text/plain body that is exactly one
 * armored block. Crypto anywhere else (Efail wrappers, forwarded mail, several ciphertexts) is
 * reported as "partial" and neither decrypted into the article nor badged.
 *
 * GMime is used to parse only, never to serialize what it parsed: GMime 3.2.13 can loop forever
 * encoding parameters of a crafted Content-Type. Signed bytes are cut out of the raw message by
 * the RFC 2046 rules here, and the processed view is assembled from raw bytes.
 *
 * A message larger than PD_STREAM_THRESHOLD is read from its file, never whole into memory:
 * GMime parses it keeping offsets only, ciphertext and signed bytes stream through librnp, a
 * large decrypted payload goes to a private temporary file, and the view to a body file. Its
 * leaves larger than the threshold are not searched for inline PGP, and encrypted attachments
 * that large are reported (too_large) rather than decrypted. */
#include "crypto.h"
#include "internal.h"
#include "spool.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the result */

/* An encrypted attachment (*.pgp, *.gpg, *.asc) after decryption, saved without that
 * extension. */
typedef struct decrypted_file {
    char *name;
    uint8_t *data; /* release with seal_free() */
    size_t size;
} decrypted_file_t;

#define MAX_DECRYPTED_FILES 16

typedef struct analysis_ctx {
    pgpdesk_t *pd;
    openpgp_keyring_t *ring;    /* the handle's keyring (borrowed) */
    int64_t deadline;           /* pd_monotonic_ms() value after which we give up */
    json_t *sign;               /* the "sign" object being filled */
    json_t *encryption;         /* the "encryption" object being filled */
    char *error;                /* a failure of the message as a whole (malformed, timeout) */
    const char *signer_from;    /* the From address a signature must match; NULL: not exactly one */
    GMimeObject *protected_source; /* the authenticated entity carrying protected headers */
    const uint8_t *view;        /* the entity the article shows (borrowed from raw or plaintext) */
    size_t view_size;
    uint8_t *plaintext;         /* owned decrypted payload, released with seal_free() */
    size_t plaintext_size;
    GMimeObject *plaintext_root; /* its parse; owned */
    decrypted_file_t files[MAX_DECRYPTED_FILES]; /* encrypted attachments, decrypted */
    size_t file_count;
    json_t *file_results;       /* the "attachments" array of the result, or NULL */
    bool large;                 /* streamed from a file (see the top of this file) */
    GMimeStream *view_stream;   /* large: the entity the article shows, instead of view; owned */
    GMimeStream *plaintext_stream; /* large: a decrypted payload too large for memory; owned */
} analysis_ctx_t;

static const char *const sign_comments[][2] = {
    {"good", "Good signature"},
    {"bad", "The PGP signature is invalid."},
    {"no_public_key", "The public PGP key could not be found."},
    {"expired_key", "The PGP key used for this signature has expired."},
    {"revoked_key", "The PGP key used for this signature has been revoked."},
    {"signer_mismatch", "The signature is valid, but it was not made by a key of the From address."},
    {"weak_algorithm", "The PGP signature uses a weak hash algorithm."},
    {"partial", "Only part of this message is signed; it is not shown as signed."},
    {"malformed", "The PGP signature could not be read."},
};

static const char *const encryption_comments[][2] = {
    {"decrypted", ""},
    {"no_private_key", "The private PGP key could not be found."},
    {"integrity_failure", "The encrypted message failed its integrity check; none of it was kept."},
    {"too_large", "The decrypted message would exceed the size limit."},
    {"malformed", "The encrypted part of this PGP email could not be read."},
    {"unsupported_algorithm", "The message uses an encryption algorithm that is not supported, "
                              "or its session key is damaged."},
    {"partial", "Only part of this message is encrypted; it was not decrypted into the article."},
};

static const char *
default_comment(const char *const table[][2], size_t n, const char *status)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i][0], status) == 0)
            return table[i][1];
    return NULL;
}

/* Sets a layer's status, its success and comment (the default one when comment is NULL). */
static void
set_layer(json_t *layer, const char *status, const char *comment)
{
    bool is_sign = json_object_get(layer, "signer_fingerprint") != NULL;
    if (!comment)
        comment = is_sign ? default_comment(sign_comments, 9, status)
                          : default_comment(encryption_comments, 7, status);
    json_object_set_new(layer, "status", json_string(status));
    json_object_set_new(layer, "success",
                        json_boolean(strcmp(status, is_sign ? "good" : "decrypted") == 0));
    json_object_set_new(layer, "comment", comment ? json_string(comment) : json_null());
}

static const char *
layer_status(json_t *layer)
{
    return json_string_value(json_object_get(layer, "status"));
}

/* "partial" never overrides a root-level result, and only fills an empty layer. */
static void
mark_partial(json_t *layer)
{
    if (strcmp(layer_status(layer), "none") == 0)
        set_layer(layer, "partial", NULL);
}

static bool
out_of_time(analysis_ctx_t *ctx)
{
    if (pd_monotonic_ms() <= ctx->deadline)
        return false;
    if (!ctx->error)
        ctx->error = strdup("Processing the message took longer than the time limit.");
    return true;
}

/* ---------------------------------------------------------------- raw bytes */

/* Length of the header block of an entity, including the blank line ending it. */
static size_t
header_block_size(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '\n')
        return 1;
    if (size > 1 && data[0] == '\r' && data[1] == '\n')
        return 2;
    for (size_t i = 0; i + 1 < size; i++) {
        if (data[i] != '\n')
            continue;
        if (data[i + 1] == '\n')
            return i + 2;
        if (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')
            return i + 3;
    }
    return size;
}

/* Is the line at p (up to end) a delimiter of boundary ("--boundary", "--boundary--", then
 * optional white space)? */
static bool
is_delimiter(const uint8_t *p, const uint8_t *end, const char *boundary, size_t blen)
{
    if ((size_t) (end - p) < blen + 2 || p[0] != '-' || p[1] != '-' ||
        memcmp(p + 2, boundary, blen) != 0)
        return false;
    p += 2 + blen;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-')
        p += 2;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p == end || *p == '\r' || *p == '\n';
}

/* The first body part of a multipart entity body, exactly as RFC 2046 delimits it: it starts
 * after the first delimiter line and ends before the line break preceding the next delimiter
 * (that line break belongs to the delimiter; blank lines before it belong to the part). */
static bool
first_part_bytes(const uint8_t *body, size_t size, const char *boundary, const uint8_t **part,
                 size_t *part_size)
{
    size_t blen = strlen(boundary);
    const uint8_t *end = body + size, *start = NULL;
    for (const uint8_t *line = body; line < end;) {
        const uint8_t *nl = memchr(line, '\n', (size_t) (end - line));
        const uint8_t *line_end = nl ? nl : end;
        if (is_delimiter(line, line_end, boundary, blen)) {
            if (start) {
                const uint8_t *stop = line;
                if (stop > start && stop[-1] == '\n')
                    stop--;
                if (stop > start && stop[-1] == '\r')
                    stop--;
                *part = start;
                *part_size = (size_t) (stop - start);
                return true;
            }
            start = nl ? nl + 1 : end;
        }
        line = nl ? nl + 1 : end;
    }
    return false;
}

/* ---------------------------------------------------------------- GMime access */

static bool
is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = obj ? g_mime_object_get_content_type(obj) : NULL;
    return ct && g_mime_content_type_is_type(ct, type, subtype);
}

static const char *
ct_param(GMimeObject *obj, const char *name)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    return ct ? g_mime_content_type_get_parameter(ct, name) : NULL;
}

/* The decoded (transfer-decoded) content of a leaf part. Caller frees with
 * g_byte_array_free(bytes, TRUE). */
static GByteArray *
part_content(GMimeObject *obj)
{
    if (!GMIME_IS_PART(obj))
        return NULL;
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
    if (!content)
        return NULL;
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE); /* the array is ours now */
    g_object_unref(mem);
    return bytes;
}

/* The still-encoded content of a leaf part, as a stream (borrowed from the part). */
static GMimeStream *
part_stream(GMimeObject *obj)
{
    GMimeDataWrapper *content = GMIME_IS_PART(obj) ? g_mime_part_get_content(GMIME_PART(obj))
                                                   : NULL;
    return content ? g_mime_data_wrapper_get_stream(content) : NULL;
}

/* In a large message: is this leaf too large to be read into memory? */
static bool
part_too_large(const analysis_ctx_t *ctx, GMimeObject *obj)
{
    GMimeStream *stream = ctx->large ? part_stream(obj) : NULL;
    return stream && g_mime_stream_length(stream) > (gint64) PD_STREAM_THRESHOLD;
}

/* The transfer encoding a leaf part's content must be decoded from, or DEFAULT when its bytes
 * are its content. */
static GMimeContentEncoding
transfer_decoding(GMimeObject *obj)
{
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
    GMimeContentEncoding encoding = content ? g_mime_data_wrapper_get_encoding(content)
                                            : GMIME_CONTENT_ENCODING_DEFAULT;
    return encoding == GMIME_CONTENT_ENCODING_BASE64 ||
                   encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                   encoding == GMIME_CONTENT_ENCODING_UUENCODE
               ? encoding
               : GMIME_CONTENT_ENCODING_DEFAULT;
}

/* The decoded content of a leaf part as a stream read from the start; caller unrefs it. */
static GMimeStream *
decoded_part_stream(GMimeObject *obj)
{
    GMimeStream *stream = part_stream(obj);
    if (!stream)
        return NULL;
    GMimeContentEncoding encoding = transfer_decoding(obj);
    g_mime_stream_reset(stream);
    GMimeStream *decoded = g_mime_stream_filter_new(stream);
    if (encoding != GMIME_CONTENT_ENCODING_DEFAULT) {
        GMimeFilter *filter = g_mime_filter_basic_new(encoding, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(decoded), filter);
        g_object_unref(filter);
    }
    return decoded;
}

static GMimeObject *
parse_stream(GMimeStream *stream, bool message, GMimeMessage **msg)
{
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeObject *root = NULL;
    if (message) {
        *msg = g_mime_parser_construct_message(parser, NULL);
        root = *msg ? g_mime_message_get_mime_part(*msg) : NULL;
    } else {
        root = g_mime_parser_construct_part(parser, NULL);
    }
    g_object_unref(parser);
    return root;
}

static GMimeObject *
parse_entity(const uint8_t *data, size_t size, bool message, GMimeMessage **msg)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *) data, size);
    GMimeObject *root = parse_stream(stream, message, msg);
    g_object_unref(stream);
    return root;
}

/* Counts parts and depth; false when the message exceeds the limits. */
static bool
within_limits(GMimeObject *obj, unsigned depth, unsigned *parts, const pgpdesk_limits_t *lim)
{
    if (!obj)
        return true;
    if (depth > lim->max_mime_depth || ++*parts > lim->max_mime_parts)
        return false;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            if (!within_limits(g_mime_multipart_get_part(mp, i), depth + 1, parts, lim))
                return false;
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner && !within_limits(g_mime_message_get_mime_part(inner), depth + 1, parts, lim))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- signatures */

static const char *
sig_status_name(openpgp_sig_status_t status)
{
    switch (status) {
    case OPENPGP_SIG_GOOD: return "good";
    case OPENPGP_SIG_BAD: return "bad";
    case OPENPGP_SIG_NO_KEY: return "no_public_key";
    case OPENPGP_SIG_EXPIRED_KEY: return "expired_key";
    case OPENPGP_SIG_REVOKED_KEY: return "revoked_key";
    case OPENPGP_SIG_WEAK_HASH: return "weak_algorithm";
    case OPENPGP_SIG_MALFORMED: return "malformed";
    }
    return "malformed";
}

/* Fills the sign layer from verification results: the first good signature wins, else the
 * first one. A good signature whose key has no valid user id equal to the single From address
 * is signer_mismatch. */
static void
record_signatures(analysis_ctx_t *ctx, const openpgp_verify_result_t *result)
{
    if (result->count == 0)
        return;
    const openpgp_signature_t *sig = &result->signatures[0];
    for (size_t i = 0; i < result->count; i++)
        if (result->signatures[i].status == OPENPGP_SIG_GOOD) {
            sig = &result->signatures[i];
            break;
        }
    const char *status = sig_status_name(sig->status);
    char *uid = sig->signer_fingerprint[0]
                    ? keystore_user_id_for(ctx->pd, sig->signer_fingerprint, ctx->signer_from)
                    : NULL;
    if (sig->status == OPENPGP_SIG_GOOD && !uid)
        status = "signer_mismatch";
    set_layer(ctx->sign, status, NULL);
    json_t *layer = ctx->sign;
    json_object_set_new(layer, "signer_fingerprint",
                        sig->signer_fingerprint[0] ? json_string(sig->signer_fingerprint)
                                                   : json_null());
    json_object_set_new(layer, "signer_uid", uid ? json_string(uid) : json_null());
    if (sig->created_at) {
        char when[21];
        pgpdesk_format_time(sig->created_at, when);
        json_object_set_new(layer, "signed_at", json_string(when));
    }
    json_object_set_new(layer, "hash", sig->hash[0] ? json_string(sig->hash) : json_null());
    if (!sig->signer_fingerprint[0] && sig->signing_key_id[0])
        json_object_set_new(layer, "signer_key_id", json_string(sig->signing_key_id));
    free(uid);
}

/* The signature part of a multipart/signed entity as RFC 3156 wants it, else NULL with the
 * sign layer saying why. */
static GMimeObject *
signature_part_of(analysis_ctx_t *ctx, GMimeObject *entity)
{
    GMimeMultipart *mp = GMIME_MULTIPART(entity);
    if (g_mime_multipart_get_count(mp) != 2) {
        set_layer(ctx->sign, "malformed", "This PGP email does not have exactly two body parts "
                                          "for PGP mails as mandated by RFC 3156.");
        return NULL;
    }
    GMimeObject *sig_part = g_mime_multipart_get_part(mp, 1);
    if (!is_type(sig_part, "application", "pgp-signature") || part_too_large(ctx, sig_part)) {
        set_layer(ctx->sign, "malformed", "The signature part of this PGP email is missing or "
                                          "has a wrong content type according to RFC 3156.");
        return NULL;
    }
    return sig_part;
}

/* After verification: a good signature lets the signed part's headers speak (RFC 9788). */
static void
signed_part_verified(analysis_ctx_t *ctx, GMimeObject *entity)
{
    if (strcmp(layer_status(ctx->sign), "good") == 0)
        ctx->protected_source = g_mime_multipart_get_part(GMIME_MULTIPART(entity), 0);
}

/* multipart/signed at the root of entity (whose bytes, headers included, are data). */
static void
process_signed(analysis_ctx_t *ctx, GMimeObject *entity, const uint8_t *data, size_t size)
{
    GMimeObject *sig_part = signature_part_of(ctx, entity);
    if (!sig_part)
        return;
    const char *boundary = ct_param(entity, "boundary");
    size_t header = header_block_size(data, size);
    const uint8_t *signed_part = NULL;
    size_t signed_size = 0;
    if (!boundary || !first_part_bytes(data + header, size - header, boundary, &signed_part,
                                       &signed_size)) {
        set_layer(ctx->sign, "malformed", NULL);
        return;
    }
    GByteArray *signature = part_content(sig_part);
    size_t canonical_size = 0;
    uint8_t *canonical = NULL;
    pd_crlf_canonical(signed_part, signed_size, &canonical, &canonical_size);
    openpgp_verify_result_t result = {0};
    if (signature && canonical &&
        openpgp_verify_detached(ctx->ring, canonical, canonical_size, signature->data,
                               signature->len, &result) == PGPDESK_STATUS_SUCCESS)
        record_signatures(ctx, &result);
    else
        set_layer(ctx->sign, "malformed", NULL);
    openpgp_verify_result_clear(&result);
    free(canonical);
    if (signature)
        g_byte_array_free(signature, TRUE);
    ctx->view = signed_part;
    ctx->view_size = signed_size;
    signed_part_verified(ctx, entity);
}

/* Calls line() for each line of stream from its start (offset, bytes: at most a buffer's
 * worth of a longer line) until it returns false. */
typedef bool (*line_fn)(void *ctx, gint64 offset, const uint8_t *line, size_t len);

static void
for_each_line(GMimeStream *stream, line_fn line, void *line_ctx)
{
    enum { CHUNK = 65536 };
    uint8_t *buf = malloc(2 * CHUNK);
    size_t have = 0;
    gint64 offset = 0; /* of buf[0] in the stream */
    bool more = buf != NULL && g_mime_stream_reset(stream) == 0;
    while (more) {
        ssize_t n = g_mime_stream_read(stream, (char *) buf + have, CHUNK);
        bool end = n <= 0;
        have += n > 0 ? (size_t) n : 0;
        size_t pos = 0;
        while (more && pos < have) {
            uint8_t *nl = memchr(buf + pos, '\n', have - pos);
            if (!nl && !end && have - pos < CHUNK)
                break; /* the rest of this line comes with the next read */
            size_t len = nl ? (size_t) (nl - (buf + pos)) + 1 : have - pos;
            more = line(line_ctx, offset + (gint64) pos, buf + pos, len);
            pos += len;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        offset += (gint64) pos;
        more = more && !end;
    }
    free(buf);
}

/* Finds the first body part of a multipart entity in a stream, by the rules first_part_bytes()
 * follows in memory. */
typedef struct part_finder {
    const char *boundary;
    size_t boundary_len;
    bool in_body;        /* past the entity's header block */
    gint64 start, end;   /* -1 until found */
    gint64 last_break;   /* where the line break before the current line starts */
} part_finder_t;

static bool
find_part_line(void *ctx, gint64 offset, const uint8_t *line, size_t len)
{
    part_finder_t *f = ctx;
    if (!f->in_body) {
        f->in_body = line[0] == '\n' || (len >= 2 && line[0] == '\r' && line[1] == '\n');
        return true;
    }
    size_t brk = len > 0 && line[len - 1] == '\n' ? 1 : 0;
    if (brk && len > 1 && line[len - 2] == '\r')
        brk = 2;
    if (is_delimiter(line, line + len - (brk ? 1 : 0), f->boundary, f->boundary_len)) {
        if (f->start >= 0) {
            f->end = f->last_break > f->start ? f->last_break : offset;
            return false;
        }
        f->start = offset + (gint64) len;
    }
    f->last_break = offset + (gint64) (len - brk);
    return true;
}

/* multipart/signed at the root of a large entity, whose bytes are the stream. */
static void
process_signed_large(analysis_ctx_t *ctx, GMimeObject *entity, GMimeStream *bytes)
{
    GMimeObject *sig_part = signature_part_of(ctx, entity);
    const char *boundary = sig_part ? ct_param(entity, "boundary") : NULL;
    if (!sig_part)
        return;
    part_finder_t finder = {.boundary = boundary, .boundary_len = boundary ? strlen(boundary) : 0,
                            .start = -1, .end = -1};
    if (boundary)
        for_each_line(bytes, find_part_line, &finder);
    if (finder.end < 0) {
        set_layer(ctx->sign, "malformed", NULL);
        return;
    }
    GMimeStream *signed_part = g_mime_stream_substream(bytes, finder.start, finder.end);
    GMimeStream *canonical = g_mime_stream_filter_new(signed_part);
    GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(canonical), crlf);
    g_object_unref(crlf);
    GByteArray *signature = part_content(sig_part);
    openpgp_reader_t reader = pd_stream_reader(canonical);
    openpgp_verify_result_t result = {0};
    if (signature && openpgp_verify_detached_stream(ctx->ring, &reader, signature->data,
                                                   signature->len, &result) == PGPDESK_STATUS_SUCCESS)
        record_signatures(ctx, &result);
    else
        set_layer(ctx->sign, "malformed", NULL);
    openpgp_verify_result_clear(&result);
    if (signature)
        g_byte_array_free(signature, TRUE);
    g_object_unref(canonical);
    ctx->view_stream = signed_part;
    signed_part_verified(ctx, entity);
}

/* ---------------------------------------------------------------- decryption */

static const char *
decrypt_status_name(openpgp_decrypt_status_t status)
{
    switch (status) {
    case OPENPGP_DECRYPT_OK: return "decrypted";
    case OPENPGP_DECRYPT_NO_KEY: return "no_private_key";
    case OPENPGP_DECRYPT_INTEGRITY: return "integrity_failure";
    case OPENPGP_DECRYPT_TOO_LARGE: return "too_large";
    case OPENPGP_DECRYPT_MALFORMED: return "malformed";
    case OPENPGP_DECRYPT_UNSUPPORTED: return "unsupported_algorithm";
    }
    return "malformed";
}

/* Records a decryption's outcome (st: the call's status) in the layers; true when it
 * decrypted. */
static bool
record_decryption(analysis_ctx_t *ctx, pgpdesk_status_t st, const openpgp_decrypt_result_t *result)
{
    if (st) {
        set_layer(ctx->encryption, "malformed", NULL);
        return false;
    }
    set_layer(ctx->encryption, decrypt_status_name(result->status), NULL);
    if (result->status != OPENPGP_DECRYPT_OK)
        return false;
    json_object_set_new(ctx->encryption, "key_fingerprint",
                        result->key_fingerprint[0] ? json_string(result->key_fingerprint)
                                                   : json_null());
    json_object_set_new(ctx->encryption, "cipher", json_string(result->cipher));
    json_object_set_new(ctx->encryption, "protection", json_string(result->protection));
    record_signatures(ctx, &result->verify);
    return true;
}

/* Decrypts an OpenPGP message; on success ctx owns the plaintext. */
static bool
decrypt_payload(analysis_ctx_t *ctx, const uint8_t *data, size_t size)
{
    openpgp_decrypt_result_t result = {0};
    pgpdesk_status_t st = openpgp_decrypt(ctx->ring, data, size, ctx->pd->limits.decrypt_cap,
                                          &result);
    bool ok = record_decryption(ctx, st, &result);
    if (ok) {
        ctx->plaintext = result.plaintext;
        ctx->plaintext_size = result.size;
        result.plaintext = NULL;
    }
    openpgp_decrypt_result_clear(&result);
    return ok;
}

static void process_root(analysis_ctx_t *ctx, GMimeObject *root, const uint8_t *data,
                         size_t size, bool inside_encryption);

static void process_root_large(analysis_ctx_t *ctx, GMimeObject *root, GMimeStream *bytes,
                               bool inside_encryption);

/* The ciphertext part of a multipart/encrypted entity as RFC 3156 wants it, else NULL with
 * the encryption layer saying why. */
static GMimeObject *
cipher_part_of(analysis_ctx_t *ctx, GMimeObject *entity)
{
    GMimeMultipart *mp = GMIME_MULTIPART(entity);
    if (g_mime_multipart_get_count(mp) != 2) {
        set_layer(ctx->encryption, "malformed", "This PGP email does not have exactly two body "
                                                "parts for PGP mails as mandated by RFC 3156.");
        return NULL;
    }
    GMimeObject *version = g_mime_multipart_get_part(mp, 0);
    GByteArray *version_text = part_too_large(ctx, version) ? NULL : part_content(version);
    bool version_ok = is_type(version, "application", "pgp-encrypted") && version_text &&
                      memmem(version_text->data, version_text->len, "Version: 1", 10);
    if (version_text)
        g_byte_array_free(version_text, TRUE);
    if (!version_ok) {
        set_layer(ctx->encryption, "malformed", "The first part of this PGP email is not a valid "
                                                "version part as mandated by RFC 3156.");
        return NULL;
    }
    GMimeObject *cipher_part = g_mime_multipart_get_part(mp, 1);
    if (!is_type(cipher_part, "application", "octet-stream")) {
        set_layer(ctx->encryption, "malformed", "The encrypted part of this PGP email has an "
                                                "incorrect MIME type according to RFC 3156.");
        return NULL;
    }
    return cipher_part;
}

/* The decrypted payload in ctx->plaintext becomes the view and is judged as a root. */
static void
open_plaintext(analysis_ctx_t *ctx)
{
    ctx->view = ctx->plaintext;
    ctx->view_size = ctx->plaintext_size;
    ctx->plaintext_root = parse_entity(ctx->plaintext, ctx->plaintext_size, false, NULL);
    if (!ctx->plaintext_root)
        return;
    ctx->protected_source = ctx->plaintext_root;
    /* Sign-then-encrypt: the signed entity inside is judged as if it were the root. */
    process_root(ctx, ctx->plaintext_root, ctx->plaintext, ctx->plaintext_size, true);
}

/* multipart/encrypted at the root. */
static void
process_encrypted(analysis_ctx_t *ctx, GMimeObject *entity)
{
    GMimeObject *cipher_part = cipher_part_of(ctx, entity);
    GByteArray *ciphertext = cipher_part ? part_content(cipher_part) : NULL;
    bool ok = ciphertext && decrypt_payload(ctx, ciphertext->data, ciphertext->len);
    if (ciphertext)
        g_byte_array_free(ciphertext, TRUE);
    if (ok && !out_of_time(ctx))
        open_plaintext(ctx);
}

/* Reads all of the (small) file fd from its start into ctx->plaintext. */
static bool
load_plaintext(analysis_ctx_t *ctx, int fd, size_t size)
{
    if (!(ctx->plaintext = malloc(size + 1)) || pread(fd, ctx->plaintext, size, 0) != (ssize_t) size) {
        seal_free(ctx->plaintext, size + 1);
        ctx->plaintext = NULL;
        return false;
    }
    ctx->plaintext[size] = '\0';
    ctx->plaintext_size = size;
    return true;
}

/* multipart/encrypted at the root of a large message: the ciphertext streams through librnp
 * into a private temporary file; a payload small enough is then judged in memory. */
static void
process_encrypted_large(analysis_ctx_t *ctx, GMimeObject *entity)
{
    GMimeObject *cipher_part = cipher_part_of(ctx, entity);
    GMimeStream *ciphertext = cipher_part ? decoded_part_stream(cipher_part) : NULL;
    if (!ciphertext) {
        if (cipher_part)
            set_layer(ctx->encryption, "malformed", NULL);
        return;
    }
    /* In the body files' directory, so that it can become the view's file as it is; flushed
     * while librnp works. Like any temporary file it may reach the disk before its integrity is
     * known; it is never shown unless the integrity check passes, and unnamed it is gone once
     * closed. */
    int fd = body_file_unnamed(ctx->pd);
    pd_syncer_t *syncer = NULL;
    if (fd >= 0 && g_mime_stream_length(part_stream(cipher_part)) > (gint64) PD_STREAM_THRESHOLD)
        syncer = pd_syncer_start(fd);
    openpgp_decrypt_result_t result = {0};
    /* Armored text needs no transfer decoding: then librnp reads the file itself. */
    pd_file_range_t range;
    openpgp_reader_t reader;
    if (transfer_decoding(cipher_part) != GMIME_CONTENT_ENCODING_DEFAULT ||
        !pd_file_range_reader(part_stream(cipher_part), &range, &reader))
        reader = pd_stream_reader(ciphertext);
    pgpdesk_status_t st = fd < 0 ? PGPDESK_STATUS_IO_ERROR
                                 : openpgp_decrypt_stream(ctx->ring, &reader,
                                                         ctx->pd->limits.decrypt_cap, fd, &result);
    pd_syncer_stop(syncer);
    bool ok = record_decryption(ctx, st, &result) && !out_of_time(ctx);
    size_t size = result.size;
    openpgp_decrypt_result_clear(&result);
    g_object_unref(ciphertext);
    if (ok && size <= PD_STREAM_THRESHOLD) {
        if (load_plaintext(ctx, fd, size))
            open_plaintext(ctx);
    } else if (ok && (ctx->plaintext_stream = pd_file_stream(fd))) {
        ctx->plaintext_root = parse_stream(ctx->plaintext_stream, false, NULL);
        ctx->view_stream = g_object_ref(ctx->plaintext_stream);
        ctx->protected_source = ctx->plaintext_root;
        if (ctx->plaintext_root)
            process_root_large(ctx, ctx->plaintext_root, ctx->plaintext_stream, true);
    }
    if (fd >= 0)
        close(fd);
}

/* ---------------------------------------------------------------- inline PGP */

typedef enum { ARMOR_NONE, ARMOR_MESSAGE, ARMOR_SIGNED } armor_kind_t;

static const char armor_message[] = "-----BEGIN PGP MESSAGE-----";
static const char armor_signed[] = "-----BEGIN PGP SIGNED MESSAGE-----";

static size_t
count_occurrences(const uint8_t *data, size_t size, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const uint8_t *p = data; (p = memmem(p, size - (size_t) (p - data), needle, len));
         p += len)
        n++;
    return n;
}

static bool
only_space(const uint8_t *p, const uint8_t *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return false;
    return true;
}

/* What armored blocks a text holds; whole is set when it is exactly one block and nothing
 * else but white space. */
static armor_kind_t
armor_in(const uint8_t *text, size_t size, bool *whole)
{
    size_t messages = count_occurrences(text, size, armor_message);
    size_t signeds = count_occurrences(text, size, armor_signed);
    *whole = false;
    if (messages + signeds == 0)
        return ARMOR_NONE;
    armor_kind_t kind = signeds ? ARMOR_SIGNED : ARMOR_MESSAGE;
    if (messages + signeds != 1)
        return kind;
    const char *begin = kind == ARMOR_SIGNED ? armor_signed : armor_message;
    const char *end_marker = kind == ARMOR_SIGNED ? "-----END PGP SIGNATURE-----"
                                                  : "-----END PGP MESSAGE-----";
    const uint8_t *start = memmem(text, size, begin, strlen(begin));
    const uint8_t *end = memmem(start, size - (size_t) (start - text), end_marker,
                                strlen(end_marker));
    *whole = end && only_space(text, start) &&
             only_space(end + strlen(end_marker), text + size);
    return kind;
}

static void
process_inline(analysis_ctx_t *ctx, GMimeObject *part)
{
    GByteArray *text = part_content(part);
    if (!text)
        return;
    bool whole = false;
    armor_kind_t kind = armor_in(text->data, text->len, &whole);
    if (kind != ARMOR_NONE && !whole) {
        mark_partial(kind == ARMOR_SIGNED ? ctx->sign : ctx->encryption);
    } else if (kind == ARMOR_MESSAGE) {
        /* An armored PGP MESSAGE is encrypted, or only signed. */
        if (decrypt_payload(ctx, text->data, text->len)) {
            ctx->view = ctx->plaintext;
            ctx->view_size = ctx->plaintext_size;
        } else if (strcmp(layer_status(ctx->encryption), "malformed") == 0) {
            set_layer(ctx->encryption, "none", NULL);
            kind = ARMOR_SIGNED;
        }
    }
    if (kind == ARMOR_SIGNED && whole) {
        openpgp_verify_result_t result = {0};
        uint8_t *content = NULL;
        size_t content_size = 0;
        if (openpgp_verify_inline(ctx->ring, text->data, text->len, ctx->pd->limits.decrypt_cap,
                                 &content, &content_size, &result) == PGPDESK_STATUS_SUCCESS)
            record_signatures(ctx, &result);
        openpgp_verify_result_clear(&result);
        if (content) {
            ctx->plaintext = content;
            ctx->plaintext_size = content_size;
            ctx->view = content;
            ctx->view_size = content_size;
        }
    }
    g_byte_array_free(text, TRUE);
}

/* ---------------------------------------------------------------- encrypted attachments */

/* The attachment's file name when it ends in .pgp, .gpg or .asc, else NULL. */
static const char *
encrypted_file_name(GMimeObject *obj)
{
    const char *name = g_mime_part_get_filename(GMIME_PART(obj));
    size_t len = name ? strlen(name) : 0;
    if (len < 5)
        return NULL;
    const char *ext = name + len - 4;
    return strcasecmp(ext, ".pgp") == 0 || strcasecmp(ext, ".gpg") == 0 ||
                   strcasecmp(ext, ".asc") == 0
               ? name
               : NULL;
}

/* Is this an OpenPGP encrypted message: armored, or binary starting with a public-key or
 * password encrypted session key packet (tag 1 or 3, old or new packet format)? */
static bool
looks_encrypted(const uint8_t *data, size_t size)
{
    if (size == 0)
        return false;
    if (memmem(data, size < 4096 ? size : 4096, armor_message, strlen(armor_message)))
        return true;
    uint8_t b = data[0];
    return (b >= 0x84 && b <= 0x87) || (b >= 0x8c && b <= 0x8f) || b == 0xc1 || b == 0xc3;
}

/* An attached encrypted file is decrypted into a file of its own, never into the text; a
 * .asc that is no encrypted message (a key, a signature) is left alone. */
static void
decrypt_attachment(analysis_ctx_t *ctx, GMimeObject *obj, GByteArray *content)
{
    const char *name = encrypted_file_name(obj);
    openpgp_decrypt_result_t result = {0};
    if (ctx->file_count == MAX_DECRYPTED_FILES ||
        openpgp_decrypt(ctx->ring, content->data, content->len, ctx->pd->limits.decrypt_cap,
                        &result) != PGPDESK_STATUS_SUCCESS)
        return;
    if (result.status == OPENPGP_DECRYPT_MALFORMED) {
        openpgp_decrypt_result_clear(&result);
        return;
    }
    if (strcmp(layer_status(ctx->encryption), "none") == 0 ||
        strcmp(layer_status(ctx->encryption), "partial") == 0)
        set_layer(ctx->encryption, "partial",
                  "The message itself is not encrypted; its encrypted attachments were "
                  "decrypted and saved as separate files.");
    if (!ctx->file_results)
        ctx->file_results = json_array();
    char *saved_as = strndup(name, strlen(name) - 4);
    json_array_append_new(ctx->file_results,
                          json_pack("{s:s, s:s, s:s}", "filename", name, "saved_as",
                                    saved_as ? saved_as : "", "status",
                                    decrypt_status_name(result.status)));
    if (result.status == OPENPGP_DECRYPT_OK && saved_as) {
        decrypted_file_t *file = &ctx->files[ctx->file_count++];
        file->name = saved_as;
        file->data = result.plaintext;
        file->size = result.size;
        result.plaintext = NULL;
        saved_as = NULL;
    }
    free(saved_as);
    openpgp_decrypt_result_clear(&result);
}

/* ---------------------------------------------------------------- nested crypto */

/* Marks crypto found below the root: it earns no badge and is not decrypted. */
static void
scan_nested(analysis_ctx_t *ctx, GMimeObject *obj)
{
    if (!obj)
        return;
    if (is_type(obj, "multipart", "signed") || is_type(obj, "application", "pgp-signature"))
        mark_partial(ctx->sign);
    if (is_type(obj, "multipart", "encrypted") || is_type(obj, "application", "pgp-encrypted")) {
        /* A PGP/MIME message nested in an unprotected one (Efail) is never opened. */
        mark_partial(ctx->encryption);
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        for (int i = 0, n = g_mime_multipart_get_count(mp); i < n; i++)
            scan_nested(ctx, g_mime_multipart_get_part(mp, i));
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner)
            scan_nested(ctx, g_mime_message_get_mime_part(inner));
    } else if (part_too_large(ctx, obj)) {
        const char *name = encrypted_file_name(obj);
        if (name) {
            mark_partial(ctx->encryption);
            if (!ctx->file_results)
                ctx->file_results = json_array();
            json_array_append_new(ctx->file_results, json_pack("{s:s, s:n, s:s}", "filename",
                                                                name, "saved_as", "status",
                                                                "too_large"));
        }
    } else if (GMIME_IS_PART(obj)) {
        GByteArray *text = part_content(obj);
        bool whole = false;
        armor_kind_t kind = text ? armor_in(text->data, text->len, &whole) : ARMOR_NONE;
        if (kind == ARMOR_SIGNED)
            mark_partial(ctx->sign);
        else if (kind == ARMOR_MESSAGE)
            mark_partial(ctx->encryption);
        if (text && encrypted_file_name(obj) && looks_encrypted(text->data, text->len))
            decrypt_attachment(ctx, obj, text);
        if (text)
            g_byte_array_free(text, TRUE);
    }
}

/* The crypto layer at the root of an entity (the message, or a decrypted payload). */
static void
process_root(analysis_ctx_t *ctx, GMimeObject *root, const uint8_t *data, size_t size,
             bool inside_encryption)
{
    const char *protocol = ct_param(root, "protocol");
    if (is_type(root, "multipart", "signed") && protocol &&
        strcasecmp(protocol, "application/pgp-signature") == 0) {
        process_signed(ctx, root, data, size);
    } else if (!inside_encryption && is_type(root, "multipart", "encrypted") && protocol &&
               strcasecmp(protocol, "application/pgp-encrypted") == 0) {
        process_encrypted(ctx, root);
    } else if (!inside_encryption && is_type(root, "text", "plain")) {
        process_inline(ctx, root);
    } else {
        scan_nested(ctx, root);
    }
}

/* The same for a large entity, whose bytes are the stream. */
static void
process_root_large(analysis_ctx_t *ctx, GMimeObject *root, GMimeStream *bytes,
                   bool inside_encryption)
{
    const char *protocol = ct_param(root, "protocol");
    if (is_type(root, "multipart", "signed") && protocol &&
        strcasecmp(protocol, "application/pgp-signature") == 0)
        process_signed_large(ctx, root, bytes);
    else if (!inside_encryption && is_type(root, "multipart", "encrypted") && protocol &&
             strcasecmp(protocol, "application/pgp-encrypted") == 0)
        process_encrypted_large(ctx, root);
    else if (!inside_encryption && is_type(root, "text", "plain") && !part_too_large(ctx, root))
        process_inline(ctx, root);
    else
        scan_nested(ctx, root);
}

/* ---------------------------------------------------------------- headers and the view */

static char *
address_list_text(InternetAddressList *list)
{
    if (!list || internet_address_list_length(list) == 0)
        return NULL;
    char *text = internet_address_list_to_string(list, NULL, FALSE);
    char *copy = text ? strdup(text) : NULL;
    g_free(text);
    return copy;
}

/* The single From mailbox address, lower-cased; NULL when there is not exactly one From header
 * with exactly one mailbox. */
static char *
single_from(GMimeMessage *msg, GMimeObject *headers_of)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(headers_of);
    int from_headers = 0;
    for (int i = 0, n = g_mime_header_list_get_count(headers); i < n; i++)
        if (strcasecmp(g_mime_header_get_name(g_mime_header_list_get_header_at(headers, i)),
                       "From") == 0)
            from_headers++;
    if (from_headers != 1)
        return NULL;
    InternetAddressList *from =
        msg ? g_mime_message_get_from(msg)
            : internet_address_list_parse(NULL, g_mime_object_get_header(headers_of, "From"));
    char *addr = NULL;
    if (from && internet_address_list_length(from) == 1) {
        InternetAddress *a = internet_address_list_get_address(from, 0);
        if (INTERNET_ADDRESS_IS_MAILBOX(a))
            addr = pd_lowercase(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
    }
    if (!msg && from)
        g_object_unref(from);
    return addr;
}

static void
replace(char **field, const char *value)
{
    if (!value)
        return;
    free(*field);
    *field = strdup(value);
}


/* RFC 9788: headers inside an authenticated payload replace the outer ones. */
static void
apply_protected_headers(analysis_ctx_t *ctx, incoming_analysis_t *out)
{
    GMimeObject *src = ctx->protected_source;
    if (!src)
        return;
    replace(&out->subject, g_mime_object_get_header(src, "Subject"));
    replace(&out->from, g_mime_object_get_header(src, "From"));
    replace(&out->to, g_mime_object_get_header(src, "To"));
    replace(&out->cc, g_mime_object_get_header(src, "Cc"));
    const char *mid = g_mime_object_get_header(src, "Message-ID");
    if (mid) {
        char *decoded = g_mime_utils_decode_message_id(mid);
        replace(&out->message_id, decoded ? decoded : mid);
        g_free(decoded);
    }
}

static bool
header_named(const uint8_t *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp((const char *) line, name, n) == 0;
}

static bool
is_content_header(const uint8_t *line, size_t len)
{
    static const char *const names[] = {"Content-Type", "Content-Transfer-Encoding",
                                        "MIME-Version", "Content-Disposition",
                                        "Content-Description", "Content-ID"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (header_named(line, len, names[i]))
            return true;
    return false;
}

/* Does the authenticated payload carry its own copy of this header? */
static bool
is_protected(const uint8_t *line, size_t len, GMimeObject *protected_src)
{
    for (size_t i = 0; protected_src && i < PD_PROTECTED_HEADER_COUNT; i++)
        if (header_named(line, len, pd_protected_headers[i]) &&
            g_mime_object_get_header(protected_src, pd_protected_headers[i]))
            return true;
    return false;
}

static void
append_text(GByteArray *out, const char *text)
{
    g_byte_array_append(out, (const guint8 *) text, (guint) strlen(text));
}

/* The outer header lines, less the MIME ones (content_only: only the MIME ones, which then
 * describe the root entity) and those the payload protects. */
static void
append_outer_headers(GByteArray *out, const uint8_t *raw, size_t header, bool content_only,
                     GMimeObject *protected_src)
{
    bool keep = false;
    for (size_t i = 0; i < header;) {
        const uint8_t *nl = memchr(raw + i, '\n', header - i);
        size_t len = nl ? (size_t) (nl - (raw + i)) + 1 : header - i;
        const uint8_t *line = raw + i;
        bool blank = len <= 2 && (line[0] == '\n' || line[0] == '\r');
        if (line[0] != ' ' && line[0] != '\t') {
            bool mime = is_content_header(line, len);
            keep = !blank && (content_only ? mime && !header_named(line, len, "MIME-Version")
                                           : !mime && !is_protected(line, len, protected_src));
        }
        if (keep)
            g_byte_array_append(out, line, (guint) len);
        i += len;
    }
}

/* One decrypted attachment as a base64 body part (its name made safe for a quoted
 * parameter). */
static void
append_file_part(GByteArray *out, const char *boundary, const decrypted_file_t *file)
{
    char *name = strdup(file->name);
    for (char *p = name; p && *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char) *p < 0x20)
            *p = '_';
    char *head = g_strdup_printf("\r\n--%s\r\nContent-Type: application/octet-stream\r\n"
                                 "Content-Disposition: attachment; filename=\"%s\"\r\n"
                                 "Content-Transfer-Encoding: base64\r\n\r\n",
                                 boundary, name ? name : "attachment");
    append_text(out, head);
    g_free(head);
    free(name);
    gchar *b64 = g_base64_encode(file->data, file->size);
    for (size_t i = 0, n = strlen(b64); i < n; i += 76) {
        g_byte_array_append(out, (const guint8 *) b64 + i, (guint) (n - i < 76 ? n - i : 76));
        append_text(out, "\r\n");
    }
    g_free(b64);
}

/* The message being analyzed: its bytes in memory, or (large) its file as a stream. */
typedef struct message_source {
    const uint8_t *raw;
    size_t size;
    GMimeStream *stream;
} message_source_t;

/* The most of a large message's header section that is read into memory. */
#define HEADER_SECTION_MAX ((size_t) 1 << 20)

#define VIEW_BOUNDARY_SIZE 48

/* The start of the processed view: the outer headers (less the MIME ones and those the
 * payload protects), and what opens the entity the article shows. header: the raw header
 * block. boundary: "", or with decrypted attachments the one it makes for them. */
static GByteArray *
view_head(analysis_ctx_t *ctx, const uint8_t *header, size_t header_size,
          char boundary[VIEW_BOUNDARY_SIZE])
{
    GByteArray *head = g_byte_array_sized_new((guint) header_size + 256);
    append_outer_headers(head, header, header_size, false, ctx->protected_source);
    append_text(head, "MIME-Version: 1.0\r\n");
    boundary[0] = '\0';
    if (ctx->file_count) {
        uint32_t r[4];
        for (size_t i = 0; i < 4; i++)
            r[i] = g_random_int();
        snprintf(boundary, VIEW_BOUNDARY_SIZE, "pgpdesk-%08x%08x%08x%08x", r[0], r[1], r[2], r[3]);
        char *ct = g_strdup_printf("Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n",
                                   boundary, boundary);
        append_text(head, ct);
        g_free(ct);
    }
    if (!ctx->view && !ctx->view_stream) { /* the raw message is the view */
        append_outer_headers(head, header, header_size, true, NULL);
        append_text(head, "\r\n");
    } else if (ctx->plaintext && !ctx->plaintext_root) {
        append_text(head, "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Transfer-Encoding: 8bit\r\n\r\n");
    }
    return head;
}

/* Writes the processed view to out: its head, the entity the article shows and the decrypted
 * attachments beside it. */
static bool
write_view(analysis_ctx_t *ctx, const message_source_t *src, const uint8_t *header,
           size_t header_size, GMimeStream *out)
{
    char boundary[VIEW_BOUNDARY_SIZE];
    GByteArray *head = view_head(ctx, header, header_size, boundary);
    bool raw_is_view = !ctx->view && !ctx->view_stream;
    bool ok = g_mime_stream_write(out, (const char *) head->data, head->len) == (ssize_t) head->len;
    g_byte_array_free(head, TRUE);
    GMimeStream *body = ctx->view_stream;
    if (raw_is_view && src->stream)
        body = g_mime_stream_substream(src->stream, (gint64) header_size, -1);
    if (body) {
        ok = ok && pd_stream_copy(body, out);
    } else {
        const uint8_t *bytes = raw_is_view ? src->raw + header_size : ctx->view;
        size_t size = raw_is_view ? src->size - header_size : ctx->view_size;
        ok = ok && g_mime_stream_write(out, (const char *) bytes, size) == (ssize_t) size;
    }
    if (body && body != ctx->view_stream)
        g_object_unref(body);
    GByteArray *files = g_byte_array_new();
    for (size_t i = 0; i < ctx->file_count; i++)
        append_file_part(files, boundary, &ctx->files[i]);
    if (ctx->file_count) {
        char *close = g_strdup_printf("\r\n--%s--\r\n", boundary);
        append_text(files, close);
        g_free(close);
    }
    ok = ok && (files->len == 0 || g_mime_stream_write(out, (const char *) files->data,
                                                        files->len) == (ssize_t) files->len);
    g_byte_array_free(files, TRUE);
    return ok && g_mime_stream_flush(out) == 0;
}

/* A decrypted payload that is the whole entity the article shows, in an unnamed body file:
 * named, it becomes the view's file as it is, its head kept in out->mime, rather than 70 MB
 * copied (and flushed) once more. False when it cannot be. */
static bool
link_view(analysis_ctx_t *ctx, const uint8_t *header, size_t header_size,
          incoming_analysis_t *out)
{
    char name[PD_BODY_NAME_SIZE] = "", boundary[VIEW_BOUNDARY_SIZE];
    GByteArray *head = view_head(ctx, header, header_size, boundary);
    uint8_t *mime = malloc(head->len + 1);
    char *mime_file = NULL;
    if (mime && body_file_link(ctx->pd, pd_file_stream_fd(ctx->plaintext_stream), name))
        mime_file = strdup(name);
    bool ok = mime_file != NULL;
    if (ok) {
        memcpy(mime, head->data, head->len);
        mime[head->len] = '\0';
        out->mime = mime;
        out->mime_size = head->len;
        out->mime_file = mime_file;
    } else {
        body_file_discard(ctx->pd, -1, name);
        free(mime);
    }
    g_byte_array_free(head, TRUE);
    return ok;
}

/* The processed view into out->mime, or for a large message into a body file named by
 * out->mime_file (after out->mime, when that holds its head). Nothing when the raw message is
 * the view. */
static void
build_view(analysis_ctx_t *ctx, const message_source_t *src, incoming_analysis_t *out)
{
    if (!ctx->view && !ctx->view_stream && ctx->file_count == 0)
        return;
    uint8_t *header = (uint8_t *) src->raw;
    size_t read = 0;
    if (src->stream) {
        size_t want = src->size < HEADER_SECTION_MAX ? src->size : HEADER_SECTION_MAX;
        if (!(header = malloc(want)))
            return;
        ssize_t n = g_mime_stream_reset(src->stream) == 0
                        ? g_mime_stream_read(src->stream, (char *) header, want)
                        : -1;
        read = n > 0 ? (size_t) n : 0;
    }
    size_t header_size = header_block_size(header, src->stream ? read : src->size);
    if (!src->stream) {
        GMimeStream *mem = g_mime_stream_mem_new();
        if (write_view(ctx, src, header, header_size, mem)) {
            GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
            if ((out->mime = malloc(bytes->len + 1))) {
                memcpy(out->mime, bytes->data, bytes->len);
                out->mime[bytes->len] = '\0';
                out->mime_size = bytes->len;
            }
        }
        g_object_unref(mem);
        return;
    }
    if (ctx->view_stream && ctx->view_stream == ctx->plaintext_stream && ctx->file_count == 0 &&
        link_view(ctx, header, header_size, out)) {
        free(header);
        return;
    }
    char name[PD_BODY_NAME_SIZE];
    int fd = -1;
    if (body_file_create(ctx->pd, &fd, name) == PGPDESK_STATUS_SUCCESS) {
        GMimeStream *file = g_mime_stream_fs_new(fd);
        g_mime_stream_fs_set_owner(GMIME_STREAM_FS(file), FALSE);
        bool ok = write_view(ctx, src, header, header_size, file);
        g_object_unref(file);
        if (ok && body_file_keep(ctx->pd, fd) == PGPDESK_STATUS_SUCCESS)
            out->mime_file = strdup(name);
        else
            body_file_discard(ctx->pd, ok ? -1 : fd, name);
    }
    free(header);
}

/* ---------------------------------------------------------------- entry points */

static json_t *
new_layer(bool sign)
{
    json_t *layer = sign ? json_pack("{s:b, s:n, s:s, s:n, s:n, s:n, s:n}", "success", 0,
                                     "comment", "status", "none", "signer_fingerprint",
                                     "signer_uid", "signed_at", "hash")
                         : json_pack("{s:b, s:n, s:s, s:n, s:n, s:n}", "success", 0, "comment",
                                     "status", "none", "key_fingerprint", "cipher",
                                     "protection");
    return layer;
}

static void
read_outer_headers(GMimeMessage *msg, incoming_analysis_t *out)
{
    out->from = address_list_text(g_mime_message_get_from(msg));
    out->to = address_list_text(g_mime_message_get_to(msg));
    out->cc = address_list_text(g_mime_message_get_cc(msg));
    const char *subject = g_mime_message_get_subject(msg);
    const char *mid = g_mime_message_get_message_id(msg);
    out->subject = subject ? strdup(subject) : NULL;
    out->message_id = mid ? strdup(mid) : NULL;
}

static void
analyze_message(analysis_ctx_t *ctx, const message_source_t *src, incoming_analysis_t *out)
{
    if (src->size > ctx->pd->limits.max_message_size) {
        ctx->error = strdup("The message is larger than the configured limit.");
        return;
    }
    GMimeMessage *msg = NULL;
    GMimeObject *root = src->stream ? parse_stream(src->stream, true, &msg)
                                    : parse_entity(src->raw, src->size, true, &msg);
    if (!msg || !root) {
        ctx->error = strdup("The message could not be parsed.");
        if (msg)
            g_object_unref(msg);
        return;
    }
    read_outer_headers(msg, out);
    unsigned parts = 0;
    char *from = single_from(msg, GMIME_OBJECT(msg));
    if (!within_limits(root, 0, &parts, &ctx->pd->limits)) {
        ctx->error = strdup("The message has more MIME parts or nesting than allowed.");
    } else if (!out_of_time(ctx)) {
        ctx->signer_from = from;
        if (src->stream)
            process_root_large(ctx, root, src->stream, false);
        else
            process_root(ctx, root, src->raw, src->size, false);
        /* A signature inside the payload speaks for the protected From, when there is one. */
        char *protected_from = ctx->protected_source &&
                                       g_mime_object_get_header(ctx->protected_source, "From")
                                   ? single_from(NULL, ctx->protected_source)
                                   : NULL;
        if (protected_from && from && strcmp(protected_from, from) != 0 &&
            strcmp(layer_status(ctx->sign), "good") == 0)
            set_layer(ctx->sign, "signer_mismatch", NULL);
        free(protected_from);
        apply_protected_headers(ctx, out);
        build_view(ctx, src, out);
    }
    ctx->signer_from = NULL;
    free(from);
    g_object_unref(msg);
}

static pgpdesk_status_t
analyze_source(pgpdesk_t *pd, const message_source_t *src, incoming_analysis_t *out)
{
    memset(out, 0, sizeof *out);
    pd_gmime_init();
    analysis_ctx_t ctx = {.pd = pd,
                          .deadline = pd_monotonic_ms() + pd->limits.time_limit_ms,
                          .sign = new_layer(true),
                          .encryption = new_layer(false),
                          .large = src->stream != NULL};
    pgpdesk_status_t st = keystore_ring(pd, &ctx.ring);
    if (!st && (!ctx.sign || !ctx.encryption))
        st = PGPDESK_STATUS_OUT_OF_MEMORY;
    if (!st) {
        analyze_message(&ctx, src, out);
        out_of_time(&ctx);
        if (ctx.error) {
            /* Nothing half-checked is shown when the message as a whole failed. */
            free(out->mime);
            out->mime = NULL;
            out->mime_size = 0;
            body_file_discard(pd, -1, out->mime_file);
            free(out->mime_file);
            out->mime_file = NULL;
        }
        out->security = json_pack("{s:s, s:O, s:O}", "type", "PGP", "sign", ctx.sign,
                                  "encryption", ctx.encryption);
        if (out->security && ctx.error)
            json_object_set_new(out->security, "error", json_string(ctx.error));
        if (out->security && ctx.file_results)
            json_object_set(out->security, "attachments", ctx.file_results);
        if (!out->security)
            st = PGPDESK_STATUS_OUT_OF_MEMORY;
    }
    if (ctx.plaintext_root)
        g_object_unref(ctx.plaintext_root);
    if (ctx.view_stream)
        g_object_unref(ctx.view_stream);
    if (ctx.plaintext_stream)
        g_object_unref(ctx.plaintext_stream);
    seal_free(ctx.plaintext, ctx.plaintext_size);
    for (size_t i = 0; i < ctx.file_count; i++) {
        free(ctx.files[i].name);
        seal_free(ctx.files[i].data, ctx.files[i].size);
    }
    json_decref(ctx.file_results);
    free(ctx.error);
    json_decref(ctx.sign);
    json_decref(ctx.encryption);
    if (st)
        incoming_analysis_clear(out);
    return st;
}

pgpdesk_status_t
incoming_analyze(pgpdesk_t *pd, const uint8_t *raw, size_t size, incoming_analysis_t *out)
{
    message_source_t src = {.raw = raw, .size = size};
    return analyze_source(pd, &src, out);
}

pgpdesk_status_t
incoming_analyze_file(pgpdesk_t *pd, int fd, size_t size, incoming_analysis_t *out)
{
    message_source_t src = {.size = size, .stream = pd_file_stream(fd)};
    if (!src.stream)
        return pd_fail(pd, PGPDESK_STATUS_IO_ERROR, NULL);
    pgpdesk_status_t st = analyze_source(pd, &src, out);
    g_object_unref(src.stream);
    return st;
}

void
incoming_analysis_clear(incoming_analysis_t *a)
{
    json_decref(a->security);
    free(a->mime);
    free(a->mime_file);
    free(a->from);
    free(a->to);
    free(a->cc);
    free(a->subject);
    free(a->message_id);
    memset(a, 0, sizeof *a);
}
