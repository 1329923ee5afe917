// parts/timeline.js — the Profiles page's activity timeline: samples per time bucket as bars on
// a canvas, and a drag across it that selects a sub-range (onSelect(start, end) in seconds).
import { h } from '../dom.js';
import { parseApiTime, showTime } from '../time.js';

const H = 56;

export function timeline(points, start, end, onSelect) {
  const wrap = h('div', { class: 'ap-stat ap-activity ap-timeline', id: 'ap-activity', title: 'samples per time bucket; drag across to select a sub-range' });
  const label = h('div', { class: 'ap-stat-k', text: `Activity · ${span(start, end)} · drag to zoom into a range` });
  const box = h('div', { class: 'ap-timeline-box' });
  const c = h('canvas', { class: 'ap-activity-canvas', id: 'ap-timeline' });
  const brush = h('div', { class: 'ap-brush', id: 'ap-brush', hidden: true });
  box.append(c, brush);
  wrap.append(label, box);
  const pts = points.map((p) => ({ t: parseApiTime(p.time || ''), v: Number(p.samples) || 0 })).filter((p) => p.t !== null);
  const max = Math.max(1, ...pts.map((p) => p.v));
  const step = pts.length > 1 ? Math.min(...pts.slice(1).map((p, i) => p.t - pts[i].t).filter((x) => x > 0)) : 0;
  const total = Math.max(1, end - start);

  function draw() {
    const W = Math.max(200, box.clientWidth || 600);
    const dpr = window.devicePixelRatio || 1;
    c.width = W * dpr;
    c.height = H * dpr;
    c.style.width = `${W}px`;
    c.style.height = `${H}px`;
    const ctx = c.getContext('2d');
    ctx.scale(dpr, dpr);
    ctx.fillStyle = '#eadfd5';
    ctx.fillRect(0, H - 1, W, 1);
    ctx.fillStyle = '#f26b21';
    const bw = Math.max(2, step > 0 ? (step / total) * W - 1 : 4);
    for (const p of pts) {
      const x = ((p.t - start) / total) * W;
      const bh = Math.max(1, (p.v / max) * (H - 6));
      ctx.fillRect(Math.max(0, Math.min(W - bw, x)), H - 1 - bh, bw, bh);
    }
  }
  requestAnimationFrame(draw);

  let from = null;
  const xOf = (e) => Math.max(0, Math.min(c.clientWidth, e.clientX - c.getBoundingClientRect().left));
  const timeOf = (x) => Math.round(start + (x / Math.max(1, c.clientWidth)) * total);
  const show = (a, b) => {
    brush.hidden = false;
    brush.style.left = `${Math.min(a, b)}px`;
    brush.style.width = `${Math.abs(b - a)}px`;
    label.textContent = `Selecting ${span(timeOf(Math.min(a, b)), timeOf(Math.max(a, b)))}`;
  };
  c.addEventListener('pointerdown', (e) => {
    from = xOf(e);
    c.setPointerCapture(e.pointerId);
    show(from, from);
  });
  c.addEventListener('pointermove', (e) => { if (from !== null) show(from, xOf(e)); });
  c.addEventListener('pointerup', (e) => {
    if (from === null) return;
    const a = Math.min(from, xOf(e)), b = Math.max(from, xOf(e));
    from = null;
    brush.hidden = true;
    if (b - a < 3) { label.textContent = `Activity · ${span(start, end)} · drag to zoom into a range`; return; }
    const t0 = timeOf(a), t1 = timeOf(b);
    if (t1 - t0 >= 60) onSelect(t0, t1);
    else onSelect(Math.round((t0 + t1) / 2) - 30, Math.round((t0 + t1) / 2) + 30); // at least a minute
  });
  return wrap;
}

function span(a, b) {
  const cut = b - a > 72000 ? 5 : 11;
  return `${showTime(a).slice(cut)} → ${showTime(b).slice(cut)}`;
}
