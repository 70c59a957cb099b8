"""Outgoing mail, through the CLI: pgpdesk outgoing | article show | log | incoming.

What pgpdesk sends is checked by real peers: gpg 2.2 and sq 0.27 must verify and decrypt it.
The output is cut by RFC 2046 rules straight from its bytes (mail.ParsedEntity / mail.multipart_parts,
never re-serialized), so the signed part checked is exactly the bytes a receiver hashes.

Roles (session key fixtures, keys.py): the helpdesk sends as ed_pw (Ed25519) or rsa3072 (RSA),
both gpg keys with a passphrase, imported into pgpdesk with their private part; the customers
are ed_plain (Ed25519) and rsa4096 (RSA), sq keys without a passphrase, of which pgpdesk holds
only the public part, and whose private part the peers (gpg, sq) decrypt with.
"""

import base64
import email.header
import functools
import os
import random
import re
import subprocess

import keys as keyfixtures
import mail
import openpgp
from support import TestFailure, expect, expect_eq

CRLF = b"\r\n"
DATE = "Sat, 28 Nov 2026 12:00:00 +0000"
TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"

# algorithm -> (helpdesk key, customer key)
PAIRS = {"ed25519": ("ed_pw", "ed_plain"), "rsa": ("rsa3072", "rsa4096")}

HASHES = {1: "md5", 2: "sha1", 3: "ripemd160", 8: "sha256", 9: "sha384", 10: "sha512",
          11: "sha224"}
AES256 = 9

MSG_NOT_FOUND_FOR = "The PGP key for %s was not found."
MSG_EXPIRED_FOR = "The PGP key for %s was found, but has expired."
MSG_REVOKED_FOR = "The PGP key for %s has been revoked."
MSG_NO_RECIPIENT = "There was no recipient found."

NOKEY = "nokey@example.org"
BCC_NAMES = ("utf8", "rsa3072")        # juergen@example.com, rsa3072@example.com


def marker(name):
    return "MARKER-OUT-%s-Xk4" % name.upper().replace("_", "-")


# ============================================================================ peers


class Peers:
    """gpg homes for the receiving side, made on first use and kept for the run:
    home(name) holds the private key of fixture `name` and the public keys of both helpdesk
    keys (to check signatures); home(None) holds the public keys only."""

    def __init__(self, session):
        self.k = session.keys
        self.dir = os.path.join(session.root, "outp")
        self.homes = {}

    def home(self, name=None):
        g = self.homes.get(name)
        if g is None:
            g = keyfixtures.Gpg(os.path.join(self.dir, "h%d" % len(self.homes)))
            for n in ("ed_pw", "rsa3072"):
                g("--import", self.k[n].path("pub_asc"))
            if name is not None:
                key = self.k[name]
                g("--import", key.path("sec_asc"), passphrase=key.passphrase or "")
            self.homes[name] = g
        return g

    def passphrase(self, name):
        return None if name is None else self.k[name].passphrase

    def release(self):
        for g in self.homes.values():
            g.kill_agent()


_peers = {}


def peers(t):
    p = _peers.get(id(t.session))
    if p is None:
        p = _peers[id(t.session)] = Peers(t.session)
    return p


def outgoing_test(fn):
    """Kills the peers' gpg agents when the test ends (restarted on demand)."""
    @functools.wraps(fn)
    def wrapper(t):
        try:
            return fn(t)
        finally:
            p = _peers.get(id(t.session))
            if p is not None:
                p.release()
    return wrapper


def status_lines(proc):
    return [l[len("[GNUPG:] "):] for l in proc.stdout.decode("utf-8", "replace").splitlines()
            if l.startswith("[GNUPG:] ")]


def status(lines, keyword):
    """The argument lists of every status line `keyword`."""
    return [l.split()[1:] for l in lines if l.split()[:1] == [keyword]]


def describe_proc(argv, p):
    return "%s\nexit %d\nstdout: %s\nstderr: %s" % (
        " ".join(argv[-6:]), p.returncode, p.stdout.decode("utf-8", "replace")[-1500:],
        p.stderr.decode("utf-8", "replace")[-1500:])


def gpg_run(t, key_name, *args):
    """Runs gpg in the peer home of key_name with its passphrase; --status-fd 1."""
    pe = peers(t)
    g = pe.home(key_name)
    argv = g.argv("--status-fd", "1", *args, passphrase=pe.passphrase(key_name))
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return argv, p


def sq_run(*args):
    argv = ["sq"] + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return argv, p


# ============================================================================ drafts


def addr(t, name):
    return t.keys[name].emails[0]


def uid(t, name):
    return t.keys[name].user_ids[0]


def text_body(name):
    """A body that is not 7-bit safe as it is: UTF-8, a 1500-character line, a line starting
    with "From ", a lone dot, white space at a line end."""
    long_line = " ".join("word%04d" % i for i in range(170))       # ~1500 characters
    return ("Gr\u00fc\u00df Gott, Herr M\u00fcller,\r\n\r\n"
            "Ihr Ticket %s ist gel\u00f6st. Preis: 10 \u20ac \u2014 \u00e7a va?\r\n"
            "%s\r\n"
            "%s\r\n"
            "From the desk of the helpdesk\r\n"
            ".\r\n"
            "trailing blanks here   \r\n"
            "-- \r\nHelpdesk\r\n" % (marker(name), long_line, "Z" * 1200)).encode("utf-8")


def text_entity(name):
    return mail.text_part(text_body(name))


def make_draft(t, sender, to=None, cc=None, bcc=None, name="draft", entity=None,
               subject=None, reply_to=True, msgid=True, extra=()):
    hs = [("From", "Helpdesk Team <%s>" % addr(t, sender))]
    if to:
        hs.append(("To", to))
    if cc:
        hs.append(("Cc", cc))
    if bcc:
        hs.append(("Bcc", bcc))
    if reply_to:
        hs.append(("Reply-To", "Support Desk <support@helpdesk.example>"))
    hs.append(("Subject", subject if subject is not None else subject_of(name)))
    hs.append(("Date", DATE))
    if msgid:
        hs.append(("Message-ID", msgid_of(name)))
    hs += list(extra)
    return mail.message(hs, entity if entity is not None else text_entity(name))


def subject_of(name):
    return "[Ticket#4711] Re: %s" % marker(name)


def msgid_of(name):
    return "<%s@helpdesk.example>" % name.replace("_", "-")


def setup_helpdesk(t, sender, *customers, db=None):
    """Imports the helpdesk key (private, passphrase) and customers' public keys."""
    kw = {} if db is None else {"db": db}
    key = t.keys[sender]
    t.import_key(key, "sec_asc", passphrase=key.passphrase, **kw)
    for c in customers:
        t.import_key(t.keys[c], "pub_asc", **kw)


def send(t, draft, *opts, db=None, name="out.eml"):
    """outgoing OPTS --input draft --output FILE: exit 0, nothing on stdout or stderr. Returns
    (message bytes, result)."""
    dpath = t.write("draft-%s" % name, draft)
    out = t.path(name)
    kw = {} if db is None else {"db": db}
    r = t.run("outgoing", *opts, "--input", dpath, "--output", out, **kw)
    expect(r.rc == 0, "outgoing %s: expected exit 0, got %s" % (" ".join(opts), r.rc), r)
    expect(r.outb == b"", "outgoing --output should print nothing on stdout", r)
    expect(r.errb == b"", "outgoing printed to stderr", r)
    check_no_passphrase(t, r)
    expect(os.path.exists(out), "outgoing --output wrote no file", r)
    with open(out, "rb") as f:
        return f.read(), r


def check_no_passphrase(t, r):
    for p in t.keys.passphrases():
        expect(p not in r.out and p not in r.err, "output contains a passphrase", r)


# ============================================================================ checks


def check_crlf(raw, what, r=None):
    bare = re.search(rb"(?<!\r)\n", raw)
    expect(bare is None, "%s: a line ends in a bare LF at offset %s" % (
        what, bare.start() if bare else None), r)


def check_7bit(data, what, r=None):
    high = [i for i, b in enumerate(data) if b > 127]
    expect(not high, "%s is not 7-bit clean: byte 0x%02X at offset %d" % (
        what, data[high[0]] if high else 0, high[0] if high else 0), r)
    expect(b"\0" not in data, "%s holds a NUL byte" % what, r)
    longest = max(len(l) for l in data.replace(b"\r\n", b"\n").split(b"\n"))
    expect(longest <= 998, "%s has a line of %d octets (RFC 5322: at most 998)" % (
        what, longest), r)


def write_tmp(t, name, data):
    return t.write(name, data)


def signature_info(armored, r=None):
    """(hash name, signature class, issuer fingerprint) of the one signature packet."""
    try:
        pk = openpgp.packets(armored)
    except ValueError as e:
        raise TestFailure("the signature part is not OpenPGP data: %s" % e, r)
    sigs = [body for tag, body in pk if tag == openpgp.TAG_SIGNATURE]
    expect(len(pk) == 1 and len(sigs) == 1,
           "the signature part should hold exactly one signature packet, has tags %s"
           % [tag for tag, _ in pk], r)
    body = sigs[0]
    expect(body[0] == 4, "the signature should be v4, is v%d" % body[0], r)
    sig = openpgp.Signature(body)
    return HASHES.get(body[3], "algo%d" % body[3]), sig.sigtype, sig.issuer_fpr or sig.issuer_keyid


def check_signed(t, raw, sender, body_text=None, r=None):
    """A multipart/signed message from `sender` that gpg and sq verify. Returns the signed part
    (mail.ParsedEntity)."""
    check_crlf(raw, "the signed message", r)
    msg = mail.ParsedEntity(raw)
    expect_eq(msg.ctype, "multipart/signed", "the message's Content-Type", r)
    micalg = msg.params.get("micalg", "")
    expect_eq(msg.params.get("protocol"), "application/pgp-signature",
              "the protocol parameter", r)
    expect(micalg in ("pgp-sha256", "pgp-sha512"),
           "micalg should be pgp-sha256 or pgp-sha512, is %r" % micalg, r)
    expect(msg.closed, "the multipart/signed body has no close delimiter", r)
    expect_eq(len(msg.parts), 2, "the number of parts of multipart/signed", r)
    first, second = msg.parts
    expect_eq(second.ctype, "application/pgp-signature", "the second part's Content-Type", r)
    expect_eq(second.params.get("name"), "signature.asc", "the signature part's name", r)
    sig = second.decoded()
    expect(sig.lstrip().startswith(b"-----BEGIN PGP SIGNATURE-----"),
           "the signature part should be an armored signature", r)
    hash_name, sigclass, issuer = signature_info(sig, r)
    expect_eq("pgp-" + hash_name, micalg, "micalg vs. the hash of the signature packet", r)
    expect(sigclass in (0, 1), "the signature class should be 0x00 or 0x01, is %r" % sigclass, r)
    fpr = t.keys[sender].fingerprint
    expect(issuer in (fpr, fpr[-16:]), "the signature's issuer %s is not %s" % (issuer, fpr), r)

    # The first part, exactly as it is in the message, canonicalized to CRLF (RFC 3156 §5).
    signed = mail.crlf(first.raw)
    check_7bit(signed, "the signed part", r)
    data = write_tmp(t, "signed-part.bin", signed)
    sigf = write_tmp(t, "signature.asc", sig)
    argv, p = gpg_run(t, None, "--verify", sigf, data)
    st = status_lines(p)
    valid = status(st, "VALIDSIG")
    expect(p.returncode == 0 and status(st, "GOODSIG") and valid,
           "gpg --verify does not report a good signature:\n" + describe_proc(argv, p), r)
    expect_eq(valid[0][-1], fpr, "gpg VALIDSIG primary key fingerprint", r)
    expect_eq(HASHES.get(int(valid[0][7])), hash_name, "gpg VALIDSIG hash algorithm", r)
    argv, p = sq_run("verify", "--detached", sigf, "--signer-cert", t.keys[sender].path("pub_asc"),
                     data)
    expect(p.returncode == 0, "sq verify --detached fails:\n" + describe_proc(argv, p), r)
    # A receiver that does not canonicalize (the bytes as they are) must agree too.
    expect_eq(signed, first.raw, "the signed part should already be CRLF-canonical", r)

    if body_text is not None:
        leaves = first.leaves()
        text = [l for l in leaves if l.ctype == "text/plain"]
        expect(text, "the signed part has no text/plain part", r)
        cte = (text[0].get("Content-Transfer-Encoding") or "").lower()
        expect(cte in ("quoted-printable", "base64"),
               "the UTF-8 text with long lines should go quoted-printable or base64, is %r"
               % cte, r)
        expect_eq(text[0].decoded(), body_text, "the decoded text of the signed part", r)
    return first


def pkesk_keyids(armored, r=None):
    """The key IDs of the public-key encrypted session key packets, and the tags of all
    packets."""
    try:
        pk = openpgp.packets(armored)
    except ValueError as e:
        raise TestFailure("the encrypted part is not OpenPGP data: %s" % e, r)
    ids = [body[1:9].hex().upper() for tag, body in pk if tag == 1]
    return ids, [(tag, body[:1]) for tag, body in pk]


def key_ids(t, name):
    c = openpgp.certs(t.keys[name].read("pub_pgp"))[0]
    return {k.keyid for k in c.key_packets}


def check_encrypted(t, raw, r=None):
    """A multipart/encrypted message (RFC 3156 §4) of one armored OpenPGP message in a SEIPD
    v1 (MDC) packet. Returns (armored, [PKESK key IDs])."""
    check_crlf(raw, "the encrypted message", r)
    msg = mail.ParsedEntity(raw)
    expect_eq(msg.ctype, "multipart/encrypted", "the message's Content-Type", r)
    expect_eq(msg.params.get("protocol"), "application/pgp-encrypted", "the protocol parameter",
              r)
    expect(msg.closed, "the multipart/encrypted body has no close delimiter", r)
    expect_eq(len(msg.parts), 2, "the number of parts of multipart/encrypted", r)
    version, payload = msg.parts
    expect_eq(version.ctype, "application/pgp-encrypted", "the first part's Content-Type", r)
    expect("Version: 1" in [l.strip() for l in version.decoded().decode().splitlines()],
           "the version part should hold 'Version: 1': %r" % version.decoded(), r)
    expect_eq(payload.ctype, "application/octet-stream", "the second part's Content-Type", r)
    disp = mail.parse_params(payload.get("Content-Disposition") or "")[1]
    expect("encrypted.asc" in (payload.params.get("name"), disp.get("filename")),
           "the encrypted part should be named encrypted.asc", r)
    armored = payload.decoded()
    expect(armored.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----"),
           "the encrypted part should be an armored PGP message", r)
    check_7bit(mail.split_entity(raw)[1], "the encrypted message's body", r)
    ids, tags = pkesk_keyids(armored, r)
    expect(ids, "the message has no public-key encrypted session key packet", r)
    seipd = [v for tag, v in tags if tag == 18]
    expect(len(seipd) == 1 and seipd[0] == b"\x01",
           "expected one SEIPD v1 (MDC) packet after the session keys, got tags %s" % tags, r)
    expect(all(tag in (1, 18) for tag, _ in tags),
           "unexpected packets (SED without MDC? AEAD?) at the top level: %s" % tags, r)
    return armored, ids


def check_list_packets(t, armored, key_name, r=None):
    """gpg -v --list-packets in the peer home of key_name (a recipient): the session key
    packets' key IDs, an MDC-protected encrypted data packet (mdc_method 2), AES256. Returns
    the key IDs."""
    ct = write_tmp(t, "list.asc", armored)
    argv, p = gpg_run(t, key_name, "-v", "--list-packets", ct)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    expect(":encrypted data packet:" in out and re.search(r"mdc_method: 2\b", out),
           "gpg --list-packets should show an MDC-protected encrypted data packet:\n"
           + describe_proc(argv, p), r)
    expect("AES256 encrypted data" in err, "gpg --list-packets should show AES256 encrypted "
           "data:\n" + describe_proc(argv, p), r)
    return re.findall(r":pubkey enc packet: version \d+, algo \d+, keyid ([0-9A-F]{16})", out)


def gpg_decrypt(t, key_name, armored, signer=None, r=None):
    """Decrypts with gpg in the peer home holding key_name's private key: AES256, MDC checked;
    with signer, a good signature by that fixture key. Returns the plaintext."""
    ct = write_tmp(t, "ct-%s.asc" % key_name, armored)
    pt = t.path("pt-%s.bin" % key_name)
    argv, p = gpg_run(t, key_name, "--output", pt, "--decrypt", ct)
    st = status_lines(p)
    expect(p.returncode == 0 and status(st, "DECRYPTION_OKAY"),
           "gpg (%s's private key) cannot decrypt:\n%s" % (key_name, describe_proc(argv, p)), r)
    info = status(st, "DECRYPTION_INFO")
    expect(info and info[0][0] == "2" and info[0][1] == str(AES256),
           "gpg DECRYPTION_INFO should be MDC (2) with AES256 (9): %r" % info, r)
    expect(status(st, "GOODMDC"), "gpg reports no good MDC", r)
    if signer is None:
        expect(not status(st, "NEWSIG"), "the message should not be signed:\n"
               + describe_proc(argv, p), r)
    else:
        valid = status(st, "VALIDSIG")
        expect(status(st, "GOODSIG") and valid and not status(st, "BADSIG"),
               "gpg reports no good signature:\n" + describe_proc(argv, p), r)
        expect_eq(valid[0][-1], t.keys[signer].fingerprint, "gpg VALIDSIG fingerprint", r)
        expect(HASHES.get(int(valid[0][7])) in ("sha256", "sha384", "sha512"),
               "the signature's hash should be SHA-2: %r" % valid[0][7], r)
    with open(pt, "rb") as f:
        return f.read()


def sq_decrypt(t, key_name, armored, signer=None, r=None):
    ct = write_tmp(t, "sq-ct-%s.asc" % key_name, armored)
    args = ["decrypt", "--recipient-key", t.keys[key_name].path("sec_asc")]
    if signer is not None:
        args += ["--signer-cert", t.keys[signer].path("pub_asc")]
    argv, p = sq_run(*(args + [ct]))
    expect(p.returncode == 0, "sq decrypt (%s) fails:\n%s" % (key_name, describe_proc(argv, p)),
           r)
    if signer is not None:
        expect(b"Good signature" in p.stderr, "sq decrypt reports no good signature:\n"
               + describe_proc(argv, p), r)
    return p.stdout


def decoded_header(value):
    """An RFC 2047-encoded header value as text."""
    return str(email.header.make_header(email.header.decode_header(value)))


def check_payload_text(payload, name, r=None):
    ent = mail.ParsedEntity(payload)
    text = [l for l in ent.leaves() if l.ctype == "text/plain"]
    expect(text, "the decrypted entity has no text/plain part", r)
    expect_eq(text[0].decoded(), text_body(name), "the decrypted text", r)
    return ent


# ============================================================================ sign


def _sign(t, algo):
    sender, customer = PAIRS[algo]
    setup_helpdesk(t, sender, customer)
    name = "sign_" + algo
    draft = make_draft(t, sender, to=uid(t, customer), name=name)
    raw, r = send(t, draft, "--sign")
    first = check_signed(t, raw, sender, text_body(name), r)
    top = mail.ParsedEntity(raw)
    expect_eq(top.get("Subject"), subject_of(name), "the outer Subject of a signed message", r)
    expect_eq(top.get("Message-ID"), msgid_of(name), "the outer Message-ID", r)
    expect(top.get("Bcc") is None, "a Bcc field went out", r)
    expect_eq(first.get("Subject"), subject_of(name),
              "the Subject inside the signed part (RFC 9788)", r)


@outgoing_test
def test_sign_ed25519_verified_by_gpg_and_sq(t):
    _sign(t, "ed25519")


@outgoing_test
def test_sign_rsa_verified_by_gpg_and_sq(t):
    _sign(t, "rsa")


@outgoing_test
def test_sign_draft_with_lf_line_endings(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    name = "sign_lf"
    draft = mail.lf(make_draft(t, sender, to=uid(t, customer), name=name))
    raw, r = send(t, draft, "--sign")
    check_signed(t, raw, sender, text_body(name), r)


@outgoing_test
def test_plain_draft_goes_out_as_it_is(t):
    setup_helpdesk(t, "ed_pw")
    draft = make_draft(t, "ed_pw", to=uid(t, "ed_plain"), name="plain")
    raw, r = send(t, draft)
    expect_eq(raw, draft, "the message sent without --sign and --encrypt", r)


@outgoing_test
def test_sign_multipart_with_8bit_preamble_and_long_epilogue(t):
    """The preamble and epilogue of a multipart are text nobody reads (RFC 2046 §5.1.1), but
    they travel in the signed part: a draft whose preamble has UTF-8 text (and whose epilogue
    has a long line) must still be signed, 7-bit clean."""
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    name = "preamble"
    parts = [text_entity(name),
             mail.entity([("Content-Type", 'application/octet-stream; name="data.bin"'),
                          ("Content-Transfer-Encoding", "base64")], b64_lines(BLOB[:300]))]
    entity = mail.multipart("mixed", parts, "pre-b0undary",
                            preamble="Dies ist eine mehrteilige Nachricht \u2014 "
                                     "Gr\u00fc\u00dfe".encode("utf-8"),
                            epilogue=b"E" * 1200 + b"\r\n")
    draft = make_draft(t, sender, to=uid(t, customer), name=name, entity=entity)
    raw, r = send(t, draft, "--sign")
    first = check_signed(t, raw, sender, text_body(name), r)
    expect(BLOB[:300] in [l.decoded() for l in first.leaves()], "the attachment changed", r)


# ============================================================================ encrypt


def _encrypt(t, algo, sign):
    sender, customer = PAIRS[algo]
    setup_helpdesk(t, sender, customer)
    name = "%s_%s" % ("signenc" if sign else "enc", algo)
    draft = make_draft(t, sender, to=uid(t, customer), name=name)
    opts = ["--sign", "--encrypt"] if sign else ["--encrypt"]
    raw, r = send(t, draft, *opts)
    armored, ids = check_encrypted(t, raw, r)
    expect_eq(sorted(check_list_packets(t, armored, customer, r)), sorted(ids),
              "gpg --list-packets key IDs vs. the session key packets", r)
    # to the customer and to the sender's own key, each once, nobody else
    expect_eq(len(ids), 2, "the number of session key packets (customer + sender)", r)
    for who in (customer, sender):
        expect(key_ids(t, who) & set(ids), "the message is not encrypted to %s's key" % who, r)
    signer = sender if sign else None
    plain = gpg_decrypt(t, customer, armored, signer=signer, r=r)
    plain_sq = sq_decrypt(t, customer, armored, signer=signer, r=r)
    expect_eq(plain_sq, plain, "sq's plaintext vs. gpg's", r)
    own = gpg_decrypt(t, sender, armored, signer=signer, r=r)
    expect_eq(own, plain, "the plaintext for the sender's own key", r)
    ent = check_payload_text(plain, name, r)
    expect(ent.ctype != "multipart/signed",
           "sign+encrypt should be one OpenPGP message, not a multipart/signed inside", r)
    top = mail.ParsedEntity(raw)
    expect_eq(top.get("Subject"), "...", "the outer Subject of an encrypted message", r)
    expect(marker(name).encode() not in raw, "the plaintext is visible in the message", r)
    return raw, plain


@outgoing_test
def test_encrypt_ed25519_decrypted_by_gpg_and_sq(t):
    _encrypt(t, "ed25519", sign=False)


@outgoing_test
def test_encrypt_rsa_decrypted_by_gpg_and_sq(t):
    _encrypt(t, "rsa", sign=False)


@outgoing_test
def test_sign_encrypt_ed25519_one_pass(t):
    _encrypt(t, "ed25519", sign=True)


@outgoing_test
def test_sign_encrypt_rsa_one_pass(t):
    _encrypt(t, "rsa", sign=True)


# ============================================================================ protected headers


@outgoing_test
def test_protected_headers_inside_the_encrypted_payload(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer, "rsa4096")
    name = "protected"
    subject = "Ihre Anfrage \u00fcber M\u00fcller \u2014 %s" % marker(name)
    hs = [("From", "Helpdesk Team <%s>" % addr(t, sender)),
          ("To", uid(t, customer)),
          ("Cc", "RSA Four <rsa4096@example.com>"),
          ("Reply-To", "Support Desk <support@helpdesk.example>"),
          ("Subject", "=?UTF-8?B?%s?=" % base64.b64encode(subject.encode()).decode()),
          ("Date", DATE),
          ("Message-ID", msgid_of(name))]
    draft = mail.message(hs, text_entity(name))
    raw, r = send(t, draft, "--sign", "--encrypt")
    armored, _ = check_encrypted(t, raw, r)
    top = mail.ParsedEntity(raw)
    expect_eq(top.get("Subject"), "...", "the outer Subject", r)
    expect_eq(mail.header_all(top.fields, "Subject"), ["..."], "the outer Subject fields", r)
    expect(marker(name).encode() not in raw, "the real Subject is visible outside", r)
    plain = gpg_decrypt(t, customer, armored, signer=sender, r=r)
    inner = mail.ParsedEntity(plain)
    ct = inner.get("Content-Type")
    expect_eq(inner.params.get("protected-headers"), "v1",
              "the payload's Content-Type parameter protected-headers (%r)" % ct, r)
    want = dict(hs)
    want["Subject"] = subject
    for h in ("Subject", "From", "To", "Cc", "Date", "Message-ID", "Reply-To"):
        got = inner.get(h)
        expect(got is not None, "the payload lacks the protected header %s" % h, r)
        expect_eq(decoded_header(got), want[h], "the protected header %s" % h, r)
        expect_eq(len(mail.header_all(inner.fields, h)), 1, "the number of %s fields inside" % h,
                  r)
    check_payload_text(plain, name, r)


@outgoing_test
def test_no_protected_headers_keeps_the_outer_subject(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    name = "unprotected"
    draft = make_draft(t, sender, to=uid(t, customer), name=name)
    raw, r = send(t, draft, "--encrypt", "--no-protected-headers")
    armored, _ = check_encrypted(t, raw, r)
    expect_eq(mail.ParsedEntity(raw).get("Subject"), subject_of(name), "the outer Subject", r)
    plain = gpg_decrypt(t, customer, armored, r=r)
    inner = mail.ParsedEntity(plain)
    expect("protected-headers" not in inner.params,
           "--no-protected-headers: the payload's Content-Type is marked protected: %r"
           % inner.get("Content-Type"), r)
    expect(inner.get("Subject") is None, "--no-protected-headers: a Subject inside", r)
    check_payload_text(plain, name, r)


@outgoing_test
def test_date_and_message_id_added_outside_and_inside(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    name = "noid"
    hs = [("From", "Helpdesk Team <%s>" % addr(t, sender)), ("To", uid(t, customer)),
          ("Subject", subject_of(name))]
    raw, r = send(t, mail.message(hs, text_entity(name)), "--sign", "--encrypt")
    top = mail.ParsedEntity(raw)
    for h in ("Date", "Message-ID"):
        expect_eq(len(mail.header_all(top.fields, h)), 1, "outer %s fields" % h, r)
    expect(re.fullmatch(r"<[^<>@\s]+@example\.com>", top.get("Message-ID")),
           "the added Message-ID should be at the sender's domain: %r" % top.get("Message-ID"), r)
    armored, _ = check_encrypted(t, raw, r)
    inner = mail.ParsedEntity(gpg_decrypt(t, customer, armored, signer=sender, r=r))
    for h in ("Date", "Message-ID"):
        expect_eq(inner.get(h), top.get(h), "the protected %s vs. the outer one" % h, r)


# ============================================================================ round trip


@outgoing_test
def test_round_trip_through_pgpdesk_incoming(t):
    db2 = os.path.join(t.tmp, "db2", "customer.db")
    os.makedirs(os.path.dirname(db2))
    for algo, (sender, customer) in sorted(PAIRS.items()):
        setup_helpdesk(t, sender, customer)
        t.import_key(t.keys[customer], "sec_asc", db=db2)
        t.import_key(t.keys[sender], "pub_asc", db=db2)
        for opts, enc in ((("--sign", "--encrypt"), "decrypted"), (("--sign",), "none"),
                          (("--encrypt",), "decrypted")):
            name = "rt_%s_%s" % (algo, "_".join(o[2:] for o in opts))
            draft = make_draft(t, sender, to=uid(t, customer), name=name)
            raw, _ = send(t, draft, *opts, name=name + ".eml")
            r = t.run("incoming", "--json", stdin=raw, db=db2)
            expect(r.rc == 0, "incoming: expected exit 0, got %s" % r.rc, r)
            a = r.json()
            sec = a["security"]
            want_sign = "good" if "--sign" in opts else "none"
            expect_eq(sec["sign"]["status"], want_sign, "%s: security.sign.status" % name, r)
            expect_eq(sec["encryption"]["status"], enc, "%s: security.encryption.status" % name,
                      r)
            if "--sign" in opts:
                expect_eq(sec["sign"]["signer_fingerprint"], t.keys[sender].fingerprint,
                          "%s: signer" % name, r)
            expect_eq(a["subject"], subject_of(name), "%s: the article's subject" % name, r)
            m = t.ok("article", "show", str(a["id"]), "--mime", db=db2)
            texts = b"".join(l.decoded() for l in mail.ParsedEntity(m.outb).leaves())
            expect(marker(name).encode() in texts, "%s: the processed view lacks the text" % name,
                   m)


# ============================================================================ errors


def expect_refused(t, draft, opts, message, dir_too=False):
    """outgoing refuses: exit 1, exactly `pgpdesk: message`, nothing on stdout, no file
    written, no article stored. Returns the result."""
    dpath = t.write("draft-refused.eml", draft)
    out = t.path("refused.eml")
    r = t.run("outgoing", *opts, "--input", dpath, "--output", out)
    t.expect_error(r, message)
    expect(r.outb == b"", "a refused draft printed something on stdout", r)
    expect(not os.path.exists(out), "a refused draft left an output file", r)
    r2 = t.run("outgoing", *opts, "--input", dpath)
    t.expect_error(r2, message)
    expect(r2.outb == b"", "a refused draft (to stdout) printed something on stdout", r2)
    if dir_too:
        d = t.path("refused-dir")
        os.makedirs(d, exist_ok=True)
        r3 = t.run("outgoing", *opts, "--input", dpath, "--output-dir", d, "--json")
        t.expect_error(r3, message)
        expect(r3.outb == b"", "a refused draft printed JSON", r3)
        expect_eq(os.listdir(d), [], "files in --output-dir after a refused draft", r3)
    a = t.run("article", "show", "1", "--json")
    expect(a.rc != 0, "an article was stored for a refused draft", a)
    return r


@outgoing_test
def test_sign_without_a_private_key_for_from(t):
    sender, customer = PAIRS["ed25519"]
    t.import_key(t.keys[sender], "pub_asc")       # the public part only
    t.import_key(t.keys[customer], "pub_asc")
    draft = make_draft(t, sender, to=uid(t, customer), name="nosec")
    msg = MSG_NOT_FOUND_FOR % addr(t, sender)
    expect_refused(t, draft, ["--sign"], msg, dir_too=True)
    expect_refused(t, draft, ["--sign", "--encrypt"], msg)


@outgoing_test
def test_sign_with_no_key_at_all_for_from(t):
    t.import_key(t.keys["ed_plain"], "pub_asc")
    draft = make_draft(t, "ed_pw", to=uid(t, "ed_plain"), name="nokey")
    expect_refused(t, draft, ["--sign"], MSG_NOT_FOUND_FOR % addr(t, "ed_pw"))


@outgoing_test
def test_encrypt_to_a_recipient_without_key(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    draft = make_draft(t, sender, to=uid(t, customer), cc="No Key <%s>" % NOKEY, name="nokey")
    expect_refused(t, draft, ["--encrypt"], MSG_NOT_FOUND_FOR % NOKEY, dir_too=True)
    expect_refused(t, draft, ["--sign", "--encrypt"], MSG_NOT_FOUND_FOR % NOKEY)


@outgoing_test
def test_encrypt_to_an_expired_key(t):
    setup_helpdesk(t, "ed_pw", "ed_plain", "expired")
    draft = make_draft(t, "ed_pw", to="Expired Key <expired@example.com>", name="expired")
    expect_refused(t, draft, ["--encrypt"], MSG_EXPIRED_FOR % "expired@example.com",
                   dir_too=True)


@outgoing_test
def test_encrypt_to_a_revoked_key(t):
    setup_helpdesk(t, "ed_pw", "ed_plain")
    t.import_key(t.keys["revoked"], "pub_asc_v2")
    draft = make_draft(t, "ed_pw", to=uid(t, "ed_plain"), cc="Revoked <revoked@example.com>",
                       name="revoked")
    expect_refused(t, draft, ["--encrypt"], MSG_REVOKED_FOR % "revoked@example.com",
                   dir_too=True)


@outgoing_test
def test_no_recipient(t):
    setup_helpdesk(t, "ed_pw")
    draft = make_draft(t, "ed_pw", name="norcpt")
    for opts in (["--encrypt"], ["--sign", "--encrypt"], ["--sign"]):
        expect_refused(t, draft, opts, MSG_NO_RECIPIENT)


@outgoing_test
def test_sign_with_an_expired_or_revoked_sender_key(t):
    for n, msg in (("expired", MSG_EXPIRED_FOR), ("revoked", MSG_REVOKED_FOR)):
        key = t.keys[n]
        t.import_key(key, "sec_asc", passphrase=key.passphrase)
    t.import_key(t.keys["revoked"], "pub_asc_v2")        # the revocation
    t.import_key(t.keys["ed_plain"], "pub_asc")
    for n, msg in (("expired", MSG_EXPIRED_FOR), ("revoked", MSG_REVOKED_FOR)):
        draft = make_draft(t, n, to=uid(t, "ed_plain"), name="sender_" + n)
        expect_refused(t, draft, ["--sign"], msg % addr(t, n))
        expect_refused(t, draft, ["--sign", "--encrypt"], msg % addr(t, n))


# ============================================================================ Bcc


@outgoing_test
def test_bcc_gets_copies_of_its_own(t):
    sender = "ed_pw"
    to, cc = "ed_plain", "rsa4096"
    setup_helpdesk(t, sender, to, cc, *BCC_NAMES)
    name = "bcc"
    bcc_addrs = [addr(t, n) for n in BCC_NAMES]
    # written in another case than the key's address: found all the same
    bcc = "Juergen <Juergen@Example.COM>, %s" % bcc_addrs[1]
    draft = make_draft(t, sender, to=uid(t, to), cc=uid(t, cc), bcc=bcc, name=name)
    dpath = t.write("draft.eml", draft)
    d = t.path("copies")
    os.makedirs(d)
    r = t.run("outgoing", "--sign", "--encrypt", "--input", dpath, "--output-dir", d, "--json")
    expect(r.rc == 0, "outgoing with Bcc: expected exit 0, got %s" % r.rc, r)
    copies = r.json().get("copies")
    expect(isinstance(copies, list) and len(copies) == 3,
           "expected 3 copies (To/Cc, then one per Bcc): %r" % (copies,), r)
    expect_eq(sorted(os.listdir(d)), ["1.eml", "2.eml", "3.eml"], "files in --output-dir", r)
    expect_eq([c["recipients"] for c in copies][0], [addr(t, to), addr(t, cc)],
              "the To/Cc copy's recipients", r)
    got_bcc = [[a.lower() for a in c["recipients"]] for c in copies[1:]]
    expect_eq(got_bcc, [[a] for a in bcc_addrs], "the Bcc copies' recipients", r)
    ids_of = {n: key_ids(t, n) for n in (sender, to, cc) + BCC_NAMES}

    def read(i):
        expect_eq(copies[i]["file"], os.path.join(d, "%d.eml" % (i + 1)), "copy %d file" % i, r)
        with open(copies[i]["file"], "rb") as f:
            return f.read()

    # the To/Cc copy: no Bcc address anywhere, encrypted to To + Cc + sender only
    raw = read(0)
    armored, ids = check_encrypted(t, raw, r)
    for a in bcc_addrs:
        expect(a.encode() not in raw.lower(), "the To/Cc copy names the Bcc %s" % a, r)
    expect(b"bcc:" not in raw.lower(), "the To/Cc copy has a Bcc field", r)
    expect_eq(sorted(check_list_packets(t, armored, to, r)), sorted(ids),
              "list-packets key IDs", r)
    expect_eq(len(ids), 3, "session key packets of the To/Cc copy", r)
    for n in (sender, to, cc):
        expect(ids_of[n] & set(ids), "the To/Cc copy is not encrypted to %s" % n, r)
    for n in BCC_NAMES:
        expect(not ids_of[n] & set(ids), "the To/Cc copy is encrypted to the Bcc key %s" % n, r)
    plain = gpg_decrypt(t, to, armored, signer=sender, r=r)
    for a in bcc_addrs:
        expect(a.encode() not in plain.lower(), "the To/Cc payload names the Bcc %s" % a, r)
    expect(b"bcc:" not in plain.lower(), "the To/Cc payload has a Bcc field", r)
    check_payload_text(plain, name, r)

    # each Bcc copy: encrypted to that Bcc recipient (+ sender), naming no other Bcc
    for i, n in enumerate(BCC_NAMES, start=1):
        raw = read(i)
        armored, ids = check_encrypted(t, raw, r)
        expect_eq(len(ids), 2, "session key packets of the Bcc copy for %s" % n, r)
        for who in (n, sender):
            expect(ids_of[who] & set(ids), "the Bcc copy %d is not encrypted to %s" % (i, who), r)
        for other in (to, cc) + tuple(b for b in BCC_NAMES if b != n):
            expect(not ids_of[other] & set(ids),
                   "the Bcc copy for %s is encrypted to %s too" % (n, other), r)
        others = [a for a in bcc_addrs if a != addr(t, n)]
        for a in others:
            expect(a.encode() not in raw.lower(), "the Bcc copy for %s names %s" % (n, a), r)
        expect(b"bcc:" not in raw.lower(), "a Bcc copy has a Bcc field", r)
        if t.keys[n].passphrase is None:   # sq keys: the customer decrypts with sq
            plain = sq_decrypt(t, n, armored, signer=sender, r=r)
        else:
            plain = gpg_decrypt(t, n, armored, signer=sender, r=r)
        for a in others:
            expect(a.encode() not in plain.lower(), "the Bcc payload for %s names %s" % (n, a), r)
        expect(b"bcc:" not in plain.lower(), "a Bcc payload has a Bcc field", r)
        check_payload_text(plain, name, r)


@outgoing_test
def test_bcc_copies_signed_only_name_no_other_bcc(t):
    setup_helpdesk(t, "ed_pw", "ed_plain")
    bcc_addrs = ["hidden.one@example.net", "hidden.two@example.net"]
    draft = make_draft(t, "ed_pw", to=uid(t, "ed_plain"), bcc=", ".join(bcc_addrs),
                       name="bccsign")
    dpath = t.write("draft.eml", draft)
    d = t.path("copies")
    os.makedirs(d)
    r = t.run("outgoing", "--sign", "--input", dpath, "--output-dir", d, "--json")
    expect(r.rc == 0, "outgoing --sign with Bcc: expected exit 0, got %s" % r.rc, r)
    copies = r.json()["copies"]
    expect_eq(len(copies), 3, "the number of copies", r)
    for i, c in enumerate(copies):
        with open(c["file"], "rb") as f:
            raw = f.read()
        check_signed(t, raw, "ed_pw", text_body("bccsign"), r)
        for a in bcc_addrs:
            if c["recipients"] != [a]:
                expect(a.encode() not in raw.lower(), "copy %d names the Bcc %s" % (i + 1, a), r)
        expect(b"bcc:" not in raw.lower(), "copy %d has a Bcc field" % (i + 1), r)


@outgoing_test
def test_bcc_without_output_dir_is_refused_before_anything_is_stored(t):
    setup_helpdesk(t, "ed_pw", "ed_plain", "utf8")
    draft = make_draft(t, "ed_pw", to=uid(t, "ed_plain"), bcc=addr(t, "utf8"), name="bccnodir")
    dpath = t.write("draft.eml", draft)
    for extra in ([], ["--output", t.path("one.eml")]):
        r = t.run("outgoing", "--sign", "--encrypt", "--input", dpath, *extra)
        expect_eq(r.rc, 2, "a Bcc draft without --output-dir: exit status", r)
        expect("--output-dir" in r.err, "the usage error should ask for --output-dir", r)
        expect(r.outb == b"", "a refused Bcc draft printed a message", r)
        expect(not os.path.exists(t.path("one.eml")), "a refused Bcc draft wrote a file", r)
    a = t.run("article", "show", "1", "--json")
    expect(a.rc != 0, "an article was stored for a refused Bcc draft", a)
    rows = t.ok("log", "--json").json()
    expect_eq(rows, [], "log rows after a refused Bcc draft", a)


# ============================================================================ attachments


RNG = random.Random(4711)
BLOB = bytes(RNG.randrange(256) for _ in range(3000)) + b"\0\r\n\n\r" * 8
RAW_BLOB = bytes(RNG.randrange(256) for _ in range(1500))
PNG = (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0" +
       bytes(RNG.randrange(256) for _ in range(700)))


def b64_lines(data):
    b = base64.b64encode(data)
    return b"\r\n".join(b[i:i + 76] for i in range(0, len(b), 76)) + b"\r\n"


def mixed_entity(name):
    parts = [
        text_entity(name),
        mail.entity([("Content-Type", 'application/octet-stream; name="data.bin"'),
                     ("Content-Transfer-Encoding", "base64"),
                     ("Content-Disposition", 'attachment; filename="data.bin"')],
                    b64_lines(BLOB)),
        # raw binary bytes (CTE binary): exactly these bytes, no line-break conversion
        mail.header_lines([("Content-Type", 'application/x-raw; name="raw.bin"'),
                           ("Content-Transfer-Encoding", "binary"),
                           ("Content-Disposition", 'attachment; filename="raw.bin"')])
        + CRLF + RAW_BLOB,
    ]
    return mail.multipart("mixed", parts, "mixed-b0undary-Qz")


def related_entity(name):
    html = ('<html><body><p>Gr\u00fc\u00dfe %s</p><img src="cid:logo.123@helpdesk.example">'
            '</body></html>\r\n' % marker(name)).encode("utf-8")
    parts = [
        mail.text_part(html, ctype='text/html; charset="utf-8"'),
        mail.entity([("Content-Type", 'image/png; name="logo.png"'),
                     ("Content-Transfer-Encoding", "base64"),
                     ("Content-ID", "<logo.123@helpdesk.example>"),
                     ("Content-Disposition", 'inline; filename="logo.png"')], b64_lines(PNG)),
    ]
    return mail.multipart("related", parts, "related-b0undary-Qz", params='; type="text/html"')


def check_mixed(ent, r, what):
    expect_eq(ent.ctype, "multipart/mixed", "%s: the entity's type" % what, r)
    leaves = {l.params.get("name"): l for l in ent.leaves()}
    expect("data.bin" in leaves and "raw.bin" in leaves,
           "%s: the attachments are missing: %s" % (what, sorted(map(str, leaves))), r)
    expect(leaves["data.bin"].decoded() == BLOB,
           "%s: the base64 attachment's bytes differ" % what, r)
    expect(leaves["raw.bin"].decoded() == RAW_BLOB,
           "%s: the binary attachment's bytes differ (%d bytes, want %d)"
           % (what, len(leaves["raw.bin"].decoded()), len(RAW_BLOB)), r)


def check_related(ent, r, what, name):
    expect_eq(ent.ctype, "multipart/related", "%s: the entity's type" % what, r)
    html = [l for l in ent.leaves() if l.ctype == "text/html"]
    img = [l for l in ent.leaves() if l.ctype == "image/png"]
    expect(html and img, "%s: the html or the image part is missing" % what, r)
    expect(b"cid:logo.123@helpdesk.example" in html[0].decoded() and
           marker(name).encode() in html[0].decoded(), "%s: the html changed" % what, r)
    expect_eq(img[0].get("Content-ID"), "<logo.123@helpdesk.example>",
              "%s: the image's Content-ID" % what, r)
    expect(img[0].decoded() == PNG, "%s: the image's bytes differ" % what, r)


@outgoing_test
def test_attachments_travel_inside_the_encrypted_entity(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    for kind, build in (("mixed", mixed_entity), ("related", related_entity)):
        name = "att_" + kind
        draft = make_draft(t, sender, to=uid(t, customer), name=name, entity=build(name))
        raw, r = send(t, draft, "--sign", "--encrypt", name=name + ".eml")
        armored, _ = check_encrypted(t, raw, r)
        top = mail.ParsedEntity(raw)
        expect(all(not l.ctype.startswith(("image/", "application/x-raw")) and
                   l.params.get("name") not in ("data.bin", "logo.png") for l in top.leaves()),
               "%s: an attachment travels outside the encrypted part" % kind, r)
        plain = gpg_decrypt(t, customer, armored, signer=sender, r=r)
        ent = mail.ParsedEntity(plain)
        if kind == "mixed":
            check_mixed(ent, r, "decrypted " + kind)
        else:
            check_related(ent, r, "decrypted " + kind, name)


@outgoing_test
def test_attachments_travel_inside_the_signed_part(t):
    sender, customer = PAIRS["rsa"]
    setup_helpdesk(t, sender, customer)
    for kind, build in (("mixed", mixed_entity), ("related", related_entity)):
        name = "satt_" + kind
        draft = make_draft(t, sender, to=uid(t, customer), name=name, entity=build(name))
        raw, r = send(t, draft, "--sign", name=name + ".eml")
        first = check_signed(t, raw, sender, None, r)
        if kind == "mixed":
            check_mixed(first, r, "signed " + kind)
            text = [l for l in first.leaves() if l.ctype == "text/plain"]
            expect_eq(text[0].decoded(), text_body(name), "the signed text", r)
        else:
            check_related(first, r, "signed " + kind, name)


# ============================================================================ articles and log


@outgoing_test
def test_article_and_log_rows(t):
    sender, customer = PAIRS["ed25519"]
    setup_helpdesk(t, sender, customer)
    name = "artlog"
    dpath = t.write("draft.eml", make_draft(t, sender, to=uid(t, customer), name=name))
    out = t.path("sent.eml")
    r = t.run("outgoing", "--sign", "--encrypt", "--json", "--input", dpath, "--output", out)
    expect(r.rc == 0, "outgoing --json: expected exit 0, got %s" % r.rc, r)
    copies = r.json().get("copies")
    expect(isinstance(copies, list) and len(copies) == 1, "expected one copy: %r" % copies, r)
    c = copies[0]
    expect_eq(c["recipients"], [addr(t, customer)], "copy recipients", r)
    expect_eq(c["file"], out, "copy file", r)
    aid = c["article_id"]
    expect(isinstance(aid, int) and aid > 0, "article_id should be a positive integer", r)
    a = t.ok("article", "show", str(aid), "--json")
    art = a.json()
    expect_eq(art["id"], aid, "article id", a)
    expect_eq(art["direction"], "out", "article direction", a)
    expect_eq(art["subject"], subject_of(name), "article subject", a)
    expect_eq(art["message_id"], msgid_of(name).strip("<>"), "article message_id", a)
    expect(addr(t, sender) in (art["from"] or ""), "article from: %r" % art["from"], a)
    expect(addr(t, customer) in (art["to"] or ""), "article to: %r" % art["to"], a)
    expect(re.fullmatch(TS, art["created_at"] or ""), "article created_at", a)
    sec = art["security"]
    expect(sec["sign"]["success"] is True and sec["encryption"]["success"] is True,
           "the article's security should say signed and encrypted: %r" % sec, a)
    raw = t.ok("article", "show", str(aid), "--raw")
    with open(out, "rb") as f:
        expect_eq(raw.outb, f.read(), "article show --raw vs. the message sent", raw)

    rows = t.ok("log", "--json").json()
    by = {}
    for row in rows:
        by.setdefault(row["method"], []).append(row)
    expect_eq(sorted(by), ["encryption", "sign"], "log methods", r)
    for method in ("sign", "encryption"):
        expect_eq(len(by[method]), 1, "log rows for %s" % method, r)
        row = by[method][0]
        expect_eq(row["status"], "success", "log %s status" % method, r)
        expect_eq(row["direction"], "out", "log %s direction" % method, r)
        expect_eq(row["message_id"], msgid_of(name).strip("<>"), "log %s message_id" % method, r)
        expect(addr(t, sender) in row["from_to"] and addr(t, customer) in row["from_to"],
               "log %s from_to: %r" % (method, row["from_to"]), r)
        expect_eq(row["detail"].get("article_id"), aid, "log %s detail.article_id" % method, r)
    expect_eq(by["sign"][0]["detail"].get("signer_fingerprint"), t.keys[sender].fingerprint,
              "log sign signer_fingerprint", r)
    expect_eq(sorted(by["encryption"][0]["detail"].get("key_fingerprints") or []),
              sorted([t.keys[sender].fingerprint, t.keys[customer].fingerprint]),
              "log encryption key_fingerprints", r)

    # a refused encryption: a failed row, no article
    d2 = t.write("draft2.eml", make_draft(t, sender, to="No Key <%s>" % NOKEY, name="refused"))
    r2 = t.run("outgoing", "--encrypt", "--json", "--input", d2)
    t.expect_error(r2, MSG_NOT_FOUND_FOR % NOKEY)
    rows2 = t.ok("log", "--json").json()
    expect_eq(len(rows2), len(rows) + 1, "log rows after a refused encryption", r2)
    new = [row for row in rows2 if row["id"] not in {x["id"] for x in rows}]
    expect_eq(len(new), 1, "new log rows", r2)
    expect_eq(new[0]["method"], "encryption", "the refused row's method", r2)
    expect_eq(new[0]["status"], "failed", "the refused row's status", r2)
    expect_eq(new[0]["direction"], "out", "the refused row's direction", r2)
    expect(NOKEY in new[0]["from_to"], "the refused row's from_to: %r" % new[0]["from_to"], r2)
    a2 = t.run("article", "show", str(aid + 1), "--json")
    expect(a2.rc != 0, "an article was stored for the refused draft", a2)


# ============================================================================ GMime hang


def hang_drafts(t):
    frm = "Helpdesk Team <%s>" % addr(t, "ed_pw")
    head = ("From: %s\r\nTo: %s\r\nSubject: hang\r\nDate: %s\r\nMessage-ID: <hang@x.example>\r\n"
            "MIME-Version: 1.0\r\n" % (frm, uid(t, "ed_plain"), DATE)).encode()
    nonascii = ("\u045c" * 36).encode("utf-8")
    val = "\u045c".encode("utf-8")
    out = {
        "multipart-nonascii-name": head + b"Content-Type: multipart/mixed;\r\n " + nonascii +
        b'="' + val + b'"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n',
        "multipart-boundary-and-nonascii-name": head +
        b'Content-Type: multipart/mixed; boundary="x";\r\n ' + nonascii + b'="' + val +
        b'"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n',
        "text-nonascii-name": head + b"Content-Type: text/plain;\r\n " + nonascii + b'="' + val +
        b'"\r\n\r\nhi\r\n',
        "nested-part-nonascii-name": head + b'Content-Type: multipart/mixed; boundary="y"\r\n\r\n'
        b"--y\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--y\r\n"
        b"Content-Type: application/octet-stream;\r\n " + nonascii + b'="' + val + b'"\r\n'
        b"Content-Disposition: attachment;\r\n " + nonascii + b'="' + val + b'"\r\n\r\nxx\r\n'
        b"--y--\r\n",
    }
    # ASCII names around the length GMime 3.2.13 loops on, with values to RFC 2231-encode
    for n in (64, 65, 70, 71, 72):
        out["ascii-name-%d" % n] = (head + b"Content-Type: text/plain; charset=utf-8;\r\n " +
                                    b"p" * n + b'="' + "\u00e9t\u00e9".encode() +
                                    b'"\r\n\r\nhi\r\n')
        out["rfc2231-name-%d" % n] = (head + b"Content-Type: text/plain\r\n"
                                      b"Content-Disposition: attachment;\r\n " + b"q" * n +
                                      b"*=utf-8''%C3%A9t%C3%A9\r\n\r\nhi\r\n")
    return out


@outgoing_test
def test_gmime_param_hang_is_refused_or_processed_in_time(t):
    setup_helpdesk(t, "ed_pw", "ed_plain")
    for label, draft in sorted(hang_drafts(t).items()):
        for opts in ([], ["--sign"], ["--sign", "--encrypt"]):
            r = t.run("outgoing", *opts, stdin=draft, timeout=30)
            what = "%s %s" % (label, " ".join(opts) or "(plain)")
            expect(r.rc != "timeout", "%s: pgpdesk outgoing hung (killed after 30 s)" % what, r)
            expect(r.rc in (0, 1), "%s: expected exit 0 or 1, got %s" % (what, r.rc), r)
            if r.rc == 1:
                t.expect_error(r)
                continue
            expect(r.errb == b"", "%s: stderr" % what, r)
            msg = mail.ParsedEntity(r.outb)
            if "--encrypt" in opts:
                expect_eq(msg.ctype, "multipart/encrypted", "%s: Content-Type" % what, r)
            elif "--sign" in opts:
                check_signed(t, r.outb, "ed_pw", None, r)
