/* cmd-user.c - `pgpdesk user`: the users of the web UI and API (admins and agents), their
 * passwords and API tokens. Also the tool's one maker of random passwords. */
#include "cli.h"

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

/* The password from --password-file, or a new random one (printed: *generated is set).
 * Returns NULL after printing an error; the caller frees with cli_free_secret(). */
static char *
password_from(const char *password_file, bool *generated)
{
    *generated = !password_file;
    if (password_file)
        return cli_read_passphrase_file(password_file);
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
    const char *login, *role_text = NULL, *password_file = NULL;
    const cli_option_t options[] = {
        {"role", .value = &role_text},
        {"password-file", .value = &password_file},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, add_usage, options, &login, "LOGIN"));
    pgpdesk_role_t role = PGPDESK_ROLE_AGENT;
    if (role_text && strcmp(role_text, "admin") == 0)
        role = PGPDESK_ROLE_ADMIN;
    else if (role_text && strcmp(role_text, "agent") != 0)
        return cli_usage_error(add_usage, "--role is admin or agent, not '%s'", role_text);
    bool generated;
    char *password = password_from(password_file, &generated);
    if (!password)
        return CLI_ERROR;
    int rc = cli_open(cli);
    if (rc == CLI_OK) {
        pgpdesk_status_t st = pgpdesk_user_create(cli->pd, login, password, role, NULL);
        if (st) {
            rc = cli_fail(cli, st);
        } else {
            printf("added %s (%s)\n", login, role_name(role));
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
    const char *login, *password_file = NULL;
    const cli_option_t options[] = {{"password-file", .value = &password_file}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, passwd_usage, options, &login, "LOGIN"));
    bool generated;
    char *password = password_from(password_file, &generated);
    if (!password)
        return CLI_ERROR;
    int rc = cli_open(cli);
    if (rc == CLI_OK) {
        pgpdesk_status_t st = pgpdesk_user_set_password(cli->pd, login, password);
        if (st) {
            rc = cli_fail(cli, st);
        } else {
            printf("password of %s changed\n", login);
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
    const char *login;
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, token_usage, NULL, &login, "LOGIN"));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    char *token = NULL;
    pgpdesk_status_t st = pgpdesk_token_create(cli->pd, login, &token);
    if (st)
        return cli_fail(cli, st);
    printf("%s\n", token);
    cli_free_secret(token);
    return CLI_OK;
}

static int
user_list(cli_t *cli, int argc, char **argv)
{
    bool json = false;
    const cli_option_t options[] = {{"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, list_usage, options, NULL, NULL));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_user_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_user_list(cli->pd, &list);
    if (st)
        return cli_fail(cli, st);
    if (json) {
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
    const char *login;
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, delete_usage, NULL, &login, "LOGIN"));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_status_t st = pgpdesk_user_delete(cli->pd, login);
    if (st)
        return cli_fail(cli, st);
    printf("deleted %s\n", login);
    return CLI_OK;
}

static const cli_command_t subcommands[] = {
    {"add", user_add, NULL},     {"passwd", user_passwd, NULL}, {"token", user_token, NULL},
    {"list", user_list, NULL},   {"delete", user_delete, NULL},
};

int
cli_cmd_user(cli_t *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, user_usage, subcommands,
                        sizeof subcommands / sizeof subcommands[0]);
}
