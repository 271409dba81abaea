'use strict';
/*
 * The console's pages, plain DOM. Every value shown comes from requests an attacker may have
 * sent, so it is only ever put in the page as text (textContent / text nodes), never as markup,
 * and links are built from values this script encodes itself.
 */
(function () {
  var FILTERS = [
    ['q', 'Search (user, IP, path, params)', 'search'],
    ['from', 'From (UTC)', 'datetime-local'],
    ['to', 'To (UTC)', 'datetime-local'],
    ['app', 'Application (demo*)', 'text'],
    ['session', 'Session id (or its first 8+)', 'text'],
    ['request_id', 'Request id (or its first 8+)', 'text'],
    ['user', 'User (mal*, any case)', 'text'],
    ['role', 'Role', 'text'],
    ['ip', 'IP or CIDR (10.0.0.0/8)', 'text'],
    ['ua', 'User-Agent (exact)', 'text'],
    ['attack', 'Attack type (* = any)', 'text'],
    ['status', 'Status (404 or 4xx)', 'text'],
    ['key', 'Grouping key', 'text'],
    ['endpoint', 'Endpoint (GET /orders/*)', 'text'],
  ];

  var dom = window.apiSessionsDom;
  var el = dom.el;
  var clear = dom.clear;
  var api = function (path) { return dom.api(path); };
  function link(href, text, cls) {
    return el('a', { href: href, className: cls || '' }, text);
  }
  /** A value as a link that filters the list (or, from the attacks page, the attacks) by it:
   *  the value is text, and the href is built with URLSearchParams. On a list page the other
   *  filters stay; elsewhere the list is opened with this one filter. */
  function pivot(name, value, text, cls) {
    var onList = location.pathname === '/' || location.pathname === '/attacks';
    var q = onList ? new URLSearchParams(location.search) : new URLSearchParams();
    q.delete('cursor');
    q.set(name, value);
    var a = el('a', { href: (onList ? location.pathname : '/') + '?' + q.toString(), className: 'pivot' + (cls ? ' ' + cls : ''),
      title: 'Filter by ' + name + ' = ' + value, dataset: { pivot: name } }, text === undefined ? value : text);
    return a;
  }
  function pivots(name, values, max) {
    var out = [];
    values.slice(0, max || values.length).forEach(function (v, i) { if (i) out.push(', '); out.push(pivot(name, v)); });
    if (max && values.length > max) out.push(el('span', { className: 'muted' }, ' +' + (values.length - max) + ' more'));
    return out;
  }
  function fmtTime(iso) {
    return iso ? iso.replace('T', ' ').replace('Z', '') : '';
  }
  /** A part's first and last request on two short lines: the date once, seconds, no
   *  milliseconds (the title has both in full). */
  function fmtRange(first, last) {
    var sameDay = first.slice(0, 10) === last.slice(0, 10);
    return el('span', { className: 'when-range', title: fmtTime(first) + ' to ' + fmtTime(last) + ' UTC' },
      first.slice(0, 10) + ' ' + first.slice(11, 19), el('br'), '→ ' + (sameDay ? '' : last.slice(5, 10) + ' ') + last.slice(11, 19));
  }
  function statusChip(code, n) {
    return el('span', { className: 'chip s' + String(code).charAt(0), title: n + ' × ' + code }, String(code) + (n > 1 ? ' ×' + n : ''));
  }
  function sortedCounts(c) {
    return Object.keys(c || {}).map(function (k) { return [k, c[k]]; }).sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
  }
  function sessionHref(session, part, requestId) {
    return '/session/' + encodeURIComponent(session) + '/' + encodeURIComponent(part) + (requestId ? '#r=' + encodeURIComponent(requestId) : '');
  }
  function showError(main, err) {
    main.appendChild(el('p', { className: 'error' }, 'Error: ' + err.message));
  }

  // --- List page -------------------------------------------------------------------------------
  function filterForm(q, action) {
    var form = el('form', { className: 'filters', method: 'get', action: action, id: 'filters' });
    FILTERS.forEach(function (f) {
      var input = el('input', { name: f[0], type: f[2], value: q.get(f[0]) || '' });
      if (f[2] === 'datetime-local') input.step = '1';
      form.appendChild(el('label', null, f[1], input));
    });
    // follow=links: the user's sessions and the sessions linked to them (needs a user).
    var follow = el('input', { name: 'follow', type: 'checkbox', value: 'links', checked: q.get('follow') === 'links' });
    if (action === '/') form.appendChild(el('label', { className: 'follow' }, follow, ' With linked sessions (needs a user)'));
    // fallback=hide: leave out the sessions grouped only by IP + User-Agent (anonymous traffic).
    var hideFallback = el('input', { name: 'fallback', type: 'checkbox', value: 'hide', checked: q.get('fallback') === 'hide' });
    form.appendChild(el('label', { className: 'follow' }, hideFallback, ' Hide IP + User-Agent sessions'));
    var refresh = el('input', { name: 'refresh', type: 'checkbox', value: '30', checked: q.get('refresh') === '30' });
    if (action === '/') form.appendChild(el('label', { className: 'follow' }, refresh, ' Refresh every 30 s'));
    form.appendChild(el('div', { className: 'actions' }, el('button', { type: 'submit' }, 'Filter'), link(action, 'Clear', 'button secondary')));
    form.addEventListener('submit', function (ev) {
      // Keep only the filters that are set, so that the URL stays short and copyable.
      ev.preventDefault();
      var out = new URLSearchParams();
      FILTERS.forEach(function (f) { var v = form.elements[f[0]].value.trim(); if (v) out.set(f[0], v); });
      if (action === '/' && follow.checked) out.set('follow', 'links');
      if (hideFallback.checked) out.set('fallback', 'hide');
      if (action === '/' && refresh.checked) out.set('refresh', '30');
      if (action === '/' && q.get('sort')) out.set('sort', q.get('sort'));
      var s = out.toString();
      location.href = action + (s ? '?' + s : '');
    });
    return form;
  }

  // --- The search box: the filters as text (query.js), the full form folded behind it ------------
  // View settings that a search keeps (they are not filters).
  var VIEW = ['refresh', 'window'];
  function searchBar(q, action) {
    var box = el('div', { className: 'search' });
    var input = el('input', { type: 'search', name: 'query', id: 'search-input', value: window.apiSessionsQuery.format(q), autocomplete: 'off', spellcheck: false,
      placeholder: 'user:alice status:4xx path:/orders/* app:shop ip:10.0.0.0/8 or words to find' });
    input.setAttribute('aria-label', 'Search sessions');
    var errors = el('div', { className: 'error', id: 'search-errors', role: 'alert', hidden: true });
    var form = el('form', { className: 'search-form', id: 'search', method: 'get', action: action },
      input, el('button', { type: 'submit' }, 'Search'), link(action, 'Clear', 'button secondary'));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var r = window.apiSessionsQuery.parse(input.value);
      if (r.errors.length) {
        errors.textContent = r.errors.join('\n');
        errors.hidden = false;
        return;
      }
      var out = new URLSearchParams();
      for (var k in r.params) out.set(k, r.params[k]);
      VIEW.forEach(function (k) { if (q.get(k) && action === '/') out.set(k, q.get(k)); });
      if (!r.params.sort && q.get('sort') && action === '/') out.set('sort', q.get('sort'));
      var s = out.toString();
      location.href = action + (s ? '?' + s : '');
    });
    box.appendChild(form);
    box.appendChild(errors);
    box.appendChild(el('p', { className: 'muted search-help' }, 'Fields: user: role: app: ip: ua: status: attack: key: session: request: path: method: endpoint: from: to:' +
      ' (quote values with spaces: ua:"curl/8.0"); other words find users, IPs, paths and parameters. * and ? are wildcards in user, app and path.'));
    var more = el('details', { className: 'more-filters', id: 'more-filters' }, el('summary', null, 'All filters'), filterForm(q, action));
    box.appendChild(more);
    return box;
  }

  /** A column heading that orders the list by it (descending); the current order is marked. */
  function sortLink(q, sort, text) {
    var cur = q.get('sort') || 'last';
    var nq = new URLSearchParams(q); nq.delete('cursor');
    if (sort === 'last') nq.delete('sort'); else nq.set('sort', sort);
    return link('/' + (nq.toString() ? '?' + nq.toString() : ''), text + (cur === sort ? ' ▼' : ''), 'sort' + (cur === sort ? ' current' : ''));
  }

  function renderList(main) {
    var q = new URLSearchParams(location.search);
    main.appendChild(searchBar(q, '/'));
    var overview = el('section', { className: 'overview', id: 'overview' });
    main.appendChild(overview);
    window.apiSessionsOverview.render(overview, q, api);
    var attacksQ = new URLSearchParams(q); attacksQ.delete('cursor'); attacksQ.delete('follow'); attacksQ.delete('refresh');
    var csvQ = new URLSearchParams(q); csvQ.delete('cursor'); csvQ.delete('refresh');
    main.appendChild(el('p', null, link('/attacks' + (attacksQ.toString() ? '?' + attacksQ.toString() : ''), 'Malicious requests of these sessions', 'attacks-link'),
      ' · ', link('/api/parts.csv' + (csvQ.toString() ? '?' + csvQ.toString() : ''), 'Download this list as CSV (up to 10,000 session parts)', 'csv-list')));
    if (q.get('app')) {
      main.appendChild(el('p', null, link('/apps/' + encodeURIComponent(q.get('app')) + '/recommendations', 'Grouping key recommendations for this application', 'recommendations-link')));
    }
    var result = el('div', { id: 'result' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(result);

    var apiQ = new URLSearchParams();
    FILTERS.forEach(function (f) { if (q.get(f[0])) apiQ.set(f[0], q.get(f[0])); });
    if (q.get('follow')) apiQ.set('follow', q.get('follow'));
    if (q.get('fallback')) apiQ.set('fallback', q.get('fallback'));
    if (q.get('sort')) apiQ.set('sort', q.get('sort'));
    if (q.get('cursor')) apiQ.set('cursor', q.get('cursor'));
    apiQ.set('limit', '50');
    apiQ.set('total', '1');
    // The first page follows new records when asked to (a later page would shift under the reader).
    if (q.get('refresh') === '30' && !q.get('cursor')) setTimeout(function () { if (location.pathname === '/') route(); }, 30000);
    api('/api/parts?' + apiQ.toString()).then(function (page) {
      clear(result);
      if (page.items.length === 0) {
        var empty = el('p', { className: 'muted', id: 'empty' }, 'No sessions match.');
        result.appendChild(empty);
        explainEmpty(empty, apiQ);
        return;
      }
      result.appendChild(el('p', { className: 'total', id: 'total' }, (page.total_capped ? 'More than ' : '') + page.total + ' session part' + (page.total === 1 ? '' : 's') + ' match' +
        (page.total === 1 && !page.total_capped ? 'es' : '') + (q.get('refresh') === '30' && !q.get('cursor') ? ' (refreshed every 30 s, last at ' + new Date().toISOString().slice(11, 19) + ' UTC)' : '') + '.'));
      var tbody = el('tbody');
      page.items.forEach(function (p) {
        var ips = sortedCounts(p.ips);
        var ipCell = el('td', { className: 'mono' });
        ips.slice(0, 3).forEach(function (x) { ipCell.appendChild(el('div', null, pivot('ip', x[0]))); });
        if (ips.length > 3) ipCell.appendChild(el('div', { className: 'muted' }, '+' + (ips.length - 3) + ' more'));
        var statusCell = el('td');
        sortedCounts(p.statuses).forEach(function (x) { var chip = statusChip(x[0], x[1]); statusCell.appendChild(pivot('status', x[0], chip.textContent, chip.className)); });
        var attackCell = el('td');
        sortedCounts(p.attacks).forEach(function (x) { attackCell.appendChild(pivot('attack', x[0], x[0] + ' ×' + x[1], 'chip attack')); });
        tbody.appendChild(el('tr', { className: 'part-row', dataset: { session: p.session, part: p.part } },
          el('td', { className: 'mono when' }, fmtRange(p.first_ts, p.last_ts)),
          el('td', { className: 'mono' }, link(sessionHref(p.session, p.part), p.session.slice(0, 12) + '…', 'session-link'), el('div', { className: 'muted' }, p.part)),
          el('td', null, pivot('app', p.app)),
          el('td', null, p.users.length ? pivots('user', p.users, 3) : el('span', { className: 'muted' }, '—'),
            p.roles.length ? el('div', { className: 'muted' }, pivots('role', p.roles, 3)) : null),
          el('td', { className: 'num' }, String(p.requests)),
          ipCell, statusCell, attackCell,
          el('td', { className: 'mono muted key' }, pivots('key', p.keys, 3))));
      });
      // Detections (detections.js): a chip per kind of finding naming a listed session.
      if (window.apiSessionsDetections) window.apiSessionsDetections.markList(tbody);
      result.appendChild(el('table', { id: 'parts' },
        el('thead', null, el('tr', null, el('th', null, sortLink(q, 'last', 'First / last request')), el('th', null, 'Session / part'), el('th', null, 'Application'),
          el('th', null, 'User / role'), el('th', { className: 'num' }, sortLink(q, 'requests', 'Requests')), el('th', null, 'IPs'), el('th', null, 'Statuses'),
          el('th', null, sortLink(q, 'attacked', 'Attacks')), el('th', null, 'Grouped by'))),
        tbody));
      var pager = el('div', { className: 'pager' });
      if (q.get('cursor')) {
        var first = new URLSearchParams(q); first.delete('cursor');
        pager.appendChild(link('/' + (first.toString() ? '?' + first.toString() : ''), '« Newest'));
      }
      if (page.next) {
        var nextQ = new URLSearchParams(q); nextQ.set('cursor', page.next);
        pager.appendChild(link('/?' + nextQ.toString(), 'Older »', 'older'));
      }
      result.appendChild(pager);
    }).catch(function (err) { clear(result); showError(result, err); });
  }

  // Why the list is empty: nothing stored at all (and why: the log cannot be read, no log is
  // followed, or no record came yet), or only nothing matching the filters.
  function explainEmpty(p, apiQ) {
    var filtered = false;
    apiQ.forEach(function (v, k) { if (k !== 'limit' && k !== 'cursor' && k !== 'total') filtered = true; });
    statusOnce().then(function (st) {
      var t = st.tail;
      var why;
      if (st.store.parts > 0) why = filtered ? 'No sessions match these filters (' + st.store.parts + ' session parts are stored).' : 'No sessions on this page.';
      else if (t && t.error) why = 'No sessions stored yet: the log file cannot be read: ' + t.error;
      else if (t) why = 'No sessions stored yet: waiting for records in ' + t.file + '.';
      else why = 'No sessions stored yet: no log file is followed (start the console with --log) and nothing was sent to /api/ingest.';
      p.textContent = why;
      p.className = t && t.error && st.store.parts === 0 ? 'error' : 'muted';
    }).catch(function () {});
  }
  var statusPromise = null;
  function statusOnce() {
    if (!statusPromise) statusPromise = api('/api/status');
    return statusPromise;
  }

  // --- Session page ----------------------------------------------------------------------------
  function countsTable(title, counts, mono, filterName) {
    var rows = sortedCounts(counts);
    var tbody = el('tbody');
    rows.forEach(function (x) { tbody.appendChild(el('tr', null, el('td', { className: mono ? 'mono' : '' }, filterName ? pivot(filterName, x[0]) : x[0]), el('td', { className: 'num' }, String(x[1])))); });
    if (rows.length === 0) tbody.appendChild(el('tr', null, el('td', { className: 'muted' }, 'none'), el('td')));
    return el('div', { className: 'stat', dataset: { stat: title.toLowerCase() } }, el('table', null, el('thead', null, el('tr', null, el('th', null, title), el('th', { className: 'num' }, 'Requests'))), tbody));
  }

  function kvTable(rows) {
    var tbody = el('tbody');
    rows.forEach(function (r) {
      if (!r) return;
      var v = r[1] === null || r[1] === undefined ? '—' : typeof r[1] === 'object' ? r[1] : String(r[1]);
      tbody.appendChild(el('tr', null, el('td', null, r[0]), el('td', { className: 'mono' }, v)));
    });
    return el('table', null, tbody);
  }

  function renderDetails(box, r, session, part) {
    clear(box);
    box.appendChild(el('h2', { className: 'mono' }, r.method + ' ' + r.path));
    box.appendChild(el('p', null, link(sessionHref(session || sessionId, part || partId, r.request_id), 'Link to this request', 'request-link')));
    box.appendChild(kvTable([
      ['#', r.seq], ['time', fmtTime(r.ts)], ['request id', r.request_id], ['status', r.status], ['duration, ms', r.duration_ms],
      ['bytes sent', r.bytes_sent], ['host', r.host], ['IP', pivot('ip', r.ip)], ['User-Agent', r.ua === null ? null : pivot('ua', r.ua)],
      ['user', r.user === null ? null : pivot('user', r.user)], ['role', r.role === null ? null : pivot('role', r.role)],
      ['grouped by', el('span', null, pivot('key', r.key), ' (' + r.key_source + ')')],
      ['attack', r.attack ? el('span', null, pivots('attack', r.attack)) : null],
    ]));
    var params = Object.keys(r.params || {});
    box.appendChild(el('h3', null, 'Parameters'));
    if (params.length === 0) box.appendChild(el('p', { className: 'muted' }, 'none'));
    // A parameter's value filters by the free-text search (q), which covers parameters.
    else box.appendChild(kvTable(params.map(function (k) { return [k, r.params[k] === '' ? '' : pivot('q', String(r.params[k]).slice(0, 200))]; })));
    if (r.errors && r.errors.length) {
      box.appendChild(el('h3', null, 'Errors'));
      box.appendChild(el('ul', { className: 'errors' }, r.errors.map(function (e) { return el('li', { className: 'mono' }, e); })));
    }
    if (r.request) {
      box.appendChild(el('h3', null, 'Request content' + (r.request.truncated ? ' (cut at its limit)' : '')));
      box.appendChild(el('pre', { className: 'request-line' }, r.request.line));
      box.appendChild(kvTable(r.request.headers.map(function (h) { return [h[0], h[1]]; })));
      if (r.request.body !== null) box.appendChild(el('pre', { className: 'request-body' }, r.request.body));
    }
  }

  var sessionId = '', partId = '';
  function renderSession(main, session, part) {
    sessionId = session; partId = part;
    var head = el('div', { className: 'session-head' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(head);
    var base = '/api/sessions/' + encodeURIComponent(session) + '/parts/' + encodeURIComponent(part);
    api(base).then(function (d) {
      var s = d.summary;
      clear(head);
      document.title = 'Session ' + s.session.slice(0, 8) + ' ' + s.part + ' · API Sessions';
      head.appendChild(el('h1', { className: 'mono' }, 'Session ' + s.session));
      var parts = el('span');
      d.parts.forEach(function (p, i) {
        if (i) parts.appendChild(document.createTextNode(' · '));
        parts.appendChild(p.part === s.part ? el('strong', null, p.part) : link(sessionHref(s.session, p.part), p.part));
      });
      head.appendChild(el('div', { className: 'facts' },
        el('div', null, el('span', null, 'Part'), parts),
        el('div', null, el('span', null, 'Application'), pivot('app', s.app)),
        el('div', null, el('span', null, 'User'), s.users.length ? pivots('user', s.users) : '—'),
        el('div', null, el('span', null, 'Role'), s.roles.length ? pivots('role', s.roles) : '—'),
        el('div', null, el('span', null, 'First'), fmtTime(s.first_ts)),
        el('div', null, el('span', null, 'Last'), fmtTime(s.last_ts)),
        el('div', null, el('span', null, 'Requests'), String(s.requests)),
        el('div', null, el('span', null, 'Malicious'), String(s.attacked)),
        el('div', { className: 'grouped-by' }, el('span', null, 'Grouped by'), pivots('key', s.keys)),
        el('div', null, link('/?session=' + encodeURIComponent(s.session), 'All parts in the list'), ' · ', link(base + '/requests.csv' + location.search, location.search ? 'Download these requests as CSV' : 'Download CSV', 'csv'),
          ' · ', link('/api/sessions/' + encodeURIComponent(s.session) + '/requests.csv', 'All days as CSV', 'csv-session'),
          ' · ', link('/journey/' + encodeURIComponent(s.session), 'Journey', 'journey-link')),
        // Blocking starts from what the analyst is reading: the blocks page, filled in.
        el('div', { className: 'block-actions' }, el('span', null, 'Block'),
          link('/blocks?kind=session&value=' + encodeURIComponent(s.session), 'this session…', 'block-session'),
          s.users.map(function (u) { return [' · ', link('/blocks?kind=user&value=' + encodeURIComponent(u), 'user ' + u + '…', 'block-user')]; }))));
      // Detections (detections.js): the findings that name this session.
      if (window.apiSessionsDetections) {
        var findings = el('div', { id: 'session-findings' }, el('p', { className: 'muted' }, 'Loading…'));
        head.appendChild(el('h3', null, 'Detections'));
        head.appendChild(findings);
        window.apiSessionsDetections.sessionFindings(findings, s.session);
      }
      var linked = el('div', { id: 'linked' }, el('p', { className: 'muted' }, 'Loading…'));
      head.appendChild(el('h3', null, 'Linked sessions'));
      head.appendChild(linked);
      renderLinked(linked, s.session);

      var stats = el('div', { className: 'stats', id: 'stats' },
        countsTable('Method', s.methods), countsTable('Status', s.statuses, false, 'status'), countsTable('IP', s.ips, true, 'ip'),
        countsTable('User-Agent', s.uas || {}, true, 'ua'), countsTable('Attack', s.attacks, false, 'attack'));
      head.appendChild(el('h3', null, 'Statistics'));
      head.appendChild(stats);

      var max = 1;
      d.timeline.forEach(function (b) { if (b.requests > max) max = b.requests; });
      var hist = el('div', { className: 'histogram', id: 'histogram' });
      var ctl = null;
      d.timeline.forEach(function (b) {
        var bar = el('div', { className: 'bar' + (b.attacks ? ' attack' : b.failed ? ' failed' : ''), title: fmtTime(b.t) + ': ' + b.requests + ' requests, ' + b.attacks + ' malicious, ' + b.failed + ' failed' + (b.requests ? ' (click: its first request)' : ''),
          dataset: { t: b.t } });
        bar.style.height = Math.round((b.requests / max) * 100) + '%';
        // A bar selects the first request of its interval.
        if (b.requests) bar.addEventListener('click', function () { if (ctl) ctl.selectAt(Date.parse(b.t)); });
        hist.appendChild(bar);
      });
      head.appendChild(el('h3', null, 'Timeline'));
      var first = Date.parse(s.first_ts), last = Date.parse(s.last_ts);
      head.appendChild(el('div', { className: 'hist-wrap' },
        el('div', { className: 'y-axis', id: 'y-axis' }, el('span', null, String(max)), el('span', null, max > 1 ? String(Math.round(max / 2)) : ''), el('span', null, '0')),
        hist));
      head.appendChild(el('div', { className: 'axis', id: 'x-axis' }, el('span', null, fmtTime(s.first_ts)),
        el('span', null, fmtTime(new Date(first + (last - first) / 2).toISOString()) + ' UTC'), el('span', null, fmtTime(s.last_ts))));
      head.appendChild(el('p', { className: 'muted hist-legend' }, 'Requests per ' + fmtDuration((last - first) / Math.max(1, d.timeline.length)) +
        ' (the height: requests in the interval; red: with an attack; orange: with a failure). Click a bar to select its first request.'));
      var extra = el('div', { id: 'part-stats' }, el('p', { className: 'muted' }, 'Loading…'));
      head.appendChild(el('h3', null, 'Endpoints and latency'));
      head.appendChild(extra);
      api(base + '/stats').then(function (st) { renderPartStats(extra, st); }).catch(function (err) { clear(extra); showError(extra, err); });
      ctl = loadRequests(main, base, Date.parse(s.first_ts));
    }).catch(function (err) { clear(head); showError(head, err); });
  }

  function fmtDuration(ms) {
    if (ms < 1000) return Math.max(1, Math.round(ms)) + ' ms';
    if (ms < 120000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
    if (ms < 7200000) return Math.round(ms / 60000) + ' min';
    return (ms / 3600000).toFixed(1) + ' h';
  }
  function ms(v) { return v === null ? '—' : v + ' ms'; }
  /** The endpoint pattern (ids as N, UUID, HEX) as a filter inside the session. */
  function patternFilter(e) { return e.method + ' ' + e.pattern.split('/').map(function (x) { return x === 'N' || x === 'UUID' || x === 'HEX' ? '*' : x; }).join('/'); }
  function renderPartStats(box, st) {
    clear(box);
    box.appendChild(el('p', { id: 'latency' }, 'Latency: p50 ' + ms(st.latency_ms.p50) + ', p95 ' + ms(st.latency_ms.p95) + ', p99 ' + ms(st.latency_ms.p99) +
      ', max ' + ms(st.latency_ms.max) + (st.truncated ? ' (of the first ' + st.requests + ' requests)' : '')));
    var tbody = el('tbody');
    st.endpoints.forEach(function (e) {
      var q = new URLSearchParams(); q.set('endpoint', patternFilter(e));
      tbody.appendChild(el('tr', { dataset: { endpoint: e.method + ' ' + e.pattern } },
        el('td', { className: 'mono' }, link(location.pathname + '?' + q.toString(), e.method + ' ' + e.pattern, 'endpoint-filter')),
        el('td', { className: 'num' }, String(e.requests)), el('td', { className: 'num' }, String(e.paths)),
        el('td', { className: 'num' }, String(e.failed)), el('td', { className: 'num' }, String(e.attacks)),
        el('td', { className: 'num' }, ms(e.p50_ms)), el('td', { className: 'num' }, ms(e.p95_ms))));
    });
    box.appendChild(el('table', { id: 'top-endpoints' }, el('thead', null, el('tr', null, el('th', null, 'Endpoint (ids as N)'), el('th', { className: 'num' }, 'Requests'),
      el('th', { className: 'num' }, 'Paths'), el('th', { className: 'num' }, 'Failed'), el('th', { className: 'num' }, 'Attacks'), el('th', { className: 'num' }, 'p50'), el('th', { className: 'num' }, 'p95'))), tbody));
    if (st.other_requests) box.appendChild(el('p', { className: 'muted' }, st.other_requests + ' requests to other endpoints.'));
  }

  function sessionItem(x) {
    var last = x.parts[x.parts.length - 1];
    return el('li', { dataset: { session: x.session } },
      link(sessionHref(x.session, last), x.session.slice(0, 12) + '…', 'mono'), ' ',
      el('span', { className: 'muted' }, fmtTime(x.first_ts) + ' – ' + fmtTime(x.last_ts) + ', ' + x.requests + ' requests, by ', pivots('key', x.keys)),
      x.users.length ? el('span', null, ' · user ', pivots('user', x.users)) : null,
      x.fallback ? el('span', { className: 'chip', title: 'grouped by IP + User-Agent only: shared by everyone behind that address and browser; journeys do not continue through it' }, 'IP + UA') : null);
  }

  function renderLinked(box, session) {
    api('/api/sessions/' + encodeURIComponent(session) + '/links').then(function (d) {
      clear(box);
      if (d.before.length === 0 && d.after.length === 0) { box.appendChild(el('p', { className: 'muted' }, 'No linked sessions.')); return; }
      if (d.before.length) box.appendChild(el('div', null, el('strong', null, 'Before'), el('ul', { className: 'linked before' }, d.before.map(sessionItem))));
      if (d.after.length) box.appendChild(el('div', null, el('strong', null, 'After'), el('ul', { className: 'linked after' }, d.after.map(sessionItem))));
    }).catch(function (err) { clear(box); box.appendChild(el('p', { className: 'muted' }, err.message)); });
  }

  // --- Journey page ----------------------------------------------------------------------------
  // One timeline of the linked sessions: each request with its date and time, its session (by
  // number, as listed above it), its status and attack types; a click shows its details.
  function renderJourney(main, session) {
    document.title = 'Journey ' + session.slice(0, 8) + ' · API Sessions';
    main.appendChild(el('h1', { className: 'page-title' }, 'Journey', el('span', { className: 'mono muted', title: session }, ' from session ' + session.slice(0, 12) + '…')));
    var box = el('div', { id: 'journey' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(box);
    api('/api/sessions/' + encodeURIComponent(session) + '/journey').then(function (j) {
      clear(box);
      var attacks = 0;
      j.requests.forEach(function (r) { if (r.attack) attacks++; });
      var users = {};
      j.sessions.forEach(function (x) { x.users.forEach(function (u) { users[u] = true; }); });
      box.appendChild(el('p', { className: 'summary', id: 'journey-summary' },
        j.sessions.length + ' linked sessions, ' + j.requests.length + ' requests' +
        (j.requests.length ? ', ' + fmtTime(j.requests[0].ts) + ' to ' + fmtTime(j.requests[j.requests.length - 1].ts) + ' UTC' : '') +
        (Object.keys(users).length ? ', user ' + Object.keys(users).join(', ') : '') +
        (attacks ? ', ' + attacks + ' malicious' : '') + (j.truncated ? ' (cut at the journey\'s bounds)' : '') + '.'));
      box.appendChild(el('p', null, link('/api/sessions/' + encodeURIComponent(session) + '/journey.csv', 'Download the journey as CSV', 'csv-journey')));
      box.appendChild(el('h2', { className: 'section' }, 'Sessions'));
      var sessions = el('ol', { className: 'linked journey-sessions', id: 'journey-sessions' });
      j.sessions.forEach(function (x, i) { var li = sessionItem(x); li.insertBefore(el('strong', null, 'Session ' + (i + 1) + ' '), li.firstChild); sessions.appendChild(li); });
      box.appendChild(sessions);
      var index = {};
      j.sessions.forEach(function (x, i) { index[x.session] = i; });
      var list = el('ol', { className: 'timeline journey', id: 'journey-requests' });
      var details = el('div', { className: 'details', id: 'details' }, el('p', { className: 'muted' }, 'Select a request to see its details.'));
      j.requests.forEach(function (r) {
        var li = el('li', { className: (r.attack ? 'attack ' : '') + (r.status >= 400 ? 'failed' : ''), dataset: { requestId: r.request_id, session: r.session } },
          el('span', { className: 'mono muted when' }, fmtTime(r.ts)),
          el('span', { className: 'mono' }, r.method),
          el('span', { className: 'path mono' }, r.path),
          el('span', null, statusChip(r.status, 1), ' ',
            r.attack ? r.attack.map(function (a) { return el('span', { className: 'chip attack' }, a); }) : null,
            el('span', { className: 'chip', title: r.session }, 'session ' + (index[r.session] + 1) + ' · ' + r.key),
            r.user ? pivot('user', r.user, r.user, 'chip user') : null));
        li.addEventListener('click', function () {
          var prev = list.querySelector('li.selected');
          if (prev) prev.classList.remove('selected');
          li.classList.add('selected');
          renderDetails(details, r, r.session, r.part);
        });
        list.appendChild(li);
      });
      box.appendChild(el('div', { className: 'layout' }, el('div', null, el('h2', { className: 'section' }, 'Requests in time order'), list), details));
    }).catch(function (err) { clear(box); showError(box, err); });
  }

  // --- Recommendations page --------------------------------------------------------------------
  function pct(x) { return Math.round(x * 100) + '%'; }
  function renderRecommendations(main, app) {
    document.title = 'Recommendations ' + app + ' · API Sessions';
    main.appendChild(el('h1', { className: 'page-title' }, 'Grouping key recommendations: ', el('span', { className: 'mono' }, app)));
    var box = el('div', { id: 'recommendations' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(box);
    api('/api/apps/' + encodeURIComponent(app) + '/recommendations').then(function (r) {
      clear(box);
      box.appendChild(el('p', { className: 'muted', id: 'sampled' }, r.sampled + ' sampled requests from ' + r.clients + ' clients and ' + r.users + ' users' +
        (r.from ? ', ' + fmtTime(r.from) + ' to ' + fmtTime(r.to) + ' UTC' : '') + '.'));
      box.appendChild(el('h2', { className: 'section' }, 'Recommended configuration'));
      if (r.nginx) {
        var copy = el('button', { type: 'button', className: 'secondary', id: 'copy-line' }, 'Copy');
        copy.addEventListener('click', function () {
          if (!navigator.clipboard) { copy.textContent = 'Select the line and copy it'; return; }
          navigator.clipboard.writeText(r.nginx).then(function () { copy.textContent = 'Copied'; }, function () { copy.textContent = 'Select the line and copy it'; });
        });
        box.appendChild(el('div', { className: 'nginx-line' }, el('pre', { id: 'nginx-line' }, r.nginx), copy));
        box.appendChild(el('p', { className: 'muted' }, 'Paste it into the server block of this application (nginx.conf), then nginx -t && nginx -s reload.'));
        if (r.comparison) box.appendChild(el('p', { id: 'comparison', className: 'comparison ' + r.comparison.verdict }, r.comparison.text));
        box.appendChild(el('h3', null, 'What this line would do to the sampled requests, and what the configuration in force did'));
        box.appendChild(previewTable(r.preview, 'preview-suggested', r.in_force));
      } else {
        box.appendChild(el('p', { className: 'muted', id: 'nginx-line' }, r.sampled ? 'Nothing to suggest.' : 'No sampled records: turn on $api_sessions_discovery.'));
      }
      renderWhatIf(box, app, r.nginx || '');
      var tbody = el('tbody');
      r.suggestions.forEach(function (s) {
        tbody.appendChild(el('tr', { className: s.suggested ? 'suggested' : 'decoy', dataset: { selector: s.selector } },
          el('td', { className: 'num' }, String(s.rank)),
          el('td', { className: 'mono' }, s.selector, s.origin ? el('div', { className: 'muted' }, 'from ' + s.origin.selector) : null),
          el('td', { className: 'as' }, s.as ? (s.suggested ? s.as : '(' + s.as + ')') : '—'),
          el('td', { className: 'num' }, s.score.toFixed(3)),
          el('td', { className: 'num' }, pct(s.coverage)), el('td', { className: 'num' }, pct(s.stability)), el('td', { className: 'num' }, pct(s.distinctness)),
          el('td', { className: 'explanation' }, s.explanation)));
      });
      box.appendChild(el('h2', { className: 'section' }, 'Candidates'));
      box.appendChild(el('table', { id: 'suggestions' },
        el('thead', null, el('tr', null, el('th', { className: 'num' }, '#'), el('th', null, 'Parameter'), el('th', null, 'As'), el('th', { className: 'num' }, 'Score'),
          el('th', { className: 'num' }, 'Coverage'), el('th', { className: 'num' }, 'Stability'), el('th', { className: 'num' }, 'Distinctness'), el('th', null, 'Why'))),
        tbody));
      box.appendChild(el('h2', { className: 'section' }, 'How the figures are computed'));
      box.appendChild(el('p', { className: 'muted method', id: 'method' }, r.method));
    }).catch(function (err) { clear(box); showError(box, err); });
  }

  /** /recommendations (the top bar's link): the applications seen in the last 7 days, each with
   *  its recommendations page. */
  function renderRecommendationApps(main) {
    document.title = 'Recommendations · API Sessions';
    main.appendChild(el('h1', { className: 'page-title' }, 'Grouping key recommendations'));
    main.appendChild(el('p', { className: 'muted' }, 'Recommendations are made per application, from the records that $api_sessions_discovery samples.'));
    var box = el('div', { id: 'recommendation-apps' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(box);
    var form = el('form', { className: 'inside', id: 'recommendation-app' });
    var input = el('input', { type: 'text', name: 'app', placeholder: 'Application (as records write app)' });
    form.appendChild(input);
    form.appendChild(el('button', { type: 'submit' }, 'Open'));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (input.value.trim()) location.href = '/apps/' + encodeURIComponent(input.value.trim()) + '/recommendations';
    });
    api('/api/overview?window=7d').then(function (o) {
      clear(box);
      if (o.top.apps.length === 0) { box.appendChild(el('p', { className: 'muted' }, 'No application has records in the last 7 days.')); return; }
      box.appendChild(el('p', null, 'Applications with the most requests in the last 7 days:'));
      box.appendChild(el('ul', { className: 'linked' }, o.top.apps.map(function (a) {
        return el('li', null, link('/apps/' + encodeURIComponent(a.value) + '/recommendations', a.value, 'mono recommendations-app'), el('span', { className: 'muted' }, ' ' + a.requests + ' requests'));
      })));
      box.appendChild(el('p', { className: 'muted' }, 'Another application:'));
      box.appendChild(form);
    }).catch(function (err) { clear(box); showError(box, err); });
  }

  // --- What-if preview (recommendations page) --------------------------------------------------
  // Any line the analyst types, previewed on the same samples (GET /api/apps/{app}/preview).
  function previewTable(p, id, now) {
    var rows = [
      ['sessions', 'Sessions formed by a key', p.sessions],
      ['mixed_sessions', 'Sessions with more than one user', p.mixed_sessions + (p.mixed_sessions ? ' (' + p.mixed_requests + ' requests)' : '')],
      ['users_split', 'Users split over more than one journey', p.users_split + ' of ' + p.users],
      ['fallback_requests', 'Requests left to IP + User-Agent', p.fallback_requests + ' of ' + p.sampled + ' (' + p.fallback_sessions + ' sessions, ' + p.mixed_fallback_sessions + ' with more than one user)'],
      ['journeys', 'Journeys (sessions joined by links)', p.journeys],
    ];
    var nowOf = {
      sessions: now && now.sessions, mixed_sessions: now && now.mixed_sessions + (now.mixed_sessions ? ' (' + now.mixed_requests + ' requests)' : ''),
      users_split: now && now.users_split + ' of ' + now.users, fallback_requests: now && now.fallback_requests + ' of ' + now.sampled, journeys: now && now.journeys,
    };
    var tbody = el('tbody');
    rows.forEach(function (x) {
      var bad = (x[0] === 'mixed_sessions' && p.mixed_sessions > 0) || (x[0] === 'users_split' && p.users_split > 0);
      tbody.appendChild(el('tr', { dataset: { figure: x[0] }, className: bad ? 'warn' : '' }, el('td', null, x[1]), el('td', { className: 'num mono' }, String(x[2])),
        now ? el('td', { className: 'num mono now' }, String(nowOf[x[0]])) : null));
    });
    var head = now ? el('thead', null, el('tr', null, el('th', null, ''), el('th', { className: 'num' }, 'With this line'), el('th', { className: 'num' }, 'Configuration in force'))) : null;
    var box = el('div', { className: 'preview', id: id }, el('table', { className: 'figures' }, head, tbody));
    if (p.errors.length) box.appendChild(el('ul', { className: 'errors' }, p.errors.map(function (e) { return el('li', { className: 'mono' }, e); })));
    if (p.unseen.length) box.appendChild(el('p', { className: 'muted unseen' }, 'No sampled request carried: ' + p.unseen.join(', ')));
    if (p.mixed.length) {
      box.appendChild(el('p', null, 'Largest sessions with more than one user:'));
      box.appendChild(el('ul', { className: 'mixed' }, p.mixed.map(function (m) { return el('li', null, el('span', { className: 'mono' }, m.key), ': ' + m.users + ' users, ' + m.requests + ' requests'); })));
    }
    var keys = el('tbody');
    p.by_key.forEach(function (k) { keys.appendChild(el('tr', null, el('td', { className: 'mono' }, k.key), el('td', { className: 'num' }, String(k.requests)), el('td', { className: 'num' }, String(k.sessions)))); });
    box.appendChild(el('table', { className: 'by-key' }, el('thead', null, el('tr', null, el('th', null, 'Grouped by'), el('th', { className: 'num' }, 'Requests'), el('th', { className: 'num' }, 'Sessions'))), keys));
    return box;
  }

  function renderWhatIf(box, app, line) {
    box.appendChild(el('h2', { className: 'section' }, 'What-if preview'));
    var input = el('textarea', { id: 'preview-line', rows: 3, spellcheck: false, value: line });
    var out = el('div', { id: 'preview-result' });
    var form = el('form', { className: 'whatif', id: 'preview-form' },
      el('label', null, 'A $api_sessions_params line (or its quoted value) to try on the sampled requests', input),
      el('div', { className: 'actions' }, el('button', { type: 'submit', id: 'preview-run' }, 'Preview')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clear(out).appendChild(el('p', { className: 'muted' }, 'Loading…'));
      // POST: a long line's encoding may not fit in a URL
      fetch('/api/apps/' + encodeURIComponent(app) + '/preview', {
        method: 'POST', credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ line: input.value }),
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body && body.error ? body.error : 'HTTP ' + r.status);
          return body;
        });
      }).then(function (p) {
        clear(out).appendChild(previewTable(p, 'preview-typed'));
      }).catch(function (err) { clear(out); showError(out, err); });
    });
    box.appendChild(form);
    box.appendChild(out);
  }

  // The requests of a session part: filtered inside the session (only attacks / only failed /
  // one endpoint, kept in the page's query string), previous / next attack, and #r= selecting a
  // request, also when it changes in the same tab.
  var onHash = null;
  function loadRequests(main, base, start) {
    var here = new URLSearchParams(location.search);
    var only = here.get('only') || '';
    var endpoint = here.get('endpoint') || '';
    var list = el('ol', { className: 'timeline', id: 'requests' });
    var details = el('div', { className: 'details', id: 'details' }, el('p', { className: 'muted' }, 'Select a request to see its details.'));
    var more = el('button', { className: 'secondary', type: 'button', hidden: true }, 'Load more');
    var form = el('form', { className: 'inside', id: 'inside' });
    var sel = el('select', { name: 'only' },
      el('option', { value: '' }, 'All requests'), el('option', { value: 'attacks' }, 'Only attacks'), el('option', { value: 'failed' }, 'Only failed (status ≥ 400)'));
    sel.value = only;
    var ep = el('input', { name: 'endpoint', type: 'text', value: endpoint, placeholder: 'Endpoint (GET /orders/*)' });
    form.appendChild(el('label', null, 'Show ', sel));
    form.appendChild(ep);
    form.appendChild(el('button', { type: 'submit' }, 'Apply'));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var q = new URLSearchParams();
      if (sel.value) q.set('only', sel.value);
      if (ep.value.trim()) q.set('endpoint', ep.value.trim());
      location.href = location.pathname + (q.toString() ? '?' + q.toString() : '');
    });
    var prevAttack = el('button', { className: 'secondary', type: 'button', id: 'prev-attack' }, '◀ Previous attack');
    var nextAttack = el('button', { className: 'secondary', type: 'button', id: 'next-attack' }, 'Next attack ▶');
    var nav = el('div', { className: 'pager attack-nav' }, prevAttack, nextAttack, el('span', { className: 'muted', id: 'attack-nav-note' }));
    main.appendChild(el('div', { className: 'layout' },
      el('div', null, el('h3', null, 'Requests in order' + (only || endpoint ? ' (filtered)' : '')), form, nav, list, el('div', { className: 'pager' }, more)), details));
    var byId = {};
    var nextCursor = null;
    var loading = null;
    var wanted = '';
    function hashId() {
      var m = location.hash.match(/^#r=(.+)$/);
      if (!m) return '';
      try { return decodeURIComponent(m[1]); } catch (e) { return ''; }
    }
    function select(li, r, scroll) {
      var prev = list.querySelector('li.selected');
      if (prev) prev.classList.remove('selected');
      li.classList.add('selected');
      renderDetails(details, r);
      history.replaceState(null, '', location.pathname + location.search + '#r=' + encodeURIComponent(r.request_id));
      if (scroll) li.scrollIntoView({ block: 'center' });
    }
    function want(id) {
      wanted = id;
      if (!wanted) return;
      if (byId[wanted]) { select(byId[wanted][0], byId[wanted][1], true); wanted = ''; return; }
      if (nextCursor && !loading) page(nextCursor); // the request is further on
    }
    function page(cursor) {
      more.hidden = true;
      loading = api(base + '/requests?limit=500' + (only ? '&only=' + encodeURIComponent(only) : '') + (endpoint ? '&endpoint=' + encodeURIComponent(endpoint) : '') +
        (cursor ? '&cursor=' + encodeURIComponent(cursor) : '')).then(function (p) {
        loading = null;
        p.items.forEach(function (r) {
          var offset = (Date.parse(r.ts) - start) / 1000;
          var cls = (r.attack ? 'attack ' : '') + (r.status >= 400 ? 'failed' : '');
          var li = el('li', { className: cls, dataset: { requestId: r.request_id } },
            el('span', { className: 'mono muted', title: fmtTime(r.ts) }, r.ts.slice(11, 23), el('br'), '+' + offset.toFixed(offset < 100 ? 3 : 0) + ' s'),
            el('span', { className: 'mono' }, r.method),
            el('span', { className: 'path mono' }, r.path),
            el('span', { className: 'outcome' }, r.errors.length ? el('span', { className: 'has-errors', title: r.errors.join('\n') }, '⚠ ') : null,
              statusChip(r.status, 1), ' ', el('span', { className: 'muted' }, r.duration_ms + ' ms'),
              r.attack ? r.attack.map(function (a) { return el('span', { className: 'chip attack' }, a); }) : null));
          li.addEventListener('click', function () { select(li, r, false); });
          byId[r.request_id] = [li, r];
          list.appendChild(li);
        });
        nextCursor = p.next;
        if (p.items.length === 0 && !cursor) list.appendChild(el('li', { className: 'muted', id: 'no-requests' }, 'No request of this part matches.'));
        if (p.next) {
          more.hidden = false;
          more.onclick = function () { page(p.next); };
        }
        if (wanted) want(wanted);
        if (pendingStep) { var st = pendingStep; pendingStep = 0; step(st); }
      }).catch(function (err) { loading = null; showError(list, err); });
    }
    // Previous / next attack from the selected request (from the top when none is selected);
    // pages further on are loaded until one is found.
    var pendingStep = 0;
    var note = nav.querySelector('#attack-nav-note');
    function step(dir) {
      note.textContent = '';
      var items = Array.prototype.slice.call(list.querySelectorAll('li[data-request-id]'));
      var cur = list.querySelector('li.selected');
      var i = cur ? items.indexOf(cur) : -1;
      for (var j = i + dir; j >= 0 && j < items.length; j += dir) {
        if (items[j].classList.contains('attack')) { var x = byId[items[j].dataset.requestId]; select(x[0], x[1], true); return; }
      }
      if (dir > 0 && nextCursor) { pendingStep = dir; if (!loading) page(nextCursor); return; }
      note.textContent = dir > 0 ? 'No attack after this one.' : 'No attack before this one.';
    }
    prevAttack.addEventListener('click', function () { step(-1); });
    nextAttack.addEventListener('click', function () { step(1); });
    if (onHash) window.removeEventListener('hashchange', onHash);
    onHash = function () { var id = hashId(); if (id && !(byId[id] && byId[id][0].classList.contains('selected'))) want(id); };
    window.addEventListener('hashchange', onHash);
    wanted = hashId();
    page(null);
    var pendingAt = null;
    function selectAt(t) {
      var items = list.querySelectorAll('li[data-request-id]');
      for (var i = 0; i < items.length; i++) {
        var x = byId[items[i].dataset.requestId];
        if (Date.parse(x[1].ts) >= t) { select(x[0], x[1], true); return; }
      }
      if (nextCursor && !loading) { pendingAt = t; page(nextCursor); }
    }
    var origPage = page;
    page = function (cursor) {
      origPage(cursor);
      if (loading) loading.then(function () { if (pendingAt !== null) { var t = pendingAt; pendingAt = null; selectAt(t); } });
    };
    return { selectAt: selectAt };
  }

  // --- Attacks page ----------------------------------------------------------------------------
  // The malicious requests of the parts the filters select, newest parts first; each opens its
  // session at that request.
  function renderAttacks(main) {
    document.title = 'Attacks · API Sessions';
    var q = new URLSearchParams(location.search);
    main.appendChild(el('h1', { className: 'page-title' }, 'Attacks'));
    main.appendChild(searchBar(q, '/attacks'));
    var result = el('div', { id: 'result' }, el('p', { className: 'muted' }, 'Loading…'));
    main.appendChild(result);
    var apiQ = new URLSearchParams();
    FILTERS.forEach(function (f) { if (q.get(f[0])) apiQ.set(f[0], q.get(f[0])); });
    if (q.get('fallback')) apiQ.set('fallback', q.get('fallback'));
    if (q.get('cursor')) apiQ.set('cursor', q.get('cursor'));
    api('/api/attacks?' + apiQ.toString()).then(function (d) {
      clear(result);
      if (d.items.length === 0) { result.appendChild(el('p', { className: 'muted', id: 'empty' }, 'No malicious requests match.')); return; }
      var tbody = el('tbody');
      d.items.forEach(function (r) {
        tbody.appendChild(el('tr', { className: 'attack-row', dataset: { session: r.session, requestId: r.request_id } },
          el('td', { className: 'mono' }, link(sessionHref(r.session, r.part, r.request_id), fmtTime(r.ts), 'open-attack')),
          el('td', null, r.attack.map(function (a) { return pivot('attack', a, a, 'chip attack'); })),
          el('td', { className: 'mono path' }, r.method + ' ' + r.path),
          el('td', null, statusChip(r.status, 1)),
          el('td', { className: 'mono' }, pivot('ip', r.ip)),
          el('td', null, r.user === null ? el('span', { className: 'muted' }, '—') : pivot('user', r.user)),
          el('td', { className: 'mono' }, link(sessionHref(r.session, r.part), r.session.slice(0, 12) + '…'), el('div', { className: 'muted' }, pivot('app', r.app)))));
      });
      result.appendChild(el('table', { id: 'attacks' },
        el('thead', null, el('tr', null, el('th', null, 'Time (opens the request)'), el('th', null, 'Attack'), el('th', null, 'Request'), el('th', null, 'Status'),
          el('th', null, 'IP'), el('th', null, 'User'), el('th', null, 'Session'))), tbody));
      if (d.more.length) {
        result.appendChild(el('p', { className: 'muted' }, d.more.length + ' session parts have more malicious requests than shown here: ',
          d.more.map(function (m, i) { return [i ? ', ' : '', link(sessionHref(m.session, m.part) + '?only=attacks', m.session.slice(0, 12) + '… (' + m.attacked + ')')]; })));
      }
      var pager = el('div', { className: 'pager' });
      if (d.next) { var nq = new URLSearchParams(q); nq.set('cursor', d.next); pager.appendChild(link('/attacks?' + nq.toString(), 'Older »', 'older')); }
      result.appendChild(pager);
    }).catch(function (err) { clear(result); showError(result, err); });
  }

  // Ingest health: the tailer's error and the records it could not read, as text.
  function showIngestHealth(tail) {
    var lines = [];
    if (tail && tail.error) lines.push('Reading the log failed: ' + tail.error);
    var l = tail && tail.losses;
    if (l && l.count > 0) {
      lines.push(l.count + (l.count === 1 ? ' time' : ' times') + ' since start, log records could not be read and may be lost' +
        (l.bytes > 0 ? ' (' + l.bytes + ' bytes known)' : '') + ':');
      l.recent.slice(-5).forEach(function (x) {
        lines.push(fmtTime(x.at) + '  ' + x.file + '  ' + (x.to === null ? 'from byte ' + x.from + ' on' : 'bytes ' + x.from + '-' + x.to) +
          '  (' + (x.reason === 'truncated' ? 'truncated before it was read' : 'gone before it was read') + ')');
      });
    }
    var box = document.getElementById('ingest-health');
    box.textContent = lines.join('\n');
    box.hidden = lines.length === 0;
  }

  function route() {
    var main = clear(document.getElementById('main'));
    var m = location.pathname.match(/^\/session\/([0-9a-fA-F]{32})\/(\d{4}-\d{2}-\d{2})$/);
    var jm = location.pathname.match(/^\/journey\/([0-9a-fA-F]{32})$/);
    var am = location.pathname.match(/^\/apps\/([^/]+)\/recommendations$/);
    if (m) renderSession(main, m[1].toLowerCase(), m[2]);
    else if (location.pathname === '/attacks') renderAttacks(main);
    else if (location.pathname === '/blocks' && window.apiSessionsBlocks) window.apiSessionsBlocks.render(main);
    else if (location.pathname === '/detections' && window.apiSessionsDetections) window.apiSessionsDetections.render(main);
    else if (location.pathname === '/recommendations') renderRecommendationApps(main);
    else if (location.pathname !== '/' && !jm && !am) {
      // e.g. /session/nothex/...: say so rather than show the list as if it were asked for.
      main.appendChild(el('p', { className: 'error', id: 'bad-url' }, 'Not a page of the console: ' + location.pathname +
        ' (a session is /session/{32 hex}/{YYYY-MM-DD}, a journey /journey/{32 hex}).'));
      main.appendChild(el('p', null, link('/', 'The session list')));
    }
    else if (jm) renderJourney(main, jm[1].toLowerCase());
    else if (am) renderRecommendations(main, (function () { try { return decodeURIComponent(am[1]); } catch (e) { return am[1]; } })());
    else renderList(main);
    // Recommendations in the top bar: straight to the application the list is filtered by.
    var app = new URLSearchParams(location.search).get('app');
    var nav = document.getElementById('nav-recommendations');
    if (nav) nav.href = app && !/[*?]/.test(app) ? '/apps/' + encodeURIComponent(app) + '/recommendations' : '/recommendations';
    statusOnce().then(function (st) {
      var signout = document.getElementById('signout');
      if (signout) signout.hidden = st.token_required !== true;
      var s = st.store;
      document.getElementById('status').textContent = s.parts + ' session parts, ' + s.requests + ' requests' + (s.oldestPart ? ', ' + s.oldestPart + ' to ' + s.newestPart : '');
      showIngestHealth(st.tail);
    }).catch(function () {});
  }
  route();
})();
