// parts/keys.js — the UI's keyboard: `?` lists the keys, arrow keys move between the frames of
// the mounted flame graph (its viewer handles `/` and Esc itself).
import { h, openDialog } from '../dom.js';
import { app } from '../state.js';

export const KEYS = [
  ['/', 'focus the flame graph search'],
  ['Esc', 'clear the search, else reset the zoom (and close dialogs)'],
  ['↑ ↓', 'move to the parent / heaviest child frame (as drawn: flame or icicle)'],
  ['← →', 'move to the previous / next sibling frame'],
  ['?', 'show this list'],
];

function typing(e) {
  const t = e.target;
  return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}

export function showKeys() {
  if (document.getElementById('ap-keys')) return;
  const body = h('table', { class: 'ap-table', id: 'ap-keys' },
    h('tbody', null, ...KEYS.map(([k, what]) => h('tr', null, h('td', null, h('kbd', { text: k })), h('td', { text: what })))));
  let d = null;
  const ok = h('button', { class: 'gp-btn ap-primary', type: 'button', text: 'Close', onclick: () => d.close() });
  d = openDialog('Keyboard shortcuts', null, body, [ok]);
}

// The frame the arrow key moves to from i, or -1.
export function step(t, i, key, mode) {
  const up = mode === 'icicle' ? 'ArrowUp' : 'ArrowDown';
  if (key === up) return i > 0 ? t.parent[i] : -1;
  if (key === 'ArrowUp' || key === 'ArrowDown') {
    let best = -1;
    for (let c = i + 1; c < t.end[i]; c = t.end[c]) if (best < 0 || t.value[c] > t.value[best]) best = c;
    return best;
  }
  if (i === 0) return -1;
  const p = t.parent[i];
  const sibs = [];
  for (let c = p + 1; c < t.end[p]; c = t.end[c]) sibs.push(c);
  const k = sibs.indexOf(i) + (key === 'ArrowRight' ? 1 : -1);
  return k >= 0 && k < sibs.length ? sibs[k] : -1;
}

export function installKeys() {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    if (e.key === '?') { e.preventDefault(); showKeys(); return; }
    if (!/^Arrow(Up|Down|Left|Right)$/.test(e.key) || !app.viewer || document.querySelector('.ap-backdrop')) return;
    const g = app.viewer.graph;
    const j = step(g.t, g.zoom, e.key, g.mode);
    if (j < 0) return;
    e.preventDefault();
    g.zoomTo(j);
    g.scrollToNode(j);
  });
}
