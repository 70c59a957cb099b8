/* cmd-outgoing.c - `pgpdesk outgoing`: sign and/or encrypt a draft as PGP/MIME, store every
 * copy as an outgoing article, and write the messages to deliver. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "Usage: pgpdesk outgoing [--sign] [--encrypt] [--no-protected-headers] [--input FILE]\n"
    "                        [--output FILE | --output-dir DIR] [--json]\n"
    "\n"
    "Reads a draft (RFC 5322 with MIME; standard input unless --input) and writes the message\n"
    "to deliver (standard output unless --output). --sign signs it with the From address's\n"
    "private key, --encrypt encrypts it to the key of every To and Cc address and the sender's\n"
    "own (PGP/MIME, RFC 3156). Subject, From, To, Cc, Date, Message-ID and Reply-To also travel\n"
    "inside the signed or encrypted part (RFC 9788); outside, an encrypted message's Subject is\n"
    "\"...\". Without --sign and --encrypt the draft goes out as it is.\n"
    "\n"
    "Bcc is never written into a message: each Bcc address gets a copy of its own, so a draft\n"
    "with Bcc makes several messages and needs --output-dir (DIR/1.eml is the To/Cc copy, then\n"
    "one file per Bcc address). Every message is stored as an outgoing article. When a key is\n"
    "missing, expired or revoked, nothing is written or stored and the error names the address.\n"
    "\n"
    "  --sign                  sign with the From address's key\n"
    "  --encrypt               encrypt to every recipient's key (and the sender's)\n"
    "  --no-protected-headers  no headers inside; the Subject stays readable outside\n"
    "  --input FILE            the draft (default: standard input)\n"
    "  --output FILE           write the message to FILE (one copy only)\n"
    "  --output-dir DIR        write each copy to DIR/<n>.eml, n from 1\n"
    "  --json                  print {\"copies\": [{\"recipients\", \"article_id\", \"file\"}]}\n"
    "                          instead of the message (\"file\" is null when none was written)\n"
    "\n"
    "Example:\n"
    "  pgpdesk outgoing --sign --encrypt --input draft.eml --output signed-encrypted.eml\n";

/* Where the messages go: --output FILE, --output-dir DIR, or standard output; with --json
 * nothing is printed but the JSON. */
typedef struct destination {
    const char *output, *output_dir;
    bool json;
} destination_t;

/* Does the draft's header section have a Bcc field holding an address? Such a draft makes a
 * message per Bcc address, which must not be written all to one place. */
static bool
has_bcc_address(const uint8_t *draft, size_t size)
{
    bool in_bcc = false;
    for (size_t pos = 0; pos < size;) {
        const uint8_t *line = draft + pos, *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t) (nl - line) + 1 : size - pos;
        if (line[0] == '\n' || (len == 2 && line[0] == '\r'))
            break;
        if (line[0] != ' ' && line[0] != '\t') {
            size_t name = 0;
            while (name < len && line[name] != ':' && line[name] != ' ' && line[name] != '\t')
                name++;
            in_bcc = name == 3 && strncasecmp((const char *) line, "bcc", 3) == 0;
        }
        if (in_bcc && memchr(line, '@', len))
            return true;
        pos += len;
    }
    return false;
}

static bool
is_directory(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Writes one copy to out: from memory, or (a large draft) from the copy's file. */
static bool
put_copy(const pgpdesk_outgoing_copy_t *copy, FILE *out)
{
    if (copy->message)
        return fwrite(copy->message, 1, copy->size, out) == copy->size;
    char buf[65536];
    size_t n;
    if (fseek(copy->file, 0, SEEK_SET) != 0)
        return false;
    while ((n = fread(buf, 1, sizeof buf, copy->file)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            return false;
    return !ferror(copy->file);
}

/* Writes each copy where it was asked for; file_names gets the file of each (NULL if none).
 * Returns CLI_ERROR after printing why when a copy could not be written. */
static int
write_copies(const destination_t *to, const pgpdesk_outgoing_result_t *result, char **file_names)
{
    /* has_bcc_address() should have caught this; never write several messages to one place. */
    if (result->count > 1 && !to->output_dir && (to->output || !to->json))
        return cli_error("the draft made %zu messages (stored as articles %lld to %lld) and "
                         "needs --output-dir DIR", result->count,
                         (long long) result->copies[0].article_id,
                         (long long) result->copies[result->count - 1].article_id);
    for (size_t i = 0; i < result->count; i++) {
        const pgpdesk_outgoing_copy_t *copy = &result->copies[i];
        char *path = NULL;
        if (to->output_dir && asprintf(&path, "%s/%zu.eml", to->output_dir, i + 1) < 0)
            return cli_error("out of memory");
        if (to->output && !(path = strdup(to->output)))
            return cli_error("out of memory");
        if (!path) {
            if (!to->json)
                put_copy(copy, stdout);
            continue;
        }
        file_names[i] = path;
        FILE *out = fopen(path, "wb");
        bool ok = out && put_copy(copy, out);
        if (!out || fclose(out) != 0 || !ok)
            return cli_error("%s: %s", path, strerror(errno));
        if (to->output_dir && !to->json)
            fprintf(stderr, "pgpdesk: wrote %s\n", path);
    }
    return CLI_OK;
}

static void
print_json(const pgpdesk_outgoing_result_t *result, char **file_names)
{
    json_t *copies = json_array();
    for (size_t i = 0; i < result->count; i++) {
        const pgpdesk_outgoing_copy_t *copy = &result->copies[i];
        json_t *recipients = json_array();
        for (size_t j = 0; j < copy->recipient_count; j++)
            json_array_append_new(recipients, json_string(copy->recipients[j]));
        json_array_append_new(copies,
                              json_pack("{s:o, s:I, s:o}", "recipients", recipients, "article_id",
                                        (json_int_t) copy->article_id, "file",
                                        file_names[i] ? json_string(file_names[i]) : json_null()));
    }
    cli_print_json(json_pack("{s:o}", "copies", copies));
}

int
cli_cmd_outgoing(cli_t *cli, int argc, char **argv)
{
    pgpdesk_outgoing_options_t options = {0};
    bool no_protected_headers = false;
    const char *input = NULL;
    destination_t to = {0};
    const cli_option_t table[] = {
        {"sign", .flag = &options.sign},
        {"encrypt", .flag = &options.encrypt},
        {"no-protected-headers", .flag = &no_protected_headers},
        {"input", .value = &input},
        {"output", .value = &to.output},
        {"output-dir", .value = &to.output_dir},
        {"json", .flag = &to.json},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, table, NULL, NULL));
    if (to.output && to.output_dir)
        return cli_usage_error(usage, "--output and --output-dir exclude each other");
    options.protected_headers = !no_protected_headers;
    /* Checked before the database is opened (and maybe created) for nothing. */
    if (input && access(input, R_OK) != 0)
        return cli_error("%s: %s", input, strerror(errno));
    if (to.output_dir && !is_directory(to.output_dir))
        return cli_error("%s: not a directory", to.output_dir);
    int rc = cli_open(cli);
    if (rc)
        return rc;
    pgpdesk_limits_t limits;
    pgpdesk_get_limits(cli->pd, &limits);
    uint8_t *draft = NULL;
    size_t size = 0;
    /* A file is streamed (a large draft is never read whole into memory); what is read here
     * is its start, for the Bcc check. One byte over the limit is enough for the library to
     * refuse standard input as too large. */
    int fd = input && strcmp(input, "-") != 0 ? open(input, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        enum { HEAD = 1 << 20 };
        if (!(draft = malloc(HEAD)))
            rc = cli_error("out of memory");
        ssize_t n = draft ? pread(fd, draft, HEAD, 0) : 0;
        size = n > 0 ? (size_t) n : 0;
    } else {
        rc = cli_read_input(input ? input : "-", limits.max_message_size, &draft, &size);
    }
    /* Checked before anything is stored: the copies would have nowhere to go. */
    if (!rc && !to.output_dir && (to.output || !to.json) && has_bcc_address(draft, size))
        rc = cli_usage_error(usage, "the draft has Bcc addresses, so it makes one message for "
                                    "each of them: give --output-dir DIR");
    pgpdesk_outgoing_result_t *result = NULL;
    pgpdesk_status_t st = PGPDESK_STATUS_SUCCESS;
    if (!rc)
        st = fd >= 0 ? pgpdesk_outgoing_process_file(cli->pd, fd, &options, &result)
                     : pgpdesk_outgoing_process(cli->pd, draft, size, &options, &result);
    free(draft);
    if (fd >= 0)
        close(fd);
    if (rc)
        return rc;
    if (st)
        return cli_fail(cli, st);
    char **file_names = calloc(result->count, sizeof *file_names);
    rc = file_names ? write_copies(&to, result, file_names) : cli_error("out of memory");
    if (rc == CLI_OK && to.json)
        print_json(result, file_names);
    for (size_t i = 0; file_names && i < result->count; i++)
        free(file_names[i]);
    free(file_names);
    pgpdesk_outgoing_result_destroy(result);
    return rc;
}
