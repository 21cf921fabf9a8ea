/**
 * The dashboard's behaviour, run in the browser as /dashboard.js: no build step, plain ES2017. It
 * reads the node's events with fetch (not EventSource, which cannot send an authorization header),
 * and writes every value into the page with textContent: keys are user data and must never become
 * markup.
 */
export const DASHBOARD_SCRIPT = String.raw`'use strict';
(function () {
  var TOKEN_KEY = 'ringcache-dashboard-token';
  var COLORS = ['#3b6fd8', '#e07b39', '#2e9d4f', '#9b59b6', '#c93434', '#17a2b8', '#d99a00', '#6c757d'];
  var $ = function (id) { return document.getElementById(id); };
  var history = { t: [], ops: [], p50: [], p99: [] };
  var charts = null;
  var colorOf = {};

  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function headers() { var t = token(); return t ? { authorization: 'Bearer ' + t } : {}; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function bytes(n) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  }
  function needCredential(why) {
    $('auth').className = 'shown';
    $('auth-why').textContent = why;
    $('conn').textContent = 'credential needed';
  }

  $('auth-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('auth-token').value);
    $('auth').className = '';
    connect();
  });

  function makeCharts() {
    var width = Math.max(360, $('ops-chart').clientWidth || 400);
    var axes = [{}, { size: 60 }];
    charts = {
      ops: new uPlot({ width: width, height: 180, axes: axes,
        series: [{}, { label: 'ops/s', stroke: '#3b6fd8', fill: '#3b6fd822' }] },
        [history.t, history.ops], $('ops-chart')),
      latency: new uPlot({ width: width, height: 180, axes: axes,
        series: [{}, { label: 'p50', stroke: '#2e9d4f' }, { label: 'p99', stroke: '#c93434' }] },
        [history.t, history.p50, history.p99], $('latency-chart')),
    };
  }

  function addTraffic(points) {
    points.forEach(function (p) {
      if (history.t.length && history.t[history.t.length - 1] >= p.t) return;
      history.t.push(p.t); history.ops.push(p.opsPerSec); history.p50.push(p.p50Ms); history.p99.push(p.p99Ms);
    });
    while (history.t.length > 300) { history.t.shift(); history.ops.shift(); history.p50.shift(); history.p99.shift(); }
    if (typeof uPlot === 'undefined') return;
    if (!charts) makeCharts();
    charts.ops.setData([history.t, history.ops]);
    charts.latency.setData([history.t, history.p50, history.p99]);
  }

  function drawRing(arcs, members) {
    var svg = $('ring');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var ns = 'http://www.w3.org/2000/svg';
    members.forEach(function (m, i) { if (!colorOf[m.id]) colorOf[m.id] = COLORS[Object.keys(colorOf).length % COLORS.length]; });
    var stateOf = {};
    members.forEach(function (m) { stateOf[m.id] = m.state; });
    arcs.forEach(function (a) {
      var r = 90, start = a[0] * 2 * Math.PI - Math.PI / 2, end = a[1] * 2 * Math.PI - Math.PI / 2;
      var large = a[1] - a[0] > 0.5 ? 1 : 0;
      var d = 'M ' + (r * Math.cos(start)) + ' ' + (r * Math.sin(start)) +
        ' A ' + r + ' ' + r + ' 0 ' + large + ' 1 ' + (r * Math.cos(end)) + ' ' + (r * Math.sin(end));
      var path = document.createElementNS(ns, 'path');
      path.setAttribute('d', d);
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke', colorOf[a[2]] || '#999');
      path.setAttribute('stroke-width', '14');
      if (stateOf[a[2]] && stateOf[a[2]] !== 'alive') path.setAttribute('stroke-opacity', '0.3');
      var title = document.createElementNS(ns, 'title');
      title.textContent = a[2];
      path.appendChild(title);
      svg.appendChild(path);
    });
  }

  function renderMembers(members) {
    var body = $('members').tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    members.forEach(function (m) {
      var tr = el('tr');
      tr.setAttribute('data-member', m.id);
      tr.setAttribute('data-state', m.state);
      var name = el('td');
      var swatch = el('span', '\u25CF ');
      swatch.style.color = colorOf[m.id] || '#999';
      name.appendChild(swatch);
      name.appendChild(document.createTextNode(m.id));
      tr.appendChild(name);
      tr.appendChild(el('td', m.state, 'state state-' + m.state));
      tr.appendChild(el('td', m.address));
      tr.appendChild(el('td', (m.share * 100).toFixed(1) + '%'));
      appendFigures(tr, m.figures);
      body.appendChild(tr);
    });
  }

  // A member's keys, memory and traffic; dashes while they are unknown (not alive, not answering).
  function appendFigures(tr, f) {
    if (f) {
      tr.setAttribute('data-keys', f.keys);
      tr.setAttribute('data-bytes', f.bytes);
      if (f.opsPerSec !== null) tr.setAttribute('data-ops', f.opsPerSec);
    }
    tr.appendChild(el('td', f ? f.keys : '–'));
    tr.appendChild(el('td', f ? bytes(f.bytes) + ' / ' + bytes(f.maxBytes) : '–'));
    tr.appendChild(el('td', f && f.opsPerSec !== null ? f.opsPerSec : '–'));
    tr.appendChild(el('td', f && f.p99Ms !== null ? '\u2264 ' + f.p99Ms + ' ms' : '–'));
  }

  function renderTotals(t, memberCount) {
    var foot = $('members').tFoot;
    while (foot.firstChild) foot.removeChild(foot.firstChild);
    var tr = el('tr');
    tr.id = 'members-total';
    tr.setAttribute('data-keys', t.keys);
    tr.setAttribute('data-bytes', t.bytes);
    tr.setAttribute('data-ops', t.opsPerSec);
    tr.setAttribute('data-reporting', t.reporting);
    tr.appendChild(el('td', 'cluster'));
    tr.appendChild(el('td', t.reporting + ' of ' + memberCount + ' reporting', 'muted'));
    tr.appendChild(el('td', ''));
    tr.appendChild(el('td', ''));
    var keys = el('td', t.keys);
    keys.title = 'copies: a key counts once on each member that holds it';
    tr.appendChild(keys);
    tr.appendChild(el('td', bytes(t.bytes) + ' / ' + bytes(t.maxBytes)));
    tr.appendChild(el('td', t.opsPerSec));
    tr.appendChild(el('td', ''));
    foot.appendChild(tr);
  }

  function renderHot(list, target) {
    var ol = $(target);
    while (ol.firstChild) ol.removeChild(ol.firstChild);
    if (!list.length) { ol.appendChild(el('li', 'none sampled yet', 'muted')); return; }
    list.forEach(function (h) {
      var li = el('li', h.key + ' ');
      li.appendChild(el('span', '\u2248' + h.count, 'muted'));
      ol.appendChild(li);
    });
  }

  function render(u) {
    $('node').textContent = u.node;
    $('epoch').textContent = u.epoch;
    drawRing(u.arcs, u.members);
    renderMembers(u.members);
    renderTotals(u.totals, u.members.length);
    var s = u.stats;
    var last = u.traffic.length ? u.traffic[u.traffic.length - 1] : null;
    if (last) {
      $('ops').textContent = last.opsPerSec;
      $('p99').textContent = last.p99Ms === null ? '–' : '\u2264 ' + last.p99Ms + ' ms';
    }
    var lookups = s.hits + s.misses;
    $('hit-ratio').textContent = lookups ? (100 * s.hits / lookups).toFixed(1) + '%' : '–';
    $('keys').textContent = s.keys;
    $('hints').textContent = s.hintsPending;
    $('memory').textContent = bytes(s.bytes) + ' of ' + bytes(s.maxBytes);
    $('memory-bar').style.width = Math.min(100, 100 * s.bytes / Math.max(1, s.maxBytes)) + '%';
    $('rss').textContent = 'process: ' + bytes(s.rssBytes) + ' resident, ' + bytes(s.heapUsedBytes) + ' JS heap';
    renderHot(u.hot.reads, 'hot-reads');
    renderHot(u.hot.writes, 'hot-writes');
    addTraffic(u.traffic);
  }

  var generation = 0;
  var retryMs = 500;
  function connect() {
    var mine = ++generation;
    $('conn').textContent = 'connecting…';
    fetch('/events', { headers: headers(), cache: 'no-store' }).then(function (res) {
      if (res.status === 401 || res.status === 403) {
        return res.json().then(function (b) { needCredential(b.error); });
      }
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      $('conn').textContent = 'live';
      retryMs = 500;
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buffered = '';
      function pump() {
        return reader.read().then(function (r) {
          if (r.done || mine !== generation) throw new Error('stream ended');
          buffered += decoder.decode(r.value, { stream: true });
          var end;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            var block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            var data = block.split('\n').filter(function (l) { return l.indexOf('data: ') === 0; })
              .map(function (l) { return l.slice(6); }).join('\n');
            if (data) render(JSON.parse(data));
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      if (mine !== generation) return;
      $('conn').textContent = 'disconnected; retrying';
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    });
  }

  $('lookup-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var key = $('lookup-key').value;
    var out = $('lookup-result');
    while (out.firstChild) out.removeChild(out.firstChild);
    if (!key) return;
    out.appendChild(el('p', 'looking up…', 'muted'));
    fetch('/api/explain?key=' + encodeURIComponent(key), { headers: headers(), cache: 'no-store' })
      .then(function (res) { return res.json().then(function (b) { return { status: res.status, body: b }; }); })
      .then(function (r) {
        while (out.firstChild) out.removeChild(out.firstChild);
        if (r.status !== 200) {
          if (r.status === 401 || r.status === 403) needCredential(r.body.error);
          out.appendChild(el('p', r.body.error, 'error'));
          return;
        }
        var e = r.body;
        out.appendChild(el('p', 'ring position ' + e.position + ', epoch ' + e.epoch, 'muted'));
        var table = el('table');
        var head = el('tr');
        ['replica', 'state', 'holds', 'version', 'expires', 'note'].forEach(function (h) { head.appendChild(el('th', h)); });
        table.appendChild(head);
        e.replicas.forEach(function (c) {
          var tr = el('tr');
          tr.setAttribute('data-replica', c.id);
          tr.setAttribute('data-holds', c.holds ? 'yes' : 'no');
          tr.appendChild(el('td', c.id));
          tr.appendChild(el('td', c.state, 'state state-' + c.state));
          tr.appendChild(el('td', c.error ? '?' : c.holds ? (c.tombstone ? 'tombstone' : bytes(c.valueBytes)) : 'no'));
          tr.appendChild(el('td', c.version ? c.version.timestamp + ' (' + new Date(c.version.wallMs).toISOString() + ') @' + c.version.node : '–'));
          tr.appendChild(el('td', c.expiresAtMs ? new Date(c.expiresAtMs).toISOString() : c.holds ? 'never' : '–'));
          tr.appendChild(el('td', c.error || ''));
          table.appendChild(tr);
        });
        out.appendChild(table);
      })
      .catch(function (err) {
        while (out.firstChild) out.removeChild(out.firstChild);
        out.appendChild(el('p', 'lookup failed: ' + err.message, 'error'));
      });
  });

  connect();
})();
`;
