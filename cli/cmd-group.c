/* cmd-group.c - `pgpdesk group`: the helpdesk groups (mailboxes), each with its sender address,
 * its sign/encrypt defaults for new drafts and its policy. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char add_usage[] =
    "Usage: pgpdesk group add NAME [--email ADDR] [--sign-default on|off|unset]\n"
    "                         [--encrypt-default on|off|unset] [--policy optional|required]\n"
    "                         [--json]\n"
    "\n"
    "Adds a group. ADDR is its sender address (From of what it sends; its PGP key signs).\n"
    "The defaults preselect Sign and Encrypt in a new draft when they are possible; unset\n"
    "means on. Policy required makes the server refuse drafts not both signed and encrypted.\n"
    "\n"
    "Example:\n"
    "  pgpdesk group add Support --email support@example.com --policy required\n";

static const char list_usage[] =
    "Usage: pgpdesk group list [--json]\n"
    "\n"
    "Lists the groups by name.\n"
    "\n"
    "Example:\n"
    "  pgpdesk group list --json\n";

static const char set_usage[] =
    "Usage: pgpdesk group set ID [--name NAME] [--email ADDR] [--sign-default on|off|unset]\n"
    "                         [--encrypt-default on|off|unset] [--policy optional|required]\n"
    "                         [--json]\n"
    "\n"
    "Changes what the options name and keeps the rest. --email \"\" removes the address.\n"
    "\n"
    "Example:\n"
    "  pgpdesk group set 1 --encrypt-default off\n";

static const char delete_usage[] =
    "Usage: pgpdesk group delete ID\n"
    "\n"
    "Deletes a group.\n"
    "\n"
    "Example:\n"
    "  pgpdesk group delete 1\n";

static const char group_usage[] =
    "Usage: pgpdesk group SUBCOMMAND [ARGS...]\n"
    "\n"
    "Subcommands:\n"
    "  add      add a group\n"
    "  list     list the groups\n"
    "  set      change a group\n"
    "  delete   delete a group\n"
    "\n"
    "'pgpdesk group SUBCOMMAND --help' explains each. Example:\n"
    "  pgpdesk group add Support --email support@example.com\n";

/* What add and set take besides their operand: the fields to change and --json. */
typedef struct group_options {
    const char *name, *email, *sign_default, *encrypt_default, *policy;
    bool json;
} group_options_t;

/* Parses the arguments of add or set (with_name: --name too) as cli_parse() does. */
static int
parse_group_options(int argc, char **argv, const char *usage, bool with_name,
                    group_options_t *options, const char **operand)
{
    const cli_option_t table[] = {
        {"email", .value = &options->email},
        {"sign-default", .value = &options->sign_default},
        {"encrypt-default", .value = &options->encrypt_default},
        {"policy", .value = &options->policy},
        {"json", .flag = &options->json},
        {with_name ? "name" : NULL, .value = &options->name}, /* without: the end */
        {NULL},
    };
    return cli_parse(argc, argv, usage, table, operand, "argument");
}

static bool
parse_default(const char *text, pgpdesk_default_t *value)
{
    if (strcmp(text, "on") == 0)
        *value = PGPDESK_DEFAULT_ON;
    else if (strcmp(text, "off") == 0)
        *value = PGPDESK_DEFAULT_OFF;
    else if (strcmp(text, "unset") == 0)
        *value = PGPDESK_DEFAULT_UNSET;
    else
        return false;
    return true;
}

/* Applies the options given to group; strings stay borrowed from argv. Returns CLI_OK or
 * CLI_USAGE after a usage error. */
static int
apply_options(const char *usage, const group_options_t *options, pgpdesk_group_t *group)
{
    if (options->name)
        group->name = (char *) options->name;
    if (options->email)
        group->email = *options->email ? (char *) options->email : NULL;
    if (options->sign_default && !parse_default(options->sign_default, &group->sign_default))
        return cli_usage_error(usage, "--sign-default is on, off or unset");
    if (options->encrypt_default &&
        !parse_default(options->encrypt_default, &group->encrypt_default))
        return cli_usage_error(usage, "--encrypt-default is on, off or unset");
    if (options->policy && !pgpdesk_policy_from_string(options->policy, &group->policy))
        return cli_usage_error(usage, "--policy is optional or required");
    return CLI_OK;
}

static const char *
default_name(pgpdesk_default_t value)
{
    return value == PGPDESK_DEFAULT_ON ? "on" : value == PGPDESK_DEFAULT_OFF ? "off" : "unset";
}

static void
print_group(const pgpdesk_group_t *g, bool json)
{
    if (json) {
        cli_print_json(pgpdesk_group_to_json(g));
        return;
    }
    printf("%lld  %s  %s  sign: %s  encrypt: %s  policy: %s\n", (long long) g->id, g->name,
           g->email ? g->email : "(no address)", default_name(g->sign_default),
           default_name(g->encrypt_default),
           pgpdesk_policy_to_string(g->policy));
}

/* Prints the stored group id. */
static int
show_group(cli_t *cli, int64_t id, bool json)
{
    pgpdesk_group_t *group = NULL;
    pgpdesk_status_t st = pgpdesk_group_get(cli->pd, id, &group);
    if (st)
        return cli_fail(cli, st);
    print_group(group, json);
    pgpdesk_group_destroy(group);
    return CLI_OK;
}

static int
group_add(cli_t *cli, int argc, char **argv)
{
    const char *name;
    group_options_t options = {0};
    CLI_PARSE_OR_RETURN(parse_group_options(argc, argv, add_usage, false, &options, &name));
    pgpdesk_group_t group = {.name = (char *) name,
                             .sign_default = PGPDESK_DEFAULT_UNSET,
                             .encrypt_default = PGPDESK_DEFAULT_UNSET,
                             .policy = PGPDESK_POLICY_OPTIONAL};
    int rc = apply_options(add_usage, &options, &group);
    if (rc || (rc = cli_open(cli)))
        return rc;
    int64_t id = 0;
    pgpdesk_status_t st = pgpdesk_group_create(cli->pd, &group, &id);
    if (st)
        return cli_fail(cli, st);
    return show_group(cli, id, options.json);
}

static int
group_list(cli_t *cli, int argc, char **argv)
{
    bool json = false;
    const cli_option_t options[] = {{"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, list_usage, options, NULL, NULL));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_group_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_group_list(cli->pd, &list);
    if (st)
        return cli_fail(cli, st);
    if (json) {
        json_t *groups = json_array();
        for (size_t i = 0; i < list->count; i++)
            json_array_append_new(groups, pgpdesk_group_to_json(&list->groups[i]));
        cli_print_json(groups);
    } else {
        for (size_t i = 0; i < list->count; i++)
            print_group(&list->groups[i], false);
        if (list->count == 0)
            fputs("No groups.\n", cli_err);
    }
    pgpdesk_group_list_destroy(list);
    return CLI_OK;
}

static int
group_set(cli_t *cli, int argc, char **argv)
{
    const char *id_text;
    group_options_t options = {0};
    CLI_PARSE_OR_RETURN(parse_group_options(argc, argv, set_usage, true, &options, &id_text));
    int64_t id;
    int rc = cli_parse_id(set_usage, id_text, &id);
    if (rc || (rc = cli_open(cli)))
        return rc;
    pgpdesk_group_t *stored = NULL;
    pgpdesk_status_t st = pgpdesk_group_get(cli->pd, id, &stored);
    if (st)
        return cli_fail(cli, st);
    pgpdesk_group_t changed = *stored; /* its strings stay owned by stored */
    rc = apply_options(set_usage, &options, &changed);
    if (rc == CLI_OK && (st = pgpdesk_group_update(cli->pd, &changed)))
        rc = cli_fail(cli, st);
    pgpdesk_group_destroy(stored);
    return rc ? rc : show_group(cli, id, options.json);
}

static int
group_delete(cli_t *cli, int argc, char **argv)
{
    const char *id_text;
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, delete_usage, NULL, &id_text, "argument"));
    int64_t id;
    int rc = cli_parse_id(delete_usage, id_text, &id);
    if (rc || (rc = cli_open(cli)))
        return rc;
    pgpdesk_status_t st = pgpdesk_group_delete(cli->pd, id);
    if (st)
        return cli_fail(cli, st);
    printf("deleted group %lld\n", (long long) id);
    return CLI_OK;
}

static const cli_command_t subcommands[] = {
    {"add", group_add, NULL},
    {"list", group_list, NULL},
    {"set", group_set, NULL},
    {"delete", group_delete, NULL},
};

int
cli_cmd_group(cli_t *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, group_usage, subcommands,
                        sizeof subcommands / sizeof subcommands[0]);
}
