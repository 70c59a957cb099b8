"""The key store, through the CLI: pgpdesk key import|list|show|export|delete.

Every test gets a fresh database (t.db); keys come from the session fixtures (keys.py).
"""

import os
import stat
import subprocess

import keys as keyfixtures

import openpgp
from support import (KEY_FIELDS, MSG_DUPLICATE, MSG_NO_VALID_DATA, MSG_NOT_FOUND,
                     MSG_NOT_PRIVATE, MSG_PASSPHRASE_INVALID, MSG_PASSPHRASE_MISSING,
                     MSG_UNPROTECTED, by_fpr, expect, expect_eq, find_needles, iso,
                     secret_needles, sha256_file)

PUBLIC_BLOCK = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PRIVATE_BLOCK = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
MIB = 1024 * 1024


def import_secret(t, name, kind="sec_asc", **kw):
    """Imports a fixture's private key with its passphrase (if any); returns the key object."""
    key = t.keys[name]
    items = t.import_key(key, kind, passphrase=key.passphrase, **kw)
    expect_eq(len(items), 1, "number of imported keys", t.last)
    return items[0]


def import_public(t, name, kind="pub_asc", **kw):
    items = t.import_key(t.keys[name], kind, **kw)
    expect_eq(len(items), 1, "number of imported keys", t.last)
    return items[0]


def assert_key_matches(obj, key, result=None, secret=None):
    """The key object describes fixture `key` (fingerprint, user IDs, times, algorithm)."""
    expect_eq(obj["fingerprint"], key.fingerprint, "fingerprint", result)
    expect_eq(sorted(obj["email_addresses"]), sorted(key.emails), "email_addresses", result)
    expect_eq(obj["created_at"], iso(key.created), "created_at", result)
    expect_eq(obj["expires_at"], iso(key.expires) if key.expires else None, "expires_at", result)
    if getattr(key, "algorithm", None):
        expect_eq(obj["algorithm"], key.algorithm, "algorithm", result)
    if getattr(key, "algorithm", "") == "RSA":
        expect_eq(obj["bits"], key.bits, "bits", result)
    if secret is not None:
        expect_eq(obj["secret"], secret, "secret", result)


def assert_store_empty(t):
    keys = t.list_keys()
    expect(keys == [], "the key store should be empty, it holds %s"
           % [k["fingerprint"] for k in keys], t.last)


def gpg_import_and_list(t, data):
    """Imports armored key data into a fresh gpg home; returns (gpg, fingerprints)."""
    g = t.gpg()
    g("--import", input=data.encode() if isinstance(data, str) else data)
    out = g("--with-colons", "--list-keys").stdout.decode()
    return g, [l.split(":")[9] for l in out.splitlines() if l.startswith("fpr:")][:1]


# ============================================================================ help and usage

HELP_COMMANDS = [
    ["--help"],
    ["key", "--help"],
    ["key", "import", "--help"],
    ["key", "list", "--help"],
    ["key", "show", "--help"],
    ["key", "export", "--help"],
    ["key", "delete", "--help"],
]


def test_help_on_every_command_exits_0_with_an_example(t):
    problems = []
    for args in HELP_COMMANDS:
        r = t.run(*args, db=None)
        if r.rc != 0:
            problems.append("%s: exit %s" % (" ".join(args), r.rc))
        elif "example" not in r.out.lower():
            problems.append("%s: stdout does not mention an example" % " ".join(args))
        elif len(args) > 2 and args[1] not in r.out:
            problems.append("%s: stdout does not name the command" % " ".join(args))
    expect(not problems, "; ".join(problems))


def test_help_does_not_create_a_database(t):
    for args in HELP_COMMANDS:
        t.run(*args, db=None, cwd=t.tmp)
    expect(not os.path.exists(os.path.join(t.tmp, "pgpdesk.db")),
           "--help created ./pgpdesk.db")


USAGE_ERRORS = [
    [],
    ["frobnicate"],
    ["key"],
    ["key", "frobnicate"],
    ["key", "import"],
    ["key", "import", "a.asc", "b.asc"],
    ["key", "import", "--passphrase-file"],
    ["key", "import", "--domain-alias"],
    ["key", "import", "--bogus", "a.asc"],
    ["key", "list", "--bogus"],
    ["key", "list", "--email"],
    ["key", "show"],
    ["key", "export"],
    ["key", "export", "AAAA", "--output"],
    ["key", "delete"],
    ["--db"],
]


def test_usage_errors_exit_2(t):
    problems = []
    for args in USAGE_ERRORS:
        r = t.run(*args, db=None)
        if r.rc != 2:
            problems.append("'pgpdesk %s': exit %s (stderr: %s)"
                            % (" ".join(args), r.rc, r.err.strip()[:200]))
        elif not r.err.strip():
            problems.append("'pgpdesk %s': exit 2 but nothing on stderr" % " ".join(args))
    expect(not problems, "usage errors should exit 2:\n  " + "\n  ".join(problems))


def test_usage_error_with_db_does_not_touch_the_store(t):
    r = t.run("key", "list", "--bogus")
    expect_eq(r.rc, 2, "exit status", r)
    expect(not os.path.exists(t.db), "a usage error created the database")


def test_missing_input_file_is_an_error_not_a_usage_error(t):
    r = t.run("key", "import", t.path("does-not-exist.asc"))
    t.expect_error(r)


# ============================================================================ database selection


def test_default_database_is_pgpdesk_db_in_the_working_directory(t):
    key = t.keys["ed_pw"]
    r = t.run("key", "import", key.path("pub_asc"), db=None, cwd=t.tmp)
    expect_eq(r.rc, 0, "exit status", r)
    db = os.path.join(t.tmp, "pgpdesk.db")
    expect(os.path.exists(db), "./pgpdesk.db was not created", r)
    expect(os.path.exists(db + ".key"), "./pgpdesk.db.key was not created", r)
    r = t.ok("key", "list", "--json", db=None, cwd=t.tmp)
    expect_eq([k["fingerprint"] for k in r.json()], [key.fingerprint], "listed keys", r)


def test_env_names_the_database_and_db_option_wins(t):
    key = t.keys["ed_pw"]
    env_db = t.path("env/env.db")
    opt_db = t.path("opt/opt.db")
    os.makedirs(os.path.dirname(env_db))
    os.makedirs(os.path.dirname(opt_db))
    env = {"PGPDESK_DB": env_db}
    t.ok("key", "import", key.path("pub_asc"), db=None, env=env)
    expect(os.path.exists(env_db), "PGPDESK_DB was not used", t.last)
    # --db wins over the environment
    t.ok("key", "import", t.keys["twouid"].path("pub_asc"), db=opt_db, env=env)
    expect_eq(t.fingerprints(db=opt_db, env=env), [t.keys["twouid"].fingerprint],
              "keys in the --db database")
    expect_eq(t.fingerprints(db=None, env=env), [key.fingerprint],
              "keys in the PGPDESK_DB database")


def test_new_database_gets_a_0600_master_key_file(t):
    import_public(t, "ed_pw")
    mk = t.db + ".key"
    expect(os.path.exists(mk), "no master key file %s" % mk)
    mode = stat.S_IMODE(os.stat(mk).st_mode)
    expect_eq(oct(mode), oct(0o600), "master key file mode")
    expect(os.path.getsize(mk) > 0, "the master key file is empty")


def test_master_key_file_env_names_the_master_key(t):
    mk = t.path("secrets/master.key")
    os.makedirs(os.path.dirname(mk))
    env = {"PGPDESK_MASTER_KEY_FILE": mk}
    import_secret(t, "ed_pw", env=env)
    expect(os.path.exists(mk), "PGPDESK_MASTER_KEY_FILE was not created", t.last)
    expect_eq(oct(stat.S_IMODE(os.stat(mk).st_mode)), oct(0o600), "master key file mode")
    expect(not os.path.exists(t.db + ".key"), "<db>.key was created although "
           "PGPDESK_MASTER_KEY_FILE names the master key")
    expect_eq(t.fingerprints(env=env), [t.keys["ed_pw"].fingerprint], "listed keys")
    # without the variable, <db>.key is expected and missing
    t.expect_error(t.run("key", "list", "--json"), contains="master key")


# ============================================================================ import


def test_import_public_armored_rsa3072(t):
    key = t.keys["rsa3072"]
    obj = import_public(t, "rsa3072")
    r = t.last
    assert_key_matches(obj, key, r, secret=False)
    expect_eq(obj["name"], "RSA Three <rsa3072@example.com>", "name", r)
    expect_eq(obj["algorithm"], "RSA", "algorithm", r)
    expect_eq(obj["bits"], 3072, "bits", r)
    expect_eq(obj["action"], "added", "action", r)
    expect_eq(obj["warnings"], [], "warnings", r)
    expect_eq(obj["expired"], False, "expired", r)
    expect_eq(obj["revoked"], False, "revoked", r)
    expect_eq(obj["can_encrypt"], True, "can_encrypt", r)
    expect_eq(obj["domain_alias"], None, "domain_alias", r)


def test_import_public_binary_ed25519(t):
    key = t.keys["ed_pw"]
    obj = import_public(t, "ed_pw", "pub_pgp")
    assert_key_matches(obj, key, t.last, secret=False)
    expect_eq(obj["algorithm"], "EDDSA", "algorithm", t.last)
    expect(obj["bits"] in (255, 256), "bits of an Ed25519 key: %r" % obj["bits"], t.last)
    expect_eq(obj["can_encrypt"], True, "can_encrypt (Cv25519 subkey)", t.last)


def test_import_public_rsa4096_from_sq(t):
    key = t.keys["rsa4096"]
    obj = import_public(t, "rsa4096")
    assert_key_matches(obj, key, t.last, secret=False)
    expect_eq(obj["bits"], 4096, "bits", t.last)
    expect(obj["expires_at"] is not None, "sq keys expire (3 years)", t.last)


def test_import_private_armored_rsa3072_with_passphrase(t):
    key = t.keys["rsa3072"]
    obj = import_secret(t, "rsa3072")
    r = t.last
    assert_key_matches(obj, key, r, secret=True)
    expect_eq(obj["can_sign"], True, "can_sign", r)
    expect_eq(obj["can_encrypt"], True, "can_encrypt", r)
    expect_eq(obj["warnings"], [], "warnings", r)
    expect_eq(obj["action"], "added", "action", r)
    expect_eq(t.show(key.fingerprint)["secret"], True, "secret (key show)")


def test_import_private_binary_ed25519_with_passphrase(t):
    key = t.keys["ed_pw"]
    obj = import_secret(t, "ed_pw", "sec_pgp")
    assert_key_matches(obj, key, t.last, secret=True)
    expect_eq(obj["can_sign"], True, "can_sign", t.last)
    expect_eq(obj["warnings"], [], "warnings", t.last)


def test_import_text_output_one_line_per_key(t):
    key = t.keys["rsa3072"]
    r = t.import_key(key, "sec_asc", passphrase=key.passphrase, json_out=False)
    expect_eq(r.out_lines(), ["added %s %s" % (key.fingerprint, "RSA Three <rsa3072@example.com>")],
              "stdout lines", r)
    expect_eq(r.err_lines(), [], "stderr lines", r)


def test_import_from_stdin(t):
    key = t.keys["ed_pw"]
    items = t.import_key("-", stdin=key.read("pub_pgp"))
    expect_eq([i["fingerprint"] for i in items], [key.fingerprint], "imported", t.last)


def test_key_objects_have_exactly_the_contract_fields(t):
    obj = import_public(t, "twouid")
    r = t.last
    expect_eq(sorted(obj), sorted(KEY_FIELDS + ["action", "warnings"]),
              "key import --json members", r)
    listed = t.list_keys()[0]
    expect_eq(sorted(listed), sorted(KEY_FIELDS), "key list --json members", t.last)
    shown = t.show(obj["fingerprint"])
    expect_eq(sorted(shown), sorted(KEY_FIELDS), "key show --json members", t.last)
    for f in KEY_FIELDS:
        expect_eq(shown[f], obj[f], "key show %s vs the import's" % f)
        expect_eq(listed[f], obj[f], "key list %s vs the import's" % f)


def _concat(t, names, kind):
    data = b"".join(t.keys[n].read(kind) for n in names)
    return t.write("multi." + kind.replace("_", "."), data)


def test_import_multi_key_armored_file(t):
    names = ["rsa3072", "ed_pw", "twouid"]
    items = t.import_key(_concat(t, names, "pub_asc"))
    r = t.last
    want = sorted(t.keys[n].fingerprint for n in names)
    expect_eq(sorted(i["fingerprint"] for i in items), want, "imported keys", r)
    expect(all(i["action"] == "added" for i in items), "every key added", r)
    expect_eq(sorted(t.fingerprints()), want, "listed keys")


def test_import_multi_key_binary_file(t):
    names = ["rsa3072", "ed_pw", "twouid", "ed_plain"]
    path = _concat(t, names, "pub_pgp")
    r = t.import_key(path, json_out=False)
    want = sorted(t.keys[n].fingerprint for n in names)
    got = sorted(l.split()[1] for l in r.out_lines() if l.startswith("added "))
    expect_eq(got, want, "'added' lines", r)
    expect_eq(sorted(t.fingerprints()), want, "listed keys")


def test_import_multi_key_file_one_failure_still_imports_the_others(t):
    # ed_pw's private key needs a passphrase that is not given; twouid is public
    path = _concat(t, ["ed_pw", "twouid"], "sec_asc")
    pub = t.keys["rsa3072"].read("pub_asc")
    with open(path, "ab") as f:
        f.write(pub)
    r = t.import_key(path, json_out=False, rc=None)
    expect_eq(r.rc, 1, "exit status", r)
    expect(MSG_PASSPHRASE_MISSING in r.err, "stderr should say %r" % MSG_PASSPHRASE_MISSING, r)
    fprs = t.fingerprints()
    expect(t.keys["rsa3072"].fingerprint in fprs,
           "the public key after the failing ones was not imported: %s" % fprs)
    expect(t.keys["ed_pw"].fingerprint not in fprs, "the key that failed was stored")
    added = [l.split()[1] for l in r.out_lines() if l.startswith("added ")]
    expect(t.keys["rsa3072"].fingerprint in added, "no 'added' line for the good key", r)


def test_import_multi_key_file_one_failure_json_lists_the_imported(t):
    path = _concat(t, ["ed_pw", "rsa3072"], "sec_pgp")   # no passphrase: both fail
    with open(path, "ab") as f:
        f.write(t.keys["twouid"].read("pub_pgp"))
    r = t.import_key(path, rc=1)
    expect(MSG_PASSPHRASE_MISSING in r.err, "stderr should say %r" % MSG_PASSPHRASE_MISSING, r)
    items = r.json()
    expect(isinstance(items, list), "stdout should still be a JSON array", r)
    expect_eq([i.get("fingerprint") for i in items], [t.keys["twouid"].fingerprint],
              "keys in the JSON array (the imported one only)", r)
    expect_eq(t.fingerprints(), [t.keys["twouid"].fingerprint], "stored keys")


def test_paste_armored_is_accepted(t):
    key = t.keys["ed_pw"]
    items = t.import_key(key, "pub_asc", paste=True)
    expect_eq([i["fingerprint"] for i in items], [key.fingerprint], "imported", t.last)
    key2 = t.keys["twouid"]
    items = t.import_key("-", paste=True, stdin=key2.read("pub_asc"))
    expect_eq([i["fingerprint"] for i in items], [key2.fingerprint], "imported from stdin",
              t.last)


def test_paste_private_armored_with_passphrase(t):
    key = t.keys["rsa3072"]
    items = t.import_key("-", paste=True, passphrase=key.passphrase, stdin=key.read("sec_asc"))
    expect_eq(items[0]["secret"], True, "secret", t.last)


def test_paste_binary_is_refused(t):
    key = t.keys["ed_pw"]
    r = t.import_key(key, "pub_pgp", paste=True, rc=None)
    t.expect_error(r, contains="ASCII-armored")
    r = t.import_key("-", paste=True, rc=None, stdin=key.read("pub_pgp"))
    t.expect_error(r, contains="ASCII-armored")
    assert_store_empty(t)


def test_paste_garbage_is_refused(t):
    r = t.import_key(t.keys.files["garbage"], paste=True, rc=None)
    t.expect_error(r, MSG_NO_VALID_DATA)
    assert_store_empty(t)


def test_import_garbage_is_refused(t):
    t.expect_error(t.import_key(t.keys.files["garbage"], rc=None), MSG_NO_VALID_DATA)
    assert_store_empty(t)


def test_import_empty_input_is_refused(t):
    empty = t.write("empty.asc", b"")
    t.expect_error(t.import_key(empty, rc=None), MSG_NO_VALID_DATA)
    t.expect_error(t.import_key("-", stdin=b"", rc=None), MSG_NO_VALID_DATA)
    assert_store_empty(t)


def test_import_bad_armor_is_refused(t):
    t.expect_error(t.import_key(t.keys.files["armored_garbage"], rc=None), MSG_NO_VALID_DATA)
    assert_store_empty(t)


def test_wrong_passphrase_is_refused(t):
    key = t.keys["rsa3072"]
    r = t.import_key(key, "sec_asc", passphrase="not-the-passphrase", rc=None)
    t.expect_error(r, MSG_PASSPHRASE_INVALID)
    assert_store_empty(t)


def test_missing_passphrase_is_refused(t):
    key = t.keys["ed_pw"]
    r = t.import_key(key, "sec_pgp", rc=None)
    t.expect_error(r, MSG_PASSPHRASE_MISSING)
    assert_store_empty(t)


def test_passphrase_file_first_line_only(t):
    key = t.keys["ed_pw"]
    p = t.write("pw-two-lines.txt", key.passphrase + "\nsomething else\n")
    r = t.run("key", "import", "--json", "--passphrase-file", p, key.path("sec_asc"))
    expect_eq(r.rc, 0, "exit status (passphrase on the first of two lines)", r)
    t.ok("key", "delete", key.fingerprint)
    p = t.write("pw-no-newline.txt", key.passphrase)
    r = t.run("key", "import", "--json", "--passphrase-file", p, key.path("sec_asc"))
    expect_eq(r.rc, 0, "exit status (passphrase without a newline)", r)
    expect_eq(r.json()[0]["secret"], True, "secret", r)


def test_missing_passphrase_file_is_an_error(t):
    key = t.keys["ed_pw"]
    r = t.run("key", "import", "--passphrase-file", t.path("nope.txt"), key.path("sec_asc"))
    t.expect_error(r)
    assert_store_empty(t)


def test_unprotected_private_key_is_accepted_with_a_warning(t):
    key = t.keys["ed_plain"]
    items = t.import_key(key, "sec_asc")
    r = t.last
    expect_eq(len(items), 1, "imported keys", r)
    obj = items[0]
    assert_key_matches(obj, key, r, secret=True)
    expect_eq(obj["action"], "added", "action", r)
    expect_eq(obj["warnings"], [MSG_UNPROTECTED], "warnings", r)
    expect_eq(obj["can_sign"], True, "can_sign", r)


def test_unprotected_private_key_warning_on_stderr(t):
    key = t.keys["ed_plain"]
    r = t.import_key(key, "sec_pgp", json_out=False)
    expect_eq(r.out_lines(), ["added %s %s" % (key.fingerprint, key.user_ids[0])], "stdout", r)
    expect_eq(r.err_lines(), ["pgpdesk: warning: %s: %s" % (key.fingerprint, MSG_UNPROTECTED)],
              "stderr", r)


def test_duplicate_public_key_is_refused(t):
    import_public(t, "ed_pw")
    r = t.import_key(t.keys["ed_pw"], "pub_asc", rc=None)
    t.expect_error(r, MSG_DUPLICATE)
    r = t.import_key(t.keys["ed_pw"], "pub_pgp", rc=None)
    t.expect_error(r, MSG_DUPLICATE)
    expect_eq(len(t.list_keys()), 1, "number of stored keys")


def test_private_key_upgrades_a_stored_public_key(t):
    key = t.keys["rsa3072"]
    expect_eq(import_public(t, "rsa3072")["secret"], False, "secret after the public import")
    obj = import_secret(t, "rsa3072")
    expect_eq(obj["action"], "updated", "action", t.last)
    expect_eq(obj["secret"], True, "secret", t.last)
    expect_eq(t.show(key.fingerprint)["secret"], True, "secret (key show)")
    expect_eq(len(t.list_keys()), 1, "number of stored keys")


def test_private_key_upgrade_text_output(t):
    key = t.keys["ed_pw"]
    import_public(t, "ed_pw")
    r = t.import_key(key, "sec_pgp", passphrase=key.passphrase, json_out=False)
    expect_eq(r.out_lines(), ["updated %s %s" % (key.fingerprint, key.user_ids[0])], "stdout", r)


def test_public_copy_of_a_stored_private_key_keeps_the_private_key(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    r = t.import_key(key, "pub_asc", rc=None)
    expect(r.rc in (0, 1), "exit status %s" % r.rc, r)
    expect_eq(t.show(key.fingerprint)["secret"], True, "secret after importing the public copy")
    r = t.export(key.fingerprint, secret=True)
    expect(PRIVATE_BLOCK in r.out, "key export --secret no longer gives the private key", r)


def test_newer_copy_updates_the_record(t):
    key = t.keys["update"]
    obj = import_public(t, "update")
    expect_eq(obj["email_addresses"], ["update.one@example.com"], "emails of v1", t.last)
    obj = import_public(t, "update", "pub_asc_v2")
    r = t.last
    expect_eq(obj["action"], "updated", "action", r)
    expect_eq(sorted(obj["email_addresses"]), key.emails, "emails after the newer copy", r)
    expect_eq(t.fingerprints("update.two@example.com"), [key.fingerprint],
              "key list --email update.two@example.com")
    expect_eq(len(t.list_keys()), 1, "number of stored keys")


def test_newer_public_copy_of_a_private_key_keeps_it_private(t):
    key = t.keys["update"]
    import_secret(t, "update")
    obj = import_public(t, "update", "pub_pgp_v2")
    r = t.last
    expect_eq(obj["action"], "updated", "action", r)
    expect_eq(obj["secret"], True, "secret", r)
    expect("update.two@example.com" in obj["email_addresses"], "the new user ID is missing", r)
    exp = t.export(key.fingerprint, secret=True)
    expect(PRIVATE_BLOCK in exp.out, "key export --secret no longer gives the private key", exp)


def test_revocation_updates_the_record(t):
    key = t.keys["revoked"]
    obj = import_secret(t, "revoked")
    expect_eq(obj["revoked"], False, "revoked before", t.last)
    obj = import_public(t, "revoked", "pub_asc_v2")
    r = t.last
    expect_eq(obj["action"], "updated", "action", r)
    expect_eq(obj["revoked"], True, "revoked", r)
    expect_eq(obj["can_sign"], False, "can_sign of a revoked key", r)
    expect_eq(obj["can_encrypt"], False, "can_encrypt of a revoked key", r)
    expect_eq(obj["secret"], True, "secret (kept)", r)
    expect_eq(t.show(key.fingerprint)["revoked"], True, "revoked (key show)")


def test_revoked_key_import(t):
    obj = import_public(t, "revoked", "pub_pgp_v2")
    expect_eq(obj["revoked"], True, "revoked", t.last)
    expect_eq(obj["can_encrypt"], False, "can_encrypt", t.last)


def test_older_copy_does_not_undo_a_revocation(t):
    key = t.keys["revoked"]
    import_public(t, "revoked", "pub_asc_v2")
    r = t.import_key(key, "pub_asc", rc=None)   # the copy from before the revocation
    expect(r.rc in (0, 1), "exit status %s" % r.rc, r)
    expect_eq(t.show(key.fingerprint)["revoked"], True,
              "revoked, after importing a copy made before the revocation")


def test_expired_key(t):
    key = t.keys["expired"]
    obj = import_secret(t, "expired")
    r = t.last
    expect_eq(obj["expired"], True, "expired", r)
    expect_eq(obj["can_sign"], False, "can_sign", r)
    expect_eq(obj["can_encrypt"], False, "can_encrypt", r)
    expect_eq(obj["revoked"], False, "revoked", r)
    expect_eq(obj["expires_at"], iso(key.created + 86400), "expires_at", r)
    expect_eq(obj["created_at"], iso(key.created), "created_at", r)
    shown = t.show(key.fingerprint)
    expect_eq(shown["expired"], True, "expired (key show)")


def test_revoked_user_id_is_not_listed(t):
    key = t.keys["revuid"]
    obj = import_public(t, "revuid")
    r = t.last
    expect_eq(obj["email_addresses"], ["rev.keep@example.com"], "email_addresses", r)
    expect("Gone" not in obj["name"], "name is the revoked user ID: %r" % obj["name"], r)
    expect_eq(obj["revoked"], False, "revoked (only a user ID is)", r)
    expect_eq(t.fingerprints("rev.gone@example.com"), [], "key list --email rev.gone@...")
    expect_eq(t.fingerprints("rev.keep@example.com"), [key.fingerprint],
              "key list --email rev.keep@...")


def test_two_user_ids_lower_cased(t):
    key = t.keys["twouid"]
    obj = import_secret(t, "twouid")
    expect_eq(sorted(obj["email_addresses"]), ["alice.two@example.com", "alice@work.example.org"],
              "email_addresses", t.last)
    expect(obj["name"] in key.user_ids, "name should be one of the user IDs: %r" % obj["name"],
           t.last)


def test_non_ascii_name(t):
    key = t.keys["utf8"]
    obj = import_public(t, "utf8")
    expect("J\u00fcrgen M\u00fcller" in obj["name"], "name: %r" % obj["name"], t.last)
    r = t.ok("key", "show", key.fingerprint)
    expect("J\u00fcrgen M\u00fcller" in r.outb.decode("utf-8", errors="strict"),
           "key show text should hold the UTF-8 name", r)


def test_third_party_certifications_are_stripped(t):
    key = t.keys["certified"]
    src = key.read("pub_pgp")
    expect(len(openpgp.certs(src)[0].third_party_signatures()) >= 300,
           "fixture: the input should carry 300 certifications")
    obj = import_public(t, "certified", "pub_pgp")
    expect_eq(obj["fingerprint"], key.fingerprint, "fingerprint", t.last)
    r = t.export(key.fingerprint)
    exported = openpgp.dearmor(r.outb)
    cert = openpgp.certs(exported)[0]
    third = cert.third_party_signatures()
    expect(not third, "%d third-party signatures are still in the exported key (issuers %s...)"
           % (len(third), [s.issuer_keyid for s in third[:3]]), r)
    expect(len(exported) * 5 < len(src), "exported key is %d bytes, the input %d"
           % (len(exported), len(src)), r)
    # and gpg agrees: only self-signatures
    g, fprs = gpg_import_and_list(t, r.out)
    expect_eq(fprs, [key.fingerprint], "fingerprint gpg sees")
    sigs = [l.split(":")[4] for l in g("--with-colons", "--list-sigs", key.fingerprint)
            .stdout.decode().splitlines() if l.startswith("sig:")]
    expect(sigs and all(s == key.fingerprint[-16:] for s in sigs),
           "gpg --list-sigs shows signatures by other keys: %s" % sorted(set(sigs))[:5])


# ============================================================================ limits


def test_input_over_5_mib_is_refused(t):
    path = t.keys.files["oversize"]
    expect(os.path.getsize(path) > 5 * MIB, "fixture: oversize input is not over 5 MiB")
    r = t.import_key(path, rc=None)
    t.expect_error(r, contains="5 MiB")
    assert_store_empty(t)


def test_input_over_5_mib_on_stdin_is_refused(t):
    with open(t.keys.files["oversize"], "rb") as f:
        data = f.read()
    r = t.import_key("-", rc=None, stdin=data)
    t.expect_error(r, contains="5 MiB")
    assert_store_empty(t)


def test_user_id_of_2048_bytes_is_accepted(t):
    key = t.keys["uid2048"]
    obj = import_public(t, "uid2048")
    expect_eq(obj["fingerprint"], key.fingerprint, "fingerprint", t.last)
    expect("long2048@example.com" in obj["email_addresses"], "the long user ID's address",
           t.last)


def test_user_id_over_2_kib_is_refused(t):
    r = t.import_key(t.keys["uid2049"], "pub_asc", rc=None)
    t.expect_error(r, contains="2 KiB")
    assert_store_empty(t)


def test_100_user_ids_are_accepted(t):
    obj = import_public(t, "uid100")
    expect_eq(len(obj["email_addresses"]), 100, "number of addresses", t.last)


def test_over_100_user_ids_are_refused(t):
    r = t.import_key(t.keys["uid101"], "pub_pgp", rc=None)
    t.expect_error(r, contains="100 user IDs")
    assert_store_empty(t)


def test_over_100_user_ids_leave_the_stored_copy_alone(t):
    key = t.keys["uid100"]
    import_public(t, "uid100")
    r = t.import_key(t.keys["uid101"], "pub_asc", rc=None)
    t.expect_error(r, contains="100 user IDs")
    expect_eq(len(t.show(key.fingerprint)["email_addresses"]), 100, "stored addresses")


# ============================================================================ export


def test_export_public_to_stdout(t):
    key = t.keys["rsa3072"]
    import_public(t, "rsa3072")
    r = t.export(key.fingerprint)
    expect(r.out.startswith(PUBLIC_BLOCK), "stdout should start with %r" % PUBLIC_BLOCK, r)
    certs = openpgp.certs(r.outb)
    expect_eq([c.fingerprint for c in certs], [key.fingerprint], "exported keys", r)
    expect(not any(k.is_secret for k in certs[0].key_packets), "secret packets exported", r)
    expect_eq(len(certs[0].subkeys), 1, "subkeys", r)
    _, fprs = gpg_import_and_list(t, r.out)
    expect_eq(fprs, [key.fingerprint], "fingerprint gpg imports")


def test_export_public_of_a_private_record_has_no_secrets(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    r = t.export(key.fingerprint)
    expect(r.out.startswith(PUBLIC_BLOCK), "stdout should start with %r" % PUBLIC_BLOCK, r)
    expect(PRIVATE_BLOCK not in r.out, "public export holds a private key block", r)
    pk = openpgp.packets(r.outb)
    expect(not [tag for tag, _ in pk if tag in (openpgp.TAG_SECRET_KEY,
                                                openpgp.TAG_SECRET_SUBKEY)],
           "public export holds secret-key packets", r)


def test_export_lower_case_fingerprint_and_output_file(t):
    key = t.keys["ed_pw"]
    import_public(t, "ed_pw")
    out = t.path("out/my-key.asc")
    os.makedirs(os.path.dirname(out))
    r = t.ok("key", "export", key.fingerprint.lower(), "--output", out)
    expect(os.path.exists(out), "--output FILE was not written", r)
    with open(out) as f:
        data = f.read()
    expect(data.startswith(PUBLIC_BLOCK), "the file should start with %r" % PUBLIC_BLOCK, r)
    expect(PUBLIC_BLOCK not in r.out, "the key went to stdout too", r)


def test_export_to_directory_names_files_by_fingerprint(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    d = t.path("exports")
    os.makedirs(d)
    t.ok("key", "export", key.fingerprint, "--output", d)
    t.ok("key", "export", key.fingerprint.lower(), "--secret", "--output", d)
    expect_eq(sorted(os.listdir(d)), sorted([key.fingerprint + ".pub.asc",
                                             key.fingerprint + ".asc"]), "files written")
    with open(os.path.join(d, key.fingerprint + ".pub.asc")) as f:
        expect(f.read().startswith(PUBLIC_BLOCK), "<FPR>.pub.asc is not a public key block")
    with open(os.path.join(d, key.fingerprint + ".asc")) as f:
        expect(f.read().startswith(PRIVATE_BLOCK), "<FPR>.asc is not a private key block")


def test_export_secret_to_a_file_is_not_world_readable(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    out = t.path("secret.asc")
    t.ok("key", "export", key.fingerprint, "--secret", "--output", out)
    mode = stat.S_IMODE(os.stat(out).st_mode)
    expect(mode & 0o077 == 0, "the private key file has mode %s" % oct(mode))
    d = t.path("dir")
    os.makedirs(d)
    t.ok("key", "export", key.fingerprint, "--secret", "--output", d)
    mode = stat.S_IMODE(os.stat(os.path.join(d, key.fingerprint + ".asc")).st_mode)
    expect(mode & 0o077 == 0, "DIR/<FPR>.asc has mode %s" % oct(mode))


def _export_secret_checked(t, name):
    """Imports fixture `name` privately, exports --secret; checks armor and that every secret
    packet is still passphrase-protected. Returns the exported armored text."""
    key = t.keys[name]
    import_secret(t, name)
    r = t.export(key.fingerprint, secret=True)
    expect(r.out.startswith(PRIVATE_BLOCK), "stdout should start with %r" % PRIVATE_BLOCK, r)
    certs = openpgp.certs(r.outb)
    expect_eq([c.fingerprint for c in certs], [key.fingerprint], "exported keys", r)
    packets = certs[0].key_packets
    expect(all(k.is_secret for k in packets), "not every (sub)key has its secret part", r)
    unprotected = [k.fingerprint for k in packets if not k.protected]
    expect(not unprotected, "exported secret keys without passphrase protection: %s"
           % unprotected, r)
    return r.out


def _gpg_sign_and_verify(t, key, exported):
    g = t.gpg()
    g("--import", input=exported.encode())
    msg = t.write("msg.txt", "a message to sign\n")
    sig = msg + ".sig"
    bad = g("--local-user", key.fingerprint, "--detach-sign", "--output", sig + ".bad", msg,
            passphrase="wrong " + key.passphrase, check=False)
    expect(bad.returncode != 0, "gpg signed with a wrong passphrase: the exported key is "
           "not protected by the original passphrase")
    g("--local-user", key.fingerprint, "--detach-sign", "--output", sig, msg,
      passphrase=key.passphrase)
    # verify against the original public key, in another home
    v = t.gpg()
    v("--import", key.path("pub_pgp"))
    p = v("--status-fd", "1", "--verify", sig, msg, check=False)
    status = p.stdout.decode()
    expect(p.returncode == 0 and "[GNUPG:] VALIDSIG " in status and key.fingerprint in status,
           "gpg --verify of the signature made with the exported key failed:\n%s%s"
           % (p.stdout.decode()[-800:], p.stderr.decode()[-800:]))


def test_export_secret_ed25519_is_protected_and_usable_in_gpg(t):
    exported = _export_secret_checked(t, "ed_pw")
    _gpg_sign_and_verify(t, t.keys["ed_pw"], exported)


def test_export_secret_rsa3072_is_protected_and_usable_in_gpg(t):
    exported = _export_secret_checked(t, "rsa3072")
    _gpg_sign_and_verify(t, t.keys["rsa3072"], exported)


def _sq_sign_and_verify(t, key, key_file, password):
    msg = t.write("sq-msg.txt", "signed by sq\n")
    sig = t.path("sq-msg.sig")
    argv = ["sq", "sign", "--detached", "--signer-key", key_file, "--output", sig, msg]
    if password is None:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        rc, out = p.returncode, (p.stdout + p.stderr).decode(errors="replace")
    else:
        rc, out = keyfixtures.run_with_tty_password(argv, password)
    expect(rc == 0, "sq sign with the exported key failed (%s): %s" % (rc, out[-1500:]))
    p = subprocess.run(["sq", "verify", "--signer-cert", key.path("pub_pgp"), "--detached", sig,
                        msg], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    expect(p.returncode == 0, "sq verify failed: %s" % p.stderr.decode(errors="replace")[-800:])


def test_export_secret_is_usable_in_sq_with_the_passphrase(t):
    key = t.keys["ed_pw"]
    exported = _export_secret_checked(t, "ed_pw")
    path = t.write("exported.asc", exported)
    _sq_sign_and_verify(t, key, path, key.passphrase)


def test_export_secret_rsa3072_is_usable_in_sq(t):
    key = t.keys["rsa3072"]
    exported = _export_secret_checked(t, "rsa3072")
    path = t.write("exported.asc", exported)
    _sq_sign_and_verify(t, key, path, key.passphrase)


def test_export_secret_of_an_unprotected_key_is_usable_in_sq(t):
    key = t.keys["ed_plain"]
    t.import_key(key, "sec_asc")
    r = t.export(key.fingerprint, secret=True)
    expect(r.out.startswith(PRIVATE_BLOCK), "stdout should start with %r" % PRIVATE_BLOCK, r)
    path = t.write("exported.asc", r.outb)
    _sq_sign_and_verify(t, key, path, None)


def test_export_secret_of_a_public_record_is_refused(t):
    key = t.keys["ed_pw"]
    import_public(t, "ed_pw")
    r = t.run("key", "export", key.fingerprint, "--secret")
    t.expect_error(r, MSG_NOT_PRIVATE)
    expect(PRIVATE_BLOCK not in r.out and PUBLIC_BLOCK not in r.out, "key data on stdout", r)


def test_export_unknown_key_is_refused(t):
    import_public(t, "ed_pw")
    t.expect_error(t.run("key", "export", "0" * 40), MSG_NOT_FOUND)
    t.expect_error(t.run("key", "export", "0" * 40, "--secret"), MSG_NOT_FOUND)


# ============================================================================ show, list, delete


def test_show_json_and_text(t):
    key = t.keys["rsa3072"]
    imported = import_secret(t, "rsa3072")
    shown = t.show(key.fingerprint.lower())
    for f in KEY_FIELDS:
        expect_eq(shown[f], imported[f], "key show %s" % f)
    r = t.ok("key", "show", key.fingerprint)
    expect(key.fingerprint in r.out.replace(" ", ""), "key show text lacks the fingerprint", r)


def test_show_unknown_key(t):
    import_public(t, "ed_pw")
    t.expect_error(t.run("key", "show", "0" * 40), MSG_NOT_FOUND)
    t.expect_error(t.run("key", "show", "0" * 40, "--json"), MSG_NOT_FOUND)


def test_delete_then_show_fails(t):
    a, b = t.keys["ed_pw"], t.keys["rsa3072"]
    import_secret(t, "ed_pw")
    import_public(t, "rsa3072")
    r = t.ok("key", "delete", a.fingerprint.lower())
    t.expect_error(t.run("key", "show", a.fingerprint), MSG_NOT_FOUND)
    t.expect_error(t.run("key", "export", a.fingerprint, "--secret"), MSG_NOT_FOUND)
    t.expect_error(t.run("key", "delete", a.fingerprint), MSG_NOT_FOUND)
    expect_eq(t.fingerprints(), [b.fingerprint], "keys left")
    # and it can be imported again
    expect_eq(import_secret(t, "ed_pw")["action"], "added", "action of the re-import")


def test_list_text_names_every_key(t):
    names = ["ed_pw", "twouid"]
    for n in names:
        import_public(t, n)
    r = t.ok("key", "list")
    for n in names:
        expect(t.keys[n].fingerprint in r.out.replace(" ", ""),
               "key list text lacks %s" % t.keys[n].fingerprint, r)


def test_list_empty_store(t):
    expect_eq(t.list_keys(), [], "key list --json of a new store")


def test_list_by_email_is_case_insensitive(t):
    key = t.keys["twouid"]
    import_public(t, "twouid")
    import_public(t, "ed_pw")
    for addr in ("alice.two@example.com", "ALICE.TWO@EXAMPLE.COM", "Alice.Two@Example.COM",
                 "alice@WORK.example.org"):
        expect_eq(t.fingerprints(addr), [key.fingerprint], "key list --email %s" % addr)
    expect_eq(t.fingerprints("nobody@example.com"), [], "key list --email nobody@...")
    expect_eq(t.fingerprints("two@example.com"), [], "key list --email two@... (no substring "
              "match)")


def test_list_is_newest_first(t):
    # created: expired 10 days ago, twouid 2 days ago, ed_pw / rsa3072 now
    names = ["twouid", "expired", "ed_pw"]
    for n in names:
        import_public(t, n)
    items = t.list_keys()
    created = [k["created_at"] for k in items]
    expect_eq(created, sorted(created, reverse=True), "created_at order of key list")
    expect_eq([k["fingerprint"] for k in items],
              [t.keys[n].fingerprint for n in ("ed_pw", "twouid", "expired")], "list order")


def test_domain_alias(t):
    key = t.keys["ed_pw"]
    obj = t.import_key(key, "pub_asc", alias="example.org")[0]
    expect_eq(obj["domain_alias"], "example.org", "domain_alias", t.last)
    expect_eq(t.show(key.fingerprint)["domain_alias"], "example.org", "domain_alias (show)")
    import_public(t, "twouid")
    for addr in ("anyone@example.org", "anyone@EXAMPLE.org", "Support@Example.ORG"):
        expect(key.fingerprint in t.fingerprints(addr), "key list --email %s lacks the alias key"
               % addr)
    expect(key.fingerprint not in t.fingerprints("anyone@example.net"),
           "the alias key is listed for another domain")
    expect(key.fingerprint in t.fingerprints("ed.protected@example.com"),
           "the alias key is no longer listed for its own address")


def test_invalid_domain_alias_is_refused(t):
    key = t.keys["ed_pw"]
    for alias in ("not a domain", "example.org/evil"):
        r = t.import_key(key, "pub_asc", alias=alias, rc=None)
        expect(r.rc in (1, 2), "--domain-alias %r: exit %s" % (alias, r.rc), r)
    assert_store_empty(t)


def test_reopening_the_database_shows_the_same_keys(t):
    import_secret(t, "rsa3072")
    import_public(t, "twouid")
    t.import_key(t.keys["ed_plain"], "sec_pgp")
    first = t.list_keys()
    expect_eq(len(first), 3, "number of keys")
    second = t.list_keys()
    expect_eq(second, first, "key list in a second process")
    for k in first:
        expect_eq(t.show(k["fingerprint"]), k, "key show %s" % k["fingerprint"])
    expect_eq(by_fpr(first)[t.keys["rsa3072"].fingerprint]["secret"], True, "rsa3072 secret")
    expect_eq(by_fpr(first)[t.keys["twouid"].fingerprint]["secret"], False, "twouid secret")


# ============================================================================ secrets at rest


SECRET_KEYS = ["rsa3072", "ed_pw", "twouid", "expired", "revuid", "update", "revoked"]
UNPROTECTED = ["ed_plain", "rsa4096"]


def _import_every_secret(t):
    for n in SECRET_KEYS:
        import_secret(t, n)
    for n in UNPROTECTED:
        t.import_key(t.keys[n], "sec_pgp")


def test_database_holds_no_passphrase_and_no_cleartext_secret_key(t):
    _import_every_secret(t)
    for k in t.list_keys():
        t.show(k["fingerprint"])
    t.export(t.keys["rsa3072"].fingerprint, secret=True)
    files = t.db_files()
    expect(any(f.endswith(".db") for f in files), "no database file in %s" % files)
    # sanity: the needles are found where they are
    for n in ("ed_plain", "rsa3072"):
        clear = t.keys[n].path("clear_pgp")
        expect(find_needles([clear], secret_needles(t.keys[n])),
               "fixture: %s's secret values are not in its cleartext export" % n)
    hits = find_needles(files, t.keys.passphrases())
    expect(not hits, "passphrases found at rest: %s"
           % [(os.path.basename(p), n) for p, n in hits])
    for n in UNPROTECTED + ["rsa3072", "ed_pw", "twouid"]:
        hits = find_needles(files, secret_needles(t.keys[n]))
        expect(not hits, "%s's cleartext secret key material found at rest in %s"
               % (n, sorted({os.path.basename(p) for p, _ in hits})))


def test_cli_output_never_shows_secrets(t):
    problems = []
    needles = t.keys.passphrases()
    for n in UNPROTECTED + ["rsa3072", "ed_pw"]:
        needles += secret_needles(t.keys[n])

    def scan(r, what):
        blob = r.outb + r.errb
        if b"PRIVATE KEY BLOCK" in blob:
            problems.append("%s prints a private key block" % what)
        for nd in needles:
            if (nd.encode() if isinstance(nd, str) else nd) in blob:
                problems.append("%s prints a passphrase or secret material (%r...)"
                                % (what, nd[:12]))
                break

    for n in SECRET_KEYS[:3]:
        key = t.keys[n]
        t.import_key(key, "sec_asc", passphrase=key.passphrase, json_out=(n != "twouid"))
        scan(t.last, "key import " + n)
    t.import_key(t.keys["ed_plain"], "sec_asc")
    scan(t.last, "key import --json ed_plain")
    t.import_key(t.keys["rsa4096"], "sec_pgp", json_out=False)
    scan(t.last, "key import rsa4096")
    # failures too
    scan(t.import_key(t.keys["update"], "sec_asc", passphrase="wrong", rc=1),
         "key import (wrong passphrase)")
    scan(t.import_key(t.keys["ed_pw"], "sec_asc", passphrase=t.keys["ed_pw"].passphrase, rc=1),
         "key import (duplicate)")
    scan(t.ok("key", "list"), "key list")
    r = t.ok("key", "list", "--json")
    expect_eq(len(r.json()), 5, "number of keys listed", r)
    scan(r, "key list --json")
    for n in SECRET_KEYS[:3] + UNPROTECTED:
        fpr = t.keys[n].fingerprint
        for args in (["key", "show", fpr], ["key", "show", fpr, "--json"],
                     ["key", "export", fpr]):
            r = t.ok(*args)
            names = (fpr in r.out.replace(" ", "") if args[1] == "show"
                     else [c.fingerprint for c in openpgp.certs(r.outb)] == [fpr])
            expect(names, "'%s' does not give the key" % " ".join(args), r)
            scan(r, " ".join(args[:2]) + " " + n)
    expect(not problems, "; ".join(problems))


def test_master_key_missing_is_refused_and_changes_nothing(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    os.rename(t.db + ".key", t.path("moved.key"))
    before = t.snapshot()
    for args in (["key", "list"], ["key", "list", "--json"],
                 ["key", "export", key.fingerprint, "--secret"],
                 ["key", "show", key.fingerprint],
                 ["key", "import", t.keys["twouid"].path("pub_asc")],
                 ["key", "delete", key.fingerprint]):
        r = t.run(*args)
        t.expect_error(r, contains="master key")
        expect(PRIVATE_BLOCK not in r.out, "a private key was printed", r)
        expect(not os.path.exists(t.db + ".key"), "a new master key file was created", r)
        expect_eq(t.snapshot(), before, "database files after '%s'" % " ".join(args), r)
    # with the master key back, everything is still there
    os.rename(t.path("moved.key"), t.db + ".key")
    expect_eq(t.fingerprints(), [key.fingerprint], "keys after restoring the master key")
    t.export(key.fingerprint, secret=True)


def test_wrong_master_key_is_refused(t):
    key = t.keys["ed_pw"]
    import_secret(t, "ed_pw")
    before = t.snapshot()
    other = t.write("other.key", os.urandom(32))
    os.chmod(other, 0o600)
    env = {"PGPDESK_MASTER_KEY_FILE": other}
    for args in (["key", "list", "--json"], ["key", "export", key.fingerprint, "--secret"],
                 ["key", "import", t.keys["twouid"].path("pub_asc")]):
        r = t.run(*args, env=env)
        t.expect_error(r, contains="master key")
        expect(PRIVATE_BLOCK not in r.out, "a private key was printed", r)
        expect_eq(t.snapshot(), before, "database files after '%s'" % " ".join(args), r)
    expect_eq(t.fingerprints(), [key.fingerprint], "keys with the right master key")


def test_master_key_file_content_is_the_one_created(t):
    import_public(t, "ed_pw")
    h = sha256_file(t.db + ".key")
    import_secret(t, "rsa3072")
    t.list_keys()
    expect_eq(sha256_file(t.db + ".key"), h, "the master key file changed")
