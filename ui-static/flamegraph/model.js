// flamegraph/model.js — the flame graph's tree model: collapsed stacks or Performance Studio's
// tree JSON into typed arrays in pre-order, top functions, hypervisor frames, number formats.
// No DOM. Inlined into self-contained HTML exports (common/html.c) with its import lines
// dropped, so it must never contain the text that closes a script element or opens an HTML
// comment, and its top-level names must differ from those of the other viewer files.

// Tree model: nodes in pre-order in typed arrays; end[i] is one past i's last descendant,
// so a subtree is skipped with `i = end[i]`. x[i] is the node's left edge in samples.

// Frame kinds (the compact format's "kinds"), from the profilers' name suffixes as the
// coordinator derives them (common/flametree.c gp_frame_kind).
export const KINDS = ['native', 'kernel', 'python', 'jit'];
const KIND_RE = /_\[(k|p|pe|j|i|0|1|net|rb|php|nd)\]$/;
const KIND_OF = { k: 1, p: 2, pe: 2, j: 3, i: 3, 0: 3, 1: 3, net: 3, rb: 3, php: 3, nd: 3 };
export function frameKind(name) {
  const m = KIND_RE.exec(name);
  return m && m.index > 0 ? KIND_OF[m[1]] : 0;
}

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
    const nameKind = new Uint8Array(names.length);
    for (let id = 0; id < names.length; id++) nameKind[id] = frameKind(names[id]);
    t.kinds = KINDS;
    t.kind = new Uint8Array(count);
    for (let i = 1; i < count; i++) t.kind[i] = nameKind[t.name[i]];
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
// Nodes with "before"/"after" (gprof's diff) make a diff tree: value = after. The compact
// format (an object with format "gprof-flame-compact") is handed to parseCompact.
export function parseTree(obj) {
  if (obj && obj.format === 'gprof-flame-compact') return parseCompact(obj);
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
// on the stack, counting recursion once). Sorted by self, heaviest first, then by total, then
// in tree order. The root is skipped.
export function topFunctions(t) {
  const nn = t.names.length;
  const self = new Float64Array(nn);
  const total = new Float64Array(nn);
  const active = new Int32Array(nn);
  const seen = new Uint8Array(nn);
  const open = new Int32Array(t.maxDepth + 2); // ancestors whose subtree has not ended
  let sp = 0;
  const { name, end, value } = t;
  for (let i = 1; i < t.n; i++) {
    while (sp && end[open[sp - 1]] <= i) active[name[open[--sp]]]--;
    const id = name[i];
    seen[id] = 1;
    self[id] += t.self[i];
    if (active[id] === 0) total[id] += value[i];
    active[id]++;
    open[sp++] = i;
  }
  // sort name ids (typed, no objects), then make one row per name
  let m = 0;
  const ids = new Int32Array(nn);
  for (let id = 0; id < nn; id++) if (seen[id]) ids[m++] = id;
  const names = t.names;
  // ties in name id order (first use in the tree), not by text: 100k names sort 2x faster
  const order = ids.subarray(0, m).sort((a, b) => self[b] - self[a] || total[b] - total[a] || a - b);
  const rows = new Array(m);
  for (let k = 0; k < m; k++) { const id = order[k]; rows[k] = { name: names[id], self: self[id], total: total[id] }; }
  return rows;
}

// Per function: share of all samples with the function on the stack (recursion counted once)
// before and after, sorted by the size of the change (a diff tree; the Compare page's table,
// computed in the Worker when the tree is parsed there).
export function diffFunctions(t) {
  const n = t.names.length;
  const after = new Float64Array(n), before = new Float64Array(n), active = new Int32Array(n), seen = new Uint8Array(n);
  const open = [];
  for (let i = 1; i < t.n; i++) {
    while (open.length && t.end[open[open.length - 1]] <= i) active[t.name[open.pop()]]--;
    const id = t.name[i];
    seen[id] = 1;
    if (active[id] === 0) { after[id] += t.value[i]; before[id] += t.before[i]; }
    active[id]++;
    open.push(i);
  }
  const A = t.value[0] || 1, B = t.before[0] || 1;
  const rows = [];
  for (let id = 0; id < n; id++) {
    if (!seen[id]) continue;
    const pa = (100 * after[id]) / A, pb = (100 * before[id]) / B;
    rows.push({ name: t.names[id], before: before[id], after: after[id], pb, pa, delta: pa - pb });
  }
  rows.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.after - x.after);
  return rows;
}

// Kernel frames of a virtual machine's paravirtualisation: the guest kernel calling into the
// hypervisor (pvm_*, xen_*, kvm_*, hv_*, vmware_*, __pv_*/pv_*/paravirt_* hooks).
const HYPERVISOR_RE = /^(pvm_|xen_|kvm_|hv_|hyperv_|vmware_|__pv_|pv_|paravirt_)\w*_\[k\]$/;

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

// Sample counts and shares as the viewer and the coordinator's pages print them.
export function fmtNum(v) {
  return Math.round(v).toLocaleString('en-US');
}

export function fmtPct(v) {
  if (!isFinite(v)) return '–';
  return (v >= 10 ? v.toFixed(1) : v.toFixed(2)) + '%';
}

// The coordinator's compact tree (format=compact, README "Compact flame graph tree"): a names
// table and per-node arrays in pre-order, children by name. Decoded straight into the typed
// arrays the widget uses, in one pass: a stack of open ancestors gives parent, end, x and self.
// t.kind[i] is the node's frame kind (index into t.kinds: native, kernel, python, jit).
// A pruned answer (minFraction: "prunedNodes", "minValue", "self") keeps exact values and
// carries each node's own samples: t.self comes from it, t.partial says nodes were dropped.
export function parseCompact(obj) {
  if (!obj || obj.format !== 'gprof-flame-compact') throw new Error('not a gprof compact flame graph tree');
  const n = obj.depth.length;
  if (!n || obj.name.length !== n || obj.value.length !== n) throw new Error('compact tree: arrays of different lengths');
  const diff = !!obj.diff;
  const names = obj.names.slice();
  names[0] = 'all';
  const nameKind = Uint8Array.from(obj.nameKind || []);
  const t = {
    names, n, diff, kinds: obj.kinds || ['native', 'kernel', 'python', 'jit'],
    name: Int32Array.from(obj.name), value: Float64Array.from(obj.value), self: new Float64Array(n),
    before: diff ? Float64Array.from(obj.before) : null,
    x: new Float64Array(n), depth: Int32Array.from(obj.depth), end: new Int32Array(n),
    parent: new Int32Array(n), kind: new Uint8Array(n), maxDepth: 0,
  };
  const { name, value, self, x, depth, end, parent, kind } = t;
  const open = new Int32Array(n + 1); // ancestors of the current node, root first
  const nextX = new Float64Array(n); // left edge of the next child of each node
  let sp = 0, maxDepth = 0;
  for (let i = 0; i < n; i++) {
    const d = depth[i];
    if (i > 0 && (d < 1 || d > sp)) throw new Error(`compact tree: node ${i} has depth ${d} after depth ${depth[i - 1]}`);
    while (sp > d) end[open[--sp]] = i;
    const p = sp ? open[sp - 1] : -1;
    parent[i] = p;
    self[i] = value[i];
    if (p >= 0) { x[i] = nextX[p]; nextX[p] += value[i]; self[p] -= value[i]; }
    nextX[i] = x[i];
    kind[i] = nameKind[name[i]];
    if (d > maxDepth) maxDepth = d;
    open[sp++] = i;
  }
  while (sp) end[open[--sp]] = n;
  if (Array.isArray(obj.self) && obj.self.length === n) self.set(obj.self);
  for (let i = 0; i < n; i++) if (self[i] < 0) self[i] = 0;
  t.maxDepth = maxDepth;
  if (obj.minValue !== undefined) {
    t.minValue = Number(obj.minValue);
    t.prunedNodes = Number(obj.prunedNodes) || 0;
    t.partial = t.prunedNodes > 0;
  }
  return t;
}

// Inflates base64 of gzip (the HTML export's "compact-gzip-base64" data) into text.
export async function gunzipBase64(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  if (typeof DecompressionStream === 'undefined') throw new Error('this browser cannot inflate the embedded profile (no DecompressionStream): use a current Chromium, Firefox or Safari');
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}

// The tree of an HTML export's embedded payload ({format, data}): "compact-gzip-base64",
// "compact" or "tree" (JSON text or object), anything else collapsed text.
export async function treeFromPayload(payload) {
  if (payload.format === 'compact-gzip-base64') {
    return parseCompact(JSON.parse(await gunzipBase64(String(payload.data || ''))));
  }
  if (payload.format === 'tree' || payload.format === 'compact') {
    const obj = typeof payload.data === 'string' ? JSON.parse(payload.data) : payload.data;
    return parseTree(obj);
  }
  return parseCollapsed(String(payload.data || ''));
}
