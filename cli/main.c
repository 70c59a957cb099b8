/* main.c - the pgpdesk tool: global options and the command table. Each command lives in its
 * own file (cmd-*.c) and talks to the library only through pgpdesk.h. */
#include "cli.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *cli_err;

static const cli_command_t commands[] = {
    {"key", cli_cmd_key, "manage the key store: import, list, show, export, delete"},
    {"outgoing", cli_cmd_outgoing, "sign and/or encrypt a draft as PGP/MIME"},
    {"incoming", cli_cmd_incoming, "verify and decrypt a received message, store it as an article"},
    {"article", cli_cmd_article, "show a stored article"},
    {"retry", cli_cmd_retry, "re-run incoming processing on a stored article"},
    {"log", cli_cmd_log, "show the log of crypto operations (Recent Logs)"},
    {"serve", cli_cmd_serve, "run the HTTP server: the JSON API and the web UI"},
    {"user", cli_cmd_user, "manage users of the web UI and API: add, passwd, token, list, delete"},
    {"group", cli_cmd_group, "manage groups: sender address, sign/encrypt defaults, policy"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void
print_main_usage(FILE *out)
{
    fputs("Usage: pgpdesk [--db PATH] COMMAND [ARGS...]\n"
          "\n"
          "OpenPGP secure mail for helpdesk mailboxes.\n"
          "\n"
          "Options:\n"
          "  --db PATH   the database (default: $PGPDESK_DB, else ./pgpdesk.db)\n"
          "  --help      this text; 'pgpdesk COMMAND --help' explains a command\n"
          "\n"
          "Environment:\n"
          "  PGPDESK_DB               the database, when --db is not given\n"
          "  PGPDESK_MASTER_KEY_FILE  the master key sealing private keys (default: <db>.key)\n"
          "\n"
          "Commands:\n", out);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\nExample:\n  pgpdesk key import --passphrase-file pass.txt support-secret.asc\n", out);
}

/* Keeps the real standard error for the tool and sends descriptor 2 to /dev/null. */
static void
separate_stderr(void)
{
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cli_err = saved >= 0 ? fdopen(saved, "w") : NULL;
    if (!cli_err || null < 0) {
        cli_err = stderr;
        return;
    }
    setvbuf(cli_err, NULL, _IOLBF, 0);
    fcntl(saved, F_SETFD, FD_CLOEXEC);
    dup2(null, STDERR_FILENO);
    close(null);
}

int
main(int argc, char **argv)
{
    separate_stderr();
    cli_t cli = {.db_path = getenv("PGPDESK_DB"),
                 .master_key_path = getenv("PGPDESK_MASTER_KEY_FILE")};
    if (!cli.db_path || !*cli.db_path)
        cli.db_path = "pgpdesk.db";
    if (cli.master_key_path && !*cli.master_key_path)
        cli.master_key_path = NULL;

    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            cli.db_path = optarg;
            break;
        case 'h':
            print_main_usage(stdout);
            return CLI_OK;
        default:
            fprintf(cli_err, "pgpdesk: unknown option '%s'\n\n", argv[optind - 1]);
            print_main_usage(cli_err);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        print_main_usage(cli_err);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, name) != 0)
            continue;
        optind++;
        int rc = commands[i].run(&cli, argc - optind + 1, argv + optind - 1);
        pgpdesk_close(cli.pd);
        return rc;
    }
    fprintf(cli_err, "pgpdesk: unknown command '%s'\n\n", name);
    print_main_usage(cli_err);
    return CLI_USAGE;
}
