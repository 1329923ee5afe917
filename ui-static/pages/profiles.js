// pages/profiles.js — #/profiles: a service's merged flame graph over a time range with host,
// container and process filters (several values each, RQL), a summary strip, a timeline to drag
// a sub-range on, a "group by" table, frames coloured by kind, the sandwich view of the selected
// function, exports, and a note when the coordinator sent only the heaviest stacks. The page's
// view (function, search, zoomed frame, colours, grouping) is kept in the URL.
// Progressive first paint (flamegraph/progressive.js, as viewer.html): the tree pruned to 1/4000
// of the samples (minFraction) is painted first, the full tree (asked for at the same time: the
// coordinator merges once for both) is parsed in the Worker after that paint and swapped in;
// search and the top functions wait for it, visibly; the sandwich is the server's, exact.
// &progressive=0 in the URL turns it off, &firstFraction=F sets the first share (tests).
import { fmtNum, parseTree } from '../flamegraph/model.js';
import { parseTreeText } from '../flamegraph/offload.js';
import { progressiveFirstParams, progressiveSwapIn, progressiveWasPruned } from '../flamegraph/progressive.js';
import { timeline } from '../parts/timeline.js';
import { colourByKind, kindLegend } from '../parts/kinds.js';
import { renderSandwich } from '../parts/sandwich.js';
import { h, select, errorBox, emptyBox } from '../dom.js';
import { api, apiUrl, download, hasToken } from '../api.js';
import { iso, parseApiTime, showTime, rangeOf } from '../time.js';
import { DIMS, writeHash, shared, UNTRUNCATED, sharedParams, rqlFilter, app } from '../state.js';
import { loadServices, pickService, noServices, timeControls, serviceSelect, mountGraph, dropViewer } from '../parts.js';

function stat(k, v) {
  return h('div', { class: 'ap-stat' }, h('div', { class: 'ap-stat-k', text: k }), h('div', { class: 'ap-stat-v', text: v }));
}

function fmtPctVal(v) { return v === undefined || v === null ? '–' : `${Number(v).toFixed(1)}%`; }

// The coordinator sends the heaviest stacks only (stacksCount). The note about it, or null when
// the stacks left out hold less than TRUNCATION_NOTE_MIN of all samples: together they would be
// under 1.4 px wide on a 1400 px graph, so the drawing does not change to the eye. The shares are
// rounded so that they never read 100% or 0% while samples are missing.
export const TRUNCATION_NOTE_MIN = 0.001;
export function truncationNote(shown, all) {
  if (!(all > 0) || !(shown < all)) return null;
  const left = all - shown;
  if (left / all < TRUNCATION_NOTE_MIN) return null;
  return `The flame graph holds the heaviest stacks only: ${fmtNum(shown)} of ${fmtNum(all)} samples (${shareText(shown, all)}); ` +
    `the ${fmtNum(left)} samples (${shareText(left, all)}) of the lightest stacks are left out.`;
}

// part/all as a percentage with the fewest decimals (1 to 4) that neither reach 100% nor 0%.
function shareText(part, all) {
  const p = (100 * part) / all;
  let d = 1;
  while (d < 4 && (Number(p.toFixed(d)) >= 100 || Number(p.toFixed(d)) <= 0)) d++;
  return `${p.toFixed(d)}%`;
}

// The page's own view state, kept in the URL next to the shared one.
function viewFrom(q) {
  return { fn: q.get('fn') || '', search: q.get('search') || '', z: q.get('z') || '',
    progressive: q.get('progressive') === '0' ? '0' : '', firstFraction: q.get('firstFraction') || '',
    color: q.get('color') === 'name' ? 'name' : 'kind', group: ['host', 'process', 'container'].includes(q.get('group')) ? q.get('group') : '' };
}

const GROUPS = { host: ['HostName', 'hn'], process: ['ProcessName', 'pn'], container: ['ContainerName', 'cn'] };

// The zoomed frame as the names on its path ("comm;main;serve"), and back.
function zoomPath(t, i) {
  const out = [];
  for (let a = i; a > 0; a = t.parent[a]) out.unshift(t.names[t.name[a]]);
  return out.join(';');
}
function nodeOfPath(t, path) {
  let at = 0;
  for (const name of path.split(';')) {
    let next = -1;
    for (let c = at + 1; c < t.end[at]; c = t.end[c]) if (t.names[t.name[c]] === name) { next = c; break; }
    if (next < 0) return at;
    at = next;
  }
  return at;
}

export async function pageProfiles(main, gen, q) {
  const view = viewFrom(q || new URLSearchParams());
  main.append(h('h1', { class: 'ap-h1', text: 'Profiles' }),
    h('p', { class: 'ap-sub', text: 'CPU flame graphs merged from every upload of a service in the chosen time range. Click a frame to zoom and select it; press ? for keys.' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);

  const controls = h('div', { class: 'ap-card' });
  const filterRow = h('div', { class: 'ap-row' });
  const stats = h('div', { class: 'ap-stats', id: 'ap-summary' });
  const note = h('div');
  const groupBox = h('div', { id: 'ap-group' });
  const sandwich = h('div', { id: 'ap-sandwich' });
  const selBar = h('div', { class: 'ap-row ap-selbar', id: 'ap-selected' });
  const graph = h('div', { id: 'ap-graph-host' });
  main.append(controls, note, stats, groupBox, sandwich, selBar, graph);

  const exports = h('span', { class: 'ap-exports', id: 'ap-exports' });
  const pageParams = () => ({ ...sharedParams(), fn: view.fn, search: view.search, z: view.z,
    color: view.color === 'kind' ? '' : view.color, group: view.group,
    progressive: view.progressive, firstFraction: view.firstFraction });
  const saveView = () => writeHash('profiles', pageParams());
  const reload = () => { view.z = ''; saveView(); load(); };
  const colorSel = select([['kind', 'kind'], ['name', 'name']], view.color, { id: 'ap-color', title: 'colour frames by kind (native, kernel, Python, JIT) or by name' });
  const legend = kindLegend();
  legend.hidden = view.color !== 'kind';
  colorSel.addEventListener('change', () => {
    view.color = colorSel.value;
    legend.hidden = view.color !== 'kind';
    saveView();
    if (app.viewer) colourByKind(app.viewer.graph, view.color === 'kind');
  });
  const groupSel = select([['', 'none'], ['host', 'host'], ['process', 'process'], ['container', 'container']], view.group, { id: 'ap-groupby' });
  groupSel.addEventListener('change', () => { view.group = groupSel.value; saveView(); renderGroup(); });
  controls.append(
    h('div', { class: 'ap-row' },
      h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Service' }),
        serviceSelect(services, shared.service, (v) => { shared.service = v; shared.filters = {}; view.fn = ''; renderFilters(); reload(); }, 'ap-service')),
      timeControls(shared.time, reload),
      h('button', { class: 'gp-btn', type: 'button', text: 'Refresh', id: 'ap-refresh', onclick: () => load() }),
      h('div', { class: 'gp-spring' }), exports),
    filterRow,
    h('div', { class: 'ap-row' }, h('span', { class: 'ap-label', text: 'Group by' }), groupSel,
      h('span', { class: 'ap-label', text: 'Colour by' }), colorSel, legend));

  async function renderFilters() {
    filterRow.replaceChildren(h('span', { class: 'ap-label', text: 'Filters' }));
    const [start, end] = rangeOf(shared.time);
    const results = await Promise.all(DIMS.map(([field]) =>
      api(`/api/v1/filters/tags/${field}`, { serviceName: shared.service, startTime: iso(start), endTime: iso(end) })
        .then((r) => (Array.isArray(r.data) ? r.data : []), () => [])));
    if (gen !== app.gen) return;
    filterRow.replaceChildren(h('span', { class: 'ap-label', text: 'Filters' }));
    DIMS.forEach(([field, label, key], k) => {
      const f = shared.filters[key] || { values: [], not: false };
      const values = results[k].map((v) => v.name);
      for (const v of f.values) if (!values.includes(v)) values.unshift(v);
      const op = select([['is', 'is'], ['not', 'is not']], f.not ? 'not' : 'is', { id: `ap-f-${key}-op`, title: `${label} comparison` });
      const val = select(values.map((v) => [v, v]), null, { id: `ap-f-${key}`, multiple: true, size: Math.min(3, Math.max(1, values.length)),
        title: `${field} (RQL): pick one or several (Ctrl/⌘-click); none = any ${label.toLowerCase()}` });
      for (const o of val.options) o.selected = f.values.includes(o.value);
      const change = () => {
        shared.filters[key] = { values: Array.from(val.selectedOptions).map((o) => o.value), not: op.value === 'not' };
        showRql();
        reload();
      };
      op.addEventListener('change', change);
      val.addEventListener('change', change);
      filterRow.append(h('span', { class: 'ap-field' }, h('span', { class: 'ap-muted', text: label }), op, val));
    });
    filterRow.append(clearBtn, rqlText);
    showRql();
  }
  const clearBtn = h('button', { class: 'gp-btn', type: 'button', text: 'Clear', id: 'ap-f-clear', onclick: () => { shared.filters = {}; renderFilters(); reload(); } });
  const rqlText = h('span', { class: 'ap-rql', id: 'ap-rql', title: 'the filter sent to the API (Performance Studio RQL)' });
  function showRql() {
    const rql = rqlFilter();
    clearBtn.disabled = !rql;
    rqlText.textContent = rql;
  }

  // "Group by": samples per host / process / container in the range, a click filters on it.
  async function renderGroup() {
    groupBox.replaceChildren();
    if (!view.group) return;
    const [field, key] = GROUPS[view.group];
    const [start, end] = rangeOf(shared.time);
    groupBox.append(h('div', { class: 'ap-loading', text: `Samples per ${view.group}…` }));
    let r;
    try { r = await api(`/api/v1/filters/tags/${field}`, { serviceName: shared.service, startTime: iso(start), endTime: iso(end) }); } catch (e) {
      groupBox.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== app.gen) return;
    const list = (Array.isArray(r.data) ? r.data : []).slice().sort((a, b) => b.samples - a.samples);
    const total = list.reduce((s, x) => s + (Number(x.samples) || 0), 0) || 1;
    const body = h('tbody');
    for (const x of list.slice(0, 20)) {
      body.append(h('tr', { dataset: { name: x.name, samples: String(x.samples) } },
        h('td', { class: 'ap-mono' }, h('a', { class: 'ap-link', href: '#', text: x.name || '(none)', title: `show ${x.name} only`, onclick: (e) => {
          e.preventDefault();
          shared.filters[key] = { values: [x.name], not: false };
          renderFilters();
          reload();
        } })),
        h('td', { class: 'ap-num', text: fmtNum(x.samples) }),
        h('td', { class: 'ap-num', text: `${((100 * x.samples) / total).toFixed(1)}%` })));
    }
    groupBox.replaceChildren(h('div', { class: 'ap-card ap-group' },
      list.length ? h('table', { class: 'ap-table', id: 'ap-group-table' },
        h('thead', null, h('tr', null, h('th', { text: view.group[0].toUpperCase() + view.group.slice(1) }), h('th', { class: 'ap-num', text: 'Samples' }), h('th', { class: 'ap-num', text: 'Share' }))), body)
        : h('div', { class: 'ap-muted', text: `No ${view.group} has samples in this range.` })));
  }

  function renderExports(params) {
    exports.replaceChildren(h('span', { class: 'ap-label', text: 'Export' }));
    for (const [fmt, label, ext] of [['html', 'HTML', 'html'], ['collapsed', 'Collapsed', 'collapsed'], ['pprof', 'pprof', 'pb.gz']]) {
      const url = apiUrl('/api/flamegraph', { ...params, format: fmt });
      const a = h('a', { class: 'ap-link', href: url, download: `${shared.service}_flamegraph.${ext}`, id: `ap-export-${fmt}`, text: label });
      a.addEventListener('click', (e) => {
        if (!hasToken()) return; // plain download works without auth
        e.preventDefault();
        download(url, a.getAttribute('download')).catch((err) => note.replaceChildren(errorBox(err)));
      });
      exports.append(a);
    }
    if (!hasToken()) exports.append(h('a', { class: 'ap-link', target: '_blank', rel: 'noopener', href: `/ui/viewer.html?src=${encodeURIComponent(apiUrl('/api/flamegraph', params))}&title=${encodeURIComponent(shared.service)}`, text: 'Open alone ↗' }));
  }

  let curParams = null;
  let swGen = 0;
  function showSandwich() {
    const my = ++swGen;
    if (!view.fn || !curParams) { sandwich.replaceChildren(); return; }
    renderSandwich(sandwich, curParams, view.fn, {
      onPick: (name) => { view.fn = name; saveView(); showSandwich(); },
      onClose: () => { view.fn = ''; saveView(); showSandwich(); },
      stale: () => my !== swGen || gen !== app.gen,
    });
  }

  function renderSelected(t, i) {
    selBar.replaceChildren();
    if (!(i > 0)) return;
    const name = t.names[t.name[i]];
    selBar.append(h('span', { class: 'ap-label', text: 'Selected' }), h('span', { class: 'ap-mono', id: 'ap-sel-name', text: name }),
      h('span', { class: 'ap-muted', text: `${fmtNum(t.value[i])} samples · ${((100 * t.value[i]) / (t.value[0] || 1)).toFixed(2)}%` }),
      h('button', { class: 'gp-btn', type: 'button', id: 'ap-sel-sandwich', text: 'Sandwich: callers and callees', onclick: () => {
        view.fn = name; saveView(); showSandwich();
        sandwich.scrollIntoView({ block: 'nearest' });
      } }));
  }

  let loadGen = 0;
  let fullAbort = null; // the full tree's request of the last load
  async function load() {
    const my = ++loadGen;
    const [start, end] = rangeOf(shared.time);
    const params = { serviceName: shared.service, startTime: iso(start), endTime: iso(end), filter: rqlFilter() };
    if (shared.full) params.stacksCount = UNTRUNCATED;
    curParams = params;
    const stale = () => my !== loadGen || gen !== app.gen;
    // The flame graph's requests go first (a browser opens 6 connections to a host, the
    // coordinator serves a few requests at a time): the pruned tree, then the full one (one merge
    // on the coordinator for both); the full answer is dropped (aborted) when the first one was
    // already whole or the page moved on.
    const fgParams = { ...params, format: 'compact' };
    const firstParams = progressiveFirstParams(fgParams, view);
    if (fullAbort) fullAbort.abort();
    const ctl = (fullAbort = new AbortController());
    const firstText = api('/api/flamegraph', firstParams || fgParams, { raw: true });
    firstText.catch(() => {}); // handled below
    const fullText = firstParams ? api('/api/flamegraph', fgParams, { raw: true, signal: ctl.signal }) : null;
    if (fullText) fullText.catch(() => {}); // handled when the swap asks for it
    renderExports(params);
    renderGroup();
    showSandwich();
    exports.hidden = true;
    note.replaceChildren();
    stats.replaceChildren();
    selBar.replaceChildren();
    graph.replaceChildren(h('div', { class: 'ap-loading', text: 'Loading flame graph…' }));
    const summary = api('/api/metrics/summary', params).catch((e) => ({ error: e }));
    const series = api('/api/metrics/graph', params).catch(() => null);
    let fg;
    try {
      fg = await firstText;
    } catch (e) {
      ctl.abort();
      if (stale()) return;
      dropViewer();
      graph.replaceChildren(errorBox(e));
      return;
    }
    if (stale()) { ctl.abort(); return; }
    if (fg.status === 204 || !fg.data) {
      ctl.abort();
      dropViewer();
      const box = emptyBox(`No profiles yet for service ${shared.service} in this time range`,
        h('div', { text: rqlFilter() ? 'Nothing matches the filters. The agent uploads one profile per session (every 60 s by default).' : 'The agent uploads one profile per session (every 60 s by default); it shows up here a few seconds later.' }));
      graph.replaceChildren(box);
      const dt = await api('/api/flamegraph/datetime_with_data', { serviceName: shared.service, filter: rqlFilter() }).catch(() => null);
      if (stale() || !dt || !dt.data || !dt.data.lastDateTime) return;
      const last = parseApiTime(dt.data.lastDateTime);
      if (last === null) return;
      box.append(h('div', { text: `Latest data: ${showTime(last)}.` }),
        h('button', { class: 'gp-btn', type: 'button', text: 'Show the last hour of data', onclick: () => {
          shared.time.preset = 'custom'; shared.time.start = last - 3600; shared.time.end = last + 60;
          writeHash('profiles', sharedParams());
          app.route();
        } }));
      return;
    }
    let tree;
    try {
      // a pruned tree is small (what can be drawn): parsed here, no Worker to start first; a
      // first answer with nothing pruned is the whole tree, laid out in the Worker
      tree = firstParams && progressiveWasPruned(fg.data) ? Object.assign(parseTree(JSON.parse(fg.data)), { parsedIn: 'page' }) : await parseTreeText(fg.data);
    } catch (e) { ctl.abort(); if (!stale()) graph.replaceChildren(errorBox(e)); return; }
    if (stale()) { ctl.abort(); return; }
    const viewer = mountGraph(graph, tree, { title: `${shared.service} · ${showTime(start)} → ${showTime(end)}` });
    graph.dataset.full = tree.partial ? '' : '1';
    if (tree.partial) viewer.firstTree = tree; // what the first paint drew (tests, the bench)
    colourByKind(viewer.graph, view.color === 'kind');
    // The URL's zoomed frame: as deep as the pruned tree goes, exactly once the full tree is in
    // (pending until then, unless the user zooms elsewhere). Zooms of our own and the swap's
    // (setTree emits 'tree', then 'zoom') leave view.z alone.
    let pendingZoom = view.z, quiet = false, swapped = false;
    const applyZoom = () => {
      if (!pendingZoom) return;
      const i = nodeOfPath(viewer.tree, pendingZoom);
      quiet = true;
      try { if (i > 0 && i !== viewer.graph.zoom) { viewer.graph.zoomTo(i); viewer.graph.scrollToNode(i); } } finally { quiet = false; }
      if (!viewer.tree.partial) pendingZoom = '';
    };
    viewer.graph.on('tree', () => { swapped = true; });
    viewer.graph.on('zoom', (i) => {
      if (!quiet && !swapped) {
        view.z = i > 0 ? zoomPath(viewer.tree, i) : '';
        pendingZoom = '';
        saveView();
      }
      swapped = false;
      renderSelected(viewer.tree, i);
    });
    // the search the graph applied (a valid pattern, after the input's debounce) goes to the URL
    viewer.graph.on('search', (r) => { if (r.ok) { view.search = r.pattern; saveView(); } });
    if (view.search) viewer.search(view.search); // on a pruned tree: runs once the full one is in
    applyZoom();
    progressiveSwapIn(viewer, tree, async () => ({ tree: await parseTreeText((await fullText).data) }), {
      stale: () => stale() || app.viewer !== viewer,
      drop: () => ctl.abort(),
      onFull: (r, at) => {
        viewer.fullAt = at; // the full tree drawn, since navigation start (tests, the bench)
        applyZoom();
        graph.dataset.full = '1';
      },
      onError: () => { graph.dataset.full = 'error'; },
    });
    exports.hidden = false;
    const s = await summary;
    if (stale()) return;
    if (s.error) { stats.append(errorBox(s.error)); return; }
    if (s.status === 204 || !s.data) return;
    const d = s.data;
    // The coordinator sends the heaviest stacks only (stacksCount); say so when samples are missing.
    const cut = truncationNote(viewer.tree.value[0], d.samples);
    if (cut) {
      note.replaceChildren(h('div', { class: 'ap-info ap-row', id: 'ap-truncated' },
        h('span', { text: cut + (shared.full ? ' The coordinator caps stacksCount (stacks_count_max).' : '') }),
        shared.full ? null : h('button', { class: 'gp-btn', type: 'button', id: 'ap-full', text: 'Show every stack', onclick: () => { shared.full = true; reload(); } })));
    }
    stats.append(stat('Samples', fmtNum(d.samples !== undefined ? d.samples : viewer.tree.value[0])), stat('Hosts', fmtNum(d.uniq_hostnames || 0)),
      stat('Avg CPU', fmtPctVal(d.avg_cpu)), stat('Max CPU', fmtPctVal(d.max_cpu)),
      stat('Avg memory', fmtPctVal(d.avg_memory)), stat('Max memory', fmtPctVal(d.max_memory)));
    const g = await series;
    if (stale() || !g || !Array.isArray(g.data) || !g.data.length) return;
    stats.append(timeline(g.data, start, end, (t0, t1) => {
      shared.time.preset = 'custom';
      shared.time.start = t0;
      shared.time.end = t1;
      view.z = '';
      saveView();
      app.route();
    }));
  }

  const loading = load(); // its requests first: the flame graph is what the page is for
  renderFilters();
  await loading;
}
