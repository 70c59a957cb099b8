#!/usr/bin/env python3
"""bench/run.py - `make bench`: every workload of issue 5 side by side in one run.

pgpdesk is measured by bench/pgpdesk-bench, one process per workload (so peak RSS is per
workload); this driver makes the keys with gpg, runs the baselines next to it on the same keys
and the same bytes (Zammad's way, GnuPG warm, sq 0.27, the librnp floor), checks with gpg that
pgpdesk's output is right, drives the HTTP server with wrk, and prints the tables and writes
them to bench/results.md.

Baselines, per message:
  - Zammad's way: bench/baselines/zammad-*.sh, a fresh GNUPGHOME per gpg operation (import,
    gpg --batch --pinentry-mode loopback --passphrase-file, gpgconf --kill gpg-agent, rm -rf).
  - GnuPG warm: one persistent GNUPGHOME per party whose gpg-agent already holds the
    passphrase; one gpg CLI process per message, sign+encrypt in one pass like pgpdesk.
  - sq 0.27: one sq process per message. sq 0.27 cannot read a password from a file, so it is
    given an unprotected copy of the same private key (exported by gpg before the passphrase
    was set); it never pays an S2K.
  - The floor: crypto.h's openpgp_* over librnp on the same payload, no MIME, no lookup, no
    storage, keys loaded once (pgpdesk-bench w1-floor / w2-floor), and the same with an S2K on
    every private-key use (the -locked variants), which is what a per-message unlock costs.
"""

import argparse
import concurrent.futures
import datetime
import email
import email.policy
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_EXEC = None  # <build>/bench/bench-exec, set in main()

ALGOS = {  # name: (primary key, encryption subkey) as gpg --quick-gen-key/--quick-add-key say
    "ed25519": ("ed25519", "cv25519"),
    "rsa3072": ("rsa3072", "rsa3072"),
    "rsa4096": ("rsa4096", "rsa4096"),
}
ALGO_TITLES = {"ed25519": "Ed25519/Cv25519", "rsa3072": "RSA-3072", "rsa4096": "RSA-4096"}
PARTIES = {"helpdesk": ("Help Desk", "support@example.com"),
           "customer": ("Customer", "customer@example.org")}
PASSPHRASE = "bench: Ein Passwort, das niemand errät"

# Targets of issue 5 (medians, one core unless said).
TARGET_W1_PER_S = 1500
TARGET_W2_PER_S = 1200
TARGET_FLOOR_RATIO_25519 = 1.7
TARGET_FLOOR_RATIO_RSA = 1.3
TARGET_W3_RSS_MB = 64
TARGET_W3_MB_S = 80
TARGET_W4_P99_MS = 1.0
TARGET_W4_IMPORT_PER_S = 500
TARGET_W5_OPTIONS_PER_S = 5000
TARGET_W5_P99_MS = 10.0


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    pass


# ---------------------------------------------------------------- running things


def run(cmd, *, env=None, stdin=None, check=True, capture=True, timeout=600):
    """Runs cmd; returns CompletedProcess with text output."""
    p = subprocess.run(cmd, env=env, input=stdin, capture_output=capture, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p


def timed(cmd, *, env=None, stdin_path=None, stdout_path=None):
    """One process, timed from spawn to exit by bench-exec, which also reports the peak RSS
    of the largest process in the tree the command waited for (a daemonized gpg-agent is not
    in it). Returns (seconds, maxrss_kb, returncode, stderr)."""
    fd, result = tempfile.mkstemp(prefix="bench-exec-")
    os.close(fd)
    try:
        wrapper = [BENCH_EXEC, "--result", result]
        if stdin_path:
            wrapper += ["--stdin", stdin_path]
        if stdout_path:
            wrapper += ["--stdout", stdout_path]
        p = subprocess.run(wrapper + ["--"] + cmd, env=env, capture_output=True)
        if p.returncode != 0:
            raise Failure(f"bench-exec failed: {p.stderr.decode(errors='replace')}")
        with open(result) as f:
            ns, maxrss, code = (int(x) for x in f.read().split())
        return ns / 1e9, maxrss, code, p.stderr.decode(errors="replace")
    finally:
        os.unlink(result)


def percentile(values, p):
    """Nearest rank, as pgpdesk-bench computes it."""
    s = sorted(values)
    rank = max(1, min(len(s), int(p * len(s) + 0.999999)))
    return s[rank - 1]


def attachment_of(raw):
    """The decoded bytes of the first part of a MIME message that names a file, or None."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_filename():
            return part.get_payload(decode=True)
    return None


def per_op(name, cmd_for, n, check_each=None):
    """Runs n processes (cmd_for(i) -> dict of timed() arguments); a result like
    pgpdesk-bench's. Throughput is 1/median: the processes run one after another."""
    times, rss = [], []
    for i in range(n):
        args = cmd_for(i)
        elapsed, maxrss, rc, err = timed(**args)
        if rc != 0:
            raise Failure(f"{name}: {' '.join(args['cmd'])} exited {rc}: {err.strip()[-600:]}")
        if check_each:
            check_each(args)
        times.append(elapsed * 1000)
        rss.append(maxrss)
    med = statistics.median(times)
    return {"variant": name, "n": n, "median_ms": med, "p99_ms": percentile(times, 0.99),
            "mean_ms": statistics.mean(times), "ops_per_s": 1000 / med if med else 0,
            "peak_rss_kb": max(rss)}


# ---------------------------------------------------------------- the bench


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.bench_bin = os.path.join(self.build, "bench", "pgpdesk-bench")
        self.pgpdesk_bin = os.path.join(self.build, "pgpdesk")
        self.tmp = tempfile.mkdtemp(prefix="pgpdesk-bench-")
        self.keys = os.path.join(self.tmp, "keys")
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.keys, mode=0o700)
        os.makedirs(self.work, mode=0o700)
        self.passfile = os.path.join(self.keys, "passphrase")
        self.fprs = {}      # (party, algo) -> fingerprint
        self.homes = {}     # (party, algo) -> warm GNUPGHOME
        self.results = {}   # section -> list of result dicts
        self.notes = {}     # section -> list of lines
        self.ratios = {}    # section -> pgpdesk/floor median ratio of each interleaved round
        self.checks = []    # correctness checks passed
        self.started = time.time()
        self.algos = [a for a in args.algos.split(",") if a]

    def cleanup(self):
        for home in self.homes.values():
            subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=self.gpg_env(home),
                           capture_output=True)
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log(f"kept {self.tmp}")

    def add(self, section, result, **extra):
        result = dict(result, **extra)
        self.results.setdefault(section, []).append(result)
        ms = result.get("median_ms", 0)
        log(f"{section}: {result['variant']}: median {ms:.3f} ms, p99 "
            f"{result.get('p99_ms', 0):.3f} ms, n={result.get('n')}")
        return result

    def note(self, section, line):
        self.notes.setdefault(section, []).append(line)

    # ------------------------------------------------------------ pgpdesk-bench

    def bench(self, workload, algo="ed25519", seconds=None, warmup=None, min_ops=None,
              max_ops=None, work=None, **kw):
        cmd = [self.bench_bin, workload, "--keys", self.keys, "--work", work or self.work,
               "--algo", algo]
        seconds = self.args.seconds if seconds is None else seconds
        cmd += ["--seconds", str(seconds)]
        if warmup is not None:
            cmd += ["--warmup", str(warmup)]
        if min_ops is not None:
            cmd += ["--min-ops", str(min_ops)]
        if max_ops is not None:
            cmd += ["--max-ops", str(max_ops)]
        for k, v in kw.items():
            cmd += ["--" + k.replace("_", "-"), str(v)]
        p = run(cmd, timeout=900)
        if p.stderr.strip():
            for line in p.stderr.strip().splitlines():
                log(line)
        out = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        return out, p.stderr

    # ------------------------------------------------------------ keys

    def gpg_env(self, home):
        env = dict(os.environ, GNUPGHOME=home, LC_ALL="C")
        return env

    def gpg(self, home, *args, stdin=None, check=True):
        return run(["gpg", "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback",
                    *args], env=self.gpg_env(home), stdin=stdin, check=check)

    def make_keys(self):
        """Two parties' keys per algorithm, made by gpg with a passphrase (each in a
        GNUPGHOME of its own, two at a time: gpg-agent's S2K work on --passwd and on the
        protected export takes seconds per key)."""
        with open(self.passfile, "w") as f:
            f.write(PASSPHRASE)
        jobs = [(algo, party) for algo in self.algos for party in PARTIES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for (algo, party), fpr in zip(jobs, pool.map(lambda j: self.make_key(*j), jobs)):
                self.fprs[(party, algo)] = fpr
        with open(self.key("helpdesk", "ed25519", "secret")) as f:
            s2k = self.gpg(os.path.join(self.tmp, "gnupg-keygen-ed25519-helpdesk"),
                           "--list-packets", stdin=f.read(), check=False).stdout
        m = re.search(r"protect count: (\d+)", s2k)
        self.s2k_count = int(m.group(1)) if m else None

    def make_key(self, algo, party):
        primary, sub = ALGOS[algo]
        name, addr = PARTIES[party]
        home = os.path.join(self.tmp, f"gnupg-keygen-{algo}-{party}")
        os.makedirs(home, mode=0o700)
        t0 = time.time()
        uid = f"{name} ({algo}) <{addr}>"
        p = self.gpg(home, "--status-fd", "1", "--passphrase", "", "--quick-gen-key", uid,
                     primary, "cert,sign", "never")
        m = re.search(r"KEY_CREATED \w ([0-9A-F]{40})", p.stdout)
        if not m:
            raise Failure(f"gpg made no key for {uid}: {p.stderr}")
        fpr = m.group(1)
        self.gpg(home, "--passphrase", "", "--quick-add-key", fpr, sub, "encr", "never")
        base = os.path.join(self.keys, f"{party}-{algo}")
        # Unprotected first (for sq and the floor), then the passphrase is set.
        p = self.gpg(home, "--passphrase", "", "--armor", "--export-secret-keys", fpr)
        with open(base + ".unprotected.asc", "w") as f:
            f.write(p.stdout)
        self.gpg(home, "--passphrase-file", self.passfile, "--passwd", fpr)
        p = self.gpg(home, "--passphrase-file", self.passfile, "--armor", "--export-secret-keys",
                     fpr)
        with open(base + ".secret.asc", "w") as f:
            f.write(p.stdout)
        p = self.gpg(home, "--armor", "--export", fpr)
        with open(base + ".pub.asc", "w") as f:
            f.write(p.stdout)
        with open(base + ".fpr", "w") as f:
            f.write(fpr + "\n")
        run(["gpgconf", "--kill", "gpg-agent"], env=self.gpg_env(home), check=False)
        log(f"key {party} {algo} {fpr} ({time.time() - t0:.1f} s)")
        return fpr

    def key(self, party, algo, kind):
        return os.path.join(self.keys, f"{party}-{algo}.{kind}.asc")

    def warm_home(self, party, algo):
        """A persistent GNUPGHOME for party: its private key, the other party's public key,
        and a gpg-agent that has been given the passphrase once."""
        if (party, algo) in self.homes:
            return self.homes[(party, algo)]
        home = os.path.join(self.tmp, f"gnupg-warm-{party}-{algo}")
        os.makedirs(home, mode=0o700)
        other = "customer" if party == "helpdesk" else "helpdesk"
        self.gpg(home, "--import", self.key(party, algo, "secret"))
        self.gpg(home, "--import", self.key(other, algo, "pub"))
        # One signature unlocks the key in the agent's passphrase cache.
        self.gpg(home, "--passphrase-file", self.passfile, "--local-user",
                 self.fprs[(party, algo)], "--armor", "--detach-sign", stdin="warm-up")
        self.homes[(party, algo)] = home
        return home

    # ------------------------------------------------------------ correctness (gpg)

    def gpg_open(self, eml_path, algo, reader, signer):
        """gpg (in reader's warm keyring) decrypts the encrypted.asc part of a PGP/MIME
        message and must report a good signature by signer's key. Returns the plaintext."""
        with open(eml_path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.compat32)
        if msg.get_content_type() != "multipart/encrypted":
            raise Failure(f"{eml_path}: not multipart/encrypted but {msg.get_content_type()}")
        parts = msg.get_payload()
        if len(parts) != 2 or parts[0].get_content_type() != "application/pgp-encrypted":
            raise Failure(f"{eml_path}: not RFC 3156 (two parts, application/pgp-encrypted first)")
        armored = parts[1].get_payload(decode=True)
        home = self.warm_home(reader, algo)
        p = subprocess.run(["gpg", "--batch", "--no-tty", "--status-fd", "2", "--pinentry-mode",
                            "loopback", "--passphrase-file", self.passfile, "--decrypt"],
                           input=armored, capture_output=True, env=self.gpg_env(home))
        status = p.stderr.decode(errors="replace")
        if p.returncode != 0 or "DECRYPTION_OKAY" not in status:
            raise Failure(f"gpg could not decrypt {eml_path}: {status[-600:]}")
        m = re.search(r"^\[GNUPG:\] VALIDSIG (\S+) .* ([0-9A-F]{40})$", status, re.M)
        if "[GNUPG:] GOODSIG" not in status or not m or m.group(2) != self.fprs[(signer, algo)]:
            raise Failure(f"gpg found no good signature by {signer}'s key in {eml_path}: "
                          f"{status[-600:]}")
        return p.stdout

    def check_w1(self, algo):
        """gpg, as the customer, opens the first and the last W1 message; the decrypted
        text must be the draft's body, and the protected Subject the draft's."""
        draft_path = os.path.join(self.work, f"w1-{algo}-draft.eml")
        with open(draft_path, "rb") as f:
            draft = email.message_from_binary_file(f, policy=email.policy.default)
        want_body = draft.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip()
        payload = None
        for which in ("first", "last"):
            path = os.path.join(self.work, f"w1-{algo}-{which}.eml")
            payload = self.gpg_open(path, algo, "customer", "helpdesk")
            inner = email.message_from_bytes(payload, policy=email.policy.default)
            part = inner.get_body(("plain",))
            body = part.get_content().replace("\r\n", "\n").rstrip() if part else None
            if body != want_body:
                raise Failure(f"gpg decrypted {path}, but the text is not the draft's")
            if inner.get("Subject") != draft.get("Subject"):
                raise Failure(f"{path}: protected Subject {inner.get('Subject')!r} is not "
                              f"the draft's {draft.get('Subject')!r}")
        out = os.path.join(self.work, f"w1-{algo}-payload.bin")
        with open(out, "wb") as f:
            f.write(payload)
        self.checks.append(f"W1 {ALGO_TITLES[algo]}: the first and the last message of the "
                           f"run decrypted by gpg {self.gpg_version_short}, good signature by "
                           f"the helpdesk key, text and protected Subject equal to the draft's")
        return out

    # ------------------------------------------------------------ W1 / W2

    def zammad_n(self, algo):
        """Zammad's way takes seconds per message (gpg-agents started, keys imported and
        re-protected by the agent's S2K): fewer runs for RSA keep `make bench` within its
        ten minutes. The n column says how many."""
        return self.args.zammad_n if algo == "ed25519" else self.args.zammad_rsa_n

    def w1(self, algo):
        section = f"W1 {ALGO_TITLES[algo]}"
        log(f"{section}: pgpdesk")
        fsync = self.fsync_probe(50)
        res, _ = self.bench("w1", algo)
        pd = self.add(section, res[0], label="pgpdesk (end to end)", fsync_ms=fsync[0])
        self.tmpfs_row(section, "w1", algo)
        payload = self.check_w1(algo)
        labels = {"floor": "librnp floor (key unlocked once)",
                  "floor-sign": "librnp floor: the detached signature alone",
                  "floor-locked": "librnp floor, S2K per message"}
        for variant in ("w1-floor", "w1-floor-locked"):
            res, _ = self.bench(variant, algo, seconds=self.args.floor_seconds)
            for r in res:
                self.add(section, r, label=labels[r["variant"]])
        self.floor_rounds(section, "w1", algo)

        hd, cu = self.fprs[("helpdesk", algo)], self.fprs[("customer", algo)]
        out = os.path.join(self.work, "baseline.out")
        n = self.zammad_n(algo)
        log(f"{section}: Zammad's way x{n}")
        self.add(section, per_op("zammad", lambda i: {"cmd": [
            os.path.join(HERE, "baselines", "zammad-sign-encrypt.sh"), payload, out,
            self.key("helpdesk", algo, "secret"), self.passfile, hd,
            f"{cu}:{self.key('customer', algo, 'pub')}",
            f"{hd}:{self.key('helpdesk', algo, 'pub')}"]}, n),
            label="Zammad's way (gpg, fresh GNUPGHOME per operation)")
        home = self.warm_home("helpdesk", algo)
        n = self.args.baseline_n
        log(f"{section}: GnuPG warm x{n}")
        self.add(section, per_op("gpg-warm", lambda i: {"cmd": [
            "gpg", "--batch", "--yes", "--no-tty", "--trust-model", "always", "--pinentry-mode",
            "loopback", "--passphrase-file", self.passfile, "--armor", "--local-user", hd,
            "--recipient", cu, "--recipient", hd, "--sign", "--encrypt"],
            "env": self.gpg_env(home), "stdin_path": payload, "stdout_path": out}, n),
            label="GnuPG warm (gpg CLI per message, agent holds the key)")
        log(f"{section}: sq x{n}")
        self.add(section, per_op("sq", lambda i: {"cmd": [
            "sq", "--force", "encrypt", "--compression", "none",
            "--recipient-cert", self.key("customer", algo, "pub"),
            "--recipient-cert", self.key("helpdesk", algo, "pub"),
            "--signer-key", self.key("helpdesk", algo, "unprotected"), payload,
            "--output", out]}, n),
            label="sq 0.27 per message (unprotected key copy)")
        return pd

    def w2(self, algo):
        section = f"W2 {ALGO_TITLES[algo]}"
        log(f"{section}: pgpdesk")
        fsync = self.fsync_probe(50)
        res, _ = self.bench("w2", algo)
        pd = self.add(section, res[0], label="pgpdesk (end to end)", fsync_ms=fsync[0])
        self.tmpfs_row(section, "w2", algo)
        for variant, label in (("w2-floor", "librnp floor (key unlocked once)"),
                               ("w2-floor-locked", "librnp floor, S2K per message")):
            res, _ = self.bench(variant, algo, seconds=self.args.floor_seconds)
            self.add(section, res[0], label=label)
        self.floor_rounds(section, "w2", algo)

        # The baselines open the same armored bytes.
        eml = os.path.join(self.work, f"w2-{algo}-input.eml")
        with open(eml, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.compat32)
        armored = os.path.join(self.work, f"w2-{algo}-encrypted.asc")
        with open(armored, "wb") as f:
            f.write(msg.get_payload()[1].get_payload(decode=True))
        self.gpg_open(eml, algo, "helpdesk", "customer")
        self.checks.append(f"W2 {ALGO_TITLES[algo]}: pgpdesk reported decrypted and good "
                           f"signature for every message; gpg opens the same input with a "
                           f"good signature")
        out = os.path.join(self.work, "baseline.out")
        n = self.zammad_n(algo)
        log(f"{section}: Zammad's way x{n}")
        self.add(section, per_op("zammad", lambda i: {"cmd": [
            os.path.join(HERE, "baselines", "zammad-decrypt.sh"), armored, out,
            self.key("helpdesk", algo, "secret"), self.passfile,
            self.key("customer", algo, "pub")]}, n),
            label="Zammad's way (gpg, fresh GNUPGHOME, decrypts twice)")
        home = self.warm_home("helpdesk", algo)
        n = self.args.baseline_n
        log(f"{section}: GnuPG warm x{n}")
        self.add(section, per_op("gpg-warm", lambda i: {"cmd": [
            "gpg", "--batch", "--yes", "--no-tty", "--trust-model", "always", "--pinentry-mode",
            "loopback", "--passphrase-file", self.passfile, "--status-fd", "2", "--decrypt"],
            "env": self.gpg_env(home), "stdin_path": armored, "stdout_path": out}, n),
            label="GnuPG warm (gpg CLI per message, agent holds the key)")
        log(f"{section}: sq x{n}")
        self.add(section, per_op("sq", lambda i: {"cmd": [
            "sq", "--force", "decrypt", "--recipient-key", self.key("helpdesk", algo, "unprotected"),
            "--signer-cert", self.key("customer", algo, "pub"), armored, "--output", out]}, n),
            label="sq 0.27 per message (unprotected key copy)")
        return pd

    def floor_rounds(self, section, workload, algo):
        """pgpdesk over its floor in alternating short runs. This machine is shared and its
        speed drifts by tens of percent within minutes: two long runs minutes apart measure
        the drift as much as the overhead, while a run of each, back to back, sees nearly the
        same machine. The ratio is the median of the rounds' ratios."""
        ratios = []
        for _ in range(self.args.floor_rounds):
            pd, _ = self.bench(workload, algo, seconds=self.args.round_seconds, warmup=0.3)
            fl, _ = self.bench(workload + "-floor", algo, seconds=self.args.round_seconds,
                               warmup=0.3)
            floor = next(r for r in fl if r["variant"] == "floor")
            ratios.append(pd[0]["median_ms"] / floor["median_ms"])
            log(f"{section}: round {len(ratios)}: pgpdesk {pd[0]['median_ms']:.3f} ms, floor "
                f"{floor['median_ms']:.3f} ms, {ratios[-1]:.2f}×")
        self.ratios[section] = ratios

    def tmpfs_row(self, section, workload, algo):
        """The same workload with the database on tmpfs (/dev/shm), where fdatasync costs
        nothing: the difference to the row above is what durable commits cost on this
        machine's disk. A diagnostic row, not a target figure."""
        if algo != "ed25519" or not os.path.isdir("/dev/shm"):
            return
        work = tempfile.mkdtemp(prefix="pgpdesk-bench-", dir="/dev/shm")
        try:
            res, _ = self.bench(workload, algo, work=work)
            self.add(section, res[0], label="pgpdesk, database on tmpfs (diagnostic: no fsync)",
                     variant="pgpdesk-tmpfs")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------ W3

    def w3(self):
        section = "W3 large"
        algo = "ed25519"
        for mb in self.args.w3_sizes:
            log(f"{section}: {mb} MB")
            self.bench("w3-compose", algo, size_mb=mb, warmup=0, min_ops=1, max_ops=1)
            reps = 5 if mb <= 10 else 3  # a 50 MB operation takes most of a second
            for variant in ("w3-seal", "w3-open", "w3-floor-seal-stream", "w3-floor-open-stream",
                            "w3-floor-seal", "w3-floor-open"):
                # One warm-up operation (a tiny warm-up time runs one): the key's unlock, an
                # S2K paid once per process, is not a large message's cost, as in W1/W2.
                res, err = self.bench(variant, algo, size_mb=mb, warmup=0.001, seconds=0,
                                      min_ops=reps, max_ops=reps)
                r = res[0]
                label = {"w3-seal": "pgpdesk seal", "w3-open": "pgpdesk open",
                         "w3-floor-seal-stream": "librnp floor seal (streaming, file to file)",
                         "w3-floor-open-stream": "librnp floor open (streaming, file to file)",
                         "w3-floor-seal": "librnp floor seal (in memory)",
                         "w3-floor-open": "librnp floor open (in memory)"}[variant]
                self.add(section, r, label=label, size_mb=mb)
                m = re.search(r"at the default limits: (.*)", err)
                if m:
                    self.note(section, f"{mb} MB: at the default limits (128 MiB of message, "
                              f"10 s) the draft is refused: \"{m.group(1).strip()}\"; the "
                              f"bench raises them for W3.")
            # gpg warm and sq on the same bytes: the draft in, pgpdesk's sealed message out.
            draft = os.path.join(self.work, f"w3-{mb}mb-draft.eml")
            sealed = os.path.join(self.work, f"w3-{mb}mb-sealed.eml")
            with open(sealed, "rb") as f:
                data = f.read()
            a = data.find(b"-----BEGIN PGP MESSAGE-----")
            b = data.find(b"-----END PGP MESSAGE-----")
            armored = os.path.join(self.work, f"w3-{mb}mb.asc")
            with open(armored, "wb") as f:
                f.write(data[a:b + len(b"-----END PGP MESSAGE-----")] + b"\n")
            del data
            hd, cu = self.fprs[("helpdesk", algo)], self.fprs[("customer", algo)]
            out = os.path.join(self.work, "baseline.out")
            for label, direction, cmd, home in (
                ("GnuPG warm seal", "seal",
                 ["gpg", "--batch", "--yes", "--no-tty", "--trust-model", "always",
                  "--pinentry-mode", "loopback", "--passphrase-file", self.passfile, "--armor",
                  "--compress-algo", "none", "--local-user", hd, "--recipient", cu,
                  "--recipient", hd, "--sign", "--encrypt"], ("helpdesk", algo)),
                ("GnuPG warm open", "open",
                 ["gpg", "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback",
                  "--passphrase-file", self.passfile, "--decrypt"], ("customer", algo)),
                ("sq seal", "seal",
                 ["sq", "encrypt", "--compression", "none",
                  "--recipient-cert", self.key("customer", algo, "pub"),
                  "--recipient-cert", self.key("helpdesk", algo, "pub"),
                  "--signer-key", self.key("helpdesk", algo, "unprotected")], None),
                ("sq open", "open",
                 ["sq", "decrypt", "--recipient-key", self.key("customer", algo, "unprotected"),
                  "--signer-cert", self.key("helpdesk", algo, "pub")], None)):
                env = self.gpg_env(self.warm_home(*home)) if home else None
                src = draft if direction == "seal" else armored
                r = per_op(label, lambda i: {"cmd": cmd, "env": env, "stdin_path": src,
                                             "stdout_path": out}, 1)
                r["mb_per_s"] = mb / (r["median_ms"] / 1000)
                self.add(section, r, label=label, size_mb=mb)
            # gpg must open pgpdesk's sealed message: a good signature by the helpdesk's key and
            # the draft's attachment, byte for byte.
            with open(draft, "rb") as f:
                want = attachment_of(f.read())
            if want is None or attachment_of(self.gpg_open(sealed, algo, "customer",
                                                           "helpdesk")) != want:
                raise Failure(f"W3 {mb} MB: the attachment gpg decrypted from pgpdesk's sealed "
                              f"message differs from the draft's")
            self.checks.append(f"W3 {mb} MB: pgpdesk's sealed message decrypted by gpg "
                               f"{self.gpg_version_short}, good signature by the helpdesk key, "
                               f"attachment equal to the draft's; pgpdesk reported decrypted and "
                               f"good signature for every open")
            for path in (draft, sealed, armored, out):
                if os.path.exists(path):
                    os.unlink(path)

    # ------------------------------------------------------------ W4

    def w4(self):
        section = "W4 key store"
        log(f"{section}: {self.args.w4_keys} keys")
        fsync = self.fsync_probe(50)
        self.note(section, f"Just before W4 ran, one fdatasync on the database's disk took "
                  f"{fsync[0]:.2f} ms (median of 50).")
        res, _ = self.bench("w4", "ed25519", seconds=self.args.seconds,
                            keys_in_store=self.args.w4_keys, max_ops=self.args.w4_import_max)
        for r in res:
            label = {"security-options": "security options (group sign key + recipient key)",
                     "find-usable": "find_usable (one address, encryption)",
                     "import": "import, one key per call"}[r["variant"]]
            self.add(section, r, label=label)
        # gpg must accept the synthetic certificates as valid.
        home = os.path.join(self.tmp, "gnupg-w4-check")
        os.makedirs(home, mode=0o700)
        p = self.gpg(home, "--status-fd", "1", "--import",
                     os.path.join(self.work, "w4-sample.pgp"), check=False)
        imported = len(re.findall(r"IMPORT_OK", p.stdout))
        p = self.gpg(home, "--check-signatures", check=False)
        good = p.stdout.count("sig!")
        bad = len(re.findall(r"^sig-", p.stdout, re.M))
        run(["gpgconf", "--kill", "gpg-agent"], env=self.gpg_env(home), check=False)
        if imported != 20 or good != 40 or bad:
            raise Failure(f"gpg does not accept the synthetic W4 certificates: {imported} "
                          f"imported, {good} good and {bad} bad signatures of 40")
        self.checks.append("W4: gpg imports a sample of 20 synthetic certificates with all "
                           "40 self-signatures good; the library's record of one imported "
                           "through pgpdesk_keystore_import equals the fill's")

    # ------------------------------------------------------------ W5

    def w5(self):
        section = "W5 HTTP"
        db = os.path.join(self.work, "w4.db")
        if not os.path.exists(db):
            self.note(section, "skipped: W4's database is missing")
            return
        wrk = shutil.which("wrk") or self.install_wrk()
        if not wrk:
            self.note(section, "skipped: wrk is not installed and could not be installed")
            return
        with open(os.path.join(self.work, "w4-group-id")) as f:
            group = int(f.read().strip())
        with open(os.path.join(self.work, "w4-addresses.txt")) as f:
            addrs = [a.strip() for a in f if a.strip()]
        body = ("Dear customer, thank you for your message. " * 100)[:4096]
        fsync = self.fsync_probe(50)
        self.note(section, f"Just before W5 ran, one fdatasync on the database's disk took "
                  f"{fsync[0]:.2f} ms (median of 50).")
        self.cpu_scaling = self.cpu_scaling_probe()
        runs = [("security options", 2, "options", ["-t2", "-c16"]),
                ("send (sign+encrypt)", 1, "send", ["-t1", "-c2"]),
                ("send (sign+encrypt)", 2, "send", ["-t2", "-c4"])]
        token = None
        for title, threads, kind, conc in runs:
            server = Server(self, db, threads)
            try:
                if not server.start():
                    self.note(section, f"skipped: server not available ({server.why})")
                    return
                if token is None:
                    token = run([self.pgpdesk_bin, "--db", db, "user", "token", "admin"]
                                ).stdout.strip()
                url = f"http://127.0.0.1:{server.port}"
                if kind == "options":
                    path, js = "/api/v1/integration/pgp", (
                        '{"ticket":{"group_id":%d},"article":{"to":"\' .. a .. \'"}}' % group)
                    lua_body = ("local a = addrs[math.random(#addrs)]\n"
                                f"  local body = '{js}'")
                else:
                    path = "/api/v1/send"
                    payload = json.dumps({"group_id": group, "to": PARTIES["customer"][1],
                                          "subject": "Your order 4711", "body": body,
                                          "sign": True, "encrypt": True})
                    lua_body = f"local body = {lua_string(payload)}"
                probe = probe_request(url + path, token, kind, group, addrs[0], body)
                if probe is not True:
                    self.note(section, f"skipped {kind}: {probe}")
                    continue
                script = os.path.join(self.work, f"w5-{kind}.lua")
                with open(script, "w") as f:
                    f.write("addrs = {%s}\n" % ",".join(lua_string(a) for a in addrs))
                    f.write('wrk.method = "POST"\n')
                    f.write('wrk.headers["Content-Type"] = "application/json"\n')
                    f.write(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
                    f.write("request = function()\n  %s\n  return wrk.format(nil, %s, nil, body)\n"
                            "end\n" % (lua_body, lua_string(path)))
                d = self.args.w5_seconds
                cmd = [wrk, *conc, f"-d{d}s", "--latency", "-s", script, url]
                log(f"{section}: {title}, {threads} server thread(s): {' '.join(cmd[1:4])}")
                p = run(cmd, timeout=d + 60)
                r = parse_wrk(p.stdout)
                r.update(variant=f"{kind}-{threads}", label=title, threads=threads,
                         wrk=" ".join(conc + [f"-d{d}s"]),
                         peak_rss_kb=server.peak_rss_kb())
                self.add(section, r)
            finally:
                server.stop()

    def cpu_scaling_probe(self, repeats=3):
        """What a second core adds on this machine: one CPU-bound loop alone, then two at
        once. Two jobs in the time of the slower one over one job in its own time: 2.0 on two
        idle cores of one's own, less on vCPUs shared with other machines. The ceiling of any
        two-thread speed-up here, as a few tries (it swings with the other machines' load)."""
        code = ("import time\nt = time.perf_counter()\nx = 0\n"
                "for i in range(10_000_000):\n    x += i\nprint(time.perf_counter() - t)")
        ratios = []
        for _ in range(repeats):
            alone = float(run([sys.executable, "-c", code]).stdout)
            procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                      text=True) for _ in range(2)]
            both = [float(p.communicate()[0]) for p in procs]
            ratios.append(2 * alone / max(both))
        return ratios

    def install_wrk(self):
        """wrk is a Debian package; installed here when missing (scripts/install-deps does
        not list it, since only the bench needs it)."""
        if os.geteuid() != 0:
            return None
        log("installing wrk (apt-get install wrk)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        p = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
                           env=env, capture_output=True)
        if p.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                            "wrk"], env=env, capture_output=True)
        return shutil.which("wrk")

    # ------------------------------------------------------------ OpenSSL's raw RSA

    def openssl_rsa(self):
        """OpenSSL's own RSA private-key operation, for comparison with librnp's (issue 5:
        librnp 0.16 rebuilds the RSA key on every private-key operation)."""
        out = {}
        for bits in (3072, 4096):
            p = run(["openssl", "speed", "-seconds", "1", f"rsa{bits}"], check=False)
            m = re.search(rf"^rsa\s+{bits} bits\s+([\d.]+)s\s+([\d.]+)s", p.stdout, re.M)
            if m:
                out[bits] = (float(m.group(1)) * 1000, float(m.group(2)) * 1000)
        self.openssl = out

    # ------------------------------------------------------------ the disk

    def fsync_probe(self, n=200):
        """What one durable commit costs on the disk the databases live on: 4 KiB written and
        fdatasync'd, n times. This machine's disk is a VM's: its sync latency changes from
        minute to minute (0.1 to 4 ms seen), so the pgpdesk rows get a probe of their own just
        before they run."""
        path = os.path.join(self.work, "fsync-probe")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        times = []
        try:
            for i in range(n):
                os.pwrite(fd, b"x" * 4096, (i % 64) * 4096)
                t0 = time.perf_counter()
                os.fdatasync(fd)
                times.append((time.perf_counter() - t0) * 1000)
        finally:
            os.close(fd)
            os.unlink(path)
        result = (statistics.median(times), percentile(times, 0.99))
        if n == 200:
            self.fsync_ms = result
        return result

    # ------------------------------------------------------------ machine

    def machine(self):
        lscpu = run(["lscpu"], check=False).stdout
        model = re.search(r"^Model name:\s+(.*)$", lscpu, re.M)
        cpus = re.search(r"^CPU\(s\):\s+(\d+)", lscpu, re.M)
        mhz = re.search(r"^CPU max MHz:\s+(.*)$", lscpu, re.M)
        with open("/proc/meminfo") as f:
            mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
        def first(cmd):
            try:
                return run(cmd, check=False).stdout.splitlines()[0].strip()
            except Exception:
                return "?"
        self.gpg_version = first(["gpg", "--version"])
        self.gpg_version_short = self.gpg_version.split()[-1]
        git = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip()
        dirty = [line[3:] for line in run(["git", "-C", ROOT, "status", "--porcelain", "lib",
                                           "include"], check=False).stdout.splitlines()]
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        return {
            "load": load,
            "cpu": (model.group(1).strip() if model else platform.processor()) +
                   (f", max {mhz.group(1)} MHz" if mhz else ""),
            "cores": cpus.group(1) if cpus else str(os.cpu_count()),
            "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "gpg": self.gpg_version,
            "sq": first(["sq", "--version"]),
            "librnp": first(["pkg-config", "--modversion", "librnp"]),
            "gmime": first(["pkg-config", "--modversion", "gmime-3.0"]),
            "sqlite": first(["pkg-config", "--modversion", "sqlite3"]),
            "wrk": (first(["wrk", "-v"]) if shutil.which("wrk") else "not installed"),
            "openssl": first(["openssl", "version"]),
            "pgpdesk": git + (f" with uncommitted changes in {', '.join(dirty)}" if dirty else ""),
        }


# ---------------------------------------------------------------- W5 helpers


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def probe_request(url, token, kind, group, addr, body):
    """One request with curl before the load: a missing endpoint is a skip, not a failure."""
    if kind == "options":
        data = json.dumps({"ticket": {"group_id": group}, "article": {"to": addr}})
        want = "200"
    else:
        data = json.dumps({"group_id": group, "to": PARTIES["customer"][1], "subject": "probe",
                           "body": body, "sign": True, "encrypt": True})
        want = "201"
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                        "-H", f"Authorization: Bearer {token}", "-H",
                        "Content-Type: application/json", "--data-binary", data, url],
                       capture_output=True, text=True, timeout=60)
    if p.stdout.strip() != want:
        return f"server not available: POST {url} answered {p.stdout.strip() or 'nothing'}"
    return True


def parse_wrk(text):
    def num(pattern, default=0.0):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else default

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return 0.0
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(x) for x in m.groups()) if m else 0
    total = num(r"^\s+(\d+) requests in")
    return {"n": int(total), "ops_per_s": num(r"^Requests/sec:\s+([\d.]+)"),
            "median_ms": latency(50), "p99_ms": latency(99),
            "errors": int(num(r"Non-2xx or 3xx responses: (\d+)")) + socket_errors}


class Server:
    """pgpdesk serve on a free port of 127.0.0.1, stopped with SIGTERM."""

    def __init__(self, bench, db, threads):
        self.bench, self.db, self.threads = bench, db, threads
        self.proc, self.port, self.why = None, None, ""

    def start(self):
        if not os.path.exists(self.bench.pgpdesk_bin):
            self.why = "no pgpdesk binary"
            return False
        try:
            self.proc = subprocess.Popen(
                [self.bench.pgpdesk_bin, "--db", self.db, "serve", "--listen", "127.0.0.1:0",
                 "--threads", str(self.threads)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except OSError as e:
            self.why = str(e)
            return False
        deadline = time.time() + 15
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                return True
        self.why = "pgpdesk serve did not say it was listening"
        return False

    def peak_rss_kb(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        except (OSError, AttributeError):
            return 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- the tables


def fmt_ms(ms):
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.1f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.0f} µs"


def fmt_rate(r):
    return f"{r:,.0f}" if r >= 10 else f"{r:.2f}"


def fmt_mb(kb):
    return f"{kb / 1024:.1f} MB" if kb else "–"


def verdict(ok, how=""):
    return ("**met**" if ok else "**MISSED**") + (f" ({how})" if how and not ok else "")


def message_table(bench, section, per_s_target, out):
    rows = bench.results.get(section, [])
    if not rows:
        return
    algo = next(a for a, t in ALGO_TITLES.items() if section.endswith(t))
    pd = next(r for r in rows if r["variant"] == "pgpdesk")
    floor = next(r for r in rows if r["variant"] == "floor")
    out.append(f"### {section}\n")
    out.append("| implementation | n | median | p99 | messages/s | peak RSS | ÷ pgpdesk (median) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        ratio = r["median_ms"] / pd["median_ms"] if pd["median_ms"] else 0
        rate = 1000 / r["median_ms"] if r["median_ms"] else 0
        out.append(f"| {r['label']} | {r['n']} | {fmt_ms(r['median_ms'])} | "
                   f"{fmt_ms(r['p99_ms'])} | {fmt_rate(rate)} | {fmt_mb(r['peak_rss_kb'])} | "
                   f"{ratio:.2f}× |")
    out.append("")
    if pd.get("fsync_ms"):
        out.append(f"Just before the pgpdesk row ran, one fdatasync on the database's disk took "
                   f"{pd['fsync_ms']:.2f} ms (median of 50); bench/profile.sh counts pgpdesk's "
                   f"fdatasync calls per message.")
        out.append("")
    rate = 1000 / pd["median_ms"]
    fr = pd["median_ms"] / floor["median_ms"]
    tmpfs = next((r for r in rows if r["variant"] == "pgpdesk-tmpfs"), None)
    out.append("Targets:")
    if algo == "ed25519":
        ok = rate >= per_s_target
        out.append(f"- ≥ {per_s_target:,} messages/s: pgpdesk does {fmt_rate(rate)}/s — " +
                   verdict(ok, f"by {per_s_target / rate:.1f}×: each message "
                           f"must take {fmt_ms(1000 / per_s_target)}, it takes "
                           f"{fmt_ms(pd['median_ms'])}"))
        if tmpfs:
            t_rate = 1000 / tmpfs["median_ms"]
            t_ok = t_rate >= per_s_target
            out.append(f"  - without fsync (database on tmpfs): {fmt_rate(t_rate)}/s — " +
                       ("would meet it" if t_ok else
                        f"still short by {per_s_target / t_rate:.1f}×") +
                       f", {tmpfs['median_ms'] / floor['median_ms']:.2f}× the floor")
        limit = TARGET_FLOOR_RATIO_25519
    else:
        limit = TARGET_FLOOR_RATIO_RSA
    rounds = bench.ratios.get(section)
    if rounds:
        # The verdict takes the interleaved rounds (see Bench.floor_rounds); the long runs'
        # ratio is shown beside them.
        fr = statistics.median(rounds)
        ok = fr <= limit
        out.append(f"- within {limit}× of the librnp floor: pgpdesk is {fr:.2f}× the floor "
                   f"(median of {len(rounds)} alternating {bench.args.round_seconds:g}-second "
                   f"runs of each, {min(rounds):.2f}–{max(rounds):.2f}×; the long runs above: "
                   f"{pd['median_ms'] / floor['median_ms']:.2f}×) — " +
                   verdict(ok, f"by {fr / limit:.2f}×"))
    else:
        ok = fr <= limit
        out.append(f"- within {limit}× of the librnp floor: pgpdesk is {fr:.2f}× the floor "
                   f"({fmt_ms(pd['median_ms'])} vs {fmt_ms(floor['median_ms'])}) — " +
                   verdict(ok, f"by {fr / limit:.2f}×; the floor would allow "
                           f"{fmt_ms(floor['median_ms'] * limit)}"))
    if algo.startswith("rsa") and getattr(bench, "openssl", None):
        bits = int(algo[3:])
        if bits in bench.openssl:
            sign, verify = bench.openssl[bits]
            locked = next((r for r in rows if r["variant"] == "floor-locked"), None)
            out.append(f"- OpenSSL's raw RSA-{bits} private-key operation (openssl speed): "
                       f"{fmt_ms(sign)}, public: {fmt_ms(verify)}. The librnp floor's whole "
                       f"message takes {fmt_ms(floor['median_ms'])} "
                       f"({floor['median_ms'] / sign:.1f}× OpenSSL's private-key operation; "
                       f"librnp 0.16 with Botan rebuilds the RSA private key for every "
                       f"operation)" + (f"; with an S2K per message "
                                        f"{fmt_ms(locked['median_ms'])}" if locked else "") + ".")
    out.append("")


def w3_table(bench, out):
    section = "W3 large"
    rows = bench.results.get(section, [])
    if not rows:
        return
    out.append(f"### {section}: one attachment, sealed (signed+encrypted) and opened "
               f"(decrypted+verified), Ed25519/Cv25519\n")
    out.append("| attachment | implementation | n | median | MB/s | peak RSS | RSS before the operation | targets (≤ 64 MB RSS, ≥ 80 MB/s) |")
    out.append("|---:|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        rate = r.get("mb_per_s") or (r["size_mb"] / (r["median_ms"] / 1000))
        target = ""
        if r["variant"] in ("pgpdesk-seal", "pgpdesk-open"):
            rss_mb = r["peak_rss_kb"] / 1024
            parts = []
            parts.append(("RSS met" if rss_mb <= TARGET_W3_RSS_MB else
                          f"RSS **MISSED** by {rss_mb / TARGET_W3_RSS_MB:.1f}×"))
            parts.append(("MB/s met" if rate >= TARGET_W3_MB_S else
                          f"MB/s **MISSED** by {TARGET_W3_MB_S / rate:.1f}×"))
            target = ", ".join(parts)
        before = fmt_mb(r["rss_before_kb"]) if r.get("rss_before_kb") else "–"
        out.append(f"| {r['size_mb']} MB | {r['label']} | {r['n']} | {fmt_ms(r['median_ms'])} | "
                   f"{rate:.1f} | {fmt_mb(r['peak_rss_kb'])} | {before} | {target} |")
    out.append("")
    out.append("MB/s counts attachment megabytes (MiB) per second of the median operation. "
               "gpg and sq stream from stdin to stdout; their peak RSS is the gpg/sq "
               "process's (the agent's is not counted). pgpdesk runs through its file entry "
               "points (pgpdesk_outgoing_process_file, pgpdesk_incoming_process_file), which "
               "stream a message over 8 MiB: its figures include storing the draft and the sealed "
               "message (seal), or the message and its decrypted view (open), as files beside the "
               "database, each made durable with fdatasync. The streaming librnp floors do the "
               "same OpenPGP work as pgpdesk through the same streaming calls "
               "(openpgp_encrypt_stream/openpgp_decrypt_stream), from a file to a file in the "
               "page cache, with no MIME, storage or fdatasync; the in-memory floors "
               "(openpgp_encrypt/openpgp_decrypt on buffers) are for reference.")
    for line in bench.notes.get(section, []):
        out.append(f"\n{line}")
    out.append("")


def w4_table(bench, out):
    section = "W4 key store"
    rows = bench.results.get(section, [])
    if not rows:
        return
    keys = next((r.get("keys") for r in rows if r["variant"] == "security-options"), 0)
    out.append(f"### {section}: {keys:,} public keys\n")
    out.append("| measurement | n | median | p99 | per second | peak RSS | target |")
    out.append("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        target = ""
        if r["variant"] == "security-options":
            ok = r["p99_ms"] <= TARGET_W4_P99_MS
            target = f"p99 ≤ 1 ms: " + ("met" if ok else
                                         f"**MISSED** by {r['p99_ms'] / TARGET_W4_P99_MS:.1f}×")
        elif r["variant"] == "import":
            ok = r["ops_per_s"] >= TARGET_W4_IMPORT_PER_S
            target = f"≥ 500 keys/s: " + ("met" if ok else
                                           f"**MISSED** by {TARGET_W4_IMPORT_PER_S / r['ops_per_s']:.1f}×")
        out.append(f"| {r['label']} | {r['n']:,} | {fmt_ms(r['median_ms'])} | "
                   f"{fmt_ms(r['p99_ms'])} | {fmt_rate(r['ops_per_s'])} | "
                   f"{fmt_mb(r['peak_rss_kb'])} | {target} |")
    fill = next((r.get("fill_s") for r in rows if r.get("fill_s")), None)
    out.append("")
    out.append("The keys are synthetic Ed25519/Cv25519 certificates (bench/keygen.c, made with "
               "libsodium; gpg checks a sample), one address each over 997 domains; lookups "
               "pick a random stored address. The store is filled through the store's key_put "
               "in one transaction" + (f" ({fill:.1f} s for generation and fill)" if fill else "")
               + ", since importing 100,000 keys through the library would take longer than "
               "the bench may; the import rate is then measured through "
               "pgpdesk_keystore_import into the full store.")
    for line in bench.notes.get(section, []):
        out.append(f"\n{line}")
    out.append("")


def w5_table(bench, out):
    section = "W5 HTTP"
    rows = bench.results.get(section, [])
    out.append(f"### {section}: `pgpdesk serve` on the W4 database, load from wrk on 127.0.0.1\n")
    if rows:
        out.append("| endpoint | server threads | wrk | requests | requests/s | median | p99 | errors | server peak RSS | target |")
        out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
        for r in rows:
            target = ""
            if r["variant"].startswith("options"):
                misses = []
                if r["ops_per_s"] < TARGET_W5_OPTIONS_PER_S:
                    misses.append(f"req/s by {TARGET_W5_OPTIONS_PER_S / max(r['ops_per_s'], 1e-9):.1f}×")
                if r["p99_ms"] > TARGET_W5_P99_MS:
                    misses.append(f"p99 by {r['p99_ms'] / TARGET_W5_P99_MS:.1f}×")
                if r["errors"]:
                    misses.append(f"{r['errors']} errors")
                target = "≥ 5,000/s, p99 ≤ 10 ms, 0 errors: " + (
                    "met" if not misses else "**MISSED** (" + ", ".join(misses) + ")")
            out.append(f"| {r['label']} | {r['threads']} | `{r['wrk']}` | {r['n']:,} | "
                       f"{fmt_rate(r['ops_per_s'])} | {fmt_ms(r['median_ms'])} | "
                       f"{fmt_ms(r['p99_ms'])} | {r['errors']} | {fmt_mb(r['peak_rss_kb'])} | "
                       f"{target} |")
        sends = {r["threads"]: r for r in rows if r["variant"].startswith("send")}
        if 1 in sends and 2 in sends and sends[1]["ops_per_s"]:
            s = sends[2]["ops_per_s"] / sends[1]["ops_per_s"]
            out.append("")
            ceiling = getattr(bench, "cpu_scaling", None)
            out.append(f"Sending with 2 server threads does {s:.2f}× the requests/s of 1 thread "
                       f"(\"scales with cores\": ideally 2×; wrk runs on the same 2 cores).")
            if ceiling:
                c = statistics.median(ceiling)
                out.append(f"On this machine two CPU-bound processes side by side did "
                           f"{c:.2f}× the work of one just before (median of {len(ceiling)} "
                           f"tries, {min(ceiling):.2f}–{max(ceiling):.2f}×; bench/run.py "
                           f"cpu_scaling_probe): the most any two threads can gain here. "
                           f"Sending reached {s / c:.0%} of it.")
    for line in bench.notes.get(section, []):
        out.append(f"\n{line}")
    out.append("")


def end_load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(bench, machine):
    out = ["# pgpdesk benchmark results", "",
           "Written by `make bench` (bench/run.py); do not edit by hand. Issue 5 describes the "
           "workloads and the targets.", "",
           "## Machine", "",
           f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory']}; "
           f"Linux {machine['kernel']}",
           f"- Date: {machine['date']}; pgpdesk {machine['pgpdesk']}",
           f"- Load average when the run started: {machine['load']}, when it ended: "
           f"{end_load()} (the machine may be shared with other builds and tests; outliers in "
           f"p99 can come from them)",
           f"- The databases are on the same disk as /tmp; one 4 KiB write + fdatasync there "
           f"took {bench.fsync_ms[0]:.2f} ms (median), {bench.fsync_ms[1]:.2f} ms (p99) during "
           f"this run" if getattr(bench, "fsync_ms", None) else "- fdatasync: not measured",
           f"- librnp {machine['librnp']}, GMime {machine['gmime']}, SQLite {machine['sqlite']}; "
           f"{machine['gpg']}; {machine['sq']}; {machine['openssl']}; {machine['wrk']}",
           f"- Keys made by gpg at bench time with a passphrase (S2K: iterated+salted SHA-1, "
           f"count {bench.s2k_count:,} as gpg exports them)" if bench.s2k_count else
           "- Keys made by gpg at bench time with a passphrase",
           "", "## How to read it", "",
           "Medians and p99 (nearest rank) of per-operation timings. pgpdesk runs in one "
           "thread; \"messages/s\" is 1 / median. \"÷ pgpdesk\" is the row's median over "
           "pgpdesk's: above 1 the row is slower than pgpdesk. Peak RSS is VmHWM of the "
           "process that ran the workload (pgpdesk) or the largest process the command "
           "waited for (gpg, sq; gpg-agent is not counted). pgpdesk W1 is "
           "`pgpdesk_outgoing_process` (key lookup, MIME, one-pass sign+encrypt, article and "
           "two log rows written), W2 `pgpdesk_incoming_process` (raw stored, parsed, "
           "decrypted, verified, article and log written). Zammad's way and GnuPG warm run "
           "gpg with the passphrase-protected key; sq 0.27 cannot read a passphrase from a "
           "file and gets an unprotected copy of the same key. The floor is crypto.h's "
           "openpgp_* over librnp on the same payload bytes. The targets' ratio to the floor "
           "comes from short runs of pgpdesk and the floor taken in turn (the machine's speed "
           "drifts between long runs minutes apart).", ""]
    out.append("## Results\n")
    for algo, title in ALGO_TITLES.items():
        message_table(bench, f"W1 {title}", TARGET_W1_PER_S, out)
    for algo, title in ALGO_TITLES.items():
        message_table(bench, f"W2 {title}", TARGET_W2_PER_S, out)
    w3_table(bench, out)
    w4_table(bench, out)
    w5_table(bench, out)
    out.append("## Correctness checks of this run\n")
    for c in bench.checks:
        out.append(f"- {c}")
    out.append("")
    out.append(f"Whole run: {time.time() - bench.started:.0f} s.")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--output", default=os.path.join(HERE, "results.md"))
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per pgpdesk workload")
    ap.add_argument("--floor-seconds", type=float, default=2.0)
    ap.add_argument("--floor-rounds", type=int, default=5,
                    help="alternating pgpdesk/floor runs for the floor ratio")
    ap.add_argument("--round-seconds", type=float, default=2.0)
    ap.add_argument("--baseline-n", type=int, default=20,
                    help="processes per GnuPG-warm and sq baseline")
    ap.add_argument("--zammad-n", type=int, default=20, help="Zammad's-way runs, Ed25519")
    ap.add_argument("--zammad-rsa-n", type=int, default=5, help="Zammad's-way runs, RSA")
    ap.add_argument("--make-keys", metavar="DIR",
                    help="only make the keys into DIR (for bench/profile.sh) and stop")
    ap.add_argument("--algos", default=",".join(ALGOS))
    ap.add_argument("--w3-sizes", default="10,50")
    ap.add_argument("--w4-keys", type=int, default=100000)
    ap.add_argument("--w4-import-max", type=int, default=5000)
    ap.add_argument("--w5-seconds", type=int, default=10)
    ap.add_argument("--only", default="w1,w2,w3,w4,w5")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    args.w3_sizes = [int(x) for x in args.w3_sizes.split(",") if x]
    global BENCH_EXEC
    BENCH_EXEC = os.path.join(os.path.abspath(args.build), "bench", "bench-exec")
    only = set(args.only.split(","))
    algos = [a for a in args.algos.split(",") if a]

    bench = Bench(args)
    try:
        machine = bench.machine()
        for tool in ("gpg", "gpgconf", "sq", "openssl", "curl"):
            if not shutil.which(tool):
                raise Failure(f"{tool} is missing (scripts/install-deps installs it)")
        for binary in (bench.bench_bin, BENCH_EXEC):
            if not os.path.exists(binary):
                raise Failure(f"{binary} is missing: build it with `ninja -C {args.build} "
                              f"bench/pgpdesk-bench bench/bench-exec` (make bench does)")
        log(f"scratch directory {bench.tmp}")
        if args.make_keys:
            bench.keys = os.path.abspath(args.make_keys)
            os.makedirs(bench.keys, mode=0o700, exist_ok=True)
            bench.passfile = os.path.join(bench.keys, "passphrase")
            bench.make_keys()
            bench.cleanup()
            log(f"keys in {bench.keys}")
            return 0
        bench.fsync_probe()
        bench.make_keys()
        if any(a.startswith("rsa") for a in algos):
            bench.openssl_rsa()
        for algo in algos:
            if "w1" in only:
                bench.w1(algo)
            if "w2" in only:
                bench.w2(algo)
        if "w3" in only:
            bench.w3()
        if "w4" in only or "w5" in only:
            bench.w4()
        if "w5" in only:
            bench.w5()
        text = report(bench, machine)
    except Failure as e:
        log(f"FAILED: {e}")
        bench.cleanup()
        return 1
    bench.cleanup()
    with open(args.output, "w") as f:
        f.write(text)
    print(text)
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
