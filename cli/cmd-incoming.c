/* cmd-incoming.c - `pgpdesk incoming`: store a received message as an article, verifying and
 * decrypting it, and print the article's id and security result. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static const char usage[] =
    "Usage: pgpdesk incoming [--input FILE] [--json]\n"
    "\n"
    "Reads a raw RFC 5322 message (standard input unless --input), stores it as an incoming\n"
    "article before anything else, then verifies and decrypts it. Prints the article id and\n"
    "its security result; a message that fails any check is still stored, with the failure in\n"
    "its result.\n"
    "\n"
    "Example:\n"
    "  pgpdesk incoming --input received.eml --json\n";

int
cli_cmd_incoming(cli_t *cli, int argc, char **argv)
{
    cli_options_t opts;
    int rc = cli_parse_options(argc, argv, usage, "ij", &opts);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    if (opts.operand)
        return cli_usage_error(usage, "unexpected argument '%s'", opts.operand);
    uint8_t *raw = NULL;
    size_t size = 0;
    if ((rc = cli_read_input(opts.input ? opts.input : "-", SIZE_MAX / 2, &raw, &size)) ||
        (rc = cli_open(cli))) {
        free(raw);
        return rc;
    }
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_incoming_process(cli->pd, raw, size, &article);
    free(raw);
    if (st)
        return cli_fail(cli, st);
    cli_print_article(article, opts.json);
    pgpdesk_article_destroy(article);
    return CLI_OK;
}
