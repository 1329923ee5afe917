// flamegraph.js — gprof's canvas flame graph: the tree model (from collapsed stacks or
// Performance Studio's tree JSON), the canvas widget and the viewer page around it.
// No imports and no build step: this file is served as an ES module and also inlined
// into every self-contained HTML export (common/html.c), so it must never contain the
// text that closes a script element or opens an HTML comment.

const ROW_H = 18;
const MIN_PX = 1; // nodes narrower than this are merged with their narrow neighbours
const LABEL_MIN_PX = 26;
const FONT = '12px ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

// ---------------------------------------------------------------------------------------
// Tree model: nodes in pre-order in typed arrays; end[i] is one past i's last descendant,
// so a subtree is skipped with `i = end[i]`. x[i] is the node's left edge in samples.

const NAME_SPAN = 16777216; // child key = parent * NAME_SPAN + name id (exact below 2^53)

class Builder {
  constructor() {
    this.names = [];
    this.nameIds = new Map();
    this.keys = new Map(); // parent * NAME_SPAN + name -> node
    this.cap = 1024;
    this.count = 0;
    this.nName = new Int32Array(this.cap);
    this.nParent = new Int32Array(this.cap);
    this.nValue = new Float64Array(this.cap);
    this.nBefore = new Float64Array(this.cap);
    this.root = this.node(-1, this.intern('all'));
  }
  intern(s) {
    let id = this.nameIds.get(s);
    if (id === undefined) {
      id = this.names.length;
      if (id >= NAME_SPAN) throw new Error('too many distinct frame names');
      this.names.push(s);
      this.nameIds.set(s, id);
    }
    return id;
  }
  node(parent, name) {
    if (this.count === this.cap) {
      this.cap *= 2;
      const grow = (a, T) => { const b = new T(this.cap); b.set(a); return b; };
      this.nName = grow(this.nName, Int32Array);
      this.nParent = grow(this.nParent, Int32Array);
      this.nValue = grow(this.nValue, Float64Array);
      this.nBefore = grow(this.nBefore, Float64Array);
    }
    const i = this.count++;
    this.nName[i] = name;
    this.nParent[i] = parent;
    return i;
  }
  child(parent, name) {
    const id = this.intern(name);
    const key = parent * NAME_SPAN + id;
    let c = this.keys.get(key);
    if (c === undefined) {
      c = this.node(parent, id);
      this.keys.set(key, c);
    }
    return c;
  }
  // Flattens into pre-order typed arrays, children ordered by name (as Performance Studio does).
  finish(diff) {
    const names = this.names, count = this.count;
    const order = names.map((_, i) => i).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    const rank = new Int32Array(names.length);
    order.forEach((id, r) => { rank[id] = r; });
    this.keys = null;
    // children lists: bucket node ids by (rank) then by parent, so each list comes out sorted
    const byRank = new Int32Array(count - 1);
    const rcount = new Int32Array(names.length + 1);
    for (let i = 1; i < count; i++) rcount[rank[this.nName[i]] + 1]++;
    for (let r = 0; r < names.length; r++) rcount[r + 1] += rcount[r];
    for (let i = 1; i < count; i++) byRank[rcount[rank[this.nName[i]]]++] = i;
    const nkids = new Int32Array(count + 1);
    for (let i = 1; i < count; i++) nkids[this.nParent[i] + 1]++;
    for (let i = 0; i < count; i++) nkids[i + 1] += nkids[i];
    const kidStart = nkids.slice(0, count);
    const kids = new Int32Array(Math.max(1, count - 1));
    for (let k = 0; k < byRank.length; k++) { const i = byRank[k]; kids[nkids[this.nParent[i]]++] = i; }
    // kids of node i: kids[kidStart[i] .. nkids[i]) in name order

    const t = {
      names, n: count, diff: !!diff,
      name: new Int32Array(count), value: new Float64Array(count), self: new Float64Array(count),
      before: diff ? new Float64Array(count) : null,
      x: new Float64Array(count), depth: new Int32Array(count), end: new Int32Array(count),
      parent: new Int32Array(count), maxDepth: 0,
    };
    // iterative pre-order over builder ids; pos maps builder id -> output index
    const pos = new Int32Array(count);
    const stack = new Int32Array(count + 1);
    const xs = new Float64Array(count);
    let sp = 0, k = 0;
    stack[sp++] = this.root;
    xs[this.root] = 0;
    const open = []; // output indices whose end is pending, with their last descendant check
    while (sp) {
      const b = stack[--sp];
      const i = k++;
      pos[b] = i;
      const p = this.nParent[b];
      const d = p < 0 ? 0 : t.depth[pos[p]] + 1;
      while (open.length && t.depth[open[open.length - 1]] >= d) t.end[open.pop()] = i;
      open.push(i);
      t.name[i] = this.nName[b];
      t.value[i] = this.nValue[b];
      t.parent[i] = p < 0 ? -1 : pos[p];
      t.depth[i] = d;
      t.x[i] = xs[b];
      if (diff) t.before[i] = this.nBefore[b];
      if (d > t.maxDepth) t.maxDepth = d;
      let cx = xs[b], childSum = 0;
      for (let c = kidStart[b]; c < nkids[b]; c++) { const kid = kids[c]; xs[kid] = cx; cx += this.nValue[kid]; childSum += this.nValue[kid]; }
      for (let c = nkids[b] - 1; c >= kidStart[b]; c--) stack[sp++] = kids[c];
      t.self[i] = Math.max(0, this.nValue[b] - childSum);
    }
    while (open.length) t.end[open.pop()] = k;
    return t;
  }
}

// Collapsed stacks "comm;frame;…;frame count" (root first), one per line. A leading
// "# {json}" header line is skipped, and gProfiler's "<app_idx>;<container>;" prefix is
// dropped when the first stack line has one (as gProfiler's own HTML does). Returns the
// tree; bad lines are counted, not fatal.
export function parseCollapsed(text) {
  const b = new Builder();
  const val = () => b.nValue;
  let bad = 0;
  let start = 0;
  const len = text.length;
  let prev = [], prevPath = [];
  let v2 = null; // decided by the first stack line
  while (start < len) {
    let nl = text.indexOf('\n', start);
    if (nl < 0) nl = len;
    let line = text.slice(start, nl);
    start = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (!line || line[0] === '#') continue;
    const sp = line.lastIndexOf(' ');
    const count = sp > 0 ? Number(line.slice(sp + 1)) : NaN;
    if (!(count > 0)) { bad++; continue; }
    let frames = line.slice(0, sp).split(';');
    if (v2 === null) v2 = frames.length >= 3 && /^\d{1,10}$/.test(frames[0]);
    if (v2 && frames.length >= 3) frames = frames.slice(2);
    // consecutive lines usually share a prefix: reuse its nodes
    let same = 0;
    while (same < frames.length && same < prev.length && frames[same] === prev[same]) same++;
    const path = prevPath.slice(0, same);
    let node = same ? path[same - 1] : b.root;
    for (let f = same; f < frames.length; f++) { node = b.child(node, frames[f]); path.push(node); }
    const v = val();
    v[b.root] += count;
    for (let f = 0; f < path.length; f++) v[path[f]] += count;
    prev = frames;
    prevPath = path;
  }
  const t = b.finish(false);
  t.badLines = bad;
  return t;
}

// Performance Studio's tree JSON {name, value, children:[…]} (the root's name is ignored).
// Nodes with "before"/"after" (gprof's diff) make a diff tree: value = after.
export function parseTree(obj) {
  const b = new Builder();
  const diff = !!obj && (obj.before !== undefined || obj.after !== undefined);
  const work = [[obj, b.root]];
  while (work.length) {
    const [src, dst] = work.pop();
    b.nValue[dst] += Number(src.value) || 0;
    if (diff) b.nBefore[dst] += Number(src.before) || 0;
    if (Array.isArray(src.children)) {
      for (const c of src.children) {
        if (!c || typeof c !== 'object') continue;
        work.push([c, b.child(dst, String(c.name))]);
      }
    }
  }
  return b.finish(diff);
}

// Per function name: self (sum of self samples) and total (samples with the function anywhere
// on the stack, counting recursion once). Sorted by self, heaviest first. The root is skipped.
export function topFunctions(t) {
  const self = new Float64Array(t.names.length);
  const total = new Float64Array(t.names.length);
  const active = new Int32Array(t.names.length);
  const seen = new Uint8Array(t.names.length);
  const open = []; // indices of ancestors whose subtree has not ended
  for (let i = 1; i < t.n; i++) {
    while (open.length && t.end[open[open.length - 1]] <= i) active[t.name[open.pop()]]--;
    const id = t.name[i];
    seen[id] = 1;
    self[id] += t.self[i];
    if (active[id] === 0) total[id] += t.value[i];
    active[id]++;
    open.push(i);
  }
  const rows = [];
  for (let id = 0; id < t.names.length; id++) {
    if (seen[id]) rows.push({ name: t.names[id], self: self[id], total: total[id] });
  }
  rows.sort((a, b) => b.self - a.self || b.total - a.total || (a.name < b.name ? -1 : 1));
  return rows;
}

// ---------------------------------------------------------------------------------------
// Colours: warm hues by a stable hash of the name; kernel frames amber, processes deep red.

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}

function frameColor(name, depth) {
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

// Kernel frames of a virtual machine's paravirtualisation: the guest kernel calling into the
// hypervisor (pvm_*, xen_*, kvm_*, hv_*, vmware_*, __pv_*/pv_*/paravirt_* hooks).
const HYPERVISOR_RE = /^(pvm_|xen_|kvm_|hv_|hyperv_|vmware_|__pv_|pv_|paravirt_)\w*_\[k\]$/;
const HYPERVISOR_NOTE_MIN = 1; // % of samples from which the viewer explains such frames

export function isHypervisorFrame(name) {
  return HYPERVISOR_RE.test(name);
}

// Share of samples (nested frames counted once) under hypervisor frames, and the heaviest names.
export function hypervisorShare(t) {
  let sum = 0;
  const byName = new Map();
  for (let i = 1; i < t.n;) {
    const name = t.names[t.name[i]];
    if (isHypervisorFrame(name)) {
      sum += t.value[i];
      byName.set(name, (byName.get(name) || 0) + t.value[i]);
      i = t.end[i];
    } else i++;
  }
  const names = [...byName].sort((a, b) => b[1] - a[1]).map((x) => x[0]);
  return { percent: (100 * sum) / (t.value[0] || 1), samples: sum, names };
}

const MATCH_COLOR = '#c026d3';
const MERGED_COLOR = '#e8d9c8';

export function fmtNum(v) {
  return Math.round(v).toLocaleString('en-US');
}

export function fmtPct(v) {
  if (!isFinite(v)) return '–';
  return (v >= 10 ? v.toFixed(1) : v.toFixed(2)) + '%';
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------
// The canvas widget.

export class FlameGraph {
  constructor(host, tree, opts = {}) {
    this.t = tree;
    this.opts = opts;
    this.mode = opts.mode === 'icicle' ? 'icicle' : 'flame';
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
      if (i >= 0) this.zoomTo(i);
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

  // Removes the widget, its tooltip and its window listeners (before mounting another tree).
  destroy() {
    if (this.ro) this.ro.disconnect();
    window.removeEventListener('resize', this.onResize);
    this.scroller.remove();
    this.tip.remove();
    this.listeners = {};
    this.destroyed = true;
  }

  on(ev, fn) { (this.listeners[ev] = this.listeners[ev] || []).push(fn); }
  emit(ev, arg) { for (const fn of this.listeners[ev] || []) fn(arg); }

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
    const maxVisDepth = this.mode === 'icicle' ? lastRow : Infinity;
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
      return (this.lastSearch = { ok: true, samples: 0, percent: 0, empty: true });
    }
    let re;
    try { re = new RegExp(pattern, flags); } catch (e) {
      return (this.lastSearch = { ok: false, error: e.message });
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
    return (this.lastSearch = { ok: true, samples: sum, percent: (100 * sum) / total });
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

// ---------------------------------------------------------------------------------------
// The viewer page: header with metadata, toolbar (search, flame/icicle, reset), breadcrumbs,
// the graph and the top-functions table. Returns an object tests can drive.

function fmtTime(v) {
  if (v === undefined || v === null || v === '') return null;
  let d;
  if (typeof v === 'number') d = new Date(v > 1e12 ? v : v * 1000);
  else d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z');
  if (isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

function fmtDuration(s) {
  if (!(s > 0)) return null;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function mountViewer(root, { tree, meta = {} }) {
  root.classList.add('gp-viewer');
  const total = tree.value[0];
  const freq = Number(meta.frequency) || 0;

  // header
  const header = el('header', 'gp-header');
  const brand = el('div', 'gp-brand');
  brand.append(el('span', 'gp-logo', '▲'), el('h1', 'gp-title', meta.title || 'Flame graph'));
  const chips = el('div', 'gp-meta');
  const chip = (k, v) => {
    if (v === null || v === undefined || v === '') return;
    const c = el('span', 'gp-chip');
    c.append(el('span', 'gp-chip-k', k), el('span', 'gp-chip-v', String(v)));
    chips.append(c);
  };
  chip('host', meta.hostname);
  chip('start', fmtTime(meta.start_epoch !== undefined ? meta.start_epoch : meta.start_time));
  const dur = meta.start_epoch && meta.end_epoch ? meta.end_epoch - meta.start_epoch : 0;
  chip('duration', fmtDuration(dur));
  chip('frequency', freq ? `${freq} Hz` : null);
  chip('sampler', meta.sampler);
  chip('event', meta.event && meta.event !== meta.sampler ? meta.event : null);
  chip('samples', fmtNum(total));
  if (Number(meta.drops) > 0) {
    chip('dropped', fmtNum(Number(meta.drops)));
    chips.lastChild.classList.add('gp-chip-warn');
    chips.lastChild.title = 'samples the sampler could not record (see the header\'s gprof.drops)';
  }
  if (freq) chip('CPU', `${(total / freq).toFixed(1)} s`);
  if (tree.badLines) {
    chip('unreadable lines', fmtNum(tree.badLines));
    chips.lastChild.classList.add('gp-chip-warn');
  }
  chip('command', meta.command);
  if (tree.diff) chip('before', fmtNum(tree.before[0]));
  header.append(brand, chips);

  // toolbar
  const bar = el('div', 'gp-toolbar');
  const searchBox = el('div', 'gp-search');
  const input = el('input', 'gp-search-input');
  input.id = 'gp-search';
  input.type = 'search';
  input.placeholder = 'Search functions (regex)…';
  input.spellcheck = false;
  input.autocomplete = 'off';
  const match = el('span', 'gp-match');
  match.id = 'gp-match';
  searchBox.append(input, match);
  const seg = el('div', 'gp-seg');
  const bFlame = el('button', 'gp-seg-btn', 'Flame');
  const bIcicle = el('button', 'gp-seg-btn', 'Icicle');
  bFlame.id = 'gp-mode-flame';
  bIcicle.id = 'gp-mode-icicle';
  seg.append(bFlame, bIcicle);
  const reset = el('button', 'gp-btn', 'Reset zoom');
  reset.id = 'gp-reset';
  bar.append(searchBox, el('div', 'gp-spring'), seg, reset);

  // On a virtual machine, paravirtualisation frames can hold a large share: say what they are.
  const hv = hypervisorShare(tree);
  const hvNote = el('details', 'gp-note');
  hvNote.id = 'gp-hv-note';
  hvNote.hidden = !(hv.percent >= HYPERVISOR_NOTE_MIN);
  const hvSum = el('summary');
  hvSum.append(el('strong', null, `${fmtPct(hv.percent)} of samples are in hypervisor frames`),
    ` (${hv.names.slice(0, 2).join(', ')}${hv.names.length > 2 ? ', …' : ''}): this virtual machine's kernel calling into the hypervisor, not your code.`);
  hvNote.append(hvSum, el('p', null,
    'On a virtual machine the kernel asks the hypervisor to enable interrupts, flush TLBs, send IPIs or halt ' +
    '(pvm_*, xen_*, kvm_*, hv_*, __pv_* frames), and the time of those calls is spent there. A large share under an ' +
    '*_irq_enable frame often also means that samples were held back while interrupts were off and taken when they ' +
    'came back on: that time belongs to the calling kernel function (the parent frame).'));

  const crumbs = el('nav', 'gp-crumbs');
  crumbs.id = 'gp-breadcrumbs';
  const graphHost = el('div', 'gp-graph-host');

  // top functions
  const topSec = el('section', 'gp-top');
  const topHead = el('div', 'gp-top-head');
  topHead.append(el('h2', null, 'Top functions'), el('span', 'gp-hint', 'click a row to highlight it in the graph'));
  const table = el('table', 'gp-table');
  table.id = 'gp-top';
  const thead = el('thead');
  const hr = el('tr');
  const cols = [['Function', 'name'], ['Self', 'self'], ['Self %', 'self'], ['Total', 'total'], ['Total %', 'total']];
  const ths = cols.map(([label, key]) => {
    const th = el('th', key === 'name' ? 'gp-col-name' : 'gp-num', label);
    th.dataset.key = key;
    hr.append(th);
    return th;
  });
  thead.append(hr);
  const tbody = el('tbody');
  table.append(thead, tbody);
  const wrap = el('div', 'gp-table-wrap');
  wrap.append(table);
  topSec.append(topHead, wrap);

  const foot = el('footer', 'gp-footer', 'gprof · click a frame to zoom, double-click or Esc to reset, / to search');
  root.append(header, bar, hvNote, crumbs, graphHost, topSec, foot);

  if (!total) graphHost.append(el('div', 'gp-empty', 'This profile has no samples.'));
  const fg = new FlameGraph(graphHost, tree, { frequency: freq, mode: 'flame' });
  const rows = topFunctions(tree);
  let sortKey = 'self';
  const LIMIT = 200;

  function renderTop() {
    const sorted = sortKey === 'self' ? rows : rows.slice().sort((a, b) => b.total - a.total || b.self - a.self);
    tbody.replaceChildren();
    for (const r of sorted.slice(0, LIMIT)) {
      const tr = el('tr');
      const name = el('td', 'gp-col-name');
      name.title = r.name;
      name.append(el('span', 'gp-swatch'), document.createTextNode(r.name));
      name.firstChild.style.background = frameColor(r.name, 2);
      const bar = el('td', 'gp-num gp-barcell');
      const fill = el('span', 'gp-bar');
      fill.style.width = `${Math.min(100, (100 * r.self) / (total || 1))}%`;
      bar.append(fill, el('span', 'gp-bar-text', fmtPct((100 * r.self) / (total || 1))));
      tr.append(name, el('td', 'gp-num', fmtNum(r.self)), bar, el('td', 'gp-num', fmtNum(r.total)),
        el('td', 'gp-num', fmtPct((100 * r.total) / (total || 1))));
      tr.addEventListener('click', () => {
        input.value = '^' + escapeRegExp(r.name) + '$';
        runSearch();
        const i = fg.findNode(r.name);
        if (i >= 0) fg.scrollToNode(i);
      });
      tbody.append(tr);
    }
    ths.forEach((th, k) => th.classList.toggle('gp-sorted', th.dataset.key === sortKey && (k === 1 || k === 3)));
  }
  ths.forEach((th) => {
    if (th.dataset.key === 'name') return;
    th.addEventListener('click', () => { sortKey = th.dataset.key; renderTop(); });
  });

  function renderCrumbs() {
    crumbs.replaceChildren();
    const p = fg.path(fg.zoom);
    p.forEach((i, k) => {
      if (k) crumbs.append(el('span', 'gp-crumb-sep', '›'));
      const b = el('button', 'gp-crumb' + (k === p.length - 1 ? ' gp-crumb-cur' : ''),
        k === 0 ? `all (${fmtNum(total)})` : tree.names[tree.name[i]]);
      b.title = tree.names[tree.name[i]];
      b.addEventListener('click', () => fg.zoomTo(i));
      crumbs.append(b);
    });
    if (fg.zoom) {
      const share = el('span', 'gp-crumb-share', fmtPct((100 * tree.value[fg.zoom]) / (total || 1)) + ' of all samples');
      crumbs.append(share);
    }
  }

  function runSearch() {
    const r = fg.search(input.value.trim());
    input.classList.toggle('gp-bad', !r.ok);
    if (!r.ok) match.textContent = 'invalid regex';
    else if (r.empty) match.textContent = '';
    else match.textContent = `${fmtPct(r.percent)} matched · ${fmtNum(r.samples)} samples`;
    match.dataset.percent = r.ok && !r.empty ? r.percent.toFixed(4) : '';
  }

  function renderMode() {
    bFlame.classList.toggle('gp-on', fg.mode === 'flame');
    bIcicle.classList.toggle('gp-on', fg.mode === 'icicle');
    root.dataset.mode = fg.mode;
  }

  let timer = 0;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(runSearch, 120); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(timer); runSearch(); } });
  bFlame.addEventListener('click', () => fg.setMode('flame'));
  bIcicle.addEventListener('click', () => fg.setMode('icicle'));
  reset.addEventListener('click', () => fg.zoomTo(0));
  const onKey = (e) => {
    if (e.key === 'Escape') { if (document.activeElement === input && input.value) { input.value = ''; runSearch(); } else fg.zoomTo(0); }
    if (e.key === '/' && document.activeElement !== input) { e.preventDefault(); input.focus(); }
  };
  document.addEventListener('keydown', onKey);
  fg.on('zoom', renderCrumbs);
  fg.on('mode', renderMode);
  renderTop();
  renderCrumbs();
  renderMode();

  return {
    graph: fg,
    tree,
    top: rows,
    search(p) { input.value = p; runSearch(); return fg.lastSearch; },
    hypervisor: hv,
    breadcrumbs() { return Array.from(crumbs.querySelectorAll('.gp-crumb')).map((b) => b.textContent); },
    // Empties root so another profile can be mounted in it (the coordinator UI reuses pages).
    unmount() {
      clearTimeout(timer);
      document.removeEventListener('keydown', onKey);
      fg.destroy();
      root.replaceChildren();
      root.classList.remove('gp-viewer');
    },
  };
}
