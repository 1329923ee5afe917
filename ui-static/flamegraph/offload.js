// flamegraph/offload.js — parses a flame graph answer (JSON text: compact or tree) in
// flamegraph/worker.js when a module Worker can start, so the page stays responsive while a large
// profile is laid out; the typed arrays come back transferred. Falls back to the page's thread.
// Used by the coordinator's pages; never inlined into exports.
import { parseTree } from './model.js';

let workerBroken = false;

// Resolves to the tree of JSON text (tree.parsedIn: 'worker' or 'page'); rejects with the
// parse error.
export function parseTreeText(text) {
  const onPage = () => Promise.resolve().then(() => Object.assign(parseTree(JSON.parse(text)), { parsedIn: 'page' }));
  if (workerBroken || typeof Worker === 'undefined') return onPage();
  let w;
  try { w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }); } catch { workerBroken = true; return onPage(); }
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      w.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(Object.assign(e.data.tree, { parsedIn: 'worker' }));
    };
    w.onerror = (e) => { e.preventDefault(); w.terminate(); workerBroken = true; onPage().then(resolve, reject); };
    w.postMessage({ text });
  });
}
