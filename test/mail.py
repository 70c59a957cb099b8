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


# ------------------------------------------------------------------------------ reading MIME
#
# For checking what a program wrote: these cut bytes by RFC 5322 / RFC 2046 rules and never
# re-serialize anything, so a part is exactly the bytes that were (or must be) signed.


def split_entity(data):
    """(header section, body) of a message or MIME entity: the header lines up to the first
    empty line (their line breaks kept, the empty line left out) and the bytes after it.
    Data without an empty line is all header section, with an empty body."""
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        end = len(data) if nl < 0 else nl + 1
        if data[pos:end] in (b"\n", b"\r\n"):
            return data[:pos], data[end:]
        pos = end
    return data, b""


def header_fields(head):
    """[(name, value)] of a header section in order: values unfolded (the line breaks of
    folding removed) and stripped of surrounding white space; names as written."""
    fields = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
            continue
        name, sep, value = line.partition(b":")
        fields.append([name.strip(), value if sep else b""])
    return [(n.decode("latin-1"), v.strip().decode("utf-8", errors="replace"))
            for n, v in fields]


def header_get(fields, name):
    """The value of the first field called name (case-insensitive), or None."""
    for n, v in fields:
        if n.lower() == name.lower():
            return v
    return None


def header_all(fields, name):
    return [v for n, v in fields if n.lower() == name.lower()]


def parse_params(value):
    """(value before the first ';' lower-cased, {parameter name lower-cased: value}) of a
    Content-Type or Content-Disposition value; quoted strings unquoted."""
    value = value or ""
    i, n = 0, len(value)
    parts, cur, quoted = [], "", False
    while i < n:
        c = value[i]
        if quoted:
            if c == "\\" and i + 1 < n:
                cur += value[i + 1]
                i += 2
                continue
            if c == '"':
                quoted = False
            cur += c
        elif c == '"':
            quoted = True
            cur += c
        elif c == ";":
            parts.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    parts.append(cur)
    params = {}
    for p in parts[1:]:
        k, sep, v = p.partition("=")
        if not sep:
            continue
        v = v.strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        params[k.strip().lower()] = v
    return parts[0].strip().lower(), params


def multipart_parts(body, boundary):
    """The body parts of a multipart body, cut by RFC 2046 §5.1.1: a delimiter line is
    "--boundary" (then only white space) at the start of the body or of a line; the line break
    before a delimiter belongs to the delimiter, not to the part. Returns (parts, closed):
    closed tells whether the close delimiter "--boundary--" was found."""
    dash = b"--" + to_bytes(boundary)
    delims = []   # (start of the delimiter line, start of the next line, close?)
    i = 0
    while True:
        j = body.find(dash, i)
        if j < 0:
            break
        i = j + 1
        if j > 0 and body[j - 1:j] != b"\n":
            continue
        nl = body.find(b"\n", j)
        end = len(body) if nl < 0 else nl + 1
        rest = body[j + len(dash):end].rstrip(b"\r\n")
        close = rest.startswith(b"--")
        if (rest[2:] if close else rest).strip(b" \t"):
            continue   # "--boundaryX...": a longer boundary, not this one
        delims.append((j, end, close))
        if close:
            break
    parts = []
    for (_, start, close), (nxt, _, _) in zip(delims, delims[1:]):
        if close:
            break
        end = nxt
        if end > start and body[end - 2:end] == b"\r\n":
            end -= 2
        elif end > start and body[end - 1:end] == b"\n":
            end -= 1
        parts.append(body[start:end])
    return parts, bool(delims) and delims[-1][2]


def decode_body(fields, body):
    """The body decoded by its Content-Transfer-Encoding (base64, quoted-printable, else as
    is)."""
    import binascii
    import quopri
    cte = (header_get(fields, "Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte == "base64":
        return binascii.a2b_base64(b"".join(body.split()))
    if cte == "quoted-printable":
        return quopri.decodestring(body.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    return body


class ParsedEntity:
    """A parsed MIME entity: fields, ctype (lower-case type/subtype), params, body (raw
    bytes), parts (sub-entities of a multipart), raw (all of its bytes)."""

    def __init__(self, raw):
        self.raw = raw
        head, self.body = split_entity(raw)
        self.fields = header_fields(head)
        ct = header_get(self.fields, "Content-Type")
        self.ctype, self.params = parse_params(ct or "text/plain")
        self.parts = []
        self.closed = None
        if self.ctype.startswith("multipart/") and self.params.get("boundary"):
            parts, self.closed = multipart_parts(self.body, self.params["boundary"])
            self.parts = [ParsedEntity(p) for p in parts]

    def get(self, name):
        return header_get(self.fields, name)

    def decoded(self):
        return decode_body(self.fields, self.body)

    def leaves(self):
        if self.parts:
            return [leaf for p in self.parts for leaf in p.leaves()]
        return [self]
