// ui.test.mjs — drives the coordinator's web UI (GET /) in Debian's headless chromium
// (playwright-core, no downloaded browser) against a real gprof-coordinator; every request that
// does not go to the coordinator is blocked. Run by tests/integration/test_ui_browser.sh.
// Usage: node ui.test.mjs --url http://127.0.0.1:PORT --service SVC --hot FN
//          [--host H --cols A.col,B.col --host-col A.col --old-service SVC2 --hv-frame F]  (the full run)
//          [--auth TOKEN [--full-total N]]  (auth on: the token prompt, then the flame graph;
//                                            truncated to 2 stacks, N samples in all)
//          [--adhoc HOST]  (the Ad hoc results page lists HOST's ad hoc file and opens it)
//          [--fresh 1]  (a coordinator without any data: empty states)
//          [--shots DIR]
//   cols: the collapsed files uploaded in the last hour (expected search share and totals);
//   host-col: the part of them uploaded by --host (expected total with the host filter);
//   old-service: a service whose only upload is days old (empty state);
//   hv-frame: a hypervisor frame in the cols (explained above the graph and in its tooltip).
//   The cols hold a stack 40+ frames deep (the root must be drawn above the fold).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pngColours } from './png.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const { url: URL0, service: SVC, hot: HOT, host: HOST, auth: TOKEN, shots: shotDir } = args;
if (!URL0 || ((!SVC || !HOT) && !args.fresh)) {
  console.error('usage: node ui.test.mjs --url URL --service SVC --hot FN [--host H --cols A,B --host-col A --old-service S] [--auth TOKEN] [--shots DIR]');
  process.exit(2);
}
const origin = new URL(URL0).origin;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let failures = 0;
function check(cond, what) {
  if (cond) console.log(`ok   ${what}`);
  else { console.log(`FAIL ${what}`); failures++; }
}

// Samples in collapsed files: total, and the part whose stack contains fn.
function tally(files, fn) {
  let total = 0, hit = 0;
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const sp = line.lastIndexOf(' ');
      const n = Number(line.slice(sp + 1));
      total += n;
      if (line.slice(0, sp).split(';').includes(fn)) hit += n;
    }
  }
  return { total, hit };
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gprof-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1400, height: 900 },
  deviceScaleFactor: 1,
  acceptDownloads: true,
});
const blocked = [];
await context.route('**/*', (route) => {
  const u = route.request().url();
  if (u.startsWith(origin + '/') || u.startsWith('blob:') || u.startsWith('data:')) return route.continue();
  blocked.push(u);
  return route.abort('blockedbyclient');
});

// Routing requests (as above) stops chromium from asking for /favicon.ico, so one load of the
// page is also made in a browser without routes: no console error at all, a missing icon included.
async function plainLoad(what) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const p = await ctx.newPage();
  const errs = [];
  p.on('pageerror', (e) => errs.push(String(e)));
  p.on('console', (m) => { if (m.type() === 'error') errs.push(`${m.text()} (${m.location().url || 'no url'})`); });
  await p.goto(origin + '/', { waitUntil: 'networkidle' });
  await p.waitForFunction(() => document.documentElement.dataset.ready === 'services', null, { timeout: 30000 });
  await p.waitForLoadState('networkidle');
  check(errs.length === 0, `${what}: no console error on a plain load of / (favicon included)${errs.length ? ': ' + errs.join(' | ') : ''}`);
  await browser.close();
}

const page = await context.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
// 4xx answers of the API (401 before the token, 400 for a bad range) are part of the test;
// any other console error is a defect, a missing /favicon.ico included.
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const apiAnswer = /Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()) &&
    (m.location().url || '').startsWith(origin + '/api/');
  if (!apiAnswer) errors.push(`${m.text()} (${m.location().url || 'no url'})`);
});
page.on('dialog', (d) => { errors.push(`dialog: ${d.message()}`); d.dismiss(); });
// screenshots are test artifacts, and each is checked not to be blank
const shot = async (name, opts = {}) => {
  if (!shotDir) return;
  const f = path.join(shotDir, `ui-${name}.png`);
  await page.screenshot({ path: f, ...opts });
  const n = pngColours(fs.readFileSync(f));
  check(n > 16, `screenshot ${path.basename(f)} is not blank (${n}${n > 64 ? '+' : ''} colours)`);
};

async function ready(pageName) {
  await page.waitForFunction((p) => document.documentElement.dataset.ready === p, pageName, { timeout: 30000 });
}
async function nextGraph(prev) {
  await page.waitForFunction((p) => Number(document.documentElement.dataset.graph || 0) > p, prev, { timeout: 30000 });
}
const graphCount = () => page.evaluate(() => Number(document.documentElement.dataset.graph || 0));

async function canvasStats() {
  return page.evaluate(() => {
    const c = document.querySelector('#ap-graph canvas.gp-canvas');
    if (!c) return { colors: 0, paintedShare: 0 };
    const ctx = c.getContext('2d');
    const { width: w, height: h } = c;
    const img = ctx.getImageData(0, 0, w, h).data;
    const colors = new Set();
    let painted = 0, n = 0, red = 0, blue = 0;
    for (let y = 0; y < h; y += 3) {
      for (let x = 0; x < w; x += 3) {
        const o = (y * w + x) * 4;
        const [r, g, b, a] = [img[o], img[o + 1], img[o + 2], img[o + 3]];
        colors.add((r << 24) | (g << 16) | (b << 8) | a);
        if (a > 0) painted++;
        if (a > 0 && r > b + 60 && r > g + 40) red++;
        if (a > 0 && b > r + 40) blue++;
        n++;
      }
    }
    return { colors: colors.size, paintedShare: painted / n, red, blue };
  });
}

if (args.fresh) {
  // ---- a coordinator that has received nothing yet: empty states, no errors -------------
  await page.goto(origin + '/');
  await ready('services');
  const t = await page.textContent('#ap-main .ap-empty');
  check(t.startsWith('No services yet') && t.includes(`gprof-agent --coordinator ${origin} --service`), `fresh coordinator: "${t.slice(0, 90)}…"`);
  await shot('fresh');
  await plainLoad('fresh coordinator');
  await page.goto(origin + '/#/hosts');
  await ready('hosts');
  const hst = await page.textContent('#ap-hosts .ap-empty');
  check(hst.startsWith('No agent has sent a heartbeat yet'), `fresh Hosts page: "${hst.slice(0, 60)}…"`);
} else if (args.adhoc) {
  // ---- Ad hoc results: an agent's ad hoc HTML (gprof's own export) listed and opened -----
  await page.goto(`${origin}/#/adhoc?service=${SVC}&time=1h`);
  await ready('adhoc');
  const row = '#ap-adhoc-table tbody tr';
  await page.waitForSelector(row);
  const cells = await page.$$eval(`${row} td`, (t) => t.map((x) => x.textContent));
  check(cells.includes(args.adhoc) && cells.some((c) => /_adhoc_flamegraph\.html$/.test(c)), `the ad hoc list shows ${args.adhoc}'s file (${cells.join(' | ')})`);
  const g = await graphCount();
  await page.click(`${row} button`);
  await nextGraph(g);
  const top = await page.evaluate(() => window.gprofApp.viewer.top[0].name);
  check(top === HOT, `opening it draws its flame graph in the page (top function ${top})`);
  const s = await canvasStats();
  check(s.colors >= 5 && s.paintedShare > 0.05, `the ad hoc flame graph is drawn (${s.colors} colours)`);
  await shot('adhoc-open', { fullPage: true });
} else if (TOKEN) {
  // ---- auth on: the first API call answers 401, the UI offers to sign in ----------------
  await page.goto(origin + '/#/profiles');
  await page.waitForSelector('#ap-signin-name', { timeout: 30000 });
  const smsg = await page.textContent('.ap-dialog .ap-error');
  check(/authentication required/.test(smsg), `401 opens the sign-in form with the server's message ("${smsg}")`);
  await shot('signin');
  if (args.user) {
    // a wrong password is refused in the form; the right one signs in with a cookie + CSRF token
    await page.fill('#ap-signin-name', args.user);
    await page.fill('#ap-signin-password', 'not-' + args.password);
    await page.click('#ap-signin-ok');
    await page.waitForFunction(() => /wrong user name or password/.test(document.querySelector('.ap-dialog .ap-error').textContent));
    check(true, 'a wrong password is refused in the sign-in form');
    await page.fill('#ap-signin-password', args.password);
    await page.click('#ap-signin-ok');
    await ready('profiles');
    const who = await page.textContent('#ap-signout');
    check(who.includes(args.user) && /admin/.test(who), `the header says who is signed in ("${who}")`);
    check(!(await page.evaluate(() => document.cookie)).includes('gprof_session'), 'the session cookie is HttpOnly (not in document.cookie)');
    check(/^gpc_/.test(await page.evaluate(() => sessionStorage.getItem('gprof.csrf'))), 'the CSRF token is kept for the tab');
    const put = await page.evaluate(() => window.gprofApp.api('/api/settings', {}, { method: 'PUT', body: { retention_days: 30 } }).then((r) => r.status, (e) => e.message));
    check(put === 200, `a state change from the session carries its CSRF token (${put})`);
    const bare = await page.evaluate(() => fetch('/api/settings', { method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{"retention_days":30}' }).then((r) => r.status));
    check(bare === 403, `the same change without X-CSRF-Token is refused (${bare})`);

    // ---- the Users page: an admin lists, adds, changes, makes and revokes tokens, removes ----
    check(await page.isVisible('#ap-nav-users'), 'an admin sees the Users link');
    await page.click('#ap-nav-users');
    await ready('users');
    await page.waitForSelector(`#ap-users-table tr[data-user="${args.user}"]`);
    check((await page.getAttribute(`#ap-users-table tr[data-user="${args.user}"]`, 'data-role')) === 'admin', `the list shows ${args.user} as admin`);
    const addUser = async (name, pass, role, services) => {
      await page.fill('#ap-user-name', name);
      await page.fill('#ap-user-password', pass);
      await page.selectOption('#ap-user-role', role);
      await page.fill('#ap-user-services', services);
      await page.click('#ap-user-add');
      await page.waitForSelector(`#ap-users-table tr[data-user="${name}"]`);
    };
    const VIC = 'uitest-vic', VICPASS = 'vic-Pass-1';
    await addUser(VIC, VICPASS, 'viewer', args.service);
    const row = `#ap-users-table tr[data-user="${VIC}"]`;
    check((await page.getAttribute(row, 'data-role')) === 'viewer' && (await page.inputValue(`${row} .ap-user-svc`)) === args.service,
      `"Add user" adds ${VIC} as a viewer of ${args.service}`);
    await page.selectOption(`${row} .ap-user-role-sel`, 'operator');
    await page.click(`${row} .ap-user-save`);
    await page.waitForSelector(`${row}[data-role="operator"]`);
    check(/is now operator/.test(await page.textContent('#ap-users-msg')), 'changing the role to operator is saved and said');
    await page.click(`${row} .ap-user-token`);
    await page.waitForSelector('#ap-new-token');
    const tok = await page.inputValue('#ap-new-token');
    check(/^gpu_[0-9a-f]{64}$/.test(tok), 'a new API token is shown once');
    await shot('users-token');
    await page.click('#ap-new-token-done');
    const meWith = (t) => page.evaluate((x) => fetch('/api/me', { headers: { Authorization: 'Bearer ' + x } }).then(async (r) => ({ status: r.status, body: r.ok ? await r.json() : null })), t);
    const me1 = await meWith(tok);
    check(me1.status === 200 && me1.body.name === VIC && me1.body.role === 'operator', `the token signs ${VIC} in as operator (${me1.status})`);
    await page.waitForSelector(`${row} .ap-revoke`);
    await page.click(`${row} .ap-revoke`);
    await page.waitForSelector(`${row} .ap-revoked`);
    const me2 = await meWith(tok);
    check(me2.status === 401, `"Revoke" ends the token at once (${me2.status})`);
    await page.selectOption(`${row} .ap-user-role-sel`, 'viewer');
    await page.click(`${row} .ap-user-save`);
    await page.waitForSelector(`${row}[data-role="viewer"]`);
    await addUser('uitest-tmp', 'tmp-Pass-1', 'viewer', '');
    await page.click('#ap-users-table tr[data-user="uitest-tmp"] .ap-user-remove');
    await page.click('#ap-confirm-ok');
    await page.waitForSelector('#ap-users-table tr[data-user="uitest-tmp"]', { state: 'detached' });
    check(true, '"Remove" (confirmed) removes a user');
    // the page refuses to demote its own admin: the server says why, the page shows it
    await page.selectOption(`#ap-users-table tr[data-user="${args.user}"] .ap-user-role-sel`, 'viewer');
    await page.click(`#ap-users-table tr[data-user="${args.user}"] .ap-user-save`);
    await page.waitForFunction(() => /own role/.test(document.getElementById('ap-users-msg').textContent));
    check((await page.getAttribute(`#ap-users-table tr[data-user="${args.user}"]`, 'data-role')) === 'admin', 'an admin cannot lower their own role');
    await shot('users', { fullPage: true });
    const audit = await page.evaluate(() => window.gprofApp.api('/api/audit', { limit: 60 }).then((r) => r.data));
    const did = (a, t) => audit.some((x) => x.action === a && x.who === args.user && x.result === 'ok' && x.target.startsWith(t));
    check(did('user add', VIC) && did('user set', VIC) && did('user token', VIC) && did('user token revoke', VIC) && did('user remove', 'uitest-tmp'),
      'every change from the Users page is in the audit log under the admin\'s name');

    await page.click('#ap-signout');
    await page.waitForSelector('#ap-signin-name', { timeout: 30000 });
    check(!(await page.$('#ap-signout')), 'signing out asks to sign in again');
    // a viewer does not see the Users link, and the page itself is refused
    await page.fill('#ap-signin-name', VIC);
    await page.fill('#ap-signin-password', VICPASS);
    await page.click('#ap-signin-ok');
    await page.waitForFunction(() => document.documentElement.dataset.ready);
    check(!(await page.isVisible('#ap-nav-users')), 'a viewer does not see the Users link');
    await page.goto(origin + '/#/users');
    await ready('users');
    const refused = await page.textContent('#ap-main .ap-error');
    check(/admin role/.test(refused), `a viewer opening #/users is told why not ("${refused}")`);
    await page.goto(origin + '/#/profiles');
    await ready('profiles');
    await page.click('#ap-signout');
    await page.waitForSelector('#ap-signin-name', { timeout: 30000 });
  }
  // "Use an access token" leads to the ui_token dialog
  await page.click('#ap-signin-token');
  await page.waitForSelector('#ap-token-input', { timeout: 30000 });
  const msg = await page.textContent('.ap-dialog .ap-error');
  check(/authentication required/.test(msg), `the token dialog shows the server's message ("${msg}")`);
  await shot('token');
  // Cancel: the page says why it is empty and offers the token again from the header
  await page.click('.ap-dialog button:has-text("Cancel")');
  await page.waitForSelector('#ap-main .ap-error');
  const why = await page.textContent('#ap-main .ap-error');
  check(/HTTP|credentials/.test(why) && /authentication required/.test(why), `after Cancel the page explains: "${why}"`);
  check(await page.isVisible('#ap-token') && (await page.textContent('#ap-token')) === 'Enter access token', 'the header offers "Enter access token"');
  await page.click('#ap-token');
  await page.waitForSelector('#ap-token-input');
  await page.fill('#ap-token-input', 'wrong-token');
  await page.click('#ap-token-ok');
  await page.waitForSelector('#ap-token-input', { timeout: 30000 });
  check((await page.inputValue('#ap-token-input')) === '', 'a wrong token is refused and asked for again');
  await page.fill('#ap-token-input', TOKEN);
  await page.click('#ap-token-ok');
  await ready('profiles');
  const top = await page.evaluate(() => window.gprofApp.viewer && window.gprofApp.viewer.top[0].name);
  check(top === HOT, `with the token the flame graph loads (top function ${top})`);
  check(await page.evaluate(() => sessionStorage.getItem('gprof.uiToken')) === TOKEN, 'the token is kept in sessionStorage');
  const btn = await page.textContent('#ap-token');
  check(/Token set/.test(btn), `the header shows the token is set ("${btn}")`);
  // this coordinator sends 2 stacks by default: the page says so and loads every stack on request
  if (args['full-total']) {
    await page.waitForSelector('#ap-truncated');
    const t = await page.textContent('#ap-truncated');
    check(/heaviest stacks only/.test(t) && t.includes(Number(args['full-total']).toLocaleString('en-US')), `truncation is explained: "${t}"`);
    await shot('truncated');
    const g = await graphCount();
    await page.click('#ap-full');
    await nextGraph(g);
    const total = await page.evaluate(() => window.gprofApp.viewer.tree.value[0]);
    check(total === Number(args['full-total']) && page.url().includes('full=1'), `"Show every stack" loads all ${total} samples`);
    // exports carry the token: no plain links
    check(!(await page.$('#ap-exports a[target=_blank]')), 'no "Open alone" link while a token is needed');
  }
  // other pages reuse it without asking again
  await page.goto(origin + '/#/hosts');
  await ready('hosts');
  check(!(await page.$('#ap-token-input')), 'no second prompt on the Hosts page');
} else {
  const cols = (args.cols || '').split(',').filter(Boolean);
  const all = tally(cols, HOT);

  // ---- Profiles: services, flame graph, top functions, search, summary, exports ----------
  await page.goto(origin + '/#/profiles');
  await ready('profiles');
  const opts = await page.$$eval('#ap-service option', (o) => o.map((x) => x.value));
  check(opts.includes(SVC), `the service picker lists ${SVC} (${opts.join(', ')})`);
  check(await page.$eval('#ap-service', (s) => s.value) === SVC, `${SVC} (the service with recent data) is selected`);
  const s = await canvasStats();
  check(s.colors >= 5 && s.paintedShare > 0.05, `the flame graph is drawn (${s.colors} colours, ${(100 * s.paintedShare).toFixed(1)}% painted)`);
  // a deep profile at 1400x900: the root and the widest frames are drawn without scrolling
  const fold = await page.evaluate(() => {
    const g = window.gprofApp.viewer.graph;
    const box = (i) => { const c = g.nodeCenter(i); return c && { top: c.y - 9, bottom: c.y + 9 }; };
    const widest = g.t.end[0] > 1 ? 1 : 0; // the first depth-1 frame
    return { rows: g.rows(), mode: g.mode, root: box(0), d1: box(widest), vh: window.innerHeight, scrollY: window.scrollY };
  });
  const inView = (b) => b && b.top >= 0 && b.bottom <= fold.vh;
  check(fold.rows >= 40 && fold.scrollY === 0 && inView(fold.root) && inView(fold.d1),
    `deep profile (${fold.rows} rows, ${fold.mode}): the root frame is in the ${fold.vh}px viewport without scrolling (root ${JSON.stringify(fold.root)}, depth 1 ${JSON.stringify(fold.d1)})`);
  await shot('profiles-first-view');
  // hypervisor frames of a VM are explained above the graph and in their tooltip
  if (args['hv-frame']) {
    const hvw = tally(cols, args['hv-frame']);
    const note = await page.isVisible('#gp-hv-note') ? await page.textContent('#gp-hv-note') : '';
    const pv = (100 * hvw.hit) / hvw.total;
    const pctTxt = pv.toFixed(pv >= 10 ? 1 : 2) + '%';
    check(note.includes(pctTxt) && note.includes(args['hv-frame']) && /hypervisor/.test(note) && /not your code/.test(note),
      `hypervisor frames are explained: "${note.slice(0, 120)}…"`);
    const c = await page.evaluate((n) => { const g = window.gprofApp.viewer.graph; return g.nodeCenter(g.findNode(n)); }, args['hv-frame']);
    if (c) {
      await page.mouse.move(c.x, c.y);
      await page.waitForTimeout(50);
    }
    const tip = await page.evaluate(() => { const t = document.querySelector('.gp-tooltip'); return t && !t.hidden ? t.textContent : ''; });
    check(/hypervisor frame/.test(tip), `the tooltip of ${args['hv-frame']} says it is a hypervisor frame ("${tip.replace(/\s+/g, ' ').slice(0, 120)}")`);
    await page.mouse.move(1, 1);
  }
  // the truncation note: only when the stacks left out hold 0.1% of the samples or more, and
  // never a share rounded to 100%
  const tn = await page.evaluate(async () => {
    const m = await import('/ui/pages/profiles.js');
    return { small: m.truncationNote(40905, 40925), edge: m.truncationNote(9990, 10000), big: m.truncationNote(99890, 100000),
      none: m.truncationNote(500, 500), min: m.TRUNCATION_NOTE_MIN };
  });
  check(tn.small === null && tn.none === null, `no truncation note when 20 of 40,925 samples (0.05%) are left out (${tn.small})`);
  check(tn.min === 0.001 && tn.edge && /9,990 of 10,000 samples \(99\.9%\).*10 samples \(0\.1%\)/.test(tn.edge), `0.1% left out is noted: "${tn.edge}"`);
  check(tn.big && /99,890 of 100,000 samples \(99\.9%\)/.test(tn.big) && !/100\.0%/.test(tn.big), `the share is not rounded to 100%: "${tn.big}"`);
  check(!(await page.$('#ap-truncated')), 'no truncation note when every stack is drawn');
  await plainLoad('with profiles');
  const total = await page.evaluate(() => window.gprofApp.viewer.tree.value[0]);
  check(total === all.total, `the graph holds every sample of the last hour (${total}, expected ${all.total})`);
  const parsedIn = await page.evaluate(() => window.gprofApp.viewer.tree.parsedIn);
  check(parsedIn === 'worker', `the flame graph answer is parsed and laid out in a module Worker (${parsedIn})`);
  const firstRow = await page.textContent('#gp-top tbody tr:first-child td.gp-col-name');
  check(firstRow.trim() === HOT, `the top functions table lists ${HOT} first (got "${firstRow.trim()}")`);
  await page.fill('#gp-search', HOT);
  await page.press('#gp-search', 'Enter');
  const pct = Number(await page.getAttribute('#gp-match', 'data-percent'));
  const want = (100 * all.hit) / all.total;
  check(Math.abs(pct - want) < 0.01, `search "${HOT}" finds ${pct.toFixed(2)}% of samples (expected ${want.toFixed(2)}%)`);

  // the served viewer's progressive first paint: the coordinator's tree pruned by minFraction
  // (firstFraction=1/10 prunes frames under 10% of this small profile) is painted first, with
  // exact totals and own samples, then the full tree from the Worker is swapped in
  {
    const vp = await context.newPage();
    const verrs = [];
    vp.on('pageerror', (e) => verrs.push(String(e)));
    vp.on('console', (m) => { if (m.type() === 'error') verrs.push(m.text()); });
    const t0 = new Date(Date.now() - 3600e3).toISOString().slice(0, 19), t1 = new Date(Date.now() + 3600e3).toISOString().slice(0, 19);
    const src = `/api/flamegraph?serviceName=${SVC}&startTime=${t0}&endTime=${t1}&format=compact`;
    await vp.goto(`${origin}/ui/viewer.html?firstFraction=1/10&src=${encodeURIComponent(src)}`);
    await vp.waitForFunction(() => document.documentElement.dataset.full, null, { timeout: 30000 });
    const pr = await vp.evaluate(([hot, expectedSrc]) => {
      const v = window.gprofViewer, f = v.firstTree, t = v.tree, tm = v.timings;
      const byName = (tr, n) => { let best = -1; for (let i = 0; i < tr.n; i++) if (tr.names[tr.name[i]] === n && (best < 0 || tr.value[i] > tr.value[best])) best = i; return best; };
      const reqs = performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.includes('/api/flamegraph'));
      const ff = f ? { n: f.n, total: f.value[0], partial: f.partial, pruned: f.prunedNodes, minValue: f.minValue,
        hot: f.value[byName(f, hot)], serveSelf: f.self[byName(f, 'serve')], serveVal: f.value[byName(f, 'serve')], mix: byName(f, 'mix_bits') } : null;
      return { full: document.documentElement.dataset.full, first: ff, tmNodes: tm.nodes, tmPartial: tm.partial,
        n: t.n, total: t.value[0], partial: !!t.partial, hot: t.value[byName(t, hot)], serveSelf: t.self[byName(t, 'serve')],
        mix: byName(t, 'mix_bits'), top: v.top.length, reqs, note: document.getElementById('gp-partial').hidden,
        sum: v.search(`^${hot}$`) };
    }, [HOT, src]);
    const f = pr.first;
    check(f && f.partial && f.pruned > 0 && pr.tmPartial && pr.tmNodes === f.n && f.n < pr.n,
      `progressive: the first paint drew the pruned tree (${f && f.n} of ${pr.n} nodes, ${f && f.pruned} pruned under ${f && f.minValue} samples)`);
    check(f && f.total === all.total && f.hot === all.hit && f.mix < 0,
      `progressive: the first tree's totals are exact (${f && f.total} samples, ${HOT} ${f && f.hot}) with mix_bits pruned`);
    check(f && f.serveSelf === pr.serveSelf && f.serveVal > 0,
      `progressive: own samples in the first tree's tooltips are exact (serve: ${f && f.serveSelf}, full tree ${pr.serveSelf})`);
    check(pr.full === '1' && !pr.partial && pr.total === all.total && pr.mix > 0 && pr.top > 0 && pr.note,
      `progressive: the full tree is swapped in (${pr.n} nodes, ${pr.total} samples, top functions listed, note gone)`);
    check(pr.sum && Math.abs(pr.sum.percent - want) < 0.01, `progressive: search on the full tree finds ${pr.sum && pr.sum.percent.toFixed(2)}%`);
    check(pr.reqs.some((u) => /minFraction=1%2F10/.test(u)), `progressive: the page asked for the pruned tree first (${pr.reqs.length} requests)`);
    check(verrs.length === 0, `progressive: no console error (${verrs.join(' | ')})`);
    await vp.close();
  }
  await page.waitForSelector('#ap-summary .ap-stat');
  const stats = await page.$$eval('#ap-summary .ap-stat', (e) => e.map((x) => x.textContent));
  check(stats.some((t) => /^Hosts2$/.test(t)) && stats.some((t) => /^Avg CPU\d/.test(t)), `summary strip: ${stats.join(' | ')}`);
  await page.waitForSelector('#ap-activity canvas');
  check(true, 'the activity chart (/api/metrics/graph) is drawn');
  await shot('profiles', { fullPage: true });
  for (const fmt of ['html', 'collapsed', 'pprof']) {
    const href = await page.getAttribute(`#ap-export-${fmt}`, 'href');
    const r = await page.evaluate(async (u) => { const x = await fetch(u); const b = new Uint8Array(await x.arrayBuffer()); return { status: x.status, type: x.headers.get('content-type'), len: b.length, text: new TextDecoder().decode(b.slice(0, 4000)) }; }, href);
    const good = r.status === 200 && r.len > 0 && (fmt !== 'collapsed' || r.text.includes(HOT)) && (fmt !== 'html' || r.type.startsWith('text/html'));
    check(good, `export ${fmt}: ${href.slice(0, 60)}… → ${r.status} ${r.type}, ${r.len} bytes`);
  }
  const dl = page.waitForEvent('download', { timeout: 10000 }).catch(() => null);
  await page.click('#ap-export-collapsed');
  const d = await dl;
  check(d && d.suggestedFilename() === `${SVC}_flamegraph.collapsed`, `clicking Collapsed downloads ${d && d.suggestedFilename()}`);

  // the flame/icicle toggle still works inside the app (icicle is the default)
  await page.click('#gp-mode-flame');
  check(await page.evaluate(() => document.querySelector('#ap-graph').dataset.mode) === 'flame', 'the flame toggle works');
  await page.click('#gp-mode-icicle');
  check(await page.evaluate(() => document.querySelector('#ap-graph').dataset.mode) === 'icicle', 'the icicle toggle works');

  // host filter → RQL → only that host's samples
  if (HOST && args['host-col']) {
    const mine = tally([args['host-col']], HOT);
    const g0 = await graphCount();
    await page.selectOption('#ap-f-hn', HOST);
    await nextGraph(g0);
    const t = await page.evaluate(() => window.gprofApp.viewer.tree.value[0]);
    check(t === mine.total, `host filter ${HOST}: ${t} samples (expected ${mine.total})`);
    check(/"HostName":\{"\$eq":"/.test(await page.textContent("#ap-rql")), 'the filter is shown as the RQL sent to the API');
    const g1 = await graphCount();
    await page.selectOption('#ap-f-hn-op', 'not');
    await nextGraph(g1);
    const t2 = await page.evaluate(() => window.gprofApp.viewer.tree.value[0]);
    check(t2 === all.total - mine.total, `host "is not" ${HOST}: ${t2} samples (expected ${all.total - mine.total})`);
    await shot('profiles-filter');
    check(page.url().includes('hn=') && page.url().includes('hnop=not'), 'the filter is kept in the URL');
  }

  // ---- empty state and API errors -------------------------------------------------------
  if (args['old-service']) {
    await page.goto(`${origin}/#/profiles?service=${encodeURIComponent(args['old-service'])}&time=1h`);
    await ready('profiles');
    await page.waitForSelector('.ap-empty button', { timeout: 30000 });
    const txt = await page.textContent('.ap-empty');
    check(txt.includes(`No profiles yet for service ${args['old-service']}`) && txt.includes('Latest data'), `empty state: "${txt.slice(0, 140)}…"`);
    check(await page.isHidden('#ap-exports'), 'no export links while there is nothing to export');
    await shot('empty');
    const g = await graphCount();
    await page.click('.ap-empty button');
    await nextGraph(g);
    check(await page.evaluate(() => window.gprofApp.viewer.tree.value[0]) > 0, '"Show the last hour of data" jumps to the old upload');
  }
  // a service the coordinator does not know: said so, not silently swapped for another
  await page.goto(`${origin}/#/profiles?service=no-such-service&time=1h`);
  await ready('profiles');
  const unk = await page.isVisible('#ap-unknown-service') ? await page.textContent('#ap-unknown-service') : '';
  check(/Unknown service "no-such-service"/.test(unk) && unk.includes(SVC), `an unknown service in the URL is reported: "${unk}"`);
  if (args['old-service']) {
    await page.selectOption('#ap-service', args['old-service']);
    check(!(await page.$('#ap-unknown-service')), 'the note goes once another service is picked');
  }
  await page.goto(`${origin}/#/compare?service=no-such-service&time=1h`);
  await ready('compare');
  check(await page.isVisible('#ap-unknown-service'), 'the Compare page reports it too');
  await page.goto(`${origin}/#/profiles?service=${SVC}&time=custom&start=2000000000&end=1000000000`);
  await ready('profiles');
  await page.waitForSelector('#ap-graph-host .ap-error');
  const err = await page.textContent('#ap-graph-host .ap-error');
  check(/HTTP 400.*endTime must be after startTime/.test(err), `API errors are shown as the server words them ("${err}")`);

  // ---- Hosts: heartbeat → row; Start dialog → profile_request → pending ----------------
  await page.goto(origin + '/#/hosts');
  await ready('hosts');
  const row = `#ap-host-table tr[data-host="${HOST}"]`;
  await page.waitForSelector(row);
  check(true, `the Hosts page lists ${HOST} after its heartbeat`);
  const cells = await page.$$eval(`${row} td`, (t) => t.map((x) => x.textContent));
  check(cells.includes('stopped') && cells.includes('10.0.0.7') && cells.includes('active'), `row: ${cells.slice(1).join(' | ')}`);
  check(await page.isDisabled('#ap-start'), 'Start is disabled until a host is selected');
  await page.check(`${row} input[type=checkbox]`);
  await page.click('#ap-start');
  await page.waitForSelector('.ap-dialog');
  await page.fill('#ap-d-duration', '30');
  await page.fill('#ap-d-frequency', '49');
  await page.fill('#ap-d-pids', '4242x');
  await page.click('#ap-d-submit');
  const perr = await page.textContent('.ap-dialog .ap-error');
  check(/PIDs must be positive numbers/.test(perr), `bad PIDs are refused in the dialog ("${perr}")`);
  await page.fill('#ap-d-pids', '4242');
  await page.check('#ap-d-perfspect');
  await shot('start-dialog');
  await page.click('#ap-d-submit');
  await page.waitForSelector('#ap-request-ok');
  const okMsg = await page.textContent('#ap-request-ok');
  check(/Start profiling request submitted successfully for service 'checkout' across 1 host/.test(okMsg), `the coordinator's answer is shown ("${okMsg}")`);
  await page.waitForFunction((sel) => { const r = document.querySelector(sel); return r && r.textContent.includes('pending'); }, row, { timeout: 30000 });
  const after = await page.$$eval(`${row} td`, (t) => t.map((x) => x.textContent));
  check(after.includes('pending') && after.includes('start') && after.includes('4242'), `after Start: ${after.slice(1).join(' | ')}`);
  await page.waitForSelector('#ap-request-table tbody tr');
  const req = await page.$$eval('#ap-request-table tbody tr:first-child td', (t) => t.map((x) => x.textContent));
  check(req.length === 6 && /start ad hoc 30 s at 49 Hz on ui-host-1/.test(req[2]) && req[3] === 'pending' && /^[0-9a-f-]{36}$/.test(req[5]),
    `the request is tracked on the page: ${req.join(' | ')}`);
  await shot('hosts');
  // a process-level stop without PIDs is refused before it reaches the API
  await page.click('#ap-stop');
  await page.selectOption('#ap-d-level', 'process');
  await page.click('#ap-d-submit');
  check(/needs at least one PID/.test(await page.textContent('.ap-dialog .ap-error')), 'process-level stop without PIDs is refused in the dialog');
  await page.keyboard.press('Escape');
  check(!(await page.$('.ap-dialog')), 'Esc closes the dialog');

  // the row's Profile link opens the flame graph of that host only
  if (args['host-col']) {
    await page.click(`${row} a:has-text("Profile")`);
    await ready('profiles');
    await page.waitForFunction(() => window.gprofApp.viewer, null, { timeout: 30000 });
    const t = await page.evaluate(() => window.gprofApp.viewer.tree.value[0]);
    const mine = tally([args['host-col']], HOT);
    check(t === mine.total && (await page.$eval('#ap-f-hn', (x) => x.value)) === HOST, `the host's Profile link shows ${HOST} only (${t} samples)`);
  }

  // ---- Compare: the last hour against the hour before → diff colours ------------------
  await page.goto(`${origin}/#/compare?service=${SVC}&time=1h`);
  await ready('compare');
  const diff = await page.evaluate(() => { const v = window.gprofApp.viewer; return v && { diff: v.tree.diff, before: v.tree.before[0], after: v.tree.value[0] }; });
  check(diff && diff.diff && diff.before > 0 && diff.after === all.total, `Compare draws a diff (before ${diff && diff.before}, after ${diff && diff.after})`);
  const cs = await canvasStats();
  check(cs.red > 0 && cs.blue > 0, `diff colours: ${cs.red} red and ${cs.blue} blue sample points`);
  const firstChange = await page.$$eval('#ap-changes tbody tr:first-child td', (t) => t.map((x) => x.textContent));
  check(firstChange.length === 6 && /^[+−]\d/.test(firstChange[3]), `the biggest-changes table: ${firstChange.join(' | ')}`);
  await shot('compare', { fullPage: true });
  // two services
  await page.click('#ap-cmp-mode button >> nth=1');
  await page.waitForSelector('#ap-cmp-other');
  await page.waitForFunction(() => window.gprofApp.viewer || document.querySelector('#ap-graph-host .ap-empty, #ap-graph-host .ap-error'), null, { timeout: 30000 });
  check(page.url().includes('mode=service'), 'two-services mode is kept in the URL');

  // ---- Ad hoc results: empty state --------------------------------------------------------
  await page.goto(`${origin}/#/adhoc?service=${SVC}&time=1h`);
  await ready('adhoc');
  await page.waitForSelector('#ap-adhoc-list .ap-empty');
  const adhoc = await page.textContent('#ap-adhoc-list .ap-empty');
  check(adhoc.includes(`No ad hoc results for service ${SVC}`), `ad hoc empty state: "${adhoc.slice(0, 80)}…"`);
  await shot('adhoc');

  // nav keeps the service and range
  await page.click('#ap-nav a[data-page="profiles"]');
  await ready('profiles');
  check(page.url().includes(`service=${SVC}`) && page.url().includes('time=1h'), `nav keeps service and range (${page.url().replace(origin, '')})`);
}

check(blocked.length === 0, `no request left the coordinator (${blocked.length} blocked${blocked.length ? ': ' + blocked.slice(0, 3).join(', ') : ''})`);
check(errors.length === 0, `no page errors${errors.length ? ': ' + errors.join(' | ') : ''}`);
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log(failures ? `${failures} check(s) FAILED` : 'all UI checks passed');
process.exit(failures ? 1 : 0);
