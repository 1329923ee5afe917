// ui_flame.mjs — the browser half of bench/ui_flame.sh: times first paint, zoom and search of
// one big profile in headless chromium for the gprof viewer (compact format and tree JSON from
// the coordinator, and the self-contained HTML export) and for d3-flame-graph on the same tree.
// First paint: navigation start to the first drawn frame (data fetched or inflated, parsed,
// laid out, painted), split for the served viewer into server (navigation start to the response
// fully received) and client (the rest: parse, layout, mount, paint; viewer.js timings). The
// client part is also measured alone with the same compact answer served gzip'd from a static
// copy on loopback (with the viewer's files), parsed in the module Worker and on the page.
// Zoom and search: the call plus the next animation frame (so the drawing counts), on the same
// frame (app0;start_thread;worker_main;layer0_fn0) and the same term (func_12) in every viewer.
// The app's Profiles page (#/profiles on the same range, every stack) is timed the same way, its
// first paint from the data-graph attribute it sets once the graph is drawn, so that builds
// without the progressive page compare (server and client columns are then empty).
// Each figure is the median of --runs fresh pages.
// Usage (from tests/browser, where playwright-core and d3-flame-graph are installed):
//   node ../../bench/ui_flame.mjs --coord URL --query Q --html EXPORT.html --tree TREE.json
//        --compact COMPACT.json.gz [--runs 3] [--nodes N] [--d3timeout S (0 = skip d3)]
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { chromium } = require('playwright-core');
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const RUNS = Number(args.runs || 3);
const ZOOM_PATH = ['app0', 'start_thread', 'worker_main', 'layer0_fn0'];
const TERM = 'func_12';
const D3_TIMEOUT = Number(args.d3timeout || 300) * 1000;

// d3-flame-graph page: served with the tree JSON on loopback (no CDN)
const nm = path.join(process.cwd(), 'node_modules');
const files = {
  '/d3-selection.js': fs.readFileSync(path.join(nm, 'd3-selection/dist/d3-selection.min.js')),
  '/d3-flamegraph.js': fs.readFileSync(path.join(nm, 'd3-flame-graph/dist/d3-flamegraph.min.js')),
  '/d3-flamegraph.css': fs.readFileSync(path.join(nm, 'd3-flame-graph/dist/d3-flamegraph.css')),
  '/tree.json': fs.readFileSync(args.tree),
  '/d3.html': Buffer.from(`<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/d3-flamegraph.css"></head><body><div id="chart"></div>
<script src="/d3-selection.js"></script><script src="/d3-flamegraph.js"></script>
<script>
(async () => {
  const data = await (await fetch('/tree.json')).json();
  const chart = flamegraph.flamegraph().width(1400).cellHeight(18).transitionDuration(0).minFrameSize(1);
  d3.select('#chart').datum(data).call(chart);
  window.chart = chart;
  requestAnimationFrame(() => setTimeout(() => { window.readyAt = performance.now(); }, 0));
})();
</script></body></html>`),
};
// the viewer's own files and a static copy of the coordinator's compact answer (gzip'd as on
// the wire): the client side of the first paint with no server time in it
const uiDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../ui-static');
for (const f of ['viewer.html', 'viewer.js', 'flamegraph.css', 'flamegraph/model.js', 'flamegraph/widget.js',
  'flamegraph/viewer.js', 'flamegraph/progressive.js', 'flamegraph/worker.js']) files['/ui/' + f] = fs.readFileSync(path.join(uiDir, f));
files['/ui/favicon.ico'] = Buffer.alloc(0);
if (args.compact) files['/compact.json'] = fs.readFileSync(args.compact);
const types = { js: 'text/javascript', css: 'text/css', json: 'application/json', html: 'text/html' };
const server = http.createServer((req, res) => {
  const p = req.url.split('?')[0];
  const body = files[p];
  if (!body) { res.writeHead(404); res.end(); return; }
  const h = { 'content-type': types[p.split('.').pop()] || 'text/plain' };
  if (p === '/compact.json') h['content-encoding'] = 'gzip';
  res.writeHead(200, h);
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const local = `http://127.0.0.1:${server.address().port}`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gprof-bench-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  viewport: { width: 1400, height: 900 },
  deviceScaleFactor: 1,
});

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };

// The app's Profiles page (#/profiles): its first paint and full tree as any build of the app
// shows them (an older one has no timings of its own): the first data-graph attribute on <html>
// (set on the frame after the graph is mounted) and the full tree's data-full on the graph's host
// (none: the first tree was whole).
const appPaintProbe = () => {
  new MutationObserver(() => {
    const de = document.documentElement, host = document.getElementById('ap-graph-host');
    if (de.dataset.graph && !window.benchPaintAt) window.benchPaintAt = performance.now();
    if (host && host.dataset.full === '1' && !window.benchFullAt) window.benchFullAt = performance.now();
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-graph', 'data-full'] });
};

// one fresh page of the gprof viewer: {paint, zoom, search, nodes, drawn}; app: the Profiles page
async function gprofRun(url, app = false) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  if (app) await page.addInitScript(appPaintProbe);
  await page.goto(url);
  if (app) {
    await page.waitForFunction(() => window.benchPaintAt && window.gprofApp.viewer, null, { timeout: 120000 });
    await page.waitForFunction(() => window.benchFullAt || !window.gprofApp.viewer.firstTree, null, { timeout: 120000 });
    await page.evaluate(() => {
      const v = window.gprofApp.viewer;
      v.timings = { readyAt: window.benchPaintAt, fullAt: window.benchFullAt || window.benchPaintAt, nodes: (v.firstTree || v.tree).n };
      window.gprofViewer = v;
    });
  } else {
    await page.waitForFunction(() => document.documentElement.dataset.ready, null, { timeout: 120000 });
    // a progressive first paint: zoom and search are timed on the full tree once swapped in
    await page.waitForFunction(() => document.documentElement.dataset.full ||
      (document.documentElement.dataset.ready && !(window.gprofViewer && window.gprofViewer.firstTree)), null, { timeout: 120000 });
  }
  const r = await page.evaluate(async ([zp, term]) => {
    const v = window.gprofViewer;
    if (!v) return { error: document.body.innerText.slice(0, 200) };
    const g = v.graph, t = g.t;
    const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
    let z = 0;
    for (const name of zp) {
      let c = z + 1, found = -1;
      while (c < t.end[z]) { if (t.names[t.name[c]] === name) { found = c; break; } c = t.end[c]; }
      if (found < 0) return { error: `no frame ${name}` };
      z = found;
    }
    // the call, then the widget's own redraw on the next animation frame (one draw, as a click does)
    let t0 = performance.now();
    g.zoomTo(z);
    await frame();
    const zoom = performance.now() - t0;
    const zoomDraw = g.lastRenderMs;
    g.zoomTo(0);
    await frame();
    t0 = performance.now();
    const s = g.search(term);
    const searchCall = performance.now() - t0;
    await frame();
    const search = performance.now() - t0;
    const tm = v.timings;
    // where the time before the answer goes: navigation, then each resource's start, time to
    // first byte and end (ms since navigation start), as the Performance API saw them
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').map((e) => ({
      name: e.name.replace(location.origin, '').replace(/\?.*minFraction.*/, '?…&minFraction').replace(/\?serviceName.*/, '?…'),
      start: e.startTime, ttfb: e.responseStart - e.startTime, end: e.responseEnd, bytes: e.transferSize, init: e.initiatorType }));
    return { paint: tm.readyAt, server: tm.serverMs, client: tm.clientMs, parse: tm.parseMs, firstDraw: tm.firstDrawMs,
      worker: tm.worker, zoom, zoomDraw, search, searchCall, nodes: t.n, pct: s.percent, zoomValue: t.value[z],
      full: tm.fullAt, firstNodes: tm.nodes, partial: tm.partial,
      waterfall: { navResponseEnd: nav && nav.responseEnd, domInteractive: nav && nav.domInteractive, res } };
  }, [ZOOM_PATH, TERM]);
  if (errors.length) r.error = (r.error || '') + errors.join('; ');
  await page.close();
  return r;
}

async function d3Run() {
  const page = await context.newPage();
  await page.goto(`${local}/d3.html`);
  try {
    await page.waitForFunction(() => window.readyAt, null, { timeout: D3_TIMEOUT, polling: 50 });
  } catch {
    await page.close();
    return { error: `no first paint within ${D3_TIMEOUT / 1000} s` };
  }
  const r = await page.evaluate(async ([zp, term]) => {
    const root = d3.select('#chart').datum();
    const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
    let z = root;
    for (const name of zp) {
      z = (z.children || []).find((c) => c.data.name === name);
      if (!z) return { error: `no frame ${name}` };
    }
    let t0 = performance.now();
    window.chart.zoomTo(z); // d3-flame-graph redraws synchronously (transitions off)
    await frame();
    const zoom = performance.now() - t0;
    window.chart.resetZoom();
    await frame();
    t0 = performance.now();
    window.chart.search(term);
    await frame();
    const search = performance.now() - t0;
    let n = 0;
    root.each(() => { n++; });
    return { paint: window.readyAt, zoom, search, nodes: n, zoomValue: z.value };
  }, [ZOOM_PATH, TERM]);
  await page.close();
  return r;
}

const q = args.query;
const qp = new URLSearchParams(q);
const epoch = (iso) => Math.floor(Date.parse(iso + 'Z') / 1000);
// the Profiles page on the same range, every stack (full=1: stacksCount 500000, more than held)
const appHash = `#/profiles?service=${qp.get('serviceName')}&time=custom&start=${epoch(qp.get('startTime'))}&end=${epoch(qp.get('endTime'))}&full=1`;
let cases = [
  ['app Profiles page (#/profiles, every stack)', () => gprofRun(`${args.coord}/${appHash}`, true)],
  ['gprof UI, format=compact, progressive (Worker)', () => gprofRun(`${args.coord}/ui/viewer.html?src=${encodeURIComponent(`/api/flamegraph?${q}&format=compact`)}`)],
  ['gprof UI, format=compact, whole tree (Worker)', () => gprofRun(`${args.coord}/ui/viewer.html?progressive=0&src=${encodeURIComponent(`/api/flamegraph?${q}&format=compact`)}`)],
  ['gprof UI, format=compact, progressive (main thread)', () => gprofRun(`${args.coord}/ui/viewer.html?worker=0&src=${encodeURIComponent(`/api/flamegraph?${q}&format=compact`)}`)],
  ['gprof UI, tree JSON (old)', () => gprofRun(`${args.coord}/ui/viewer.html?src=${encodeURIComponent(`/api/flamegraph?${q}`)}`)],
  ['gprof HTML export', () => gprofRun(pathToFileURL(args.html).href)],
];
if (args.compact) {
  cases.push(['static copy of compact, Worker (client only)', () => gprofRun(`${local}/ui/viewer.html?src=/compact.json`)]);
  cases.push(['static copy of compact, main thread (client only)', () => gprofRun(`${local}/ui/viewer.html?worker=0&src=/compact.json`)]);
}
if (D3_TIMEOUT > 0) cases.push(['d3-flame-graph 4.1.3', d3Run]);
if (args.cases) cases = cases.filter(([name]) => new RegExp(args.cases).test(name)); // --cases REGEX
const rows = [];
let bad = 0;
const ms = (v) => (v === undefined ? '–' : v.toFixed(0));
console.log(`\n| viewer | first paint ms | server ms | client ms | parse ms | first draw ms | full tree ms | zoom ms (draw) | search ms (names + sum) | nodes (first paint) | zoomed frame samples |`);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const waterfalls = [];
for (const [name, fn] of cases) {
  const rs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await fn();
    if (r.error) { console.log(`| ${name} | ${r.error} | | | | | | | | |`); bad++; break; }
    rs.push(r);
  }
  if (!rs.length) continue;
  const med = (k) => (rs[0][k] === undefined ? undefined : median(rs.map((x) => x[k])));
  const r = { name, paint: med('paint'), server: med('server'), client: med('client'), parse: med('parse'),
    firstDraw: med('firstDraw'), zoom: med('zoom'), zoomDraw: med('zoomDraw'), search: med('search'),
    searchCall: med('searchCall'), nodes: rs[0].nodes, zoomValue: rs[0].zoomValue, full: med('full'),
    firstNodes: rs[0].firstNodes };
  if (rs[0].waterfall) waterfalls.push([name, rs[rs.length - 1].waterfall]);
  rows.push(r);
  const sub = (a, b) => (b === undefined ? a.toFixed(1) : `${a.toFixed(1)} (${b.toFixed(1)})`);
  const nodes = r.firstNodes !== undefined && r.firstNodes !== r.nodes ? `${r.nodes} (${r.firstNodes})` : `${r.nodes}`;
  console.log(`| ${r.name} | ${ms(r.paint)} | ${ms(r.server)} | ${ms(r.client)} | ${ms(r.parse)} | ${ms(r.firstDraw)} | ${ms(r.full)} | ` +
    `${sub(r.zoom, r.zoomDraw)} | ${sub(r.search, r.searchCall)} | ${nodes} | ${r.zoomValue} |`);
}
// the last page of each case: its requests (ms since navigation start)
for (const [name, w] of waterfalls) {
  console.log(`\n${name}: navigation response end ${ms(w.navResponseEnd)} ms, DOM interactive ${ms(w.domInteractive)} ms`);
  console.log('| resource | initiator | start ms | TTFB ms | end ms | bytes |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const e of w.res) console.log(`| ${e.name} | ${e.init} | ${ms(e.start)} | ${ms(e.ttfb)} | ${ms(e.end)} | ${e.bytes} |`);
}
const base = rows.find((r) => r.name.startsWith('d3'));
const ours = rows.find((r) => r.name.includes('format=compact'));
if (base && ours) {
  console.log(`\nd3-flame-graph / gprof compact: first paint ${(base.paint / ours.paint).toFixed(1)}x, ` +
    `zoom ${(base.zoom / ours.zoom).toFixed(1)}x, search ${(base.search / ours.search).toFixed(1)}x`);
}
await context.close();
server.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
process.exit(bad ? 1 : 0);
