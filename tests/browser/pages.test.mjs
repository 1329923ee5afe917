// pages.test.mjs — the web UI's pages of issue 17 in Debian's headless chromium (playwright-core)
// against a real gprof-coordinator seeded by tests/integration/test_ui_pages.sh: every page with
// no console error, the Services home, timeline brushing, the sandwich view's exact counts,
// Compare presets and the grown frame, the PerfSpect view, keys, URL state, screenshots, and the
// Profiles page's progressive first paint (pruned tree first, then the full one).
// Usage: node pages.test.mjs --url URL --shots DIR                 (seeded coordinator)
//        node pages.test.mjs --url URL --shots DIR --console HOST   (a real agent on HOST)
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pngColours } from './png.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const origin = new URL(args.url).origin;
const shots = args.shots || fs.mkdtempSync(path.join(os.tmpdir(), 'gprof-shots-'));
fs.mkdirSync(shots, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let failures = 0;
function check(cond, what) {
  if (cond) console.log(`ok   ${what}`);
  else { console.log(`FAIL ${what}`); failures++; }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
const errors = [];
await ctx.route('**/*', (route) => {
  const u = route.request().url();
  if (u.startsWith(origin + '/') || u.startsWith('blob:') || u.startsWith('data:')) return route.continue();
  errors.push(`request outside the coordinator: ${u}`);
  return route.abort('blockedbyclient');
});
const page = await ctx.newPage();
page.on('pageerror', (e) => errors.push(`page error: ${e}`));
page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url || ''})`); });

const ready = (name) => page.waitForFunction((n) => document.documentElement.dataset.ready === n, name, { timeout: 15000 })
  .catch((e) => { console.log(`FAIL page ${name} not ready; errors so far: ${errors.join(' | ') || 'none'}`); throw e; });
const hashParams = () => page.evaluate(() => Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] || '')));

async function shot(name) {
  const f = path.join(shots, `pages-${name}.png`);
  await page.screenshot({ path: f, fullPage: false });
  const n = pngColours(fs.readFileSync(f));
  check(n > 16, `screenshot ${path.basename(f)} is not blank (${n}${n > 64 ? '+' : ''} colours)`);
}

async function visit(hash, name) {
  const before = errors.length;
  await page.goto(`${origin}/${hash}`);
  await ready(name);
  await page.waitForLoadState('networkidle');
  check(errors.length === before, `${hash || '/'} loads with no console error${errors.length > before ? ': ' + errors.slice(before).join(' | ') : ''}`);
}

if (args.console) {
  // ---- console: an ad hoc request from the Hosts page goes pending -> completed (real agent) ----
  const HOST = args.console;
  await visit('#/hosts', 'hosts');
  await page.waitForSelector(`#ap-host-table input[aria-label="select ${HOST}"]`, { timeout: 20000 });
  await page.check(`#ap-host-table input[aria-label="select ${HOST}"]`);
  await page.click('#ap-start');
  await page.fill('#ap-d-duration', '4');
  await page.fill('#ap-d-frequency', '49');
  await page.click('#ap-d-submit');
  await page.waitForSelector('#ap-request-table tr[data-request]');
  const seen = [];
  const t0 = Date.now();
  let status = '';
  while (Date.now() - t0 < 60000) {
    status = await page.$eval('#ap-request-table tr[data-request]', (tr) => {
      const ex = tr.querySelector(`.ap-exec`);
      return ex ? ex.dataset.status : 'pending';
    }).catch(() => '');
    if (status && seen[seen.length - 1] !== status) seen.push(status);
    if (status === 'completed' || status === 'failed') break;
    await page.waitForTimeout(250);
  }
  console.log(`     statuses seen: ${seen.join(' -> ')}`);
  // The agent's heartbeat may pick the request up before the page's first poll, so the first
  // status seen is pending, sent or assigned, never already finished.
  check(['pending', 'sent', 'assigned'].includes(seen[0]), `the request is seen before it finishes (${seen[0]})`);
  check(status === 'completed', `the host's status reaches completed after the agent's heartbeats (${seen.join(' -> ')})`);
  check(seen.length >= 2, 'the status changed live in the page (no reload)');
  const link = await page.$(`#ap-request-table .ap-exec[data-host="${HOST}"] a`);
  check(!!link && /#\/adhoc\?/.test(await link.getAttribute('href')), 'the finished ad hoc session links to its flame graph');
  await shot('console');
  check(!errors.length, `no console error at all${errors.length ? ': ' + errors.join(' | ') : ''}`);
  await browser.close();
  process.exit(failures ? 1 : 0);
}

// ---- Services: the home page lists the seeded services ---------------------------------------
await visit('', 'services');
const svcs = await page.$$eval('#ap-services-table tr[data-service]', (rs) => rs.map((r) => ({ name: r.dataset.service, samples: Number(r.dataset.samples), text: r.textContent })));
check(svcs.some((s) => s.name === 'shop') && svcs.some((s) => s.name === 'billing'), `the Services page lists shop and billing (${svcs.map((s) => s.name).join(', ')})`);
const shop = svcs.find((s) => s.name === 'shop') || { text: '' };
check(shop.samples === 3370, `shop has 3370 samples in the last hour (${shop.samples})`);
check(/2 active/.test(shop.text), 'shop shows its 2 active hosts');
check(await page.$$eval('#ap-services-table tr[data-service="shop"] svg.ap-spark polyline', (x) => x.length) === 1, 'shop has a sparkline');
await shot('services');
await page.click('#ap-services-table a.ap-svc-name:text("shop")');
await ready('profiles');
check((await hashParams()).service === 'shop', 'a click on a service opens its profile');

// ---- Profiles: colours by kind, timeline drag narrows the range, sandwich ----------------------
await visit('#/profiles?service=shop&time=1h&full=1', 'profiles');
await page.waitForSelector('#ap-graph canvas');
check(await page.$eval('#ap-kind-legend', (e) => !e.hidden && e.textContent.includes('Kernel') && e.textContent.includes('Python')), 'a legend of frame kinds is shown');
const kinds = await page.evaluate(() => {
  const g = window.gprofApp.viewer.graph;
  const c = (n) => g.color(g.findNode(n));
  return { k: c('do_syscall_64_[k]'), p: c('handle (/app/x.py:3)_[p]'), n: c('parse_json'), j: c('com.shop.Cart.total_[j]') };
});
check(new Set(Object.values(kinds)).size === 4, `kernel, Python, native and JIT frames have different colours (${JSON.stringify(kinds)})`);
await shot('profiles');
await page.waitForSelector('#ap-timeline');
const box = await page.$eval('#ap-timeline', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
const before = await hashParams();
await page.mouse.move(box.x + box.w * 0.5, box.y + box.h / 2);
await page.mouse.down();
await page.mouse.move(box.x + box.w * 0.7, box.y + box.h / 2, { steps: 5 });
await page.mouse.move(box.x + box.w * 0.99, box.y + box.h / 2, { steps: 5 });
await page.mouse.up();
await page.waitForFunction(() => location.hash.includes('time=custom'));
await ready('profiles');
const after = await hashParams();
const span = Number(after.end) - Number(after.start);
check(after.time === 'custom' && span > 1500 && span < 2000, `dragging the timeline narrows the range to about half of the hour (${before.time} -> ${after.start}..${after.end}, ${span} s)`);
await page.waitForSelector('#ap-graph canvas');
check(await page.evaluate(() => window.gprofApp.viewer.tree.value[0]) === 3370, 'the narrowed range still holds the seeded profiles (3370 samples)');

// select the hot function by clicking its frame in the graph, then the sandwich
await visit('#/profiles?service=shop&time=1h', 'profiles');
await page.waitForSelector('#ap-graph canvas');
await page.$eval('#ap-graph canvas', (c) => c.scrollIntoView({ block: 'center' }));
const pt = await page.evaluate(() => { const g = window.gprofApp.viewer.graph; return g.nodeCenter(g.findNode('hot_fn')); });
await page.mouse.click(pt.x, pt.y);
await page.waitForSelector('#ap-sel-sandwich');
check(await page.textContent('#ap-sel-name') === 'hot_fn', 'a click on a frame selects it');
await page.click('#ap-sel-sandwich');
await page.waitForSelector('#ap-sw-callers tr[data-name]');
const callers = await page.$$eval('#ap-sw-callers tr[data-depth="1"]', (rs) => rs.map((r) => [r.dataset.name, Number(r.dataset.value)]));
const callees = await page.$$eval('#ap-sw-callees tr[data-depth="1"]', (rs) => rs.map((r) => [r.dataset.name, Number(r.dataset.value)]));
const tot = await page.$eval('#ap-sw-total', (e) => [Number(e.dataset.total), Number(e.dataset.self)]);
check(JSON.stringify(callers) === JSON.stringify([['parse_json', 1100], ['batch_job', 500]]), `sandwich: hot_fn's callers with exact counts (${JSON.stringify(callers)})`);
check(JSON.stringify(callees) === JSON.stringify([['compress', 200]]), `sandwich: hot_fn's callees (${JSON.stringify(callees)})`);
check(tot[0] === 1600 && tot[1] === 1400, `sandwich: on 1600 samples, 1400 self (${tot})`);
check((await hashParams()).fn === 'hot_fn', 'the sandwich function is in the URL');
check(await page.evaluate(() => window.gprofApp.viewer.tree.n) < 14, 'the flame graph itself is truncated (stacks_count_default=3) while the sandwich is exact');
await shot('sandwich');

// ---- keys: ? lists them; arrows move between frames ------------------------------------------
await page.keyboard.press('Escape');
await page.keyboard.press('?');
await page.waitForSelector('#ap-keys');
check((await page.textContent('#ap-keys')).includes('focus the flame graph search'), '? lists the keys');
await shot('keys');
await page.keyboard.press('Escape');
await page.evaluate(() => { const g = window.gprofApp.viewer.graph; g.zoomTo(g.findNode('parse_json')); });
await page.keyboard.press('ArrowRight');
const z1 = await page.evaluate(() => { const g = window.gprofApp.viewer.graph; return g.t.names[g.t.name[g.zoom]]; });
await page.keyboard.press(await page.evaluate(() => window.gprofApp.viewer.graph.mode) === 'icicle' ? 'ArrowUp' : 'ArrowDown');
const z2 = await page.evaluate(() => { const g = window.gprofApp.viewer.graph; return g.t.names[g.t.name[g.zoom]]; });
check(z1 !== 'parse_json' && z2 === 'handle_request', `arrow keys move to a sibling (${z1}) and to the parent (${z2})`);
await page.keyboard.press('/');
check(await page.evaluate(() => document.activeElement && document.activeElement.id === 'gp-search'), '/ focuses the search');

// ---- shared URL restores the view -------------------------------------------------------------
const shared = '#/profiles?service=shop&time=1h&hn=shop-1,shop-2&fn=hot_fn&search=render&z=shop-api%3Bmain%3Bhandle_request&group=host';
const p2 = await ctx.newPage();
p2.on('pageerror', (e) => errors.push(`page error: ${e}`));
p2.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
await p2.goto(`${origin}/${shared}`);
await p2.waitForFunction(() => document.documentElement.dataset.ready === 'profiles');
await p2.waitForSelector('#ap-sw-callers tr[data-name]');
await p2.waitForSelector('#ap-group-table tr[data-name]');
const st = await p2.evaluate(() => ({
  fn: document.getElementById('ap-sw-fn').textContent,
  search: document.getElementById('gp-search').value,
  zoom: (() => { const g = window.gprofApp.viewer.graph; return g.t.names[g.t.name[g.zoom]]; })(),
  hosts: Array.from(document.getElementById('ap-f-hn').selectedOptions).map((o) => o.value).sort(),
  rql: document.getElementById('ap-rql').textContent,
  group: Array.from(document.querySelectorAll('#ap-group-table tr[data-name]')).map((r) => r.dataset.name).sort(),
}));
check(st.fn === 'hot_fn' && st.search === 'render' && st.zoom === 'handle_request', `a pasted link restores sandwich, search and zoom (${st.fn}, ${st.search}, ${st.zoom})`);
check(JSON.stringify(st.hosts) === '["shop-1","shop-2"]' && st.rql.includes('"$in"'), `several host values are restored and sent as $in (${st.hosts}, ${st.rql})`);
check(JSON.stringify(st.group) === '["shop-1","shop-2"]', `"group by host" lists both hosts (${st.group})`);
await p2.close();

// ---- Profiles: progressive first paint (the pruned tree, then the full one) ------------------
// firstFraction=1/10 prunes frames under 337 of the 3370 samples (compress, the Python and Java
// stacks); the full tree's request is held until the first paint is checked, so that the test
// sees both states whatever the machine's speed.
{
  let releaseFull;
  const fullGate = new Promise((r) => { releaseFull = r; });
  const fullSeen = [];
  const isFull = (u) => u.pathname === '/api/flamegraph' && u.searchParams.get('format') === 'compact' && !u.searchParams.has('minFraction');
  await page.route(isFull, async (route) => { fullSeen.push(route.request().url()); await fullGate; await route.continue().catch(() => {}); });
  const before = errors.length;
  const z = 'shop-api;main;batch_job;hot_fn;compress';
  await page.goto(`${origin}/#/profiles?service=shop&time=1h&full=1&firstFraction=1%2F10&search=compress&z=${encodeURIComponent(z)}`);
  await ready('profiles');
  await page.waitForSelector('#ap-graph canvas');
  await page.waitForFunction(() => window.gprofApp.viewer && window.gprofApp.viewer.paintedAt > 0);
  const first = await page.evaluate(() => {
    const v = window.gprofApp.viewer, g = v.graph, t = v.tree;
    return { partial: !!t.partial, total: t.value[0], nodes: t.n, compress: g.findNode('compress'), hot: g.findNode('hot_fn'),
      note: !document.getElementById('gp-partial').hidden && document.getElementById('gp-partial').textContent,
      match: document.getElementById('gp-match').textContent, zoom: t.names[t.name[g.zoom]],
      top: document.querySelector('#gp-top tbody').textContent, full: document.getElementById('ap-graph-host').dataset.full };
  });
  check(fullSeen.length === 1, `the full tree is asked for at once beside the pruned one (${fullSeen.length} request)`);
  check(first.partial && first.total === 3370 && first.compress < 0 && first.hot > 0,
    `the first paint is the pruned tree: 3370 samples, hot_fn drawn, compress (200) not yet (${JSON.stringify({ partial: first.partial, total: first.total, nodes: first.nodes, compress: first.compress })})`);
  check(/Loading the full profile/.test(first.note || '') && /once the full profile is in/.test(first.match) && /Loading the full profile/.test(first.top),
    `the partial first paint says so; search and top functions visibly wait (${first.note}; ${first.match})`);
  check(first.zoom === 'hot_fn' && (await hashParams()).z === z, `the URL's zoom goes as deep as the pruned tree holds, the URL keeps the full path (${first.zoom})`);
  releaseFull();
  await page.waitForFunction(() => document.getElementById('ap-graph-host').dataset.full, null, { timeout: 15000 })
    .catch(() => {}); // said below
  const swap = await page.evaluate(() => ({ full: document.getElementById('ap-graph-host').dataset.full, note: document.getElementById('gp-partial').textContent }));
  check(swap.full === '1', `the full tree comes in after the first paint (${swap.full || 'not yet after 15 s'}: ${swap.note})`);
  const full = await page.evaluate(() => {
    const v = window.gprofApp.viewer, g = v.graph, t = v.tree;
    return { partial: !!t.partial, total: t.value[0], nodes: t.n, compress: g.findNode('compress'), java: g.findNode('com.shop.Cart.total_[j]'),
      note: document.getElementById('gp-partial').hidden, pct: document.getElementById('gp-match').dataset.percent,
      zoom: t.names[t.name[g.zoom]], top: document.querySelectorAll('#gp-top tbody tr').length, parsedIn: t.parsedIn,
      fullAfterPaint: v.fullAt > v.paintedAt };
  });
  check(!full.partial && full.total === 3370 && full.compress > 0 && full.java > 0 && full.nodes > first.nodes,
    `the full tree is swapped in: compress and the Java frame appear (${first.nodes} -> ${full.nodes} nodes)`);
  check(full.parsedIn === 'worker' && full.fullAfterPaint, `the full tree is parsed in the Worker after the first paint (${full.parsedIn})`);
  check(full.note && full.pct === (100 * 200 / 3370).toFixed(4) && full.top > 3, `then search is exact (${full.pct}% for compress) and the top functions are listed (${full.top} rows)`);
  check(full.zoom === 'compress' && (await hashParams()).z === z, `and the URL's zoom lands exactly on compress (${full.zoom})`);
  check(errors.length === before, `the progressive Profiles page logs no console error${errors.length > before ? ': ' + errors.slice(before).join(' | ') : ''}`);
  await page.unroute(isFull);
  await page.goto(`${origin}/#/profiles?service=shop&time=1h&full=1`);
  await ready('profiles');
  await page.waitForSelector('#ap-graph canvas');
  check(await page.evaluate(() => !window.gprofApp.viewer.tree.partial && document.getElementById('ap-graph-host').dataset.full === '1'),
    'with the default share (1/4000) nothing of this small profile is pruned: the first answer is the whole tree');
}

// ---- Compare: presets, the grown frame, one click to either side ------------------------------
await visit('#/compare?service=shop&time=1h&base=hour', 'compare');
await page.waitForSelector('#ap-changes');
check(await page.$eval('#ap-cmp-presets button.gp-on', (b) => b.dataset.base) === 'hour', 'the "1 h earlier" preset is on');
const grew = await page.$$eval('#ap-changes tbody tr', (rs) => rs.filter((r) => r.cells[0].textContent === 'hot_fn').map((r) => r.cells[3].className));
check(grew.length === 1 && grew[0].includes('ap-grew'), 'the diff marks hot_fn as grown');
const cw = await page.evaluate(() => { const t = window.gprofApp.viewer.tree; return { parsedIn: t.parsedIn, ranked: Array.isArray(t.diffTop) && t.diffTop.length }; });
check(cw.parsedIn === 'worker' && cw.ranked > 0, `the diff is parsed, laid out and its changes ranked in the Worker (${cw.parsedIn}, ${cw.ranked} functions)`);
const hue = await page.evaluate(() => { const g = window.gprofApp.viewer.graph; return g.color(g.findNode('hot_fn')); });
check(/^hsl\(4,/.test(hue), `hot_fn is drawn in the "grew" colour (${hue})`);
await shot('compare');
await page.$eval('#ap-graph canvas', (c) => c.scrollIntoView({ block: 'center' }));
const cpt = await page.evaluate(() => { const g = window.gprofApp.viewer.graph; return g.nodeCenter(g.findNode('hot_fn')); });
await page.mouse.click(cpt.x, cpt.y);
await page.waitForSelector('#ap-cmp-open-base');
await page.click('#ap-cmp-open-base');
await ready('profiles');
await page.waitForSelector('#ap-graph canvas');
const base = await page.evaluate(() => ({ total: window.gprofApp.viewer.tree.value[0], search: document.getElementById('gp-search').value }));
check(base.total === 2100 && base.search === '^hot_fn$', `one click opens the baseline's plain flame graph with the frame searched (${base.total} samples, ${base.search})`);
const presetsOn = [];
for (const b of ['day', 'week', 'previous']) {
  await page.goto(`${origin}/#/compare?service=shop&time=1h&base=${b}`);
  await ready('compare');
  presetsOn.push(await page.$eval('#ap-cmp-presets button.gp-on', (e) => e.dataset.base));
}
check(JSON.stringify(presetsOn) === '["day","week","previous"]', `the 1 day, 1 week and previous-period presets load, each shown as chosen (${presetsOn})`);

// the diff's progressive first paint: pruned to 1/5 first (batch_job, 500 of 3370 after and 0
// before, not drawn), the full diff swapped in, the biggest changes from the full one only
await visit('#/compare?service=shop&time=1h&base=hour&firstFraction=1%2F5', 'compare');
await page.waitForFunction(() => document.getElementById('ap-graph-host').dataset.full === '1', null, { timeout: 15000 });
await page.waitForSelector('#ap-changes');
const cp = await page.evaluate(() => {
  const v = window.gprofApp.viewer, f = v.firstTree, t = v.tree;
  const has = (tr, n) => tr.names.some((x, k) => x === n && Array.prototype.some.call(tr.name, (id) => id === k));
  return { first: !!f && f.partial && f.diff, firstBatch: f && has(f, 'batch_job'), fullBatch: has(t, 'batch_job'), partial: !!t.partial,
    totals: f && [f.value[0], f.before[0]].join() === [t.value[0], t.before[0]].join() && `${t.before[0]} -> ${t.value[0]}`,
    grew: Array.from(document.querySelectorAll('#ap-changes tbody tr')).filter((r) => r.cells[0].textContent === 'hot_fn').map((r) => r.cells[3].className).join(),
    waiting: !!document.getElementById('ap-changes-wait') };
});
check(cp.first && !cp.firstBatch && cp.fullBatch && !cp.partial && cp.totals && /ap-grew/.test(cp.grew) && !cp.waiting,
  `Compare paints the pruned diff first (minFraction on /api/flamegraph/diff), then the full one with the biggest changes (${JSON.stringify(cp)})`);

// ---- PerfSpect view renders the seeded report -------------------------------------------------
await visit('#/perfspect?service=shop&host=shop-2', 'perfspect');
await page.waitForSelector('#ap-ps-report table');
const ps = await page.$$eval('#ap-ps-report td', (tds) => tds.map((t) => t.textContent));
check(ps.includes('CPI') && ps.includes('0.85'), `the PerfSpect view renders the report's table in place (${ps.slice(0, 6).join(', ')})`);
check(await page.$$eval('#ap-ps-report script, #ap-ps-report iframe', (x) => x.length) === 0, 'nothing of the report runs (no script, no frame)');
await shot('perfspect');
await visit('#/perfspect?service=shop&host=shop-1', 'perfspect');
check(await page.$eval('#ap-perfspect', (e) => /No PerfSpect report for shop-1/.test(e.textContent)), 'a host without a report says so');

// ---- every other page: loads, no console error, screenshot -----------------------------------
await visit('#/hosts', 'hosts');
await shot('hosts');
await visit('#/adhoc?service=shop&time=1h', 'adhoc');
await shot('adhoc');
await visit('#/profiles?service=billing&time=1h', 'profiles');
await page.waitForSelector('#ap-graph canvas');
check(!errors.length, `no console error on any page${errors.length ? ': ' + errors.join(' | ') : ''}`);
await browser.close();
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
