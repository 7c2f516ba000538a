// tiercache dashboard, trace card: POSTs /api/trace for one read from the
// chosen region and draws its spans as a waterfall (one row per span,
// indented under its parent, its bar on the trace's time axis).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const card = $('card-trace');
  if (!card) return;
  const regionSel = $('trace-region');
  const btn = $('trace-get');
  const summary = $('trace-summary');
  const fall = $('trace-waterfall');

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // The regions come from the snapshot; retried until there are some.
  async function loadRegions() {
    try {
      const res = await fetch('/api/snapshot', { cache: 'no-store' });
      const body = await res.json();
      const names = ((body.snapshot && body.snapshot.regions) || []).map((r) => r.name);
      if (names.length === 0) throw new Error('no regions yet');
      regionSel.replaceChildren(...names.map((n) => { const o = el('option', '', n); o.value = n; return o; }));
    } catch (e) {
      setTimeout(loadRegions, 2000);
    }
  }

  // order lists the spans depth first (children after their parent, by
  // start), with each one's depth.
  function order(spans) {
    const kids = new Map();
    const roots = [];
    spans.forEach((s, i) => {
      const p = s.parent;
      if (p >= 0 && p < spans.length && p !== i) {
        if (!kids.has(p)) kids.set(p, []);
        kids.get(p).push(i);
      } else {
        roots.push(i);
      }
    });
    const byStart = (a, b) => spans[a].start_ms - spans[b].start_ms;
    const out = [];
    const seen = new Set();
    const visit = (i, depth) => {
      if (seen.has(i)) return;
      seen.add(i);
      out.push({ i, depth });
      (kids.get(i) || []).sort(byStart).forEach((k) => visit(k, depth + 1));
    };
    roots.sort(byStart).forEach((r) => visit(r, 0));
    return out;
  }

  function draw(tr) {
    const spans = tr.spans || [];
    const total = Math.max(tr.duration_ms || 0, 0.001);
    const regions = new Set(spans.map((s) => s.region));
    summary.textContent = 'trace ' + tr.trace_id.slice(0, 8) + '… of ' + tr.key + ' from ' + tr.region + ': ' +
      spans.length + ' spans, ' + total.toFixed(1) + ' ms, ' + regions.size + ' region' + (regions.size === 1 ? '' : 's');
    fall.dataset.traceId = tr.trace_id;
    fall.replaceChildren(...order(spans).map(({ i, depth }) => {
      const s = spans[i];
      const row = el('div', 'trace-row');
      row.setAttribute('role', 'listitem');
      row.dataset.span = s.name;
      row.dataset.service = s.service;
      const label = el('div', 'trace-label');
      label.style.paddingLeft = (depth * 12) + 'px';
      label.append(el('span', '', s.name + ' '), el('span', 'trace-where', (s.node ? s.node + ' · ' : '') + s.region));
      const attrs = Object.entries(s.attrs || {}).map(([k, v]) => k + '=' + v).join(' ');
      label.title = s.service + ' ' + s.kind + ' ' + attrs + (s.error ? ' error: ' + s.error : '');
      const lane = el('div', 'trace-lane');
      const left = (100 * s.start_ms) / total;
      const width = (100 * s.duration_ms) / total;
      const bar = el('div', 'trace-bar svc-' + s.service + (s.error ? ' failed' : ''));
      bar.style.left = left + '%';
      bar.style.width = width + '%';
      bar.title = label.title;
      // The duration goes after the bar; near the right edge, inside a
      // long bar or before a short one.
      const atEdge = left + width > 85;
      const where = !atEdge ? 'after' : width >= 15 ? 'inside' : 'before';
      const msText = el('span', 'trace-ms ' + where, s.duration_ms.toFixed(1) + ' ms');
      if (where === 'before') msText.style.right = (100 - left) + '%';
      else msText.style.left = (where === 'inside' ? left : left + width) + '%';
      lane.append(bar, msText);
      row.append(label, lane);
      return row;
    }));
  }

  async function traceOnce() {
    btn.disabled = true;
    summary.textContent = 'tracing a read from ' + regionSel.value + '…';
    try {
      const res = await fetch('/api/trace', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ region: regionSel.value, key: '' }),
      });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error((body && body.error) || res.status + ' ' + res.statusText);
      draw(body.trace);
    } catch (e) {
      summary.textContent = 'trace failed: ' + e.message;
      fall.replaceChildren();
    } finally {
      btn.disabled = false;
    }
  }

  btn.addEventListener('click', () => { if (!btn.disabled) traceOnce(); });
  loadRegions();
})();
