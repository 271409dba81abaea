'use strict';
/*
 * What every page of the console builds with (window.apiSessionsDom): elements whose content is
 * text, never markup (every value shown may come from a request an attacker sent), and the
 * console's API, which sends a person whose sign-in has ended to the sign-in page.
 */
(function () {
  /** el('td', {className: 'x', dataset: {...}}, 'text', childNode, [more], ...): strings and
   *  numbers become text nodes; null, undefined and false are left out. */
  function el(tag, props) {
    var e = document.createElement(tag);
    if (props) {
      for (var k in props) {
        if (k === 'dataset') for (var d in props.dataset) e.dataset[d] = props.dataset[d];
        else e[k] = props[k];
      }
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(e, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { append(e, x); });
    else if (typeof c === 'string' || typeof c === 'number') e.appendChild(document.createTextNode(String(c)));
    else e.appendChild(c);
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }
  /** The API's JSON answer to `method` (default GET) `path` with `body` as JSON; an error answer
   *  rejects with the API's own message; 401 opens the sign-in page, back here afterwards. */
  function api(path, method, body) {
    var init = { method: method || 'GET', credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search + location.hash); throw new Error('sign in'); }
      return r.json().then(function (b) {
        if (!r.ok) throw new Error(b && b.error ? b.error : 'HTTP ' + r.status);
        return b;
      });
    });
  }
  window.apiSessionsDom = { el: el, append: append, clear: clear, api: api };
})();
