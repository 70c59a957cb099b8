/* outgoing.c - outgoing mail: turns a draft into the messages to deliver, signed (RFC 3156
 * multipart/signed), encrypted (multipart/encrypted) or both in one OpenPGP pass, with the
 * protected headers of RFC 9788 inside. To and Cc share one copy; each Bcc recipient gets a
 * copy of their own, so no Bcc address is seen by anybody else. Every copy is stored as an
 * outgoing article and logged.
 *
 * The draft's body is made 7-bit safe and serialized once, CRLF-canonical; those exact bytes
 * are signed or encrypted, and the PGP/MIME envelope around them is written here as bytes,
 * never re-serialized through GMime afterwards. The outer header section is the draft's own,
 * byte for byte, minus what must not travel (Bcc) or what the envelope replaces.
 *
 * A draft larger than PD_STREAM_THRESHOLD is read from its file and never held whole in
 * memory: GMime parses it keeping offsets; the entity goes to librnp as a stream (serialized
 * by a second thread straight into it for a single encrypted copy, else into a private
 * temporary file first); and each copy is written straight into the body file that becomes
 * its article. */
#include "crypto.h"
#include "internal.h"
#include "spool.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* GMime 3.2.13 loops forever folding an RFC 2231-encoded parameter whose name is 70 to 72
 * characters long (no room left on its 78-column line), and cannot encode names that are not
 * tokens: drafts with such names are refused. Real names are short ("filename"). */
#define PARAM_NAME_MAX 64
#define QP_LINE_MAX 76     /* RFC 2045 §6.7, including the soft break's '=' */
#define LINE_MAX_7BIT 998  /* RFC 5322 §2.1.1 */
#define BOUNDARY_SIZE 48
#define HEADER_SECTION_MAX ((size_t) 1 << 20) /* of a large draft, read into memory */

static const char obscured_subject[] = "...";

typedef char fingerprint_t[PGPDESK_FINGERPRINT_SIZE];

/* ---------------------------------------------------------------- bytes */

/* A new boundary: "=_" cannot appear in quoted-printable or base64 text, and 128 random bits
 * make a clash with anything else a matter of principle only. */
static void
new_boundary(char boundary[BOUNDARY_SIZE])
{
    char hex[PD_RANDOM_HEX_SIZE];
    pd_random_hex(hex);
    snprintf(boundary, BOUNDARY_SIZE, "pgpdesk=_%s", hex);
}

/* Does the file hold needle? Read in chunks that overlap by the needle's length. */
static bool
file_contains(int fd, size_t size, const char *needle)
{
    enum { CHUNK = 1 << 20 };
    size_t len = strlen(needle);
    uint8_t *buf = malloc(CHUNK + len);
    bool found = !buf; /* out of memory: say yes, and another boundary is drawn */
    for (size_t off = 0; !found && off < size; off += CHUNK) {
        size_t want = size - off < CHUNK + len ? size - off : CHUNK + len;
        ssize_t got = pread(fd, buf, want, (off_t) off);
        found = got < 0 || memmem(buf, (size_t) got, needle, len) != NULL;
    }
    free(buf);
    return found;
}

/* A boundary that occurs nowhere in content: size bytes in memory, or (fd >= 0) in that file. */
static void
choose_boundary(const uint8_t *content, int fd, size_t size, char boundary[BOUNDARY_SIZE])
{
    do
        new_boundary(boundary);
    while (fd >= 0 ? file_contains(fd, size, boundary)
                   : content && memmem(content, size, boundary, strlen(boundary)) != NULL);
}

/* Leaves out the line break(s) an armored block ends with; the boundary supplies one. */
static size_t
without_final_newlines(const uint8_t *data, size_t size)
{
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    return size;
}

/* ---------------------------------------------------------------- the draft */

typedef struct draft {
    const uint8_t *raw;    /* the draft as given (borrowed); of a large draft, only its header
                            * section (owned) */
    size_t size;
    int fd;                /* a large draft's file (borrowed), else -1 */
    size_t file_size;      /* ... and its size */
    GMimeStream *stream;   /* ... read as a stream */
    size_t header_size;    /* its header section, up to the blank line */
    const char *eol;       /* the draft's line break, for header fields added to it */
    GMimeMessage *message;
    char *sender;          /* the single From address */
    char **to_cc;          /* the To and Cc addresses, each once */
    size_t to_cc_count;
    char **bcc;            /* the Bcc addresses not among to_cc, each once */
    size_t bcc_count;
    bool added_date, added_message_id; /* the draft lacked them; the outer section gains them */
    const char *message_id;            /* owned by message; without angle brackets */
} draft_t;

static void
draft_clear(draft_t *d)
{
    if (d->message)
        g_object_unref(d->message);
    if (d->stream) {
        g_object_unref(d->stream);
        free((uint8_t *) d->raw);
    }
    free(d->sender);
    pd_strv_free(d->to_cc, d->to_cc_count);
    pd_strv_free(d->bcc, d->bcc_count);
    memset(d, 0, sizeof *d);
}

static bool
strv_has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return true;
    return false;
}

/* Appends the mailbox addresses of list (group members included) that are not yet in v or in
 * also. An address without '@' is refused: the draft would go to somebody unintended. */
static pgpdesk_status_t
collect_addresses(pgpdesk_t *pd, InternetAddressList *list, char **also, size_t also_count,
                  char ***v, size_t *n)
{
    int count = list ? internet_address_list_length(list) : 0;
    for (int i = 0; i < count; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            InternetAddressList *members =
                internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
            pgpdesk_status_t st = collect_addresses(pd, members, also, also_count, v, n);
            if (st)
                return st;
            continue;
        }
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        if (!addr || !*addr)
            continue;
        const char *at = strrchr(addr, '@');
        if (!at || at == addr || !at[1])
            return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                           "The address %s is not a valid e-mail address.", addr);
        if (strv_has(*v, *n, addr) || strv_has(also, also_count, addr))
            continue;
        if (!pd_strv_push(v, n, addr))
            return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    }
    return PGPDESK_STATUS_SUCCESS;
}

static pgpdesk_status_t
find_addresses(pgpdesk_t *pd, draft_t *d)
{
    char **from = NULL;
    size_t from_count = 0;
    pgpdesk_status_t st =
        collect_addresses(pd, g_mime_message_get_from(d->message), NULL, 0, &from, &from_count);
    if (!st && from_count == 0)
        st = pd_fail(pd, PGPDESK_STATUS_NO_SENDER, "The draft has no From address.");
    else if (!st && from_count > 1)
        st = pd_fail(pd, PGPDESK_STATUS_NO_SENDER,
                     "The draft has %zu From addresses; it needs exactly one.", from_count);
    if (!st && !(d->sender = strdup(from[0])))
        st = pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pd_strv_free(from, from_count);
    static const GMimeAddressType to_cc[] = {GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC};
    for (size_t i = 0; !st && i < 2; i++)
        st = collect_addresses(pd, g_mime_message_get_addresses(d->message, to_cc[i]), NULL, 0,
                               &d->to_cc, &d->to_cc_count);
    if (!st)
        st = collect_addresses(pd, g_mime_message_get_addresses(d->message, GMIME_ADDRESS_TYPE_BCC),
                               d->to_cc, d->to_cc_count, &d->bcc, &d->bcc_count);
    return st;
}

/* RFC 2045 token characters: what a parameter name may consist of. */
static bool
is_token_char(unsigned char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?=", c);
}

static bool
params_encodable(GMimeParamList *list)
{
    int count = list ? g_mime_param_list_length(list) : 0;
    for (int i = 0; i < count; i++) {
        const char *name = g_mime_param_get_name(g_mime_param_list_get_parameter_at(list, i));
        size_t len = name ? strlen(name) : 0;
        if (len == 0 || len > PARAM_NAME_MAX)
            return false;
        for (size_t j = 0; j < len; j++)
            if (!is_token_char((unsigned char) name[j]))
                return false;
    }
    return true;
}

/* Checks the MIME tree against the limits and against what GMime cannot serialize, before
 * anything is serialized, and gives boundary-less multiparts a boundary (GMime 3.2.13 would
 * otherwise loop looking for one). */
static pgpdesk_status_t
check_tree(pgpdesk_t *pd, GMimeObject *obj, unsigned depth, unsigned *parts)
{
    if (depth > pd->limits.max_mime_depth)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                       "The draft nests MIME parts more than %u deep.", pd->limits.max_mime_depth);
    if (++*parts > pd->limits.max_mime_parts)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                       "The draft has more than %u MIME parts.", pd->limits.max_mime_parts);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
    if ((ct && !params_encodable(g_mime_content_type_get_parameters(ct))) ||
        (cd && !params_encodable(g_mime_content_disposition_get_parameters(cd))))
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                       "The draft has a Content-Type or Content-Disposition parameter whose name "
                       "is not a valid MIME token.");
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        if (!g_mime_content_type_get_parameter(ct, "boundary"))
            g_mime_multipart_set_boundary(mp, NULL);
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
            pgpdesk_status_t st = check_tree(pd, g_mime_multipart_get_part(mp, i), depth + 1,
                                             parts);
            if (st)
                return st;
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        GMimeObject *body = inner ? g_mime_message_get_mime_part(inner) : NULL;
        if (body)
            return check_tree(pd, body, depth + 1, parts);
    }
    return PGPDESK_STATUS_SUCCESS;
}

/* Does line start a header field: a name of printable characters, white space (obsolete
 * syntax, RFC 5322 §4.5.3, which GMime parses too), then ':'? */
static bool
is_field_line(const uint8_t *line, size_t len)
{
    size_t i = 0;
    while (i < len && line[i] > 32 && line[i] < 127 && line[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < len && line[i] == ':';
}

/* The length of the header section: up to the first empty line, or all of the draft. A line
 * that is neither a field nor a continuation is refused (GMime would drop it silently), so
 * that what is copied as the outer header section is what GMime parsed. */
static pgpdesk_status_t
measure_header_section(pgpdesk_t *pd, draft_t *d)
{
    size_t pos = 0;
    d->eol = "\n";
    while (pos < d->size) {
        const uint8_t *line = d->raw + pos;
        const uint8_t *nl = memchr(line, '\n', d->size - pos);
        size_t len = nl ? (size_t) (nl - line) + 1 : d->size - pos;
        if (line[0] == '\n' || (len == 2 && line[0] == '\r'))
            break;
        if (pos == 0 && len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
            d->eol = "\r\n";
        bool continuation = line[0] == ' ' || line[0] == '\t';
        if (!(continuation && pos > 0) && !is_field_line(line, len))
            return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                           "The draft's header section has a line that is not a header field.");
        pos += len;
    }
    if (d->stream && pos == d->size && d->size < d->file_size)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                       "The draft's header section is larger than %zu bytes.", d->size);
    d->header_size = pos;
    return PGPDESK_STATUS_SUCCESS;
}

/* Makes sure the draft has a Date and a Message-ID (articles and logs are keyed by them);
 * a new Message-ID is random at the sender's domain. */
static pgpdesk_status_t
ensure_date_and_id(pgpdesk_t *pd, draft_t *d)
{
    GMimeObject *obj = GMIME_OBJECT(d->message);
    if (!g_mime_object_get_header(obj, "Date")) {
        GDateTime *now = g_date_time_new_now_utc();
        g_mime_message_set_date(d->message, now);
        g_date_time_unref(now);
        d->added_date = true;
    }
    if (!g_mime_message_get_message_id(d->message)) {
        char *id = pd_new_message_id(pd_email_domain(d->sender));
        if (!id)
            return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
        g_mime_message_set_message_id(d->message, id);
        free(id);
        d->added_message_id = true;
    }
    d->message_id = g_mime_message_get_message_id(d->message);
    return PGPDESK_STATUS_SUCCESS;
}

/* Parses the draft in d->raw, or (d->stream) in its file. */
static pgpdesk_status_t
draft_parse(pgpdesk_t *pd, draft_t *d)
{
    pgpdesk_status_t st = measure_header_section(pd, d);
    if (st)
        return st;
    GMimeStream *stream = d->stream ? g_object_ref(d->stream)
                                    : g_mime_stream_mem_new_with_buffer((const char *) d->raw,
                                                                        d->size);
    g_mime_stream_reset(stream);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    d->message = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (!d->message)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE, "The draft is not a MIME message.");
    if (!g_mime_message_get_mime_part(d->message)) {
        GMimeTextPart *empty = g_mime_text_part_new_with_subtype("plain");
        g_mime_text_part_set_text(empty, "");
        g_mime_message_set_mime_part(d->message, GMIME_OBJECT(empty));
        g_object_unref(empty);
    }
    unsigned parts = 0;
    if ((st = find_addresses(pd, d)) ||
        (st = check_tree(pd, g_mime_message_get_mime_part(d->message), 1, &parts)))
        return st;
    return ensure_date_and_id(pd, d);
}

/* ---------------------------------------------------------------- 7-bit safety */

static bool
has_8bit(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char) *s >= 0x80)
            return true;
    return false;
}

/* A raw header value as it goes into the entity: prefix, then raw without white space at
 * line ends (MTAs strip it, breaking the signature: RFC 3156 §3) or lines of white space
 * only, ending in exactly one line break (the draft's last field may have none). Caller
 * g_free()s. */
static char *
raw_value_line(const char *prefix, const char *raw)
{
    GString *s = g_string_new(prefix);
    for (const char *p = raw;; p++) {
        if (*p == '\r')
            continue;
        if (*p == '\n' || !*p) {
            while (s->len > 0 && (s->str[s->len - 1] == ' ' || s->str[s->len - 1] == '\t'))
                g_string_truncate(s, s->len - 1);
            bool line_has_text = s->len > 0 && s->str[s->len - 1] != '\n';
            if (line_has_text || (!*p && s->len == 0))
                g_string_append_c(s, '\n');
            if (!*p)
                break;
            continue;
        }
        g_string_append_c(s, *p);
    }
    return g_string_free(s, FALSE);
}

/* Makes the headers of obj 7-bit and MTA-proof: values that arrived as raw 8-bit text are
 * RFC 2047/2231-encoded, white space at line ends is dropped. */
static void
make_headers_7bit(GMimeObject *obj)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(obj);
    for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
        if (has_8bit(g_mime_header_get_raw_value(h))) {
            char *value = g_strdup(g_mime_header_get_value(h));
            g_mime_header_set_value(h, NULL, value, "utf-8");
            g_free(value);
        }
        const char *raw = g_mime_header_get_raw_value(h);
        char *line = raw_value_line("", raw ? raw : "");
        if (!raw || strcmp(line, raw) != 0)
            g_mime_header_set_raw_value(h, line);
        g_free(line);
    }
}

/* text without white space at line ends. Caller g_free()s. */
static char *
without_trailing_blanks(const char *text)
{
    GString *s = g_string_new(NULL);
    for (const char *p = text;; p++) {
        if (*p == '\r' || *p == '\n' || !*p)
            while (s->len > 0 && (s->str[s->len - 1] == ' ' || s->str[s->len - 1] == '\t'))
                g_string_truncate(s, s->len - 1);
        if (!*p)
            break;
        g_string_append_c(s, *p);
    }
    return g_string_free(s, FALSE);
}

/* Does data hold only what a 7-bit transport carries unchanged? line: the length of the line
 * so far, carried from one piece of the data to the next. */
static bool
scan_7bit(const uint8_t *data, size_t size, size_t *line)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0 || data[i] >= 0x80)
            return false;
        *line = data[i] == '\n' ? 0 : *line + 1;
        if (*line > LINE_MAX_7BIT + 1) /* + 1: the CR of CRLF */
            return false;
    }
    return true;
}

static bool
is_7bit_safe(const uint8_t *data, size_t size)
{
    size_t line = 0;
    return scan_7bit(data, size, &line);
}

static bool
file_is_7bit_safe(int fd, size_t size)
{
    uint8_t buf[65536];
    size_t line = 0;
    for (size_t off = 0; off < size;) {
        ssize_t got = pread(fd, buf, sizeof buf, (off_t) off);
        if (got <= 0 || !scan_7bit(buf, (size_t) got, &line))
            return false;
        off += (size_t) got;
    }
    return true;
}

/* The text around a multipart's parts (preamble, epilogue) is nobody's content (RFC 2046
 * §5.1.1) but travels in the signed part: white space at its line ends goes, and text a 7-bit
 * path would not carry unchanged goes altogether. NULL for none; caller g_free()s. */
static char *
tidy_multipart_text(const char *text)
{
    char *tidy = text ? without_trailing_blanks(text) : NULL;
    if (tidy && !is_7bit_safe((const uint8_t *) tidy, strlen(tidy))) {
        g_free(tidy);
        tidy = NULL;
    }
    return tidy;
}

static void
tidy_multipart(GMimeMultipart *mp)
{
    char *prologue = tidy_multipart_text(g_mime_multipart_get_prologue(mp));
    char *epilogue = tidy_multipart_text(g_mime_multipart_get_epilogue(mp));
    g_mime_multipart_set_prologue(mp, prologue);
    g_mime_multipart_set_epilogue(mp, epilogue);
    g_free(prologue);
    g_free(epilogue);
}

/* What a part's decoded content holds that a 7-bit path or a signature would not survive. */
typedef struct content_scan {
    size_t nul, eight_bit, total;
    bool bare_cr, bare_lf, long_line, trailing_space, from_line;
} content_scan_t;

static content_scan_t
scan_content(const uint8_t *p, size_t size)
{
    content_scan_t s = {.total = size};
    size_t line = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t c = p[i];
        bool at_line_start = i == 0 || p[i - 1] == '\n';
        if (at_line_start && size - i >= 5 && memcmp(p + i, "From ", 5) == 0)
            s.from_line = true;
        if (c == '\n' || (c == '\r' && i + 1 < size && p[i + 1] == '\n')) {
            if (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t'))
                s.trailing_space = true;
            s.bare_lf = s.bare_lf || c == '\n';
            if (c == '\r')
                i++;
            line = 0;
            continue;
        }
        s.nul += c == 0;
        s.eight_bit += c >= 0x80;
        s.bare_cr = s.bare_cr || c == '\r';
        s.long_line = s.long_line || ++line > LINE_MAX_7BIT;
    }
    if (size > 0 && (p[size - 1] == ' ' || p[size - 1] == '\t'))
        s.trailing_space = true;
    return s;
}

/* Should c at in[i] be written as "=XX"? Beyond RFC 2045's rules, RFC 3156 §3 asks that
 * signed data survive MTAs: "From " and "." at a line start and trailing white space too. */
static bool
qp_escape(const uint8_t *in, size_t size, size_t i, bool line_start)
{
    uint8_t c = in[i];
    if (c == ' ' || c == '\t') {
        bool line_end = i + 1 == size || in[i + 1] == '\n' ||
                        (in[i + 1] == '\r' && i + 2 < size && in[i + 2] == '\n');
        return line_end;
    }
    if (line_start && (c == '.' || (c == 'F' && size - i >= 5 && !memcmp(in + i, "From ", 5))))
        return true;
    return c < 33 || c > 126 || c == '=';
}

/* Quoted-printable encoding; LF and CRLF stay hard line breaks (written as LF, made CRLF
 * with everything else). Returns a GString the caller frees. */
static GString *
qp_encode(const uint8_t *in, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    GString *out = g_string_sized_new(size + size / 4 + 16);
    size_t column = 0;
    for (size_t i = 0; i < size; i++) {
        if (in[i] == '\r' && i + 1 < size && in[i + 1] == '\n')
            continue;
        if (in[i] == '\n') {
            g_string_append_c(out, '\n');
            column = 0;
            continue;
        }
        bool escape = qp_escape(in, size, i, column == 0);
        if (column + (escape ? 3 : 1) > QP_LINE_MAX - 1) {
            g_string_append(out, "=\n");
            column = 0;
            escape = qp_escape(in, size, i, true);
        }
        if (escape) {
            g_string_append_c(out, '=');
            g_string_append_c(out, hex[in[i] >> 4]);
            g_string_append_c(out, hex[in[i] & 15]);
            column += 3;
        } else {
            g_string_append_c(out, (char) in[i]);
            column++;
        }
    }
    return out;
}

static void
set_qp_content(GMimePart *part, const uint8_t *decoded, size_t size)
{
    GString *qp = qp_encode(decoded, size);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(qp->str, qp->len);
    GMimeDataWrapper *wrapper =
        g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    g_mime_part_set_content(part, wrapper);
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    g_object_unref(wrapper);
    g_object_unref(stream);
    g_string_free(qp, TRUE);
}

/* Gives a leaf a transfer encoding that is 7-bit and survives MTAs. Base64 and uuencode are
 * kept as they are; anything else is judged by its decoded content. */
static void
make_part_7bit(GMimePart *part)
{
    GMimeContentEncoding current = g_mime_part_get_content_encoding(part);
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content || current == GMIME_CONTENT_ENCODING_BASE64 ||
        current == GMIME_CONTENT_ENCODING_UUENCODE)
        return;
    /* Too large to judge in memory: base64 is 7-bit safe whatever the content, and GMime
     * encodes it as a stream. */
    GMimeStream *raw = g_mime_data_wrapper_get_stream(content);
    if (raw && g_mime_stream_length(raw) > (gint64) PD_STREAM_THRESHOLD) {
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
        return;
    }
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    content_scan_t s = scan_content(bytes->data, bytes->len);
    bool text = g_mime_content_type_is_type(g_mime_object_get_content_type(GMIME_OBJECT(part)),
                                            "text", "*");
    bool unsafe = s.eight_bit || s.bare_cr || s.long_line || s.trailing_space || s.from_line;
    /* Only text may have its line breaks made CRLF (RFC 2046 §4.1.1); other content keeps its
     * bytes, which only base64 guarantees. For text GMime's rule of thumb holds: from 17%
     * 8-bit bytes on, base64 is the smaller encoding. */
    bool base64 = s.nul || (text ? s.eight_bit && s.eight_bit >= s.total * 17 / 100
                                 : unsafe || s.bare_lf);
    if (base64)
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
    else if (unsafe || current == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
        set_qp_content(part, bytes->data, bytes->len);
    else if (current != GMIME_CONTENT_ENCODING_DEFAULT && current != GMIME_CONTENT_ENCODING_7BIT)
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_7BIT);
    g_object_unref(mem);
}

/* Makes every leaf of the tree 7-bit safe and encodes 8-bit header values. The content of a
 * nested multipart/signed or multipart/encrypted is left alone: changing it would break it. */
static void
make_tree_7bit(GMimeObject *obj)
{
    make_headers_7bit(obj);
    if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        tidy_multipart(mp);
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
            make_tree_7bit(g_mime_multipart_get_part(mp, i));
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (!inner)
            return;
        make_headers_7bit(GMIME_OBJECT(inner));
        GMimeObject *body = g_mime_message_get_mime_part(inner);
        if (body)
            make_tree_7bit(body);
        /* message/rfc822 allows only 7bit, 8bit or binary (RFC 2046 §5.2.1); it is 7bit now. */
        if (g_mime_object_get_header(obj, "Content-Transfer-Encoding"))
            g_mime_object_set_header(obj, "Content-Transfer-Encoding", "7bit", NULL);
    } else if (GMIME_IS_PART(obj)) {
        make_part_7bit(GMIME_PART(obj));
    }
}

/* ---------------------------------------------------------------- the protected entity */

/* Puts a copy of the draft's header `name` at the top of the entity (RFC 9788 §4.1): raw
 * bytes when they are 7-bit, else re-encoded from the decoded value. */
static void
copy_header(GMimeHeaderList *to, GMimeHeaderList *from, const char *name)
{
    GMimeHeader *src = g_mime_header_list_get_header(from, name);
    if (!src)
        return;
    const char *raw = g_mime_header_get_raw_value(src);
    bool as_is = raw && !has_8bit(raw);
    /* Given a value, GMime formats it (parsing addresses), which the raw bytes then replace. */
    g_mime_header_list_prepend(to, name, as_is ? "" : g_mime_header_get_value(src),
                               as_is ? NULL : "utf-8");
    if (as_is) {
        char *line = raw_value_line("", raw);
        g_mime_header_set_raw_value(g_mime_header_list_get_header_at(to, 0), line);
        g_free(line);
    }
}

/* RFC 9788 §2.2: HP-Outer records a protected header as the outer section shows it. */
static void
add_hp_outer(GMimeHeaderList *to, GMimeHeaderList *from, const char *name)
{
    GMimeHeader *src = g_mime_header_list_get_header(from, name);
    if (!src)
        return;
    bool obscured = strcasecmp(name, "Subject") == 0;
    const char *raw = obscured ? obscured_subject : g_mime_header_get_raw_value(src);
    if (!raw || has_8bit(raw)) {
        char *decoded = g_strdup_printf("%s: %s", name, g_mime_header_get_value(src));
        g_mime_header_list_prepend(to, "HP-Outer", decoded, "utf-8");
        g_free(decoded);
        return;
    }
    char *prefix = g_strdup_printf(obscured ? " %s: " : " %s:", name);
    char *line = raw_value_line(prefix, raw);
    g_mime_header_list_prepend(to, "HP-Outer", "", NULL);
    g_mime_header_set_raw_value(g_mime_header_list_get_header_at(to, 0), line);
    g_free(line);
    g_free(prefix);
}

/* Marks the entity's Content-Type as an RFC 9788 payload: protected-headers="v1" (the
 * convention Thunderbird and Enigmail read) and hp. Written as raw text so the values keep
 * their quotes; the draft's own params are left as they were. */
static void
mark_payload_type(GMimeObject *entity, const char *hp)
{
    GMimeContentType *ct = g_mime_object_get_content_type(entity);
    GMimeParamList *params = g_mime_content_type_get_parameters(ct);
    g_mime_param_list_remove(params, "protected-headers");
    g_mime_param_list_remove(params, "hp");
    char *encoded = g_mime_content_type_encode(ct, NULL);
    size_t len = strlen(encoded);
    while (len > 0 && (encoded[len - 1] == '\n' || encoded[len - 1] == '\r'))
        len--;
    char *raw = g_strdup_printf("%.*s;\n protected-headers=\"v1\"; hp=\"%s\"\n", (int) len,
                                encoded, hp);
    GMimeHeaderList *headers = g_mime_object_get_header_list(entity);
    if (!g_mime_header_list_get_header(headers, "Content-Type"))
        g_mime_header_list_append(headers, "Content-Type", "text/plain", NULL);
    g_mime_header_set_raw_value(g_mime_header_list_get_header(headers, "Content-Type"), raw);
    g_free(raw);
    g_free(encoded);
}

/* The draft's body as the entity to sign or encrypt: 7-bit safe, with the protected headers
 * when asked, serialized CRLF-canonical. out: malloc'd; caller frees. */
static GMimeObject *
entity_prepare(draft_t *d, const pgpdesk_outgoing_options_t *opts)
{
    GMimeObject *entity = g_mime_message_get_mime_part(d->message);
    make_tree_7bit(entity);
    if (opts->protected_headers) {
        GMimeHeaderList *inner = g_mime_object_get_header_list(entity);
        GMimeHeaderList *outer = g_mime_object_get_header_list(GMIME_OBJECT(d->message));
        for (size_t i = PD_PROTECTED_HEADER_COUNT; opts->encrypt && i-- > 0;)
            add_hp_outer(inner, outer, pd_protected_headers[i]);
        for (size_t i = PD_PROTECTED_HEADER_COUNT; i-- > 0;)
            copy_header(inner, outer, pd_protected_headers[i]);
        mark_payload_type(entity, opts->encrypt ? "cipher" : "clear");
    }
    return entity;
}

static GMimeFormatOptions *
dos_format(void)
{
    GMimeFormatOptions *format = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
    return format;
}

static pgpdesk_status_t
entity_serialize(pgpdesk_t *pd, draft_t *d, const pgpdesk_outgoing_options_t *opts,
                 uint8_t **out, size_t *out_size)
{
    GMimeObject *entity = entity_prepare(d, opts);
    GMimeFormatOptions *format = dos_format();
    GMimeStream *mem = g_mime_stream_mem_new();
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (g_mime_object_write_to_stream(entity, format, mem) < 0)
        st = pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE, "The draft could not be serialized.");
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    if (!st && (st = pd_crlf_canonical(bytes->data, bytes->len, out, out_size)))
        pd_fail(pd, st, NULL);
    g_object_unref(mem);
    g_mime_format_options_free(format);
    return st;
}

/* Writes a prepared entity, CRLF-canonical, to the file or (socket) the socket fd. */
static bool
entity_write(GMimeObject *entity, int fd, bool socket)
{
    GMimeFormatOptions *format = dos_format();
    GMimeStream *file = socket ? g_mime_stream_pipe_new(fd) : g_mime_stream_fs_new(fd);
    if (socket)
        g_mime_stream_pipe_set_owner(GMIME_STREAM_PIPE(file), FALSE);
    else
        g_mime_stream_fs_set_owner(GMIME_STREAM_FS(file), FALSE);
    GMimeStream *canonical = g_mime_stream_filter_new(file);
    GMimeFilter *crlf = g_mime_filter_unix2dos_new(FALSE);
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(canonical), crlf);
    g_object_unref(crlf);
    bool ok = g_mime_object_write_to_stream(entity, format, canonical) >= 0 &&
              g_mime_stream_flush(canonical) == 0;
    g_object_unref(canonical);
    g_object_unref(file);
    g_mime_format_options_free(format);
    return ok;
}

/* The same for a large draft, into a private temporary file. fd: the file, positioned at its
 * end; the caller closes it. */
static pgpdesk_status_t
entity_serialize_file(pgpdesk_t *pd, draft_t *d, const pgpdesk_outgoing_options_t *opts,
                      int *fd, size_t *size)
{
    GMimeObject *entity = entity_prepare(d, opts);
    if ((*fd = pd_temp_file(pd)) < 0)
        return PGPDESK_STATUS_IO_ERROR;
    bool ok = entity_write(entity, *fd, false);
    off_t end = ok ? lseek(*fd, 0, SEEK_END) : -1;
    if (end < 0)
        return pd_fail(pd, PGPDESK_STATUS_MALFORMED_MESSAGE, "The draft could not be serialized.");
    *size = (size_t) end;
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- the outer message */

static bool
field_named(const uint8_t *field, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp((const char *) field, name, n) != 0)
        return false;
    size_t i = n;
    while (i < len && (field[i] == ' ' || field[i] == '\t'))
        i++;
    return i < len && field[i] == ':';
}

static bool
field_dropped(const uint8_t *field, size_t len, bool pgp_mime)
{
    if (field_named(field, len, "Bcc"))
        return true;
    return pgp_mime && (field_named(field, len, "MIME-Version") ||
                        (len > 8 && strncasecmp((const char *) field, "Content-", 8) == 0));
}

/* Appends the header field GMime made for a header the draft lacked. */
static void
append_added_field(GString *out, const draft_t *d, const char *name)
{
    GMimeHeader *h = g_mime_header_list_get_header(
        g_mime_object_get_header_list(GMIME_OBJECT(d->message)), name);
    const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
    if (!raw)
        return;
    size_t len = strlen(raw);
    while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
        len--;
    g_string_append_printf(out, "%s:%.*s%s", name, (int) len, raw, d->eol);
}

/* Appends the draft's header section as the outer one of a copy, field by field as the draft
 * has it, except: Bcc goes; for PGP/MIME the Content-* fields and MIME-Version go (the
 * envelope brings its own) and the Subject becomes "..." when obscure_subject; a Date and
 * Message-ID the draft lacked are added. */
static void
append_outer_headers(GString *final, const draft_t *d, bool pgp_mime, bool obscure_subject)
{
    /* PGP/MIME goes out CRLF throughout: the section is made so here, the rest already is. */
    GString *out = pgp_mime ? g_string_sized_new(d->header_size + 128) : final;
    bool subject_written = false;
    size_t pos = 0;
    while (pos < d->header_size) {
        size_t end = pos;
        do {
            const uint8_t *nl = memchr(d->raw + end, '\n', d->header_size - end);
            end = nl ? (size_t) (nl - d->raw) + 1 : d->header_size;
        } while (end < d->header_size && (d->raw[end] == ' ' || d->raw[end] == '\t'));
        const uint8_t *field = d->raw + pos;
        size_t len = end - pos;
        pos = end;
        if (field_dropped(field, len, pgp_mime))
            continue;
        if (obscure_subject && field_named(field, len, "Subject")) {
            if (!subject_written)
                g_string_append_printf(out, "Subject: %s%s", obscured_subject, d->eol);
            subject_written = true;
            continue;
        }
        g_string_append_len(out, (const char *) field, (gssize) len);
        if (field[len - 1] != '\n')
            g_string_append(out, d->eol);
    }
    if (d->added_date)
        append_added_field(out, d, "Date");
    if (d->added_message_id)
        append_added_field(out, d, "Message-ID");
    if (out == final)
        return;
    uint8_t *crlf = NULL;
    size_t size = 0;
    if (pd_crlf_canonical((const uint8_t *) out->str, out->len, &crlf, &size) == 0)
        g_string_append_len(final, (const char *) crlf, (gssize) size);
    free(crlf);
    g_string_free(out, TRUE);
}

/* The multipart/signed body of RFC 3156 §5 is the head, the entity's exact bytes, then the
 * tail with the signature. */
static void
signed_head(GString *out, const char *micalg, const char *boundary)
{
    g_string_append_printf(out,
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: multipart/signed; micalg=%s;\r\n"
                           " protocol=\"application/pgp-signature\";\r\n"
                           " boundary=\"%s\"\r\n"
                           "\r\n"
                           "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
                           "--%s\r\n",
                           micalg, boundary, boundary);
}

static void
signed_tail(GString *out, const uint8_t *sig, size_t sig_size, const char *boundary)
{
    /* The CRLF before the next delimiter belongs to it (RFC 2046 §5.1.1), not to the entity. */
    g_string_append_printf(out,
                           "\r\n--%s\r\n"
                           "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
                           "Content-Description: OpenPGP digital signature\r\n"
                           "Content-Disposition: attachment; filename=\"signature.asc\"\r\n"
                           "\r\n",
                           boundary);
    g_string_append_len(out, (const char *) sig, (gssize) without_final_newlines(sig, sig_size));
    g_string_append_printf(out, "\r\n--%s--\r\n", boundary);
}

static void
append_signed(GString *out, const uint8_t *entity, size_t entity_size, const uint8_t *sig,
              size_t sig_size, const char *micalg)
{
    char boundary[BOUNDARY_SIZE];
    choose_boundary(entity, -1, entity_size, boundary);
    signed_head(out, micalg, boundary);
    g_string_append_len(out, (const char *) entity, (gssize) entity_size);
    signed_tail(out, sig, sig_size, boundary);
}

/* The multipart/encrypted body of RFC 3156 §4 around an armored OpenPGP message: the head,
 * the armored message without its final line break, the tail. */
static void
encrypted_head(GString *out, const char *boundary)
{
    g_string_append_printf(out,
                           "MIME-Version: 1.0\r\n"
                           "Content-Type: multipart/encrypted;\r\n"
                           " protocol=\"application/pgp-encrypted\";\r\n"
                           " boundary=\"%s\"\r\n"
                           "\r\n"
                           "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
                           "--%s\r\n"
                           "Content-Type: application/pgp-encrypted\r\n"
                           "Content-Description: PGP/MIME version identification\r\n"
                           "\r\n"
                           "Version: 1\r\n"
                           "\r\n"
                           "--%s\r\n"
                           "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
                           "Content-Description: OpenPGP encrypted message\r\n"
                           "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
                           "\r\n",
                           boundary, boundary, boundary);
}

static void
append_encrypted(GString *out, const uint8_t *armored, size_t size)
{
    char boundary[BOUNDARY_SIZE];
    choose_boundary(armored, -1, size, boundary);
    encrypted_head(out, boundary);
    g_string_append_len(out, (const char *) armored, (gssize) without_final_newlines(armored, size));
    g_string_append_printf(out, "\r\n--%s--\r\n", boundary);
}

/* ---------------------------------------------------------------- keys */

/* Why addr has no usable key for purpose, in the words the security options use (lib/group.c);
 * sets the handle's message naming addr. */
static pgpdesk_status_t
explain_missing_key(pgpdesk_t *pd, const char *addr, pgpdesk_key_purpose_t purpose)
{
    bool sign = purpose == PGPDESK_PURPOSE_SIGN;
    pgpdesk_status_t missing = sign ? PGPDESK_STATUS_NO_SENDER_KEY
                                    : PGPDESK_STATUS_NO_RECIPIENT_KEY;
    switch (keystore_key_state(pd, addr, purpose)) {
    case KEY_EXPIRED:
        return pd_fail(pd, sign ? PGPDESK_STATUS_SENDER_KEY_EXPIRED
                                : PGPDESK_STATUS_RECIPIENT_KEY_EXPIRED,
                       "The PGP key for %s was found, but has expired.", addr);
    case KEY_REVOKED:
        return pd_fail(pd, PGPDESK_STATUS_KEY_REVOKED, "The PGP key for %s has been revoked.",
                       addr);
    case KEY_INCAPABLE:
        return pd_fail(pd, missing,
                       sign ? "The PGP key for %s cannot be used for signing."
                            : "The PGP key for %s cannot be used for encryption.",
                       addr);
    case KEY_USABLE: /* find_usable() said otherwise a moment ago: the store changed since */
    case KEY_MISSING:
        break;
    }
    return pd_fail(pd, missing, "The PGP key for %s was not found.", addr);
}

/* fpr: the newest usable key of addr for purpose. required: a missing key is an error;
 * otherwise fpr is left "" and SUCCESS returned. */
static pgpdesk_status_t
find_key(pgpdesk_t *pd, const char *addr, pgpdesk_key_purpose_t purpose, bool required,
         fingerprint_t fpr)
{
    fpr[0] = '\0';
    pgpdesk_status_t st = keystore_usable_fingerprint(pd, addr, purpose, fpr);
    if (st == PGPDESK_STATUS_KEY_NOT_FOUND && !required) {
        pd->errmsg[0] = '\0';
        return PGPDESK_STATUS_SUCCESS;
    }
    if (st == PGPDESK_STATUS_KEY_NOT_FOUND)
        return explain_missing_key(pd, addr, purpose);
    return st;
}

/* The keys a run needs. Empty fingerprints where an operation is not asked for. */
typedef struct run_keys {
    fingerprint_t signer;
    fingerprint_t sender;   /* the sender's own encryption key, "" when it has none */
    fingerprint_t *to_cc;   /* one per draft.to_cc when encrypting; malloc'd */
    fingerprint_t *bcc;     /* one per draft.bcc when encrypting; malloc'd */
} run_keys_t;

static pgpdesk_status_t
find_recipient_keys(pgpdesk_t *pd, char **addrs, size_t count, fingerprint_t **out)
{
    if (count == 0)
        return PGPDESK_STATUS_SUCCESS;
    if (!(*out = calloc(count, sizeof **out)))
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    for (size_t i = 0; i < count; i++) {
        pgpdesk_status_t st = find_key(pd, addrs[i], PGPDESK_PURPOSE_ENCRYPT, true, (*out)[i]);
        if (st)
            return st;
    }
    return PGPDESK_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------- copies and logs */

/* Addresses as a log row shows them: "a@x, b@y". Caller frees; NULL when out of memory. */
static char *
join_addresses(char **a, size_t a_count, char **b, size_t b_count)
{
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < a_count + b_count; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", i < a_count ? a[i] : b[i - a_count]);
    char *joined = strdup(s->str);
    g_string_free(s, TRUE);
    return joined;
}

/* Logs a method that failed before anything was produced, with the handle's message. */
static void
log_failure(pgpdesk_t *pd, const draft_t *d, const char *method)
{
    char *to = join_addresses(d->to_cc, d->to_cc_count, d->bcc, d->bcc_count);
    json_t *detail = json_pack("{s:s}", "error", pgpdesk_errmsg(pd));
    log_write(pd, "out", method, false, d->sender, to, d->message_id, detail);
    json_decref(detail);
    free(to);
}

void
pgpdesk_outgoing_result_destroy(pgpdesk_outgoing_result_t *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->count; i++) {
        pd_strv_free(result->copies[i].recipients, result->copies[i].recipient_count);
        free(result->copies[i].message);
        if (result->copies[i].file)
            fclose(result->copies[i].file);
    }
    free(result->copies);
    free(result);
}

/* Copy i's recipients: the To/Cc copy comes first when there is one, then one per Bcc. */
static void
copy_recipients(const draft_t *d, size_t i, char ***addrs, size_t *count,
                const run_keys_t *keys, fingerprint_t **fprs)
{
    if (d->to_cc_count && i == 0) {
        *addrs = d->to_cc;
        *count = d->to_cc_count;
        *fprs = keys->to_cc;
        return;
    }
    size_t b = i - (d->to_cc_count ? 1 : 0);
    *addrs = d->bcc + b;
    *count = 1;
    *fprs = keys->bcc ? keys->bcc + b : NULL;
}

/* The distinct keys one copy is encrypted to: its recipients' and the sender's. */
static size_t
encryption_keys(const fingerprint_t *fprs, size_t count, const char *sender, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i <= count; i++) {
        const char *fpr = i < count ? fprs[i] : sender;
        bool seen = !*fpr;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], fpr) == 0;
        if (!seen)
            out[n++] = fpr;
    }
    return n;
}

/* What one run makes, before it is stored. */
typedef struct run {
    pgpdesk_t *pd;
    const pgpdesk_outgoing_options_t *opts;
    draft_t *draft;
    run_keys_t keys;
    openpgp_keyring_t *ring;  /* the handle's, borrowed */
    uint8_t *entity;          /* the serialized payload; NULL for a plain run */
    size_t entity_size;
    int entity_fd;            /* a large draft's payload, in a temporary file; else -1 */
    char (*files)[PD_BODY_NAME_SIZE]; /* a large draft's copies: their body files */
    char draft_file[PD_BODY_NAME_SIZE]; /* ... and the draft's own, "" until made */
    int draft_fd;             /* ... open while it goes to disk, until the copies are stored */
    pd_syncer_t *draft_syncer; /* ... making it durable meanwhile */
    GString *tail;            /* ... signed: what follows the entity in every copy; owned */
    const char *micalg;       /* of a detached signature */
    int64_t deadline;         /* pd_monotonic_ms() by which the run must be done */
    const char *failed;       /* the method a key lookup failed for, to be logged */
    pgpdesk_outgoing_result_t *result;
} run_t;

/* The time limit is checked between steps: no step itself can run away (the inputs that made
 * GMime loop are refused up front), but many copies to many keys add up. */
static pgpdesk_status_t
check_deadline(run_t *r)
{
    if (pd_monotonic_ms() <= r->deadline)
        return PGPDESK_STATUS_SUCCESS;
    return pd_fail(r->pd, PGPDESK_STATUS_TIMEOUT,
                   "Processing the draft took longer than the limit of %u ms.",
                   r->pd->limits.time_limit_ms);
}

/* A run that did not succeed removes the body files it made. */
static void
run_clear(run_t *r, bool succeeded)
{
    free(r->keys.to_cc);
    free(r->keys.bcc);
    free(r->entity);
    if (r->entity_fd >= 0)
        close(r->entity_fd);
    pd_syncer_stop(r->draft_syncer);
    if (r->draft_fd >= 0)
        close(r->draft_fd);
    for (size_t i = 0; !succeeded && r->files && r->result && i < r->result->count; i++)
        body_file_discard(r->pd, -1, r->files[i]);
    if (!succeeded)
        body_file_discard(r->pd, -1, r->draft_file);
    free(r->files);
    if (r->tail)
        g_string_free(r->tail, TRUE);
    pgpdesk_outgoing_result_destroy(r->result);
}

static pgpdesk_status_t
resolve_keys(run_t *r)
{
    pgpdesk_t *pd = r->pd;
    draft_t *d = r->draft;
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (d->to_cc_count + d->bcc_count == 0) {
        st = pd_fail(pd, PGPDESK_STATUS_NO_RECIPIENT, "There was no recipient found.");
        if (r->opts->encrypt)
            r->failed = "encryption";
        return st;
    }
    if (r->opts->sign &&
        (st = find_key(pd, d->sender, PGPDESK_PURPOSE_SIGN, true, r->keys.signer))) {
        r->failed = "sign";
        return st;
    }
    if (!r->opts->encrypt)
        return st;
    /* The sender's own key keeps the sent copy readable; a sender without one still sends
     * (the article keeps the draft in the clear anyway). */
    if ((st = find_key(pd, d->sender, PGPDESK_PURPOSE_ENCRYPT, false, r->keys.sender)) ||
        (st = find_recipient_keys(pd, d->to_cc, d->to_cc_count, &r->keys.to_cc)) ||
        (st = find_recipient_keys(pd, d->bcc, d->bcc_count, &r->keys.bcc)))
        r->failed = "encryption";
    return st;
}

/* Loads every key the run needs into the handle's ring; a key that cannot be loaded (its
 * sealed private part unreadable, say) fails its method. */
static pgpdesk_status_t
load_keys(run_t *r)
{
    pgpdesk_t *pd = r->pd;
    pgpdesk_status_t st = keystore_ring(pd, &r->ring);
    if (!st && r->keys.signer[0] &&
        (st = keystore_ring_load(pd, r->ring, r->keys.signer, true))) {
        r->failed = "sign";
        return st;
    }
    if (!st && r->keys.sender[0])
        st = keystore_ring_load(pd, r->ring, r->keys.sender, false);
    for (size_t i = 0; !st && r->keys.to_cc && i < r->draft->to_cc_count; i++)
        st = keystore_ring_load(pd, r->ring, r->keys.to_cc[i], false);
    for (size_t i = 0; !st && r->keys.bcc && i < r->draft->bcc_count; i++)
        st = keystore_ring_load(pd, r->ring, r->keys.bcc[i], false);
    if (st && r->ring)
        r->failed = "encryption";
    return st;
}

/* The key lookups share one read transaction: their many small reads take one snapshot and
 * one lock instead of each their own, a few system calls apiece. A method that fails is
 * logged afterwards, outside it. */
static pgpdesk_status_t
find_and_load_keys(run_t *r)
{
    store_t *store = r->pd->store;
    pgpdesk_status_t st = pd_store_fail(r->pd, store->ops->begin_read(store));
    if (st)
        return st;
    st = resolve_keys(r);
    if (!st && (r->opts->sign || r->opts->encrypt))
        st = load_keys(r);
    if (store->ops->commit(store) && !st)
        st = pd_store_fail(r->pd, PGPDESK_STATUS_DATABASE_ERROR);
    if (r->failed)
        log_failure(r->pd, r->draft, r->failed);
    return st;
}

/* A crypto operation's failure as the handle's message, and its log row. */
static pgpdesk_status_t
crypto_failed(run_t *r, pgpdesk_status_t st, const char *method)
{
    if (st == PGPDESK_STATUS_NO_SENDER_KEY)
        pd_fail(r->pd, st, "The PGP key for %s was not found.", r->draft->sender);
    else
        pd_fail(r->pd, st, NULL);
    log_failure(r->pd, r->draft, method);
    return st;
}

/* The message of one copy as the caller gets it (PGP/MIME is CRLF throughout as built, a plain
 * draft keeps the line breaks it came with). */
static pgpdesk_status_t
finish_message(const GString *message, pgpdesk_outgoing_copy_t *copy)
{
    if (!(copy->message = malloc(message->len + 1)))
        return PGPDESK_STATUS_OUT_OF_MEMORY;
    memcpy(copy->message, message->str, message->len + 1);
    copy->size = message->len;
    return PGPDESK_STATUS_SUCCESS;
}

/* A large draft sent as one encrypted copy: a second thread serializes the entity into a
 * socket while librnp encrypts what comes out of it, so the two cores share the work and no
 * temporary file is written. */
typedef struct entity_pipe {
    GMimeObject *entity;
    int fds[2]; /* [0] librnp reads, [1] the thread writes */
    pthread_t thread;
    bool started;
    bool ok;
} entity_pipe_t;

static void *
entity_pipe_run(void *arg)
{
    entity_pipe_t *p = arg;
    p->ok = entity_write(p->entity, p->fds[1], true);
    shutdown(p->fds[1], SHUT_WR); /* the reader sees the end */
    return NULL;
}

static ptrdiff_t
socket_read(void *ctx, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = read(*(int *) ctx, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

static bool
entity_pipe_start(entity_pipe_t *p, GMimeObject *entity)
{
    *p = (entity_pipe_t){.entity = entity, .fds = {-1, -1}};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->fds) != 0)
        return false;
    p->started = pthread_create(&p->thread, NULL, entity_pipe_run, p) == 0;
    return p->started;
}

/* Waits for the thread; first drains what librnp left unread, so the writer never blocks.
 * True when the whole entity was written. */
static bool
entity_pipe_finish(entity_pipe_t *p)
{
    if (p->started) {
        char buf[65536];
        while (socket_read(&p->fds[0], buf, sizeof buf) > 0)
            ;
        pthread_join(p->thread, NULL);
    }
    for (size_t i = 0; i < 2; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    return p->started && p->ok;
}

/* A detached signature over the entity, in memory or in its file. */
static pgpdesk_status_t
sign_entity(run_t *r, uint8_t **sig, size_t *sig_size)
{
    if (r->entity_fd < 0)
        return openpgp_sign_detached(r->ring, r->keys.signer, r->entity, r->entity_size, sig,
                                     sig_size, &r->micalg);
    GMimeStream *entity = pd_file_stream(r->entity_fd);
    if (!entity)
        return PGPDESK_STATUS_IO_ERROR;
    openpgp_reader_t reader = pd_stream_reader(entity);
    pgpdesk_status_t st = openpgp_sign_detached_stream(r->ring, r->keys.signer, &reader, sig,
                                                      sig_size, &r->micalg);
    g_object_unref(entity);
    return st;
}

/* The entity encrypted (and signed when asked) to one copy's recipients and the sender: into
 * *armored, or (out_fd >= 0, a large draft) appended to the file out_fd. A failure is the
 * handle's message and logged. */
static pgpdesk_status_t
encrypt_entity(run_t *r, const fingerprint_t *fprs, size_t count, int out_fd, uint8_t **armored,
               size_t *size)
{
    const char **keys = calloc(count + 1, sizeof *keys);
    if (!keys)
        return pd_fail(r->pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    size_t key_count = encryption_keys(fprs, count, r->keys.sender, keys);
    const char *signer = r->opts->sign ? r->keys.signer : NULL;
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (out_fd < 0) {
        st = openpgp_encrypt(r->ring, keys, key_count, signer, r->entity, r->entity_size,
                             armored, size);
    } else if (r->entity_fd < 0) {
        entity_pipe_t pipe;
        bool started = entity_pipe_start(&pipe, entity_prepare(r->draft, r->opts));
        openpgp_reader_t reader = {.read = socket_read, .ctx = &pipe.fds[0]};
        st = started ? openpgp_encrypt_stream(r->ring, keys, key_count, signer, &reader, out_fd,
                                              size)
                     : PGPDESK_STATUS_IO_ERROR;
        if (!entity_pipe_finish(&pipe) && !st)
            st = pd_fail(r->pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                         "The draft could not be serialized.");
    } else {
        GMimeStream *entity = pd_file_stream(r->entity_fd);
        openpgp_reader_t reader = entity ? pd_stream_reader(entity) : (openpgp_reader_t){0};
        st = entity ? openpgp_encrypt_stream(r->ring, keys, key_count, signer, &reader, out_fd,
                                             size)
                    : PGPDESK_STATUS_IO_ERROR;
        if (entity)
            g_object_unref(entity);
    }
    free(keys);
    if (st) {
        bool signing = st == PGPDESK_STATUS_NO_SENDER_KEY || st == PGPDESK_STATUS_PASSPHRASE_INVALID;
        crypto_failed(r, st, signing ? "sign" : "encryption");
    }
    return st;
}

/* An encrypted copy of a large draft into fd: the envelope's head, librnp's armored message
 * straight after it, then (over the armored message's final line break) the tail. The
 * boundary needs no search: armored text is base64 lines, which never hold "=_". */
static pgpdesk_status_t
write_encrypted_file(run_t *r, const fingerprint_t *fprs, size_t count, int fd)
{
    char boundary[BOUNDARY_SIZE];
    new_boundary(boundary);
    GString *head = g_string_new(NULL);
    append_outer_headers(head, r->draft, true, r->opts->protected_headers);
    encrypted_head(head, boundary);
    bool ok = pd_write_all(fd, head->str, head->len);
    g_string_free(head, TRUE);
    size_t armored_size = 0;
    pgpdesk_status_t st = ok ? encrypt_entity(r, fprs, count, fd, NULL, &armored_size)
                             : pd_fail(r->pd, PGPDESK_STATUS_IO_ERROR, NULL);
    if (st)
        return st;
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t last[2];
    ok = end >= 2 && pread(fd, last, 2, end - 2) == 2;
    off_t cut = ok ? end - 2 + (off_t) without_final_newlines(last, 2) : -1;
    char *tail = g_strdup_printf("\r\n--%s--\r\n", boundary);
    ok = ok && lseek(fd, cut, SEEK_SET) == cut && pd_write_all(fd, tail, strlen(tail)) &&
         ftruncate(fd, cut + (off_t) strlen(tail)) == 0;
    g_free(tail);
    return ok ? PGPDESK_STATUS_SUCCESS
              : pd_fail(r->pd, PGPDESK_STATUS_IO_ERROR, "A message file could not be written.");
}

/* A large draft's copy is written straight into a new body file, which becomes its article:
 * encrypted, or else the shared head (message), then from their files the entity (signed) or
 * the draft's body (plain), then the tail. copy->file: that file, to read. */
static pgpdesk_status_t
write_copy_file(run_t *r, const GString *message, const fingerprint_t *fprs, size_t count,
                char name[PD_BODY_NAME_SIZE], pgpdesk_outgoing_copy_t *copy)
{
    pgpdesk_t *pd = r->pd;
    draft_t *d = r->draft;
    int fd = -1;
    pgpdesk_status_t st = body_file_create(pd, &fd, name);
    if (st)
        return st;
    bool ok = true;
    if (r->opts->encrypt) {
        pd_syncer_t *syncer = pd_syncer_start(fd); /* the disk flushes while librnp works */
        st = write_encrypted_file(r, fprs, count, fd);
        pd_syncer_stop(syncer);
    } else { /* the head, then the signed entity or the draft's own body, then the tail if any */
        ok = pd_write_all(fd, message->str, message->len) &&
             (r->opts->sign ? pd_copy_file(r->entity_fd, 0, r->entity_size, fd)
                            : pd_copy_file(d->fd, d->header_size, d->file_size - d->header_size,
                                           fd)) &&
             (!r->tail || pd_write_all(fd, r->tail->str, r->tail->len));
    }
    off_t size = !st && ok ? lseek(fd, 0, SEEK_END) : -1;
    if (!st && size < 0)
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "A message file could not be written.");
    if (!st)
        st = body_file_keep(pd, fd);
    else
        close(fd);
    int read_fd = st ? -1 : body_file_open(pd, name);
    if (!st && (read_fd < 0 || !(copy->file = fdopen(read_fd, "rb")))) {
        if (read_fd >= 0)
            close(read_fd);
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "A message file could not be opened.");
    }
    if (st) {
        body_file_discard(pd, -1, name);
        name[0] = '\0';
        return st;
    }
    copy->size = (size_t) size;
    return PGPDESK_STATUS_SUCCESS;
}

/* The message every copy shares when nothing is encrypted: the draft signed once, or the
 * draft itself. NULL with the status set when signing fails. */
static GString *
shared_message(run_t *r, pgpdesk_status_t *st)
{
    draft_t *d = r->draft;
    GString *message = g_string_new(NULL);
    if (!r->opts->sign) {
        append_outer_headers(message, d, false, false);
        if (!d->stream) /* a large draft's body is copied from its file */
            g_string_append_len(message, (const char *) d->raw + d->header_size,
                                (gssize) (d->size - d->header_size));
        return message;
    }
    uint8_t *sig = NULL;
    size_t sig_size = 0;
    /* The signed part travels in the clear: it must cross 7-bit MTAs unchanged. */
    if (!(d->stream ? file_is_7bit_safe(r->entity_fd, r->entity_size)
                    : is_7bit_safe(r->entity, r->entity_size)))
        *st = pd_fail(r->pd, PGPDESK_STATUS_MALFORMED_MESSAGE,
                      "The draft holds 8-bit data or overlong lines that cannot be made 7-bit "
                      "safe for signing.");
    else if ((*st = sign_entity(r, &sig, &sig_size)))
        crypto_failed(r, *st, "sign");
    if (*st) {
        g_string_free(message, TRUE);
        return NULL;
    }
    append_outer_headers(message, d, true, false);
    if (d->stream) {
        /* The head; write_copy_file() copies the entity and adds the tail. */
        char boundary[BOUNDARY_SIZE];
        choose_boundary(NULL, r->entity_fd, r->entity_size, boundary);
        signed_head(message, r->micalg, boundary);
        r->tail = g_string_new(NULL);
        signed_tail(r->tail, sig, sig_size, boundary);
    } else {
        append_signed(message, r->entity, r->entity_size, sig, sig_size, r->micalg);
    }
    free(sig);
    return message;
}

/* One copy encrypted to its recipients and the sender, signed in the same pass when asked. */
static GString *
encrypted_message(run_t *r, const fingerprint_t *fprs, size_t count, pgpdesk_status_t *st)
{
    uint8_t *armored = NULL;
    size_t armored_size = 0;
    if ((*st = encrypt_entity(r, fprs, count, -1, &armored, &armored_size)))
        return NULL;
    GString *message = g_string_new(NULL);
    append_outer_headers(message, r->draft, true, r->opts->protected_headers);
    append_encrypted(message, armored, armored_size);
    free(armored);
    return message;
}

/* Builds the message of every copy into r->result. */
static pgpdesk_status_t
build_copies(run_t *r)
{
    draft_t *d = r->draft;
    size_t count = (d->to_cc_count ? 1 : 0) + d->bcc_count;
    if (!(r->result = calloc(1, sizeof *r->result)) ||
        !(r->result->copies = calloc(count, sizeof *r->result->copies)) ||
        (d->stream && !(r->files = calloc(count, sizeof *r->files))))
        return pd_fail(r->pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    GString *shared = r->opts->encrypt ? NULL : shared_message(r, &st);
    for (size_t i = 0; !st && i < count && !(st = check_deadline(r)); i++) {
        pgpdesk_outgoing_copy_t *copy = &r->result->copies[r->result->count++];
        char **addrs = NULL;
        size_t n = 0;
        fingerprint_t *fprs = NULL;
        copy_recipients(d, i, &addrs, &n, &r->keys, &fprs);
        for (size_t j = 0; !st && j < n; j++)
            if (!pd_strv_push(&copy->recipients, &copy->recipient_count, addrs[j]))
                st = pd_fail(r->pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
        GString *message = shared;
        if (!st && r->files)
            st = write_copy_file(r, shared, fprs, n, r->files[i], copy);
        else if (!st && !shared)
            message = encrypted_message(r, fprs, n, &st);
        if (!st && !r->files && (st = finish_message(message, copy)))
            pd_fail(r->pd, st, NULL);
        if (message && message != shared)
            g_string_free(message, TRUE);
    }
    if (shared)
        g_string_free(shared, TRUE);
    return st;
}

/* The security result stored with each outgoing article. New reference. */
static json_t *
security_json(const pgpdesk_outgoing_options_t *opts)
{
    return json_pack("{s:s, s:{s:b, s:n}, s:{s:b, s:n}}", "type", "PGP", "sign", "success",
                     opts->sign, "comment", "encryption", "success", opts->encrypt, "comment");
}

static void
log_copy(run_t *r, const pgpdesk_outgoing_copy_t *copy, const fingerprint_t *fprs)
{
    draft_t *d = r->draft;
    char *to = join_addresses(copy->recipients, copy->recipient_count, NULL, 0);
    if (r->opts->sign) {
        json_t *detail = json_pack("{s:b, s:s, s:I}", "success", 1, "signer_fingerprint",
                                   r->keys.signer, "article_id", (json_int_t) copy->article_id);
        if (detail && r->micalg)
            json_object_set_new(detail, "micalg", json_string(r->micalg));
        log_write(r->pd, "out", "sign", true, d->sender, to, d->message_id, detail);
        json_decref(detail);
    }
    if (r->opts->encrypt) {
        const char **keys = calloc(copy->recipient_count + 1, sizeof *keys);
        size_t n = keys ? encryption_keys(fprs, copy->recipient_count, r->keys.sender, keys) : 0;
        json_t *fingerprints = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(fingerprints, json_string(keys[i]));
        free(keys);
        json_t *detail = json_pack("{s:b, s:o, s:s, s:I}", "success", 1, "key_fingerprints",
                                   fingerprints, "cipher", "AES256", "article_id",
                                   (json_int_t) copy->article_id);
        log_write(r->pd, "out", "encryption", true, d->sender, to, d->message_id, detail);
        json_decref(detail);
    }
    free(to);
}

/* A large draft is kept as a body file too: its articles show it. Copied before the copies
 * are made, so that the disk writes it while they are; store_copies() finishes the job. */
static pgpdesk_status_t
store_draft_file(run_t *r)
{
    pgpdesk_status_t st = body_file_create(r->pd, &r->draft_fd, r->draft_file);
    if (st)
        return st;
    if (!pd_copy_file(r->draft->fd, 0, r->draft->file_size, r->draft_fd))
        return pd_fail(r->pd, PGPDESK_STATUS_IO_ERROR, "The draft could not be stored.");
    r->draft_syncer = pd_syncer_start(r->draft_fd);
    return PGPDESK_STATUS_SUCCESS;
}

/* Stores every copy as an outgoing article and logs each, all or none. */
static pgpdesk_status_t
store_copies(run_t *r)
{
    pgpdesk_t *pd = r->pd;
    draft_t *d = r->draft;
    GMimeMessage *msg = d->message;
    char *from = internet_address_list_to_string(g_mime_message_get_from(msg), NULL, FALSE);
    InternetAddressList *to_list = g_mime_message_get_to(msg);
    InternetAddressList *cc_list = g_mime_message_get_cc(msg);
    char *to = internet_address_list_length(to_list)
                   ? internet_address_list_to_string(to_list, NULL, FALSE) : NULL;
    char *cc = internet_address_list_length(cc_list)
                   ? internet_address_list_to_string(cc_list, NULL, FALSE) : NULL;
    json_t *security = security_json(r->opts);
    article_fields_t fields = {.mime = d->stream ? NULL : d->raw, .mime_size = d->size,
                               .mime_file = d->stream ? r->draft_file : NULL, .from = from,
                               .to = to, .cc = cc, .subject = g_mime_message_get_subject(msg),
                               .message_id = d->message_id, .security = security,
                               .group_id = r->opts->group_id};
    store_t *store = pd->store;
    pgpdesk_status_t st = security ? PGPDESK_STATUS_SUCCESS : PGPDESK_STATUS_OUT_OF_MEMORY;
    if (!st && r->draft_fd >= 0) {
        pd_syncer_stop(r->draft_syncer);
        r->draft_syncer = NULL;
        st = body_file_keep(pd, r->draft_fd);
        r->draft_fd = -1;
    }
    if (!st)
        st = store->ops->begin(store);
    bool began = !st;
    for (size_t i = 0; !st && i < r->result->count; i++) {
        pgpdesk_outgoing_copy_t *copy = &r->result->copies[i];
        st = article_store(pd, "out", copy->message, copy->size, r->files ? r->files[i] : NULL,
                           pd_now(), &fields, &copy->article_id);
    }
    /* The log rows go in the same transaction: one commit per message. */
    for (size_t i = 0; !st && i < r->result->count; i++) {
        char **addrs = NULL;
        size_t n = 0;
        fingerprint_t *fprs = NULL;
        copy_recipients(d, i, &addrs, &n, &r->keys, &fprs);
        log_copy(r, &r->result->copies[i], fprs);
    }
    if (began && !st)
        st = store->ops->commit(store);
    if (began && st)
        store->ops->rollback(store);
    pd_store_fail(pd, st);
    json_decref(security);
    g_free(from);
    g_free(to);
    g_free(cc);
    return st;
}

/* ---------------------------------------------------------------- the entry point */

/* A large draft encrypted to a single copy needs its entity once: it is piped, not filed. */
static bool
one_encrypted_copy(const run_t *r)
{
    const draft_t *d = r->draft;
    return r->opts->encrypt && (d->to_cc_count ? 1 : 0) + d->bcc_count == 1;
}

/* Everything after the draft is at hand (in memory, or a large one in its file). */
static pgpdesk_status_t
process_draft(pgpdesk_t *pd, draft_t *d, const pgpdesk_outgoing_options_t *options,
              pgpdesk_outgoing_result_t **out)
{
    static const pgpdesk_outgoing_options_t plain = {0};
    pd_gmime_init();
    pd->errmsg[0] = '\0';
    run_t r = {.pd = pd, .opts = options ? options : &plain, .draft = d,
               .deadline = pd_monotonic_ms() + pd->limits.time_limit_ms, .entity_fd = -1,
               .draft_fd = -1};
    pgpdesk_status_t st = draft_parse(pd, d);
    if (!st)
        st = find_and_load_keys(&r);
    if (!st && d->stream)
        st = store_draft_file(&r);
    if (!st && (r.opts->sign || r.opts->encrypt)) {
        st = !d->stream ? entity_serialize(pd, d, r.opts, &r.entity, &r.entity_size)
             : one_encrypted_copy(&r) ? PGPDESK_STATUS_SUCCESS /* piped: encrypt_entity() */
             : entity_serialize_file(pd, d, r.opts, &r.entity_fd, &r.entity_size);
        if (!st)
            st = check_deadline(&r);
    }
    if (!st)
        st = build_copies(&r);
    if (!st)
        st = store_copies(&r);
    if (!st) {
        *out = r.result;
        r.result = NULL;
    }
    run_clear(&r, !st);
    draft_clear(d);
    return st;
}

static pgpdesk_status_t
draft_too_large(pgpdesk_t *pd)
{
    return pd_fail(pd, PGPDESK_STATUS_MESSAGE_TOO_LARGE,
                   "The draft is larger than the limit of %zu bytes.", pd->limits.max_message_size);
}

pgpdesk_status_t
pgpdesk_outgoing_process(pgpdesk_t *pd, const void *draft, size_t size,
                         const pgpdesk_outgoing_options_t *options,
                         pgpdesk_outgoing_result_t **out)
{
    if (!pd || !out || (!draft && size))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT, NULL);
    if (size > pd->limits.max_message_size)
        return draft_too_large(pd);
    draft_t d = {.raw = draft, .size = size, .fd = -1};
    return process_draft(pd, &d, options, out);
}

pgpdesk_status_t
pgpdesk_outgoing_process_file(pgpdesk_t *pd, int draft_fd,
                              const pgpdesk_outgoing_options_t *options,
                              pgpdesk_outgoing_result_t **out)
{
    struct stat sb;
    if (!pd || !out || draft_fd < 0 || fstat(draft_fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return pd_fail(pd, PGPDESK_STATUS_INVALID_ARGUMENT,
                       "The draft must be given as a regular file.");
    size_t size = (size_t) sb.st_size;
    if (size > pd->limits.max_message_size)
        return draft_too_large(pd);
    size_t head = size <= PD_STREAM_THRESHOLD ? size : HEADER_SECTION_MAX;
    uint8_t *raw = malloc(head + 1);
    if (!raw)
        return pd_fail(pd, PGPDESK_STATUS_OUT_OF_MEMORY, NULL);
    ssize_t got = pread(draft_fd, raw, head, 0);
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (got < 0 || (size <= PD_STREAM_THRESHOLD && (size_t) got != size)) {
        st = pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "The draft file could not be read.");
    } else if (size <= PD_STREAM_THRESHOLD) {
        st = pgpdesk_outgoing_process(pd, raw, size, options, out);
    } else {
        /* The draft owns raw (its header section) from here on. */
        draft_t d = {.raw = raw, .size = (size_t) got, .fd = draft_fd, .file_size = size,
                     .stream = pd_file_stream(draft_fd)};
        if (!d.stream) {
            free(raw);
            return pd_fail(pd, PGPDESK_STATUS_IO_ERROR, "The draft file could not be read.");
        }
        return process_draft(pd, &d, options, out);
    }
    free(raw);
    return st;
}
