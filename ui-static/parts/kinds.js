// parts/kinds.js — frames coloured by kind (native, kernel, Python, JIT, process) with a
// legend: the kind from the frame name's suffix as gProfiler writes it (_[k], _[p], _[j]...).
import { h } from '../dom.js';

export const KINDS = [
  ['native', 'Native', '#f08a4b'],
  ['kernel', 'Kernel', '#e6b33e'],
  ['python', 'Python', '#5b9bd5'],
  ['jit', 'JIT (Java, Node…)', '#6bb36b'],
  ['other', 'Other runtimes', '#b58ad6'],
  ['process', 'Process', '#c2523a'],
];
const COLOR = Object.fromEntries(KINDS.map(([k, , c]) => [k, c]));
const MATCH = '#c026d3';

export function frameKind(name, depth) {
  if (depth === 1) return 'process';
  const m = /_\[([a-z0-9]+)\]$/.exec(name);
  if (!m) return /\.py[:)\s]|\(.*\.py\b/.test(name) ? 'python' : 'native';
  switch (m[1]) {
    case 'k': return 'kernel';
    case 'p': case 'pn': return 'python';
    case 'j': case 'i': return 'jit';
    default: return 'other';
  }
}

// Shade of the kind's colour by a stable hash of the name, so neighbours stay apart.
function shade(hex, name) {
  let x = 2166136261;
  for (let i = 0; i < name.length; i++) { x ^= name.charCodeAt(i); x = Math.imul(x, 16777619); }
  const f = 0.88 + ((x >>> 0) % 25) / 100; // 0.88 .. 1.12
  const n = parseInt(hex.slice(1), 16);
  const ch = (v) => Math.max(0, Math.min(255, Math.round(v * f)));
  return `rgb(${ch(n >> 16)}, ${ch((n >> 8) & 255)}, ${ch(n & 255)})`;
}

// Colours the viewer's graph by kind (by name when on is false). The widget has no colour hook,
// so its color(i) is replaced on this instance; search matches keep their highlight. It follows
// the graph's tree (the full one swapped in after a progressive first paint).
export function colourByKind(graph, on) {
  if (!graph) return;
  if (!graph.__plainColor) graph.__plainColor = graph.color;
  if (!on || graph.t.diff) { graph.color = graph.__plainColor; graph.requestDraw(); return; }
  let cache = new Map(), of = null; // colours of the tree drawn (a swapped-in tree has its own)
  graph.color = function (i) {
    const t = this.t;
    if (of !== t) { cache = new Map(); of = t; }
    if (this.matchName && this.matchName[t.name[i]]) return MATCH;
    const key = t.name[i] * 2 + (t.depth[i] === 1 ? 1 : 0);
    let c = cache.get(key);
    if (!c) {
      const name = t.names[t.name[i]];
      c = shade(COLOR[frameKind(name, t.depth[i])], name);
      cache.set(key, c);
    }
    return c;
  };
  graph.requestDraw();
}

export function kindLegend() {
  return h('span', { class: 'ap-legend', id: 'ap-kind-legend' },
    ...KINDS.map(([k, label, c]) => {
      const sw = h('span', { class: 'ap-sw' });
      sw.style.background = c;
      return h('span', { dataset: { kind: k } }, sw, label);
    }));
}
