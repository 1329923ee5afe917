// viewer.test.mjs — drives the self-contained HTML flame graph in Debian's headless chromium
// (playwright-core, no downloaded browser) with every non-file, non-data request blocked.
// Usage: node viewer.test.mjs --small S.html --col S.col [--hot NAME] [--cold NAME]
//          [--big B.html [--bigcol B.col]] [--tree T.html] [--diff D.html] [--empty E.html] [--shots DIR]
//   S: a profile whose hottest function (self time) is NAME (default hot_function), with
//   another function --cold (default cold_function) elsewhere; its collapsed text (S.col)
//   gives the expected search shares. gprofctl acceptance tests can pass a real recording. B: a profile of 100k+ nodes (render time is reported only).
//   T: S rendered from Performance Studio tree JSON. D: a diff tree where "hot" grew and
//   "cold" shrank. E: a profile without samples.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { pathToFileURL, fileURLToPath } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const { small: smallHtml, col: smallCol, big: bigHtml, bigcol: bigCol, tree: treeHtml, diff: diffHtml, empty: emptyHtml, shots: shotDir } = args;
const HOT = args.hot || 'hot_function', COLD = args.cold || 'cold_function';
if (!smallHtml || !smallCol) {
  console.error('usage: node viewer.test.mjs --small S.html --col S.col [--hot NAME] [--cold NAME] [--big B.html] [--tree T.html] [--diff D.html] [--empty E.html] [--shots DIR]');
  process.exit(2);
}
const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hotRe = `^${esc(HOT)}$`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let failures = 0;
function check(cond, what) {
  if (cond) console.log(`ok   ${what}`);
  else { console.log(`FAIL ${what}`); failures++; }
}

// Expected share of samples whose stack contains any of the names, from the collapsed text.
function expectedShare(text, ...fns) {
  let total = 0, hit = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const n = Number(line.slice(sp + 1));
    total += n;
    const frames = line.slice(0, sp).split(';');
    if (fns.some((fn) => frames.includes(fn))) hit += n;
  }
  return (100 * hit) / total;
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gprof-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 900 },
  deviceScaleFactor: 1,
});
// ui-static/ served over HTTP on loopback, as the coordinator serves it (viewer.html?src=…).
const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ui-static');
const served = { '/data/small.col': fs.readFileSync(smallCol) };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.col': 'text/plain', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  let body = served[u.pathname];
  if (!body && /^\/([a-z]+\/)?[a-z.]+$/.test(u.pathname)) {
    try { body = fs.readFileSync(path.join(uiDir, u.pathname)); } catch { body = null; }
  }
  if (!body) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'content-type': types[path.extname(u.pathname)] || 'application/octet-stream' });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const blocked = [];
await context.route('**/*', (route) => {
  const url = route.request().url();
  if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith(origin + '/')) return route.continue();
  blocked.push(url);
  return route.abort('blockedbyclient');
});

async function open(file) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
  const t0 = Date.now();
  await page.goto(/^(http|file):/.test(file) ? file : pathToFileURL(path.resolve(file)).href);
  await page.waitForFunction(() => document.documentElement.dataset.ready, null, { timeout: 60000 });
  const wall = Date.now() - t0;
  return { page, errors, wall };
}

// Distinct colours over a grid of canvas pixels, and whether given rows are painted edge to edge.
async function canvasStats(page) {
  return page.evaluate(() => {
    const c = document.querySelector('canvas.gp-canvas');
    const ctx = c.getContext('2d');
    const { width: w, height: h } = c;
    const img = ctx.getImageData(0, 0, w, h).data;
    const colors = new Set();
    let painted = 0, n = 0;
    for (let y = 0; y < h; y += 3) {
      for (let x = 0; x < w; x += 3) {
        const o = (y * w + x) * 4;
        colors.add((img[o] << 24) | (img[o + 1] << 16) | (img[o + 2] << 8) | img[o + 3]);
        if (img[o + 3] > 0) painted++;
        n++;
      }
    }
    const rowFull = (y) => {
      const a = (x) => img[(y * w + x) * 4 + 3] > 0;
      return a(3) && a(Math.floor(w / 2)) && a(w - 6);
    };
    return { colors: colors.size, paintedShare: painted / n, w, h, topFull: rowFull(9), bottomFull: rowFull(h - 9) };
  });
}

// ---- the small profile ------------------------------------------------------------------
{
  const { page, errors } = await open(smallHtml);
  const col = fs.readFileSync(smallCol, 'utf8');
  const want = expectedShare(col, HOT);

  const s = await canvasStats(page);
  check(s.colors >= 5 && s.paintedShare > 0.05, `canvas is drawn (${s.colors} colours, ${(100 * s.paintedShare).toFixed(1)}% painted)`);
  check(s.bottomFull && !s.topFull, 'flame mode: the root row spans the bottom edge to edge');
  // hypervisor frames (a VM's kernel calling its hypervisor): explained when they hold 1% or more
  const hvRe = /^(pvm_|xen_|kvm_|hv_|hyperv_|vmware_|__pv_|pv_|paravirt_)\w*_\[k\]$/;
  const hvFrames = [...new Set(col.split('\n').filter((l) => l && !l.startsWith('#'))
    .flatMap((l) => l.slice(0, l.lastIndexOf(' ')).split(';')).filter((f) => hvRe.test(f)))];
  const hvPct = expectedShare(col, ...hvFrames);
  if (hvPct >= 1) {
    const note = await page.isVisible('#gp-hv-note') ? await page.textContent('#gp-hv-note summary') : '';
    const want = hvPct.toFixed(hvPct >= 10 ? 1 : 2) + '%';
    check(note.startsWith(`${want} of samples are in hypervisor frames`) && /not your code/.test(note), `hypervisor frames (${hvFrames.join(', ')}) are explained: "${note}"`);
    await page.click('#gp-hv-note summary');
    check(await page.isVisible('#gp-hv-note p'), 'the note opens to say what such frames mean');
    await page.click('#gp-hv-note summary');
  } else {
    check(await page.isHidden('#gp-hv-note'), `no hypervisor-frames note (${hvPct.toFixed(2)}% in such frames)`);
  }

  const title = await page.title();
  check(title.length > 0, `title "${title}"`);
  if (shotDir) await page.screenshot({ path: path.join(shotDir, 'viewer-flame.png'), fullPage: true });

  // the widget's DOM events, recorded from the document (they bubble)
  await page.evaluate(() => {
    window.gpEvents = [];
    for (const t of ['gp-search', 'gp-frameclick']) document.addEventListener(t, (e) => window.gpEvents.push({ type: t, detail: e.detail }));
  });
  const lastEvent = (type) => page.evaluate((t) => window.gpEvents.filter((e) => e.type === t).pop() || null, type);

  // search
  await page.fill('#gp-search', hotRe);
  await page.press('#gp-search', 'Enter');
  const got = Number(await page.getAttribute('#gp-match', 'data-percent'));
  const label = await page.textContent('#gp-match');
  check(Math.abs(got - want) < 0.01, `search "${hotRe}" matches ${got.toFixed(2)}% (expected ${want.toFixed(2)}%; label "${label}")`);
  const se = await lastEvent('gp-search');
  check(se && se.detail.pattern === hotRe && Math.abs(se.detail.percent - want) < 0.01 && se.detail.names === 1,
    `search emits gp-search with its pattern, share and matched names (${se && JSON.stringify(se.detail)})`);
  const hashSearch = new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('search');
  check(hashSearch === hotRe, `the search is kept in the URL (#search=${hashSearch})`);
  await page.fill('#gp-search', `^(${esc(HOT)}|${esc(COLD)})$`);
  await page.press('#gp-search', 'Enter');
  const both = Number(await page.getAttribute('#gp-match', 'data-percent'));
  const wantBoth = expectedShare(col, HOT, COLD);
  check(Math.abs(both - wantBoth) < 0.01, `regex alternation matches ${both.toFixed(2)}% (expected ${wantBoth.toFixed(2)}%)`);
  await page.fill('#gp-search', '([');
  await page.press('#gp-search', 'Enter');
  check((await page.textContent('#gp-match')) === 'invalid regex', 'an invalid regex is reported, not thrown');
  if (shotDir) {
    await page.fill('#gp-search', hotRe);
    await page.press('#gp-search', 'Enter');
    await page.screenshot({ path: path.join(shotDir, 'viewer-search.png') });
  }
  await page.fill('#gp-search', '');
  await page.press('#gp-search', 'Enter');

  // tooltip on hover
  const hot = await page.evaluate((n) => {
    const g = window.gprofViewer.graph;
    return g.nodeCenter(g.findNode(n));
  }, HOT);
  check(hot !== null, `${HOT} is drawn`);
  await page.mouse.move(hot.x, hot.y);
  await page.waitForTimeout(50);
  const tip = await page.evaluate(() => {
    const t = document.querySelector('.gp-tooltip');
    return t.hidden ? null : t.textContent;
  });
  check(tip && tip.includes(HOT) && tip.includes('% of total') && tip.includes('% of parent'),
    `tooltip shows samples, % of total and % of parent (${tip && tip.replace(/\s+/g, ' ').slice(0, 90)})`);
  if (shotDir) await page.screenshot({ path: path.join(shotDir, 'viewer-tooltip.png') });

  // click to zoom: breadcrumbs end with the clicked frame
  const before = await page.evaluate(() => window.gprofViewer.breadcrumbs());
  const cold = await page.evaluate((n) => {
    const g = window.gprofViewer.graph;
    return g.nodeCenter(g.findNode(n));
  }, COLD);
  await page.mouse.click(cold.x, cold.y);
  await page.waitForTimeout(50);
  const after = await page.evaluate(() => window.gprofViewer.breadcrumbs());
  check(before.length === 1 && after[after.length - 1] === COLD && after.length > 2,
    `click zoom changes breadcrumbs: [${before.join(' › ')}] → [${after.join(' › ')}]`);
  const ce = await lastEvent('gp-frameclick');
  check(ce && ce.detail.name === COLD && ce.detail.path.join(' › ') === after.slice(1).join(' › ') && ce.detail.samples > 0,
    `a frame click emits gp-frameclick with the frame, its path and samples (${ce && JSON.stringify(ce.detail)})`);
  const frameParam = new URLSearchParams((await page.evaluate(() => location.hash)).slice(1)).get('frame');
  check(frameParam === after.slice(1).join(';'), `the zoomed frame is kept in the URL (#frame=${frameParam})`);
  {
    // the link restores the view in a new page
    const { page: p2 } = await open(await page.evaluate(() => location.href));
    const crumbs2 = await p2.evaluate(() => window.gprofViewer.breadcrumbs());
    check(crumbs2.join(' › ') === after.join(' › '), `a pasted link opens the same zoomed frame (${crumbs2.join(' › ')})`);
    await p2.close();
  }
  const centred = await page.evaluate((n) => {
    const g = window.gprofViewer.graph;
    const c = g.nodeCenter(g.findNode(n));
    const r = g.canvas.getBoundingClientRect();
    return c !== null && Math.abs(c.x - (r.left + r.width / 2)) < 1;
  }, COLD);
  check(centred, 'the zoomed frame spans the full width');
  // breadcrumb click goes back to the root
  await page.click('#gp-breadcrumbs .gp-crumb >> nth=0');
  await page.waitForTimeout(50);
  check((await page.evaluate(() => window.gprofViewer.breadcrumbs())).length === 1, 'clicking the first breadcrumb resets the zoom');

  // icicle toggle
  await page.click('#gp-mode-icicle');
  await page.waitForTimeout(80);
  const ic = await canvasStats(page);
  const mode = await page.evaluate(() => document.querySelector('.gp-viewer').dataset.mode);
  check(mode === 'icicle' && ic.topFull && !ic.bottomFull, 'icicle mode: the root row spans the top edge to edge');
  if (shotDir) await page.screenshot({ path: path.join(shotDir, 'viewer-icicle.png') });
  await page.click('#gp-mode-flame');
  await page.waitForTimeout(80);
  check((await canvasStats(page)).bottomFull, 'back to flame mode');

  // top functions table
  const rows = await page.$$eval('#gp-top tbody tr', (trs) => trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent)));
  check(rows.length > 1 && rows[0][0] === HOT, `top table lists ${HOT} first (${rows[0] && rows[0].join(' | ')})`);
  const evil = rows.find((r) => r[0].startsWith('evil'));
  const imgs = await page.$$eval('img', (x) => x.length);
  check(!evil || (evil[0] === 'evil</script><img src=x onerror=alert(1)>&amp' && imgs === 0),
    `frame names are text, never markup (${evil ? evil[0] : 'no such frame'}; ${imgs} img elements)`);
  const cum = await page.evaluate(() => window.gprofViewer.top.find((r) => r.name === 'main'));
  const mainSelf = fs.readFileSync(smallCol, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).reduce((acc, l) => {
    const sp = l.lastIndexOf(' ');
    const frames = l.slice(0, sp).split(';');
    return acc + (frames[frames.length - 1] === 'main' ? Number(l.slice(sp + 1)) : 0);
  }, 0);
  if (/;main(;| )/.test(fs.readFileSync(smallCol, 'utf8')))
    check(cum && cum.self === mainSelf && cum.total > cum.self,
      `top table: main's self time is what the collapsed text says (${cum && cum.self} = ${mainSelf}) and below its total`);
  else
    check(!cum, 'top table: no main row for a profile without main');

  // unmount and mount another tree in the same element (the coordinator UI does this)
  const remount = await page.evaluate(() => {
    const v = window.gprofViewer;
    const root = document.getElementById('gp-root');
    v.unmount();
    const empty = root.childElementCount === 0 && !document.querySelector('.gp-tooltip');
    return { empty };
  });
  check(remount.empty, 'unmount leaves no viewer elements behind');

  check(errors.length === 0, `no page errors (${errors.join('; ')})`);
  await page.close();
}

// ---- the 100k-node profile ---------------------------------------------------------------
if (bigHtml) {
  const { page, errors, wall } = await open(bigHtml);
  check(await page.isHidden('#gp-hv-note'), 'no hypervisor-frames note on a profile without such frames');
  const info = await page.evaluate(() => ({ ...window.gprofViewer.timings }));
  const s = await canvasStats(page);
  check(info.nodes >= 100000, `big profile has ${info.nodes} nodes`);
  check(s.colors >= 5, `big profile canvas is drawn (${s.colors} colours)`);
  // The export embeds the compact tree gzip'd (it is over 1 MiB): the decoded tree and the
  // painted frames carry the counts of the generator (bigCol): stack i of 100,000 is
  // app;main;a(i%10);b(i%100);c(i%1000);d(i%10000);e(i) with (i%97)+1 samples.
  const fmt = await page.evaluate(() => JSON.parse(document.getElementById('gp-data').textContent).format);
  check(fmt === 'compact-gzip-base64', `big export embeds the gzip'd compact tree (${fmt})`);
  if (bigCol) {
    const want = {};
    let total = 0;
    for (const line of fs.readFileSync(bigCol, 'utf8').split('\n')) {
      if (!line) continue;
      const sp = line.lastIndexOf(' '), n = Number(line.slice(sp + 1));
      const fr = line.slice(0, sp).split(';').slice(4); // drop 0;;app;main
      total += n;
      for (const f of [fr[0], fr[1], fr[2]]) want[f] = (want[f] || 0) + n;
      if (fr[4] === 'e12345') want.e12345 = n;
    }
    const got = await page.evaluate((names) => {
      const g = window.gprofViewer.graph, t = g.t, out = { total: t.value[0], n: t.n };
      for (const nm of names) { const i = g.findNode(nm); out[nm] = i < 0 ? -1 : t.value[i]; }
      return out;
    }, ['a3', 'b42', 'c777', 'e12345']);
    check(got.total === total && got.n === 111113, `big tree: total ${got.total} (want ${total}), ${got.n} nodes (want 111113)`);
    for (const nm of ['a3', 'b42', 'c777', 'e12345']) check(got[nm] === want[nm], `big tree: ${nm} has ${got[nm]} samples (want ${want[nm]})`);
    // the painted frame's tooltip says the same count
    const c = await page.evaluate(() => { const g = window.gprofViewer.graph; return g.nodeCenter(g.findNode('a3')); });
    check(c !== null, 'big tree: a3 is painted');
    if (c) {
      await page.mouse.move(c.x, c.y);
      await page.waitForTimeout(50);
      const tip = await page.evaluate(() => { const t = document.querySelector('.gp-tooltip'); return t.hidden ? '' : t.textContent; });
      const fmtd = want.a3.toLocaleString('en-US');
      check(tip.includes('a3') && tip.includes(fmtd), `big tree: a3's tooltip shows ${fmtd} samples (${tip.replace(/\s+/g, ' ').slice(0, 80)})`);
      await page.mouse.move(1, 1);
    }
  }
  // redraw cost: zoom in and out, scroll, search
  const redraw = await page.evaluate(async () => {
    const g = window.gprofViewer.graph;
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const times = [];
    for (let k = 0; k < 10; k++) {
      g.zoomTo(k % 2 ? 0 : 1 + k);
      await frame();
      times.push(g.lastRenderMs);
    }
    const t0 = performance.now();
    const res = window.gprofViewer.search('e1234');
    const searchMs = performance.now() - t0;
    await frame();
    times.sort((a, b) => a - b);
    return { median: times[5], max: times[9], searchMs, searchPct: res.percent, drawn: g.lastDrawn };
  });
  console.log(`big profile: ${info.nodes} nodes; build ${info.buildMs.toFixed(0)} ms, first draw ${info.firstDrawMs.toFixed(1)} ms, ` +
    `load to drawn ${info.totalMs.toFixed(0)} ms (page open ${wall} ms); redraw median ${redraw.median.toFixed(1)} ms, ` +
    `max ${redraw.max.toFixed(1)} ms; regex search over all names ${redraw.searchMs.toFixed(1)} ms; ${redraw.drawn} rects in the last frame`);
  check(redraw.searchPct > 0, 'big profile search finds matches');
  if (shotDir) await page.screenshot({ path: path.join(shotDir, 'viewer-big.png') });
  check(errors.length === 0, `no page errors on the big profile (${errors.join('; ')})`);
  await page.close();
}

// ---- the same profile from Performance Studio's tree JSON --------------------------------
if (treeHtml) {
  const { page, errors } = await open(treeHtml);
  const want = expectedShare(fs.readFileSync(smallCol, 'utf8'), HOT);
  const s = await canvasStats(page);
  check(s.colors >= 5, `tree JSON page: canvas is drawn (${s.colors} colours)`);
  const r = await page.evaluate((re) => window.gprofViewer.search(re), hotRe);
  check(Math.abs(r.percent - want) < 0.01, `tree JSON page: search matches ${r.percent.toFixed(2)}% (expected ${want.toFixed(2)}%)`);
  const first = await page.$eval('#gp-top tbody tr td', (td) => td.textContent);
  check(first === HOT, `tree JSON page: top table lists ${first} first`);
  check(errors.length === 0, `tree JSON page: no page errors (${errors.join('; ')})`);
  await page.close();
}

// ---- a diff tree: growth red, shrink blue, before/after in the tooltip ---------------------
if (diffHtml) {
  const { page, errors } = await open(diffHtml);
  const px = async (name) => page.evaluate((n) => {
    const g = window.gprofViewer.graph;
    const c = g.nodeCenter(g.findNode(n));
    if (!c) return null;
    const r = g.canvas.getBoundingClientRect();
    const d = g.ctx.getImageData(Math.round(c.x - r.left) + 10, Math.round(c.y - r.top), 1, 1).data;
    return { x: c.x, y: c.y, r: d[0], g: d[1], b: d[2] };
  }, name);
  const grew = await px('hot'), shrank = await px('cold');
  check(grew && grew.r > grew.b + 40, `diff: a frame that grew is red (${grew && [grew.r, grew.g, grew.b]})`);
  check(shrank && shrank.b > shrank.r + 20, `diff: a frame that shrank is blue (${shrank && [shrank.r, shrank.g, shrank.b]})`);
  await page.mouse.move(grew.x, grew.y);
  await page.waitForTimeout(50);
  const tip = await page.evaluate(() => document.querySelector('.gp-tooltip').textContent);
  check(tip.includes('Before') && tip.includes('After'), `diff: tooltip shows before and after (${tip.replace(/\s+/g, ' ').slice(0, 100)})`);
  if (shotDir) await page.screenshot({ path: path.join(shotDir, 'viewer-diff.png') });
  check(errors.length === 0, `diff: no page errors (${errors.join('; ')})`);
  await page.close();
}

// ---- a profile without samples says so -----------------------------------------------------
if (emptyHtml) {
  const { page, errors } = await open(emptyHtml);
  const msg = await page.textContent('.gp-empty');
  check(msg === 'This profile has no samples.' && errors.length === 0, `empty profile: "${msg}" (${errors.join('; ')})`);
  await page.close();
}

// ---- ui-static/viewer.html served over HTTP, data from ?src= (the coordinator's way) --------
{
  const { page, errors } = await open(`${origin}/viewer.html?src=/data/small.col&title=Served`);
  const want = expectedShare(fs.readFileSync(smallCol, 'utf8'), HOT);
  const s = await canvasStats(page);
  check(s.colors >= 5, `served viewer.html: canvas is drawn (${s.colors} colours)`);
  const r = await page.evaluate((re) => window.gprofViewer.search(re), hotRe);
  check(Math.abs(r.percent - want) < 0.01, `served viewer.html: search matches ${r.percent.toFixed(2)}%`);
  check((await page.title()) === 'Served', 'served viewer.html: title from ?title=');
  const procs = await page.evaluate(() => {
    const t = window.gprofViewer.tree;
    const out = [];
    for (let i = 1; i < t.n; i++) if (t.depth[i] === 1) out.push(t.names[t.name[i]]);
    return out.sort();
  });
  const comms = new Set();
  for (const line of fs.readFileSync(smallCol, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.slice(0, line.lastIndexOf(' ')).split(';');
    comms.add(/^\d+$/.test(f[0]) && f.length >= 3 ? f[2] : f[0]);
  }
  const wantProcs = [...comms].sort();
  check(procs.join('\n') === wantProcs.join('\n'), `served viewer.html: gProfiler's index;container; prefix is dropped (${procs})`);
  check(errors.length === 0, `served viewer.html: no page errors (${errors.join('; ')})`);
  const tm = await page.evaluate(() => window.gprofViewer.timings);
  check(tm.worker === true && tm.serverMs > 0 && tm.clientMs > 0 && Math.abs(tm.serverMs + tm.clientMs - tm.readyAt) < 1,
    `served viewer.html: parsed in a Worker; first paint split into server ${tm.serverMs.toFixed(0)} ms + client ${tm.clientMs.toFixed(0)} ms`);
  await page.close();
  {
    // the same without the worker: the same tree
    const { page: p3, errors: e3 } = await open(`${origin}/viewer.html?src=/data/small.col&worker=0`);
    const r3 = await p3.evaluate(() => ({ worker: window.gprofViewer.timings.worker, n: window.gprofViewer.tree.n }));
    const n1 = procs.length;
    check(r3.worker === false && r3.n > n1 && e3.length === 0, `served viewer.html&worker=0: parsed on the page (${r3.n} nodes)`);
    await p3.close();
  }
  const { page: p404 } = await open(`${origin}/viewer.html?src=/data/missing.col`);
  const msg = await p404.textContent('.gp-error');
  check(/HTTP 404/.test(msg), `served viewer.html: a failed load says so ("${msg}")`);
  await p404.close();
}

server.close();
check(blocked.length === 0, `the viewer made no network requests (${blocked.join(', ')})`);
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
