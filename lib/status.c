/* status.c - the stable, user-facing message of every pgpdesk_status_t.
 * Messages taken from Zammad where it has one, so integrators see familiar text. */
#include "pgpdesk.h"

const char *
pgpdesk_status_to_string(pgpdesk_status_t status)
{
    switch (status) {
    case PGPDESK_STATUS_SUCCESS:
        return "Success.";
    case PGPDESK_STATUS_OUT_OF_MEMORY:
        return "Out of memory.";
    case PGPDESK_STATUS_INVALID_ARGUMENT:
        return "Invalid argument.";
    case PGPDESK_STATUS_IO_ERROR:
        return "A file could not be read or written.";
    case PGPDESK_STATUS_DATABASE_ERROR:
        return "The database reported an error.";
    case PGPDESK_STATUS_MASTER_KEY_MISSING:
        return "The master key file of this database is missing; sealed secrets cannot be opened.";
    case PGPDESK_STATUS_MASTER_KEY_MISMATCH:
        return "The master key does not belong to this database; sealed secrets cannot be opened.";
    case PGPDESK_STATUS_NO_VALID_DATA:
        return "There was no valid OpenPGP data found.";
    case PGPDESK_STATUS_NOT_ARMORED:
        return "A pasted key must be ASCII-armored (-----BEGIN PGP ... KEY BLOCK-----).";
    case PGPDESK_STATUS_INPUT_TOO_LARGE:
        return "The key data is larger than 5 MiB.";
    case PGPDESK_STATUS_USER_ID_TOO_LONG:
        return "A user ID of this key is longer than 2 KiB.";
    case PGPDESK_STATUS_TOO_MANY_USER_IDS:
        return "This key has more than 100 user IDs.";
    case PGPDESK_STATUS_DUPLICATE_KEY:
        return "There is already a PGP key with the same fingerprint.";
    case PGPDESK_STATUS_PASSPHRASE_MISSING:
        return "The required PGP passphrase is missing.";
    case PGPDESK_STATUS_PASSPHRASE_INVALID:
        return "The PGP passphrase is invalid.";
    case PGPDESK_STATUS_NOT_PRIVATE_KEY:
        return "This is not a private PGP key.";
    case PGPDESK_STATUS_KEY_NOT_FOUND:
        return "The PGP key could not be found.";
    case PGPDESK_STATUS_CRYPTO_ERROR:
        return "The OpenPGP operation failed.";
    case PGPDESK_STATUS_INVALID_DOMAIN_ALIAS:
        return "The domain alias is not a valid domain name.";
    case PGPDESK_STATUS_SCHEMA_TOO_NEW:
        return "The database was written by a newer pgpdesk.";
    case PGPDESK_STATUS_NO_SENDER_KEY:
        return "The PGP key of the sender was not found.";
    case PGPDESK_STATUS_SENDER_KEY_EXPIRED:
        return "The PGP key of the sender was found, but has expired.";
    case PGPDESK_STATUS_NO_RECIPIENT_KEY:
        return "The PGP key of a recipient was not found.";
    case PGPDESK_STATUS_RECIPIENT_KEY_EXPIRED:
        return "The PGP key of a recipient was found, but has expired.";
    case PGPDESK_STATUS_NO_RECIPIENT:
        return "There was no recipient found.";
    case PGPDESK_STATUS_MALFORMED_MESSAGE:
        return "The message could not be parsed.";
    case PGPDESK_STATUS_MESSAGE_TOO_LARGE:
        return "The message is larger than the configured limit.";
    case PGPDESK_STATUS_TIMEOUT:
        return "Processing the message took longer than the configured time limit.";
    case PGPDESK_STATUS_ARTICLE_NOT_FOUND:
        return "The article could not be found.";
    case PGPDESK_STATUS_KEY_REVOKED:
        return "The PGP key has been revoked.";
    case PGPDESK_STATUS_NO_SENDER:
        return "The message needs exactly one From address.";
    case PGPDESK_STATUS_AUTH_FAILED:
        return "The login or password is wrong.";
    case PGPDESK_STATUS_USER_EXISTS:
        return "A user with this login already exists.";
    case PGPDESK_STATUS_USER_NOT_FOUND:
        return "The user could not be found.";
    case PGPDESK_STATUS_GROUP_NOT_FOUND:
        return "The group could not be found.";
    case PGPDESK_STATUS_GROUP_EXISTS:
        return "A group with this name already exists.";
    case PGPDESK_STATUS_INTEGRATION_DISABLED:
        return "The PGP integration is disabled.";
    case PGPDESK_STATUS_POLICY_VIOLATION:
        return "This group only sends signed and encrypted mail.";
    case PGPDESK_STATUS_WEAK_PASSWORD:
        return "A password needs at least 8 characters.";
    }
    return "Unknown error.";
}
