"""Shared test helpers: the per-test fixture `T` (a fresh temp dir and database), one `run()`
for every pgpdesk invocation, and small assertion helpers whose messages say what was expected.

Test functions take one argument, the fixture:

    def test_something(t):
        key = t.keys["ed_pw"]                       # session key fixtures (made once per run)
        [obj] = t.import_key(key, "sec_asc", passphrase=key.passphrase)
        t.expect_error(t.run("key", "show", "00" * 20), "The PGP key could not be found.")
"""

import hashlib
import json
import os
import re
import subprocess
import time

import keys as keyfixtures
import openpgp

KEY_FIELDS = ["id", "fingerprint", "name", "email_addresses", "created_at", "expires_at", "expired",
              "revoked", "secret", "can_sign", "can_encrypt", "algorithm", "bits", "domain_alias"]
IMPORT_FIELDS = KEY_FIELDS + ["action", "warnings"]

MSG_PASSPHRASE_INVALID = "The PGP passphrase is invalid."
MSG_PASSPHRASE_MISSING = "The required PGP passphrase is missing."
MSG_NO_VALID_DATA = "There was no valid OpenPGP data found."
MSG_DUPLICATE = "There is already a PGP key with the same fingerprint."
MSG_NOT_PRIVATE = "This is not a private PGP key."
MSG_NOT_FOUND = "The PGP key could not be found."
MSG_UNPROTECTED = "The private PGP key is not protected by a passphrase."

_DEFAULT = object()


class TestFailure(AssertionError):
    """A failed expectation; `result` (optional) is the command whose output explains it."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def expect(cond, message, result=None):
    if not cond:
        raise TestFailure(message, result)


def expect_eq(actual, expected, what, result=None):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual), result)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _tail(text, lines=24, chars=4000):
    """The first and last lines of a long output (JSON starts and ends matter)."""
    parts = text.rstrip("\n").split("\n")
    if len(parts) > lines:
        parts = parts[:lines // 3] + ["... (%d lines)" % len(parts)] + parts[-(lines - lines // 3):]
    out = "\n".join(parts)
    if len(out) > chars:
        out = out[:chars // 3] + "\n...\n" + out[-(chars - chars // 3):]
    return out


class Result:
    def __init__(self, argv, rc, out, err, seconds, env_note=""):
        self.argv = argv
        self.rc = rc
        self.outb = out
        self.errb = err
        self.out = out.decode("utf-8", errors="replace")
        self.err = err.decode("utf-8", errors="replace")
        self.seconds = seconds
        self.env_note = env_note

    @property
    def cmd(self):
        return " ".join(_quote(a) for a in self.argv)

    def describe(self):
        s = "command: %s%s\nexit: %s (%.2f s)" % (self.env_note, self.cmd, self.rc, self.seconds)
        s += "\nstdout: " + ("(empty)" if not self.out else "\n  " + _tail(self.out).replace("\n", "\n  "))
        s += "\nstderr: " + ("(empty)" if not self.err else "\n  " + _tail(self.err).replace("\n", "\n  "))
        return s

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise TestFailure("stdout is not JSON (%s)" % e, self)

    def err_lines(self):
        return [l for l in self.err.splitlines() if l.strip()]

    def out_lines(self):
        return [l for l in self.out.splitlines() if l.strip()]


def _quote(a):
    a = str(a)
    if len(a) > 200:
        a = a[:60] + "...(%d chars)" % len(a)
    return a if re.fullmatch(r"[\w@%+=:,./-]+", a) else "'" + a.replace("'", "'\\''") + "'"


class Session:
    """Per-run state: the binary, the root temp dir and the key fixtures (made on first use)."""

    def __init__(self, binary, root, keys_dir=None, verbose=False, log=print):
        self.binary = os.path.abspath(binary)
        self.root = root
        self.keys_dir = keys_dir or os.path.join(root, "keys")
        self.verbose = verbose
        self.log = log
        self._keys = None
        self._keys_error = None
        self.keygen_seconds = None

    @property
    def keys(self):
        if self._keys is None:
            if self._keys_error is not None:
                raise TestFailure("key fixtures are unavailable: %s" % self._keys_error)
            t0 = time.time()
            try:
                reused = os.path.exists(os.path.join(self.keys_dir, "manifest.json"))
                self.log("# making key fixtures in %s ..." % self.keys_dir if not reused
                         else "# reusing key fixtures in %s" % self.keys_dir)
                self._keys = keyfixtures.load_or_generate(
                    self.keys_dir, log=(self.log if self.verbose else (lambda m: None)))
            except Exception as e:  # noqa: BLE001 - reported once per test that needs keys
                self._keys_error = "%s: %s" % (type(e).__name__, e)
                raise TestFailure("key fixtures are unavailable: %s" % self._keys_error)
            self.keygen_seconds = time.time() - t0
            self.log("# key fixtures ready in %.1f s" % self.keygen_seconds)
        return self._keys


class T:
    """The per-test fixture: a fresh directory `tmp` and a database path `db` inside it."""

    def __init__(self, session, name, index):
        self.session = session
        self.name = name
        self.tmp = os.path.join(session.root, "t%03d" % index)
        os.makedirs(self.tmp)
        self.db = os.path.join(self.tmp, "db", "pgpdesk.db")
        os.makedirs(os.path.dirname(self.db))
        self.last = None
        self.history = []
        self._gpg_homes = []
        self._n = 0

    # ---------------------------------------------------------------- fixtures

    @property
    def keys(self):
        return self.session.keys

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        return p

    def passfile(self, passphrase, newline=True):
        self._n += 1
        return self.write("pass%d.txt" % self._n, passphrase + ("\n" if newline else ""))

    def gpg(self):
        """A fresh, isolated gpg home directory (its agent is killed after the test)."""
        self._n += 1
        g = keyfixtures.Gpg(os.path.join(self.tmp, "g%d" % self._n))
        self._gpg_homes.append(g)
        return g

    def cleanup(self):
        for g in self._gpg_homes:
            g.kill_agent()

    # ---------------------------------------------------------------- running pgpdesk

    def run(self, *args, db=_DEFAULT, stdin=None, env=None, cwd=None, timeout=120):
        """Runs pgpdesk [--db DB] ARGS. db: the default is this test's database; None gives no
        --db option; a path gives that one. env: changes to a clean environment (None removes).
        Returns a Result (rc, out, err); never raises on a non-zero exit."""
        argv = [self.session.binary]
        if db is _DEFAULT:
            db = self.db
        if db is not None:
            argv += ["--db", db]
        argv += [str(a) for a in args]
        e = {k: v for k, v in os.environ.items() if not k.startswith("PGPDESK_")}
        e["LC_ALL"] = "C.UTF-8"
        note = ""
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
                note += "%s=%s " % (k, _quote(v))
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8")
        t0 = time.time()
        try:
            p = subprocess.run(argv, input=stdin if stdin is not None else b"",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                               cwd=cwd or self.tmp, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as x:
            rc, out, err = "timeout", x.stdout or b"", (x.stderr or b"") + b"\n[timed out]"
        except OSError as x:
            raise TestFailure("cannot run %s: %s" % (argv[0], x))
        r = Result(argv, rc, out, err, time.time() - t0, note)
        if isinstance(rc, int) and rc < 0:
            r.errb += b"\n[killed by signal %d]" % -rc
            r.err += "\n[killed by signal %d]" % -rc
        self.last = r
        self.history.append(r)
        if self.session.verbose:
            self.session.log("    $ %s%s -> %s (%.2fs)" % (note, r.cmd, rc, r.seconds))
        return r

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        expect(r.rc == 0, "expected exit 0, got %s" % r.rc, r)
        return r

    def expect_error(self, r, message=None, rc=1, contains=None, single_line=True):
        """Expects exit `rc` and a `pgpdesk: ...` line on stderr that is exactly
        `pgpdesk: <message>` (message) or contains `contains` (case-insensitive)."""
        expect(r.rc == rc, "expected exit %s, got %s" % (rc, r.rc), r)
        lines = r.err_lines()
        expect(lines, "expected an error message on stderr, got none", r)
        if single_line:
            expect(len(lines) == 1, "expected one line on stderr, got %d" % len(lines), r)
        if message is not None:
            expect(("pgpdesk: " + message) in lines or
                   any(l.startswith("pgpdesk: ") and l.endswith(": " + message) for l in lines),
                   "expected the stderr line 'pgpdesk: %s'" % message, r)
        if contains is not None:
            expect(any(l.startswith("pgpdesk: ") and contains.lower() in l.lower() for l in lines),
                   "expected a 'pgpdesk: ...' stderr line containing %r" % contains, r)
        if rc == 1:
            expect(all(l.startswith("pgpdesk: ") for l in lines),
                   "every stderr line should start with 'pgpdesk: '", r)
        return r

    # ---------------------------------------------------------------- key store helpers

    def import_key(self, src, kind="pub_asc", passphrase=None, paste=False, alias=None,
                   json_out=True, rc=0, stdin=None, db=_DEFAULT, env=None):
        """key import. src: a fixture Key (file `kind`), a path, or "-" (stdin). With rc=0 and
        json_out, returns the parsed JSON array (checked to hold one object per imported key);
        otherwise the Result."""
        path = src.path(kind) if isinstance(src, keyfixtures.Key) else src
        args = ["key", "import"]
        if paste:
            args.append("--paste")
        if passphrase is not None:
            args += ["--passphrase-file", self.passfile(passphrase)]
        if alias is not None:
            args += ["--domain-alias", alias]
        if json_out:
            args.append("--json")
        args.append(path)
        r = self.run(*args, stdin=stdin, db=db, env=env)
        if rc is None:
            return r
        expect(r.rc == rc, "key import: expected exit %s, got %s" % (rc, r.rc), r)
        if rc == 0 and json_out:
            items = r.json()
            expect(isinstance(items, list) and items, "key import --json: expected a non-empty "
                   "JSON array", r)
            for it in items:
                check_key_object(it, r, import_item=True)
            return items
        return r

    def list_keys(self, email=None, **kw):
        args = ["key", "list", "--json"]
        if email is not None:
            args += ["--email", email]
        r = self.ok(*args, **kw)
        items = r.json()
        expect(isinstance(items, list), "key list --json: expected a JSON array", r)
        for it in items:
            check_key_object(it, r)
        return items

    def fingerprints(self, email=None, **kw):
        return [k["fingerprint"] for k in self.list_keys(email, **kw)]

    def show(self, fpr, **kw):
        r = self.ok("key", "show", fpr, "--json", **kw)
        obj = r.json()
        check_key_object(obj, r)
        return obj

    def export(self, fpr, secret=False, **kw):
        args = ["key", "export", fpr] + (["--secret"] if secret else [])
        return self.ok(*args, **kw)

    def db_files(self):
        """Every file the key store left next to the database (db, -wal, -shm, .key, ...)."""
        d = os.path.dirname(self.db)
        return sorted(os.path.join(d, f) for f in os.listdir(d))

    def snapshot(self):
        """{file: sha256} of the database and its journal files (-shm excluded: it is an index
        SQLite may rebuild on open)."""
        d = os.path.dirname(self.db)
        base = os.path.basename(self.db)
        return {f: sha256_file(os.path.join(d, f)) for f in sorted(os.listdir(d))
                if f.startswith(base) and not f.endswith("-shm")}


def check_key_object(obj, result=None, import_item=False):
    """The key object's shape: every field, with the contract's types and formats."""
    expect(isinstance(obj, dict), "expected a JSON key object, got %r" % (obj,), result)
    fields = IMPORT_FIELDS if import_item else KEY_FIELDS
    missing = [f for f in fields if f not in obj]
    expect(not missing, "key object lacks %s: %r" % (missing, obj), result)
    fpr = obj["fingerprint"]
    expect(isinstance(fpr, str) and re.fullmatch(r"[0-9A-F]{40}", fpr),
           "fingerprint should be 40 upper-case hex digits: %r" % fpr, result)
    expect(isinstance(obj["name"], str), "name should be a string: %r" % obj["name"], result)
    em = obj["email_addresses"]
    expect(isinstance(em, list) and all(isinstance(e, str) for e in em),
           "email_addresses should be a list of strings: %r" % em, result)
    expect(all(e == e.lower() for e in em), "email_addresses should be lower-case: %r" % em,
           result)
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    expect(isinstance(obj["created_at"], str) and re.fullmatch(ts, obj["created_at"]),
           "created_at should be ISO 8601 UTC like 2026-11-28T13:10:32Z: %r" % obj["created_at"],
           result)
    expect(obj["expires_at"] is None or (isinstance(obj["expires_at"], str) and
                                         re.fullmatch(ts, obj["expires_at"])),
           "expires_at should be null or ISO 8601 UTC: %r" % obj["expires_at"], result)
    for f in ("expired", "revoked", "secret", "can_sign", "can_encrypt"):
        expect(isinstance(obj[f], bool), "%s should be a boolean: %r" % (f, obj[f]), result)
    expect(isinstance(obj["algorithm"], str) and obj["algorithm"],
           "algorithm should be a non-empty string: %r" % obj["algorithm"], result)
    expect(isinstance(obj["bits"], int) and not isinstance(obj["bits"], bool),
           "bits should be an integer: %r" % obj["bits"], result)
    expect(obj["domain_alias"] is None or isinstance(obj["domain_alias"], str),
           "domain_alias should be null or a string: %r" % obj["domain_alias"], result)
    if import_item:
        expect(obj["action"] in ("added", "updated"),
               "action should be 'added' or 'updated': %r" % obj["action"], result)
        expect(isinstance(obj["warnings"], list) and
               all(isinstance(w, str) for w in obj["warnings"]),
               "warnings should be a list of strings: %r" % obj["warnings"], result)


def by_fpr(items):
    return {k["fingerprint"]: k for k in items}


def secret_needles(key):
    """Needles for the cleartext secret values of a fixture key (see openpgp.needles)."""
    out = []
    for h in getattr(key, "secret_values_hex", []):
        out.extend(openpgp.needles(bytes.fromhex(h)))
    return out


def find_needles(paths, needles):
    """[(path, needle)] for every needle found in any of the files."""
    hits = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        for n in needles:
            if isinstance(n, str):
                n = n.encode("utf-8")
            if n and n in data:
                hits.append((p, n))
    return hits
