/* cmd-group.c - `pgpdesk group`: the helpdesk groups (mailboxes), each with its sender address,
 * its sign/encrypt defaults for new drafts and its policy. */
#include "cli.h"

#include <getopt.h>
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

typedef struct group_args {
    const char *name, *email, *sign_default, *encrypt_default, *policy;
    bool json;
    const char *operand;
} group_args_t;

enum { OPT_NAME = 0x100, OPT_EMAIL, OPT_SIGN_DEFAULT, OPT_ENCRYPT_DEFAULT, OPT_POLICY, OPT_JSON,
       OPT_HELP };

/* Parses the options a subcommand accepts (zero-terminated list); the one operand (NAME or ID)
 * is required when operand_required. Returns CLI_OK, CLI_USAGE after a usage error, or -1
 * after printing help. */
static int
parse_args(int argc, char **argv, const char *usage, const int *accepted, bool operand_required,
           group_args_t *args)
{
    static const struct option options[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"email", required_argument, NULL, OPT_EMAIL},
        {"sign-default", required_argument, NULL, OPT_SIGN_DEFAULT},
        {"encrypt-default", required_argument, NULL, OPT_ENCRYPT_DEFAULT},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(args, 0, sizeof *args);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "-", options, NULL)) != -1) {
        if (c == OPT_HELP)
            return cli_help(usage) - 1;
        if (c == 1) {
            if (args->operand || !operand_required)
                return cli_usage_error(usage, "unexpected argument '%s'", optarg);
            args->operand = optarg;
            continue;
        }
        bool known = false;
        for (const int *a = accepted; *a; a++)
            known = known || *a == c;
        if (!known)
            return cli_usage_error(usage, "unknown or incomplete option '%s'", argv[optind - 1]);
        switch (c) {
        case OPT_NAME: args->name = optarg; break;
        case OPT_EMAIL: args->email = optarg; break;
        case OPT_SIGN_DEFAULT: args->sign_default = optarg; break;
        case OPT_ENCRYPT_DEFAULT: args->encrypt_default = optarg; break;
        case OPT_POLICY: args->policy = optarg; break;
        case OPT_JSON: args->json = true; break;
        }
    }
    if (operand_required && !args->operand)
        return cli_usage_error(usage, "missing argument");
    return CLI_OK;
}

#define PARSE_OR_RETURN(...)                                                                \
    do {                                                                                    \
        int parsed_ = parse_args(__VA_ARGS__);                                              \
        if (parsed_)                                                                        \
            return parsed_ < 0 ? CLI_OK : parsed_;                                          \
    } while (0)

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
apply_options(const char *usage, const group_args_t *args, pgpdesk_group_t *group)
{
    if (args->name)
        group->name = (char *) args->name;
    if (args->email)
        group->email = *args->email ? (char *) args->email : NULL;
    if (args->sign_default && !parse_default(args->sign_default, &group->sign_default))
        return cli_usage_error(usage, "--sign-default is on, off or unset");
    if (args->encrypt_default && !parse_default(args->encrypt_default, &group->encrypt_default))
        return cli_usage_error(usage, "--encrypt-default is on, off or unset");
    if (args->policy && !pgpdesk_policy_from_string(args->policy, &group->policy))
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
    group_args_t args;
    PARSE_OR_RETURN(argc, argv, add_usage,
                    (const int[]){OPT_EMAIL, OPT_SIGN_DEFAULT, OPT_ENCRYPT_DEFAULT, OPT_POLICY,
                                  OPT_JSON, 0},
                    true, &args);
    pgpdesk_group_t group = {.name = (char *) args.operand,
                             .sign_default = PGPDESK_DEFAULT_UNSET,
                             .encrypt_default = PGPDESK_DEFAULT_UNSET,
                             .policy = PGPDESK_POLICY_OPTIONAL};
    int rc = apply_options(add_usage, &args, &group);
    if (rc || (rc = cli_open(cli)))
        return rc;
    int64_t id = 0;
    pgpdesk_status_t st = pgpdesk_group_create(cli->pd, &group, &id);
    if (st)
        return cli_fail(cli, st);
    return show_group(cli, id, args.json);
}

static int
group_list(cli_t *cli, int argc, char **argv)
{
    group_args_t args;
    PARSE_OR_RETURN(argc, argv, list_usage, (const int[]){OPT_JSON, 0}, false, &args);
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_group_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_group_list(cli->pd, &list);
    if (st)
        return cli_fail(cli, st);
    if (args.json) {
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
    group_args_t args;
    PARSE_OR_RETURN(argc, argv, set_usage,
                    (const int[]){OPT_NAME, OPT_EMAIL, OPT_SIGN_DEFAULT, OPT_ENCRYPT_DEFAULT,
                                  OPT_POLICY, OPT_JSON, 0},
                    true, &args);
    int64_t id;
    int rc = cli_parse_id(set_usage, args.operand, &id);
    if (rc || (rc = cli_open(cli)))
        return rc;
    pgpdesk_group_t *stored = NULL;
    pgpdesk_status_t st = pgpdesk_group_get(cli->pd, id, &stored);
    if (st)
        return cli_fail(cli, st);
    pgpdesk_group_t changed = *stored; /* its strings stay owned by stored */
    rc = apply_options(set_usage, &args, &changed);
    if (rc == CLI_OK && (st = pgpdesk_group_update(cli->pd, &changed)))
        rc = cli_fail(cli, st);
    pgpdesk_group_destroy(stored);
    return rc ? rc : show_group(cli, id, args.json);
}

static int
group_delete(cli_t *cli, int argc, char **argv)
{
    group_args_t args;
    PARSE_OR_RETURN(argc, argv, delete_usage, (const int[]){0}, true, &args);
    int64_t id;
    int rc = cli_parse_id(delete_usage, args.operand, &id);
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
    if (argc < 2)
        return cli_usage_error(group_usage, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
        return cli_help(group_usage);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(subcommands[i].name, argv[1]) == 0)
            return subcommands[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(group_usage, "unknown subcommand '%s'", argv[1]);
}
