"""A tiny read-only OpenPGP (RFC 4880, v4) packet parser for the tests.

Only what the tests need to look *inside* key data without trusting pgpdesk or gpg:
dearmoring, splitting packets, key fingerprints, the secret-key protection octet and the
cleartext secret values of unprotected keys, user IDs, and who issued each signature.
"""

import base64
import hashlib

TAG_SIGNATURE = 2
TAG_SECRET_KEY = 5
TAG_PUBLIC_KEY = 6
TAG_SECRET_SUBKEY = 7
TAG_USER_ID = 13
TAG_PUBLIC_SUBKEY = 14
TAG_USER_ATTRIBUTE = 17

KEY_TAGS = (TAG_SECRET_KEY, TAG_PUBLIC_KEY, TAG_SECRET_SUBKEY, TAG_PUBLIC_SUBKEY)
PRIMARY_TAGS = (TAG_SECRET_KEY, TAG_PUBLIC_KEY)


def is_armored(data):
    return data.lstrip()[:15] == b"-----BEGIN PGP "


def dearmor(data):
    """All armored blocks in data, decoded and concatenated; binary data is returned as is."""
    if not is_armored(data):
        return data
    out = b""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith(b"-----BEGIN PGP "):
            i += 1
            while i < len(lines) and lines[i].strip() and b":" in lines[i]:  # headers
                i += 1
            b64 = b""
            while i < len(lines) and not lines[i].startswith(b"-----END PGP "):
                line = lines[i].strip()
                if line and not line.startswith(b"="):
                    b64 += line
                i += 1
            out += base64.b64decode(b64)
        i += 1
    return out


def packets(data):
    """[(tag, body)] of binary or armored OpenPGP data. Raises ValueError on malformed data."""
    data = dearmor(data)
    out = []
    i = 0
    n = len(data)
    while i < n:
        ctb = data[i]
        i += 1
        if not ctb & 0x80:
            raise ValueError("not an OpenPGP packet header at offset %d" % (i - 1))
        if ctb & 0x40:  # new format
            tag = ctb & 0x3F
            body = b""
            while True:
                if i >= n:
                    raise ValueError("truncated packet length")
                l0 = data[i]
                i += 1
                partial = False
                if l0 < 192:
                    ln = l0
                elif l0 < 224:
                    ln = ((l0 - 192) << 8) + data[i] + 192
                    i += 1
                elif l0 == 255:
                    ln = int.from_bytes(data[i:i + 4], "big")
                    i += 4
                else:
                    ln = 1 << (l0 & 0x1F)
                    partial = True
                body += data[i:i + ln]
                i += ln
                if not partial:
                    break
        else:
            tag = (ctb >> 2) & 0x0F
            lt = ctb & 3
            if lt == 0:
                ln = data[i]
                i += 1
            elif lt == 1:
                ln = int.from_bytes(data[i:i + 2], "big")
                i += 2
            elif lt == 2:
                ln = int.from_bytes(data[i:i + 4], "big")
                i += 4
            else:
                ln = n - i
            body = data[i:i + ln]
            i += ln
        if i > n:
            raise ValueError("truncated packet body")
        out.append((tag, body))
    return out


def _mpi(body, p):
    bits = int.from_bytes(body[p:p + 2], "big")
    ln = (bits + 7) // 8
    return body[p + 2:p + 2 + ln], p + 2 + ln


class KeyPacket:
    """A v4 public/secret (sub)key packet."""

    def __init__(self, tag, body):
        self.tag = tag
        self.body = body
        if body[0] != 4:
            raise ValueError("only v4 keys are supported (got v%d)" % body[0])
        self.created = int.from_bytes(body[1:5], "big")
        self.algo = body[5]
        p = 6
        a = self.algo
        if a in (1, 2, 3):          # RSA: n, e
            nmpi = 2
        elif a == 17:               # DSA: p, q, g, y
            nmpi = 4
        elif a in (16, 20):         # Elgamal: p, g, y
            nmpi = 3
        else:
            nmpi = 0
        for _ in range(nmpi):
            _, p = _mpi(body, p)
        if a in (18, 19, 22):       # ECDH, ECDSA, EdDSA: OID, point
            oid_len = body[p]
            p += 1 + oid_len
            _, p = _mpi(body, p)
            if a == 18:             # ECDH: KDF parameters
                p += 1 + body[p]
        self.public_end = p
        self.public_body = body[:p]
        self.fingerprint = hashlib.sha1(
            b"\x99" + len(self.public_body).to_bytes(2, "big") + self.public_body).hexdigest().upper()
        self.keyid = self.fingerprint[-16:]
        self.s2k_usage = None
        self.secret_values = []
        if tag in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY):
            self.s2k_usage = body[p]
            if self.s2k_usage == 0:
                q = p + 1
                end = len(body) - 2  # two-octet checksum
                while q < end:
                    v, q = _mpi(body, q)
                    self.secret_values.append(v)

    @property
    def is_secret(self):
        return self.tag in (TAG_SECRET_KEY, TAG_SECRET_SUBKEY)

    @property
    def protected(self):
        return self.s2k_usage not in (None, 0)


def _subpackets(data):
    out = []
    i = 0
    while i < len(data):
        l0 = data[i]
        i += 1
        if l0 < 192:
            ln = l0
        elif l0 < 255:
            ln = ((l0 - 192) << 8) + data[i] + 192
            i += 1
        else:
            ln = int.from_bytes(data[i:i + 4], "big")
            i += 4
        if ln == 0:
            break
        out.append((data[i] & 0x7F, data[i + 1:i + ln]))
        i += ln
    return out


class Signature:
    def __init__(self, body):
        self.version = body[0]
        self.issuer_keyid = None
        self.issuer_fpr = None
        if self.version == 3:
            self.sigtype = body[2]
            self.issuer_keyid = body[7:15].hex().upper()
            return
        if self.version != 4:
            self.sigtype = None
            return
        self.sigtype = body[1]
        hl = int.from_bytes(body[4:6], "big")
        hashed = body[6:6 + hl]
        p = 6 + hl
        ul = int.from_bytes(body[p:p + 2], "big")
        unhashed = body[p + 2:p + 2 + ul]
        for typ, val in _subpackets(hashed) + _subpackets(unhashed):
            if typ == 16:
                self.issuer_keyid = val[:8].hex().upper()
            elif typ == 33 and val[:1] == b"\x04":
                self.issuer_fpr = val[1:21].hex().upper()
        if self.issuer_fpr and not self.issuer_keyid:
            self.issuer_keyid = self.issuer_fpr[-16:]

    def issued_by(self, fingerprint):
        if self.issuer_fpr:
            return self.issuer_fpr == fingerprint
        return self.issuer_keyid == fingerprint[-16:]


class Cert:
    """One transferable public/secret key: its primary, subkeys, user IDs and signatures."""

    def __init__(self):
        self.primary = None
        self.subkeys = []
        self.user_ids = []      # bytes
        self.signatures = []    # Signature, in order

    @property
    def fingerprint(self):
        return self.primary.fingerprint

    @property
    def key_packets(self):
        return [self.primary] + self.subkeys

    def third_party_signatures(self):
        return [s for s in self.signatures if not s.issued_by(self.fingerprint)]

    def secret_values(self):
        out = []
        for k in self.key_packets:
            out.extend(k.secret_values)
        return out


def certs(data):
    """The transferable keys in data (binary or armored), in order."""
    out = []
    cur = None
    for tag, body in packets(data):
        if tag in PRIMARY_TAGS:
            cur = Cert()
            cur.primary = KeyPacket(tag, body)
            out.append(cur)
        elif cur is None:
            continue
        elif tag in (TAG_PUBLIC_SUBKEY, TAG_SECRET_SUBKEY):
            cur.subkeys.append(KeyPacket(tag, body))
        elif tag == TAG_USER_ID:
            cur.user_ids.append(body)
        elif tag == TAG_SIGNATURE:
            cur.signatures.append(Signature(body))
    return out


def needles(secret, chunk=32):
    """Byte strings whose presence in a file would reveal `secret` (bytes): a chunk of it raw,
    reversed (little-endian storage), hex in both cases and base64 at every alignment."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    s = secret[:chunk] if len(secret) > chunk else secret
    out = {s, s[::-1], s.hex().encode(), s.hex().upper().encode()}
    if len(s) >= 12:
        for shift in range(3):
            enc = base64.b64encode(s[shift:])
            # drop the last group (it depends on what follows) and the padding
            core = enc[: (len(enc) // 4 - 1) * 4]
            if len(core) >= 12:
                out.add(core)
    return sorted(out, key=len, reverse=True)
