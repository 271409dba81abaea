'use strict';
/*
 * The blocks page (/blocks): block a session, a user or a grouping value; extend and lift
 * blocks; the audit list. Every value is put in the page as text only.
 */
(function () {
  var el = window.apiSessionsDom.el;
  var call = function (method, path, body) { return window.apiSessionsDom.api(path, method, body); };
  function time(ms) {
    return ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
  }
  function input(name, label, value) {
    return el('label', null, label, el('input', { name: name, type: 'text', value: value || '' }));
  }

  function render(main) {
    var q = new URLSearchParams(location.search);
    main.appendChild(el('h1', null, 'Blocks'));
    // What each kind stops: a session block does not outlive the next login.
    main.appendChild(el('div', { id: 'block-help', className: 'muted' },
      el('p', null, 'A session block ends when that person signs in again: a new login makes a new session. ' +
        'To keep someone out, block their user: the login itself still passes, but the first request with the new token is refused, and every one after it. ' +
        'A grouping value block stops every session grouped by that value.'),
      el('p', null, 'Every nginx enforces a block until its expiry and not after, even when it cannot reach this console; ' +
        'new blocks, extensions and lifts reach nginx with its next pull.')));
    var message = el('p', { className: 'error', id: 'block-error' });
    var kind = el('select', { name: 'kind' },
      el('option', { value: 'session' }, 'Session id'),
      el('option', { value: 'user' }, 'User'),
      el('option', { value: 'key' }, 'Grouping value (keyed hash)'));
    if (q.get('kind')) kind.value = q.get('kind');
    var form = el('form', { className: 'filters', id: 'block-form' },
      el('label', null, 'Block', kind),
      input('value', 'Value', q.get('value')),
      input('duration', 'For (1h, 90m, 7d; at most 30d)', '1h'),
      input('reason', 'Reason', ''),
      input('by', 'By', ''),
      el('button', { type: 'submit' }, 'Block'));
    var active = el('tbody', { id: 'blocks' });
    var audit = el('tbody', { id: 'block-audit' });
    main.appendChild(form);
    main.appendChild(message);
    main.appendChild(el('h2', null, 'Active blocks'));
    main.appendChild(el('table', { className: 'list' },
      el('thead', null, el('tr', null, el('th', null, 'What'), el('th', null, 'Value'), el('th', null, 'Reason'), el('th', null, 'By'), el('th', null, 'Since'), el('th', null, 'Until'), el('th', null, ''))),
      active));
    main.appendChild(el('h2', null, 'Audit'));
    main.appendChild(el('table', { className: 'list' },
      el('thead', null, el('tr', null, el('th', null, 'When'), el('th', null, 'Who'), el('th', null, 'Action'), el('th', null, 'What'), el('th', null, 'Value'), el('th', null, 'Why'), el('th', null, 'Until'))),
      audit));

    function fail(e) { message.textContent = 'Error: ' + e.message; }
    function who() { return form.elements.by.value; }
    function load() {
      call('GET', '/api/blocks').then(function (res) {
        while (active.firstChild) active.removeChild(active.firstChild);
        res.items.forEach(function (b) {
          var extend = el('button', { type: 'button', className: 'extend' }, 'Extend 1h');
          extend.addEventListener('click', function () {
            call('POST', '/api/blocks/' + b.id + '/extend', { duration: '1h', by: who(), reason: form.elements.reason.value }).then(load, fail);
          });
          var lift = el('button', { type: 'button', className: 'lift' }, 'Lift');
          lift.addEventListener('click', function () {
            call('POST', '/api/blocks/' + b.id + '/lift', { by: who(), reason: form.elements.reason.value }).then(load, fail);
          });
          active.appendChild(el('tr', { className: 'block' },
            el('td', null, b.kind), el('td', { className: 'mono' }, b.value), el('td', null, b.reason),
            el('td', null, b.created_by), el('td', null, time(b.created_at)), el('td', null, time(b.expires_at)),
            el('td', null, extend, ' ', lift)));
        });
        if (res.items.length === 0) active.appendChild(el('tr', null, el('td', { colSpan: 7, className: 'muted' }, 'No active block.')));
      }).catch(fail);
      call('GET', '/api/blocks/audit?limit=200').then(function (res) {
        while (audit.firstChild) audit.removeChild(audit.firstChild);
        res.items.forEach(function (a) {
          audit.appendChild(el('tr', { className: 'audit' },
            el('td', null, time(a.at)), el('td', null, a.who), el('td', null, a.action), el('td', null, a.kind),
            el('td', { className: 'mono' }, a.value), el('td', null, a.reason), el('td', null, time(a.expires_at))));
        });
      }).catch(fail);
    }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      message.textContent = '';
      var f = form.elements;
      call('POST', '/api/blocks', { kind: f.kind.value, value: f.value.value, duration: f.duration.value, reason: f.reason.value, by: f.by.value })
        .then(function () { f.value.value = ''; load(); }, fail);
    });
    load();
  }
  window.apiSessionsBlocks = { render: render };
})();
