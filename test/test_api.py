"""The HTTP server, live: pgpdesk serve, its JSON API and the embedded web UI, plus the CLI
commands that manage its users and groups (pgpdesk user|group).

One server runs for the whole module (`server(t)`: started on first use, on a database of its
own under the session's temp root, listening on a free port); tests share it, so each one makes
the keys, groups and users it needs under names of its own (`ensure_key`, `make_group`,
`make_agent`) and puts back any global setting it changes. A few tests start a short-lived
second server for options of their own (--max-body, TLS). Every server is stopped at the end of
the run (atexit) and dies with the runner if that is killed (PR_SET_PDEATHSIG).

HTTP goes through urllib (standard library only); `Client` keeps the session cookies and the
CSRF token, or sends an API token.
"""

import atexit
import base64
import ctypes
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import mail
from support import (MSG_DUPLICATE, MSG_NO_VALID_DATA, MSG_NOT_FOUND, MSG_NOT_PRIVATE,
                     MSG_PASSPHRASE_INVALID, MSG_PASSPHRASE_MISSING, MSG_UNPROTECTED,
                     TestFailure, check_key_object, expect, expect_eq)

CSP = ("default-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
JSON_TYPE = "application/json; charset=utf-8"
PUBLIC_BLOCK = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PRIVATE_BLOCK = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
HELPDESK = "ed.protected@example.com"     # the ed_pw key: private, with passphrase
ALICE = "alice.two@example.com"           # the twouid key: public only
RSA4096 = "rsa4096@example.com"           # public only
EXPIRED = "expired@example.com"
REVOKED = "revoked@example.com"
NOBODY = "nobody@example.org"             # no key at all
AGENT_PASSWORD = "Agent-password-9Kq!"

MSG_DISABLED = "The PGP integration is disabled."
MSG_NOT_ARMORED = "A pasted key must be ASCII-armored (-----BEGIN PGP ... KEY BLOCK-----)."
MSG_NO_KEY_FOUND = "There was no PGP key found."
MSG_KEY_NOT_FOUND_FOR = "The PGP key for %s was not found."
MSG_KEY_EXPIRED_FOR = "The PGP key for %s was found, but has expired."
MSG_KEY_FOUND_FOR = "The PGP key for %s was found."
MSG_KEY_REVOKED_FOR = "The PGP key for %s has been revoked."
MSG_NO_RECIPIENT = "There was no recipient found."
MSG_KEYS_EXPIRED_FOR = "There were PGP keys found for %s, but at least one of them has expired."
MSG_KEYS_FOUND_FOR = "The PGP keys for %s were found."


# ====================================================================================== servers


def _die_with_parent():
    """In the server's process: get SIGTERM when the test runner dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


_RUNNING = []


def _stop_all():
    for s in list(_RUNNING):
        s.stop()


atexit.register(_stop_all)


class Server:
    """A `pgpdesk serve` process on a database of its own; `url`, `admin_password`."""

    def __init__(self, session, name, *extra_args, scheme="http"):
        self.session = session
        self.dir = os.path.join(session.root, "api-" + name)
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.db = os.path.join(self.dir, "db", "pgpdesk.db")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.argv = [session.binary, "--db", self.db, "serve", "--listen", "127.0.0.1:0",
                     "--threads", "4"] + list(extra_args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PGPDESK_")}
        env["LC_ALL"] = "C.UTF-8"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env, cwd=self.dir,
                                         preexec_fn=_die_with_parent)
        _RUNNING.append(self)
        self.admin_password = None
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.port is None:
            text = self.stdout()
            m = re.search(r"^pgpdesk: admin login: admin  password: (\S+)$", text, re.M)
            if m:
                self.admin_password = m.group(1)
            m = re.search(r"^pgpdesk: listening on %s://127\.0\.0\.1:(\d+)/$" % scheme, text,
                          re.M)
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise TestFailure("pgpdesk serve did not print its port\n" + self.describe())
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)

    def stdout(self):
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def describe(self):
        return "server: %s\nexit: %s\nstdout:\n  %s\nstderr:\n  %s" % (
            " ".join(self.argv), self.proc.poll(), self.stdout().strip().replace("\n", "\n  "),
            self.stderr().strip()[-3000:].replace("\n", "\n  "))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the server; returns its exit status (None if it had to be killed)."""
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


_MAIN = {}


def server(t):
    """The module's server, started on first use (again if it died)."""
    s = _MAIN.get("server")
    if s is None or not s.alive():
        _MAIN.clear()
        s = _MAIN["server"] = Server(t.session, "main")
    return s


# ========================================================================================= HTTP


class Response:
    def __init__(self, method, url, status, headers, body, sent=None):
        self.method, self.url, self.status, self.headers, self.body = (method, url, status,
                                                                        headers, body)
        self.sent = sent

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def header(self, name):
        return self.headers.get(name)

    def cookies(self):
        """{name: full Set-Cookie value}"""
        return {c.split("=", 1)[0]: c for c in self.headers.get_all("Set-Cookie") or []}

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise TestFailure("the response is not JSON (%s)" % e, self)

    def describe(self):
        sent = ""
        if self.sent:
            s = self.sent if len(self.sent) < 600 else self.sent[:600] + b"..."
            sent = "\nsent: %s" % s.decode("utf-8", errors="replace")
        body = self.text if len(self.text) < 3000 else self.text[:3000] + "..."
        return "request: %s %s%s\nstatus: %s\nheaders: %s\nbody: %s" % (
            self.method, self.url, sent, self.status, dict(self.headers), body)


class Client:
    """Talks to a server as nobody, as a browser session (cookies + CSRF token) or with an API
    token (`token`, sent as "Authorization: Bearer TOKEN")."""

    def __init__(self, srv, token=None):
        self.srv = srv
        self.token = token
        self.cookies = {}
        self.csrf = None
        self.user = None

    def request(self, method, path, body=None, json_body=None, headers=None, csrf=True,
                content_type=None):
        h = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = content_type or "application/json"
        if isinstance(body, str):
            body = body.encode()
        if content_type:
            h["Content-Type"] = content_type
        if self.token:
            h.setdefault("Authorization", "Bearer " + self.token)
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        url = self.srv.url + path
        req = urllib.request.Request(url, data=body, method=method, headers=h)
        ctx = ssl._create_unverified_context() if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(req, timeout=60, context=ctx) as resp:
                r = Response(method, url, resp.status, resp.headers, resp.read(), body)
        except urllib.error.HTTPError as e:
            r = Response(method, url, e.code, e.headers, e.read(), body)
        for name, cookie in r.cookies().items():
            value = cookie.split(";", 1)[0].split("=", 1)[1]
            if value and "Max-Age=0" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json_body=None, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def put(self, path, json_body=None, **kw):
        return self.request("PUT", path, json_body=json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def signin(self, login, password, status=200):
        r = self.post("/api/v1/signin", {"login": login, "password": password})
        expect_status(r, status)
        if status == 200:
            self.csrf = r.json()["csrf_token"]
            self.user = r.json()["user"]
        return r


def expect_status(r, status):
    expect(r.status == status, "expected HTTP %s, got %s" % (status, r.status), r)
    return r


def expect_json(r, status=200):
    expect_status(r, status)
    expect_eq(r.header("Content-Type"), JSON_TYPE, "Content-Type", r)
    return r.json()


def expect_error(r, status, code=None, human=None, human_contains=None):
    """An error reply: the status and {"error": code, "error_human": human}."""
    obj = expect_json(r, status)
    expect(isinstance(obj, dict) and isinstance(obj.get("error"), str) and
           isinstance(obj.get("error_human"), str),
           "expected {\"error\", \"error_human\"}, got %r" % (obj,), r)
    if code is not None:
        expect_eq(obj["error"], code, "error", r)
    if human is not None:
        expect_eq(obj["error_human"], human, "error_human", r)
    if human_contains is not None:
        expect(human_contains in obj["error_human"],
               "error_human should contain %r: %r" % (human_contains, obj["error_human"]), r)
    return obj


def expect_security_headers(r):
    expect_eq(r.header("Content-Security-Policy"), CSP, "Content-Security-Policy", r)
    expect_eq(r.header("X-Content-Type-Options"), "nosniff", "X-Content-Type-Options", r)
    expect_eq(r.header("Referrer-Policy"), "no-referrer", "Referrer-Policy", r)


def multipart(fields):
    """(body, content type) for multipart/form-data; fields: [(name, value)] or
    [(name, (filename, bytes))]."""
    boundary = "----pgpdesk-test-8Fq2"
    out = b""
    for name, value in fields:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(value, tuple):
            filename, data = value
            out += ('Content-Disposition: form-data; name="%s"; filename="%s"\r\n'
                    'Content-Type: application/octet-stream\r\n\r\n'
                    % (name, filename)).encode() + data + b"\r\n"
        else:
            data = value.encode() if isinstance(value, str) else value
            out += ('Content-Disposition: form-data; name="%s"\r\n\r\n' % name).encode()
            out += data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


# ======================================================================= fixtures on the server


def admin(t):
    """A browser session of the first admin, kept for the module."""
    srv = server(t)
    c = _MAIN.get("admin")
    if c is None or c.srv is not srv:
        c = _MAIN["admin"] = Client(srv)
        c.signin("admin", srv.admin_password)
    return c


def make_agent(t, login):
    """An agent added with `pgpdesk user add` on the running server's database, signed in."""
    srv = server(t)
    pw = t.passfile(AGENT_PASSWORD)
    t.ok("user", "add", login, "--role", "agent", "--password-file", pw, db=srv.db)
    c = Client(srv)
    c.signin(login, AGENT_PASSWORD)
    return c


def agent(t):
    """The module's agent (a browser session)."""
    c = _MAIN.get("agent")
    if c is None or c.srv is not server(t):
        c = _MAIN["agent"] = make_agent(t, "agent")
    return c


def ensure_key(t, name, kind="pub_asc", secret=False, passphrase=None):
    """Imports fixture key `name` (file `kind`) unless the server has it (with the private key
    when secret). Returns its key object."""
    key = t.keys[name]
    a = admin(t)
    r = a.get("/api/v1/integration/pgp/key/" + key.fingerprint)
    if r.status == 200 and (r.json()["secret"] or not secret):
        return r.json()
    body = {"key": key.read(kind).decode(), "passphrase": passphrase or key.passphrase or ""}
    items = expect_json(a.post("/api/v1/integration/pgp/key", body), 201)
    return items[0]


_GROUP_SEQ = [0]


def make_group(t, email, **fields):
    """A new group (a unique name) with sender address email; fields: sign_default, ..."""
    _GROUP_SEQ[0] += 1
    body = {"name": "%s %d" % (t.name.split(".")[-1][:40], _GROUP_SEQ[0]), "email": email}
    body.update(fields)
    return expect_json(admin(t).post("/api/v1/groups", body), 201)


def options(client, group_id, to="", cc="", customer=None):
    ticket = {"group_id": group_id}
    if customer is not None:
        ticket["customer"] = customer
    r = client.post("/api/v1/integration/pgp", {"ticket": ticket,
                                                "article": {"to": to, "cc": cc}})
    return expect_json(r), r


def option(success, comment, placeholders, active):
    return {"success": success, "comment": comment, "commentPlaceholders": placeholders,
            "active_by_default": active}


def expect_options(t, group_id, sign, encryption, to="", cc="", customer=None, client=None):
    got, r = options(client or agent(t), group_id, to, cc, customer)
    expect_eq(got, {"type": "PGP", "sign": sign, "encryption": encryption},
              "security options", r)


def draft(group_id, to, subject="Hello", body="Hello there.\n", **more):
    d = {"group_id": group_id, "to": to, "subject": subject, "body": body}
    d.update(more)
    return d


# =========================================================================== start, UI, headers


def test_serve_prints_admin_password_and_port(t):
    srv = server(t)
    out = srv.stdout()
    lines = out.splitlines()
    expect(len(lines) >= 2 and lines[0].startswith("pgpdesk: admin login: admin  password: "),
           "the first line should give the admin's password:\n" + out)
    expect(len(srv.admin_password) >= 12, "the admin password is short: %r" % srv.admin_password)
    expect(lines[1] == "pgpdesk: listening on http://127.0.0.1:%d/" % srv.port,
           "the second line should give the URL:\n" + out)
    expect(not srv.stderr().strip(), "the server wrote to stderr:\n" + srv.stderr())


def test_admin_password_is_printed_only_on_the_first_start(t):
    srv = Server(t.session, "restart")
    try:
        expect(srv.admin_password, "first start: no admin password\n" + srv.describe())
        expect_eq(srv.stop(), 0, "exit status after SIGTERM")
        again = Server(t.session, "restart")
        try:
            expect(again.admin_password is None,
                   "second start printed a password again\n" + again.describe())
            Client(again).signin("admin", srv.admin_password)
        finally:
            again.stop()
    finally:
        srv.stop()


def test_ui_index_at_root_and_every_embedded_file(t):
    srv = server(t)
    c = Client(srv)
    ui_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "server", "ui")
    r = expect_status(c.get("/"), 200)
    expect_eq(r.header("Content-Type"), "text/html; charset=utf-8", "Content-Type of /", r)
    expect_security_headers(r)
    with open(os.path.join(ui_dir, "index.html"), "rb") as f:
        index = f.read()
    expect(r.body == index, "GET / should serve server/ui/index.html", r)
    types = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
             ".svg": "image/svg+xml"}
    for name in sorted(os.listdir(ui_dir)):
        if name.startswith(".") or os.path.isdir(os.path.join(ui_dir, name)):
            continue
        with open(os.path.join(ui_dir, name), "rb") as f:
            data = f.read()
        for path in ("/" + name, "/ui/" + name):
            r = expect_status(c.get(path), 200)
            expect(r.body == data, "%s should serve server/ui/%s" % (path, name), r)
            want = types.get(os.path.splitext(name)[1])
            if want:
                expect(r.header("Content-Type").startswith(want),
                       "%s: Content-Type should be %s" % (path, want), r)


def test_unknown_paths_outside_the_api_get_the_index(t):
    c = Client(server(t))
    index = c.get("/").body
    for path in ("/tickets/42", "/ui/no-such-page", "/settings?x=1"):
        r = expect_status(c.get(path), 200)
        expect(r.body == index, "%s should serve index.html" % path, r)
    expect_error(c.post("/", body=b"x"), 405, "method_not_allowed")
    expect_error(c.get("/api/v1/no-such-route"), 404, "not_found")
    expect_error(c.get("/api"), 404, "not_found")


def test_every_response_carries_the_security_headers(t):
    a = admin(t)
    c = Client(server(t))
    fpr = ensure_key(t, "twouid")["fingerprint"]
    for r in (a.get("/api/v1/settings"), c.get("/api/v1/settings"), c.get("/api/v1/nope"),
              c.request("PATCH", "/api/v1/settings"), c.get("/"), c.get("/app.css"),
              a.post("/api/v1/groups", body=b"{", content_type="application/json"),
              a.get("/api/v1/integration/pgp/key_download/" + fpr)):
        expect_security_headers(r)
        if r.status >= 400 or r.url.endswith("/settings"):
            expect_eq(r.header("Content-Type"), JSON_TYPE, "Content-Type", r)


# ====================================================================== sign-in, sessions, CSRF


def test_signin_sets_session_and_csrf_cookies(t):
    c = Client(server(t))
    r = c.signin("admin", server(t).admin_password)
    obj = r.json()
    expect_eq(sorted(obj), ["csrf_token", "user"], "members", r)
    expect_eq(obj["user"]["login"], "admin", "user.login", r)
    expect_eq(obj["user"]["role"], "admin", "user.role", r)
    cookies = r.cookies()
    session = cookies.get("pgpdesk_session", "")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        expect(attr in [p.strip() for p in session.split(";")],
               "the session cookie lacks %s: %r" % (attr, session), r)
    expect("Secure" not in session, "Secure on a plain-HTTP cookie: %r" % session, r)
    csrf = cookies.get("pgpdesk_csrf", "")
    expect(csrf.startswith("pgpdesk_csrf=%s;" % obj["csrf_token"]),
           "the CSRF cookie should hold the csrf_token: %r" % csrf, r)
    expect("HttpOnly" not in csrf, "the CSRF cookie must be readable by the UI", r)


def test_signin_failures(t):
    c = Client(server(t))
    e1 = expect_error(c.post("/api/v1/signin", {"login": "admin", "password": "wrong-pass"}),
                      401, "auth_failed")
    e2 = expect_error(c.post("/api/v1/signin", {"login": "nobody", "password": "wrong-pass"}),
                      401, "auth_failed")
    expect_eq(e1["error_human"], e2["error_human"], "unknown login and wrong password: the same "
              "message (no login oracle)")
    expect_error(c.post("/api/v1/signin", {"login": "admin"}), 422, "invalid")
    expect_error(c.post("/api/v1/signin", body=b'{"login": ', content_type="application/json"),
                 400, "bad_json")
    expect_error(c.post("/api/v1/signin", body=b'[1, 2]', content_type="application/json"),
                 400, "bad_json")
    expect_error(c.get("/api/v1/signin"), 405, "method_not_allowed")
    expect(not c.cookies, "a failed sign-in set cookies: %r" % c.cookies)


def test_me_returns_the_sessions_csrf_token_from_its_cookie(t):
    c = Client(server(t))
    c.signin("admin", server(t).admin_password)
    session = c.cookies["pgpdesk_session"]
    obj = expect_json(c.get("/api/v1/me"))
    expect_eq(obj["user"]["login"], "admin", "user.login")
    expect_eq(obj["csrf_token"], c.csrf, "csrf_token of /me (a reload keeps the session)")
    expect_eq(c.cookies["pgpdesk_session"], session, "the session cookie after /me")


def test_me_without_the_csrf_cookie_starts_a_new_session(t):
    c = Client(server(t))
    c.signin("admin", server(t).admin_password)
    old_session, old_csrf = c.cookies["pgpdesk_session"], c.csrf
    del c.cookies["pgpdesk_csrf"]
    r = c.get("/api/v1/me")
    obj = expect_json(r)
    expect(obj["csrf_token"] and obj["csrf_token"] != old_csrf, "expected a new CSRF token", r)
    expect(c.cookies.get("pgpdesk_session") not in (None, old_session),
           "expected a new session cookie", r)
    expect_eq(c.cookies.get("pgpdesk_csrf"), obj["csrf_token"], "the new CSRF cookie", r)
    c.csrf = obj["csrf_token"]
    expect_json(c.post("/api/v1/tokens", {}), 201)
    stale = Client(server(t))
    stale.cookies = {"pgpdesk_session": old_session}
    expect_error(stale.get("/api/v1/me"), 401, "unauthorized")


def test_csrf_token_required_for_state_changes_with_a_session(t):
    c = Client(server(t))
    c.signin("admin", server(t).admin_password)
    body = {"name": "CSRF check", "email": "csrf@example.com"}
    expect_error(c.post("/api/v1/groups", body, csrf=False), 403, "csrf")
    expect_error(c.post("/api/v1/groups", body, headers={"X-CSRF-Token": "0" * 64}), 403, "csrf")
    expect_error(c.put("/api/v1/settings", {"pgp_integration": False}, csrf=False), 403, "csrf")
    expect_error(c.post("/api/v1/signout", {}, csrf=False), 403, "csrf")
    groups = expect_json(c.get("/api/v1/groups"))
    expect("CSRF check" not in [g["name"] for g in groups], "a refused request made a group")
    expect_eq(expect_json(c.get("/api/v1/settings")), {"pgp_integration": True}, "settings")
    g = expect_json(c.post("/api/v1/groups", body), 201)
    expect_json(c.delete("/api/v1/groups/%d" % g["id"]))


def test_signout_ends_the_session(t):
    c = Client(server(t))
    c.signin("admin", server(t).admin_password)
    session = c.cookies["pgpdesk_session"]
    r = c.post("/api/v1/signout", {})
    expect_json(r)
    expect("Max-Age=0" in r.cookies().get("pgpdesk_session", ""), "signout should clear the "
           "session cookie", r)
    again = Client(server(t))
    again.cookies = {"pgpdesk_session": session}
    expect_error(again.get("/api/v1/me"), 401, "unauthorized")


def test_no_credentials_is_401_everywhere(t):
    c = Client(server(t))
    routes = [("GET", "/api/v1/me"), ("POST", "/api/v1/signout"),
              ("POST", "/api/v1/integration/pgp"), ("GET", "/api/v1/integration/pgp/status"),
              ("GET", "/api/v1/integration/pgp/key"), ("POST", "/api/v1/integration/pgp/key"),
              ("GET", "/api/v1/integration/pgp/key/1"),
              ("DELETE", "/api/v1/integration/pgp/key/1"),
              ("GET", "/api/v1/integration/pgp/key_download/1"), ("GET", "/api/v1/http_logs/PGP"),
              ("GET", "/api/v1/settings"), ("PUT", "/api/v1/settings"), ("GET", "/api/v1/groups"),
              ("POST", "/api/v1/groups"), ("GET", "/api/v1/groups/1"),
              ("PUT", "/api/v1/groups/1"), ("DELETE", "/api/v1/groups/1"),
              ("GET", "/api/v1/articles"), ("GET", "/api/v1/articles/1"),
              ("GET", "/api/v1/articles/1/raw"), ("GET", "/api/v1/articles/1/mime"),
              ("POST", "/api/v1/articles/1/retry"), ("POST", "/api/v1/incoming"),
              ("POST", "/api/v1/send"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
              ("DELETE", "/api/v1/users/admin"), ("POST", "/api/v1/tokens")]
    for method, path in routes:
        expect_error(c.request(method, path, body=b"{}"), 401, "unauthorized")
    for auth in ("Bearer not-a-token", "Basic YWRtaW46eA==", "Token token=nope"):
        expect_error(c.get("/api/v1/settings", headers={"Authorization": auth}), 401,
                     "unauthorized")
    expect_error(c.get("/api/v1/settings", headers={"Cookie": "pgpdesk_session=forged"}), 401,
                 "unauthorized")


# ============================================================================= roles and tokens


def test_agent_may_use_security_options_articles_send_and_read_groups(t):
    ag = agent(t)
    me = expect_json(ag.get("/api/v1/me"))
    expect_eq(me["user"]["role"], "agent", "role of a user added with --role agent")
    expect_json(ag.get("/api/v1/groups"))
    expect_json(ag.get("/api/v1/settings"))
    expect_json(ag.get("/api/v1/articles"))
    g = make_group(t, None)
    expect_json(ag.get("/api/v1/groups/%d" % g["id"]))
    expect_json(ag.post("/api/v1/integration/pgp", {"ticket": {"group_id": g["id"]},
                                                     "article": {"to": ALICE}}))
    msg = mail.message(mail.headers("Customer <c@example.net>", "x@example.com", "Agent intake"),
                       mail.text_part("Hello\r\n"))
    expect_json(ag.post("/api/v1/incoming", body=msg, content_type="message/rfc822"), 201)


def test_agent_is_refused_admin_routes_with_403(t):
    ag = agent(t)
    g = make_group(t, None)
    for method, path, body in [
            ("GET", "/api/v1/integration/pgp/key", None),
            ("POST", "/api/v1/integration/pgp/key", {"key": "x"}),
            ("GET", "/api/v1/integration/pgp/key/1", None),
            ("DELETE", "/api/v1/integration/pgp/key/1", None),
            ("GET", "/api/v1/integration/pgp/key_download/1", None),
            ("GET", "/api/v1/integration/pgp/status", None),
            ("GET", "/api/v1/http_logs/PGP", None),
            ("PUT", "/api/v1/settings", {"pgp_integration": False}),
            ("POST", "/api/v1/groups", {"name": "Agent's group"}),
            ("PUT", "/api/v1/groups/%d" % g["id"], {"name": "Renamed by agent"}),
            ("DELETE", "/api/v1/groups/%d" % g["id"], None),
            ("GET", "/api/v1/users", None),
            ("POST", "/api/v1/users", {"login": "x", "password": "long-enough-1"}),
            ("DELETE", "/api/v1/users/admin", None),
            ("POST", "/api/v1/tokens", {"login": "admin"})]:
        expect_error(ag.request(method, path, json_body=body), 403, "forbidden")
    expect_eq(expect_json(ag.get("/api/v1/groups/%d" % g["id"]))["name"], g["name"],
              "the group after refused changes")
    expect_eq(expect_json(admin(t).get("/api/v1/settings")), {"pgp_integration": True},
              "settings after a refused change")


def test_bearer_tokens_need_no_csrf_token(t):
    make_agent(t, "token-agent")
    srv = server(t)
    r = t.ok("user", "token", "token-agent", db=srv.db)
    token = r.out.strip()
    expect(re.fullmatch(r"\S{20,}", token), "user token should print one token: %r" % r.out, r)
    bearer = Client(srv, token=token)
    me = expect_json(bearer.get("/api/v1/me"))
    expect_eq(me, {"user": me["user"], "csrf_token": None}, "/me with a token")
    expect_eq(me["user"]["login"], "token-agent", "user.login")
    g = make_group(t, None)
    expect_json(bearer.post("/api/v1/integration/pgp", {"ticket": {"group_id": g["id"]},
                                                         "article": {"to": ""}}))
    zammad_style = Client(srv)
    expect_json(zammad_style.get("/api/v1/groups",
                                 headers={"Authorization": "Token token=" + token}))
    expect_error(bearer.get("/api/v1/users"), 403, "forbidden")
    # A token made through the API, for oneself; admins may make one for another user.
    mine = expect_json(bearer.post("/api/v1/tokens", {}), 201)["token"]
    expect_eq(expect_json(Client(srv, token=mine).get("/api/v1/me"))["user"]["login"],
              "token-agent", "login of a token made by POST /api/v1/tokens")
    expect_error(bearer.post("/api/v1/tokens", {"login": "admin"}), 403, "forbidden")
    made = expect_json(admin(t).post("/api/v1/tokens", {"login": "token-agent"}), 201)["token"]
    expect_eq(expect_json(Client(srv, token=made).get("/api/v1/me"))["user"]["login"],
              "token-agent", "login of a token an admin made")
    expect_error(admin(t).post("/api/v1/tokens", {"login": "no-such-user"}), 404,
                 "user_not_found")


def test_users_api(t):
    a = admin(t)
    u = expect_json(a.post("/api/v1/users", {"login": "api-user", "password": "Api-user-pw-1",
                                             "role": "agent"}), 201)
    expect_eq((u["login"], u["role"]), ("api-user", "agent"), "created user")
    expect_eq(sorted(u), ["created_at", "id", "login", "role"], "user object members")
    logins = [x["login"] for x in expect_json(a.get("/api/v1/users"))]
    expect("api-user" in logins and "admin" in logins, "user list: %r" % logins)
    expect_error(a.post("/api/v1/users", {"login": "api-user", "password": "Api-user-pw-1"}),
                 422, "user_exists")
    expect_error(a.post("/api/v1/users", {"login": "weak", "password": "short"}), 422,
                 "weak_password")
    expect_error(a.post("/api/v1/users", {"login": "x", "password": "long-enough-1",
                                          "role": "root"}), 422, "invalid")
    admin2 = expect_json(a.post("/api/v1/users", {"login": "api-admin",
                                                  "password": "Api-admin-pw-1",
                                                  "role": "admin"}), 201)
    expect_eq(admin2["role"], "admin", "role")
    Client(server(t)).signin("api-user", "Api-user-pw-1")
    token = expect_json(a.post("/api/v1/tokens", {"login": "api-user"}), 201)["token"]
    expect_json(a.delete("/api/v1/users/api-user"))
    expect_error(Client(server(t), token=token).get("/api/v1/me"), 401, "unauthorized")
    Client(server(t)).signin("api-user", "Api-user-pw-1", status=401)
    expect_error(a.delete("/api/v1/users/api-user"), 404, "user_not_found")
    expect_error(a.delete("/api/v1/users/admin"), 422, "invalid")


# ========================================================================== settings and groups


def test_settings_api_switches_the_integration(t):
    a = admin(t)
    try:
        expect_eq(expect_json(a.get("/api/v1/settings")), {"pgp_integration": True},
                  "settings of a new database")
        expect_eq(expect_json(a.put("/api/v1/settings", {"pgp_integration": False})),
                  {"pgp_integration": False}, "settings after PUT")
        expect_eq(expect_json(agent(t).get("/api/v1/settings")), {"pgp_integration": False},
                  "settings seen by an agent")
        expect_error(a.put("/api/v1/settings", {"pgp_integration": "yes"}), 422, "invalid")
        expect_error(a.put("/api/v1/settings", {}), 422, "invalid")
        expect_error(a.request("PATCH", "/api/v1/settings", json_body={}), 405,
                     "method_not_allowed")
    finally:
        a.put("/api/v1/settings", {"pgp_integration": True})
    expect_eq(expect_json(a.get("/api/v1/settings")), {"pgp_integration": True}, "restored")


def test_groups_api_create_show_update_delete(t):
    a = admin(t)
    g = expect_json(a.post("/api/v1/groups", {"name": "Groups API", "email": "groups@example.com",
                                              "sign_default": False, "policy": "required"}), 201)
    expect_eq(g, {"id": g["id"], "name": "Groups API", "email": "groups@example.com",
                  "sign_default": False, "encrypt_default": None, "policy": "required"},
              "created group")
    expect(g in expect_json(a.get("/api/v1/groups")), "the list should hold the new group")
    expect_eq(expect_json(a.get("/api/v1/groups/%d" % g["id"])), g, "GET /groups/:id")
    changed = expect_json(a.put("/api/v1/groups/%d" % g["id"], {"encrypt_default": True,
                                                               "sign_default": None}))
    expect_eq(changed, dict(g, encrypt_default=True, sign_default=None),
              "after PUT (members left out keep their values)")
    changed = expect_json(a.put("/api/v1/groups/%d" % g["id"], {"email": None,
                                                               "policy": "optional"}))
    expect_eq((changed["email"], changed["policy"], changed["name"]),
              (None, "optional", "Groups API"), "after removing the address")
    expect_error(a.post("/api/v1/groups", {"name": "Groups API"}), 422, "group_exists")
    expect_error(a.post("/api/v1/groups", {"email": "x@example.com"}), 422, "invalid")
    expect_error(a.post("/api/v1/groups", {"name": "P", "policy": "sometimes"}), 422, "invalid")
    expect_error(a.post("/api/v1/groups", {"name": "P", "sign_default": "on"}), 422, "invalid")
    expect_error(a.put("/api/v1/groups/%d" % g["id"], {"name": ""}), 422, "invalid")
    expect_json(a.delete("/api/v1/groups/%d" % g["id"]))
    for r in (a.get("/api/v1/groups/%d" % g["id"]), a.delete("/api/v1/groups/%d" % g["id"]),
              a.put("/api/v1/groups/%d" % g["id"], {"name": "x"})):
        expect_error(r, 404, "group_not_found")
    expect_error(a.get("/api/v1/groups/abc"), 404, "not_found")


# ================================================================================ the key store


def test_key_add_multipart_binary_file(t):
    a = admin(t)
    key = t.keys["ed_plain"]
    body, ctype = multipart([("file", ("secret.pgp", key.read("sec_pgp"))),
                             ("passphrase", ""), ("domain_alias", "")])
    r = a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype)
    items = expect_json(r, 201)
    expect_eq(len(items), 1, "imported keys", r)
    check_key_object(items[0], r, import_item=True)
    expect_eq((items[0]["fingerprint"], items[0]["secret"], items[0]["action"]),
              (key.fingerprint, True, "added"), "imported key", r)
    expect_eq(items[0]["warnings"], [MSG_UNPROTECTED], "warnings", r)
    expect_error(a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype), 422,
                 "duplicate_key", MSG_DUPLICATE)
    expect_json(a.delete("/api/v1/integration/pgp/key/" + key.fingerprint))


def test_key_add_multipart_armored_file_with_domain_alias(t):
    a = admin(t)
    key = t.keys["utf8"]
    body, ctype = multipart([("file", ("juergen.asc", key.read("pub_asc"))),
                             ("domain_alias", "utf8.example.com")])
    items = expect_json(a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype), 201)
    expect_eq((items[0]["fingerprint"], items[0]["secret"], items[0]["domain_alias"]),
              (key.fingerprint, False, "utf8.example.com"), "imported key")
    listed = {k["fingerprint"]: k for k in expect_json(a.get("/api/v1/integration/pgp/key"))}
    expect(key.fingerprint in listed, "the key list should hold the new key")
    check_key_object(listed[key.fingerprint])
    expect_json(a.delete("/api/v1/integration/pgp/key/%d" % items[0]["id"]))
    expect_error(a.get("/api/v1/integration/pgp/key/" + key.fingerprint), 404, "key_not_found",
                 MSG_NOT_FOUND)


def test_key_add_pasted_private_key_with_passphrase(t):
    a = admin(t)
    key = t.keys["rsa3072"]
    armored = key.read("sec_asc").decode()

    def paste(*extra):
        body, ctype = multipart([("private_key", armored)] + list(extra))
        return a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype)

    expect_error(paste(), 422, "passphrase_missing", MSG_PASSPHRASE_MISSING)
    expect_error(paste(("passphrase", "not-the-passphrase")), 422, "passphrase_invalid",
                 MSG_PASSPHRASE_INVALID)
    expect_error(a.get("/api/v1/integration/pgp/key/" + key.fingerprint), 404, "key_not_found")
    items = expect_json(paste(("passphrase", key.passphrase)), 201)
    expect_eq((items[0]["fingerprint"], items[0]["secret"], items[0]["warnings"]),
              (key.fingerprint, True, []), "imported key")
    expect_error(paste(("passphrase", key.passphrase)), 422, "duplicate_key", MSG_DUPLICATE)
    expect_json(a.delete("/api/v1/integration/pgp/key/" + key.fingerprint.lower()))


def test_key_add_refusals_carry_the_key_store_messages(t):
    a = admin(t)
    binary = t.keys["rsa4096"].read("pub_pgp")
    body, ctype = multipart([("private_key", binary)])
    expect_error(a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype), 422,
                 "not_armored", MSG_NOT_ARMORED)
    expect_error(a.post("/api/v1/integration/pgp/key", {"key": "no key here"}), 422,
                 "no_valid_data", MSG_NO_VALID_DATA)
    expect_error(a.post("/api/v1/integration/pgp/key", {"passphrase": "x"}), 422,
                 "no_valid_data", MSG_NO_VALID_DATA)
    body, ctype = multipart([("passphrase", "x")])
    expect_error(a.post("/api/v1/integration/pgp/key", body=body, content_type=ctype), 422,
                 "no_valid_data", MSG_NO_VALID_DATA)
    expect_error(a.post("/api/v1/integration/pgp/key", {"key": 42}), 422, "invalid")
    expect_error(a.post("/api/v1/integration/pgp/key", body=b"{", content_type="application/json"),
                 400, "bad_json")
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated"
    expect_error(a.post("/api/v1/integration/pgp/key", body=body,
                        content_type="multipart/form-data; boundary=b"), 400, "bad_form")


def test_key_list_and_show_by_id_and_fingerprint(t):
    a = admin(t)
    obj = ensure_key(t, "twouid")
    by_id = expect_json(a.get("/api/v1/integration/pgp/key/%d" % obj["id"]))
    by_fpr = expect_json(a.get("/api/v1/integration/pgp/key/" + obj["fingerprint"]))
    check_key_object(by_id)
    expect_eq(by_id, by_fpr, "the key by id and by fingerprint")
    expect_eq(by_id["email_addresses"], sorted(t.keys["twouid"].emails), "email_addresses")
    expect(obj["fingerprint"] in [k["fingerprint"] for k in
                                  expect_json(a.get("/api/v1/integration/pgp/key"))],
           "the list should hold the key")
    for path in ("/api/v1/integration/pgp/key/" + "AB" * 20, "/api/v1/integration/pgp/key/999999"):
        expect_error(a.get(path), 404, "key_not_found", MSG_NOT_FOUND)
    expect_error(a.get("/api/v1/integration/pgp/key/zz"), 404, "key_not_found")
    expect_error(a.request("PUT", "/api/v1/integration/pgp/key/%d" % obj["id"], json_body={}),
                 405, "method_not_allowed")


def test_key_download_public_and_private(t):
    a = admin(t)
    obj = ensure_key(t, "ed_pw", "sec_asc", secret=True)
    fpr = obj["fingerprint"]
    r = expect_status(a.get("/api/v1/integration/pgp/key_download/" + fpr), 200)
    expect_eq(r.header("Content-Disposition"), 'attachment; filename="%s.pub.asc"' % fpr,
              "Content-Disposition", r)
    expect_eq(r.header("Content-Type"), "application/pgp-keys", "Content-Type", r)
    expect(r.text.startswith(PUBLIC_BLOCK), "expected an armored public key", r)
    expect(PRIVATE_BLOCK not in r.text, "the public download holds a private key", r)
    r = expect_status(a.get("/api/v1/integration/pgp/key_download/%d?secret=true" % obj["id"]),
                      200)
    expect_eq(r.header("Content-Disposition"), 'attachment; filename="%s.asc"' % fpr,
              "Content-Disposition", r)
    expect(r.text.startswith(PRIVATE_BLOCK), "expected an armored private key", r)
    expect_eq(r.header("Cache-Control"), "no-store", "Cache-Control of a private key", r)
    pub = ensure_key(t, "rsa4096")
    expect_error(a.get("/api/v1/integration/pgp/key_download/%s?secret=true"
                       % pub["fingerprint"]), 422, "not_private_key", MSG_NOT_PRIVATE)
    expect_error(a.get("/api/v1/integration/pgp/key_download/" + "CD" * 20), 404,
                 "key_not_found")


def test_key_delete(t):
    a = admin(t)
    key = t.keys["rsa3072"]
    items = expect_json(a.post("/api/v1/integration/pgp/key",
                               {"key": key.read("pub_asc").decode()}), 201)
    expect_json(a.delete("/api/v1/integration/pgp/key/%d" % items[0]["id"]))
    expect(key.fingerprint not in [k["fingerprint"] for k in
                                   expect_json(a.get("/api/v1/integration/pgp/key"))],
           "the deleted key is still listed")
    expect_error(a.delete("/api/v1/integration/pgp/key/" + key.fingerprint), 404,
                 "key_not_found", MSG_NOT_FOUND)


def test_integration_status(t):
    expect_eq(expect_json(admin(t).get("/api/v1/integration/pgp/status")), {}, "status")


# ============================================================================= security options


def test_security_options_sign_without_group_address(t):
    g = make_group(t, None)
    expect_options(t, g["id"], option(False, MSG_NO_KEY_FOUND, [], False),
                   option(False, MSG_NO_RECIPIENT, [], False))


def test_security_options_sign_without_private_key(t):
    ensure_key(t, "rsa4096")
    g = make_group(t, RSA4096)
    expect_options(t, g["id"], option(False, MSG_KEY_NOT_FOUND_FOR, [RSA4096], False),
                   option(True, MSG_KEYS_FOUND_FOR, [RSA4096], True), to=RSA4096)


def test_security_options_sign_with_expired_key(t):
    ensure_key(t, "expired", "sec_asc", secret=True)
    g = make_group(t, EXPIRED)
    expect_options(t, g["id"], option(False, MSG_KEY_EXPIRED_FOR, [EXPIRED], False),
                   option(False, MSG_NO_RECIPIENT, [], False))


def test_security_options_sign_and_encrypt_found(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    ensure_key(t, "rsa4096")
    g = make_group(t, HELPDESK)
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE + ", " + RSA4096], True),
                   to=ALICE, cc=RSA4096)
    # group_id as a string, as Zammad's UI sends it
    got, r = options(agent(t), str(g["id"]), ALICE)
    expect_eq(got["sign"]["success"], True, "sign.success with a string group_id", r)


def test_security_options_encryption_recipient_without_key(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    g = make_group(t, HELPDESK)
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(False, MSG_KEY_NOT_FOUND_FOR, [NOBODY], False),
                   to=ALICE, cc=NOBODY)


def test_security_options_encryption_with_an_expired_recipient(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    ensure_key(t, "expired", "sec_asc", secret=True)
    g = make_group(t, HELPDESK)
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(False, MSG_KEYS_EXPIRED_FOR, [ALICE + ", " + EXPIRED], False),
                   to=ALICE + ", " + EXPIRED)


def test_security_options_encryption_with_a_revoked_recipient(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "revoked", "pub_asc_v2")
    g = make_group(t, HELPDESK)
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(False, MSG_KEY_REVOKED_FOR, [REVOKED], False), to=REVOKED)


def test_security_options_no_recipient_and_customer_as_recipient(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    g = make_group(t, HELPDESK)
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(False, MSG_NO_RECIPIENT, [], False))
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE], True), customer=ALICE)


def test_security_options_active_by_default_follows_group_defaults(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    off = make_group(t, HELPDESK, sign_default=False, encrypt_default=False)
    expect_options(t, off["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], False),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE], False), to=ALICE)
    on = make_group(t, HELPDESK, sign_default=True, encrypt_default=True)
    expect_options(t, on["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE], True), to=ALICE)
    mixed = make_group(t, HELPDESK, sign_default=None, encrypt_default=False)
    expect_options(t, mixed["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE], False), to=ALICE)
    # "on" applies only when the option is possible
    expect_options(t, on["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(False, MSG_KEY_NOT_FOUND_FOR, [NOBODY], False), to=NOBODY)


def test_security_options_with_the_integration_disabled(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    a = admin(t)
    g = make_group(t, HELPDESK)
    try:
        expect_json(a.put("/api/v1/settings", {"pgp_integration": False}))
        expect_options(t, g["id"], option(False, MSG_DISABLED, [], False),
                       option(False, MSG_DISABLED, [], False), to=ALICE)
        r = agent(t).post("/api/v1/send", draft(g["id"], ALICE, sign=True))
        expect_error(r, 422, "integration_disabled")
    finally:
        a.put("/api/v1/settings", {"pgp_integration": True})
    expect_options(t, g["id"], option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True),
                   option(True, MSG_KEYS_FOUND_FOR, [ALICE], True), to=ALICE)


def test_key_changes_are_seen_by_every_worker_thread(t):
    """Each worker thread has a library handle of its own: a key added or deleted through one
    must count at once in all (requests land on the threads at random)."""
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    a = admin(t)
    key = t.keys["rsa3072"]
    rsa3072 = key.emails[0]
    a.delete("/api/v1/integration/pgp/key/" + key.fingerprint)
    g = make_group(t, HELPDESK)
    missing = option(False, MSG_KEY_NOT_FOUND_FOR, [rsa3072], False)
    found = option(True, MSG_KEYS_FOUND_FOR, [rsa3072], True)
    signed = option(True, MSG_KEY_FOUND_FOR, [HELPDESK], True)
    for _ in range(8):
        expect_options(t, g["id"], signed, missing, to=rsa3072)
    expect_json(a.post("/api/v1/integration/pgp/key", {"key": key.read("pub_asc").decode()}), 201)
    for _ in range(8):
        expect_options(t, g["id"], signed, found, to=rsa3072)
    expect_json(a.delete("/api/v1/integration/pgp/key/" + key.fingerprint))
    for _ in range(8):
        expect_options(t, g["id"], signed, missing, to=rsa3072)


def test_security_options_request_errors(t):
    ag = agent(t)
    expect_error(ag.post("/api/v1/integration/pgp", body=b"not json",
                         content_type="application/json"), 400, "bad_json")
    expect_error(ag.post("/api/v1/integration/pgp", {"ticket": {"group_id": "x"}}), 422,
                 "invalid")
    expect_error(ag.post("/api/v1/integration/pgp", {"ticket": {"group_id": 1},
                                                     "article": {"to": 7}}), 422, "invalid")
    expect_error(ag.get("/api/v1/integration/pgp"), 405, "method_not_allowed")


# ====================================================================== sending, articles, logs


def test_send_signed_and_encrypted_stores_articles(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    g = make_group(t, HELPDESK)
    ag = agent(t)
    att = base64.b64encode(b"attached bytes\x00\x01").decode()
    r = ag.post("/api/v1/send", draft(g["id"], ALICE, subject="Secret subject", sign=True,
                                      encrypt=True,
                                      attachments=[{"filename": "a.bin",
                                                    "content_type": "application/octet-stream",
                                                    "content_base64": att}]))
    obj = expect_json(r, 201)
    expect_eq(sorted(obj), ["articles", "copies"], "members", r)
    expect_eq(len(obj["copies"]), 1, "copies", r)
    copy = obj["copies"][0]
    expect_eq(copy["recipients"], [ALICE], "recipients", r)
    [article] = obj["articles"]
    expect_eq((article["id"], article["direction"], article["group_id"]),
              (copy["article_id"], "out", g["id"]), "the stored article", r)
    listed = expect_json(ag.get("/api/v1/articles?group_id=%d" % g["id"]))
    expect_eq([x["id"] for x in listed], [article["id"]], "articles of the group")
    expect(article["id"] in [x["id"] for x in expect_json(ag.get("/api/v1/articles"))],
           "GET /api/v1/articles should list the article")
    shown = expect_json(ag.get("/api/v1/articles/%d" % article["id"]))
    expect("security" in shown, "the article should include its security result")
    raw = expect_status(ag.get("/api/v1/articles/%d/raw" % article["id"]), 200)
    expect_eq(raw.header("Content-Type"), "message/rfc822", "Content-Type of raw", raw)
    expect_eq(raw.header("Content-Disposition"),
              'attachment; filename="article-%d.eml"' % article["id"], "Content-Disposition", raw)
    expect(b"multipart/encrypted" in raw.body, "the sent message should be PGP/MIME encrypted",
           raw)
    expect(b"Secret subject" not in raw.body, "the subject should be protected", raw)


def test_send_with_bcc_makes_a_copy_per_bcc_address(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    ensure_key(t, "rsa4096")
    g = make_group(t, HELPDESK)
    obj = expect_json(agent(t).post("/api/v1/send", draft(g["id"], ALICE, bcc=RSA4096,
                                                           encrypt=True)), 201)
    expect_eq([c["recipients"] for c in obj["copies"]], [[ALICE], [RSA4096]], "copies")
    expect_eq(len(obj["articles"]), 2, "articles")


def test_send_refuses_an_impossible_encryption(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    g = make_group(t, HELPDESK)
    before = len(expect_json(agent(t).get("/api/v1/articles?group_id=%d" % g["id"])))
    e = expect_error(agent(t).post("/api/v1/send", draft(g["id"], NOBODY, encrypt=True)), 422)
    expect(NOBODY in e["error_human"], "the message should name the address: %r" % e)
    expect_eq(len(expect_json(agent(t).get("/api/v1/articles?group_id=%d" % g["id"]))), before,
              "articles after a refused send")


def test_send_policy_required_refuses_unprotected_drafts(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    g = make_group(t, HELPDESK, policy="required")
    ag = agent(t)
    for flags in ({}, {"sign": True}, {"encrypt": True}):
        expect_error(ag.post("/api/v1/send", draft(g["id"], ALICE, **flags)), 422,
                     "policy_violation")
    expect_json(ag.post("/api/v1/send", draft(g["id"], ALICE, sign=True, encrypt=True)), 201)


def test_send_request_errors(t):
    ag = agent(t)
    g = make_group(t, None)
    expect_error(ag.post("/api/v1/send", draft(999999, ALICE)), 422, "group_not_found")
    expect_error(ag.post("/api/v1/send", draft(g["id"], ALICE)), 422, "no_sender")
    expect_error(ag.post("/api/v1/send", {"to": ALICE}), 422, "invalid")
    expect_error(ag.post("/api/v1/send", draft(g["id"], ALICE, sign="yes")), 422, "invalid")
    g2 = make_group(t, HELPDESK)
    expect_error(ag.post("/api/v1/send", draft(g2["id"], ALICE, attachments=[
        {"filename": "x", "content_base64": "!!!"}])), 422, "invalid")
    expect_error(ag.post("/api/v1/send", body=b"{", content_type="application/json"), 400,
                 "bad_json")


def test_recent_logs_after_a_send(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    ensure_key(t, "twouid")
    g = make_group(t, HELPDESK)
    obj = expect_json(agent(t).post("/api/v1/send", draft(g["id"], ALICE, sign=True,
                                                           encrypt=True)), 201)
    logs = expect_json(admin(t).get("/api/v1/http_logs/PGP?limit=50"))
    expect(isinstance(logs, list) and logs, "expected log entries")
    newest = logs[:2]
    expect_eq(sorted(e["method"] for e in newest), ["encryption", "sign"],
              "methods of the two newest entries")
    for e in newest:
        expect_eq((e["direction"], e["status"]), ("out", "success"), "log entry %r" % e)
        expect(HELPDESK in e["from_to"] and ALICE in e["from_to"], "from_to: %r" % e)
    expect_eq(len(expect_json(admin(t).get("/api/v1/http_logs/PGP?limit=1"))), 1, "limit=1")
    expect_error(admin(t).get("/api/v1/http_logs/PGP?limit=abc"), 422, "invalid")
    expect(obj["articles"], "the send stored articles")


def test_incoming_article_raw_mime_and_retry(t):
    ag = agent(t)
    msg = mail.message(mail.headers("Customer <customer@example.net>", "support@example.com",
                                    "Plain question", msgid="<plain-1@example.net>"),
                       mail.text_part("Where is my order?\r\n"))
    r = ag.post("/api/v1/incoming", body=msg, content_type="message/rfc822")
    art = expect_json(r, 201)
    for member in ("id", "direction", "from", "to", "cc", "subject", "message_id", "created_at",
                   "security", "group_id"):
        expect(member in art, "the article lacks %s" % member, r)
    expect_eq((art["direction"], art["subject"]), ("in", "Plain question"), "article", r)
    raw = expect_status(ag.get("/api/v1/articles/%d/raw" % art["id"]), 200)
    expect_eq(raw.body, msg, "the raw message, byte for byte", raw)
    mime = expect_status(ag.get("/api/v1/articles/%d/mime" % art["id"]), 200)
    expect_eq(mime.header("Content-Type"), "text/plain; charset=utf-8", "Content-Type", mime)
    expect_eq(mime.header("Content-Disposition"),
              'attachment; filename="article-%d.mime.txt"' % art["id"], "disposition", mime)
    expect_eq(mime.body, msg, "plain mail: the processed view is the raw message", mime)
    retried = expect_json(ag.post("/api/v1/articles/%d/retry" % art["id"], {}))
    expect_eq((retried["id"], retried["improved"]), (art["id"], False), "retry")
    for path in ("/api/v1/articles/999999", "/api/v1/articles/999999/raw",
                 "/api/v1/articles/999999/mime"):
        expect_error(ag.get(path), 404, "article_not_found")
    expect_error(ag.post("/api/v1/articles/999999/retry", {}), 404, "article_not_found")
    expect_error(ag.get("/api/v1/articles/x1"), 404, "not_found")
    expect_error(ag.get("/api/v1/articles?limit=-1"), 422, "invalid")
    expect_error(ag.delete("/api/v1/articles/%d" % art["id"]), 405, "method_not_allowed")


def test_sent_message_comes_back_in_decrypted(t):
    ensure_key(t, "ed_pw", "sec_asc", secret=True)
    g = make_group(t, HELPDESK)
    ag = agent(t)
    sent = expect_json(ag.post("/api/v1/send", draft(g["id"], HELPDESK, body="Round trip.\n",
                                                      sign=True, encrypt=True)), 201)
    raw = expect_status(ag.get("/api/v1/articles/%d/raw" % sent["copies"][0]["article_id"]),
                        200).body
    art = expect_json(ag.post("/api/v1/incoming", body=raw, content_type="message/rfc822"), 201)
    sec = art["security"]
    expect_eq(sec["encryption"]["success"], True, "encryption.success of %r" % sec)
    expect_eq(sec["sign"]["success"], True, "sign.success of %r" % sec)
    mime = expect_status(ag.get("/api/v1/articles/%d/mime" % art["id"]), 200)
    expect(b"Round trip." in mime.body, "the processed view should hold the plaintext", mime)


# ========================================================================= limits, TLS, threads


def test_body_limit_413_and_clean_stop_on_sigterm(t):
    srv = Server(t.session, "small", "--max-body", "1024")
    try:
        c = Client(srv)
        c.signin("admin", srv.admin_password)
        r = c.post("/api/v1/incoming", body=b"x" * 4096, content_type="message/rfc822")
        expect_error(r, 413, "body_too_large")
        expect_security_headers(r)
        ok = c.post("/api/v1/incoming", body=b"Subject: small\r\n\r\nsmall\r\n",
                    content_type="message/rfc822")
        expect_json(ok, 201)
        expect_error(c.post("/api/v1/signin", body=b" " * 2000, content_type="application/json"),
                     413, "body_too_large")
    finally:
        rc = srv.stop(signal.SIGTERM)
    expect_eq(rc, 0, "exit status after SIGTERM\n" + srv.describe())
    srv = Server(t.session, "small")
    expect_eq(srv.stop(signal.SIGINT), 0, "exit status after SIGINT\n" + srv.describe())


def test_tls_serves_https_with_secure_cookies(t):
    d = os.path.join(t.tmp, "tls")
    os.makedirs(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect(p.returncode == 0, "openssl req failed: %s" % p.stderr.decode()[-500:])
    srv = Server(t.session, "tls", "--tls-cert", cert, "--tls-key", key, scheme="https")
    try:
        c = Client(srv)
        r = c.signin("admin", srv.admin_password)
        for name in ("pgpdesk_session", "pgpdesk_csrf"):
            parts = [x.strip() for x in r.cookies()[name].split(";")]
            expect("Secure" in parts, "the %s cookie should be Secure over TLS" % name, r)
        expect_security_headers(expect_status(c.get("/"), 200))
    finally:
        srv.stop()
    r = t.run("serve", "--listen", "127.0.0.1:0", "--tls-cert", cert)
    t.expect_error(r, rc=2, contains="--tls-key", single_line=False)
    r = t.run("serve", "--listen", "127.0.0.1:0", "--tls-cert", key, "--tls-key", cert)
    expect(r.rc == 1 and "pgpdesk: " in r.err, "mixed-up TLS files should fail with exit 1", r)


def test_concurrent_requests_on_the_thread_pool(t):
    a = admin(t)
    ensure_key(t, "twouid")
    results, errors = [], []

    def work(i):
        try:
            c = Client(a.srv)
            c.cookies, c.csrf = dict(a.cookies), a.csrf
            for j in range(5):
                results.append(c.get("/api/v1/integration/pgp/key").status)
                results.append(c.post("/api/v1/groups", {"name": "Concurrent %d-%d"
                                                                 % (i, j)}).status)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    expect(not errors, "requests failed: %s" % errors[:3])
    expect_eq(sorted(set(results)), [200, 201], "statuses of 120 concurrent requests")
    expect(server(t).alive(), "the server died\n" + server(t).describe())


# ================================================================== the CLI: user, group, serve


def test_cli_user_commands(t):
    r = t.ok("user", "add", "alice")
    lines = r.out_lines()
    expect(lines[0] == "added alice (agent)" and lines[1].startswith("password: "),
           "user add should print the user and a password", r)
    password = lines[1][len("password: "):]
    expect(len(password) >= 16, "the random password is short: %r" % password, r)
    t.ok("user", "add", "bob", "--role", "admin", "--password-file", t.passfile("Bob-pw-1234"))
    users = t.ok("user", "list", "--json").json()
    expect_eq([(u["login"], u["role"]) for u in users], [("alice", "agent"), ("bob", "admin")],
              "users", t.last)
    text = t.ok("user", "list").out
    expect("alice" in text and "bob" in text and "admin" in text, "user list text", t.last)
    r = t.ok("user", "passwd", "alice")
    expect(r.out_lines()[-1].startswith("password: "), "passwd should print the new password", r)
    token = t.ok("user", "token", "alice").out.strip()
    expect(len(token) >= 20 and "\n" not in token, "user token should print one token", t.last)
    t.expect_error(t.run("user", "add", "alice", "--password-file", t.passfile("Alice-pw-123")),
                   contains="exist")
    t.expect_error(t.run("user", "add", "carol", "--password-file", t.passfile("short")),
                   contains="8")
    t.expect_error(t.run("user", "token", "nobody"), contains="user")
    t.ok("user", "delete", "alice")
    t.expect_error(t.run("user", "delete", "alice"), contains="user")
    expect_eq([u["login"] for u in t.ok("user", "list", "--json").json()], ["bob"], "users")


def test_cli_user_passwords_work_on_the_server(t):
    srv = server(t)
    t.ok("user", "add", "cli-pw", "--password-file", t.passfile("Cli-pw-first-1"), db=srv.db)
    Client(srv).signin("cli-pw", "Cli-pw-first-1")
    r = t.ok("user", "passwd", "cli-pw", db=srv.db)
    new = r.out_lines()[-1][len("password: "):]
    Client(srv).signin("cli-pw", "Cli-pw-first-1", status=401)
    Client(srv).signin("cli-pw", new)


def test_cli_group_commands(t):
    g = t.ok("group", "add", "Support", "--email", "support@example.com", "--sign-default", "off",
             "--policy", "required", "--json").json()
    expect_eq(g, {"id": g["id"], "name": "Support", "email": "support@example.com",
                  "sign_default": False, "encrypt_default": None, "policy": "required"},
              "group add --json", t.last)
    t.ok("group", "add", "Billing")
    groups = t.ok("group", "list", "--json").json()
    expect_eq([x["name"] for x in groups], ["Billing", "Support"], "groups by name", t.last)
    text = t.ok("group", "list").out
    expect("Support" in text and "support@example.com" in text and "required" in text,
           "group list text", t.last)
    s = t.ok("group", "set", str(g["id"]), "--encrypt-default", "on", "--sign-default", "unset",
             "--email", "", "--json").json()
    expect_eq(s, dict(g, encrypt_default=True, sign_default=None, email=None), "group set",
              t.last)
    s = t.ok("group", "set", str(g["id"]), "--name", "Helpdesk", "--json").json()
    expect_eq((s["name"], s["policy"]), ("Helpdesk", "required"), "rename keeps the rest", t.last)
    t.expect_error(t.run("group", "add", "Billing"), contains="exist")
    t.ok("group", "delete", str(g["id"]))
    t.expect_error(t.run("group", "delete", str(g["id"])), contains="group")
    t.expect_error(t.run("group", "set", "999", "--policy", "optional"), contains="group")


def test_cli_help_has_examples_and_usage_errors_exit_2(t):
    for args in (["serve"], ["user"], ["user", "add"], ["user", "passwd"], ["user", "token"],
                 ["user", "list"], ["user", "delete"], ["group"], ["group", "add"],
                 ["group", "list"], ["group", "set"], ["group", "delete"]):
        r = t.run(*(args + ["--help"]), db=None)
        expect(r.rc == 0 and "Example" in r.out and " ".join(args) in r.out,
               "%s --help: exit 0, the command and an example" % " ".join(args), r)
    r = t.run("--help", db=None)
    for name in ("serve", "user", "group"):
        expect(re.search(r"^  %s " % name, r.out, re.M), "main help should list %s" % name, r)
    for args in (["user"], ["user", "add"], ["user", "add", "x", "--role", "root"],
                 ["user", "frob"], ["user", "list", "extra"], ["group", "add"],
                 ["group", "add", "x", "--policy", "sometimes"],
                 ["group", "add", "x", "--sign-default", "maybe"], ["group", "set", "abc"],
                 ["group", "delete"], ["serve", "--listen", "nowhere"],
                 ["serve", "--threads", "0"], ["serve", "--max-body", "-5"],
                 ["serve", "extra"], ["serve", "--bogus"]):
        r = t.run(*args)
        expect(r.rc == 2 and r.err.strip(), "'pgpdesk %s' should be a usage error (exit 2)"
               % " ".join(args), r)
    expect(not os.path.exists(t.db), "usage errors created the database")


def test_cli_serve_reports_a_port_in_use(t):
    srv = server(t)
    r = t.run("serve", "--listen", "127.0.0.1:%d" % srv.port, timeout=30)
    expect(r.rc == 1 and "listen" in r.err, "a port in use should fail with exit 1", r)
