/* mime.js - a small, defensive MIME reader for the article view.
 *
 * It turns the bytes of /api/v1/articles/:id/mime (the processed view: an RFC 5322 message,
 * decrypted and unwrapped by the server) into the text to show and a list of attachments.
 * It never produces HTML from message content: callers put text into textContent, and HTML
 * parts only into a sandboxed iframe.
 *
 * Exposes window.PgpdeskMime = { parse(bytes) -> entity, extract(entity) -> {text, html,
 * attachments}, decodeWords(string) }.
 */
(function () {
  'use strict';

  var MAX_DEPTH = 20;
  var MAX_PARTS = 1000;

  /* Bytes <-> "binary strings" (one char per byte), so that structure can be parsed with
   * string functions and bodies decoded with their own charset afterwards. */
  function bytesToBinary(u8) {
    var s = '';
    for (var i = 0; i < u8.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, u8.subarray(i, Math.min(i + 0x8000, u8.length)));
    }
    return s;
  }

  function binaryToBytes(s) {
    var u8 = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i) & 0xff;
    return u8;
  }

  function decodeText(bytes, charset) {
    var label = (charset || 'utf-8').trim().toLowerCase();
    if (label === 'us-ascii' || label === 'ascii' || label === '') label = 'utf-8';
    try {
      return new TextDecoder(label, { fatal: false }).decode(bytes);
    } catch (e) {
      return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    }
  }

  /* Splits an entity into its header block and body at the first empty line. */
  function splitEntity(s) {
    if (/^\r?\n/.test(s)) return { head: '', body: s.replace(/^\r?\n/, '') };
    var m = /\r?\n\r?\n/.exec(s);
    if (!m) return { head: s, body: '' };
    return { head: s.slice(0, m.index), body: s.slice(m.index + m[0].length) };
  }

  function parseHeaders(head) {
    var unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
    var list = [];
    unfolded.split(/\r?\n/).forEach(function (line) {
      var i = line.indexOf(':');
      if (i <= 0) return;
      list.push({ name: line.slice(0, i).trim().toLowerCase(), value: line.slice(i + 1).trim() });
    });
    return list;
  }

  function header(list, name) {
    for (var i = 0; i < list.length; i++) if (list[i].name === name) return list[i].value;
    return null;
  }

  /* RFC 2047 encoded words: =?charset?B|Q?text?= */
  function decodeWords(value) {
    if (!value || value.indexOf('=?') < 0) return value;
    return value
      .replace(/(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)/g, '$1')
      .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, function (all, charset, enc, text) {
        try {
          var bin;
          if (enc.toUpperCase() === 'B') {
            bin = atob(text.replace(/[^A-Za-z0-9+/=]/g, ''));
          } else {
            bin = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, function (m, hex) {
              return String.fromCharCode(parseInt(hex, 16));
            });
          }
          return decodeText(binaryToBytes(bin), charset.replace(/\*.*$/, ''));
        } catch (e) {
          return all;
        }
      });
  }

  /* "text/plain; charset=utf-8; name*=utf-8''f%C3%BC.txt" -> {value, params} (RFC 2045 and 2231). */
  function parseParams(raw) {
    var result = { value: '', params: {} };
    if (!raw) return result;
    var i = 0;
    var n = raw.length;
    var semi = raw.indexOf(';');
    result.value = (semi < 0 ? raw : raw.slice(0, semi)).trim().toLowerCase();
    if (semi < 0) return result;
    i = semi + 1;
    var parts = {};
    while (i < n) {
      while (i < n && /[\s;]/.test(raw[i])) i++;
      var eq = raw.indexOf('=', i);
      if (eq < 0) break;
      var name = raw.slice(i, eq).trim().toLowerCase();
      i = eq + 1;
      while (i < n && /\s/.test(raw[i])) i++;
      var val = '';
      if (raw[i] === '"') {
        i++;
        while (i < n && raw[i] !== '"') {
          if (raw[i] === '\\' && i + 1 < n) i++;
          val += raw[i++];
        }
        i++;
      } else {
        var end = raw.indexOf(';', i);
        if (end < 0) end = n;
        val = raw.slice(i, end).trim();
        i = end;
      }
      parts[name] = val;
    }
    /* RFC 2231 continuations and charsets. */
    var joined = {};
    Object.keys(parts).forEach(function (key) {
      var m = /^([^*]+)\*(\d+)?(\*)?$/.exec(key);
      if (!m) {
        if (!(key in joined)) joined[key] = { plain: parts[key] };
        return;
      }
      var base = m[1];
      var entry = joined[base] && joined[base].pieces ? joined[base] : (joined[base] = { pieces: [] });
      var index = m[2] === undefined ? 0 : parseInt(m[2], 10);
      if (index < 100) entry.pieces[index] = { value: parts[key], encoded: !!m[3] || (m[2] === undefined) };
    });
    Object.keys(joined).forEach(function (key) {
      var entry = joined[key];
      if (!entry.pieces) {
        result.params[key] = decodeWords(entry.plain);
        return;
      }
      var charset = 'utf-8';
      var bin = '';
      entry.pieces.forEach(function (piece, idx) {
        if (!piece) return;
        var v = piece.value;
        if (piece.encoded) {
          if (idx === 0) {
            var q = /^([^']*)'[^']*'(.*)$/.exec(v);
            if (q) { charset = q[1] || 'utf-8'; v = q[2]; }
          }
          v = v.replace(/%([0-9A-Fa-f]{2})/g, function (mm, hex) { return String.fromCharCode(parseInt(hex, 16)); });
        }
        bin += v;
      });
      result.params[key] = decodeText(binaryToBytes(bin), charset);
    });
    return result;
  }

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }

  function parseEntity(s, depth, counter) {
    counter.parts++;
    var split = splitEntity(s);
    var headers = parseHeaders(split.head);
    var ct = parseParams(header(headers, 'content-type') || 'text/plain; charset=us-ascii');
    if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(ct.value)) {
      ct = { value: 'text/plain', params: { charset: ct.params.charset || 'us-ascii' } };
    }
    var disp = parseParams(header(headers, 'content-disposition'));
    var entity = {
      headers: headers,
      type: ct.value,
      params: ct.params,
      disposition: disp.value,
      dispositionParams: disp.params,
      encoding: (header(headers, 'content-transfer-encoding') || '7bit').trim().toLowerCase(),
      body: split.body,
      parts: [],
      message: null
    };
    if (depth < MAX_DEPTH && counter.parts < MAX_PARTS) {
      if (entity.type.indexOf('multipart/') === 0 && entity.params.boundary) {
        entity.parts = splitMultipart(split.body, entity.params.boundary).map(function (part) {
          return parseEntity(part, depth + 1, counter);
        });
      } else if (entity.type === 'message/rfc822' && /^(7bit|8bit|binary)$/.test(entity.encoding)) {
        entity.message = parseEntity(split.body, depth + 1, counter);
      }
    }
    return entity;
  }

  function splitMultipart(body, boundary) {
    var re = new RegExp('(?:^|\\r?\\n)--' + escapeRegExp(boundary) + '(--)?[ \\t]*(?=\\r?\\n|$)', 'g');
    var parts = [];
    var start = -1;
    var m;
    while ((m = re.exec(body)) !== null) {
      if (start >= 0) parts.push(body.slice(start, m.index));
      if (m[1]) { start = -1; break; }
      start = m.index + m[0].length;
      var nl = /^\r?\n/.exec(body.slice(start, start + 2));
      if (nl) start += nl[0].length;
      if (parts.length >= MAX_PARTS) break;
    }
    if (start >= 0 && start < body.length) parts.push(body.slice(start)); /* unterminated */
    return parts;
  }

  function decodeBody(entity) {
    var body = entity.body;
    if (entity.encoding === 'base64') {
      try {
        var clean = body.replace(/[^A-Za-z0-9+/]/g, '');
        clean = clean.slice(0, clean.length - (clean.length % 4 === 1 ? 1 : 0));
        while (clean.length % 4) clean += '=';
        return binaryToBytes(atob(clean));
      } catch (e) {
        return binaryToBytes(body);
      }
    }
    if (entity.encoding === 'quoted-printable') {
      var qp = body.replace(/[ \t]+(\r?\n)/g, '$1').replace(/=\r?\n/g, '')
        .replace(/=([0-9A-Fa-f]{2})/g, function (m, hex) { return String.fromCharCode(parseInt(hex, 16)); });
      return binaryToBytes(qp);
    }
    return binaryToBytes(body);
  }

  function filenameOf(entity) {
    return entity.dispositionParams.filename || entity.params.name || null;
  }

  function isAttachment(entity) {
    return entity.disposition === 'attachment' || (entity.disposition !== 'inline' && filenameOf(entity) !== null &&
      entity.type.indexOf('text/') !== 0);
  }

  function extract(root) {
    var out = { text: [], html: [], attachments: [], notes: [] };

    function attach(entity, fallbackName) {
      var bytes = entity.message ? binaryToBytes(entity.body) : decodeBody(entity);
      out.attachments.push({
        filename: filenameOf(entity) || fallbackName || 'attachment',
        contentType: entity.type,
        bytes: bytes,
        size: bytes.length
      });
    }

    function walk(entity, depth) {
      if (depth > MAX_DEPTH) return;
      var type = entity.type;
      if (type === 'multipart/alternative' && entity.parts.length) {
        var plain = null;
        var html = null;
        entity.parts.forEach(function (p) {
          if (!plain && p.type === 'text/plain' && !isAttachment(p)) plain = p;
          if (!html && p.type === 'text/html' && !isAttachment(p)) html = p;
        });
        if (plain) out.text.push(decodeText(decodeBody(plain), plain.params.charset));
        if (html) out.html.push(decodeText(decodeBody(html), html.params.charset));
        if (!plain && !html) walk(entity.parts[entity.parts.length - 1], depth + 1);
        return;
      }
      if (type === 'multipart/signed' && entity.parts.length) {
        walk(entity.parts[0], depth + 1);
        return;
      }
      if (type === 'multipart/encrypted') {
        out.notes.push('This part is encrypted and could not be decrypted.');
        return;
      }
      if (type.indexOf('multipart/') === 0) {
        entity.parts.forEach(function (p) { walk(p, depth + 1); });
        return;
      }
      if (isAttachment(entity)) {
        attach(entity);
        return;
      }
      if (type === 'text/plain') {
        out.text.push(decodeText(decodeBody(entity), entity.params.charset));
        return;
      }
      if (type === 'text/html') {
        out.html.push(decodeText(decodeBody(entity), entity.params.charset));
        return;
      }
      if (type === 'message/rfc822') {
        attach(entity, 'message.eml');
        return;
      }
      if (type === 'application/pgp-signature' || type === 'application/pgp-encrypted') return;
      attach(entity, type.indexOf('image/') === 0 ? 'image' : 'attachment');
    }

    walk(root, 0);
    return {
      text: out.text.length ? out.text.join('\n\n') : null,
      html: out.html.length ? out.html.join('\n<hr>\n') : null,
      attachments: out.attachments,
      notes: out.notes
    };
  }

  function parse(bytes) {
    var u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    return parseEntity(bytesToBinary(u8), 0, { parts: 0 });
  }

  window.PgpdeskMime = {
    parse: parse,
    extract: extract,
    decodeWords: decodeWords,
    header: function (entity, name) { return decodeWords(header(entity.headers, name.toLowerCase())); }
  };
})();
