/* cmd-article.c - `pgpdesk article show`: one stored article, as a summary, JSON, the raw
 * message or the processed (decrypted/unwrapped) MIME. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "Usage: pgpdesk article show ID [--json | --raw | --mime]\n"
    "\n"
    "Shows a stored article: its headers and security result, or with --raw the message\n"
    "exactly as received or sent, or with --mime the processed view (decrypted, unwrapped).\n"
    "\n"
    "Example:\n"
    "  pgpdesk article show 12 --json\n";

int
cli_cmd_article(cli_t *cli, int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0))
        return cli_help(usage);
    if (argc < 2 || strcmp(argv[1], "show") != 0)
        return cli_usage_error(usage, argc < 2 ? "missing subcommand" : "unknown subcommand '%s'",
                               argv[argc < 2 ? 0 : 1]);
    cli_options_t opts;
    int rc = cli_parse_options(argc - 1, argv + 1, usage, "jrm", &opts);
    if (rc)
        return rc < 0 ? CLI_OK : rc;
    int64_t id = 0;
    if ((rc = cli_parse_id(usage, opts.operand, &id)))
        return rc;
    if (opts.json + opts.raw + opts.mime > 1)
        return cli_usage_error(usage, "--json, --raw and --mime exclude each other");
    if ((rc = cli_open(cli)))
        return rc;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_article_get(cli->pd, id, &article);
    if (st)
        return cli_fail(cli, st);
    if (opts.raw)
        fwrite(article->raw, 1, article->raw_size, stdout);
    else if (opts.mime && article->mime)
        fwrite(article->mime, 1, article->mime_size, stdout);
    else if (opts.mime)
        fwrite(article->raw, 1, article->raw_size, stdout);
    else
        cli_print_article(article, opts.json);
    pgpdesk_article_destroy(article);
    return CLI_OK;
}
