/* cli.h - what the command files of the pgpdesk tool share: the context, the command table
 * entry, and the one output printer. */
#ifndef PGPDESK_CLI_H
#define PGPDESK_CLI_H

#include "pgpdesk.h"

#include <stdio.h>

#define CLI_OK 0
#define CLI_ERROR 1
#define CLI_USAGE 2

/* Where the tool's own messages go: the original standard error. File descriptor 2 itself is
 * pointed at /dev/null, because librnp prints diagnostics straight to stderr and the library
 * must never write to the user's terminal. */
extern FILE *cli_err;

typedef struct cli {
    const char *db_path;
    const char *master_key_path; /* NULL: <db>.key */
    pgpdesk_t *pd;               /* opened by cli_open() */
} cli_t;

typedef struct cli_command {
    const char *name;
    int (*run)(cli_t *cli, int argc, char **argv);
    const char *summary;
} cli_command_t;

/* Opens the database named by the context; on failure prints why and returns CLI_ERROR. */
int cli_open(cli_t *cli);

/* Prints "pgpdesk: <detail>" for a failed library call and returns CLI_ERROR. */
int cli_fail(cli_t *cli, pgpdesk_status_t status);

/* Prints "pgpdesk: <message>" and returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage error and the usage text to stderr; returns CLI_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints help (usage text) to stdout; returns CLI_OK. */
int cli_help(const char *usage);

/* Prints value as indented JSON on stdout and releases it. */
void cli_print_json(json_t *value);

/* Reads a whole file, or standard input for "-", refusing more than max bytes.
 * data: malloc'd, NUL-terminated; the caller frees it. Prints the error itself. */
int cli_read_input(const char *path, size_t max, uint8_t **data, size_t *size);

/* Writes data to path (mode 0600 when secret). Prints the error itself. */
int cli_write_file(const char *path, const void *data, size_t size, bool secret);

/* The first line of a passphrase file, in memory the caller wipes and frees with
 * cli_free_secret(). NULL on error (printed). */
char *cli_read_passphrase_file(const char *path);
void cli_free_secret(char *secret);

/* One option of a command: a flag, or an option with a value (--name VALUE or --name=VALUE).
 * Exactly one of value and flag is set. An option not given leaves its variable alone, so
 * that holds the default. */
typedef struct cli_option {
    const char *name;   /* the long name, without "--" */
    const char **value; /* where an option with a value stores it (the last one given wins) */
    bool *flag;         /* where a flag stores true */
} cli_option_t;

/* What cli_parse() returns after printing help: the command exits 0. */
#define CLI_HELP (-1)

/* Parses a command's arguments (argv[0] is the command) by options, ended by {NULL} (NULL:
 * none but --help, which every command knows). operand: where the command's one operand
 * goes, which is then required (missing: the usage error "missing <operand_name>"); NULL for
 * a command that takes none. Returns CLI_OK to go on, CLI_USAGE after printing a usage error,
 * or CLI_HELP after printing usage to stdout. */
int cli_parse(int argc, char **argv, const char *usage, const cli_option_t *options,
              const char **operand, const char *operand_name);

/* Evaluates parse, a call of cli_parse() (or of a wrapper of it), and returns from the calling
 * command unless it is to go on. */
#define CLI_PARSE_OR_RETURN(parse)                                                          \
    do {                                                                                    \
        int parsed_ = (parse);                                                              \
        if (parsed_ != CLI_OK)                                                              \
            return parsed_ == CLI_HELP ? CLI_OK : parsed_;                                  \
    } while (0)

/* Runs the subcommand named by argv[1] (one of count), giving it argv[1..]. A missing or
 * unknown subcommand is a usage error; --help and help print usage. */
int cli_dispatch(cli_t *cli, int argc, char **argv, const char *usage,
                 const cli_command_t *subcommands, size_t count);

/* Parses a positive decimal id; prints a usage error and returns CLI_USAGE otherwise. */
int cli_parse_id(const char *usage, const char *text, int64_t *id);

/* Prints an article: JSON, or a short human summary. */
void cli_print_article(const pgpdesk_article_t *article, bool json);

/* The commands, one file each. */
int cli_cmd_key(cli_t *cli, int argc, char **argv);
int cli_cmd_outgoing(cli_t *cli, int argc, char **argv);
int cli_cmd_incoming(cli_t *cli, int argc, char **argv);
int cli_cmd_article(cli_t *cli, int argc, char **argv);
int cli_cmd_retry(cli_t *cli, int argc, char **argv);
int cli_cmd_log(cli_t *cli, int argc, char **argv);
int cli_cmd_serve(cli_t *cli, int argc, char **argv);
int cli_cmd_user(cli_t *cli, int argc, char **argv);
int cli_cmd_group(cli_t *cli, int argc, char **argv);

/* A new random password for a user (20 characters, about 117 bits; in cmd-user.c). The caller
 * wipes and frees it with cli_free_secret(); NULL when out of memory. */
char *cli_random_password(void);

#endif
