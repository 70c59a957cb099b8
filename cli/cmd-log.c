/* cmd-log.c - `pgpdesk log`: the log of crypto operations (Zammad's "Recent Logs"). */
#include "cli.h"

#include <stdlib.h>

static const char usage[] =
    "Usage: pgpdesk log [--limit N] [--json]\n"
    "\n"
    "Shows the newest N (default 50) sign/encryption operations, in and out, newest first.\n"
    "Entries older than the retention (30 days) are purged.\n"
    "\n"
    "Example:\n"
    "  pgpdesk log --limit 10 --json\n";

int
cli_cmd_log(cli_t *cli, int argc, char **argv)
{
    const char *limit_text = NULL;
    bool json = false;
    const cli_option_t options[] = {
        {"limit", .value = &limit_text},
        {"json", .flag = &json},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, options, NULL, NULL));
    int64_t limit = 50;
    int rc;
    if (limit_text && (rc = cli_parse_id(usage, limit_text, &limit)))
        return rc;
    if ((rc = cli_open(cli)))
        return rc;
    pgpdesk_log_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_log_list(cli->pd, (size_t) limit, &list);
    if (st)
        return cli_fail(cli, st);
    json_t *array = json ? json_array() : NULL;
    for (size_t i = 0; i < list->count; i++) {
        const pgpdesk_log_entry_t *e = &list->entries[i];
        if (array) {
            json_array_append_new(array, pgpdesk_log_entry_to_json(e));
            continue;
        }
        char when[21];
        pgpdesk_format_time(e->created_at, when);
        printf("%s  %-3s  %-10s  %-7s  %s  %s\n", when, e->direction, e->method, e->status,
               e->from_to, e->message_id ? e->message_id : "");
    }
    if (array)
        cli_print_json(array);
    pgpdesk_log_list_destroy(list);
    return CLI_OK;
}
