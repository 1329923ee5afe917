// flamegraph/worker.js — a module Worker that takes the heavy part of a first paint off the main
// thread: it fetches a profile URL, inflates (the browser does, for gzip on the wire), parses
// JSON or collapsed text and lays the tree out in typed arrays (model.js), then transfers those
// arrays' buffers to the page (no copy). For the served viewer (viewer.js ?src=) and the
// coordinator's pages (offload.js); the HTML export cannot start workers under its CSP and parses
// on the main thread. Never inlined.
import { parseTree, parseCollapsed, topFunctions, diffFunctions } from './model.js';

const ARRAYS = ['name', 'value', 'self', 'before', 'x', 'depth', 'end', 'parent', 'kind'];

// A held parse waits for {go: true}: viewer.js fetches the full tree here while it paints the
// pruned one, and lets the parse start once that first paint is drawn (two cores: the parse
// would otherwise compete with the first paint).
let released = false, release = null;

// {src: URL, hold} (viewer.js) or {text: JSON text already fetched} (offload.js, the
// coordinator's pages, which fetch with their credentials); {go: true} releases a held parse.
self.onmessage = async (e) => {
  if (e.data && e.data.go) { released = true; if (release) release(); return; }
  const { src, text: given, hold } = e.data || {};
  try {
    let type = 'application/json', text = given;
    if (typeof given !== 'string') {
      const res = await fetch(src, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`Loading ${src} failed: HTTP ${res.status}`);
      type = res.headers.get('content-type') || '';
      text = await res.text();
    }
    // times as epoch milliseconds: the page converts them to its own clock
    let receivedAt = performance.timeOrigin + performance.now();
    if (hold && !released) {
      await new Promise((r) => { release = r; });
      receivedAt = performance.timeOrigin + performance.now(); // the parse starts now
    }
    const json = type.includes('json') || text.trimStart().startsWith('{');
    const tree = json ? parseTree(JSON.parse(text)) : parseCollapsed(text);
    // the viewer's tables, computed here too: top functions (mountViewer; not for a pruned
    // first tree) and a diff's biggest changes (pages/compare.js)
    if (!tree.partial) tree.top = topFunctions(tree);
    if (tree.diff) tree.diffTop = diffFunctions(tree);
    const builtAt = performance.timeOrigin + performance.now();
    const transfer = ARRAYS.map((k) => tree[k] && tree[k].buffer).filter(Boolean);
    self.postMessage({ tree, format: json ? 'tree' : 'collapsed', receivedAt, builtAt }, transfer);
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};
