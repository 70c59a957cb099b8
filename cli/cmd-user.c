/* cmd-user.c - `pgpdesk user`: the users of the web UI and API (admins and agents), their
 * passwords and API tokens. Also the tool's one maker of random passwords. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char add_usage[] =
    "Usage: pgpdesk user add LOGIN [--role admin|agent] [--password-file FILE]\n"
    "\n"
    "Adds a user (role agent unless --role admin). The password is the first line of FILE\n"
    "(at least 8 characters), or else a random one printed this once.\n"
    "\n"
    "Example:\n"
    "  pgpdesk user add alice --role agent\n";

static const char passwd_usage[] =
    "Usage: pgpdesk user passwd LOGIN [--password-file FILE]\n"
    "\n"
    "Sets a user's password: the first line of FILE, or else a random one printed this once.\n"
    "\n"
    "Example:\n"
    "  pgpdesk user passwd alice --password-file alice-password.txt\n";

static const char token_usage[] =
    "Usage: pgpdesk user token LOGIN\n"
    "\n"
    "Makes an API token for the user and prints it, this once (only its hash is stored).\n"
    "Integrations send it as \"Authorization: Bearer TOKEN\".\n"
    "\n"
    "Example:\n"
    "  pgpdesk user token zammad-bridge > token.txt\n";

static const char list_usage[] =
    "Usage: pgpdesk user list [--json]\n"
    "\n"
    "Lists the users with their role.\n"
    "\n"
    "Example:\n"
    "  pgpdesk user list --json\n";

static const char delete_usage[] =
    "Usage: pgpdesk user delete LOGIN\n"
    "\n"
    "Deletes a user, with their sessions and API tokens.\n"
    "\n"
    "Example:\n"
    "  pgpdesk user delete alice\n";

static const char user_usage[] =
    "Usage: pgpdesk user SUBCOMMAND [ARGS...]\n"
    "\n"
    "Subcommands:\n"
    "  add      add a user (admin or agent)\n"
    "  passwd   set a user's password\n"
    "  token    make an API token\n"
    "  list     list the users\n"
    "  delete   delete a user\n"
    "\n"
    "'pgpdesk user SUBCOMMAND --help' explains each. Example:\n"
    "  pgpdesk user add alice --role admin\n";

#define PASSWORD_LENGTH 20

char *
cli_random_password(void)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const size_t n = sizeof alphabet - 1;
    char *password = malloc(PASSWORD_LENGTH + 1);
    size_t length = 0;
    while (password && length < PASSWORD_LENGTH) {
        unsigned char bytes[64];
        if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes)
            continue; /* interrupted: the kernel's pool never runs dry once seeded */
        /* Bytes past the last whole multiple of n are dropped, so every character is equally
         * likely. */
        for (size_t i = 0; i < sizeof bytes && length < PASSWORD_LENGTH; i++)
            if (bytes[i] < 256 / n * n)
                password[length++] = alphabet[bytes[i] % n];
        explicit_bzero(bytes, sizeof bytes);
    }
    if (password)
        password[length] = '\0';
    return password;
}

typedef struct user_args {
    const char *role, *password_file;
    bool json;
    const char *operand;
} user_args_t;

enum { OPT_ROLE = 0x100, OPT_PASSWORD_FILE, OPT_JSON, OPT_HELP };

/* Parses the options a subcommand accepts (zero-terminated list); the one operand (LOGIN) is
 * required when operand_required. Returns CLI_OK, CLI_USAGE after a usage error, or -1 after
 * printing help. */
static int
parse_args(int argc, char **argv, const char *usage, const int *accepted, bool operand_required,
           user_args_t *args)
{
    static const struct option options[] = {
        {"role", required_argument, NULL, OPT_ROLE},
        {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
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
        case OPT_ROLE: args->role = optarg; break;
        case OPT_PASSWORD_FILE: args->password_file = optarg; break;
        case OPT_JSON: args->json = true; break;
        }
    }
    if (operand_required && !args->operand)
        return cli_usage_error(usage, "missing LOGIN");
    return CLI_OK;
}

#define PARSE_OR_RETURN(...)                                                                \
    do {                                                                                    \
        int parsed_ = parse_args(__VA_ARGS__);                                              \
        if (parsed_)                                                                        \
            return parsed_ < 0 ? CLI_OK : parsed_;                                          \
    } while (0)

/* The password from --password-file, or a new random one (printed: *generated is set).
 * Returns NULL after printing an error; the caller frees with cli_free_secret(). */
static char *
password_from(const user_args_t *args, bool *generated)
{
    *generated = !args->password_file;
    if (args->password_file)
        return cli_read_passphrase_file(args->password_file);
    char *password = cli_random_password();
    if (!password)
        cli_error("out of memory");
    return password;
}

static const char *
role_name(pgpdesk_role_t role)
{
    return role == PGPDESK_ROLE_ADMIN ? "admin" : "agent";
}

static int
user_add(cli_t *cli, int argc, char **argv)
{
    user_args_t args;
    PARSE_OR_RETURN(argc, argv, add_usage, (const int[]){OPT_ROLE, OPT_PASSWORD_FILE, 0}, true,
                    &args);
    pgpdesk_role_t role = PGPDESK_ROLE_AGENT;
    if (args.role && strcmp(args.role, "admin") == 0)
        role = PGPDESK_ROLE_ADMIN;
    else if (args.role && strcmp(args.role, "agent") != 0)
        return cli_usage_error(add_usage, "--role is admin or agent, not '%s'", args.role);
    bool generated;
    char *password = password_from(&args, &generated);
    if (!password)
        return CLI_ERROR;
    int rc = cli_open(cli);
    if (rc == CLI_OK) {
        pgpdesk_status_t st = pgpdesk_user_create(cli->pd, args.operand, password, role, NULL);
        if (st) {
            rc = cli_fail(cli, st);
        } else {
            printf("added %s (%s)\n", args.operand, role_name(role));
            if (generated)
                printf("password: %s\n", password);
        }
    }
    cli_free_secret(password);
    return rc;
}

static int
user_passwd(cli_t *cli, int argc, char **argv)
{
    user_args_t args;
    PARSE_OR_RETURN(argc, argv, passwd_usage, (const int[]){OPT_PASSWORD_FILE, 0}, true, &args);
    bool generated;
    char *password = password_from(&args, &generated);
    if (!password)
        return CLI_ERROR;
    int rc = cli_open(cli);
    if (rc == CLI_OK) {
        pgpdesk_status_t st = pgpdesk_user_set_password(cli->pd, args.operand, password);
        if (st) {
            rc = cli_fail(cli, st);
        } else {
            printf("password of %s changed\n", args.operand);
            if (generated)
                printf("password: %s\n", password);
        }
    }
    cli_free_secret(password);
    return rc;
}

static int
user_token(cli_t *cli, int argc, char **argv)
{
    user_args_t args;
    PARSE_OR_RETURN(argc, argv, token_usage, (const int[]){0}, true, &args);
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    char *token = NULL;
    pgpdesk_status_t st = pgpdesk_token_create(cli->pd, args.operand, &token);
    if (st)
        return cli_fail(cli, st);
    printf("%s\n", token);
    cli_free_secret(token);
    return CLI_OK;
}

static int
user_list(cli_t *cli, int argc, char **argv)
{
    user_args_t args;
    PARSE_OR_RETURN(argc, argv, list_usage, (const int[]){OPT_JSON, 0}, false, &args);
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_user_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_user_list(cli->pd, &list);
    if (st)
        return cli_fail(cli, st);
    if (args.json) {
        json_t *users = json_array();
        for (size_t i = 0; i < list->count; i++)
            json_array_append_new(users, pgpdesk_user_to_json(&list->users[i]));
        cli_print_json(users);
    } else {
        for (size_t i = 0; i < list->count; i++) {
            char created[21];
            pgpdesk_format_time(list->users[i].created_at, created);
            printf("%-20s %-6s %s\n", list->users[i].login, role_name(list->users[i].role),
                   created);
        }
        if (list->count == 0)
            fputs("No users.\n", cli_err);
    }
    pgpdesk_user_list_destroy(list);
    return CLI_OK;
}

static int
user_delete(cli_t *cli, int argc, char **argv)
{
    user_args_t args;
    PARSE_OR_RETURN(argc, argv, delete_usage, (const int[]){0}, true, &args);
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_status_t st = pgpdesk_user_delete(cli->pd, args.operand);
    if (st)
        return cli_fail(cli, st);
    printf("deleted %s\n", args.operand);
    return CLI_OK;
}

static const cli_command_t subcommands[] = {
    {"add", user_add, NULL},     {"passwd", user_passwd, NULL}, {"token", user_token, NULL},
    {"list", user_list, NULL},   {"delete", user_delete, NULL},
};

int
cli_cmd_user(cli_t *cli, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(user_usage, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)
        return cli_help(user_usage);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(subcommands[i].name, argv[1]) == 0)
            return subcommands[i].run(cli, argc - 1, argv + 1);
    return cli_usage_error(user_usage, "unknown subcommand '%s'", argv[1]);
}
