// readme_shots.mjs — takes the README's two screenshots (docs/img/) in Debian's headless chromium:
// the coordinator's Profiles page with a flame graph, and an exported self-contained HTML flame
// graph. Not a test; run it against a coordinator that holds real profiles, e.g. one started like
// scripts/demo.sh on another port, after a few agent sessions:
//   node readme_shots.mjs --url http://127.0.0.1:PORT --service demo --html last_flamegraph.html \
//        --out ../../docs/img [--search REGEX]
// The README's HTML shot is `gprofctl record -F 999 -o x.html -- build/tests/unit_html
// --generate-tree big.col out.html T` (big.col: 300,000 stacks as in test_html_browser.sh).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.url || !args.service || !args.html || !args.out) {
  console.error('usage: node readme_shots.mjs --url URL --service SVC --html FILE.html --out DIR [--search REGEX]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
// A small viewport keeps the PNGs small; the UI's layout still shows everything that matters.
const ctx = await browser.newContext({ viewport: { width: 1120, height: 720 }, deviceScaleFactor: 1 });
const page = await ctx.newPage();
fs.mkdirSync(args.out, { recursive: true });

await page.setViewportSize({ width: 1120, height: 860 }); // room for the summary and the graph's top
await page.goto(`${args.url}/#/profiles?service=${encodeURIComponent(args.service)}&time=15m&full=1`); // every stack: the whole profile
await page.waitForFunction(() => document.documentElement.dataset.ready === 'profiles' && window.gprofApp.viewer, null, { timeout: 60000 });
await page.waitForTimeout(300); // the summary strip and the activity chart settle
await page.screenshot({ path: path.join(args.out, 'ui-profiles.png') });

await page.setViewportSize({ width: 1120, height: 720 });
await page.goto(pathToFileURL(path.resolve(args.html)).href);
await page.waitForFunction(() => document.documentElement.dataset.ready === '1', null, { timeout: 60000 });
if (args.search) {
  await page.fill('#gp-search', args.search);
  await page.press('#gp-search', 'Enter');
}
await page.waitForTimeout(200);
await page.screenshot({ path: path.join(args.out, 'flamegraph-html.png') });
await browser.close();
for (const f of ['ui-profiles.png', 'flamegraph-html.png']) {
  console.log(`${f}: ${fs.statSync(path.join(args.out, f)).size} bytes`);
}
