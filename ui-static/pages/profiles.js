// pages/profiles.js — #/profiles: a service's merged flame graph over a time range with host,
// container and process filters (RQL), a summary strip, an activity chart, exports, and a note
// when the coordinator sent only the heaviest stacks.
import { parseTree, fmtNum } from '../flamegraph/model.js';
import { h, select, errorBox, emptyBox } from '../dom.js';
import { api, apiUrl, download, hasToken } from '../api.js';
import { iso, parseApiTime, showTime, rangeOf } from '../time.js';
import { DIMS, writeHash, shared, UNTRUNCATED, sharedParams, rqlFilter, app } from '../state.js';
import { loadServices, pickService, noServices, timeControls, serviceSelect, mountGraph, dropViewer } from '../parts.js';

function stat(k, v) {
  return h('div', { class: 'ap-stat' }, h('div', { class: 'ap-stat-k', text: k }), h('div', { class: 'ap-stat-v', text: v }));
}

// Samples per time bucket over the range (/api/metrics/graph), as a small bar chart.
function activity(points, start, end) {
  const W = 360, H = 44;
  const c = h('canvas', { class: 'ap-activity-canvas', width: W * 2, height: H * 2 });
  c.style.width = `${W}px`;
  c.style.height = `${H}px`;
  const pts = points.map((p) => ({ t: parseApiTime(p.time || ''), v: Number(p.samples) || 0 })).filter((p) => p.t !== null);
  const max = Math.max(1, ...pts.map((p) => p.v));
  const step = pts.length > 1 ? Math.min(...pts.slice(1).map((p, i) => p.t - pts[i].t).filter((x) => x > 0)) : 0;
  const ctx = c.getContext('2d');
  ctx.scale(2, 2);
  ctx.fillStyle = '#eadfd5';
  ctx.fillRect(0, H - 1, W, 1);
  ctx.fillStyle = '#f26b21';
  const span = Math.max(1, end - start);
  const bw = Math.max(2, step > 0 ? (step / span) * W - 1 : 4);
  for (const p of pts) {
    const x = ((p.t - start) / span) * W;
    const bh = Math.max(1, (p.v / max) * (H - 6));
    ctx.fillRect(Math.max(0, Math.min(W - bw, x)), H - 1 - bh, bw, bh);
  }
  return h('div', { class: 'ap-stat ap-activity', id: 'ap-activity', title: 'samples per time bucket over the range' },
    h('div', { class: 'ap-stat-k', text: `Activity · ${showTime(start).slice(end - start > 72000 ? 5 : 11)} → ${showTime(end).slice(end - start > 72000 ? 5 : 11)}` }), c);
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

export async function pageProfiles(main, gen) {
  main.append(h('h1', { class: 'ap-h1', text: 'Profiles' }),
    h('p', { class: 'ap-sub', text: 'CPU flame graphs merged from every upload of a service in the chosen time range.' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);

  const controls = h('div', { class: 'ap-card' });
  const filterRow = h('div', { class: 'ap-row' });
  const stats = h('div', { class: 'ap-stats', id: 'ap-summary' });
  const note = h('div');
  const graph = h('div', { id: 'ap-graph-host' });
  main.append(controls, note, stats, graph);

  const exports = h('span', { class: 'ap-exports', id: 'ap-exports' });
  const reload = () => { writeHash('profiles', sharedParams()); load(); };
  controls.append(
    h('div', { class: 'ap-row' },
      h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Service' }),
        serviceSelect(services, shared.service, (v) => { shared.service = v; shared.filters = {}; renderFilters(); reload(); }, 'ap-service')),
      timeControls(shared.time, reload),
      h('button', { class: 'gp-btn', type: 'button', text: 'Refresh', id: 'ap-refresh', onclick: () => load() }),
      h('div', { class: 'gp-spring' }), exports),
    filterRow);

  async function renderFilters() {
    filterRow.replaceChildren(h('span', { class: 'ap-label', text: 'Filters' }));
    const [start, end] = rangeOf(shared.time);
    const results = await Promise.all(DIMS.map(([field]) =>
      api(`/api/v1/filters/tags/${field}`, { serviceName: shared.service, startTime: iso(start), endTime: iso(end) })
        .then((r) => (Array.isArray(r.data) ? r.data : []), () => [])));
    if (gen !== app.gen) return;
    filterRow.replaceChildren(h('span', { class: 'ap-label', text: 'Filters' }));
    DIMS.forEach(([field, label, key], k) => {
      const f = shared.filters[key] || { value: '', not: false };
      const values = results[k].map((v) => v.name);
      if (f.value && !values.includes(f.value)) values.unshift(f.value);
      const op = select([['is', 'is'], ['not', 'is not']], f.not ? 'not' : 'is', { id: `ap-f-${key}-op`, title: `${label} comparison` });
      const val = select([['', `any ${label.toLowerCase()}`], ...values.map((v) => [v, v])], f.value, { id: `ap-f-${key}`, title: `${field} (RQL)` });
      const change = () => { shared.filters[key] = { value: val.value, not: op.value === 'not' }; showRql(); reload(); };
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

  let loadGen = 0;
  async function load() {
    const my = ++loadGen;
    const [start, end] = rangeOf(shared.time);
    const params = { serviceName: shared.service, startTime: iso(start), endTime: iso(end), filter: rqlFilter() };
    if (shared.full) params.stacksCount = UNTRUNCATED;
    renderExports(params);
    exports.hidden = true;
    note.replaceChildren();
    stats.replaceChildren();
    graph.replaceChildren(h('div', { class: 'ap-loading', text: 'Loading flame graph…' }));
    const stale = () => my !== loadGen || gen !== app.gen;
    const summary = api('/api/metrics/summary', params).catch((e) => ({ error: e }));
    let fg;
    try {
      fg = await api('/api/flamegraph', { ...params, format: 'compact' });
    } catch (e) {
      if (stale()) return;
      dropViewer();
      graph.replaceChildren(errorBox(e));
      return;
    }
    if (stale()) return;
    if (fg.status === 204 || !fg.data) {
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
    try { tree = parseTree(fg.data); } catch (e) { graph.replaceChildren(errorBox(e)); return; }
    mountGraph(graph, tree, { title: `${shared.service} · ${showTime(start)} → ${showTime(end)}` });
    exports.hidden = false;
    const series = api('/api/metrics/graph', params).catch(() => null);
    const s = await summary;
    if (stale()) return;
    if (s.error) { stats.append(errorBox(s.error)); return; }
    if (s.status === 204 || !s.data) return;
    const d = s.data;
    // The coordinator sends the heaviest stacks only (stacksCount); say so when samples are missing.
    const cut = truncationNote(tree.value[0], d.samples);
    if (cut) {
      note.replaceChildren(h('div', { class: 'ap-info ap-row', id: 'ap-truncated' },
        h('span', { text: cut + (shared.full ? ' The coordinator caps stacksCount (stacks_count_max).' : '') }),
        shared.full ? null : h('button', { class: 'gp-btn', type: 'button', id: 'ap-full', text: 'Show every stack', onclick: () => { shared.full = true; reload(); } })));
    }
    stats.append(stat('Samples', fmtNum(d.samples !== undefined ? d.samples : tree.value[0])), stat('Hosts', fmtNum(d.uniq_hostnames || 0)),
      stat('Avg CPU', fmtPctVal(d.avg_cpu)), stat('Max CPU', fmtPctVal(d.max_cpu)),
      stat('Avg memory', fmtPctVal(d.avg_memory)), stat('Max memory', fmtPctVal(d.max_memory)));
    const g = await series;
    if (stale() || !g || !Array.isArray(g.data) || !g.data.length) return;
    stats.append(activity(g.data, start, end));
  }

  renderFilters();
  await load();
}
