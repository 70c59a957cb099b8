/* output.c - the tool's one printer (JSON and errors), its one argument parser and subcommand
 * dispatcher, and its file helpers. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
cli_open(cli_t *cli)
{
    char *error = NULL;
    pgpdesk_status_t st = pgpdesk_open(cli->db_path, cli->master_key_path, &cli->pd, &error);
    if (st) {
        cli_error("%s", error ? error : pgpdesk_status_to_string(st));
        free(error);
        return CLI_ERROR;
    }
    return CLI_OK;
}

int
cli_fail(cli_t *cli, pgpdesk_status_t status)
{
    const char *detail = pgpdesk_errmsg(cli->pd);
    return cli_error("%s", *detail ? detail : pgpdesk_status_to_string(status));
}

int
cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pgpdesk: ", cli_err);
    vfprintf(cli_err, fmt, ap);
    fputc('\n', cli_err);
    va_end(ap);
    return CLI_ERROR;
}

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("pgpdesk: ", cli_err);
    vfprintf(cli_err, fmt, ap);
    fprintf(cli_err, "\n\n%s", usage);
    va_end(ap);
    return CLI_USAGE;
}

int
cli_help(const char *usage)
{
    fputs(usage, stdout);
    return CLI_OK;
}

void
cli_print_json(json_t *value)
{
    if (!value) {
        cli_error("out of memory");
        return;
    }
    json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(value);
}

int
cli_read_input(const char *path, size_t max, uint8_t **data, size_t *size)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_error("%s: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    uint8_t *buf = malloc(cap + 1);
    ssize_t n = 0;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t) n;
        if (len > max)
            break;
        if (len == cap) {
            uint8_t *grown = realloc(buf, cap * 2 + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    int err = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    if (!buf)
        return cli_error("out of memory");
    if (n < 0) {
        free(buf);
        return cli_error("%s: %s", path, strerror(err));
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return CLI_OK;
}

int
cli_write_file(const char *path, const void *data, size_t size, bool secret)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
    if (fd < 0)
        return cli_error("%s: %s", path, strerror(errno));
    const char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0) {
            int err = errno;
            close(fd);
            return cli_error("%s: %s", path, strerror(err));
        }
        p += n;
        size -= (size_t) n;
    }
    if (close(fd) != 0)
        return cli_error("%s: %s", path, strerror(errno));
    return CLI_OK;
}

char *
cli_read_passphrase_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    if (cli_read_input(path, 64 * 1024, &data, &size) != CLI_OK)
        return NULL;
    char *line = (char *) data;
    line[strcspn(line, "\r\n")] = '\0';
    /* Wipe what followed the first line as well. */
    size_t keep = strlen(line);
    memset(line + keep, 0, size - keep);
    return line;
}

void
cli_free_secret(char *secret)
{
    if (!secret)
        return;
    volatile char *p = secret;
    while (*p)
        *p++ = 0;
    free(secret);
}

/* getopt_long() returns an option's index in the table plus this, above every character:
 * operands come back as 1 in "-" mode, errors as '?'. */
#define OPTION_INDEX_BASE 256

int
cli_parse(int argc, char **argv, const char *usage, const cli_option_t *options,
          const char **operand, const char *operand_name)
{
    size_t count = 0;
    while (options && options[count].name)
        count++;
    const int help = OPTION_INDEX_BASE + (int) count;
    struct option table[count + 2]; /* the options, --help and the end */
    for (size_t i = 0; i < count; i++)
        table[i] = (struct option){options[i].name,
                                   options[i].value ? required_argument : no_argument, NULL,
                                   OPTION_INDEX_BASE + (int) i};
    table[count] = (struct option){"help", no_argument, NULL, help};
    table[count + 1] = (struct option){NULL, 0, NULL, 0};
    if (operand)
        *operand = NULL;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-", table, NULL)) != -1) {
        if (c == help) {
            cli_help(usage);
            return CLI_HELP;
        }
        if (c == 1) {
            if (!operand || *operand)
                return cli_usage_error(usage, "unexpected argument '%s'", optarg);
            *operand = optarg;
            continue;
        }
        if (c < OPTION_INDEX_BASE)
            return cli_usage_error(usage, "unknown or incomplete option '%s'", argv[optind - 1]);
        const cli_option_t *option = &options[c - OPTION_INDEX_BASE];
        if (option->value)
            *option->value = optarg;
        else
            *option->flag = true;
    }
    if (operand && !*operand)
        return cli_usage_error(usage, "missing %s", operand_name);
    return CLI_OK;
}

int
cli_dispatch(cli_t *cli, int argc, char **argv, const char *usage,
             const cli_command_t *subcommands, size_t count)
{
    if (argc < 2)
        return cli_usage_error(usage, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
        return cli_help(usage);
    for (size_t i = 0; i < count; i++)
        if (strcmp(subcommands[i].name, argv[1]) == 0)
            return subcommands[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(usage, "unknown subcommand '%s'", argv[1]);
}

int
cli_parse_id(const char *usage, const char *text, int64_t *id)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end || value <= 0)
        return cli_usage_error(usage, "'%s' is not a positive number", text);
    *id = value;
    return CLI_OK;
}

static const char *
layer_status(const json_t *security, const char *layer)
{
    const char *s = json_string_value(json_object_get(json_object_get(security, layer), "status"));
    return s ? s : "none";
}

void
cli_print_article(const pgpdesk_article_t *a, bool json)
{
    if (json) {
        cli_print_json(pgpdesk_article_to_json(a));
        return;
    }
    printf("article %lld (%s)\n", (long long) a->id, a->direction);
    printf("  from:       %s\n", a->from ? a->from : "");
    printf("  to:         %s\n", a->to ? a->to : "");
    printf("  subject:    %s\n", a->subject ? a->subject : "");
    printf("  sign:       %s\n", layer_status(a->security, "sign"));
    printf("  encryption: %s\n", layer_status(a->security, "encryption"));
    const char *error = json_string_value(json_object_get(a->security, "error"));
    if (error)
        printf("  error:      %s\n", error);
}
