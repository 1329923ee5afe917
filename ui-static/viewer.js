// viewer.js — boots the flame graph page: data embedded in the "gp-data" JSON script (the
// self-contained HTML export) or fetched from ?src=URL (the coordinator serving ui-static/).
// Import lines are dropped when common/html.c inlines this file after flamegraph/model.js,
// widget.js and viewer.js (one inline module).
import { treeFromPayload } from './flamegraph/model.js';
import { mountViewer } from './flamegraph/viewer.js';

function showError(root, msg) {
  root.replaceChildren();
  const box = document.createElement('div');
  box.className = 'gp-error';
  box.textContent = msg;
  root.append(box);
}


async function load() {
  const embedded = document.getElementById('gp-data');
  if (embedded && embedded.textContent.trim() && embedded.textContent.trim() !== 'null') {
    return JSON.parse(embedded.textContent);
  }
  const params = new URLSearchParams(location.search);
  const src = params.get('src');
  if (!src) throw new Error('No profile data: open an exported HTML file, or pass ?src=URL (collapsed text or tree JSON).');
  const res = await fetch(src, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`Loading ${src} failed: HTTP ${res.status}`);
  const type = res.headers.get('content-type') || '';
  const text = await res.text();
  const meta = { title: params.get('title') || 'Flame graph' };
  if (type.includes('json') || text.trimStart().startsWith('{')) {
    return { meta, format: 'tree', data: JSON.parse(text) };
  }
  return { meta, format: 'collapsed', data: text };
}

async function main() {
  let root = document.getElementById('gp-root');
  if (!root) {
    root = document.createElement('div');
    root.id = 'gp-root';
    document.body.append(root);
  }
  try {
    const t0 = performance.now();
    const payload = await load();
    const tree = await treeFromPayload(payload);
    const built = performance.now();
    const viewer = mountViewer(root, { tree, meta: payload.meta || {} });
    if (payload.meta && payload.meta.title) document.title = payload.meta.title;
    // The first frame is drawn on the next animation frame; record the timings for tests.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      viewer.timings = {
        buildMs: built - t0,
        firstDrawMs: viewer.graph.lastRenderMs,
        totalMs: performance.now() - t0,
        readyAt: performance.now(), // since navigation start: the first paint

        nodes: tree.n,
      };
      document.documentElement.dataset.ready = '1';
    }));
    window.gprofViewer = viewer;
  } catch (e) {
    showError(root, String(e && e.message ? e.message : e));
    document.documentElement.dataset.ready = 'error';
  }
}

main();
