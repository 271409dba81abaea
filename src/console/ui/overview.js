'use strict';
/*
 * The overview above the session list (GET /api/overview): requests, sessions, attacks and failed
 * logins over the window as four bar charts drawn in SVG, and the top applications, users and
 * endpoints. A bar filters the list to its interval (the attacks chart opens the attacks page);
 * a top entry filters the list by it. Every value is put in the page as text.
 */
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var CHARTS = [
    ['requests', 'Requests', '/'],
    ['sessions', 'Sessions', '/'],
    ['attacks', 'Attacks', '/attacks'],
    ['failed_logins', 'Failed logins', '/'],
  ];
  var WINDOWS = [['1h', 'Last hour'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days']];

  var el = window.apiSessionsDom.el;
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function fmt(n) { return Number(n).toLocaleString('en-US'); }
  function hhmm(iso) { return iso.slice(11, 16); }
  function when(iso, withDay) { return (withDay ? iso.slice(5, 10) + ' ' : '') + hhmm(iso); }
  /** The list (or attacks page) with the given filters set on top of `base`. */
  function href(path, base, set) {
    var q = new URLSearchParams(base);
    q.delete('cursor');
    for (var k in set) q.set(k, set[k]);
    var s = q.toString();
    return path + (s ? '?' + s : '');
  }
  function duration(ms) {
    return ms >= 3600000 ? ms / 3600000 + ' h' : ms / 60000 + ' min';
  }

  function chart(o, field, title, path, base) {
    var W = 300, H = 64;
    var max = 0;
    o.series.forEach(function (b) { if (b[field] > max) max = b[field]; });
    var total = field === 'sessions' ? 'peak ' + fmt(o.totals.sessions_peak) + ' per ' + duration(o.bucket_ms) : fmt(o.totals[field]);
    var box = el('div', { className: 'ov-chart', dataset: { chart: field } },
      el('div', { className: 'ov-title' }, el('span', null, title), ' ', el('strong', { className: 'ov-total' }, total)));
    var g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', class: 'ov-svg', role: 'img' });
    g.appendChild(svg('title', {})).textContent = title + ' per ' + duration(o.bucket_ms) + ', ' + hhmm(o.from) + ' to ' + hhmm(o.to) + ' UTC';
    var n = o.series.length;
    var bw = W / Math.max(1, n);
    o.series.forEach(function (b, i) {
      var v = b[field];
      if (!v) return;
      var h = Math.max(1.5, (v / max) * (H - 2));
      var end = new Date(Date.parse(b.t) + o.bucket_ms).toISOString();
      // the list's `to` is inclusive: the interval's last millisecond
      var last = new Date(Date.parse(b.t) + o.bucket_ms - 1).toISOString();
      var a = svg('a', { href: href(path, base, { from: b.t.slice(0, 19), to: last.slice(0, 23) }), class: 'ov-bar-link' });
      var rect = svg('rect', { x: (i * bw).toFixed(2), y: (H - h).toFixed(2), width: Math.max(0.8, bw - 0.6).toFixed(2), height: h.toFixed(2), class: 'ov-bar ' + field });
      rect.appendChild(svg('title', {})).textContent = when(b.t, true) + '–' + hhmm(end) + ' UTC: ' + fmt(v) + ' ' + title.toLowerCase() + ' (click: the list of that interval)';
      a.appendChild(rect);
      g.appendChild(a);
    });
    box.appendChild(g);
    var days = o.from.slice(0, 10) !== o.to.slice(0, 10);
    box.appendChild(el('div', { className: 'ov-axis' }, el('span', null, when(o.from, days)), el('span', null, max ? 'max ' + fmt(max) : 'none'), el('span', null, when(o.to, days))));
    return box;
  }

  function patternFilter(v) {
    // "GET /items/N" -> "GET /items/*": the list's endpoint pattern for the folded ids
    return v.split('/').map(function (x) { return x === 'N' || x === 'UUID' || x === 'HEX' ? '*' : x; }).join('/');
  }

  function top(title, entries, name, base, id) {
    var list = el('ol', { className: 'ov-top', id: id });
    entries.forEach(function (e) {
      var value = name === 'endpoint' ? patternFilter(e.value) : e.value;
      list.appendChild(el('li', null, el('a', { href: href('/', base, (function () { var o = {}; o[name] = value; return o; })()), className: 'pivot', title: 'Filter by ' + name + ' = ' + value }, e.value),
        el('span', { className: 'num muted' }, fmt(e.requests))));
    });
    if (entries.length === 0) list.appendChild(el('li', { className: 'muted' }, 'none'));
    return el('div', { className: 'ov-top-box' }, el('div', { className: 'ov-title' }, title), list);
  }

  /** Renders the overview of the list's filters `q` (URLSearchParams) into `box`. */
  function render(box, q, api) {
    var apiQ = new URLSearchParams();
    ['from', 'to', 'app'].forEach(function (k) { if (q.get(k)) apiQ.set(k, q.get(k)); });
    var win = q.get('window') || '';
    if (win && !q.get('from') && !q.get('to')) apiQ.set('window', win);
    box.appendChild(el('p', { className: 'muted' }, 'Loading the overview…'));
    return api('/api/overview?' + apiQ.toString()).then(function (o) {
      while (box.firstChild) box.removeChild(box.firstChild);
      var base = new URLSearchParams(q);
      base.delete('window');
      var windows = el('span', { className: 'ov-windows' });
      WINDOWS.forEach(function (w, i) {
        var nq = new URLSearchParams(q); nq.delete('from'); nq.delete('to'); nq.delete('cursor');
        if (w[0] === '24h') nq.delete('window'); else nq.set('window', w[0]);
        var current = !q.get('from') && !q.get('to') && (win || '24h') === w[0];
        if (i) windows.appendChild(document.createTextNode(' · '));
        windows.appendChild(current ? el('strong', null, w[1]) : el('a', { href: '/?' + nq.toString() }, w[1]));
      });
      box.appendChild(el('div', { className: 'ov-head' },
        el('strong', null, 'Overview'), ' ',
        el('span', { className: 'muted', id: 'overview-window' }, (o.app ? 'application ' + o.app + ', ' : '') + o.from.replace('T', ' ').slice(0, 16) + ' to ' + o.to.replace('T', ' ').slice(0, 16) + ' UTC'),
        ' ', windows));
      var charts = el('div', { className: 'ov-charts', id: 'overview-charts' });
      CHARTS.forEach(function (c) { charts.appendChild(chart(o, c[0], c[1], c[2], base)); });
      box.appendChild(charts);
      var tops = el('div', { className: 'ov-tops', id: 'overview-tops' },
        top('Top applications', o.top.apps, 'app', base, 'top-apps'),
        top('Top users', o.top.users, 'user', base, 'top-users'),
        top('Top endpoints', o.top.endpoints, 'endpoint', base, 'top-endpoints-overview'));
      box.appendChild(tops);
    }).catch(function (err) {
      while (box.firstChild) box.removeChild(box.firstChild);
      box.appendChild(el('p', { className: 'error' }, 'Overview: ' + err.message));
    });
  }

  window.apiSessionsOverview = { render: render };
})();
