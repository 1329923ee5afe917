// viewer.js — boots the flame graph page: data embedded in the "gp-data" JSON script (the
// self-contained HTML export) or fetched from ?src=URL (the coordinator serving ui-static/), in a
// module Worker when one can run (flamegraph/worker.js; &worker=0 turns it off). The zoomed
// frame and the search are kept in the URL's fragment (#frame=a;b&search=re).
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


// The page's clock for an epoch time in ms (the worker reports epoch times).
const viewerClock = (epochMs) => epochMs - performance.timeOrigin;

// ?src=URL in a module Worker (flamegraph/worker.js): {payload: null, tree, receivedAt, builtAt};
// null when workers cannot run here (then the page fetches and parses itself).
function viewerLoadInWorker(src) {
  let w;
  try { w = new Worker(new URL('flamegraph/worker.js', location.href), { type: 'module' }); } catch { return null; }
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      w.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve({ tree: e.data.tree, receivedAt: viewerClock(e.data.receivedAt), builtAt: viewerClock(e.data.builtAt), worker: true });
    };
    // a worker that cannot load (file://, an old browser): fall back to the main thread
    w.onerror = (e) => { e.preventDefault(); w.terminate(); resolve(null); };
    w.postMessage({ src: new URL(src, location.href).href });
  });
}

// {payload, receivedAt} or {tree, receivedAt, builtAt} (worker); receivedAt = the response fully
// received (0 for embedded data: nothing to wait for).
async function load() {
  const embedded = document.getElementById('gp-data');
  if (embedded && embedded.textContent.trim() && embedded.textContent.trim() !== 'null') {
    return { payload: JSON.parse(embedded.textContent), receivedAt: 0 };
  }
  const params = new URLSearchParams(location.search);
  const src = params.get('src');
  if (!src) throw new Error('No profile data: open an exported HTML file, or pass ?src=URL (collapsed text or tree JSON).');
  const meta = { title: params.get('title') || 'Flame graph' };
  if (params.get('worker') !== '0') {
    const r = await viewerLoadInWorker(src);
    if (r) return { ...r, payload: { meta } };
  }
  const res = await fetch(src, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`Loading ${src} failed: HTTP ${res.status}`);
  const type = res.headers.get('content-type') || '';
  const text = await res.text();
  const receivedAt = performance.now();
  if (type.includes('json') || text.trimStart().startsWith('{')) {
    return { payload: { meta, format: 'tree', data: JSON.parse(text) }, receivedAt };
  }
  return { payload: { meta, format: 'collapsed', data: text }, receivedAt };
}

// The view in the URL's fragment: #frame=a;b;c (the zoomed frame's path of names below the
// root) and search=PATTERN, so a pasted link opens the same view (file:// exports included).
function viewerReadState() {
  const q = new URLSearchParams(location.hash.replace(/^#/, ''));
  return { frame: q.get('frame') || '', search: q.get('search') || '' };
}

function viewerWriteState(st) {
  const q = new URLSearchParams();
  if (st.frame) q.set('frame', st.frame);
  if (st.search) q.set('search', st.search);
  const frag = q.toString();
  if (location.hash.replace(/^#/, '') === frag) return;
  try {
    history.replaceState(null, '', frag ? '#' + frag : location.pathname + location.search);
  } catch {
    location.replace('#' + frag); // file:// pages that refuse replaceState
  }
}

// node index of a path of names below the root, or -1
function viewerNodeOfPath(t, names) {
  let i = 0;
  for (const want of names) {
    let c = i + 1, found = -1;
    while (c < t.end[i]) { if (t.names[t.name[c]] === want) { found = c; break; } c = t.end[c]; }
    if (found < 0) return -1;
    i = found;
  }
  return i;
}

function viewerTrackState(viewer) {
  const g = viewer.graph, t = viewer.tree;
  const st = viewerReadState();
  if (st.search) viewer.search(st.search);
  if (st.frame) {
    const i = viewerNodeOfPath(t, st.frame.split(';'));
    if (i > 0) { g.zoomTo(i); g.scrollToNode(i); }
  }
  g.on('zoom', (i) => { st.frame = i > 0 ? g.frameInfo(i).path.join(';') : ''; viewerWriteState(st); });
  g.on('search', (r) => { st.search = r.ok ? r.pattern : st.search; viewerWriteState(st); });
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
    const got = await load();
    const payload = got.payload;
    const tree = got.tree || (await treeFromPayload(payload));
    const built = performance.now();
    const viewer = mountViewer(root, { tree, meta: payload.meta || {} });
    if (payload.meta && payload.meta.title) document.title = payload.meta.title;
    viewerTrackState(viewer);
    // The first frame is drawn on the next animation frame; record the timings for tests and
    // bench/ui_flame.mjs. serverMs: navigation start to the profile's response fully received
    // (the page's own files, a few ms on loopback, included; 0 for embedded data); clientMs: the
    // rest of the first paint (JSON parse, layout in typed arrays, mount, paint), the viewer's
    // own cost. buildMs and parseMs are parts of it; worker says where the parse ran.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const readyAt = performance.now(); // since navigation start: the first paint
      const serverMs = got.receivedAt || 0;
      viewer.timings = {
        buildMs: (got.builtAt || built) - t0,
        parseMs: got.tree ? got.builtAt - got.receivedAt : built - (got.receivedAt || t0),
        firstDrawMs: viewer.graph.lastRenderMs,
        totalMs: readyAt - t0,
        readyAt,
        serverMs,
        clientMs: readyAt - serverMs,
        worker: !!got.worker,
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
