// parts.js — pieces the pages share: the service list and picker, the time controls, the note
// about active filters, and the one flame graph viewer mounted at a time.
import { mountViewer } from './flamegraph/viewer.js';
import { h, select, emptyBox } from './dom.js';
import { api } from './api.js';
import { PRESETS, localInput, fromInput, rangeOf } from './time.js';
import { shared, rqlFilter, app } from './state.js';

let servicesCache = null;
export async function loadServices(force = false) {
  if (!servicesCache || force) {
    const r = await api('/api/services');
    servicesCache = r.status === 204 || !Array.isArray(r.data) ? [] : r.data;
  }
  return servicesCache;
}

// The service to show: the one asked for (URL or last choice) when the coordinator knows it,
// else the first with recent data. A service it does not know is said so in main, not swapped
// silently for another.
export function pickService(list, main) {
  if (shared.service && list.some((s) => s.name === shared.service)) return shared.service;
  const withData = list.find((s) => s.hasData);
  const picked = (withData || list[0] || { name: '' }).name;
  if (shared.service && main) {
    const names = list.map((s) => s.name);
    const known = names.slice(0, 8).join(', ') + (names.length > 8 ? `, and ${names.length - 8} more` : '');
    main.append(h('div', { class: 'ap-error', role: 'alert', id: 'ap-unknown-service',
      text: `Unknown service "${shared.service}": this coordinator has no service of that name (it has ${known}). Showing ${picked} instead.` }));
  }
  return picked;
}

export function noServices() {
  return emptyBox('No services yet',
    h('div', null, 'A service appears here with its first upload. Point a gprof or gProfiler agent at this coordinator, for example ',
      h('code', { text: `gprof-agent --coordinator ${location.origin} --service my-service` }), '.'));
}

// Service picker + time presets (+ custom range inputs). onChange() runs after any change.
export function timeControls(time, onChange, idPrefix = 'ap') {
  const seg = h('div', { class: 'gp-seg', id: `${idPrefix}-time` });
  const from = h('input', { class: 'ap-input', type: 'datetime-local', id: `${idPrefix}-from` });
  const to = h('input', { class: 'ap-input', type: 'datetime-local', id: `${idPrefix}-to` });
  const custom = h('span', { class: 'ap-field' }, from, h('span', { class: 'ap-muted', text: '→' }), to, h('span', { class: 'ap-muted', text: 'UTC' }));
  const sync = () => {
    for (const b of seg.children) b.classList.toggle('gp-on', b.dataset.preset === time.preset);
    custom.hidden = time.preset !== 'custom';
    const [a, b] = rangeOf(time);
    from.value = localInput(a);
    to.value = localInput(b);
  };
  for (const [key, label] of PRESETS) {
    seg.append(h('button', { class: 'gp-seg-btn', type: 'button', text: label, dataset: { preset: key }, onclick: () => {
      if (key === 'custom') { const [a, b] = rangeOf(time); time.start = a; time.end = b; }
      time.preset = key;
      sync();
      onChange();
    } }));
  }
  const onInput = () => {
    const a = fromInput(from.value), b = fromInput(to.value);
    if (a !== null && b !== null && b > a) { time.start = a; time.end = b; onChange(); }
  };
  from.addEventListener('change', onInput);
  to.addEventListener('change', onInput);
  sync();
  return h('span', { class: 'ap-field' }, seg, custom);
}

export function serviceSelect(list, value, onChange, id) {
  const s = select(list.map((x) => [x.name, x.hasData ? x.name : `${x.name} (no recent data)`]), value, { id });
  s.addEventListener('change', () => {
    const unknown = document.getElementById('ap-unknown-service');
    if (unknown) unknown.remove(); // a service was picked: the note about the URL's is done
    onChange(s.value);
  });
  return s;
}

// The active filters (set on the Profiles page or by a link) as a row with a Clear button.
export function filterNote(reload) {
  const rql = rqlFilter();
  if (!rql) return null;
  return h('div', { class: 'ap-row' }, h('span', { class: 'ap-label', text: 'Filters' }),
    h('span', { class: 'ap-rql', id: 'ap-rql', title: 'the filter sent to the API (Performance Studio RQL)', text: rql }),
    h('button', { class: 'gp-btn', type: 'button', text: 'Clear', onclick: () => { shared.filters = {}; reload(); } }));
}

// Mounts the viewer in host (replacing any previous one) and returns it.
// Icicle (root on top) by default: the graph starts below the page's controls and summary, so in
// flame mode a deep profile's root and widest frames would be drawn below the fold.
let currentViewer = null;
let graphMode = 'icicle';
export function mountGraph(host, tree, meta) {
  if (currentViewer && currentViewer.unmount) currentViewer.unmount();
  host.replaceChildren();
  const root = h('div', { class: 'ap-graph', id: 'ap-graph' });
  host.append(root);
  currentViewer = mountViewer(root, { tree, meta });
  // flame or icicle: the last choice holds for the next graph
  if (graphMode !== 'flame') currentViewer.graph.setMode(graphMode);
  currentViewer.graph.on('mode', (m) => { graphMode = m; });
  app.viewer = currentViewer;
  const v = currentViewer;
  requestAnimationFrame(() => requestAnimationFrame(() => {
    v.paintedAt = performance.now(); // the first paint, since navigation start (tests, the bench)
    document.documentElement.dataset.graph = String(++app.graphs);
  }));
  return currentViewer;
}

export function dropViewer() {
  if (currentViewer && currentViewer.unmount) currentViewer.unmount();
  currentViewer = null;
  app.viewer = null;
}
