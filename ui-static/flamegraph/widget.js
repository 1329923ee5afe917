// flamegraph/widget.js — the flame graph's canvas widget (FlameGraph): virtual scrolling,
// zoom, search highlight, tooltips, flame/icicle, and the colours of frames.
// Inlined into HTML exports after model.js (common/html.c drops the import lines).
import { isHypervisorFrame, fmtNum, fmtPct } from './model.js';

const ROW_H = 18;
const MIN_PX = 1; // nodes narrower than this are merged with their narrow neighbours
const LABEL_MIN_PX = 26;
const FONT = '12px ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

// ---------------------------------------------------------------------------------------
// Colours: warm hues by a stable hash of the name; kernel frames amber, processes deep red.

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}

export function frameColor(name, depth) {
  const h = hash(name);
  const v1 = (h & 0xff) / 255, v2 = ((h >>> 8) & 0xff) / 255, v3 = ((h >>> 16) & 0xff) / 255;
  if (depth === 1) return `hsl(${(8 + v1 * 10).toFixed(1)}, 62%, ${(58 + v2 * 6).toFixed(1)}%)`;
  if (name.endsWith('_[k]')) return `hsl(${(36 + v1 * 10).toFixed(1)}, ${(70 + v2 * 15).toFixed(0)}%, ${(60 + v3 * 8).toFixed(1)}%)`;
  if (/_\[(p|pn|j|i|0|1|rb|php|net)\]$/.test(name)) return `hsl(${(48 + v1 * 10).toFixed(1)}, ${(68 + v2 * 15).toFixed(0)}%, ${(58 + v3 * 8).toFixed(1)}%)`;
  return `hsl(${(2 + v1 * 40).toFixed(1)}, ${(78 + v2 * 14).toFixed(0)}%, ${(60 + v3 * 8).toFixed(1)}%)`;
}

function diffColor(t, i) {
  const a = t.value[0] || 1, b = t.before[0] || 1;
  const d = t.value[i] / a - t.before[i] / b; // change in share of all samples
  const s = Math.min(1, Math.abs(d) * 20);
  if (d > 0) return `hsl(4, ${(20 + 65 * s).toFixed(0)}%, ${(86 - 30 * s).toFixed(1)}%)`;
  return `hsl(214, ${(20 + 60 * s).toFixed(0)}%, ${(88 - 30 * s).toFixed(1)}%)`;
}

// Colour by frame kind (setColorMode('kind')): one hue family per kind, shade by name.
export const KIND_COLORS = { native: '#e8845c', kernel: '#e6b34a', python: '#5aa469', jit: '#4f8fd6' };
const KIND_HSL = [[14, 72, 62], [40, 75, 60], [130, 34, 52], [212, 60, 60]];
export function kindColor(kind, name) {
  const [h, s, l] = KIND_HSL[kind] || KIND_HSL[0];
  const v = (hash(name) & 0xff) / 255;
  return `hsl(${(h + v * 10 - 5).toFixed(1)}, ${s}%, ${(l + v * 8 - 4).toFixed(1)}%)`;
}

const MATCH_COLOR = '#c026d3';
const MERGED_COLOR = '#e8d9c8';

// A small element helper, shared with the viewer page (viewer.js).
export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------------------------------
// The canvas widget.

export class FlameGraph {
  constructor(host, tree, opts = {}) {
    this.t = tree;
    this.opts = opts;
    this.mode = opts.mode === 'icicle' ? 'icicle' : 'flame';
    this.colorMode = opts.colorMode === 'kind' ? 'kind' : 'name';
    this.zoom = 0;
    this.hover = -1;
    this.matchName = null; // Uint8Array per name id, or null
    this.matchRe = null;
    this.lastRenderMs = 0;
    this.renders = 0;
    this.listeners = {};
    this.colors = new Array(tree.names.length);
    this.runStart = new Float64Array(tree.maxDepth + 2);
    this.runEnd = new Float64Array(tree.maxDepth + 2).fill(-1);

    this.scroller = el('div', 'gp-graph');
    this.canvas = el('canvas', 'gp-canvas');
    this.spacer = el('div', 'gp-spacer');
    this.scroller.append(this.canvas, this.spacer);
    this.tip = el('div', 'gp-tooltip');
    this.tip.hidden = true;
    host.append(this.scroller);
    document.body.append(this.tip);
    this.ctx = this.canvas.getContext('2d');

    this.scroller.addEventListener('scroll', () => this.requestDraw());
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => this.setHover(-1));
    this.canvas.addEventListener('click', (e) => {
      const i = this.hit(e);
      if (i < 0) return;
      this.zoomTo(i);
      this.emit('click', this.frameInfo(i));
    });
    this.canvas.addEventListener('dblclick', () => this.zoomTo(0));
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `Flame graph of ${fmtNum(tree.value[0])} samples; the table below lists the top functions`);
    if (typeof ResizeObserver !== 'undefined') {
      this.ro = new ResizeObserver(() => this.layout());
      this.ro.observe(this.scroller);
    }
    this.onResize = () => this.layout();
    window.addEventListener('resize', this.onResize);
    this.layout();
    if (this.mode === 'flame') this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // Swaps in another tree of the same profile (the full tree after a pruned first paint,
  // viewer.js): the zoomed frame (by its path of names), the search, the mode and the distance
  // of the view from the graph's base are kept. Emits 'tree'.
  setTree(tree) {
    const old = this.t;
    const zoomPath = this.zoom > 0 ? this.path(this.zoom).slice(1).map((k) => old.names[old.name[k]]) : [];
    const base = this.mode === 'flame' ? this.scroller.scrollHeight - this.scroller.scrollTop : this.scroller.scrollTop;
    this.t = tree;
    this.colors = new Array(tree.names.length);
    this.kindColors = null;
    this.runMatch = null;
    this.runStart = new Float64Array(tree.maxDepth + 2);
    this.runEnd = new Float64Array(tree.maxDepth + 2).fill(-1);
    this.hover = -1;
    this.tip.hidden = true;
    let z = 0;
    for (const want of zoomPath) {
      let c = z + 1, found = -1;
      while (c < tree.end[z]) { if (tree.names[tree.name[c]] === want) { found = c; break; } c = tree.end[c]; }
      if (found < 0) break;
      z = found;
    }
    this.zoom = z;
    this.canvas.setAttribute('aria-label', `Flame graph of ${fmtNum(tree.value[0])} samples; the table below lists the top functions`);
    this.layout();
    this.scroller.scrollTop = this.mode === 'flame' ? this.scroller.scrollHeight - base : base;
    if (this.matchRe) this.search(this.lastSearch.pattern, this.matchRe.flags);
    this.emit('tree', tree);
    this.emit('zoom', z);
  }

  // Removes the widget, its tooltip and its window listeners (before mounting another tree).
  destroy() {
    if (this.ro) this.ro.disconnect();
    window.removeEventListener('resize', this.onResize);
    this.scroller.remove();
    this.tip.remove();
    this.listeners = {};
    this.destroyed = true;
  }

  // Events: 'zoom' (node index), 'click' (a frame clicked: frameInfo), 'search' (the result of
  // search() with its pattern), 'mode', 'colormode'. 'click' and 'search' are also dispatched on
  // the widget's element as bubbling DOM events 'gp-frameclick' and 'gp-search' (detail = the
  // same object), so a page can listen on any ancestor.
  on(ev, fn) { (this.listeners[ev] = this.listeners[ev] || []).push(fn); }
  emit(ev, arg) {
    for (const fn of this.listeners[ev] || []) fn(arg);
    const dom = ev === 'click' ? 'gp-frameclick' : ev === 'search' ? 'gp-search' : null;
    if (dom && typeof CustomEvent !== 'undefined') this.scroller.dispatchEvent(new CustomEvent(dom, { bubbles: true, detail: arg }));
  }

  // {index, name, path (frame names from the root's child down), samples, percent} of node i
  frameInfo(i) {
    const t = this.t;
    const path = this.path(i).slice(1).map((k) => t.names[t.name[k]]);
    return { index: i, name: t.names[t.name[i]], path, samples: t.value[i], percent: (100 * t.value[i]) / (t.value[0] || 1) };
  }

  rows() { return this.t.maxDepth + 1; }

  layout() {
    const total = this.rows() * ROW_H;
    const avail = Math.max(240, Math.floor(window.innerHeight * 0.62));
    this.viewH = Math.min(total, avail);
    this.scroller.style.height = this.viewH + 'px';
    this.spacer.style.height = total + 'px';
    this.requestDraw();
  }

  requestDraw() {
    if (this.pending || this.destroyed) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  rowOf(depth) { return this.mode === 'icicle' ? depth : this.rows() - 1 - depth; }

  color(i) {
    const t = this.t;
    if (this.matchName && this.matchName[t.name[i]]) return MATCH_COLOR;
    if (t.diff) return diffColor(t, i);
    const id = t.name[i];
    if (this.colorMode === 'kind' && t.kind && t.depth[i] > 1) {
      const kc = this.kindColors || (this.kindColors = new Array(t.names.length));
      return kc[id] || (kc[id] = kindColor(t.kind[i], t.names[id]));
    }
    return this.colors[id] || (this.colors[id] = frameColor(t.names[id], t.depth[i]));
  }

  draw() {
    const t0 = performance.now();
    const t = this.t, ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const W = this.scroller.clientWidth, H = this.viewH;
    if (W <= 0) return;
    if (this.canvas.width !== Math.round(W * dpr) || this.canvas.height !== Math.round(H * dpr)) {
      this.canvas.width = Math.round(W * dpr);
      this.canvas.height = Math.round(H * dpr);
      this.canvas.style.width = W + 'px';
      this.canvas.style.height = H + 'px';
    }
    const top = this.scroller.scrollTop;
    this.canvas.style.transform = `translateY(${top}px)`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    if (!this.charW) this.charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz_ABCDEF').width / 33;

    const z = this.zoom;
    const x0 = t.x[z], span = t.value[z] || 1;
    const scale = W / span;
    const firstRow = Math.floor(top / ROW_H), lastRow = Math.ceil((top + H) / ROW_H);
    const visible = (d) => { const r = this.rowOf(d); return r >= firstRow - 1 && r <= lastRow; };
    const y = (d) => this.rowOf(d) * ROW_H - top;
    let drawn = 0;

    // ancestors of the zoomed node span the full width, faded
    for (let a = t.parent[z]; a >= 0; a = t.parent[a]) {
      if (!visible(t.depth[a])) continue;
      this.rect(a, 0, W, y(t.depth[a]), 0.55);
      drawn++;
    }
    // the zoomed subtree; pruned below 1px and below the last visible row (icicle)
    const runStart = this.runStart, runEnd = this.runEnd;
    runEnd.fill(-1);
    const runMatch = this.runMatch || (this.runMatch = new Uint8Array(t.maxDepth + 2));
    const m = this.matchName;
    const flush = (d) => {
      if (runEnd[d] >= 0) {
        if (runEnd[d] - runStart[d] >= MIN_PX && visible(d)) {
          ctx.fillStyle = runMatch[d] ? MATCH_COLOR : MERGED_COLOR;
          ctx.fillRect(runStart[d], y(d) + 0.5, runEnd[d] - runStart[d], ROW_H - 1);
        }
        runEnd[d] = -1;
      }
    };
    const end = t.end[z];
    // deeper rows than the last visible one are skipped with their subtrees (in either mode)
    const maxVisDepth = this.mode === 'icicle' ? lastRow : this.rows() - firstRow;
    for (let i = z; i < end;) {
      const d = t.depth[i];
      const px = (t.x[i] - x0) * scale, pw = t.value[i] * scale;
      if (d > maxVisDepth) { i = t.end[i]; continue; }
      if (pw < MIN_PX) {
        if (runEnd[d] >= 0 && px - runEnd[d] < 0.5) runEnd[d] = px + pw;
        else { flush(d); runStart[d] = px; runEnd[d] = px + pw; runMatch[d] = 0; }
        if (m && m[t.name[i]]) runMatch[d] = 1;
        i = t.end[i];
        continue;
      }
      flush(d);
      if (visible(d)) { this.rect(i, px, pw, y(d), 1); drawn++; }
      i++;
    }
    for (let d = 0; d <= t.maxDepth; d++) flush(d);
    if (this.hover >= 0) this.outline(this.hover, x0, scale, y);
    this.lastDrawn = drawn;
    this.lastRenderMs = performance.now() - t0;
    this.renders++;
  }

  rect(i, px, pw, py, alpha) {
    const ctx = this.ctx, t = this.t;
    ctx.globalAlpha = alpha;
    ctx.fillStyle = this.color(i);
    const w = pw > 2 ? pw - 1 : pw;
    ctx.fillRect(px, py + 0.5, w, ROW_H - 1);
    if (pw >= LABEL_MIN_PX) {
      const name = t.names[t.name[i]];
      const room = pw - 8;
      const fit = Math.floor(room / this.charW);
      if (fit >= 2) {
        const label = name.length > fit ? name.slice(0, fit - 1) + '…' : name;
        ctx.fillStyle = (this.matchName && this.matchName[t.name[i]]) ? '#fff' : '#2b1a12';
        ctx.fillText(label, px + 4, py + ROW_H / 2 + 0.5, room);
      }
    }
    ctx.globalAlpha = 1;
  }

  outline(i, x0, scale, y) {
    const t = this.t, ctx = this.ctx;
    const isAnc = i < this.zoom || i >= t.end[this.zoom];
    const px = isAnc ? 0 : (t.x[i] - x0) * scale;
    const pw = isAnc ? this.scroller.clientWidth : t.value[i] * scale;
    ctx.strokeStyle = '#1f1410';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(px + 0.75, y(t.depth[i]) + 1.25, Math.max(1, pw - 2.5), ROW_H - 2.5);
  }

  // node under a mouse event, or -1
  hit(e) {
    const r = this.canvas.getBoundingClientRect();
    return this.nodeAt(e.clientX - r.left, e.clientY - r.top);
  }

  nodeAt(cx, cy) {
    const t = this.t;
    const row = Math.floor((cy + this.scroller.scrollTop) / ROW_H);
    const d = this.mode === 'icicle' ? row : this.rows() - 1 - row;
    if (d < 0 || d > t.maxDepth) return -1;
    const z = this.zoom;
    if (d < t.depth[z]) {
      let a = z;
      while (t.depth[a] > d) a = t.parent[a];
      return a;
    }
    const W = this.scroller.clientWidth;
    const xs = t.x[z] + (cx / W) * (t.value[z] || 1);
    let i = z;
    while (t.depth[i] < d) {
      let c = i + 1, found = -1;
      while (c < t.end[i]) {
        if (xs >= t.x[c] && xs < t.x[c] + t.value[c]) { found = c; break; }
        c = t.end[c];
      }
      if (found < 0) return -1;
      i = found;
    }
    return (t.value[i] / (t.value[z] || 1)) * W >= MIN_PX ? i : -1;
  }

  onMove(e) {
    const i = this.hit(e);
    this.setHover(i);
    if (i < 0) { this.tip.hidden = true; return; }
    this.showTip(i, e.clientX, e.clientY);
  }

  setHover(i) {
    if (i === this.hover) return;
    this.hover = i;
    if (i < 0) this.tip.hidden = true;
    this.canvas.style.cursor = i >= 0 ? 'pointer' : 'default';
    this.requestDraw();
  }

  showTip(i, mx, my) {
    const t = this.t, tip = this.tip;
    const total = t.value[0] || 1;
    const par = t.parent[i] >= 0 ? t.value[t.parent[i]] : t.value[i];
    tip.replaceChildren();
    tip.append(el('div', 'gp-tip-name', t.names[t.name[i]]));
    const grid = el('div', 'gp-tip-grid');
    const row = (k, v) => { grid.append(el('span', 'gp-tip-k', k), el('span', 'gp-tip-v', v)); };
    row('Samples', fmtNum(t.value[i]));
    row('% of total', fmtPct((100 * t.value[i]) / total));
    row('% of parent', fmtPct((100 * t.value[i]) / (par || 1)));
    row('Self', `${fmtNum(t.self[i])} (${fmtPct((100 * t.self[i]) / total)})`);
    if (this.opts.frequency) row('CPU time', `${(t.value[i] / this.opts.frequency).toFixed(2)} s`);
    if (isHypervisorFrame(t.names[t.name[i]])) row('Note', 'hypervisor frame: the guest kernel calling into the hypervisor, not your code');
    if (t.diff) {
      const b = t.before[i], bt = t.before[0] || 1;
      row('Before', `${fmtNum(b)} (${fmtPct((100 * b) / bt)})`);
      row('After', `${fmtNum(t.value[i])} (${fmtPct((100 * t.value[i]) / total)})`);
    }
    tip.append(grid);
    tip.hidden = false;
    const tw = tip.offsetWidth, th = tip.offsetHeight;
    let left = mx + 14, topPx = my + 16;
    if (left + tw > window.innerWidth - 8) left = Math.max(8, mx - tw - 14);
    if (topPx + th > window.innerHeight - 8) topPx = Math.max(8, my - th - 12);
    tip.style.left = left + 'px';
    tip.style.top = topPx + 'px';
  }

  zoomTo(i) {
    if (i < 0 || i >= this.t.n) return;
    this.zoom = i;
    this.emit('zoom', i);
    this.requestDraw();
  }

  // 'name' (warm hues by name, the default) or 'kind' (by frame kind: native, kernel, python,
  // jit; see KIND_COLORS for a legend). Diff trees keep their diff colours.
  setColorMode(mode) {
    const m = mode === 'kind' ? 'kind' : 'name';
    if (m === this.colorMode) return;
    this.colorMode = m;
    this.emit('colormode', m);
    this.requestDraw();
  }

  // Samples per frame kind (nested frames of one kind counted once), for a legend.
  kindTotals() {
    const t = this.t, out = {};
    for (const k of t.kinds || []) out[k] = 0;
    if (!t.kind) return out;
    const open = new Int32Array((t.kinds || []).length);
    const stack = [];
    for (let i = 1; i < t.n; i++) {
      while (stack.length && t.end[stack[stack.length - 1]] <= i) open[t.kind[stack.pop()]]--;
      if (t.depth[i] < 2) continue; // comm (and container) levels have no kind
      const k = t.kind[i];
      if (!open[k]) out[t.kinds[k]] += t.value[i];
      open[k]++;
      stack.push(i);
    }
    return out;
  }

  setMode(mode) {
    if (mode === this.mode) return;
    const t = this.t;
    // keep the zoomed node's row in view across the flip
    const before = this.rowOf(t.depth[this.zoom]) * ROW_H - this.scroller.scrollTop;
    this.mode = mode;
    this.scroller.scrollTop = this.rowOf(t.depth[this.zoom]) * ROW_H - before;
    if (mode === 'flame' && this.zoom === 0) this.scroller.scrollTop = this.scroller.scrollHeight;
    if (mode === 'icicle' && this.zoom === 0) this.scroller.scrollTop = 0;
    this.emit('mode', mode);
    this.requestDraw();
  }

  // Sets the search; returns {ok, error, samples, percent}. Empty pattern clears.
  search(pattern, flags = 'i') {
    const t = this.t;
    if (!pattern) {
      this.matchName = null;
      this.matchRe = null;
      this.requestDraw();
      this.lastSearch = { ok: true, samples: 0, percent: 0, empty: true, pattern: '' };
      this.emit('search', this.lastSearch);
      return this.lastSearch;
    }
    let re;
    try { re = new RegExp(pattern, flags); } catch (e) {
      this.lastSearch = { ok: false, error: e.message, pattern };
      this.emit('search', this.lastSearch);
      return this.lastSearch;
    }
    const m = new Uint8Array(t.names.length);
    for (let id = 0; id < t.names.length; id++) m[id] = re.test(t.names[id]) ? 1 : 0;
    m[t.name[0]] = 0; // the synthetic root never matches
    let sum = 0;
    for (let i = 1; i < t.n;) {
      if (m[t.name[i]]) { sum += t.value[i]; i = t.end[i]; } else i++;
    }
    this.matchName = m;
    this.matchRe = re;
    this.requestDraw();
    const total = t.value[0] || 1;
    let names = 0;
    for (let id = 0; id < m.length; id++) names += m[id];
    this.lastSearch = { ok: true, samples: sum, percent: (100 * sum) / total, names, pattern };
    this.emit('search', this.lastSearch);
    return this.lastSearch;
  }

  path(i) {
    const out = [];
    for (let a = i; a >= 0; a = this.t.parent[a]) out.unshift(a);
    return out;
  }

  // Centre of node i in client coordinates when drawn (for tests and keyboard use), or null.
  nodeCenter(i) {
    const t = this.t, z = this.zoom;
    const W = this.scroller.clientWidth;
    const r = this.canvas.getBoundingClientRect();
    let px, pw;
    if (i < z || i >= t.end[z]) { px = 0; pw = W; } else {
      px = ((t.x[i] - t.x[z]) / (t.value[z] || 1)) * W;
      pw = (t.value[i] / (t.value[z] || 1)) * W;
    }
    const yy = this.rowOf(t.depth[i]) * ROW_H - this.scroller.scrollTop + ROW_H / 2;
    if (pw < MIN_PX || yy < 0 || yy > this.viewH) return null;
    return { x: r.left + px + pw / 2, y: r.top + yy };
  }

  findNode(name) {
    const t = this.t;
    let best = -1;
    for (let i = 0; i < t.n; i++) {
      if (t.names[t.name[i]] === name && (best < 0 || t.value[i] > t.value[best])) best = i;
    }
    return best;
  }

  scrollToNode(i) {
    const yy = this.rowOf(this.t.depth[i]) * ROW_H;
    if (yy < this.scroller.scrollTop || yy + ROW_H > this.scroller.scrollTop + this.viewH) {
      this.scroller.scrollTop = yy - this.viewH / 2;
    }
    this.draw();
  }
}
