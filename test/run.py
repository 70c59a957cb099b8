#!/usr/bin/env python3
"""The pgpdesk test runner (Python standard library only).

    python3 test/run.py --binary build/pgpdesk [-k SUBSTRING] [-v] [--keys-dir DIR] [--keep]

Runs every function named test_* in test/test_*.py (in file order, each with a fresh fixture:
see support.T) and every data-driven case folder test/cases/NAME/ (see test/README.md).
Prints `PASS name` or `FAIL name` plus the reason for each test, then exactly one final line
`N passed, N failed`. Exits 1 if any test failed or none ran.
"""

import argparse
import importlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import support  # noqa: E402
from support import TestFailure, expect  # noqa: E402

CASES_DIR = os.path.join(HERE, "cases")


# ------------------------------------------------------------------------------ discovery


def discover_functions(errors):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - an unimportable module is a failed test
            errors.append((modname, traceback.format_exc(limit=5)))
            continue
        for name, obj in vars(mod).items():  # definition order
            if name.startswith("test_") and callable(obj):
                tests.append(("%s.%s" % (modname, name), obj))
    return tests


def discover_cases():
    if not os.path.isdir(CASES_DIR):
        return []
    out = []
    for name in sorted(os.listdir(CASES_DIR)):
        d = os.path.join(CASES_DIR, name)
        if os.path.isdir(d) and not name.startswith((".", "_")):
            out.append(("case:" + name, d))
    return out


# ------------------------------------------------------------------------------ data-driven cases


PLACEHOLDER = re.compile(r"\{(case|input|tmp|key:[\w-]+:[\w-]+|pass:[\w-]+|fpr:[\w-]+)\}")


def _subst(t, case_dir, text):
    """Replaces the placeholders {case} {input} {tmp} {key:NAME:FILE} {pass:NAME} {fpr:NAME};
    any other braces are left alone."""
    def repl(m):
        token = m.group(1)
        if token == "case":
            return case_dir
        if token == "input":
            return os.path.join(case_dir, "input.eml")
        if token == "tmp":
            return t.tmp
        parts = token.split(":")
        try:
            key = t.keys[parts[1]]
        except KeyError:
            raise TestFailure("unknown fixture key %r in {%s}" % (parts[1], token))
        if parts[0] == "key":
            if parts[2] not in key.files:
                raise TestFailure("fixture key %s has no file %r (has %s)"
                                  % (parts[1], parts[2], sorted(key.files)))
            return key.path(parts[2])
        if parts[0] == "pass":
            return t.passfile(key.passphrase or "")
        return key.fingerprint

    return PLACEHOLDER.sub(repl, text)


def _subst_json(t, case_dir, value):
    if isinstance(value, str):
        return _subst(t, case_dir, value)
    if isinstance(value, list):
        return [_subst_json(t, case_dir, v) for v in value]
    if isinstance(value, dict):
        return {k: _subst_json(t, case_dir, v) for k, v in value.items()}
    return value


def _case_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def subset_match(expected, actual, where="$"):
    """None if `expected` matches `actual`, else a message. Objects: every expected member must
    match (extra actual members are fine). Arrays: same length, element-wise. Strings "$any"
    (any value) and "$re:PATTERN" (full regex match of a string) are wildcards."""
    if isinstance(expected, str) and expected == "$any":
        return None
    if isinstance(expected, str) and expected.startswith("$re:"):
        if isinstance(actual, str) and re.fullmatch(expected[4:], actual):
            return None
        return "%s: %r does not match /%s/" % (where, actual, expected[4:])
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return "%s: expected an object, got %r" % (where, actual)
        for k, v in expected.items():
            if k not in actual:
                return "%s: missing member %r" % (where, k)
            m = subset_match(v, actual[k], "%s.%s" % (where, k))
            if m:
                return m
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return "%s: expected an array, got %r" % (where, actual)
        if len(expected) != len(actual):
            return "%s: expected %d elements, got %d" % (where, len(expected), len(actual))
        for i, (e, a) in enumerate(zip(expected, actual)):
            m = subset_match(e, a, "%s[%d]" % (where, i))
            if m:
                return m
        return None
    if type(expected) is not type(actual) or expected != actual:
        return "%s: expected %r, got %r" % (where, expected, actual)
    return None


def run_case(t, case_dir):
    cmd_path = os.path.join(case_dir, "cmd")
    exp_path = os.path.join(case_dir, "expected.json")
    expect(os.path.exists(cmd_path), "case has no cmd file")
    expect(os.path.exists(exp_path), "case has no expected.json")
    with open(exp_path, encoding="utf-8") as f:
        try:
            exp = json.load(f)
        except ValueError as e:
            raise TestFailure("expected.json is not valid JSON: %s" % e)
    exp = _subst_json(t, case_dir, exp)
    setup = os.path.join(case_dir, "setup")
    if os.path.exists(setup):
        for line in _case_lines(setup):
            t.ok(*shlex.split(_subst(t, case_dir, line)))
    lines = _case_lines(cmd_path)
    expect(len(lines) == 1, "cmd must hold exactly one command line")
    raw = lines[0]
    stdin = None
    inp = os.path.join(case_dir, "input.eml")
    if "{input}" not in raw and os.path.exists(inp):
        with open(inp, "rb") as f:
            stdin = f.read()
    r = t.run(*shlex.split(_subst(t, case_dir, raw)), stdin=stdin)
    want_rc = exp.get("exit", 0)
    expect(r.rc == want_rc, "expected exit %s, got %s" % (want_rc, r.rc), r)
    if "stdout" in exp:
        m = subset_match(exp["stdout"], r.json())
        expect(m is None, "stdout JSON: %s" % m, r)
    for s in exp.get("stdout_contains", []):
        expect(s in r.out, "stdout should contain %r" % s, r)
    if "stderr" in exp:
        expect(r.err == exp["stderr"], "stderr should be exactly %r" % exp["stderr"], r)
    for s in exp.get("stderr_contains", []):
        expect(s in r.err, "stderr should contain %r" % s, r)
    for s in exp.get("not_contains", []):
        expect(s not in r.out and s not in r.err, "stdout/stderr should not contain %r" % s, r)


# ------------------------------------------------------------------------------ main


def main(argv=None):
    ap = argparse.ArgumentParser(description="Runs the pgpdesk test suite.")
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "pgpdesk"),
                    help="the pgpdesk executable (default: build/pgpdesk)")
    ap.add_argument("-k", dest="filter", action="append", default=[],
                    help="run only tests whose name contains SUBSTRING (repeatable: any)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show every command run and the time each test takes")
    ap.add_argument("--keys-dir", help="make the key fixtures here, or reuse them if it "
                    "already holds a set (default: a new temp dir per run)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (databases, gpg homes) "
                    "for inspection")
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, flush=True)

    t_start = time.time()
    errors = []
    tests = [(n, ("func", f)) for n, f in discover_functions(errors)]
    tests += [(n, ("case", d)) for n, d in discover_cases()]
    if args.filter:
        tests = [(n, x) for n, x in tests if any(s in n for s in args.filter)]
        errors = [(n, e) for n, e in errors if any(s in n for s in args.filter)]

    root = tempfile.mkdtemp(prefix="pgpdesk-test-")
    session = support.Session(args.binary, root, keys_dir=args.keys_dir,
                              verbose=args.verbose, log=log)
    passed = failed = 0
    for name, tb in errors:
        failed += 1
        log("FAIL %s (import error)\n    %s" % (name, tb.rstrip().replace("\n", "\n    ")))
    if not os.access(session.binary, os.X_OK):
        log("# warning: %s is not an executable file" % session.binary)

    try:
        for index, (name, (kind, obj)) in enumerate(tests):
            t = support.T(session, name, index)
            t0 = time.time()
            reason = None
            try:
                if kind == "func":
                    obj(t)
                else:
                    run_case(t, obj)
            except TestFailure as e:
                reason = str(e)
                result = e.result or t.last
                if result is not None:
                    reason += "\n" + result.describe()
            except Exception as e:  # noqa: BLE001 - a crash in a test is a failure
                reason = "%s: %s\n%s" % (type(e).__name__, e,
                                         traceback.format_exc(limit=6).rstrip())
                if t.last is not None:
                    reason += "\nlast " + t.last.describe()
            finally:
                t.cleanup()
            dt = time.time() - t0
            timing = " (%.1f s)" % dt if args.verbose else ""
            if reason is None:
                passed += 1
                log("PASS %s%s" % (name, timing))
                if not args.keep:
                    shutil.rmtree(t.tmp, ignore_errors=True)
            else:
                failed += 1
                log("FAIL %s%s\n    %s" % (name, timing, reason.replace("\n", "\n    ")))
                if args.keep:
                    log("    (files kept in %s)" % t.tmp)
                else:
                    shutil.rmtree(t.tmp, ignore_errors=True)
    finally:
        if args.keep:
            log("# temp files kept in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)

    if args.verbose:
        kg = session.keygen_seconds
        log("# total %.1f s%s" % (time.time() - t_start,
                                  "" if kg is None else ", key fixtures %.1f s" % kg))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
