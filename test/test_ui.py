"""The web UI in a real browser: runs the Node browser tests of test/ui/ (Debian's Chromium
driven by playwright-core) against `pgpdesk serve` built from this tree.

    python3 test/run.py -k ui            # just these
    node --test test/ui/                 # the same steps, directly (PGPDESK_BIN=build/pgpdesk)

Nothing is skipped: without node, Chromium or test/ui/node_modules the test fails and says how
to install them (`make check` does: scripts/install-deps, then `npm ci` in test/ui/).
The steps save doc/screenshots/admin-pgp.png and compose.png (1280x800); set
PGPDESK_SCREENSHOTS=DIR to save them elsewhere, or =none to save none.
"""

import os
import re
import shutil
import subprocess

from support import TestFailure

HERE = os.path.dirname(os.path.abspath(__file__))
UI_DIR = os.path.join(HERE, "ui")
ROOT = os.path.dirname(HERE)
TIMEOUT = 600  # seconds for the whole browser run


def _tail(text, lines=60):
    parts = text.rstrip("\n").split("\n")
    if len(parts) > lines:
        parts = ["... (%d lines before)" % (len(parts) - lines)] + parts[-lines:]
    return "\n".join(parts)


def _failures(output):
    """From the spec reporter's 'failing tests:' section: the first failure in full, then the
    names of the others (a failed set-up fails every step with the same error). None when
    there is no such section."""
    m = re.search(r"^\S*\s*failing tests:\s*$", output, re.M)
    if not m:
        return None
    blocks = re.split(r"^\s*test at .*$", output[m.end():], flags=re.M)
    blocks = [b.strip("\n") for b in blocks if b.strip()]
    if not blocks:
        return output[m.start():]
    names = []
    for b in blocks[1:]:
        first = b.strip().split("\n")[0]
        names.append(re.sub(r"^\S+\s+|\s*\([\d.]+ms\)$", "", first.strip()))
    text = "first failure:\n" + _tail(blocks[0], 80)
    if names:
        text += "\nalso failed (%d): %s" % (len(names), "; ".join(names))
    return text


def _check_prerequisites():
    node = shutil.which("node")
    if not node:
        raise TestFailure("node is not installed: the UI tests need Node.js 20 or newer "
                          "(node --test) to drive the browser")
    version = subprocess.run([node, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    m = re.match(r"v(\d+)\.", version)
    if not m or int(m.group(1)) < 20:
        raise TestFailure("node %s is too old: the UI tests need Node.js 20 or newer "
                          "(playwright-core requires it)" % (version or "?"))
    chromium = os.environ.get("PGPDESK_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        raise TestFailure("Chromium is not installed at %s: install Debian's package "
                          "(apt-get install chromium; scripts/install-deps does)" % chromium)
    module = os.path.join(UI_DIR, "node_modules", "playwright-core", "package.json")
    if not os.path.exists(module):
        raise TestFailure("test/ui/node_modules is missing playwright-core: run "
                          "`npm ci --prefix test/ui` (make check does)")
    return node


def test_ui_browser(t):
    node = _check_prerequisites()
    env = dict(os.environ)
    env["PGPDESK_BIN"] = t.session.binary
    env["TMPDIR"] = t.tmp  # the server's database, gpg home and browser profile go here
    env.setdefault("PGPDESK_SCREENSHOTS", os.path.join(ROOT, "doc", "screenshots"))
    env.pop("NODE_OPTIONS", None)
    env["NO_COLOR"] = "1"
    env["FORCE_COLOR"] = "0"
    argv = [node, "--test", "--test-reporter=spec", os.path.join(UI_DIR, "ui.test.mjs")]
    try:
        p = subprocess.run(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        rc, out = p.returncode, p.stdout.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", errors="replace")
        raise TestFailure("the browser tests did not finish within %d s\n%s"
                          % (TIMEOUT, _tail(out)))
    if t.session.verbose:
        t.session.log("    " + _tail(out, 40).replace("\n", "\n    "))
    counts = dict(re.findall(r"^\S*\s*(tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$", out, re.M))
    summary = ", ".join("%s %s" % (k, counts[k]) for k in ("tests", "pass", "fail", "cancelled",
                                                          "skipped", "todo") if k in counts)
    if rc != 0:
        detail = _failures(out) or _tail(out)
        raise TestFailure("node --test test/ui/ exited %s (%s)\n%s"
                          % (rc, summary or "no summary", detail))
    if not counts.get("tests") or int(counts["tests"]) == 0:
        raise TestFailure("node --test test/ui/ ran no test\n%s" % _tail(out))
    for k in ("fail", "cancelled", "skipped", "todo"):
        if int(counts.get(k, "0")):
            raise TestFailure("node --test test/ui/: %s\n%s" % (summary, _tail(out)))
