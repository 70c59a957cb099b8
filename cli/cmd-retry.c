/* cmd-retry.c - `pgpdesk retry`: re-run incoming processing on a stored article, e.g. after
 * the missing key was imported. */
#include "cli.h"

static const char usage[] =
    "Usage: pgpdesk retry ID [--json]\n"
    "\n"
    "Processes the stored raw message of incoming article ID again and updates the article\n"
    "when the result improved (a failed layer now succeeds, none got worse).\n"
    "\n"
    "Example:\n"
    "  pgpdesk key import customer.asc && pgpdesk retry 12\n";

int
cli_cmd_retry(cli_t *cli, int argc, char **argv)
{
    const char *id_text;
    bool json = false;
    const cli_option_t options[] = {{"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, options, &id_text, "argument"));
    int64_t id = 0;
    int rc;
    if ((rc = cli_parse_id(usage, id_text, &id)) || (rc = cli_open(cli)))
        return rc;
    bool improved = false;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st = pgpdesk_article_retry(cli->pd, id, &improved, &article);
    if (st)
        return cli_fail(cli, st);
    if (json) {
        json_t *obj = pgpdesk_article_to_json(article);
        json_object_set_new(obj, "improved", json_boolean(improved));
        cli_print_json(obj);
    } else {
        printf("%s\n", improved ? "improved" : "unchanged");
        cli_print_article(article, false);
    }
    pgpdesk_article_destroy(article);
    return CLI_OK;
}
