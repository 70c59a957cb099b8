/* cmd-incoming.c - `pgpdesk incoming`: store a received message as an article, verifying and
 * decrypting it, and print the article's id and security result. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    const char *input = NULL;
    bool json = false;
    const cli_option_t options[] = {{"input", .value = &input}, {"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, usage, options, NULL, NULL));
    int rc;
    pgpdesk_article_t *article = NULL;
    pgpdesk_status_t st;
    if (input && strcmp(input, "-") != 0) {
        /* A file is streamed: a large message is never read whole into memory. */
        int fd = open(input, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return cli_error("%s: %s", input, strerror(errno));
        if ((rc = cli_open(cli))) {
            close(fd);
            return rc;
        }
        st = pgpdesk_incoming_process_file(cli->pd, fd, &article);
        close(fd);
    } else {
        uint8_t *raw = NULL;
        size_t size = 0;
        if ((rc = cli_read_input("-", SIZE_MAX / 2, &raw, &size)) || (rc = cli_open(cli))) {
            free(raw);
            return rc;
        }
        st = pgpdesk_incoming_process(cli->pd, raw, size, &article);
        free(raw);
    }
    if (st)
        return cli_fail(cli, st);
    cli_print_article(article, json);
    pgpdesk_article_destroy(article);
    return CLI_OK;
}
