/* cmd-key.c - `pgpdesk key`: import, list, show, export and delete keys in the key store. */
#include "cli.h"

#include <stdlib.h>
#include <sys/stat.h>

static const char import_usage[] =
    "Usage: pgpdesk key import [--paste] [--passphrase-file FILE] [--domain-alias DOMAIN]\n"
    "                          [--json] FILE|-\n"
    "\n"
    "Imports every key in FILE (or standard input for -): ASCII-armored or binary, public or\n"
    "private. Third-party certifications are dropped; private keys and their passphrase are\n"
    "sealed at rest. Importing the private key of a stored public key, or a newer copy of a\n"
    "stored key (new user id, expiry, revocation), updates the stored record.\n"
    "\n"
    "  --paste                 the input is pasted text: ASCII armor only\n"
    "  --passphrase-file FILE  the private key's passphrase (first line of FILE)\n"
    "  --domain-alias DOMAIN   the key also serves any address @DOMAIN\n"
    "  --json                  print the imported keys as JSON\n"
    "\n"
    "Example:\n"
    "  pgpdesk key import --passphrase-file pass.txt support-secret.asc\n"
    "  pbpaste | pgpdesk key import --paste -\n";

static const char list_usage[] =
    "Usage: pgpdesk key list [--email ADDR] [--json]\n"
    "\n"
    "Lists the stored keys, newest first; with --email only those serving ADDR (its own keys\n"
    "and domain-alias keys of its domain; case-insensitive).\n"
    "\n"
    "Example:\n"
    "  pgpdesk key list --email support@example.com --json\n";

static const char show_usage[] =
    "Usage: pgpdesk key show FINGERPRINT [--json]\n"
    "\n"
    "Shows one stored key. Never shows secret material.\n"
    "\n"
    "Example:\n"
    "  pgpdesk key show 0123456789ABCDEF0123456789ABCDEF01234567 --json\n";

static const char export_usage[] =
    "Usage: pgpdesk key export FINGERPRINT [--secret] [--output FILE|DIR]\n"
    "\n"
    "Writes the key ASCII-armored to standard output or FILE. Into a directory it is written\n"
    "as <FINGERPRINT>.pub.asc, or <FINGERPRINT>.asc with --secret. The private key stays\n"
    "protected by its passphrase.\n"
    "\n"
    "  --secret       export the private key (only this ever prints secret material)\n"
    "  --output PATH  a file, or a directory to put <FINGERPRINT>[.pub].asc in\n"
    "\n"
    "Example:\n"
    "  pgpdesk key export 0123456789ABCDEF0123456789ABCDEF01234567 --output keys/\n";

static const char delete_usage[] =
    "Usage: pgpdesk key delete FINGERPRINT\n"
    "\n"
    "Deletes the key, public and private, from the store.\n"
    "\n"
    "Example:\n"
    "  pgpdesk key delete 0123456789ABCDEF0123456789ABCDEF01234567\n";

static const char key_usage[] =
    "Usage: pgpdesk key SUBCOMMAND [ARGS...]\n"
    "\n"
    "Subcommands:\n"
    "  import   import keys from a file or a paste\n"
    "  list     list stored keys\n"
    "  show     show one key\n"
    "  export   export a public or private key\n"
    "  delete   delete a key\n"
    "\n"
    "'pgpdesk key SUBCOMMAND --help' explains each. Example:\n"
    "  pgpdesk key list --json\n";

static const char unprotected_warning[] = "The private PGP key is not protected by a passphrase.";

static void
print_key_text(const pgpdesk_key_t *k)
{
    char created[21], expires[21] = "never";
    pgpdesk_format_time(k->created_at, created);
    if (k->expires_at)
        pgpdesk_format_time(k->expires_at, expires);
    printf("%s  %s%s%s\n", k->fingerprint, k->name, k->secret ? "  [private]" : "",
           k->revoked ? "  [revoked]" : k->expired ? "  [expired]" : "");
    printf("    %s %u bits, created %s, expires %s, sign: %s, encrypt: %s\n", k->algorithm,
           k->bits, created, expires, k->can_sign ? "yes" : "no", k->can_encrypt ? "yes" : "no");
    for (size_t i = 0; i < k->email_count; i++)
        printf("    <%s>\n", k->emails[i]);
    if (k->domain_alias)
        printf("    *@%s (domain alias)\n", k->domain_alias);
}

static int
key_import(cli_t *cli, int argc, char **argv)
{
    const char *file, *passphrase_file = NULL, *domain_alias = NULL;
    bool paste = false, json = false;
    const cli_option_t options[] = {
        {"paste", .flag = &paste},
        {"passphrase-file", .value = &passphrase_file},
        {"domain-alias", .value = &domain_alias},
        {"json", .flag = &json},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, import_usage, options, &file, "argument"));
    char *passphrase = NULL;
    if (passphrase_file && !(passphrase = cli_read_passphrase_file(passphrase_file)))
        return CLI_ERROR;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cli_read_input(file, PGPDESK_KEY_INPUT_MAX + 1, &data, &size);
    if (rc == CLI_OK)
        rc = cli_open(cli);
    if (rc != CLI_OK) {
        cli_free_secret(passphrase);
        free(data);
        return rc;
    }
    pgpdesk_import_options_t opts = {
        .passphrase = passphrase, .domain_alias = domain_alias, .armored_only = paste};
    pgpdesk_import_report_t *report = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_import(cli->pd, data, size, &opts, &report);
    cli_free_secret(passphrase);
    free(data);

    json_t *imported = json_array();
    for (size_t i = 0; report && i < report->count; i++) {
        const pgpdesk_import_item_t *item = &report->items[i];
        if (item->status) {
            if (report->count > 1)
                cli_error("%s: %s", item->fingerprint, pgpdesk_status_to_string(item->status));
            else
                cli_error("%s", pgpdesk_status_to_string(item->status));
            continue;
        }
        const char *action = item->action == PGPDESK_IMPORT_ADDED ? "added" : "updated";
        if (item->unprotected_secret)
            cli_error("warning: %s: %s", item->fingerprint, unprotected_warning);
        if (json) {
            json_t *obj = pgpdesk_key_to_json(item->key);
            json_object_set_new(obj, "action", json_string(action));
            json_object_set_new(obj, "warnings", item->unprotected_secret
                                                     ? json_pack("[s]", unprotected_warning)
                                                     : json_array());
            json_array_append_new(imported, obj);
        } else {
            printf("%s %s %s\n", action, item->fingerprint, item->key->name);
        }
    }
    if (json && (json_array_size(imported) || !st))
        cli_print_json(imported);
    else
        json_decref(imported);
    if (st && !report)
        cli_fail(cli, st);
    pgpdesk_import_report_destroy(report);
    return st ? CLI_ERROR : CLI_OK;
}

static int
key_list(cli_t *cli, int argc, char **argv)
{
    const char *email = NULL;
    bool json = false;
    const cli_option_t options[] = {{"email", .value = &email}, {"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, list_usage, options, NULL, NULL));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_key_list_t *list = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_list(cli->pd, email, &list);
    if (st)
        return cli_fail(cli, st);
    if (json) {
        json_t *array = json_array();
        for (size_t i = 0; i < list->count; i++)
            json_array_append_new(array, pgpdesk_key_to_json(&list->keys[i]));
        cli_print_json(array);
    } else {
        for (size_t i = 0; i < list->count; i++)
            print_key_text(&list->keys[i]);
        if (list->count == 0)
            fputs("No keys.\n", cli_err);
    }
    pgpdesk_key_list_destroy(list);
    return CLI_OK;
}

static int
key_show(cli_t *cli, int argc, char **argv)
{
    const char *fingerprint;
    bool json = false;
    const cli_option_t options[] = {{"json", .flag = &json}, {NULL}};
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, show_usage, options, &fingerprint, "argument"));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_key_t *key = NULL;
    pgpdesk_status_t st = pgpdesk_keystore_get(cli->pd, fingerprint, &key);
    if (st)
        return cli_fail(cli, st);
    if (json)
        cli_print_json(pgpdesk_key_to_json(key));
    else
        print_key_text(key);
    pgpdesk_key_destroy(key);
    return CLI_OK;
}

static int
key_export(cli_t *cli, int argc, char **argv)
{
    const char *fingerprint, *output = NULL;
    bool secret = false;
    const cli_option_t options[] = {
        {"secret", .flag = &secret},
        {"output", .value = &output},
        {NULL},
    };
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, export_usage, options, &fingerprint, "argument"));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    char *armored = NULL;
    size_t size = 0;
    pgpdesk_status_t st = pgpdesk_keystore_export(cli->pd, fingerprint, secret, &armored, &size);
    if (st)
        return cli_fail(cli, st);
    int rc = CLI_OK;
    struct stat sb;
    if (!output) {
        fwrite(armored, 1, size, stdout);
    } else if (stat(output, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char *name = pgpdesk_key_export_filename(fingerprint, secret), *path = NULL;
        if (!name || asprintf(&path, "%s/%s", output, name) < 0)
            path = NULL;
        rc = path ? cli_write_file(path, armored, size, secret) : cli_error("out of memory");
        if (rc == CLI_OK)
            fprintf(cli_err, "pgpdesk: wrote %s\n", path);
        free(name);
        free(path);
    } else {
        rc = cli_write_file(output, armored, size, secret);
    }
    if (secret)
        cli_free_secret(armored);
    else
        free(armored);
    return rc;
}

static int
key_delete(cli_t *cli, int argc, char **argv)
{
    const char *fingerprint;
    CLI_PARSE_OR_RETURN(cli_parse(argc, argv, delete_usage, NULL, &fingerprint, "argument"));
    if (cli_open(cli) != CLI_OK)
        return CLI_ERROR;
    pgpdesk_status_t st = pgpdesk_keystore_delete(cli->pd, fingerprint);
    if (st)
        return cli_fail(cli, st);
    printf("deleted %s\n", fingerprint);
    return CLI_OK;
}

static const cli_command_t subcommands[] = {
    {"import", key_import, NULL}, {"list", key_list, NULL}, {"show", key_show, NULL},
    {"export", key_export, NULL}, {"delete", key_delete, NULL},
};

int
cli_cmd_key(cli_t *cli, int argc, char **argv)
{
    return cli_dispatch(cli, argc, argv, key_usage, subcommands,
                        sizeof subcommands / sizeof subcommands[0]);
}
