#!/usr/bin/env bash
# Zammad's way to open one incoming signed+encrypted message (W2 baseline), as
# lib/secure_mailing/pgp/incoming.rb does it: a fresh GNUPGHOME with the private key imported,
# `gpg --decrypt --skip-verify`; when gpg says the embedded signature's verification was
# suppressed (a one-pass signed+encrypted message), check_signature_embedded decrypts again in
# a second fresh keyring holding the sender's public key and the private key, this time
# verifying. After each keyring: `gpgconf --kill gpg-agent` and removal.
#
# usage: zammad-decrypt.sh ENCRYPTED OUTPUT SECRET_KEY PASSPHRASE_FILE SENDER_PUBLIC_KEY
# Exits 1 unless gpg reported a good signature.
set -euo pipefail
encrypted=$1 output=$2 secret=$3 passfile=$4 sender=$5

gpg_zammad() {
    LC_ALL=C gpg --batch --yes --no-tty --verbose --status-fd 2 "$@"
}

status=$(mktemp)
trap 'rm -f "$status"' EXIT

export GNUPGHOME=$(mktemp -d)
gpg_zammad --import <"$secret" 2>/dev/null
gpg_zammad --passphrase-file "$passfile" --pinentry-mode loopback --trust-model always \
    --skip-verify --decrypt <"$encrypted" >"$output" 2>"$status"
gpgconf --kill gpg-agent
rm -rf "$GNUPGHOME"

if grep -q 'signature verification suppressed' "$status"; then
    export GNUPGHOME=$(mktemp -d)
    gpg_zammad --import <"$sender" 2>/dev/null
    gpg_zammad --import <"$secret" 2>/dev/null
    gpg_zammad --passphrase-file "$passfile" --pinentry-mode loopback --trust-model always \
        --decrypt <"$encrypted" >/dev/null 2>"$status"
    gpgconf --kill gpg-agent
    rm -rf "$GNUPGHOME"
fi
grep -q '^\[GNUPG:\] GOODSIG' "$status"
