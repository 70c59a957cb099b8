"""Large messages (over 8 MiB), through the CLI's --input FILE, which streams them: pgpdesk
parses, encrypts and decrypts them without holding them whole in memory and keeps them as body
files beside the database. What it sends is read by gpg 2.2; what it receives is made by gpg.

Memory and speed are measured by `make bench` (W3), not here; these tests pin down that the
streamed paths give the same answers as the in-memory ones.
"""

import base64
import hashlib
import os

import mail
import test_incoming as inc
import test_outgoing as out
from support import expect, expect_eq

MIB = 1024 * 1024
SIZE = 12 * MIB  # an attachment this large makes a draft of about 16 MiB


def attachment(seed):
    """SIZE incompressible bytes (like the PDFs and images people attach), reproducible."""
    block = hashlib.sha512(seed.encode()).digest()
    data = bytearray()
    while len(data) < SIZE:
        block = hashlib.sha512(block).digest()
        data += block * 64
    return bytes(data[:SIZE])


def with_attachment(name, data):
    """A multipart/mixed entity: the test text, then data as a base64 PDF."""
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    pdf = mail.entity([("Content-Type", 'application/pdf; name="scan.pdf"'),
                       ("Content-Disposition", 'attachment; filename="scan.pdf"'),
                       ("Content-Transfer-Encoding", "base64")], b"")
    return mail.multipart("mixed", [out.text_entity(name), pdf + b64], "large-b0undary-1")


def attachment_of(entity_bytes):
    leaves = [l for l in mail.ParsedEntity(entity_bytes).leaves() if l.ctype == "application/pdf"]
    return leaves[0].decoded() if leaves else None


def send_file(t, draft, *opts, db=None, name="out.eml"):
    return out.send(t, draft, *opts, db=db, name=name)


def receive_file(t, data, db):
    """incoming --input FILE --json into db: exit 0, nothing on stderr. Returns (article, r)."""
    path = t.write("in-%d.eml" % len(data), data)
    r = t.run("incoming", "--json", "--input", path, db=db, timeout=300)
    expect(r.rc == 0, "incoming: expected exit 0, got %s" % r.rc, r)
    expect(r.errb == b"", "incoming printed to stderr", r)
    return r.json(), r


def customer_db(t, sender, customer, with_private_key=True):
    db = os.path.join(t.tmp, "customer", "customer.db")
    os.makedirs(os.path.dirname(db), exist_ok=True)
    if with_private_key:
        t.import_key(t.keys[customer], "sec_asc", db=db)
    t.import_key(t.keys[sender], "pub_asc", db=db)
    return db


def large_draft(t, pair, seed, name, *others, **fields):
    """The helpdesk of the key pair (with the public keys of others too) and a draft over
    8 MiB from it to the pair's customer, its attachment made from seed:
    (sender, customer, attachment, draft)."""
    sender, customer = out.PAIRS[pair]
    out.setup_helpdesk(t, sender, customer, *others)
    data = attachment(seed)
    draft = out.make_draft(t, sender, to=out.uid(t, customer), name=name,
                           entity=with_attachment(name, data), **fields)
    return sender, customer, data, draft


def body_files(db):
    d = db + ".files"
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


@out.outgoing_test
def test_large_sign_encrypt_read_by_gpg_and_opened_again(t):
    name = "large_signenc"
    sender, customer, data, draft = large_draft(t, "ed25519", "sealed", name)
    expect(len(draft) > 8 * MIB, "the draft should be over the 8 MiB threshold")
    raw, r = send_file(t, draft, "--sign", "--encrypt")
    out.check_crlf(raw, "the encrypted message", r)
    top = mail.ParsedEntity(raw)
    expect_eq(top.ctype, "multipart/encrypted", "the message's Content-Type", r)
    expect_eq(top.get("Subject"), "...", "the outer Subject of an encrypted message", r)
    expect(out.marker(name).encode() not in raw, "the plaintext is visible in the message", r)
    armored = top.parts[1].decoded()
    plain = out.gpg_decrypt(t, customer, armored, signer=sender, r=r)
    out.check_payload_text(plain, name, r)
    expect(attachment_of(plain) == data, "the attachment gpg decrypted differs from the draft's",
           r)
    expect_eq(mail.ParsedEntity(plain).get("Subject"), out.subject_of(name),
              "the protected Subject inside", r)
    # The sent copy is the outgoing article, kept as a file beside the database.
    art = t.ok("article", "show", "1", "--raw")
    expect(art.outb == raw, "article show --raw should be the message sent", art)
    expect(len(body_files(t.db)) == 2, "the sent message and the draft should be body files: %s"
           % body_files(t.db), art)

    # The customer's side opens it streamed.
    db2 = customer_db(t, sender, customer)
    a, r = receive_file(t, raw, db2)
    expect_eq(a["security"]["encryption"]["status"], "decrypted", "security.encryption.status", r)
    expect_eq(a["security"]["sign"]["status"], "good", "security.sign.status", r)
    expect_eq(a["security"]["sign"]["signer_fingerprint"], t.keys[sender].fingerprint,
              "security.sign.signer_fingerprint", r)
    expect_eq(a["subject"], out.subject_of(name), "the article's subject (protected header)", r)
    view = t.ok("article", "show", str(a["id"]), "--mime", db=db2)
    expect(attachment_of(view.outb) == data, "the processed view's attachment differs", view)
    expect(out.marker(name).encode() in inc.visible(view.outb),
           "the processed view lacks the text", view)
    # The view is one message: the outer headers, the protected ones winning, then the payload
    # (whose file is the decrypted payload itself, named rather than copied).
    expect_eq(mail.ParsedEntity(view.outb).get("Subject"), out.subject_of(name),
              "the processed view's Subject", view)
    expect(len(body_files(db2)) == 2, "the raw message and the view should be the customer's "
           "body files: %s" % body_files(db2), view)
    raw2 = t.ok("article", "show", str(a["id"]), "--raw", db=db2)
    expect(raw2.outb == raw, "the incoming article's raw message should be what arrived", raw2)


@out.outgoing_test
def test_large_sign_only_verified_by_gpg_and_sq(t):
    name = "large_sign"
    sender, customer, data, draft = large_draft(t, "rsa", "signed", name)
    raw, r = send_file(t, draft, "--sign")
    first = out.check_signed(t, raw, sender, out.text_body(name), r)
    expect(attachment_of(first.raw) == data, "the signed attachment differs from the draft's", r)

    db2 = customer_db(t, sender, customer)
    a, r = receive_file(t, raw, db2)
    expect_eq(a["security"]["sign"]["status"], "good", "security.sign.status", r)
    expect_eq(a["security"]["encryption"]["status"], "none", "security.encryption.status", r)


@out.outgoing_test
def test_large_plain_draft_goes_out_as_it_is(t):
    _, _, _, draft = large_draft(t, "ed25519", "plain", "large_plain")
    raw, r = send_file(t, draft)
    expect(raw == draft, "a plain large draft should go out byte for byte", r)


@out.outgoing_test
def test_large_tampered_ciphertext_keeps_nothing(t):
    name = "large_tampered"
    sender, customer, _, draft = large_draft(t, "ed25519", "tampered", name)
    raw, _ = send_file(t, draft, "--encrypt")
    # One base64 character in the middle of the ciphertext changed: the MDC cannot match.
    mid = len(raw) // 2
    while not raw[mid:mid + 1].isalnum():
        mid += 1
    flipped = b"A" if raw[mid:mid + 1] != b"A" else b"B"
    bad = raw[:mid] + flipped + raw[mid + 1:]
    db2 = customer_db(t, sender, customer)
    a, r = receive_file(t, bad, db2)
    e = a["security"]["encryption"]
    expect(e["success"] is False and e["status"] == "integrity_failure",
           "a tampered ciphertext should fail (integrity_failure), got %r" % e["status"], r)
    view = t.ok("article", "show", str(a["id"]), "--mime", db=db2)
    expect(out.marker(name).encode() not in inc.visible(view.outb),
           "a failed decryption revealed plaintext", view)
    expect(len(body_files(db2)) == 1, "only the raw message should be kept as a file: %s"
           % body_files(db2), r)


@inc.incoming_test
def test_large_incoming_signed_by_gpg(t):
    inc.customers(t, "ed_pw")
    key = t.keys["ed_pw"]
    data = attachment("gpg-signed")
    part = with_attachment("large_gpg_signed", data)
    sig = inc.corpus(t).detach_sign(part, "ed_pw")
    msg = mail.message(mail.headers(key.user_ids[0], "Helpdesk <helpdesk@example.com>",
                                    "Large signed", msgid="<large-signed@customer.example>"),
                       mail.signed(part, sig))
    a, r = receive_file(t, msg, t.db)
    expect_eq(a["security"]["sign"]["status"], "good", "security.sign.status", r)
    expect_eq(a["security"]["sign"]["signer_fingerprint"], key.fingerprint, "the signer", r)
    view = t.ok("article", "show", str(a["id"]), "--mime")
    expect(attachment_of(view.outb) == data, "the processed view's attachment differs", view)
    # One byte of the signed attachment changed: the signature no longer holds.
    i = msg.index(b"Content-Transfer-Encoding: base64") + 200
    bad = msg[:i] + (b"A" if msg[i:i + 1] != b"A" else b"B") + msg[i + 1:]
    a, r = receive_file(t, bad, t.db)
    expect_eq(a["security"]["sign"]["status"], "bad", "a changed signed part: sign.status", r)


@out.outgoing_test
def test_large_retry_after_the_key_arrives(t):
    sender, customer, data, draft = large_draft(t, "ed25519", "retry", "large_retry")
    raw, _ = send_file(t, draft, "--sign", "--encrypt")
    db2 = customer_db(t, sender, customer, with_private_key=False)
    a, r = receive_file(t, raw, db2)
    expect_eq(a["security"]["encryption"]["status"], "no_private_key",
              "without the customer's key: security.encryption.status", r)
    t.import_key(t.keys[customer], "sec_asc", db=db2)
    r = t.run("retry", str(a["id"]), "--json", db=db2, timeout=300)
    expect(r.rc == 0, "retry: expected exit 0, got %s" % r.rc, r)
    b = r.json()
    expect(b.get("improved") is True, "retry should report an improvement", r)
    expect_eq(b["security"]["encryption"]["status"], "decrypted", "after retry: encryption", r)
    expect_eq(b["security"]["sign"]["status"], "good", "after retry: sign", r)
    view = t.ok("article", "show", str(a["id"]), "--mime", db=db2)
    expect(attachment_of(view.outb) == data, "the view after retry lacks the attachment", view)


@out.outgoing_test
def test_large_bcc_copies_each_encrypted_to_its_reader(t):
    sender, customer, data, draft = large_draft(t, "ed25519", "bcc", "large_bcc", "rsa4096",
                                                bcc=out.uid(t, "rsa4096"))
    dpath = t.write("draft-bcc.eml", draft)
    outdir = t.path("copies")
    os.makedirs(outdir)
    r = t.run("outgoing", "--sign", "--encrypt", "--input", dpath, "--output-dir", outdir,
              "--json", timeout=300)
    expect(r.rc == 0, "outgoing with Bcc: expected exit 0, got %s" % r.rc, r)
    copies = r.json()["copies"]
    expect_eq(len(copies), 2, "the number of copies (To, then one per Bcc)", r)
    for c, reader in zip(copies, (customer, "rsa4096")):
        with open(c["file"], "rb") as f:
            raw = f.read()
        expect(out.addr(t, "rsa4096").encode() not in raw.split(b"\r\n\r\n", 1)[0],
               "a copy's header names the Bcc address", r)
        armored = mail.ParsedEntity(raw).parts[1].decoded()
        plain = out.gpg_decrypt(t, reader, armored, signer=sender, r=r)
        expect(attachment_of(plain) == data, "%s's copy: the attachment differs" % reader, r)
