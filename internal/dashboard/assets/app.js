// tiercache dashboard: polls /api/snapshot and /api/history at the
// sampling interval, draws the charts as inline SVG, and sends the
// buttons' actions to /api/action. No framework, no build step.
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const WINDOW_S = 180; // how far back the charts look
  const MIN_SPAN_S = 30; // the shortest time axis, while history builds up
  const MAX_EVENTS = 60;
  const MAX_HOT_KEYS = 10;

  const state = {
    intervalMs: 1000,
    timer: 0,
    inflight: false,
    again: false,
    eventsKey: '',
    colorOf: new Map(), // region or link name -> palette slot, stable across refreshes
  };

  // ---- small helpers -------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text != null) e.textContent = text;
    return e;
  }

  // setText writes only on change, so the page does not flicker and a
  // text selection survives a refresh.
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  const finite = (v) => typeof v === 'number' && Number.isFinite(v);

  function fmtNum(v) {
    if (!finite(v)) return '–';
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString('en-US');
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }
  const fmtInt = (v) => (finite(v) ? Math.round(v).toLocaleString('en-US') : '–');
  const fmtPct = (v) => (finite(v) ? (v * 100).toFixed(1) + '%' : '–');
  const fmtMs = (v) => (finite(v) ? fmtNum(v) + ' ms' : '–');

  function fmtClock(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function colorSlot(name) {
    if (!state.colorOf.has(name)) state.colorOf.set(name, state.colorOf.size % 8);
    return 'c-s' + state.colorOf.get(name);
  }

  // ---- the line chart ------------------------------------------------

  // niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const f = v / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  // lineChart draws series over time into an <svg viewBox="0 0 520 200">.
  // times: unix ms per sample; series: [{label, cls, values, dashed}],
  // values aligned with times, null for a gap. opts: {endMs, yMax, fmtY,
  // events: [{time_ms, text}]}.
  function lineChart(root, times, series, opts) {
    const W = 520, H = 200, m = { l: 48, r: 10, t: 10, b: 22 };
    const pw = W - m.l - m.r, ph = H - m.t - m.b;
    root.replaceChildren();
    // The time axis ends at the latest sample and spans the data (at
    // least MIN_SPAN_S, at most WINDOW_S), so a fresh page is readable.
    const t1 = opts.endMs || (times.length ? times[times.length - 1] : 0);
    const have = times.length ? t1 - times[0] : 0;
    const spanS = Math.min(WINDOW_S, Math.max(MIN_SPAN_S, Math.ceil(have / 10000) * 10));
    const t0 = t1 - spanS * 1000;
    let top = 0;
    for (const s of series) for (const v of s.values) if (finite(v) && v > top) top = v;
    const yMax = opts.yMax || niceMax(top * 1.1);
    const x = (t) => m.l + ((t - t0) / (t1 - t0)) * pw;
    const y = (v) => m.t + ph - (Math.max(0, Math.min(v, yMax)) / yMax) * ph;
    const fmtY = opts.fmtY || fmtNum;

    for (let i = 0; i <= 4; i++) {
      const v = (yMax * i) / 4;
      root.append(svg('line', { class: 'grid-line', x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }));
      root.append(svg('text', { class: 'axis-label', x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtY(v)));
    }
    for (const [frac, label, anchor] of [[0, '-' + spanS + 's', 'start'], [0.5, '-' + spanS / 2 + 's', 'middle'], [1, 'now', 'end']]) {
      root.append(svg('text', { class: 'axis-label', x: m.l + frac * pw, y: H - 6, 'text-anchor': anchor }, label));
    }
    for (const ev of opts.events || []) {
      if (ev.time_ms < t0 || ev.time_ms > t1) continue;
      const mark = svg('line', { class: 'event-mark', x1: x(ev.time_ms), x2: x(ev.time_ms), y1: m.t, y2: m.t + ph });
      mark.append(svg('title', {}, fmtClock(ev.time_ms) + ' ' + ev.text));
      root.append(mark);
    }

    let drawn = 0;
    for (const s of series) {
      // Split at gaps; a run of one sample is drawn as a dot.
      const runs = [];
      let run = null;
      s.values.forEach((v, i) => {
        if (!finite(v) || times[i] < t0) { run = null; return; }
        if (!run) runs.push((run = []));
        run.push([x(times[i]), y(v)]);
        drawn++;
      });
      let d = '';
      for (const r of runs) {
        if (r.length === 1) {
          root.append(svg('circle', { class: 'dot ' + s.cls, cx: r[0][0].toFixed(1), cy: r[0][1].toFixed(1), r: 2.5 }));
          continue;
        }
        d += r.map((pt, i) => (i ? 'L' : 'M') + pt[0].toFixed(1) + ' ' + pt[1].toFixed(1)).join('');
      }
      if (d) {
        const path = svg('path', { class: 'line ' + s.cls + (s.dashed ? ' dashed' : ''), d: d });
        path.append(svg('title', {}, s.label));
        root.append(path);
      }
    }
    if (!drawn) {
      root.append(svg('text', { class: 'no-data', x: m.l + pw / 2, y: m.t + ph / 2, 'text-anchor': 'middle' }, 'waiting for data…'));
    }
  }

  // legend shows each series' colour, name and latest value.
  function legend(root, series, fmt) {
    root.replaceChildren();
    for (const s of series) {
      if (s.noLegend) continue;
      const last = [...s.values].reverse().find(finite);
      const item = el('span', 'item');
      item.append(el('span', 'swatch ' + s.cls), el('span', null, s.label), el('span', 'value', fmt(last)));
      root.append(item);
    }
  }

  function chart(id, times, series, opts, fmt) {
    lineChart($('chart-' + id), times, series, opts);
    legend($('legend-' + id), series, fmt);
  }

  // ---- rendering -----------------------------------------------------

  function renderHeader(snap) {
    setText($('epoch'), String(snap.epoch));
    setText($('leader'), snap.leader || '–');
    setText($('updated'), fmtClock(snap.time_ms));
  }

  function renderStats(snap, rates) {
    const t = rates ? rates.total : null;
    setText($('stat-rps'), t ? fmtNum(t.requests_per_s) : '–');
    setText($('stat-l1'), t ? fmtPct(t.l1_ratio) : '–');
    setText($('stat-l2'), t ? fmtPct(t.l2_ratio) : '–');
    setText($('stat-l3'), t ? fmtPct(t.l3_ratio) : '–');
    setText($('stat-origin'), t ? fmtNum(t.origin_loads_per_s) : '–');
    setText($('stat-stale'), t ? fmtNum(t.stale_reads_per_s) : '–');
    let requests = 0, ryw = 0;
    for (const r of snap.regions || []) { requests += r.requests; ryw += r.ryw_violations; }
    setText($('stat-requests'), fmtInt(requests));
    setText($('stat-ryw'), fmtInt(ryw));
  }

  // keyed keeps one child element per key in parent, in items' order,
  // creating and removing as needed, so buttons stay put across
  // refreshes and a click is never lost to a re-render.
  function keyed(parent, items, keyOf, create, update) {
    const byKey = new Map();
    for (const child of parent.children) if (child.dataset.key != null) byKey.set(child.dataset.key, child);
    const keep = new Set();
    items.forEach((item, i) => {
      const key = keyOf(item);
      let node = byKey.get(key);
      if (!node) {
        node = create(item);
        node.dataset.key = key;
      }
      keep.add(node);
      if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
      update(node, item);
    });
    for (const child of [...parent.children]) if (!keep.has(child)) child.remove();
  }

  // badge keeps its role class (base) so later refreshes find it again,
  // and adds base-value for the colour.
  function badge(node, base, value, text) {
    const cls = 'badge ' + base + ' ' + base + '-' + value;
    if (node.className !== cls) node.className = cls;
    setText(node, text);
  }

  function renderTopology(snap, rates) {
    const rateOf = new Map(((rates && rates.regions) || []).map((r) => [r.name, r]));
    keyed($('topology'), snap.regions || [], (r) => r.name, createRegion, (box, r) => updateRegion(box, r, rateOf.get(r.name)));
  }

  function createRegion(r) {
    const box = el('section', 'region');
    box.dataset.region = r.name;
    const head = el('div', 'region-head');
    const partBadge = el('span', 'badge partitioned', 'partitioned');
    partBadge.hidden = true;
    const btn = el('button', 'btn');
    btn.type = 'button';
    btn.dataset.target = r.name;
    head.append(el('span', 'region-name', r.name), partBadge, btn);
    box.append(head, el('div', 'region-stats'), el('div', 'nodes'));
    return box;
  }

  function updateRegion(box, r, rr) {
    box.classList.toggle('partitioned', !!r.partitioned);
    setAttr(box, 'data-partitioned', String(!!r.partitioned));
    box.querySelector('.badge.partitioned').hidden = !r.partitioned;
    const btn = box.querySelector('.region-head .btn');
    setAttr(btn, 'data-action', r.partitioned ? 'heal-region' : 'partition-region');
    setAttr(btn, 'class', r.partitioned ? 'btn btn-ok' : 'btn btn-danger');
    setText(btn, r.partitioned ? 'heal' : 'partition');
    const stats = rr
      ? fmtNum(rr.requests_per_s) + ' req/s · L1 ' + fmtPct(rr.l1_ratio) + ' · L2 ' + fmtPct(rr.l2_ratio) +
        ' · L3 ' + fmtPct(rr.l3_ratio) + ' · origin ' + fmtNum(rr.origin_loads_per_s) + '/s · p99 ' + fmtMs(rr.p99_ms)
      : 'measuring…';
    setText(box.querySelector('.region-stats'), stats);
    keyed(box.querySelector('.nodes'), r.nodes || [], (n) => n.id, createNode, updateNode);
  }

  function createNode(n) {
    const row = el('div', 'node');
    row.dataset.node = n.id;
    const badges = el('span', 'badges');
    badges.append(el('span', 'badge tier'), document.createTextNode(' '), el('span', 'badge state'),
      document.createTextNode(' '), el('span', 'badge breaker'));
    const btn = el('button', 'btn');
    btn.type = 'button';
    btn.dataset.target = n.id;
    row.append(el('span', 'node-id', n.id), badges, el('span', 'node-keys'), btn);
    return row;
  }

  function updateNode(row, n) {
    const down = !n.running || n.state === 'down';
    row.classList.toggle('is-down', down);
    setAttr(row, 'data-state', n.state);
    setAttr(row, 'data-running', String(!!n.running));
    setAttr(row, 'data-breaker', n.breaker || '');
    row.querySelector('.node-id').title = n.addr || '';
    badge(row.querySelector('.badge.tier'), 'tier', n.tier, n.tier.toUpperCase());
    // A killed process shows at once; raftmeta marks it down when its
    // lease lapses, a few seconds later.
    const st = row.querySelector('.badge.state');
    if (n.running) badge(st, 'state', n.state, n.state);
    else badge(st, 'state', 'down', n.state === 'up' ? 'killed' : n.state);
    st.title = 'raftmeta: ' + n.state + ', process ' + (n.running ? 'running' : 'stopped');
    const br = row.querySelector('.badge.breaker');
    br.hidden = !n.breaker;
    if (n.breaker) badge(br, 'breaker', n.breaker, 'breaker ' + n.breaker);
    setText(row.querySelector('.node-keys'), fmtInt(n.keys) + ' keys');
    const btn = row.querySelector('button');
    setAttr(btn, 'data-action', n.running ? 'kill-node' : 'restart-node');
    setAttr(btn, 'class', n.running ? 'btn btn-danger' : 'btn btn-ok');
    setText(btn, n.running ? 'kill' : 'restart');
  }

  function tableRows(tbody, items, keyOf, cells, emptyText) {
    if (!items.length) {
      if (!tbody.querySelector('.empty')) {
        const tr = el('tr', 'empty');
        const td = el('td', null, emptyText);
        td.colSpan = 9;
        tr.append(td);
        tbody.replaceChildren(tr);
      }
      return;
    }
    const empty = tbody.querySelector('.empty');
    if (empty) empty.remove();
    keyed(tbody, items, keyOf, (item) => {
      const tr = el('tr');
      for (const c of cells) tr.append(c.create ? c.create(item) : el('td', c.cls || null));
      return tr;
    }, (tr, item) => {
      cells.forEach((c, i) => c.update(tr.children[i], item));
    });
  }

  function renderLinks(snap) {
    tableRows($('links'), snap.links || [], (l) => l.from + '→' + l.to, [
      { cls: 'nowrap', update: (td, l) => setText(td, l.from + ' → ' + l.to) },
      { create: () => { const td = el('td'); td.append(el('span', 'badge')); return td; },
        update: (td, l) => badge(td.firstChild, 'link', l.connected ? 'up' : 'down', l.connected ? 'up' : 'cut') },
      { cls: 'num', update: (td, l) => setText(td, fmtNum(l.rtt_ms)) },
      { cls: 'num', update: (td, l) => setText(td, fmtNum(l.lag_p50_ms)) },
      { cls: 'num', update: (td, l) => setText(td, fmtNum(l.lag_p99_ms)) },
      { cls: 'num', update: (td, l) => setText(td, fmtInt(l.backlog)) },
    ], 'no federation links');
  }

  function renderHotKeys(snap) {
    const hot = [...(snap.hot_keys || [])].sort((a, b) => b.rate - a.rate).slice(0, MAX_HOT_KEYS);
    tableRows($('hotkeys'), hot, (h) => h.region + '\u0000' + h.key, [
      { cls: 'key', update: (td, h) => setText(td, h.key) },
      { update: (td, h) => setText(td, h.region) },
      { cls: 'num', update: (td, h) => setText(td, fmtNum(h.rate)) },
      { create: (h) => {
          const td = el('td', 'num');
          const b = el('button', 'btn btn-warn', 'expire');
          b.type = 'button';
          b.dataset.action = 'expire-hot-key';
          b.dataset.target = h.key;
          td.append(b);
          return td;
        },
        update: () => {} },
    ], 'no hot keys right now');
  }

  function renderBreakers(snap) {
    const rows = [];
    for (const r of snap.regions || []) for (const n of r.nodes || []) if (n.breaker) rows.push({ region: r.name, node: n });
    tableRows($('breakers'), rows, (x) => x.node.id, [
      { update: (td, x) => setText(td, x.node.id) },
      { update: (td, x) => setText(td, x.region) },
      { create: () => { const td = el('td'); td.append(el('span', 'badge')); return td; },
        update: (td, x) => badge(td.firstChild, 'breaker', x.node.breaker, x.node.breaker) },
    ], 'no breakers reported');
  }

  function renderEvents(snap) {
    const events = snap.events || [];
    const last = events[events.length - 1];
    const key = events.length + ':' + (last ? last.time_ms + last.text : '');
    if (key === state.eventsKey) return;
    state.eventsKey = key;
    const list = $('events');
    list.replaceChildren();
    for (const ev of events.slice(-MAX_EVENTS).reverse()) {
      const li = el('li');
      const t = el('time', null, fmtClock(ev.time_ms));
      t.dateTime = new Date(ev.time_ms).toISOString();
      li.append(t, el('span', null, ev.text));
      list.append(li);
    }
    if (!events.length) list.append(el('li', 'hint', 'nothing yet'));
  }

  function renderCharts(hist, snap) {
    const times = hist.time_ms || [];
    const endMs = times.length ? times[times.length - 1] : snap.time_ms;
    const events = snap.events || [];
    const tot = hist.total;
    chart('hits', times, [
      { label: 'L1', cls: 'c-l1', values: tot.l1_ratio },
      { label: 'L2', cls: 'c-l2', values: tot.l2_ratio },
      { label: 'L3', cls: 'c-l3', values: tot.l3_ratio },
      { label: 'origin', cls: 'c-origin', values: tot.origin_ratio },
    ], { endMs, yMax: 1, fmtY: (v) => Math.round(v * 100) + '%', events }, fmtPct);

    const regions = hist.regions || [];
    chart('origin', times, [{ label: 'all regions', cls: 'c-origin', values: tot.origin_loads_per_s }]
      .concat(regions.map((r) => ({ label: r.name, cls: colorSlot(r.name), values: r.origin_loads_per_s, dashed: true }))),
      { endMs, events }, (v) => fmtNum(v) + '/s');

    chart('rps', times, regions.map((r) => ({ label: r.name, cls: colorSlot(r.name), values: r.requests_per_s })),
      { endMs, events }, (v) => fmtNum(v) + '/s');

    const lat = [];
    for (const r of regions) {
      lat.push({ label: r.name + ' p99', cls: colorSlot(r.name), values: r.p99_ms });
      lat.push({ label: r.name + ' p50', cls: colorSlot(r.name), values: r.p50_ms, dashed: true, noLegend: true });
    }
    chart('latency', times, lat, { endMs, events }, fmtMs);

    chart('lag', times, (hist.links || []).map((l) => ({ label: l.from + '→' + l.to, cls: colorSlot(l.from + '→' + l.to), values: l.lag_p99_ms })),
      { endMs, events }, fmtMs);
  }

  function render(resp, hist) {
    const snap = resp.snapshot;
    renderHeader(snap);
    renderStats(snap, resp.rates);
    renderTopology(snap, resp.rates);
    renderLinks(snap);
    renderHotKeys(snap);
    renderBreakers(snap);
    renderEvents(snap);
    if (hist) renderCharts(hist, snap);
  }

  // ---- polling and actions -------------------------------------------

  function setConn(kind, text) {
    const c = $('conn');
    c.className = 'conn conn-' + kind;
    setAttr(c, 'data-state', kind);
    setText(c, text);
  }

  async function getJSON(url) {
    const res = await fetch(url, { cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error((body && body.error) || res.status + ' ' + res.statusText);
    return body;
  }

  async function tick() {
    state.inflight = true;
    try {
      const [resp, hist] = await Promise.all([getJSON('/api/snapshot'), getJSON('/api/history?window_s=' + WINDOW_S)]);
      render(resp, hist);
      if (finite(resp.interval_ms)) state.intervalMs = Math.min(Math.max(resp.interval_ms, 250), 10000);
      setConn('live', 'live');
    } catch (e) {
      console.error('dashboard refresh failed:', e);
      setConn('lost', 'no data: ' + e.message);
    } finally {
      state.inflight = false;
      if (state.again) {
        state.again = false;
        tick();
      } else {
        state.timer = setTimeout(tick, state.intervalMs);
      }
    }
  }

  function refreshNow() {
    if (state.inflight) { state.again = true; return; }
    clearTimeout(state.timer);
    tick();
  }

  let toastTimer = 0;
  function toast(text, isError) {
    const t = $('toast');
    t.textContent = text;
    t.className = 'toast show' + (isError ? ' error' : '');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.className = 'toast' + (isError ? ' error' : ''); }, isError ? 6000 : 2500);
  }

  const actionNames = {
    'kill-node': 'kill', 'restart-node': 'restart', 'partition-region': 'partition',
    'heal-region': 'heal', 'expire-hot-key': 'expire',
  };

  async function act(btn) {
    const kind = btn.dataset.action;
    const target = btn.dataset.target || '';
    const what = (actionNames[kind] || kind) + ' ' + (target || 'the trending key');
    btn.disabled = true;
    try {
      const res = await fetch('/api/action', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ kind, target }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error((body && body.error) || res.status + ' ' + res.statusText);
      toast(what + ': done');
    } catch (e) {
      toast(what + ' failed: ' + e.message, true);
    } finally {
      btn.disabled = false;
      refreshNow();
    }
  }

  document.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-action]');
    if (btn && !btn.disabled) act(btn);
  });

  tick();
})();
