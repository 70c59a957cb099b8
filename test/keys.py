"""Key fixtures: real keys made at test time by GnuPG 2.2 and Sequoia sq 0.27.

generate(dir) makes every key once (about 10 s) and writes dir/manifest.json; load(dir)
reads an existing set back (run.py --keys-dir reuses one across runs). Each key has:

    name, fingerprint, user_ids, emails (lower-cased, of valid user IDs), passphrase (None =
    unprotected), created (unix time), expires (unix time or None), algorithm, bits, tool,
    files: {"pub_asc", "pub_pgp", "sec_asc", "sec_pgp", ...}  (absolute paths)

The keys (see KEYS below for the details):
    rsa3072      gpg   RSA-3072 sign + RSA-3072 encrypt subkey, passphrase
    rsa4096      sq    RSA-4096, unprotected
    ed_pw        gpg   Ed25519 + Cv25519, passphrase
    ed_plain     sq    Ed25519 + Cv25519, unprotected
    utf8         sq    Ed25519 + Cv25519, unprotected, a non-ASCII user ID
    expired      gpg   Ed25519 + Cv25519, passphrase, made 10 days ago with a 1-day expiry
    revuid       gpg   two user IDs, the second one revoked, passphrase
    twouid       gpg   two user IDs with mixed-case addresses, passphrase
    certified    gpg   Ed25519 with 300 third-party certifications (public only is used)
    update       gpg   v1 ("update.one"), then a user ID "update.two" added: files *_v2
    revoked      gpg   v1 valid, then the key revoked: files pub_asc_v2 / pub_pgp_v2
    uid100 / uid101     sq  100 user IDs / the same key with a 101st
    uid2048 / uid2049   sq  a user ID of exactly 2048 / 2049 bytes
    oversize     a file of valid key data (copies of `certified`) just over 5 MiB
"""

import json
import os
import pty
import select
import shutil
import subprocess
import time

import openpgp

CERTIFIERS = 300
NOW = int(time.time())
DAY = 86400

PASSPHRASES = {
    "rsa3072": "Rsa3072-passphrase-q8Zr!",
    "ed_pw": "Ed25519-passphrase-K9zw#",
    "expired": "Expired-passphrase-3Fwp%",
    "revuid": "RevokedUid-passphrase-8Lm&",
    "twouid": "TwoUid-passphrase-2Pdx*",
    "update": "Update-passphrase-6Ghv(",
    "revoked": "Revoked-passphrase-4Jsk)",
    "certified": "Certified-passphrase-5Tn^",
}



def _long_uid(total, email):
    tail = " <%s>" % email
    head = "Long "
    return head + "L" * (total - len(head) - len(tail)) + tail


class KeyGenError(Exception):
    pass


def _run(argv, input=None, env=None, check=True, timeout=300):
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise KeyGenError("command failed (%d): %s\n%s" % (
            p.returncode, " ".join(argv), p.stderr.decode(errors="replace")[-2000:]))
    return p


def run_with_tty_password(argv, password, timeout=120):
    """Runs argv on a pseudo-terminal (sq 0.27 reads passwords only from a tty) and answers
    every password prompt with `password`. Returns (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    sent = 0
    deadline = time.time() + timeout
    try:
        while True:
            if time.time() > deadline:
                os.kill(pid, 9)
                out += b"\n[killed: timeout]"
                break
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
            if sent < out.lower().count(b"password"):
                time.sleep(0.05)
                os.write(fd, password.encode() + b"\n")
                sent += 1
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


class Gpg:
    """gpg on an isolated home directory, always in batch mode with loopback pinentry."""

    def __init__(self, home):
        self.home = str(home)
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        with open(os.path.join(self.home, "gpg-agent.conf"), "w") as f:
            f.write("allow-loopback-pinentry\n"
                    # gpg calibrates to 65M S2K iterations here: seconds per operation
                    "s2k-count 1048576\n")

    def argv(self, *args, passphrase=None, faked_time=None):
        a = ["gpg", "--homedir", self.home, "--batch", "--no-tty", "--yes",
             "--trust-model", "always", "--pinentry-mode", "loopback",
             "--passphrase", passphrase if passphrase is not None else ""]
        if faked_time is not None:
            a += ["--faked-system-time", "%d!" % faked_time]
        return a + list(args)

    def __call__(self, *args, passphrase=None, faked_time=None, input=None, check=True):
        return _run(self.argv(*args, passphrase=passphrase, faked_time=faked_time),
                    input=input, check=check)

    def status_fpr(self, proc):
        for line in proc.stdout.decode().splitlines():
            if line.startswith("[GNUPG:] KEY_CREATED"):
                return line.split()[3]
        raise KeyGenError("no KEY_CREATED in gpg output")

    def gen(self, uid, algo, usage, expire, passphrase, faked_time=None):
        p = self("--status-fd", "1", "--quick-gen-key", uid, algo, usage, expire,
                 passphrase=passphrase, faked_time=faked_time)
        return self.status_fpr(p)

    def colons(self, fpr):
        return self("--with-colons", "--fixed-list-mode", "--list-keys", fpr).stdout.decode()

    def kill_agent(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Key:
    def __init__(self, d):
        self.__dict__.update(d)

    def path(self, kind):
        return self.files[kind]

    def read(self, kind):
        with open(self.files[kind], "rb") as f:
            return f.read()

    @property
    def has_secret(self):
        return "sec_asc" in self.files

    def __repr__(self):
        return "<Key %s %s>" % (self.name, self.fingerprint)


class KeySet:
    def __init__(self, directory, manifest):
        self.dir = directory
        self.manifest = manifest
        self.keys = {n: Key(d) for n, d in manifest["keys"].items()}
        self.files = manifest["files"]
        self.seconds = manifest.get("seconds")

    def __getitem__(self, name):
        return self.keys[name]

    def __iter__(self):
        return iter(self.keys.values())

    def passphrases(self):
        return [k.passphrase for k in self if k.passphrase]


# ------------------------------------------------------------------------------------------


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def _describe(cert_bytes, gpg_info):
    """Metadata of one key from its own packets, plus gpg's view (expiry, algorithm, bits)."""
    c = openpgp.certs(cert_bytes)[0]
    d = {"fingerprint": c.fingerprint, "created": c.primary.created,
         "user_ids": [u.decode("utf-8") for u in c.user_ids]}
    if gpg_info is not None:
        exp = None
        revoked_uids = set()
        for line in gpg_info.splitlines():
            f = line.split(":")
            if f[0] == "pub":
                d["bits"] = int(f[2])
                d["gpg_algo"] = int(f[3])
                exp = int(f[6]) if f[6] else None
                d["gpg_validity"] = f[1]
            elif f[0] == "uid" and f[1] == "r":
                revoked_uids.add(f[9])
        d["expires"] = exp
        d["revoked_user_ids"] = sorted(revoked_uids)
    return d


def _emails(uids):
    out = []
    for u in uids:
        if "<" in u and u.endswith(">"):
            out.append(u[u.rindex("<") + 1:-1].lower())
    return out


def generate(directory, log=lambda msg: None):
    t0 = time.time()
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    keys = {}
    gpg = Gpg(os.path.join(directory, "gh"))            # short: agent socket path limit
    cgpg = Gpg(os.path.join(directory, "ch"))           # certifiers
    info = Gpg(os.path.join(directory, "ih"))           # public keys only, for metadata
    try:
        def export_gpg(g, name, fpr, passphrase, suffix="", secret=True):
            files = {}
            files["pub_asc" + suffix] = _write(os.path.join(directory, name + suffix + ".pub.asc"),
                                               g("--armor", "--export", fpr).stdout)
            files["pub_pgp" + suffix] = _write(os.path.join(directory, name + suffix + ".pub.pgp"),
                                               g("--export", fpr).stdout)
            if secret:
                files["sec_asc" + suffix] = _write(
                    os.path.join(directory, name + suffix + ".sec.asc"),
                    g("--armor", "--export-secret-keys", fpr, passphrase=passphrase).stdout)
                files["sec_pgp" + suffix] = _write(
                    os.path.join(directory, name + suffix + ".sec.pgp"),
                    g("--export-secret-keys", fpr, passphrase=passphrase).stdout)
            return files

        def record(name, tool, fpr, files, passphrase, extra=None):
            pub = open(files["pub_pgp"], "rb").read()
            info("--import", files["pub_pgp"], check=False)
            colons = info.colons(fpr) if info("--list-keys", fpr, check=False).returncode == 0 else None
            d = _describe(pub, colons)
            if d["fingerprint"] != fpr:
                raise KeyGenError("%s: fingerprint mismatch %s != %s" % (name, d["fingerprint"], fpr))
            valid = [u for u in d["user_ids"] if u not in d.get("revoked_user_ids", [])]
            d.setdefault("expires", None)   # unknown when gpg refused the key (long user IDs)
            d.update(name=name, tool=tool, passphrase=passphrase, files=files,
                     emails=_emails(valid), valid_user_ids=valid)
            if extra:
                d.update(extra)
            keys[name] = d
            log("  %-10s %s %s" % (name, fpr, tool))

        # ---- gpg keys ------------------------------------------------------------------
        pw = PASSPHRASES["rsa3072"]
        fpr = gpg.gen("RSA Three <rsa3072@example.com>", "rsa3072", "sign", "never", pw)
        gpg("--quick-add-key", fpr, "rsa3072", "encr", "never", passphrase=pw)
        record("rsa3072", "gpg", fpr, export_gpg(gpg, "rsa3072", fpr, pw), pw,
               {"algorithm": "RSA"})

        pw = PASSPHRASES["ed_pw"]
        fpr = gpg.gen("Ed Protected <ed.protected@example.com>", "future-default", "default",
                      "never", pw)
        record("ed_pw", "gpg", fpr, export_gpg(gpg, "ed_pw", fpr, pw), pw, {"algorithm": "EDDSA"})

        pw = PASSPHRASES["expired"]
        fpr = gpg.gen("Expired Key <expired@example.com>", "future-default", "default", "1d", pw,
                      faked_time=NOW - 10 * DAY)
        record("expired", "gpg", fpr, export_gpg(gpg, "expired", fpr, pw), pw,
               {"algorithm": "EDDSA"})

        pw = PASSPHRASES["revuid"]
        past = NOW - 2 * DAY
        fpr = gpg.gen("Rev Keep <rev.keep@example.com>", "future-default", "default", "never", pw,
                      faked_time=past)
        gpg("--quick-add-uid", fpr, "Rev Gone <rev.gone@example.com>", passphrase=pw,
            faked_time=past + 60)
        gpg("--quick-revoke-uid", fpr, "Rev Gone <rev.gone@example.com>", passphrase=pw)
        record("revuid", "gpg", fpr, export_gpg(gpg, "revuid", fpr, pw), pw)
        if keys["revuid"]["emails"] != ["rev.keep@example.com"]:
            raise KeyGenError("revuid: the user ID was not revoked: %r" % keys["revuid"])

        pw = PASSPHRASES["twouid"]
        fpr = gpg.gen("Alice Two <Alice.Two@Example.COM>", "future-default", "default", "never",
                      pw, faked_time=past)
        gpg("--quick-add-uid", fpr, "Alice Work <Alice@Work.Example.ORG>", passphrase=pw,
            faked_time=past + 60)
        record("twouid", "gpg", fpr, export_gpg(gpg, "twouid", fpr, pw), pw)

        pw = PASSPHRASES["update"]
        fpr = gpg.gen("Update Me <update.one@example.com>", "future-default", "default", "never",
                      pw, faked_time=past)
        files = export_gpg(gpg, "update", fpr, pw)
        gpg("--quick-add-uid", fpr, "Update Me <update.two@example.com>", passphrase=pw)
        files.update(export_gpg(gpg, "update", fpr, pw, suffix="_v2"))
        record("update", "gpg", fpr, files, pw)
        keys["update"]["emails_v1"] = ["update.one@example.com"]
        keys["update"]["emails"] = ["update.one@example.com", "update.two@example.com"]

        pw = PASSPHRASES["revoked"]
        fpr = gpg.gen("Revoked Key <revoked@example.com>", "future-default", "default", "never",
                      pw, faked_time=past)
        files = export_gpg(gpg, "revoked", fpr, pw)
        rev = open(os.path.join(gpg.home, "openpgp-revocs.d", fpr + ".rev"), "rb").read()
        rev = rev.replace(b":-----BEGIN PGP PUBLIC KEY BLOCK-----",
                          b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
        gpg("--import", input=rev)
        files.update(export_gpg(gpg, "revoked", fpr, pw, suffix="_v2", secret=False))
        record("revoked", "gpg", fpr, files, pw)
        if not any(l.startswith("pub:r:") for l in gpg.colons(fpr).splitlines()):
            raise KeyGenError("revoked: gpg does not show the key as revoked")

        # ---- the certified key: 300 ed25519 certifiers, one gpg call each to make and sign
        t1 = time.time()
        params = "".join(
            "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: cert\n"
            "Name-Real: Certifier %d\nName-Email: certifier%d@example.net\n"
            "Expire-Date: 0\n%%no-protection\n%%commit\n" % (i, i) for i in range(CERTIFIERS))
        p = cgpg("--status-fd", "1", "--gen-key", input=params.encode())
        certifiers = [l.split()[3] for l in p.stdout.decode().splitlines()
                      if l.startswith("[GNUPG:] KEY_CREATED")]
        if len(certifiers) != CERTIFIERS:
            raise KeyGenError("made %d certifiers, wanted %d" % (len(certifiers), CERTIFIERS))
        pw = PASSPHRASES["certified"]
        fpr = cgpg.gen("Certified Key <certified@example.com>", "future-default", "default",
                       "never", pw)
        args = []
        for c in certifiers:
            args += ["--local-user", c + "!"]
        cgpg(*(args + ["--quick-sign-key", fpr]), passphrase="")
        record("certified", "gpg", fpr, export_gpg(cgpg, "certified", fpr, pw), pw)
        ncert = len(openpgp.certs(open(keys["certified"]["files"]["pub_pgp"], "rb").read())[0]
                    .third_party_signatures())
        if ncert < CERTIFIERS:
            raise KeyGenError("certified: only %d third-party certifications" % ncert)
        keys["certified"]["third_party_certifications"] = ncert
        log("  %d certifications in %.1f s" % (ncert, time.time() - t1))

        # ---- sq keys ---------------------------------------------------------------------
        def sq_key(name, userids, extra_args=(), src=None):
            sec = os.path.join(directory, name + ".sec.asc")
            if src is None:
                argv = ["sq", "key", "generate", "--export", sec]
                for u in userids:
                    argv += ["--userid", u]
                _run(argv + list(extra_args))
            else:
                argv = ["sq", "key", "userid", "add", "--output", sec]
                for u in userids:
                    argv += ["--userid", u]
                _run(argv + [src])
            files = {"sec_asc": sec}
            files["sec_pgp"] = os.path.join(directory, name + ".sec.pgp")
            _run(["sq", "dearmor", "--output", files["sec_pgp"], sec])
            files["pub_asc"] = os.path.join(directory, name + ".pub.asc")
            _run(["sq", "key", "extract-cert", "--output", files["pub_asc"], sec])
            files["pub_pgp"] = os.path.join(directory, name + ".pub.pgp")
            _run(["sq", "dearmor", "--output", files["pub_pgp"], files["pub_asc"]])
            fpr = openpgp.certs(open(files["pub_pgp"], "rb").read())[0].fingerprint
            record(name, "sq", fpr, files, None)
            return files

        sq_key("ed_plain", ["Sq Plain <sq.plain@example.com>"])
        keys["ed_plain"]["algorithm"] = "EDDSA"
        sq_key("rsa4096", ["RSA Four <rsa4096@example.com>"],
               ["--cipher-suite", "rsa4k", "--cannot-authenticate"])
        keys["rsa4096"]["algorithm"] = "RSA"
        sq_key("utf8", ["J\u00fcrgen M\u00fcller <juergen@example.com>"],
               ["--cannot-authenticate"])
        many = ["Many %03d <many%03d@example.com>" % (i, i) for i in range(100)]
        f100 = sq_key("uid100", many, ["--cannot-authenticate", "--cannot-sign"])
        sq_key("uid101", ["Many 100 <many100@example.com>"], src=f100["sec_asc"])
        sq_key("uid2048", ["Long Ok <long.ok@example.com>",
                           _long_uid(2048, "long2048@example.com")],
               ["--cannot-authenticate", "--cannot-sign"])
        sq_key("uid2049", ["Long Bad <long.bad@example.com>",
                           _long_uid(2049, "long2049@example.com")],
               ["--cannot-authenticate", "--cannot-sign"])
        for n, want in (("uid100", 100), ("uid101", 101)):
            got = len(keys[n]["user_ids"])
            if got != want:
                raise KeyGenError("%s has %d user IDs" % (n, got))
        for n, want in (("uid2048", 2048), ("uid2049", 2049)):
            got = max(len(u.encode()) for u in keys[n]["user_ids"])
            if got != want:
                raise KeyGenError("%s: longest user ID is %d bytes" % (n, got))

        # ---- the cleartext secret values of every key (to search the database for) --------
        for name, d in keys.items():
            if name not in ("rsa3072", "ed_pw", "ed_plain", "rsa4096", "twouid"):
                continue
            clear = os.path.join(directory, name + ".clear.pgp")
            if d["passphrase"] is None:
                shutil.copy(d["files"]["sec_pgp"], clear)
            else:
                rc, out = run_with_tty_password(
                    ["sq", "key", "password", "--clear", "--binary", "--output", clear,
                     d["files"]["sec_pgp"]], d["passphrase"])
                if rc != 0:
                    raise KeyGenError("sq key password --clear %s: %d %s" % (name, rc, out))
            values = openpgp.certs(open(clear, "rb").read())[0].secret_values()
            if not values:
                raise KeyGenError("%s: no cleartext secret values" % name)
            d["files"]["clear_pgp"] = clear
            d["secret_values_hex"] = [v.hex() for v in values]

        # ---- files that are not single keys ------------------------------------------------
        files = {}
        cert = open(keys["certified"]["files"]["pub_pgp"], "rb").read()
        limit = 5 * 1024 * 1024
        files["oversize"] = _write(os.path.join(directory, "oversize.pgp"),
                                   cert * (limit // len(cert) + 1))
        files["garbage"] = _write(os.path.join(directory, "garbage.txt"),
                                  b"This is not OpenPGP data at all.\n" * 20)
        files["armored_garbage"] = _write(
            os.path.join(directory, "armored-garbage.asc"),
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5IGF0IGFsbA==\n=AAAA\n"
            b"-----END PGP PUBLIC KEY BLOCK-----\n")
    finally:
        for g in (gpg, cgpg, info):
            g.kill_agent()
    manifest = {"created": NOW, "seconds": round(time.time() - t0, 1), "keys": keys,
                "files": files}
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return KeySet(directory, manifest)


def load(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        return KeySet(directory, json.load(f))


def load_or_generate(directory, log=lambda msg: None):
    if os.path.exists(os.path.join(directory, "manifest.json")):
        return load(directory)
    return generate(directory, log=log)
