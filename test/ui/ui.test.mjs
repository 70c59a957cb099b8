// Browser tests of the pgpdesk web UI: a real `pgpdesk serve` on a fresh database, keys made
// by gpg, and Debian's Chromium driven by playwright-core.
//
//   node --test test/ui/            (from the repository root; PGPDESK_BIN=build/pgpdesk)
//
// Environment:
//   PGPDESK_BIN              the pgpdesk executable (default: build/pgpdesk)
//   PGPDESK_CHROMIUM         the browser (default: /usr/bin/chromium)
//   PGPDESK_SCREENSHOTS      where to save admin-pgp.png and compose.png (default:
//                            doc/screenshots; "none" saves none)
//   PGPDESK_UI_KEEP=1        keep the temp directory (database, gpg home, server log)
//
// The tests run in order and share one server, browser and page: each is one step of an
// agent's day (sign in, add keys, set defaults, compose, send, read). A failing step says
// which step failed; later steps that need its result fail too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const BIN = path.resolve(ROOT, process.env.PGPDESK_BIN || 'build/pgpdesk');
const CHROMIUM = process.env.PGPDESK_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.PGPDESK_SCREENSHOTS === 'none' ? null
  : path.resolve(ROOT, process.env.PGPDESK_SCREENSHOTS || 'doc/screenshots');
const KEEP = process.env.PGPDESK_UI_KEEP === '1';

const SENDER = 'support@example.com';
const CUSTOMER = 'customer@example.org';
const OTHER = 'former.colleague@example.net';
const SENDER_PASSPHRASE = 'correct horse battery staple';
const STEP_TIMEOUT = 20000;

const env = {};           // everything the steps share
let failures = 0;

// ---------------------------------------------------------------------------- helpers

function cleanEnv(extra) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PGPDESK_')) e[k] = v;
  return { ...e, LC_ALL: 'C.UTF-8', ...extra };
}

function gpg(...args) {
  const opts = { env: cleanEnv({ GNUPGHOME: env.gnupghome }), stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 };
  try {
    return execFileSync('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], opts);
  } catch (e) {
    throw new Error(`gpg ${args.join(' ')} failed: ${e.stderr ? e.stderr.toString() : e.message}`);
  }
}

function makeKey(uid, passphrase) {
  gpg('--passphrase', passphrase, '--quick-gen-key', uid, 'future-default', 'default', 'never');
  const out = gpg('--with-colons', '--list-keys', uid).toString();
  const fpr = out.split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
  return fpr;
}

/** Starts `pgpdesk serve` and resolves with {url, password} once it prints both lines. */
function startServer(db, logPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['--db', db, 'serve', '--listen', '127.0.0.1:0', '--threads', '2'], {
      env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'],
    });
    env.server = child;
    const log = fs.createWriteStream(logPath);
    let out = '';
    let url = null;
    let password = null;
    const timer = setTimeout(() => fail(`no "listening on" and "admin login" lines within 20 s`), 20000);
    function fail(why) {
      clearTimeout(timer);
      reject(new Error(`pgpdesk serve: ${why}\nstdout+stderr so far:\n${out}`));
    }
    const onData = (chunk) => {
      const text = chunk.toString();
      log.write(text);
      out += text;
      const l = /pgpdesk: listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      const p = /pgpdesk: admin login: admin {2}password: (\S+)/.exec(out);
      if (l) url = l[1];
      if (p) password = p[1];
      if (url && password) {
        clearTimeout(timer);
        resolve({ url, password });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => fail(`cannot run ${BIN}: ${e.message}`));
    child.on('exit', (code, signal) => {
      env.serverExit = { code, signal };
      if (!url || !password) fail(`exited (${signal || code}) before it was ready`);
    });
  });
}

/** A JSON API client with its own session (for set-up and for checking what the UI did). */
async function apiSignIn() {
  const res = await fetch(`${env.url}/api/v1/signin`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: 'admin', password: env.password }),
  });
  assert.equal(res.status, 200, `API sign-in: HTTP ${res.status} ${await res.clone().text()}`);
  const body = await res.json();
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { cookies, csrf: body.csrf_token };
}

async function api(method, p, body, { raw = false, type } = {}) {
  const headers = { Cookie: env.apiSession.cookies, 'X-CSRF-Token': env.apiSession.csrf };
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  const res = await fetch(`${env.url}${p}`, {
    method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

/** Wraps a step: a default timeout, and a note of the failure for the summary. */
function step(name, fn) {
  test(name, { timeout: 120000 }, async () => {
    if (!env.page) throw new Error('set-up failed (see the first failure)');
    try {
      await fn(env.page);
    } catch (e) {
      failures++;
      const shot = path.join(env.tmp, `failure-${failures}.png`);
      await env.page.screenshot({ path: shot }).catch(() => {});
      e.message += `\n(page ${env.page.url()}; screenshot ${shot})`;
      throw e;
    }
  });
}

async function gotoRoute(page, hash, viewId) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator(`#${viewId}`).waitFor({ state: 'visible' });
}

async function clearToasts(page) {
  await page.evaluate(() => { document.getElementById('toasts').replaceChildren(); });
}

async function screenshot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await clearToasts(page);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.screenshot({ path: path.join(SHOTS, name) });
}

async function addKeyByPaste(page, text, passphrase) {
  await page.click('#key-add-button');
  await page.locator('#key-add-dialog').waitFor({ state: 'visible' });
  await page.getByLabel('Paste key').check();
  await page.fill('#key-paste', text);
  await page.fill('#key-passphrase', passphrase || '');
  await page.click('#key-add-submit');
}

function keyRow(page, fpr) {
  return page.locator(`[data-testid="key-row"][data-fingerprint="${fpr}"]`);
}

// ---------------------------------------------------------------------------- set-up

before(async () => {
  env.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpdesk-ui-'));
  assert.ok(fs.existsSync(BIN), `pgpdesk binary not found at ${BIN} (set PGPDESK_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium)`);

  // keys: the helpdesk's (with a passphrase), a customer's, and one to upload and delete
  env.gnupghome = path.join(env.tmp, 'gnupg');
  fs.mkdirSync(env.gnupghome, { mode: 0o700 });
  env.senderFpr = makeKey(`Support <${SENDER}>`, SENDER_PASSPHRASE);
  env.customerFpr = makeKey(`Customer <${CUSTOMER}>`, '');
  env.otherFpr = makeKey(`Former Colleague <${OTHER}>`, '');
  env.senderSecretAsc = gpg('--passphrase', SENDER_PASSPHRASE, '--armor', '--export-secret-keys', env.senderFpr).toString();
  env.customerPubAsc = gpg('--armor', '--export', env.customerFpr).toString();
  env.otherPubBin = path.join(env.tmp, 'former-colleague.gpg');
  fs.writeFileSync(env.otherPubBin, gpg('--export', env.otherFpr));
  assert.ok(env.senderSecretAsc.includes('BEGIN PGP PRIVATE KEY BLOCK'), 'gpg exported no private key');

  // the server, on a fresh database
  fs.mkdirSync(path.join(env.tmp, 'db'));
  const { url, password } = await startServer(path.join(env.tmp, 'db', 'pgpdesk.db'), path.join(env.tmp, 'server.log'));
  env.url = url;
  env.password = password;
  env.apiSession = await apiSignIn();
  const group = await api('POST', '/api/v1/groups', { name: 'Support', email: SENDER });
  assert.equal(group.status, 201, `creating the group: HTTP ${group.status} ${group.text}`);
  env.group = group.json;

  // the browser: a fresh profile, nothing from the network
  env.profile = path.join(env.tmp, 'chromium-profile');
  env.context = await chromium.launchPersistentContext(env.profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  env.context.setDefaultTimeout(STEP_TIMEOUT);
  env.page = env.context.pages()[0] || await env.context.newPage();
  env.console = [];
  env.page.on('console', (m) => { if (m.type() === 'error') env.console.push(m.text()); });
  env.page.on('pageerror', (e) => env.console.push(`uncaught: ${e.message}`));
  env.requests = [];   // every request that got an answer
  env.context.on('requestfinished', (r) => env.requests.push(r.url()));
});

after(async () => {
  if (env.context) await env.context.close().catch(() => {});
  if (env.server && !env.serverExit) {
    env.server.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(r, 5000); env.server.once('exit', () => { clearTimeout(t); r(); }); });
  }
  if (env.gnupghome) {
    try { execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: cleanEnv({ GNUPGHOME: env.gnupghome }), stdio: 'ignore' }); } catch { /* none */ }
  }
  if (failures && env.tmp) {
    const log = path.join(env.tmp, 'server.log');
    if (fs.existsSync(log)) {
      const lines = fs.readFileSync(log, 'utf8').trimEnd().split('\n');
      process.stderr.write(`# server log (last 40 lines):\n# ${lines.slice(-40).join('\n# ')}\n`);
    }
  }
  if (env.tmp && !KEEP && !failures) fs.rmSync(env.tmp, { recursive: true, force: true });
  else if (env.tmp) process.stderr.write(`# files kept in ${env.tmp}\n`);
});

// ---------------------------------------------------------------------------- the steps

step('sign-in: the login form rejects a wrong password, then opens the mailbox', async (page) => {
  await page.goto(`${env.url}/`);
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await page.fill('#login-username', 'admin');
  await page.fill('#login-password', 'not the password');
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  await page.fill('#login-password', env.password);
  await page.press('#login-password', 'Enter');
  await page.locator('#view-mailbox').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#current-user'), 'admin (admin)');
  assert.ok(await page.isVisible('#nav-admin-pgp'), 'an admin sees the PGP admin link');
  const csrf = await page.evaluate(() => sessionStorage.getItem('pgpdesk.csrf'));
  assert.ok(csrf && csrf.length > 10, 'the CSRF token is kept in sessionStorage');
  // a reload keeps the session (GET /api/v1/me)
  await page.reload();
  await page.locator('#view-mailbox').waitFor({ state: 'visible' });
});

step('admin: a pasted private key with a wrong passphrase shows the error, the right one imports it', async (page) => {
  await page.click('#nav-admin-pgp');
  await page.locator('#view-admin-pgp').waitFor({ state: 'visible' });
  assert.equal(await page.isChecked('#pgp-integration-switch'), true, 'the integration is on in a new database');
  await addKeyByPaste(page, env.senderSecretAsc, 'wrong passphrase');
  const error = page.locator('#key-add-error');
  await error.waitFor({ state: 'visible' });
  assert.match(await error.textContent(), /passphrase is invalid/i);
  await page.fill('#key-passphrase', SENDER_PASSPHRASE);
  await page.click('#key-add-submit');
  await page.locator('#key-add-dialog').waitFor({ state: 'hidden' });
  const row = keyRow(page, env.senderFpr);
  await row.waitFor();
  assert.equal((await row.locator('[data-testid="key-secret"]').innerText()).trim(), 'Yes');
  assert.match(await row.locator('[data-testid="key-emails"]').innerText(), new RegExp(SENDER));
  const shown = (await row.locator('[data-testid="key-fingerprint"]').innerText()).replace(/\s+/g, ' ').trim();
  assert.equal(shown, env.senderFpr.match(/.{4}/g).join(' '), 'the fingerprint is shown in groups of four');
});

step('admin: a binary public key is uploaded through the file chooser', async (page) => {
  await page.click('#key-add-button');
  await page.locator('#key-add-dialog').waitFor({ state: 'visible' });
  assert.ok(await page.getByLabel('Upload key').isChecked(), 'Upload is the default source');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#key-file')]);
  await chooser.setFiles(env.otherPubBin);
  await page.click('#key-add-submit');
  await page.locator('#key-add-dialog').waitFor({ state: 'hidden' });
  const row = keyRow(page, env.otherFpr);
  await row.waitFor();
  assert.equal((await row.locator('[data-testid="key-secret"]').innerText()).trim(), 'No');
  assert.equal(await page.locator('[data-testid="key-row"]').count(), 2, 'both keys are listed');
  assert.equal(await row.locator('[data-testid="key-download-secret"]').count(), 0, 'no private download for a public key');
});

step('admin: the public key downloads as <FPR>.pub.asc', async (page) => {
  const row = keyRow(page, env.senderFpr);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.locator('[data-testid="key-download-public"]').click(),
  ]);
  assert.equal(download.suggestedFilename(), `${env.senderFpr}.pub.asc`);
  const text = fs.readFileSync(await download.path(), 'utf8');
  assert.match(text, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  assert.doesNotMatch(text, /PRIVATE KEY/);
  // the server names it so too, whatever the link says
  const keys = (await api('GET', '/api/v1/integration/pgp/key')).json;
  const id = keys.find((k) => k.fingerprint === env.senderFpr).id;
  const res = await api('GET', `/api/v1/integration/pgp/key_download/${id}`);
  assert.match(res.headers.get('content-disposition') || '', new RegExp(`filename="${env.senderFpr}\\.pub\\.asc"`));
});

step('admin: deleting a key asks first; Cancel keeps it, Delete removes it', async (page) => {
  const row = keyRow(page, env.otherFpr);
  await row.locator('[data-testid="key-delete"]').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  assert.match(await page.textContent('#confirm-message'), /Former Colleague/);
  await page.click('#confirm-cancel');
  await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
  assert.equal(await row.count(), 1, 'Cancel keeps the key');
  await row.locator('[data-testid="key-delete"]').click();
  await page.click('#confirm-ok');
  await row.waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-testid="key-row"]').count(), 1);
  const keys = (await api('GET', '/api/v1/integration/pgp/key')).json;
  assert.deepEqual(keys.map((k) => k.fingerprint), [env.senderFpr]);
});

step('admin: a group default toggle is saved with PUT /api/v1/groups/:id', async (page) => {
  const row = page.locator(`[data-testid="group-row"][data-group-id="${env.group.id}"]`);
  const encrypt = row.locator('[data-testid="group-encrypt-default"]');
  assert.equal(await encrypt.isChecked(), true, 'unset means on');
  await encrypt.click();
  await page.waitForFunction(async (id) => {
    const el = document.querySelector(`[data-group-id="${id}"] [data-testid="group-encrypt-default"]`);
    return el && !el.disabled && !el.checked;
  }, env.group.id);
  let g = (await api('GET', `/api/v1/groups/${env.group.id}`)).json;
  assert.equal(g.encrypt_default, false);
  assert.equal(g.email, SENDER, 'the whole group object was sent back');
  await row.locator('[data-testid="group-encrypt-default"]').click();
  await page.waitForFunction(async (id) => {
    const el = document.querySelector(`[data-group-id="${id}"] [data-testid="group-encrypt-default"]`);
    return el && !el.disabled && el.checked;
  }, env.group.id);
  g = (await api('GET', `/api/v1/groups/${env.group.id}`)).json;
  assert.equal(g.encrypt_default, true);
  assert.equal(g.sign_default, null, 'the other default is untouched');
});

step('compose: Sign is on, Encrypt is disabled and says why', async (page) => {
  await page.click('#nav-compose');
  await page.locator('#view-compose').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#compose-group'), String(env.group.id));
  await page.fill('#compose-to', CUSTOMER);
  const encrypt = page.locator('#compose-encrypt');
  const reason = `The PGP key for ${CUSTOMER} was not found.`;
  await page.waitForFunction((want) => document.getElementById('compose-encrypt').title === want, reason);
  assert.equal(await encrypt.isDisabled(), true);
  assert.equal(await encrypt.getAttribute('aria-pressed'), 'false');
  const sign = page.locator('#compose-sign');
  assert.equal(await sign.isDisabled(), false);
  assert.equal(await sign.getAttribute('aria-pressed'), 'true', 'signing is on by default');
  assert.equal(await sign.getAttribute('title'), `The PGP key for ${SENDER} was found.`);
  assert.match(await page.textContent('#compose-security-reasons'), new RegExp(reason.replace(/\./g, '\\.')));
  // Sign toggles
  await sign.click();
  assert.equal(await sign.getAttribute('aria-pressed'), 'false');
  await sign.click();
  assert.equal(await sign.getAttribute('aria-pressed'), 'true');
});

step('compose: after the recipient key is added, Encrypt becomes possible (and on by default)', async (page) => {
  await page.fill('#compose-subject', 'Your order 4711');
  await page.fill('#compose-body', 'Hello,\n\nyour order has shipped.\n\nRegards, Support');
  await page.setInputFiles('#compose-attachments', {
    name: 'invoice.txt', mimeType: 'text/plain', buffer: Buffer.from('Invoice 4711: 42.00 EUR\n'),
  });
  await page.locator('[data-testid="compose-attachment"]').waitFor();

  await page.click('#nav-admin-pgp');
  await page.locator('#view-admin-pgp').waitFor({ state: 'visible' });
  await addKeyByPaste(page, env.customerPubAsc, '');
  await page.locator('#key-add-dialog').waitFor({ state: 'hidden' });
  await keyRow(page, env.customerFpr).waitFor();

  await page.click('#nav-compose');
  await page.locator('#view-compose').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#compose-to'), CUSTOMER, 'the draft is kept while away');
  await page.waitForFunction(() => !document.getElementById('compose-encrypt').disabled);
  const encrypt = page.locator('#compose-encrypt');
  assert.equal(await encrypt.getAttribute('aria-pressed'), 'true', 'the group default (true) applies');
  assert.doesNotMatch(await encrypt.getAttribute('title'), /not found/);
  assert.match(await encrypt.getAttribute('title'), new RegExp(CUSTOMER));
  assert.equal(await page.getAttribute('#compose-sign', 'aria-pressed'), 'true');
  await screenshot(page, 'compose.png');
});

step('send: the outgoing article is shown, signed and encrypted, with its text and attachment', async (page) => {
  await page.click('#compose-send');
  await page.locator('#view-article').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.getElementById('article-subject').textContent === 'Your order 4711');
  assert.ok(await page.isVisible('#article-badges [data-testid="badge-signed"]'), 'Signed badge');
  assert.ok(await page.isVisible('#article-badges [data-testid="badge-encrypted"]'), 'Encrypted badge');
  await page.waitForFunction(() => document.getElementById('article-body').textContent.includes('your order has shipped'));
  await page.locator('[data-testid="article-attachment"]', { hasText: 'invoice.txt' }).waitFor();
  assert.equal(await page.isVisible('#article-retry'), false, 'no Retry for outgoing mail');
  const href = await page.getAttribute('#article-raw', 'href');
  assert.match(href, /^\/api\/v1\/articles\/\d+\/raw$/);
  // the raw message really is PGP/MIME encrypted
  const raw = await api('GET', href);
  assert.match(raw.text, /multipart\/encrypted/);
  assert.doesNotMatch(raw.text, /your order has shipped/);
  // the compose form was reset
  assert.equal(await page.inputValue('#compose-to'), '');
});

step('mailbox: the article is listed with its badges and opens on click', async (page) => {
  await page.click('#nav-mailbox');
  await page.locator('#view-mailbox').waitFor({ state: 'visible' });
  const row = page.locator('[data-testid="article-row"]', { hasText: 'Your order 4711' });
  await row.waitFor();
  assert.equal(await row.getAttribute('data-direction'), 'out');
  assert.equal(await row.locator('[data-testid="badge-signed"]').count(), 1);
  assert.equal(await row.locator('[data-testid="badge-encrypted"]').count(), 1);
  await page.selectOption('#mailbox-group', String(env.group.id));
  await row.waitFor();
  await row.locator('[data-testid="article-link"]').click();
  await page.locator('#view-article').waitFor({ state: 'visible' });
});

step('incoming: a signed reply gets the Signed badge; markup in mail stays text; HTML mail is sandboxed', async (page) => {
  // a PGP/MIME signed reply from the customer
  const boundary = 'sig-boundary-1';
  // the signed bytes: the part up to, not including, the CRLF before the boundary (RFC 3156)
  const part = 'Content-Type: text/plain; charset=utf-8\r\n\r\nThanks! <b>bold?</b> <img src=x onerror="window.pwned=1">';
  fs.writeFileSync(path.join(env.tmp, 'part.txt'), part);
  const sig = gpg('--armor', '--detach-sign', '--digest-algo', 'SHA256', '--local-user', env.customerFpr,
    '--output', '-', path.join(env.tmp, 'part.txt')).toString();
  const signed = [
    `From: Customer <${CUSTOMER}>`, `To: ${SENDER}`, 'Subject: Re: Your order 4711',
    'Message-ID: <signed-reply@example.org>', 'Date: Mon, 02 Mar 2026 10:00:00 +0000', 'MIME-Version: 1.0',
    `Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"; boundary="${boundary}"`,
    '', `--${boundary}`, part, `--${boundary}`,
    'Content-Type: application/pgp-signature; name="signature.asc"', '', sig.replace(/\n/g, '\r\n').trimEnd(),
    `--${boundary}--`, '',
  ].join('\r\n');
  const inSigned = await api('POST', '/api/v1/incoming', signed, { raw: true, type: 'message/rfc822' });
  assert.equal(inSigned.status, 201, `POST /api/v1/incoming: ${inSigned.text}`);
  assert.equal(inSigned.json.security.sign.status, 'good', `signature: ${JSON.stringify(inSigned.json.security.sign)}`);

  env.signedReplyId = inSigned.json.id;
  await gotoRoute(page, `#/article/${inSigned.json.id}`, 'view-article');
  await page.waitForFunction(() => document.getElementById('article-body').textContent.includes('Thanks!'));
  assert.ok(await page.isVisible('#article-badges [data-testid="badge-signed"]'));
  assert.equal(await page.locator('#article-badges [data-testid="badge-encrypted"]').count(), 0);
  assert.equal(await page.getAttribute('[data-testid="security-sign"]', 'data-status'), 'good');
  assert.match(await page.textContent('#article-body'), /<b>bold\?<\/b> <img src=x/, 'markup is shown as text');
  assert.equal(await page.locator('#article-body img, #article-body b').count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.ok(await page.isVisible('#article-retry'), 'Retry for incoming mail');
  await page.click('#article-retry');
  await page.locator('[data-testid="toast"]', { hasText: /same as before|improved/ }).waitFor();

  // an HTML-only message, unsigned, trying to run script and load from the network
  const html = [
    `From: Someone <someone@example.org>`, `To: ${SENDER}`, 'Subject: HTML only',
    'Message-ID: <html-only@example.org>', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '',
    '<p>Hi <b>there</b></p><script>parent.pwned=2</script><img src="http://127.0.0.2:9/track.png">', '',
  ].join('\r\n');
  const inHtml = await api('POST', '/api/v1/incoming', html, { raw: true, type: 'message/rfc822' });
  assert.equal(inHtml.status, 201, `POST /api/v1/incoming: ${inHtml.text}`);
  await gotoRoute(page, `#/article/${inHtml.json.id}`, 'view-article');
  const frame = page.locator('#article-html');
  await frame.waitFor({ state: 'visible' });
  assert.equal(await frame.getAttribute('sandbox'), '', 'sandbox without any allowance');
  assert.match(await frame.getAttribute('srcdoc'), /Content-Security-Policy/);
  const content = await (await frame.elementHandle()).contentFrame();
  await content.waitForFunction(() => document.body && document.body.innerText.includes('Hi there') && document.body.offsetWidth > 0);
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'no script ran');
  assert.equal(await page.locator('#article-badges .badge').count(), 0, 'an unsigned message has no badge');
  assert.ok(!env.requests.some((u) => u.includes('127.0.0.2')), 'nothing was loaded from the message');
});

step('reply: Reply prefills the draft from the article and sends it signed and encrypted', async (page) => {
  await gotoRoute(page, `#/article/${env.signedReplyId}`, 'view-article');
  await page.waitForFunction(() => document.getElementById('article-subject').textContent === 'Re: Your order 4711');
  await page.click('#article-reply');
  await page.locator('#view-compose').waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.getElementById('compose-subject').value === 'Re: Your order 4711');
  assert.equal(await page.textContent('#compose-title'), 'Reply');
  assert.match(await page.inputValue('#compose-to'), new RegExp(CUSTOMER));
  assert.match(await page.inputValue('#compose-body'), /^> Thanks! <b>bold\?<\/b>/m, 'the reply quotes the message');
  assert.equal(await page.inputValue('#compose-group'), String(env.group.id));
  await page.waitForFunction(() => {
    const e = document.getElementById('compose-encrypt');
    const s = document.getElementById('compose-sign');
    return !e.disabled && e.getAttribute('aria-pressed') === 'true' && s.getAttribute('aria-pressed') === 'true';
  });
  await page.locator('#compose-body').press('Control+Home');
  await page.locator('#compose-body').pressSequentially('Glad to help!');
  await page.click('#compose-send');
  await page.locator('#view-article').waitFor({ state: 'visible' });
  await page.waitForFunction((id) => location.hash !== `#/article/${id}` && /^#\/article\/\d+$/.test(location.hash), env.signedReplyId);
  await page.locator('#article-badges [data-testid="badge-encrypted"]').waitFor();
  assert.ok(await page.isVisible('#article-badges [data-testid="badge-signed"]'));
  await page.waitForFunction(() => document.getElementById('article-body').textContent.startsWith('Glad to help!'));
  const article = (await api('GET', `/api/v1/articles/${(await page.evaluate(() => location.hash)).split('/').pop()}`)).json;
  assert.equal(article.direction, 'out');
  const raw = (await api('GET', `/api/v1/articles/${article.id}/raw`)).text;
  assert.match(raw, /^In-Reply-To: <signed-reply@example\.org>/mi, 'the reply names the message it answers');
});

step('admin: Recent Logs list the operations and show a row\'s details', async (page) => {
  await page.click('#nav-admin-pgp');
  await page.locator('#view-admin-pgp').waitFor({ state: 'visible' });
  const rows = page.locator('[data-testid="log-row"]');
  await rows.first().waitFor();
  const count = await rows.count();
  assert.ok(count >= 3, `expected sign, encryption and incoming entries, got ${count}`);
  const signRow = rows.filter({ hasText: 'Signature' }).filter({ hasText: 'Outgoing' }).first();
  await signRow.click();
  await page.locator('#log-dialog').waitFor({ state: 'visible' });
  const detail = JSON.parse(await page.textContent('#log-dialog-detail'));
  assert.equal(detail.signer_fingerprint, env.senderFpr);
  await page.keyboard.press('Escape');
  await page.locator('#log-dialog').waitFor({ state: 'hidden' });
  // keyboard: Enter on a focused row opens it too
  await rows.first().focus();
  await page.keyboard.press('Enter');
  await page.locator('#log-dialog').waitFor({ state: 'visible' });
  await page.click('#log-dialog-close');
  // auto-refresh picks up a new entry without a reload
  const before = await rows.count();
  const res = await api('POST', '/api/v1/send', {
    group_id: env.group.id, to: CUSTOMER, subject: 'Second', body: 'Again', sign: true, encrypt: false,
  });
  assert.equal(res.status, 201, `POST /api/v1/send: ${res.text}`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="log-row"]').length > n, before, { timeout: 15000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'admin-pgp.png');
});

step('compose: a refused send shows error_human', async (page) => {
  await gotoRoute(page, '#/compose', 'view-compose');
  await page.fill('#compose-to', 'not an address');
  await page.fill('#compose-subject', 'Broken');
  await page.click('#compose-send');
  const error = page.locator('#compose-error');
  await error.waitFor({ state: 'visible' });
  const text = (await error.textContent()).trim();
  assert.ok(text.length > 0 && !/HTTP \d+/.test(text), `a human message, got ${JSON.stringify(text)}`);
  assert.ok(await page.isVisible('#view-compose'), 'the draft stays open');
});

step('the integration switch hides the Encrypt and Sign buttons when off', async (page) => {
  await page.click('#nav-admin-pgp');
  await page.locator('#view-admin-pgp').waitFor({ state: 'visible' });
  await page.locator('#pgp-integration-switch').click();
  await page.waitForFunction(() => {
    const s = document.getElementById('pgp-integration-switch');
    return !s.disabled && !s.checked;
  });
  assert.equal((await api('GET', '/api/v1/settings')).json.pgp_integration, false);
  await page.click('#nav-compose');
  await page.locator('#view-compose').waitFor({ state: 'visible' });
  await page.locator('#compose-security').waitFor({ state: 'hidden' });
  await page.click('#nav-admin-pgp');
  await page.locator('#pgp-integration-switch').click();
  await page.waitForFunction(() => {
    const s = document.getElementById('pgp-integration-switch');
    return !s.disabled && s.checked;
  });
  await page.click('#nav-compose');
  await page.locator('#compose-security').waitFor({ state: 'visible' });
});

step('sign-out ends the session', async (page) => {
  await page.click('#signout-button');
  await page.locator('#view-login').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('pgpdesk.csrf')), null);
  await page.reload();
  await page.locator('#view-login').waitFor({ state: 'visible' });
});

step('an agent composes and reads mail but does not see the PGP admin page', async (page) => {
  const created = await api('POST', '/api/v1/users', { login: 'alice', password: 'agent password 1', role: 'agent' });
  assert.equal(created.status, 201, `POST /api/v1/users: ${created.text}`);
  await page.locator('#view-login').waitFor({ state: 'visible' });
  await page.fill('#login-username', 'alice');
  await page.fill('#login-password', 'agent password 1');
  await page.click('#login-submit');
  await page.locator('#view-mailbox').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#current-user'), 'alice');
  assert.equal(await page.isVisible('#nav-admin-pgp'), false);
  await page.locator('[data-testid="article-row"]').first().waitFor();
  await gotoRoute(page, '#/admin/pgp', 'view-admin-pgp');
  assert.ok(await page.isVisible('#admin-forbidden'));
  assert.equal(await page.isVisible('#admin-content'), false);
  await page.click('#nav-compose');
  await page.fill('#compose-to', CUSTOMER);
  await page.waitForFunction(() => !document.getElementById('compose-encrypt').disabled);
  await page.click('#signout-button');
  await page.locator('#view-login').waitFor({ state: 'visible' });
});

step('no script errors and no Content-Security-Policy violations', async () => {
  // Expected: "Failed to load resource" for the 401/422 answers the UI handles, and what the
  // sandbox and the policy blocked in the HTML mail (its script and its tracking image).
  const expected = [
    /^Failed to load resource: the server responded with a status of (401|403|404|422)/,
    /^Blocked script execution in 'about:srcdoc' because the document's frame is sandboxed/,
    /^Loading the image 'http:\/\/127\.0\.0\.2:9\/track\.png' violates the following Content Security Policy/,
  ];
  const bad = env.console.filter((m) => !expected.some((re) => re.test(m)));
  assert.deepEqual(bad, []);
  const external = env.requests.filter((u) => !u.startsWith(env.url) && !u.startsWith('blob:') && !u.startsWith('data:') && u !== 'about:blank' && !u.startsWith('about:srcdoc'));
  assert.deepEqual(external, [], 'the UI loads nothing from anywhere else');
});
