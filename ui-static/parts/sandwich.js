// parts/sandwich.js — the sandwich view of one function: its callers (toward the root) above,
// its callees below, with exact sample counts the coordinator computes from the whole profile
// (GET /api/flamegraph/sandwich) before any stacksCount cut.
import { h, errorBox, emptyBox } from '../dom.js';
import { api } from '../api.js';
import { fmtNum } from '../flamegraph/model.js';

const MAX_ROWS = 400;

// Rows of a tree, depth-first, heaviest child first; nodes under 0.1% of the root are left out
// below the first level (the first level is always complete: exact direct callers/callees).
function rows(root) {
  const out = [];
  const min = (root.value || 0) * 0.001;
  const walk = (n, depth) => {
    const kids = (Array.isArray(n.children) ? n.children : []).slice().sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : 1));
    for (const c of kids) {
      if (out.length >= MAX_ROWS) return;
      if (depth > 1 && c.value < min) continue;
      out.push({ name: String(c.name), value: Number(c.value) || 0, depth });
      walk(c, depth + 1);
    }
  };
  walk(root, 1);
  return out;
}

function table(id, title, hint, root, onPick) {
  const total = Number(root.value) || 0;
  const body = h('tbody');
  const list = rows(root);
  for (const r of list) {
    const name = h('td', { class: 'ap-mono ap-sw-name', title: r.name });
    name.style.paddingLeft = `${8 + (r.depth - 1) * 14}px`;
    name.append(h('a', { class: 'ap-link', href: '#', text: r.name, onclick: (e) => { e.preventDefault(); onPick(r.name); } }));
    body.append(h('tr', { dataset: { name: r.name, value: String(r.value), depth: String(r.depth) }, class: r.depth === 1 ? 'ap-sw-direct' : '' },
      name, h('td', { class: 'ap-num', text: fmtNum(r.value) }),
      h('td', { class: 'ap-num', text: total ? `${((100 * r.value) / total).toFixed(1)}%` : '–' })));
  }
  const sec = h('section', { class: 'ap-card ap-sandwich-part', id });
  sec.append(h('div', { class: 'ap-row' }, h('strong', { text: title }), h('span', { class: 'ap-muted', text: hint })));
  if (!list.length) sec.append(h('div', { class: 'ap-muted', text: 'None.' }));
  else {
    sec.append(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table' },
      h('thead', null, h('tr', null, h('th', { text: 'Function' }), h('th', { class: 'ap-num', text: 'Samples' }), h('th', { class: 'ap-num', text: 'Share of the function' }))), body)));
  }
  return sec;
}

// Fills host with the sandwich of fn for params (service, range, filter). onPick(name) moves the
// view to another function; onClose() hides it.
export async function renderSandwich(host, params, fn, { onPick, onClose, stale }) {
  host.replaceChildren(h('div', { class: 'ap-loading', text: `Loading the callers and callees of ${fn}…` }));
  let r;
  try {
    r = await api('/api/flamegraph/sandwich', { ...params, stacksCount: undefined, function: fn });
  } catch (e) {
    if (!stale()) host.replaceChildren(errorBox(e));
    return;
  }
  if (stale()) return;
  const d = r.data;
  const head = h('div', { class: 'ap-row ap-sandwich-head' },
    h('strong', { text: 'Sandwich · ' }), h('span', { class: 'ap-mono', id: 'ap-sw-fn', text: fn }),
    h('div', { class: 'gp-spring' }),
    h('button', { class: 'gp-btn', type: 'button', id: 'ap-sw-close', text: 'Close', onclick: onClose }));
  if (!d || !d.total) {
    host.replaceChildren(head, emptyBox(`${fn} is not on any stack in this range`, h('div', { text: 'Pick a frame in the flame graph (click it), then "Sandwich".' })));
    return;
  }
  const share = d.samples ? ` (${((100 * d.total) / d.samples).toFixed(2)}% of ${fmtNum(d.samples)})` : '';
  head.insertBefore(h('span', { class: 'ap-muted', id: 'ap-sw-total', dataset: { total: String(d.total), self: String(d.self) },
    text: ` · on ${fmtNum(d.total)} samples${share} · self ${fmtNum(d.self)} · exact, from every stack` }), head.children[2]);
  host.replaceChildren(head,
    table('ap-sw-callers', 'Callers', 'who calls it, nearest first (indented: their callers)', d.callers, onPick),
    table('ap-sw-callees', 'Callees', 'what it calls (indented: what those call)', d.callees, onPick));
}
