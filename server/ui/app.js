/* app.js - the pgpdesk web UI: sign-in, the PGP admin page, the mailbox, the article view and
 * the compose form. Plain DOM, no framework. Runs under CSP default-src 'self': no inline
 * scripts or styles, no eval, no inline event handlers.
 *
 * Message content is only ever put into the page as text (textContent); HTML mail goes into a
 * sandboxed iframe. Badges are drawn from the server's security result, never from content. */
(function () {
  'use strict';

  var API = '/api/v1';
  var CSRF_KEY = 'pgpdesk.csrf';
  var LOG_REFRESH_MS = 5000;
  var OPTIONS_DEBOUNCE_MS = 350;
  var PAGE_SIZE = 25;

  /* ================================================================ small DOM helpers */

  function $(id) { return document.getElementById(id); }

  /* h('tag', {class, text, dataset, on: {event: fn}, other attributes}, children...) */
  function h(tag, attrs) {
    var el = document.createElement(tag);
    attrs = attrs || {};
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.keys(v).forEach(function (d) { el.dataset[d] = v[d]; });
      else if (k === 'on') Object.keys(v).forEach(function (ev) { el.addEventListener(ev, v[ev]); });
      else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'value') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

  function show(el, visible) { el.hidden = !visible; }

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var ICONS = {
    check: ['M3.5 8.5l3 3 6-7'],
    lock: ['M4.5 7V5.5a3.5 3.5 0 0 1 7 0V7', 'M3.5 7h9v6.5h-9z'],
    warn: ['M8 2.2L14.5 13.5h-13z', 'M8 6.5v3.2', 'M8 11.6v.2'],
    inbox: ['M2 9.5h3.5l1 1.5h3l1-1.5H14', 'M2 9.5V13h12V9.5L12 3.5H4z'],
    send: ['M2 8l12-5.5-4 11-2.5-4.5z', 'M7.5 9L14 2.5'],
    minus: ['M4.5 8h7'],
    key: ['M9.5 6.5a3 3 0 1 0 0 .01', 'M7.3 8.7L2.5 13.5', 'M4 12l1.5 1.5', 'M5.5 10.5l1.5 1.5']
  };

  function icon(name, extraClass) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', 'icon' + (extraClass ? ' ' + extraClass : ''));
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    (ICONS[name] || []).forEach(function (d) {
      var p = document.createElementNS(SVG_NS, 'path');
      p.setAttribute('d', d);
      svg.appendChild(p);
    });
    return svg;
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  /* ISO 8601 (or unix seconds) -> "2026-11-28 14:10" in local time; '' for none. */
  function formatTime(value, withSeconds) {
    if (value === null || value === undefined || value === '' || value === 0) return '';
    var d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
    if (isNaN(d.getTime())) return String(value);
    var s = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
    return withSeconds ? s + ':' + pad(d.getSeconds()) : s;
  }

  function formatDate(value) {
    var s = formatTime(value);
    return s ? s.slice(0, 10) : '';
  }

  function timeEl(value, withSeconds) {
    if (!value) return h('span', { class: 'muted', text: '—' });
    return h('time', { datetime: String(value), title: String(value), text: formatTime(value, withSeconds) });
  }

  /* "ABCD1234..." -> "ABCD 1234 ..." (groups of four, a wider gap after the fifth). */
  function groupFingerprint(fpr) {
    var groups = String(fpr || '').replace(/\s+/g, '').match(/.{1,4}/g) || [];
    return groups.slice(0, 5).join(' ') + (groups.length > 5 ? '  ' + groups.slice(5).join(' ') : '');
  }

  function formatSize(n) {
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  /* A security option's comment with each %s replaced by the next placeholder. */
  function fillComment(comment, placeholders) {
    if (!comment) return '';
    var i = 0;
    var list = Array.isArray(placeholders) ? placeholders : [];
    return String(comment).replace(/%s/g, function () {
      var v = list[i++];
      return v === undefined || v === null ? '' : String(v);
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    var wrapped = function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { timer = null; fn.apply(null, args); }, ms);
    };
    wrapped.cancel = function () { clearTimeout(timer); timer = null; };
    wrapped.pending = function () { return timer !== null; };
    return wrapped;
  }

  /* ================================================================ toasts and errors */

  function toast(message, kind) {
    var el = h('div', { class: 'toast toast-' + (kind || 'info'), 'data-testid': 'toast', text: message });
    $('toasts').appendChild(el);
    setTimeout(function () { el.classList.add('toast-out'); }, kind === 'error' ? 7000 : 4000);
    setTimeout(function () { if (el.parentNode) el.parentNode.removeChild(el); }, kind === 'error' ? 7600 : 4600);
  }

  function showError(el, message) {
    el.textContent = message || '';
    show(el, !!message);
  }

  /* ================================================================ the API */

  function ApiError(status, body, message) {
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function errorText(status, body) {
    if (body && typeof body === 'object') {
      if (typeof body.error_human === 'string' && body.error_human) return body.error_human;
      if (typeof body.error === 'string' && body.error) return body.error;
      if (typeof body.message === 'string' && body.message) return body.message;
    }
    if (status === 0) return 'The server cannot be reached.';
    if (status === 401) return 'Please sign in.';
    if (status === 403) return 'You are not allowed to do that.';
    if (status === 404) return 'Not found.';
    if (status === 413) return 'That is too large for the server.';
    return 'The server answered with an error (HTTP ' + status + ').';
  }

  var api = {
    csrf: (function () { try { return sessionStorage.getItem(CSRF_KEY) || ''; } catch (e) { return ''; } })(),

    setCsrf: function (token) {
      api.csrf = token || '';
      try {
        if (token) sessionStorage.setItem(CSRF_KEY, token);
        else sessionStorage.removeItem(CSRF_KEY);
      } catch (e) { /* private mode: keep it in memory */ }
    },

    /* opts: {json: body, form: FormData, as: 'json'|'arrayBuffer'|'text', quiet401: bool} */
    request: function (method, path, opts) {
      opts = opts || {};
      var headers = { Accept: opts.as === 'json' || !opts.as ? 'application/json' : '*/*' };
      var body;
      if (method !== 'GET' && method !== 'HEAD' && api.csrf) headers['X-CSRF-Token'] = api.csrf;
      if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.form) {
        body = opts.form;
      }
      return fetch(path.indexOf('/') === 0 ? path : API + '/' + path, {
        method: method,
        headers: headers,
        body: body,
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'error'
      }).catch(function () {
        throw new ApiError(0, null, errorText(0, null));
      }).then(function (res) {
        if (!res.ok) {
          return res.text().then(function (text) {
            var parsed = null;
            try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
            var err = new ApiError(res.status, parsed, errorText(res.status, parsed));
            if (res.status === 401 && !opts.quiet401) sessionExpired();
            throw err;
          });
        }
        if (opts.as === 'arrayBuffer') return res.arrayBuffer();
        if (opts.as === 'text') return res.text();
        if (res.status === 204) return null;
        return res.text().then(function (text) {
          if (!text) return null;
          try { return JSON.parse(text); } catch (e) {
            throw new ApiError(res.status, null, 'The server sent an answer that is not JSON.');
          }
        });
      });
    },
    get: function (path, opts) { return api.request('GET', path, opts); },
    post: function (path, json, opts) { return api.request('POST', path, Object.assign({ json: json }, opts || {})); },
    put: function (path, json, opts) { return api.request('PUT', path, Object.assign({ json: json }, opts || {})); },
    del: function (path, opts) { return api.request('DELETE', path, opts); }
  };

  /* ================================================================ state */

  var state = {
    user: null,
    integration: null,      /* true / false / null (unknown) */
    groups: [],
    groupsLoaded: false,
    route: null,
    wantedRoute: null,
    view: null
  };

  function isAdmin() { return !!(state.user && state.user.role === 'admin'); }

  function loadSettings() {
    return api.get(API + '/settings').then(function (s) {
      state.integration = !(s && s.pgp_integration === false);
      return state.integration;
    }).catch(function (err) {
      if (err.status === 401) throw err;
      state.integration = true; /* unknown: assume the database default (on) */
      return state.integration;
    });
  }

  function loadGroups() {
    return api.get(API + '/groups').then(function (groups) {
      state.groups = Array.isArray(groups) ? groups : [];
      state.groupsLoaded = true;
      return state.groups;
    });
  }

  function groupById(id) {
    for (var i = 0; i < state.groups.length; i++) if (String(state.groups[i].id) === String(id)) return state.groups[i];
    return null;
  }

  function groupLabel(g) {
    return g.email ? g.name : g.name + ' (no sender address)';
  }

  /* "Jane Doe <jane@example.org>" -> {name: "Jane Doe", email: "jane@example.org"}. */
  function splitUserId(uid) {
    var m = /^(.*?)\s*<([^<>]*)>\s*$/.exec(uid || '');
    if (!m) return { name: uid || '', email: '' };
    return { name: m[1].replace(/^"(.*)"$/, '$1'), email: m[2] };
  }

  /* ================================================================ router */

  var views = {};

  function parseHash() {
    var hash = location.hash.replace(/^#\/?/, '');
    var q = hash.indexOf('?');
    var path = q < 0 ? hash : hash.slice(0, q);
    var query = {};
    if (q >= 0) {
      hash.slice(q + 1).split('&').forEach(function (pair) {
        if (!pair) return;
        var eq = pair.indexOf('=');
        var k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
        query[k] = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      });
    }
    var parts = path.split('/').filter(Boolean);
    if (parts[0] === 'login') return { name: 'login', query: query };
    if (parts[0] === 'admin' && parts[1] === 'pgp') return { name: 'admin-pgp', query: query };
    if (parts[0] === 'mailbox') return { name: 'mailbox', query: query };
    if (parts[0] === 'compose') return { name: 'compose', query: query };
    if (parts[0] === 'article' && /^\d+$/.test(parts[1] || '')) return { name: 'article', id: parts[1], query: query };
    return { name: '', query: query };
  }

  function navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  function route() {
    var r = parseHash();
    if (!state.user) {
      if (r.name && r.name !== 'login') state.wantedRoute = location.hash;
      activate('login', r);
      return;
    }
    if (r.name === 'login' || r.name === '') {
      var next = state.wantedRoute;
      state.wantedRoute = null;
      history.replaceState(null, '', next && next !== '#/login' ? next : '#/mailbox');
      r = parseHash();
      if (!r.name || r.name === 'login') r = { name: 'mailbox', query: {} };
    }
    activate(r.name, r);
  }

  var TITLES = { login: 'Sign in', 'admin-pgp': 'PGP', mailbox: 'Mailbox', compose: 'Compose', article: 'Article' };

  function activate(name, r) {
    var previous = state.view;
    if (previous && previous !== name && views[previous] && views[previous].leave) views[previous].leave();
    state.view = name;
    state.route = r;
    Array.prototype.forEach.call(document.querySelectorAll('.view'), function (el) {
      show(el, el.dataset.view === name);
    });
    show($('topbar'), !!state.user);
    Array.prototype.forEach.call(document.querySelectorAll('.mainnav a'), function (a) {
      var current = a.dataset.route === name || (name === 'article' && a.dataset.route === 'mailbox');
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    document.title = (TITLES[name] || 'pgpdesk') + ' · pgpdesk';
    showError($('global-error'), '');
    if (views[name] && views[name].enter) views[name].enter(r, previous !== name);
    if (previous && previous !== name) {
      var heading = document.querySelector('#view-' + name + ' .view-title');
      if (heading) heading.focus({ preventScroll: true });
      window.scrollTo(0, 0);
    }
  }

  /* ================================================================ session */

  function setUser(user) {
    state.user = user || null;
    var admin = isAdmin();
    show($('nav-admin-pgp'), admin);
    $('current-user').textContent = user ? user.login + (admin ? ' (admin)' : '') : '';
  }

  function sessionExpired() {
    if (!state.user) return;
    setUser(null);
    api.setCsrf('');
    state.wantedRoute = location.hash;
    showError($('login-error'), 'Your session has ended. Please sign in again.');
    navigate('#/login');
  }

  function afterSignIn() {
    return Promise.all([loadSettings(), loadGroups().catch(function () { return []; })]).then(function () {
      route();
    });
  }

  views.login = {
    enter: function () {
      setTimeout(function () { $('login-username').focus(); }, 0);
    }
  };

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var login = $('login-username').value.trim();
    var password = $('login-password').value;
    if (!login || !password) {
      showError($('login-error'), 'Enter your username and password.');
      return;
    }
    var button = $('login-submit');
    button.disabled = true;
    showError($('login-error'), '');
    api.post(API + '/signin', { login: login, password: password }, { quiet401: true }).then(function (res) {
      api.setCsrf(res && res.csrf_token);
      setUser(res && res.user ? res.user : res);
      $('login-password').value = '';
      return afterSignIn();
    }).catch(function (err) {
      showError($('login-error'), err.status === 401 && !(err.body && err.body.error_human) ? 'The username or password is wrong.' : err.message);
      $('login-password').select();
    }).then(function () { button.disabled = false; });
  });

  $('signout-button').addEventListener('click', function () {
    var done = function () {
      setUser(null);
      api.setCsrf('');
      state.groups = [];
      state.groupsLoaded = false;
      compose.reset();
      navigate('#/login');
    };
    api.post(API + '/signout', {}, { quiet401: true }).then(done, done);
  });

  /* ================================================================ shared: badges */

  /* What the UI says about a security result. The server's result only; never the content. */
  function securitySummary(sec) {
    var out = { signed: false, signProblem: null, encrypted: false, decryptProblem: null, error: null };
    if (!sec || typeof sec !== 'object') return out;
    var sign = sec.sign || {};
    var enc = sec.encryption || {};
    var sstatus = typeof sign.status === 'string' ? sign.status : (sign.success ? 'good' : 'none');
    var estatus = typeof enc.status === 'string' ? enc.status : (enc.success ? 'decrypted' : 'none');
    if (sstatus === 'good') out.signed = true;
    else if (sstatus !== 'none') out.signProblem = sign.comment || statusLabel(sstatus);
    if (estatus === 'decrypted') out.encrypted = true;
    else if (estatus !== 'none') out.decryptProblem = enc.comment || statusLabel(estatus);
    if (sec.error) out.error = String(sec.error);
    return out;
  }

  function statusLabel(status) {
    return String(status || '').replace(/_/g, ' ').replace(/^./, function (c) { return c.toUpperCase(); });
  }

  function badges(sec, outgoing) {
    var s = securitySummary(sec);
    var list = [];
    if (s.signed) {
      list.push(h('span', { class: 'badge badge-ok', 'data-testid': 'badge-signed',
        title: outgoing ? 'Signed with the group\'s PGP key' : (sec.sign && sec.sign.comment) || 'Good signature' },
      icon('check'), 'Signed'));
    }
    if (s.signProblem) {
      list.push(h('span', { class: 'badge badge-warn', 'data-testid': 'badge-sign-problem', title: s.signProblem },
        icon('warn'), 'Signature problem'));
    }
    if (s.encrypted) {
      list.push(h('span', { class: 'badge badge-enc', 'data-testid': 'badge-encrypted',
        title: outgoing ? 'Encrypted' : 'Decrypted: the message was encrypted' }, icon('lock'), 'Encrypted'));
    }
    if (s.decryptProblem) {
      list.push(h('span', { class: 'badge badge-bad', 'data-testid': 'badge-decrypt-problem', title: s.decryptProblem },
        icon('warn'), 'Decryption problem'));
    }
    if (s.error) {
      list.push(h('span', { class: 'badge badge-bad', 'data-testid': 'badge-error', title: s.error },
        icon('warn'), 'Not processed'));
    }
    return list;
  }

  /* ================================================================ admin: PGP */

  var admin = {
    keys: [],
    logs: [],
    logsKey: '',
    logTimer: null,
    logBusy: false
  };

  views['admin-pgp'] = {
    enter: function () {
      var allowed = isAdmin();
      show($('admin-forbidden'), !allowed);
      show($('admin-content'), allowed);
      if (!allowed) return;
      renderIntegration();
      loadSettings().then(renderIntegration);
      loadKeys();
      loadGroups().then(renderGroupDefaults, function (err) { showError($('global-error'), err.message); });
      refreshLogs();
      clearInterval(admin.logTimer);
      admin.logTimer = setInterval(function () {
        if (!document.hidden) refreshLogs();
      }, LOG_REFRESH_MS);
    },
    leave: function () {
      clearInterval(admin.logTimer);
      admin.logTimer = null;
    }
  };

  function renderIntegration() {
    var sw = $('pgp-integration-switch');
    sw.checked = state.integration !== false;
    sw.disabled = state.integration === null;
    $('pgp-integration-state').textContent = state.integration === false ? 'Off' : 'On';
  }

  $('pgp-integration-switch').addEventListener('change', function () {
    var sw = $('pgp-integration-switch');
    var wanted = sw.checked;
    sw.disabled = true;
    api.put(API + '/settings', { pgp_integration: wanted }).then(function (s) {
      state.integration = s && typeof s.pgp_integration === 'boolean' ? s.pgp_integration : wanted;
      toast(state.integration ? 'The PGP integration is on.' : 'The PGP integration is off.', 'success');
    }).catch(function (err) {
      toast(err.message, 'error');
    }).then(function () {
      sw.disabled = false;
      renderIntegration();
    });
  });

  function loadKeys() {
    return api.get(API + '/integration/pgp/key').then(function (keys) {
      admin.keys = Array.isArray(keys) ? keys : [];
      renderKeys();
    }).catch(function (err) {
      if (err.status !== 401) showError($('global-error'), 'The keys could not be loaded: ' + err.message);
    });
  }

  function keyDownloadLink(key, secret) {
    var fpr = key.fingerprint;
    var href = API + '/integration/pgp/key_download/' + encodeURIComponent(key.id) + (secret ? '?secret=true' : '');
    var who = key.name || (key.email_addresses || [])[0] || groupFingerprint(fpr);
    return h('a', {
      class: 'btn btn-small' + (secret ? ' btn-caution' : ''),
      href: href,
      download: fpr + (secret ? '.asc' : '.pub.asc'),
      'data-testid': secret ? 'key-download-secret' : 'key-download-public',
      'aria-label': (secret ? 'Download the private key of ' : 'Download the public key of ') + who,
      title: secret ? 'Download the private key (still protected by its passphrase)' : 'Download the public key'
    }, secret ? 'Private key' : 'Public key');
  }

  /* The fingerprint in groups of four, five groups a line; its text is the grouped form. */
  function fingerprintEl(fpr) {
    var grouped = groupFingerprint(fpr).split('  ');
    return h('code', { class: 'fingerprint', 'data-testid': 'key-fingerprint', title: fpr },
      grouped.map(function (half) { return h('span', { class: 'fpr-line', text: half }); }));
  }

  function renderKeys() {
    var body = clear($('pgp-keys-body'));
    show($('pgp-keys-empty'), admin.keys.length === 0);
    show($('pgp-keys-table'), admin.keys.length > 0);
    admin.keys.forEach(function (key) {
      var emails = Array.isArray(key.email_addresses) ? key.email_addresses : [];
      var who = key.name || emails[0] || groupFingerprint(key.fingerprint);
      var flags = [];
      if (key.revoked) flags.push(h('span', { class: 'badge badge-bad', 'data-testid': 'key-revoked' }, 'Revoked'));
      var algo = [key.algorithm, key.bits ? key.bits + ' bit' : ''].filter(Boolean).join(' ');
      var caps = [key.can_sign ? 'sign' : null, key.can_encrypt ? 'encrypt' : null].filter(Boolean);
      var row = h('tr', {
        class: (key.expired ? 'is-expired' : '') + (key.revoked ? ' is-revoked' : ''),
        'data-testid': 'key-row',
        dataset: { fingerprint: key.fingerprint, keyId: String(key.id) }
      },
      h('td', { class: 'key-name' },
        h('div', { class: 'strong', 'data-testid': 'key-name', title: key.name || '',
          text: splitUserId(key.name).name || splitUserId(key.name).email || '(no user ID)' }),
        h('div', { class: 'muted small' }, algo + (caps.length ? ' · can ' + caps.join(' and ') : ' · cannot be used')),
        flags),
      h('td', { 'data-testid': 'key-emails' },
        emails.length ? h('ul', { class: 'plain-list' }, emails.map(function (e) { return h('li', { text: e }); }))
          : h('span', { class: 'muted', text: '—' })),
      h('td', {}, fingerprintEl(key.fingerprint)),
      h('td', { class: 'nowrap' }, key.created_at ? h('time', { datetime: key.created_at, title: key.created_at, text: formatDate(key.created_at) }) : '—'),
      h('td', { class: 'nowrap', 'data-testid': 'key-expires' },
        key.expires_at ? h('time', { datetime: key.expires_at, title: key.expires_at, text: formatDate(key.expires_at) })
          : h('span', { class: 'muted', text: 'never' }),
        key.expired ? h('span', { class: 'badge badge-bad badge-block', 'data-testid': 'key-expired' }, icon('warn'), 'Expired') : null),
      h('td', { 'data-testid': 'key-secret' },
        key.secret ? h('span', { class: 'badge badge-key' }, icon('key'), 'Yes') : h('span', { class: 'muted', text: 'No' })),
      h('td', { 'data-testid': 'key-domain-alias' }, key.domain_alias ? h('code', { text: key.domain_alias }) : h('span', { class: 'muted', text: '—' })),
      h('td', { class: 'col-actions' },
        h('div', { class: 'actions-stack' },
          keyDownloadLink(key, false),
          key.secret ? keyDownloadLink(key, true) : null,
          h('button', {
            type: 'button', class: 'btn btn-small btn-danger-ghost', 'data-testid': 'key-delete',
            'aria-label': 'Delete the key of ' + who,
            on: { click: function () { deleteKey(key); } }
          }, 'Delete'))));
      body.appendChild(row);
    });
  }

  function deleteKey(key) {
    var who = key.name || (key.email_addresses || [])[0] || '';
    confirmDialog('Delete this key?',
      'The key ' + (who ? 'of ' + who + ' ' : '') + '(' + groupFingerprint(key.fingerprint) + ')' +
      (key.secret ? ', including its private key,' : '') + ' will be removed from the key store. This cannot be undone.',
      'Delete').then(function (ok) {
      if (!ok) return;
      api.del(API + '/integration/pgp/key/' + encodeURIComponent(key.id)).then(function () {
        toast('The key was deleted.', 'success');
        return loadKeys();
      }).catch(function (err) { toast(err.message, 'error'); });
    });
  }

  /* ---------------------------------------------------------------- the Add Key dialog */

  function keySource() { return $('key-source-paste').checked ? 'paste' : 'upload'; }

  function syncKeySource() {
    var paste = keySource() === 'paste';
    show($('key-paste-field'), paste);
    show($('key-upload-field'), !paste);
  }

  $('key-source-upload').addEventListener('change', syncKeySource);
  $('key-source-paste').addEventListener('change', syncKeySource);

  $('key-add-button').addEventListener('click', function () {
    $('key-add-form').reset();
    syncKeySource();
    showError($('key-add-error'), '');
    openDialog($('key-add-dialog'));
    $('key-source-upload').focus();
  });

  $('key-add-cancel').addEventListener('click', function () { $('key-add-dialog').close(); });

  $('key-add-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = new FormData();
    if (keySource() === 'paste') {
      var text = $('key-paste').value;
      if (!text.trim()) { showError($('key-add-error'), 'Paste a key first.'); $('key-paste').focus(); return; }
      form.append('private_key', text);
    } else {
      var file = $('key-file').files[0];
      if (!file) { showError($('key-add-error'), 'Choose a key file first.'); $('key-file').focus(); return; }
      form.append('file', file, file.name);
    }
    var pass = $('key-passphrase').value;
    if (pass) form.append('passphrase', pass);
    var alias = $('key-domain-alias').value.trim();
    if (alias) form.append('domain_alias', alias);
    var button = $('key-add-submit');
    button.disabled = true;
    showError($('key-add-error'), '');
    api.request('POST', API + '/integration/pgp/key', { form: form }).then(function (res) {
      $('key-add-dialog').close();
      var items = Array.isArray(res) ? res : res && Array.isArray(res.keys) ? res.keys : res ? [res] : [];
      var warnings = [];
      items.forEach(function (it) { if (it && Array.isArray(it.warnings)) warnings = warnings.concat(it.warnings); });
      toast(items.length > 1 ? items.length + ' keys were added.' : 'The key was added.', 'success');
      warnings.forEach(function (w) { toast(w, 'warning'); });
      return loadKeys();
    }).catch(function (err) {
      showError($('key-add-error'), err.message);
    }).then(function () { button.disabled = false; });
  });

  /* ---------------------------------------------------------------- Default Behavior */

  function renderGroupDefaults() {
    var body = clear($('pgp-groups-body'));
    show($('pgp-groups-empty'), state.groups.length === 0);
    show($('pgp-groups-table'), state.groups.length > 0);
    state.groups.forEach(function (g) {
      body.appendChild(h('tr', { 'data-testid': 'group-row', dataset: { groupId: String(g.id), groupName: g.name } },
        h('th', { scope: 'row', text: g.name }),
        h('td', {}, g.email ? h('span', { text: g.email }) : h('span', { class: 'muted', text: 'none — cannot send' })),
        h('td', {}, defaultSwitch(g, 'sign_default', 'Sign')),
        h('td', {}, defaultSwitch(g, 'encrypt_default', 'Encrypt')),
        h('td', {}, policySelect(g))));
    });
  }

  function defaultSwitch(g, field, label) {
    var id = 'group-' + g.id + '-' + field;
    var input = h('input', {
      type: 'checkbox', role: 'switch', id: id, 'data-testid': 'group-' + field.replace('_default', '') + '-default',
      checked: g[field] !== false,
      on: { change: function () { saveGroup(g, field, input.checked, input); } }
    });
    return h('label', { class: 'switch switch-small', for: id },
      input,
      h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
      h('span', { class: 'sr-only', text: label + ' mail from ' + g.name + ' by default' }),
      h('span', { class: 'switch-label', text: g[field] === null || g[field] === undefined ? 'On (default)' : (g[field] ? 'On' : 'Off') }));
  }

  function policySelect(g) {
    var sel = h('select', {
      'data-testid': 'group-policy', 'aria-label': 'Policy of ' + g.name,
      on: { change: function () { saveGroup(g, 'policy', sel.value, sel); } }
    },
    h('option', { value: 'optional', text: 'Optional', selected: g.policy !== 'required' }),
    h('option', { value: 'required', text: 'Required: sign and encrypt', selected: g.policy === 'required' }));
    return sel;
  }

  function saveGroup(g, field, value, control) {
    var updated = Object.assign({}, g);
    updated[field] = value;
    control.disabled = true;
    api.put(API + '/groups/' + encodeURIComponent(g.id), updated).then(function (res) {
      var saved = res && typeof res === 'object' && res.id !== undefined ? res : updated;
      for (var i = 0; i < state.groups.length; i++) if (state.groups[i].id === g.id) state.groups[i] = saved;
      toast('Saved the default behavior of ' + g.name + '.', 'success');
    }).catch(function (err) {
      toast(err.message, 'error');
    }).then(function () {
      renderGroupDefaults();
      var again = document.querySelector('[data-group-id="' + String(g.id) + '"] [data-testid="' +
        (field === 'policy' ? 'group-policy' : 'group-' + field.replace('_default', '') + '-default') + '"]');
      if (again) again.focus();
    });
  }

  /* ---------------------------------------------------------------- Recent Logs */

  function refreshLogs() {
    if (admin.logBusy || state.view !== 'admin-pgp') return;
    admin.logBusy = true;
    api.get(API + '/http_logs/PGP?limit=50').then(function (logs) {
      logs = Array.isArray(logs) ? logs.slice(0, 50) : [];
      var key = JSON.stringify(logs.map(function (l) { return [l.id, l.status]; }));
      admin.logs = logs;
      if (key !== admin.logsKey) {
        admin.logsKey = key;
        renderLogs();
      }
      $('logs-updated').textContent = 'Updated ' + formatTime(new Date().toISOString(), true).slice(11);
    }).catch(function (err) {
      if (err.status !== 401) $('logs-updated').textContent = 'Could not refresh: ' + err.message;
    }).then(function () { admin.logBusy = false; });
  }

  function renderLogs() {
    var body = $('pgp-logs-body');
    var focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.logId : null;
    clear(body);
    show($('pgp-logs-empty'), admin.logs.length === 0);
    show($('pgp-logs-table'), admin.logs.length > 0);
    admin.logs.forEach(function (entry) {
      var ok = entry.status === 'success';
      var row = h('tr', {
        class: 'clickable', tabindex: '0', 'data-testid': 'log-row',
        'aria-label': 'Log entry ' + entry.id + ': ' + (entry.direction || '') + ' ' + (entry.method || '') + ' ' + (entry.status || '') + '. Show details',
        dataset: { logId: String(entry.id) },
        on: {
          click: function () { openLog(entry); },
          keydown: function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); openLog(entry); } }
        }
      },
      h('td', { class: 'nowrap' }, timeEl(entry.created_at, true)),
      h('td', {}, entry.direction === 'in' ? 'Incoming' : entry.direction === 'out' ? 'Outgoing' : entry.direction || ''),
      h('td', {}, entry.method === 'encryption' ? 'Encryption' : entry.method === 'sign' ? 'Signature' : entry.method || ''),
      h('td', {}, h('span', { class: 'badge ' + (ok ? 'badge-ok' : 'badge-bad'), 'data-testid': 'log-status' },
        icon(ok ? 'check' : 'warn'), ok ? 'Success' : statusLabel(entry.status || 'failed'))),
      h('td', { class: 'wrap-anywhere', text: entry.from_to || '' }),
      h('td', { class: 'wrap-anywhere small mono', text: entry.message_id || '' }));
      body.appendChild(row);
    });
    if (focusedId) {
      var again = body.querySelector('[data-log-id="' + focusedId + '"]');
      if (again) again.focus();
    }
  }

  function openLog(entry) {
    var meta = clear($('log-dialog-meta'));
    [['Time', timeEl(entry.created_at, true)], ['Direction', entry.direction], ['Operation', entry.method],
      ['Status', entry.status], ['From → To', entry.from_to], ['Message-ID', entry.message_id]].forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') return;
      meta.appendChild(h('dt', { text: p[0] }));
      meta.appendChild(h('dd', {}, p[1]));
    });
    $('log-dialog-detail').textContent = JSON.stringify(entry.detail === undefined ? null : entry.detail, null, 2);
    openDialog($('log-dialog'));
    $('log-dialog-close').focus();
  }

  $('log-dialog-close').addEventListener('click', function () { $('log-dialog').close(); });

  /* ================================================================ dialogs */

  var lastFocus = null;

  function openDialog(dlg) {
    lastFocus = document.activeElement;
    if (!dlg.open) dlg.showModal();
  }

  Array.prototype.forEach.call(document.querySelectorAll('dialog'), function (dlg) {
    dlg.addEventListener('close', function () {
      if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
    });
    /* a click on the backdrop closes the dialog */
    dlg.addEventListener('mousedown', function (ev) {
      if (ev.target !== dlg) return;
      var r = dlg.getBoundingClientRect();
      if (ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom) dlg.close();
    });
  });

  var confirmResolve = null;

  function confirmDialog(title, message, okLabel) {
    $('confirm-title').textContent = title;
    $('confirm-message').textContent = message;
    $('confirm-ok').textContent = okLabel || 'OK';
    if (confirmResolve) confirmResolve(false);
    return new Promise(function (resolve) {
      confirmResolve = resolve;
      openDialog($('confirm-dialog'));
      $('confirm-cancel').focus();
    });
  }

  function finishConfirm(result) {
    var resolve = confirmResolve;
    confirmResolve = null;
    if ($('confirm-dialog').open) $('confirm-dialog').close();
    if (resolve) resolve(result);
  }

  $('confirm-ok').addEventListener('click', function () { finishConfirm(true); });
  $('confirm-cancel').addEventListener('click', function () { finishConfirm(false); });
  $('confirm-dialog').addEventListener('close', function () { finishConfirm(false); });

  /* ================================================================ mailbox */

  var mailbox = { groupId: '', offset: 0, articles: [], seq: 0 };

  function fillGroupSelect(sel, includeAll, selected) {
    clear(sel);
    if (includeAll) sel.appendChild(h('option', { value: '', text: 'All groups' }));
    state.groups.forEach(function (g) {
      sel.appendChild(h('option', { value: String(g.id), text: groupLabel(g) }));
    });
    if (selected !== undefined && selected !== null) sel.value = String(selected);
    if (sel.selectedIndex < 0 && sel.options.length) sel.selectedIndex = 0;
  }

  views.mailbox = {
    enter: function (r) {
      if (r.query.group !== undefined) mailbox.groupId = r.query.group;
      var load = state.groupsLoaded ? Promise.resolve() : loadGroups();
      load.catch(function () {}).then(function () {
        fillGroupSelect($('mailbox-group'), true, mailbox.groupId);
        loadArticles();
      });
    }
  };

  $('mailbox-group').addEventListener('change', function () {
    mailbox.groupId = $('mailbox-group').value;
    mailbox.offset = 0;
    loadArticles();
  });
  $('mailbox-refresh').addEventListener('click', function () { loadArticles(); });
  $('mailbox-newer').addEventListener('click', function () {
    mailbox.offset = Math.max(0, mailbox.offset - PAGE_SIZE);
    loadArticles();
  });
  $('mailbox-older').addEventListener('click', function () {
    mailbox.offset += PAGE_SIZE;
    loadArticles();
  });

  function loadArticles() {
    var seq = ++mailbox.seq;
    var q = '?limit=' + (PAGE_SIZE + 1) + '&offset=' + mailbox.offset +
      (mailbox.groupId ? '&group_id=' + encodeURIComponent(mailbox.groupId) : '');
    $('article-list').setAttribute('aria-busy', 'true');
    api.get(API + '/articles' + q).then(function (list) {
      if (seq !== mailbox.seq) return;
      list = Array.isArray(list) ? list : list && Array.isArray(list.articles) ? list.articles : [];
      var more = list.length > PAGE_SIZE;
      mailbox.articles = list.slice(0, PAGE_SIZE);
      renderArticles(more);
    }).catch(function (err) {
      if (seq === mailbox.seq && err.status !== 401) showError($('global-error'), 'The mail could not be loaded: ' + err.message);
    }).then(function () { $('article-list').removeAttribute('aria-busy'); });
  }

  function renderArticles(more) {
    var body = clear($('article-list-body'));
    var list = mailbox.articles;
    show($('article-list-empty'), list.length === 0);
    list.forEach(function (a) {
      var href = '#/article/' + encodeURIComponent(a.id);
      var outgoing = a.direction === 'out';
      body.appendChild(h('tr', {
        class: 'clickable', 'data-testid': 'article-row', dataset: { articleId: String(a.id), direction: a.direction || '' },
        on: { click: function (ev) { if (!ev.target.closest('a')) navigate(href); } }
      },
      h('td', { class: 'col-dir' }, h('span', { class: 'dir dir-' + (outgoing ? 'out' : 'in'), title: outgoing ? 'Outgoing' : 'Incoming' },
        icon(outgoing ? 'send' : 'inbox'), h('span', { class: 'sr-only', text: outgoing ? 'Outgoing' : 'Incoming' }))),
      h('td', { class: 'subject' }, h('a', { href: href, 'data-testid': 'article-link', text: a.subject || '(no subject)' })),
      h('td', { class: 'wrap-anywhere', text: a.from || '' }),
      h('td', { class: 'wrap-anywhere', text: [a.to, a.cc].filter(Boolean).join(', ') }),
      h('td', {}, h('div', { class: 'badges' }, badges(a.security, outgoing))),
      h('td', { class: 'nowrap col-date' }, timeEl(a.created_at))));
    });
    $('mailbox-newer').disabled = mailbox.offset === 0;
    $('mailbox-older').disabled = !more;
    $('mailbox-page').textContent = list.length ? (mailbox.offset + 1) + '–' + (mailbox.offset + list.length) : '';
  }

  /* ================================================================ article view */

  var articleView = { id: null, article: null, seq: 0 };

  views.article = {
    enter: function (r) { loadArticle(r.id); }
  };

  function loadArticle(id) {
    var seq = ++articleView.seq;
    articleView.id = id;
    articleView.article = null;
    $('article-subject').textContent = 'Loading…';
    clear($('article-badges'));
    clear($('article-meta'));
    clear($('article-security'));
    $('article-body').textContent = '';
    show($('article-html-wrap'), false);
    removeHtmlFrame();
    show($('article-attachments'), false);
    $('article-raw').href = API + '/articles/' + encodeURIComponent(id) + '/raw';
    $('article-raw').setAttribute('download', 'article-' + id + '.eml');
    api.get(API + '/articles/' + encodeURIComponent(id)).then(function (a) {
      if (seq !== articleView.seq) return;
      a = a && a.article ? a.article : a;
      articleView.article = a;
      renderArticle(a);
      return loadBody(id, seq);
    }).catch(function (err) {
      if (seq !== articleView.seq || err.status === 401) return;
      $('article-subject').textContent = err.status === 404 ? 'This article does not exist.' : 'The article could not be loaded.';
      showError($('global-error'), err.message);
    });
  }

  function renderArticle(a) {
    var outgoing = a.direction === 'out';
    $('article-subject').textContent = a.subject || '(no subject)';
    append(clear($('article-badges')), badges(a.security, outgoing));
    var meta = clear($('article-meta'));
    [['From', a.from], ['To', a.to], ['Cc', a.cc], ['Date', a.created_at ? timeEl(a.created_at, true) : null],
      ['Direction', outgoing ? 'Outgoing' : 'Incoming'], ['Message-ID', a.message_id]].forEach(function (p) {
      if (!p[1]) return;
      meta.appendChild(h('dt', { text: p[0] }));
      meta.appendChild(h('dd', { class: p[0] === 'Message-ID' ? 'mono small wrap-anywhere' : 'wrap-anywhere' }, p[1]));
    });
    renderSecurity(a.security, outgoing);
    show($('article-retry'), !outgoing);
    $('article-reply').href = '#/compose?reply=' + encodeURIComponent(a.id);
  }

  var SIGN_FIELDS = [['signer_uid', 'Signer'], ['signer_fingerprint', 'Signer key'], ['signed_at', 'Signed at'], ['hash', 'Hash algorithm']];
  var ENC_FIELDS = [['key_fingerprint', 'Decryption key'], ['key_fingerprints', 'Encrypted to'], ['cipher', 'Cipher'], ['protection', 'Integrity protection']];

  function renderSecurity(sec, outgoing) {
    var box = clear($('article-security'));
    if (!sec || typeof sec !== 'object') {
      box.appendChild(h('p', { class: 'muted', 'data-testid': 'security-none', text: 'This article has no PGP processing result.' }));
      return;
    }
    var s = securitySummary(sec);
    box.appendChild(securityLayer('Signature', 'sign', sec.sign || {}, s.signed, s.signProblem, SIGN_FIELDS, outgoing));
    box.appendChild(securityLayer('Encryption', 'encryption', sec.encryption || {}, s.encrypted, s.decryptProblem, ENC_FIELDS, outgoing));
    if (sec.error) {
      box.appendChild(h('div', { class: 'sec-layer sec-bad sec-wide', 'data-testid': 'security-error' },
        h('h3', {}, icon('warn'), 'Processing failed'), h('p', { text: String(sec.error) })));
    }
    if (Array.isArray(sec.attachments) && sec.attachments.length) {
      box.appendChild(h('div', { class: 'sec-layer sec-wide', 'data-testid': 'security-attachments' },
        h('h3', { text: 'Encrypted attachments' }),
        h('ul', { class: 'plain-list' }, sec.attachments.map(function (att) {
          return h('li', {}, [att.filename, att.saved_as ? '→ ' + att.saved_as : null, att.status ? '(' + statusLabel(att.status) + ')' : null]
            .filter(Boolean).join(' '));
        }))));
    }
  }

  function securityLayer(title, name, layer, good, problem, fields, outgoing) {
    var status = typeof layer.status === 'string' ? layer.status : (layer.success ? (name === 'sign' ? 'good' : 'decrypted') : 'none');
    var cls = good ? 'sec-ok' : problem ? (name === 'sign' ? 'sec-warn' : 'sec-bad') : 'sec-none';
    var headline;
    if (name === 'sign') headline = good ? (outgoing ? 'signed' : 'good signature') : status === 'none' ? 'not signed' : statusLabel(status).toLowerCase();
    else headline = good ? (outgoing ? 'encrypted' : 'decrypted') : status === 'none' ? 'not encrypted' : statusLabel(status).toLowerCase();
    var dl = h('dl', { class: 'meta meta-compact' });
    fields.forEach(function (f) {
      var v = layer[f[0]];
      if (v === null || v === undefined || v === '') return;
      if (Array.isArray(v)) v = v.map(function (x) { return /^[0-9A-F]{40}$/.test(x) ? groupFingerprint(x) : x; }).join(', ');
      else if (/fingerprint/.test(f[0])) v = groupFingerprint(v);
      else if (f[0] === 'signed_at') v = timeEl(v, true);
      dl.appendChild(h('dt', { text: f[1] }));
      dl.appendChild(h('dd', { class: /fingerprint/.test(f[0]) ? 'mono small' : '' }, v));
    });
    var hasStatus = typeof layer.status === 'string';
    var comment = layer.comment && String(layer.comment).toLowerCase() !== headline ? String(layer.comment) : '';
    if (!comment && outgoing && !hasStatus) {
      if (name === 'sign') comment = good ? 'Signed with the sender\'s key before it was sent.' : 'Sent without a signature.';
      else comment = good ? 'Encrypted to the recipients\' keys and the sender\'s own before it was sent.' : 'Sent unencrypted.';
    }
    return h('div', { class: 'sec-layer ' + cls, 'data-testid': 'security-' + name, dataset: { status: status } },
      h('h3', {}, icon(good ? (name === 'sign' ? 'check' : 'lock') : problem ? 'warn' : 'minus'), title + ': ' + headline),
      comment ? h('p', { 'data-testid': 'security-' + name + '-comment', text: comment }) : null,
      dl.childNodes.length ? dl : null,
      hasStatus ? h('p', { class: 'muted small' }, 'Status: ', h('code', { text: status })) : null);
  }

  /* The processed view (decrypted, unwrapped); an article without one is shown from its raw
   * message, which then is the view. */
  function fetchMessage(id) {
    var base = API + '/articles/' + encodeURIComponent(id);
    return api.get(base + '/mime', { as: 'arrayBuffer' }).catch(function (err) {
      if (err.status !== 404) throw err;
      return api.get(base + '/raw', { as: 'arrayBuffer' });
    });
  }

  function loadBody(id, seq) {
    return fetchMessage(id).then(function (buf) {
      if (seq !== articleView.seq) return;
      var content;
      try {
        content = window.PgpdeskMime.extract(window.PgpdeskMime.parse(new Uint8Array(buf)));
      } catch (e) {
        content = { text: new TextDecoder('utf-8').decode(new Uint8Array(buf)), html: null, attachments: [], notes: [] };
      }
      articleView.text = content.text;
      renderBody(content);
    }).catch(function (err) {
      if (seq !== articleView.seq || err.status === 401) return;
      $('article-body').textContent = '';
      $('article-body').appendChild(h('span', { class: 'muted', text: 'The message text could not be loaded: ' + err.message }));
    });
  }

  function removeHtmlFrame() {
    var old = $('article-html');
    if (old) old.parentNode.removeChild(old);
  }

  function renderBody(content) {
    var pre = $('article-body');
    var notes = (content.notes || []).join(' ');
    if (content.text !== null && content.text !== undefined) {
      pre.textContent = content.text;
    } else if (!content.html) {
      pre.textContent = '';
      pre.appendChild(h('span', { class: 'muted', text: notes || 'This message has no text.' }));
    } else {
      pre.textContent = '';
    }
    show(pre, content.text !== null || !content.html);
    if (content.html && content.text === null) {
      /* HTML only: a sandbox without scripts or same-origin, and a policy that loads nothing.
       * A new frame each time, filled once it is visible: Chromium does not lay out a
       * sandboxed frame that was navigated while hidden. */
      show($('article-html-wrap'), true);
      removeHtmlFrame();
      var frame = h('iframe', {
        id: 'article-html', 'data-testid': 'article-html', title: 'Message content (HTML)',
        sandbox: '', referrerpolicy: 'no-referrer'
      });
      $('article-html-wrap').appendChild(frame);
      frame.srcdoc = '<!doctype html><html><head><meta charset="utf-8">' +
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'; font-src data:; form-action \'none\'">' +
        '<meta name="referrer" content="no-referrer"></head><body>' + content.html + '</body></html>';
    }
    var box = clear($('article-attachments'));
    show(box, content.attachments.length > 0);
    if (content.attachments.length) {
      box.appendChild(h('h3', { text: 'Attachments' }));
      box.appendChild(h('ul', { class: 'file-list' }, content.attachments.map(function (att) {
        var url = URL.createObjectURL(new Blob([att.bytes], { type: 'application/octet-stream' }));
        return h('li', {}, h('a', { href: url, download: att.filename, 'data-testid': 'article-attachment', text: att.filename }),
          h('span', { class: 'muted small', text: ' ' + att.contentType + ', ' + formatSize(att.size) }));
      })));
    }
  }

  $('article-retry').addEventListener('click', function () {
    var id = articleView.id;
    var button = $('article-retry');
    button.disabled = true;
    api.post(API + '/articles/' + encodeURIComponent(id) + '/retry', {}).then(function (res) {
      var a = res && res.article ? res.article : res;
      var improved = res && res.improved;
      toast(improved ? 'The result improved.' : 'The result is the same as before.', improved ? 'success' : 'info');
      if (a && a.id !== undefined) {
        articleView.article = a;
        renderArticle(a);
      }
      if (improved) return loadBody(id, articleView.seq);
    }).catch(function (err) { toast(err.message, 'error'); }).then(function () { button.disabled = false; });
  });

  /* ================================================================ compose */

  var compose = {
    attachments: [],          /* {file, filename, content_type} */
    options: null,            /* the last security options */
    active: { sign: false, encrypt: false },
    touched: { sign: false, encrypt: false },
    optionsSeq: 0,
    replyTo: null,            /* {id, message_id} */
    sending: false,

    reset: function () {
      $('compose-form').reset();
      compose.attachments = [];
      compose.options = null;
      compose.active = { sign: false, encrypt: false };
      compose.touched = { sign: false, encrypt: false };
      compose.replyTo = null;
      renderAttachments();
      showError($('compose-error'), '');
      $('compose-title').textContent = 'New email';
      renderSecurityButtons();
    }
  };

  views.compose = {
    enter: function (r) {
      showError($('compose-error'), '');
      var ready = Promise.all([
        state.groupsLoaded ? Promise.resolve() : loadGroups().catch(function () {}),
        loadSettings().catch(function () {})
      ]);
      ready.then(function () {
        var current = $('compose-group').value || (mailbox.groupId || '');
        fillGroupSelect($('compose-group'), false, current);
        updateGroupHint();
        if (r.query.reply && (!compose.replyTo || String(compose.replyTo.id) !== String(r.query.reply))) {
          return prefillReply(r.query.reply);
        }
      }).then(function () {
        renderSecurityButtons();
        refreshOptions.cancel();
        fetchOptions();
      });
    },
    leave: function () { refreshOptions.cancel(); }
  };

  function prefillReply(id) {
    compose.reset();
    return api.get(API + '/articles/' + encodeURIComponent(id)).then(function (a) {
      a = a && a.article ? a.article : a;
      compose.replyTo = { id: a.id, message_id: a.message_id };
      $('compose-title').textContent = 'Reply';
      $('compose-to').value = (a.direction === 'out' ? a.to : a.from) || '';
      var subject = a.subject || '';
      $('compose-subject').value = /^re:/i.test(subject) ? subject : 'Re: ' + subject;
      if (a.group_id) $('compose-group').value = String(a.group_id);
      else if (mailbox.groupId) $('compose-group').value = String(mailbox.groupId);
      updateGroupHint();
      return fetchMessage(id).then(function (buf) {
        var text = window.PgpdeskMime.extract(window.PgpdeskMime.parse(new Uint8Array(buf))).text;
        if (text) {
          $('compose-body').value = '\n\nOn ' + formatTime(a.created_at) + ', ' + (a.from || 'someone') + ' wrote:\n' +
            text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n').map(function (l) { return '> ' + l; }).join('\n') + '\n';
        }
      }).catch(function () {});
    }).catch(function (err) {
      showError($('compose-error'), 'The mail to reply to could not be loaded: ' + err.message);
    });
  }

  function updateGroupHint() {
    var g = groupById($('compose-group').value);
    var hint = $('compose-group-hint');
    if (!state.groups.length) hint.textContent = 'There are no groups yet: an administrator has to create one first.';
    else if (!g) hint.textContent = '';
    else if (!g.email) hint.textContent = 'This group has no sender address and cannot send mail.';
    else hint.textContent = 'Sent from ' + g.email + (g.policy === 'required' ? '. This group requires signed and encrypted mail.' : '.');
  }

  function optionFor(name) {
    var opts = compose.options;
    if (!opts) return null;
    return name === 'sign' ? opts.sign : opts.encryption;
  }

  function renderSecurityButtons() {
    var enabled = state.integration !== false;
    show($('compose-security'), enabled);
    var reasons = clear($('compose-security-reasons'));
    ['encrypt', 'sign'].forEach(function (name) {
      var button = $('compose-' + name);
      var opt = optionFor(name);
      var possible = !!(opt && opt.success);
      var reason = opt ? fillComment(opt.comment, opt.commentPlaceholders) : (compose.options === null ? 'Checking the keys…' : '');
      if (!possible) compose.active[name] = false;
      button.disabled = !enabled || !possible;
      button.setAttribute('aria-pressed', compose.active[name] && possible ? 'true' : 'false');
      button.classList.toggle('is-active', compose.active[name] && possible);
      if (reason) button.title = reason;
      else button.removeAttribute('title');
      button.dataset.possible = possible ? 'true' : 'false';
      if (reason && enabled) {
        reasons.appendChild(h('div', { class: 'reason ' + (possible ? 'reason-ok' : 'reason-no'), 'data-testid': 'compose-' + name + '-reason' },
          h('span', { class: 'reason-label', text: (name === 'sign' ? 'Sign' : 'Encrypt') + ': ' }), reason));
      }
    });
    var g = groupById($('compose-group').value);
    if (enabled && g && g.policy === 'required') {
      reasons.appendChild(h('div', { class: 'reason reason-policy', text: 'This group requires signed and encrypted mail.' }));
    }
  }

  function policyRequired() {
    var g = groupById($('compose-group').value);
    return !!(g && g.policy === 'required');
  }

  function applyOptions(opts) {
    compose.options = opts;
    var required = policyRequired();
    ['sign', 'encrypt'].forEach(function (name) {
      var opt = optionFor(name);
      var possible = !!(opt && opt.success);
      if (!possible) compose.active[name] = false;
      else if (required) compose.active[name] = true;
      else if (!compose.touched[name]) compose.active[name] = !!opt.active_by_default;
    });
    renderSecurityButtons();
  }

  function fetchOptions() {
    if (state.integration === false) { renderSecurityButtons(); return Promise.resolve(); }
    var seq = ++compose.optionsSeq;
    var groupId = parseInt($('compose-group').value, 10) || 0;
    var body = {
      ticket: { group_id: groupId },
      article: { to: $('compose-to').value.trim(), cc: $('compose-cc').value.trim() }
    };
    $('compose-security').setAttribute('aria-busy', 'true');
    return api.post(API + '/integration/pgp', body).then(function (opts) {
      if (seq !== compose.optionsSeq) return;
      applyOptions(opts && typeof opts === 'object' ? opts : null);
    }).catch(function (err) {
      if (seq !== compose.optionsSeq || err.status === 401) return;
      compose.options = {
        sign: { success: false, comment: 'The security options could not be checked: ' + err.message },
        encryption: { success: false, comment: 'The security options could not be checked: ' + err.message }
      };
      renderSecurityButtons();
    }).then(function () {
      if (seq === compose.optionsSeq) $('compose-security').removeAttribute('aria-busy');
    });
  }

  var refreshOptions = debounce(fetchOptions, OPTIONS_DEBOUNCE_MS);

  ['compose-to', 'compose-cc'].forEach(function (id) {
    $(id).addEventListener('input', function () { refreshOptions(); });
    $(id).addEventListener('change', function () { refreshOptions.cancel(); fetchOptions(); });
  });
  $('compose-group').addEventListener('change', function () {
    updateGroupHint();
    refreshOptions.cancel();
    fetchOptions();
  });
  $('compose-security-refresh').addEventListener('click', function () {
    refreshOptions.cancel();
    fetchOptions();
  });
  window.addEventListener('focus', function () {
    if (state.view === 'compose' && state.user) { refreshOptions.cancel(); fetchOptions(); }
  });

  ['sign', 'encrypt'].forEach(function (name) {
    $('compose-' + name).addEventListener('click', function () {
      var opt = optionFor(name);
      if (!opt || !opt.success) return;
      if (policyRequired() && compose.active[name]) {
        toast('This group only sends signed and encrypted mail.', 'warning');
        return;
      }
      compose.touched[name] = true;
      compose.active[name] = !compose.active[name];
      renderSecurityButtons();
    });
  });

  $('compose-attachments').addEventListener('change', function () {
    var input = $('compose-attachments');
    Array.prototype.forEach.call(input.files, function (file) {
      compose.attachments.push({ file: file, filename: file.name, content_type: file.type || 'application/octet-stream' });
    });
    input.value = '';
    renderAttachments();
  });

  function renderAttachments() {
    var list = clear($('compose-attachment-list'));
    compose.attachments.forEach(function (att, i) {
      list.appendChild(h('li', { 'data-testid': 'compose-attachment' },
        h('span', { text: att.filename }),
        h('span', { class: 'muted small', text: ' ' + formatSize(att.file.size) + ' ' }),
        h('button', {
          type: 'button', class: 'btn btn-small btn-ghost', 'aria-label': 'Remove ' + att.filename,
          on: { click: function () { compose.attachments.splice(i, 1); renderAttachments(); } }
        }, 'Remove')));
    });
  }

  function readBase64(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var s = String(reader.result || '');
        resolve(s.slice(s.indexOf(',') + 1));
      };
      reader.onerror = function () { reject(new Error('The file ' + file.name + ' could not be read.')); };
      reader.readAsDataURL(file);
    });
  }

  $('compose-discard').addEventListener('click', function () {
    var dirty = $('compose-to').value || $('compose-subject').value || $('compose-body').value || compose.attachments.length;
    var go = function () { compose.reset(); navigate('#/mailbox'); };
    if (!dirty) { go(); return; }
    confirmDialog('Discard this email?', 'What you wrote will be lost.', 'Discard').then(function (ok) { if (ok) go(); });
  });

  $('compose-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (compose.sending) return;
    var groupId = parseInt($('compose-group').value, 10);
    var to = $('compose-to').value.trim();
    var cc = $('compose-cc').value.trim();
    var bcc = $('compose-bcc').value.trim();
    if (!groupId) { showError($('compose-error'), 'Choose a group to send from.'); $('compose-group').focus(); return; }
    if (!to && !cc && !bcc) { showError($('compose-error'), 'Add at least one recipient.'); $('compose-to').focus(); return; }
    var integration = state.integration !== false;
    var payload = {
      group_id: groupId,
      to: to,
      cc: cc,
      bcc: bcc,
      subject: $('compose-subject').value,
      body: $('compose-body').value,
      attachments: [],
      sign: integration && compose.active.sign && !$('compose-sign').disabled,
      encrypt: integration && compose.active.encrypt && !$('compose-encrypt').disabled
    };
    if (compose.replyTo && compose.replyTo.message_id) payload.in_reply_to = compose.replyTo.message_id;
    compose.sending = true;
    var button = $('compose-send');
    button.disabled = true;
    button.textContent = 'Sending…';
    showError($('compose-error'), '');
    Promise.all(compose.attachments.map(function (att) {
      return readBase64(att.file).then(function (b64) {
        return { filename: att.filename, content_type: att.content_type, content_base64: b64 };
      });
    })).then(function (atts) {
      payload.attachments = atts;
      return api.post(API + '/send', payload);
    }).then(function (res) {
      var articles = res && Array.isArray(res.articles) ? res.articles : [];
      var copies = res && Array.isArray(res.copies) ? res.copies : [];
      var first = articles[0] || null;
      var id = first && first.id !== undefined ? first.id : copies[0] && copies[0].article_id;
      var note = payload.encrypt && payload.sign ? 'Signed, encrypted and sent.' : payload.encrypt ? 'Encrypted and sent.' : payload.sign ? 'Signed and sent.' : 'Sent.';
      toast(copies.length > 1 ? note + ' (' + copies.length + ' copies)' : note, 'success');
      compose.reset();
      navigate(id !== undefined && id !== null ? '#/article/' + id : '#/mailbox');
    }).catch(function (err) {
      showError($('compose-error'), err.message);
      if (err.status === 422) { refreshOptions.cancel(); fetchOptions(); }
    }).then(function () {
      compose.sending = false;
      button.disabled = false;
      button.textContent = 'Send';
    });
  });

  /* ================================================================ start */

  window.addEventListener('hashchange', route);

  function start() {
    api.get(API + '/me', { quiet401: true }).then(function (res) {
      if (res && res.csrf_token) api.setCsrf(res.csrf_token);
      setUser(res && res.user ? res.user : res);
      return afterSignIn();
    }).catch(function (err) {
      setUser(null);
      if (err.status !== 401) showError($('login-error'), err.message);
      route();
    });
  }

  start();
})();
