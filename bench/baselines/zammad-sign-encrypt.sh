#!/usr/bin/env bash
# Zammad's way to seal one outgoing message (W1 baseline), as lib/secure_mailing/pgp/outgoing.rb
# and tool/exec.rb do it: every gpg operation gets a fresh temporary GNUPGHOME, the keys it
# needs are imported (one `gpg --import` per key), gpg runs with Zammad's arguments, and then
# `gpgconf --kill gpg-agent` and the directory is removed. Zammad signs first (a detached
# signature over the MIME entity, then multipart/signed) and encrypts that signed message to
# the recipients' keys in a second keyring.
#
# usage: zammad-sign-encrypt.sh PAYLOAD OUTPUT SECRET_KEY PASSPHRASE_FILE SIGNER_FPR RECIPIENT_FPR:KEY_FILE...
set -euo pipefail
payload=$1 output=$2 secret=$3 passfile=$4 signer=$5
shift 5

gpg_zammad() { # tool/exec.rb: LC_ALL=C gpg --batch --yes --no-tty --verbose --status-fd 2 ...
    LC_ALL=C gpg --batch --yes --no-tty --verbose --status-fd 2 "$@"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The signature, in a keyring of its own (with_private_keyring + import + sign).
export GNUPGHOME=$(mktemp -d)
gpg_zammad --import <"$secret" 2>/dev/null
gpg_zammad --passphrase-file "$passfile" --pinentry-mode loopback --armor --detach-sign \
    --trust-model always --default-key "$signer" --sign <"$payload" >"$work/sig" 2>/dev/null
gpgconf --kill gpg-agent
rm -rf "$GNUPGHOME"

# 2. multipart/signed around the entity and the signature (Ruby's mail gem: no process).
boundary="--==_mimepart_zammad"
{
    printf 'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="%s"\r\n\r\n' "$boundary"
    printf -- '--%s\r\n' "$boundary"
    cat "$payload"
    printf '\r\n--%s\r\nContent-Type: application/pgp-signature; name="signature.asc"\r\n\r\n' "$boundary"
    cat "$work/sig"
    printf '\r\n--%s--\r\n' "$boundary"
} >"$work/signed"

# 3. The encryption, in another fresh keyring with every recipient key imported.
export GNUPGHOME=$(mktemp -d)
recipients=()
for spec in "$@"; do
    gpg_zammad --import <"${spec#*:}" 2>/dev/null
    recipients+=(--recipient "${spec%%:*}")
done
gpg_zammad --armor --trust-model always "${recipients[@]}" --encrypt <"$work/signed" >"$output" 2>/dev/null
gpgconf --kill gpg-agent
rm -rf "$GNUPGHOME"
