// flamegraph/worker.js — a module Worker that takes the heavy part of a first paint off the main
// thread: it fetches a profile URL, inflates (the browser does, for gzip on the wire), parses
// JSON or collapsed text and lays the tree out in typed arrays (model.js), then transfers those
// arrays' buffers to the page (no copy). Served viewer only (viewer.js ?src=); the HTML export
// cannot start workers under its CSP and parses on the main thread. Never inlined.
import { parseTree, parseCollapsed } from './model.js';

const ARRAYS = ['name', 'value', 'self', 'before', 'x', 'depth', 'end', 'parent', 'kind'];

self.onmessage = async (e) => {
  const { src } = e.data || {};
  try {
    const res = await fetch(src, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`Loading ${src} failed: HTTP ${res.status}`);
    const type = res.headers.get('content-type') || '';
    const text = await res.text();
    // times as epoch milliseconds: the page converts them to its own clock
    const receivedAt = performance.timeOrigin + performance.now();
    const json = type.includes('json') || text.trimStart().startsWith('{');
    const tree = json ? parseTree(JSON.parse(text)) : parseCollapsed(text);
    const builtAt = performance.timeOrigin + performance.now();
    const transfer = ARRAYS.map((k) => tree[k] && tree[k].buffer).filter(Boolean);
    self.postMessage({ tree, format: json ? 'tree' : 'collapsed', receivedAt, builtAt }, transfer);
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};
