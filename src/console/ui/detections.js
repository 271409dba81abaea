'use strict';
/*
 * The detections page (/detections): findings newest first, by kind and by application, each
 * with its rule and threshold, the sessions it names, the requests that made it (links to them
 * on their session page) and one-click blocks. Also the marks app.js asks for: findings in the
 * session list (markList) and on a session page (sessionFindings). Every value is put in the
 * page as text only.
 */
(function () {
  var KINDS = [['hijack', 'Session hijack'], ['enumeration', 'Object enumeration'], ['stuffing', 'Credential stuffing / brute force'], ['scripted', 'Scripted client']];
  var KIND_NAMES = {};
  KINDS.forEach(function (k) { KIND_NAMES[k[0]] = k[1]; });

  var el = window.apiSessionsDom.el;
  var call = function (method, path, body) { return window.apiSessionsDom.api(path, method, body); };
  function link(href, text, cls) { return el('a', { href: href, className: cls || '' }, text); }
  function fmtTime(iso) { return iso ? iso.replace('T', ' ').replace('Z', '') : ''; }
  function short(id) { return id.slice(0, 12) + '…'; }
  function sessionHref(session, part, requestId) {
    return '/session/' + encodeURIComponent(session) + '/' + encodeURIComponent(part) + (requestId ? '#r=' + encodeURIComponent(requestId) : '');
  }
  function kindChip(kind) { return el('span', { className: 'chip finding finding-' + kind }, KIND_NAMES[kind] || kind); }

  // --- One finding ---------------------------------------------------------------------------
  function blockReason(f) {
    return ('Detection ' + f.id + ' (' + f.kind + ': ' + f.title + '): ' + f.summary).slice(0, 1000);
  }
  /** Blocks one target; the button becomes what happened. */
  function blockOne(f, target, button, note) {
    button.disabled = true;
    return call('POST', '/api/blocks', { kind: target.kind, value: target.value, reason: blockReason(f), duration: '1h', by: 'console' }).then(function (b) {
      button.textContent = 'Blocked until ' + fmtTime(new Date(b.expires_at).toISOString()).slice(0, 16) + ' UTC';
      button.classList.add('blocked');
      return true;
    }, function (err) {
      button.disabled = false;
      note.textContent = 'Error: ' + err.message;
      return false;
    });
  }

  function renderFinding(f) {
    var box = el('article', { className: 'finding-card', dataset: { id: f.id, kind: f.kind } });
    box.appendChild(el('h2', null, kindChip(f.kind), ' ', f.title, ' ', el('span', { className: 'muted' }, f.app)));
    box.appendChild(el('p', { className: 'summary' }, f.summary));
    box.appendChild(el('p', { className: 'muted when' }, fmtTime(f.first_ts) + ' to ' + fmtTime(f.last_ts) + ' UTC · ' + f.requests + ' request' + (f.requests === 1 ? '' : 's') + ' counted · finding ',
      link('/detections?id=' + encodeURIComponent(f.id), f.id, 'finding-link')));
    box.appendChild(el('p', { className: 'threshold' }, el('strong', null, 'Rule '), f.kind + '/' + f.rule + (f.rules.length > 1 ? ' (also ' + f.rules.filter(function (r) { return r !== f.rule; }).join(', ') + ')' : '') + ': ' + f.threshold + '.'));

    var sessions = el('p', { className: 'sessions' }, el('strong', null, f.sessions_total === 1 ? 'Session ' : f.sessions_total + ' sessions '));
    f.sessions.slice(0, 12).forEach(function (s, i) {
      if (i) sessions.appendChild(document.createTextNode(', '));
      sessions.appendChild(link(sessionHref(s.session, s.part), short(s.session), 'finding-session mono'));
    });
    if (f.sessions_total > 12) sessions.appendChild(document.createTextNode(' and ' + (f.sessions_total - 12) + ' more'));
    if (f.users.length) sessions.appendChild(el('span', null, ' · user' + (f.users.length > 1 ? 's ' : ' ') + f.users.join(', ')));
    box.appendChild(sessions);

    var tbody = el('tbody');
    f.evidence.forEach(function (r) {
      tbody.appendChild(el('tr', { className: 'evidence' },
        el('td', { className: 'mono' }, fmtTime(r.ts)),
        el('td', { className: 'mono' }, link(sessionHref(r.session, r.part), short(r.session))),
        el('td', { className: 'mono' }, link(sessionHref(r.session, r.part, r.request_id), r.method + ' ' + r.path, 'evidence-link')),
        el('td', { className: 'num' }, String(r.status)),
        el('td', { className: 'mono' }, r.ip),
        el('td', { className: 'mono ua' }, r.ua === null ? '—' : r.ua)));
    });
    box.appendChild(el('details', { className: 'evidence-box', open: true },
      el('summary', null, 'Evidence: ' + f.evidence.length + ' request' + (f.evidence.length === 1 ? '' : 's') + ' (the ones that made it, then later ones)'),
      el('table', { className: 'list' }, el('thead', null, el('tr', null, el('th', null, 'Time (UTC)'), el('th', null, 'Session'), el('th', null, 'Request'), el('th', { className: 'num' }, 'Status'), el('th', null, 'IP'), el('th', null, 'User-Agent'))), tbody)));

    var note = el('span', { className: 'error block-note' });
    var actions = el('div', { className: 'block-actions finding-blocks' }, el('span', null, 'Block for 1 hour'));
    var sessionTargets = f.blocks.filter(function (b) { return b.kind === 'session'; });
    f.blocks.forEach(function (b, i) {
      if (b.kind === 'session' && i >= 3) return;
      var button = el('button', { type: 'button', className: 'block-target', dataset: { kind: b.kind, value: b.value } }, b.label);
      button.addEventListener('click', function () { note.textContent = ''; blockOne(f, b, button, note); });
      actions.appendChild(button);
    });
    if (sessionTargets.length > 1) {
      var all = el('button', { type: 'button', className: 'block-all' }, 'all ' + sessionTargets.length + ' sessions named');
      all.addEventListener('click', function () {
        note.textContent = '';
        all.disabled = true;
        var done = 0;
        var chain = Promise.resolve();
        sessionTargets.forEach(function (b) {
          chain = chain.then(function () {
            return call('POST', '/api/blocks', { kind: 'session', value: b.value, reason: blockReason(f), duration: '1h', by: 'console' }).then(function () { done++; all.textContent = 'Blocked ' + done + ' of ' + sessionTargets.length; });
          });
        });
        chain.then(function () { all.classList.add('blocked'); }, function (err) { all.disabled = false; note.textContent = 'Error: ' + err.message; });
      });
      actions.appendChild(all);
    }
    actions.appendChild(document.createTextNode(' '));
    actions.appendChild(link('/blocks', 'Blocks page'));
    actions.appendChild(note);
    box.appendChild(actions);
    return box;
  }

  // --- The page ------------------------------------------------------------------------------
  var FILTERS = [['kind', 'Kind'], ['app', 'Application (exact)'], ['session', 'Session id'], ['from', 'From (UTC)'], ['to', 'To (UTC)']];

  function render(main) {
    var q = new URLSearchParams(location.search);
    document.title = 'Detections · API Sessions';
    main.appendChild(el('h1', null, 'Detections'));
    var form = el('form', { className: 'filters', id: 'detection-filters' });
    FILTERS.forEach(function (f) {
      var input;
      if (f[0] === 'kind') {
        input = el('select', { name: 'kind' }, el('option', { value: '' }, 'any'), KINDS.map(function (k) { return el('option', { value: k[0] }, k[1]); }));
      } else input = el('input', { name: f[0], type: f[0] === 'from' || f[0] === 'to' ? 'datetime-local' : 'text' });
      input.value = q.get(f[0]) || '';
      form.appendChild(el('label', null, f[1], input));
    });
    form.appendChild(el('button', { type: 'submit' }, 'Show'));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var out = new URLSearchParams();
      FILTERS.forEach(function (f) { var v = form.elements[f[0]].value.trim(); if (v) out.set(f[0], v); });
      location.href = '/detections' + (out.toString() ? '?' + out.toString() : '');
    });
    main.appendChild(form);
    var rules = el('details', { className: 'rules', id: 'detection-rules' }, el('summary', null, 'The rules and their thresholds'));
    main.appendChild(rules);
    var counts = el('div', { id: 'detection-counts', className: 'counts' });
    main.appendChild(counts);
    var result = el('div', { id: 'findings' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(result);

    call('GET', '/api/detections/rules').then(function (r) {
      if (!r.enabled) rules.appendChild(el('p', { className: 'error' }, 'Detections are turned off (settings: enabled false).'));
      var ul = el('ul');
      r.rules.forEach(function (x) { ul.appendChild(el('li', null, el('strong', null, x.kind + '/' + x.rule + ' '), x.title + ': ' + x.threshold + '.')); });
      rules.appendChild(ul);
      rules.appendChild(el('p', { className: 'muted' }, 'Change them in the console\'s detections settings (docs/console.md, "Detections").'));
    }).catch(function () {});

    var apiQ = new URLSearchParams();
    FILTERS.forEach(function (f) { if (q.get(f[0])) apiQ.set(f[0], q.get(f[0])); });
    var countQ = new URLSearchParams(apiQ); countQ.delete('session');
    call('GET', '/api/detections/counts?' + countQ.toString()).then(function (c) {
      function facet(name, values, title) {
        var p = el('p', { className: 'facet', dataset: { facet: name } }, el('strong', null, title + ' '));
        var keys = Object.keys(values);
        if (keys.length === 0) p.appendChild(el('span', { className: 'muted' }, 'none'));
        keys.forEach(function (k, i) {
          var nq = new URLSearchParams(q); nq.set(name, k); nq.delete('cursor'); nq.delete('id');
          if (i) p.appendChild(document.createTextNode(' · '));
          p.appendChild(link('/detections?' + nq.toString(), (name === 'kind' ? KIND_NAMES[k] || k : k) + ' ' + values[k], 'facet-link'));
        });
        return p;
      }
      counts.appendChild(el('p', { className: 'total' }, c.total + ' finding' + (c.total === 1 ? '' : 's') + (q.get('kind') || q.get('app') || q.get('from') || q.get('to') ? ' match' + (c.total === 1 ? 'es' : '') : '') + '.'));
      counts.appendChild(facet('kind', c.kinds, 'By kind:'));
      counts.appendChild(facet('app', c.apps, 'By application:'));
    }).catch(function () {});

    var id = q.get('id');
    var load = id
      ? call('GET', '/api/detections/' + encodeURIComponent(id)).then(function (f) { return { items: [f], next: null }; })
      : call('GET', '/api/detections?' + apiQ.toString() + (q.get('cursor') ? '&cursor=' + encodeURIComponent(q.get('cursor')) : ''));
    load.then(function (page) {
      while (result.firstChild) result.removeChild(result.firstChild);
      if (page.items.length === 0) {
        result.appendChild(el('p', { className: 'muted', id: 'no-findings' }, 'No findings' + (apiQ.toString() ? ' match these filters.' : ' yet: the rules run on every record the console stores.')));
        return;
      }
      page.items.forEach(function (f) { result.appendChild(renderFinding(f)); });
      if (page.next) {
        var nq = new URLSearchParams(q); nq.set('cursor', page.next);
        result.appendChild(el('div', { className: 'pager' }, link('/detections?' + nq.toString(), 'Older »', 'older')));
      }
    }).catch(function (err) {
      while (result.firstChild) result.removeChild(result.firstChild);
      result.appendChild(el('p', { className: 'error' }, err.message));
    });
  }

  // --- Marks for app.js ----------------------------------------------------------------------
  /** Adds a chip per finding kind to the rows of the session list (tr[data-session]). */
  function markList(tbody) {
    var rows = tbody.querySelectorAll('tr[data-session]');
    var ids = [];
    rows.forEach(function (tr) { if (ids.indexOf(tr.dataset.session) < 0) ids.push(tr.dataset.session); });
    if (ids.length === 0) return;
    call('GET', '/api/detections/marks?sessions=' + ids.slice(0, 100).join(',')).then(function (res) {
      rows.forEach(function (tr) {
        var marks = res.marks[tr.dataset.session];
        if (!marks) return;
        var kinds = [];
        marks.forEach(function (m) { if (kinds.indexOf(m.kind) < 0) kinds.push(m.kind); });
        var cell = tr.children[1];
        var box = el('div', { className: 'finding-marks' });
        kinds.forEach(function (k) {
          box.appendChild(link('/detections?session=' + encodeURIComponent(tr.dataset.session) + '&kind=' + k, KIND_NAMES[k] || k, 'chip finding finding-' + k));
        });
        cell.appendChild(box);
      });
    }).catch(function () {});
  }

  /** The findings that name a session, on its page. */
  function sessionFindings(box, session) {
    call('GET', '/api/detections?limit=20&session=' + encodeURIComponent(session)).then(function (page) {
      while (box.firstChild) box.removeChild(box.firstChild);
      if (page.items.length === 0) { box.appendChild(el('p', { className: 'muted' }, 'No detection names this session.')); return; }
      var ul = el('ul', { className: 'session-findings' });
      page.items.forEach(function (f) {
        ul.appendChild(el('li', { dataset: { id: f.id } }, kindChip(f.kind), ' ', el('strong', null, f.title), ' ', f.summary, ' ',
          link('/detections?id=' + encodeURIComponent(f.id), 'evidence and blocks', 'finding-link')));
      });
      box.appendChild(ul);
    }).catch(function (err) {
      while (box.firstChild) box.removeChild(box.firstChild);
      box.appendChild(el('p', { className: 'muted' }, err.message));
    });
  }

  window.apiSessionsDetections = { render: render, markList: markList, sessionFindings: sessionFindings };
})();
