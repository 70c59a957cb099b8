"""Builds test e-mail around real gpg and sq output: RFC 5322 messages, MIME entities, PGP/MIME
(RFC 3156: multipart/signed over the CRLF-canonical first part, multipart/encrypted) and inline
PGP. Python standard library only.

Everything here works on bytes with CRLF line endings, as messages travel:

    part = text_part("Hello\\r\\n")
    sig = gpg.detach_sign(part, signer_fpr, passphrase)          # over exactly these bytes
    msg = message(headers("a@example.com", "b@example.com", "Hi"), signed(part, sig))

A multipart body is laid out by RFC 2046: the CRLF before each delimiter line belongs to the
delimiter, so the first part of a multipart/signed is exactly the bytes passed in.
"""

import base64
import os
import subprocess

import keys as keyfixtures

CRLF = b"\r\n"


def to_bytes(x):
    return x.encode("utf-8") if isinstance(x, str) else x


def crlf(data):
    """data with every line ending made CRLF."""
    data = to_bytes(data)
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def lf(data):
    return to_bytes(data).replace(b"\r\n", b"\n")


# ------------------------------------------------------------------------------ MIME


def header_lines(headers):
    """headers: [(name, value)] or raw strings (already folded, without the line ending)."""
    out = b""
    for h in headers:
        if isinstance(h, tuple):
            out += to_bytes(h[0]) + b": " + to_bytes(h[1]) + CRLF
        else:
            out += to_bytes(h) + CRLF
    return out


def entity(headers, body):
    """A MIME entity: its header lines, the blank line, the body (made CRLF)."""
    return header_lines(headers) + CRLF + crlf(body)


def text_part(text, ctype='text/plain; charset="utf-8"', cte="8bit", extra=()):
    hs = [("Content-Type", ctype)]
    if cte:
        hs.append(("Content-Transfer-Encoding", cte))
    return entity(hs + list(extra), text)


def multipart(subtype, parts, boundary, params="", preamble=b"", epilogue=b"", extra=()):
    """A multipart entity whose body parts are exactly `parts` (bytes, not re-encoded)."""
    body = b""
    if preamble:
        body += crlf(preamble).rstrip(b"\r\n") + CRLF
    for p in parts:
        body += b"--" + to_bytes(boundary) + CRLF + p + CRLF
    body += b"--" + to_bytes(boundary) + b"--" + CRLF + crlf(epilogue)
    head = header_lines([("Content-Type", 'multipart/%s; boundary="%s"%s'
                          % (subtype, boundary, params))] + list(extra))
    return head + CRLF + body


def signature_part(sig, ctype='application/pgp-signature; name="signature.asc"'):
    return entity([("Content-Type", ctype),
                   ("Content-Description", "OpenPGP digital signature"),
                   ("Content-Disposition", 'attachment; filename="signature.asc"')], sig)


def signed(first_part, sig, boundary="sig-b0undary-1", micalg="pgp-sha256", sig_part=None,
           extra_parts=()):
    """RFC 3156 section 5: multipart/signed; the signature is over first_part exactly."""
    parts = [first_part, sig_part if sig_part is not None else signature_part(sig)]
    parts += list(extra_parts)
    return multipart("signed", parts, boundary,
                     '; micalg=%s; protocol="application/pgp-signature"' % micalg,
                     preamble=b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)")


def version_part(text=b"Version: 1\r\n", ctype="application/pgp-encrypted"):
    return entity([("Content-Type", ctype),
                   ("Content-Description", "PGP/MIME version identification")], text)


def cipher_part(armored, ctype='application/octet-stream; name="encrypted.asc"'):
    return entity([("Content-Type", ctype),
                   ("Content-Description", "OpenPGP encrypted message"),
                   ("Content-Disposition", 'inline; filename="encrypted.asc"')], armored)


def encrypted(armored, boundary="enc-b0undary-1", parts=None):
    """RFC 3156 section 4: multipart/encrypted (version part, then the armored ciphertext)."""
    if parts is None:
        parts = [version_part(), cipher_part(armored)]
    return multipart("encrypted", parts, boundary, '; protocol="application/pgp-encrypted"',
                     preamble=b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)")


def headers(frm, to, subject, msgid=None, date="Sat, 28 Nov 2026 12:00:00 +0000", cc=None,
            extra=()):
    hs = [("From", frm), ("To", to)]
    if cc:
        hs.append(("Cc", cc))
    hs += [("Subject", subject), ("Date", date)]
    if msgid:
        hs.append(("Message-ID", msgid))
    return hs + list(extra)


def message(hdrs, body_entity, mime_version=True):
    """An RFC 5322 message: the top-level headers, then the entity (its own Content-* headers
    join the top-level header block)."""
    out = header_lines(hdrs)
    if mime_version:
        out += b"MIME-Version: 1.0" + CRLF
    return out + body_entity


# ------------------------------------------------------------------------------ armor


def _crc24_table():
    table = []
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c <<= 1
            if c & 0x1000000:
                c ^= 0x1864CFB
        table.append(c & 0xFFFFFF)
    return table


_CRC24 = _crc24_table()


def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24[((crc >> 16) ^ b) & 0xFF]
    return crc


def armor(binary, kind="MESSAGE"):
    """ASCII armor (RFC 4880 section 6) with the CRC-24 checksum; LF line endings."""
    b64 = base64.b64encode(binary)
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    crc = base64.b64encode(crc24(binary).to_bytes(3, "big"))
    return (b"-----BEGIN PGP %s-----\n\n" % kind.encode() + b"\n".join(lines) + b"\n=" + crc +
            b"\n-----END PGP %s-----\n" % kind.encode())


# ------------------------------------------------------------------------------ tools


class ToolError(Exception):
    pass


def _run(argv, input=None, env=None, timeout=300):
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    if p.returncode != 0:
        raise ToolError("command failed (%d): %s\n%s" % (
            p.returncode, " ".join(argv), p.stderr.decode(errors="replace")[-2000:]))
    return p.stdout


class GpgTool:
    """gpg 2.2 on its own home: sign, encrypt, clearsign. Key passphrases are remembered by
    fingerprint on import and given (loopback) to the operation that needs them."""

    def __init__(self, home):
        self.g = keyfixtures.Gpg(home)
        self.passphrases = {}

    def import_key(self, path, fingerprint=None, passphrase=None):
        self.g("--import", path)
        if fingerprint and passphrase:
            self.passphrases[fingerprint] = passphrase

    def gen(self, uid, passphrase, faked_time=None, algo="future-default", expire="never"):
        fpr = self.g.gen(uid, algo, "default", expire, passphrase, faked_time=faked_time)
        self.passphrases[fpr] = passphrase
        return fpr

    def export(self, fpr, secret=False):
        if secret:
            return self.g("--armor", "--export-secret-keys", fpr,
                          passphrase=self.passphrases.get(fpr, "")).stdout
        return self.g("--armor", "--export", fpr).stdout

    def _op(self, args, data, signer=None, faked_time=None):
        pw = self.passphrases.get(signer, "") if signer else None
        return self.g(*args, input=to_bytes(data), passphrase=pw, faked_time=faked_time).stdout

    def detach_sign(self, data, signer, digest=None, faked_time=None, textmode=False):
        args = ["--armor", "--detach-sign", "--local-user", signer]
        if digest:
            args += ["--digest-algo", digest]
        if textmode:
            args.append("--textmode")
        return self._op(args, data, signer, faked_time)

    def encrypt(self, data, recipients, signer=None, armor=True, extra=(), faked_time=None):
        args = ["--encrypt"] + (["--armor"] if armor else [])
        for r in recipients:
            args += ["--recipient", r]
        if signer:
            args += ["--sign", "--local-user", signer]
        args += list(extra)
        return self._op(args, data, signer, faked_time)

    def sign(self, data, signer, clear=False, faked_time=None):
        args = (["--clearsign"] if clear else ["--sign", "--armor"]) + ["--local-user", signer]
        return self._op(args, data, signer, faked_time)

    def kill_agent(self):
        self.g.kill_agent()


class SqTool:
    """sq 0.27 with key files (unprotected keys only: sq 0.27 asks passwords on a tty)."""

    def detach_sign(self, data, key_file):
        return _run(["sq", "sign", "--detached", "--signer-key", key_file], to_bytes(data))

    def sign(self, data, key_file, clear=False):
        """An inline signed message, or with clear=True a cleartext signature. sq 0.27 makes a
        cleartext signature that does not verify (not even with sq) when the text has CRLF
        line endings, so the text is given to it with LF endings."""
        args = ["sq", "sign", "--signer-key", key_file]
        if clear:
            args.append("--cleartext-signature")
            data = lf(data)
        return _run(args, to_bytes(data))

    def encrypt(self, data, cert_files, signer_file=None, compression=None):
        args = ["sq", "encrypt"]
        for c in cert_files:
            args += ["--recipient-cert", c]
        if signer_file:
            args += ["--signer-key", signer_file]
        if compression:
            args += ["--compression", compression]
        return _run(args, to_bytes(data))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(to_bytes(data))
    return path
