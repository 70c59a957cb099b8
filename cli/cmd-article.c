/* cmd-article.c - `pgpdesk article show`: one stored article, as a summary, JSON, the raw
 * message or the processed (decrypted/unwrapped) MIME. */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "Usage: pgpdesk article show ID [--json | --raw | --mime]\n"
    "\n"
    "Shows a stored article: its headers and security result, or with --raw the message\n"
    "exactly as received or sent, or with --mime the processed view (decrypted, unwrapped).\n"
    "\n"
    "Example:\n"
    "  pgpdesk article show 12 --json\n";

static int
article_show(cli_t *cli, int argc, char **argv)
{
    const char *id_text;
    bool json = false, raw = false, mime = false;
    const cli_option_t options[] = {
        {"json", .flag = &json},
        {"raw", .flag = &raw},
        {"mime", .flag = &mime},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, options, &id_text, "argument"));
    int64_t id = 0;
    int rc;
    if ((rc = cli_parse_id(usage, id_text, &id)))
        return rc;
    if (json + raw + mime > 1)
        return cli_usage_error(usage, "--json, --raw and --mime exclude each other");
    if ((rc = cli_open(cli)))
        return rc;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_article_get(cli->pd, id, &article);
    if (st)
        return cli_fail(cli, st);
    if (raw)
        fwrite(article->raw, 1, article->raw_size, stdout);
    else if (mime && article->mime)
        fwrite(article->mime, 1, article->mime_size, stdout);
    else if (mime)
        fwrite(article->raw, 1, article->raw_size, stdout);
    else
        cli_print_article(article, json);
    pgpdesk_article_destroy(article);
    return CLI_OK;
}

static const cli_command_t subcommands[] = {{"show", article_show, NULL}};

int
cli_cmd_article(cli_t *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, usage, subcommands,
                        sizeof subcommands / sizeof subcommands[0]);
}
