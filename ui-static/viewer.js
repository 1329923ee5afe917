// viewer.js — boots the flame graph page: data embedded in the "gp-data" JSON script (the
// self-contained HTML export) or fetched from ?src=URL (the coordinator serving ui-static/), in a
// module Worker when one can run (flamegraph/worker.js; &worker=0 turns it off). The zoomed
// frame and the search are kept in the URL's fragment (#frame=a;b&search=re).
// Progressive first paint: when ?src= is the coordinator's compact flame graph, the page asks
// for the tree pruned to frames of at least 1/4000 of all samples (minFraction, a few kB: what
// can be drawn >= 1 px wide), paints it, and meanwhile the Worker fetches and lays out the full
// tree, swapped in when ready (mountViewer's setTree). &progressive=0 turns it off;
// &firstFraction=F sets the first request's minFraction (tests use a coarse one on small data).
// The pruned request and the swap are flamegraph/progressive.js, shared with the app's Profiles
// page. Import lines are dropped when common/html.c inlines this file after flamegraph/model.js,
// widget.js, viewer.js and progressive.js (one inline module).
import { treeFromPayload, parseTree } from './flamegraph/model.js';
import { mountViewer } from './flamegraph/viewer.js';
import { progressiveFirstParams, progressiveSwapIn } from './flamegraph/progressive.js';

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
let viewerWorker = null; // the Worker of the last viewerLoadInWorker (stopped when not needed)
function viewerLoadInWorker(src, hold) {
  let w;
  try { w = new Worker(new URL('flamegraph/worker.js', location.href), { type: 'module' }); } catch { return null; }
  viewerWorker = w;
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      w.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve({ tree: e.data.tree, receivedAt: viewerClock(e.data.receivedAt), builtAt: viewerClock(e.data.builtAt), worker: true });
    };
    // a worker that cannot load (file://, an old browser): fall back to the main thread
    w.onerror = (e) => { e.preventDefault(); w.terminate(); resolve(null); };
    w.postMessage({ src: new URL(src, location.href).href, hold: !!hold });
  });
}

// The pruned first request for src, or null when src is not the coordinator's compact tree (or
// already pruned, or &progressive=0); &firstFraction=F sets its minFraction.
function viewerFirstSrc(src, params) {
  let u;
  try { u = new URL(src, location.href); } catch { return null; }
  if (!u.pathname.endsWith('/api/flamegraph')) return null;
  const first = progressiveFirstParams(Object.fromEntries(u.searchParams),
    { progressive: params.get('progressive'), firstFraction: params.get('firstFraction') });
  if (!first) return null;
  u.searchParams.set('minFraction', first.minFraction);
  return u.href;
}

// fetch + parse on the page: {payload, receivedAt} (payload.tree for JSON)
async function viewerFetch(src, meta) {
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

// {payload, receivedAt} or {tree, receivedAt, builtAt} (worker); receivedAt = the response fully
// received (0 for embedded data: nothing to wait for). With a progressive source, also
// rest: a promise of the full tree's {tree, receivedAt, builtAt} (started first, in the Worker).
async function load() {
  const embedded = document.getElementById('gp-data');
  if (embedded && embedded.textContent.trim() && embedded.textContent.trim() !== 'null') {
    return { payload: JSON.parse(embedded.textContent), receivedAt: 0 };
  }
  const params = new URLSearchParams(location.search);
  const src = params.get('src');
  if (!src) throw new Error('No profile data: open an exported HTML file, or pass ?src=URL (collapsed text or tree JSON).');
  const meta = { title: params.get('title') || 'Flame graph' };
  const useWorker = params.get('worker') !== '0';
  const first = viewerFirstSrc(src, params);
  if (first) {
    // the full tree first in the Worker (its fetch overlaps everything below), then the
    // small one here; the Worker holds its parse until the first paint is drawn, and without a
    // Worker the page loads the full tree after it
    const inWorker = useWorker ? viewerLoadInWorker(src, true) : null;
    if (inWorker) inWorker.catch(() => {}); // handled when rest() awaits it
    const onPage = async () => { const r = await viewerFetch(src, meta); const tree = parseTree(r.payload.data); return { tree, receivedAt: r.receivedAt, builtAt: performance.now() }; };
    const rest = async () => (inWorker && (await inWorker)) || onPage();
    const r = await viewerFetch(first, meta);
    return { ...r, rest };
  }
  if (useWorker) {
    const r = await viewerLoadInWorker(src);
    if (r) return { ...r, payload: { meta } };
  }
  return viewerFetch(src, meta);
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

// The full tree after a partial first paint (rest(): its promise, asked for once the first
// paint is drawn): swapped in once drawn (timings.fullAt), or dropped when the first answer was
// already whole; a failure is shown in the partial note.
function viewerSwapIn(viewer, rest, first) {
  progressiveSwapIn(viewer, first, rest, {
    drop: () => { if (viewerWorker) viewerWorker.terminate(); },
    release: () => { if (viewerWorker) viewerWorker.postMessage({ go: true }); }, // its held parse may start now
    onFull: (r, at) => {
      const tm = viewer.timings || (viewer.timings = {});
      tm.fullAt = at;
      tm.fullReceivedAt = r.receivedAt;
      tm.fullParseMs = r.builtAt - r.receivedAt;
      tm.fullWorker = !!r.worker;
      tm.fullNodes = r.tree.n;
      document.documentElement.dataset.full = '1';
    },
    onError: () => { document.documentElement.dataset.full = 'error'; },
  });
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
    if (tree.partial) viewer.firstTree = tree; // what the first paint drew (tests, the bench)
    if (got.rest) viewerSwapIn(viewer, got.rest, tree);
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
        partial: !!tree.partial,
      };
      if (!got.rest) viewer.timings.fullAt = readyAt;
      if (!got.rest || !tree.partial) document.documentElement.dataset.full = '1';
      document.documentElement.dataset.ready = '1';
    }));
    window.gprofViewer = viewer;
  } catch (e) {
    showError(root, String(e && e.message ? e.message : e));
    document.documentElement.dataset.ready = 'error';
  }
}

main();
