'use strict';
/*
 * The search box's language: the list's filters typed as text, the way Kibana and Grafana users
 * type them. `user:alice status:4xx path:/orders/* app:shop ip:10.0.0.0/8 timeout`:
 *
 * - `field:value` sets a filter; a value with spaces is quoted: `ua:"Mozilla/5.0 (X11)"`
 *   (`\"` and `\\` inside quotes);
 * - words without a field, and quoted text, are the free-text search `q` (joined by one space);
 * - `path:` is an endpoint's path pattern, `method:` its method (together: `POST /login`);
 *   `endpoint:"GET /orders/*"` gives both at once;
 * - fields: FIELDS below; a field given twice, or one it does not know, is an error, and the
 *   list is not changed.
 *
 * parse(text) -> { params: {name: value} (the list's URL parameters), errors: [..] };
 * format(params) -> the text that parses back to them. The same file runs in the browser
 * (window.apiSessionsQuery) and in Node (the unit tests).
 */
(function (root) {
  /** Typed name -> the list's URL parameter. */
  var FIELDS = {
    user: 'user', role: 'role', app: 'app', ip: 'ip', ua: 'ua', 'user-agent': 'ua', status: 'status',
    attack: 'attack', key: 'key', session: 'session', request: 'request_id', request_id: 'request_id',
    endpoint: 'endpoint', path: 'path', method: 'method', from: 'from', to: 'to', q: 'q',
    follow: 'follow', fallback: 'fallback', sort: 'sort',
  };
  /** The order format() writes them in. */
  var ORDER = ['app', 'user', 'role', 'ip', 'ua', 'status', 'attack', 'key', 'session', 'request_id', 'endpoint', 'from', 'to', 'follow', 'fallback', 'sort'];
  /** Parameters format() writes back under another name than their own. */
  var NAMES = { request_id: 'request' };

  /** The text's tokens: {field, value} or {field: null, value} for free text. */
  function tokens(text) {
    var out = [];
    var errors = [];
    var i = 0;
    var n = text.length;
    function quoted() {
      // at an opening quote: the text up to the closing one, with \" and \\ read
      var v = '';
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        v += text[i++];
      }
      if (i >= n) errors.push('a quote is not closed');
      i++;
      return v;
    }
    while (i < n) {
      while (i < n && /\s/.test(text[i])) i++;
      if (i >= n) break;
      if (text[i] === '"') {
        out.push({ field: null, value: quoted() });
        continue;
      }
      var start = i;
      while (i < n && !/[\s:"]/.test(text[i])) i++;
      if (i < n && text[i] === ':' && i > start) {
        var field = text.slice(start, i).toLowerCase();
        i++;
        var value;
        if (text[i] === '"') value = quoted();
        else {
          var vs = i;
          while (i < n && !/\s/.test(text[i])) i++;
          value = text.slice(vs, i);
        }
        out.push({ field: field, value: value });
        continue;
      }
      // a word (a colon with nothing before it, or a quote inside, stays part of it)
      while (i < n && !/\s/.test(text[i])) i++;
      out.push({ field: null, value: text.slice(start, i) });
    }
    return { tokens: out, errors: errors };
  }

  function parse(text) {
    var t = tokens(String(text || ''));
    var errors = t.errors.slice();
    var params = {};
    var words = [];
    t.tokens.forEach(function (tok) {
      if (tok.field === null) {
        if (tok.value !== '') words.push(tok.value);
        return;
      }
      var name = Object.prototype.hasOwnProperty.call(FIELDS, tok.field) ? FIELDS[tok.field] : null;
      if (name === null) {
        errors.push('unknown field "' + tok.field + '" (fields: ' + Object.keys(FIELDS).filter(function (f) { return f !== 'request_id' && f !== 'user-agent'; }).join(', ') +
          '; quote text that holds a colon: "' + tok.field + ':' + tok.value + '")');
        return;
      }
      if (tok.value === '') { errors.push(tok.field + ': no value'); return; }
      if (Object.prototype.hasOwnProperty.call(params, name)) { errors.push(tok.field + ': given twice'); return; }
      params[name] = tok.value;
    });
    if (words.length) {
      if (params.q !== undefined) errors.push('q: given twice (words without a field are the free-text search)');
      else params.q = words.join(' ');
    }
    // path and method make the endpoint pattern
    if (params.path !== undefined || params.method !== undefined) {
      if (params.endpoint !== undefined) errors.push('endpoint: give it alone, or as method: and path:');
      else {
        var m = params.method !== undefined ? params.method.toUpperCase() : '';
        params.endpoint = m && params.path !== undefined ? m + ' ' + params.path : m || params.path;
      }
      delete params.path;
      delete params.method;
    }
    return { params: params, errors: errors };
  }

  function quote(v) {
    return /^[^\s"]+$/.test(v) ? v : '"' + v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  }

  /** params: an object or URLSearchParams of the list's parameters. */
  function format(params) {
    var get = function (k) {
      var v = typeof params.get === 'function' ? params.get(k) : params[k];
      return v === undefined || v === null || v === '' ? null : String(v);
    };
    var out = [];
    ORDER.forEach(function (k) {
      var v = get(k);
      if (v === null) return;
      if (k === 'endpoint') {
        var m = /^([A-Za-z]{3,10})\s+(\S.*)$/.exec(v);
        if (m) out.push('method:' + m[1].toUpperCase(), 'path:' + quote(m[2]));
        else if (/^[A-Za-z]{3,10}$/.test(v) && v === v.toUpperCase()) out.push('method:' + v);
        else out.push('path:' + quote(v));
        return;
      }
      out.push((NAMES[k] || k) + ':' + quote(v));
    });
    var q = get('q');
    if (q !== null) {
      // plain words stay words; anything a word cannot hold is quoted whole
      out.push(/^[^\s":]+( [^\s":]+)*$/.test(q) ? q : quote(q));
    }
    return out.join(' ');
  }

  var api = { parse: parse, format: format, FIELDS: FIELDS };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.apiSessionsQuery = api;
})(typeof window !== 'undefined' ? window : this);
