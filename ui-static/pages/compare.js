// pages/compare.js — #/compare: the difference between a baseline (an earlier range: preset
// 1 h, 1 day, 1 week earlier or the period just before; or another service) and the current
// profile, in the viewer's diff colours, with the biggest changes; a clicked frame opens the
// plain flame graph of either side. The answer is parsed, laid out and its changes ranked in the
// flame graph's Worker (offload.js), as the Profiles page does. Progressive as the Profiles page
// (flamegraph/progressive.js): the diff pruned by minFraction is painted first, the full diff
// swapped in; the biggest-changes table waits for it (&progressive=0, &firstFraction=F).
import { fmtNum, diffFunctions, parseTree } from '../flamegraph/model.js';
import { parseTreeText } from '../flamegraph/offload.js';
import { progressiveFirstParams, progressiveSwapIn, progressiveWasPruned } from '../flamegraph/progressive.js';
import { h, select, errorBox, emptyBox } from '../dom.js';
import { api } from '../api.js';
import { iso, showTime, rangeOf } from '../time.js';
import { writeHash, shared, sharedParams, rqlFilter, app } from '../state.js';
import { loadServices, pickService, noServices, timeControls, serviceSelect, filterNote, mountGraph, dropViewer } from '../parts.js';

// Baselines of the range mode: key, label, preset button text, shift (null = the range's length).
const BASES = [['hour', 'same range 1 h earlier', '1 h earlier', 3600], ['day', 'same range a day earlier', '1 day earlier', 86400],
  ['week', 'same range a week earlier', '1 week earlier', 604800], ['previous', 'the period just before', 'just before', null]];

export async function pageCompare(main, gen, q) {
  main.append(h('h1', { class: 'ap-h1', text: 'Compare' }),
    h('p', { class: 'ap-sub', text: 'The difference between a baseline and the current profile. Frames that grew are red, frames that shrank are blue (change in share of all samples).' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);
  const cmp = { mode: q.get('mode') === 'service' ? 'service' : 'range', base: BASES.some((b) => b[0] === q.get('base')) ? q.get('base') : 'previous', other: q.get('other') || '',
    progressive: q.get('progressive') === '0' ? '0' : '', firstFraction: q.get('firstFraction') || '' };
  if (!services.some((s) => s.name === cmp.other)) cmp.other = (services.find((s) => s.name !== shared.service) || services[0]).name;

  const card = h('div', { class: 'ap-card' });
  const note = h('div');
  const graph = h('div', { id: 'ap-graph-host' });
  main.append(card, note, graph);
  const params = () => ({ ...sharedParams(), mode: cmp.mode, base: cmp.base, other: cmp.other, progressive: cmp.progressive, firstFraction: cmp.firstFraction });
  const reload = () => { writeHash('compare', params()); render(); load(); };

  function render() {
    const mode = h('div', { class: 'gp-seg', id: 'ap-cmp-mode' });
    for (const [k, label] of [['range', 'Two time ranges'], ['service', 'Two services']]) {
      mode.append(h('button', { class: 'gp-seg-btn' + (cmp.mode === k ? ' gp-on' : ''), type: 'button', text: label, onclick: () => { cmp.mode = k; reload(); } }));
    }
    let baseline;
    if (cmp.mode === 'range') {
      baseline = h('span', { class: 'ap-field' });
      const sel = select(BASES.map(([k, label]) => [k, label]), cmp.base, { id: 'ap-cmp-base' });
      sel.addEventListener('change', () => { cmp.base = sel.value; reload(); });
      const presets = h('div', { class: 'gp-seg', id: 'ap-cmp-presets' });
      for (const [k, , short] of BASES) {
        presets.append(h('button', { class: 'gp-seg-btn' + (cmp.base === k ? ' gp-on' : ''), type: 'button', text: short, dataset: { base: k },
          title: `baseline: ${BASES.find((b) => b[0] === k)[1]}`, onclick: () => { cmp.base = k; reload(); } }));
      }
      baseline.append(presets, sel);
    } else baseline = serviceSelect(services, cmp.other, (v) => { cmp.other = v; reload(); }, 'ap-cmp-other');
    card.replaceChildren(
      h('div', { class: 'ap-row' },
        h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Service' }),
          serviceSelect(services, shared.service, (v) => { shared.service = v; reload(); }, 'ap-service')),
        timeControls(shared.time, reload)),
      h('div', { class: 'ap-row' }, h('span', { class: 'ap-label', text: 'Baseline' }), mode, baseline,
        h('div', { class: 'gp-spring' }),
        h('span', { class: 'ap-legend' }, h('span', null, h('span', { class: 'ap-sw ap-sw-grew' }), 'grew'), h('span', null, h('span', { class: 'ap-sw ap-sw-shrank' }), 'shrank'))));
    const fr = filterNote(reload);
    if (fr) card.append(fr);
  }

  let loadGen = 0;
  let fullAbort = null; // the full diff's request of the last load
  async function load() {
    const my = ++loadGen;
    const [start, end] = rangeOf(shared.time);
    const p = { serviceName: shared.service, startTime: iso(start), endTime: iso(end), filter: rqlFilter() };
    let bs = start, be = end, what;
    if (cmp.mode === 'service') {
      p.compareServiceName = cmp.other;
      what = `${cmp.other} → ${shared.service}, same range`;
    } else {
      const b = BASES.find((x) => x[0] === cmp.base);
      const shift = b && b[3] ? b[3] : end - start;
      bs = start - shift; be = end - shift;
      p.compareStartTime = iso(bs);
      p.compareEndTime = iso(be);
      what = `${showTime(bs)} → ${showTime(be)} vs ${showTime(start)} → ${showTime(end)}`;
    }
    note.replaceChildren();
    graph.replaceChildren(h('div', { class: 'ap-loading', text: 'Computing the difference…' }));
    const stale = () => my !== loadGen || gen !== app.gen;
    const dp = { ...p, format: 'compact' };
    const firstParams = progressiveFirstParams(dp, cmp);
    if (fullAbort) fullAbort.abort();
    const ctl = (fullAbort = new AbortController());
    const fullText = firstParams ? api('/api/flamegraph/diff', dp, { raw: true, signal: ctl.signal }) : null;
    if (fullText) fullText.catch(() => {}); // handled when the swap asks for it
    let r;
    try { r = await api('/api/flamegraph/diff', firstParams || dp, { raw: true }); } catch (e) {
      ctl.abort();
      if (stale()) return;
      dropViewer();
      graph.replaceChildren(errorBox(e));
      return;
    }
    if (stale()) { ctl.abort(); return; }
    if (r.status === 204 || !r.data) {
      ctl.abort();
      dropViewer();
      graph.replaceChildren(emptyBox('No samples on either side', h('div', { text: `Neither the baseline nor the current range has profiles of ${shared.service} (${what}).` })));
      return;
    }
    let tree;
    try {
      tree = firstParams && progressiveWasPruned(r.data) ? Object.assign(parseTree(JSON.parse(r.data)), { parsedIn: 'page' }) : await parseTreeText(r.data);
    } catch (e) {
      ctl.abort();
      if (stale()) return;
      dropViewer();
      graph.replaceChildren(errorBox(e));
      return;
    }
    if (stale()) { ctl.abort(); return; }
    if (!tree.before[0]) note.append(h('div', { class: 'ap-info', text: 'The baseline has no samples, so every frame shows as new.' }));
    else if (!tree.value[0]) note.append(h('div', { class: 'ap-info', text: 'The current range has no samples; the graph shows the baseline shape.' }));
    const viewer = mountGraph(graph, tree, { title: `Diff · ${what}` });
    const sides = h('div', { class: 'ap-row ap-selbar', id: 'ap-cmp-sides' });
    graph.prepend(sides);
    // A clicked frame: links to the plain flame graph of either side, with the frame searched.
    const sideLink = (label, svc, a, b, fn, id) => h('a', { class: 'gp-btn', id, href: `#/profiles?${new URLSearchParams({
      ...sharedParams(), service: svc, time: 'custom', start: a, end: b, search: `^${fn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` })}`, text: label });
    const showSides = (i) => {
      sides.replaceChildren();
      if (!(i > 0)) return;
      const t = viewer.tree; // the full diff once swapped in
      const fn = t.names[t.name[i]];
      const base = t.before[i], cur = t.value[i];
      sides.append(h('span', { class: 'ap-label', text: 'Selected' }), h('span', { class: 'ap-mono', id: 'ap-cmp-fn', text: fn }),
        h('span', { class: 'ap-muted', text: `baseline ${fmtNum(base)} · current ${fmtNum(cur)} samples` }),
        sideLink('Open in the baseline', cmp.mode === 'service' ? cmp.other : shared.service, bs, be, fn, 'ap-cmp-open-base'),
        sideLink('Open in the current', shared.service, start, end, fn, 'ap-cmp-open-cur'));
    };
    viewer.graph.on('zoom', showSides);
    const gh = graph.querySelector('.gp-graph-host');
    // the biggest changes of a pruned diff would miss the dropped frames: they wait for the full one
    let changes = tree.partial ? h('section', { class: 'gp-top', id: 'ap-changes-wait' }, h('div', { class: 'ap-loading', text: 'Biggest changes: loading the full profile…' })) : changesTable(tree);
    if (gh) gh.after(changes);
    graph.dataset.full = tree.partial ? '' : '1';
    if (tree.partial) viewer.firstTree = tree; // what the first paint drew (tests)
    progressiveSwapIn(viewer, tree, async () => ({ tree: await parseTreeText((await fullText).data) }), {
      stale: () => stale() || app.viewer !== viewer,
      drop: () => ctl.abort(),
      onFull: () => {
        const table = changesTable(viewer.tree);
        changes.replaceWith(table);
        changes = table;
        graph.dataset.full = '1';
      },
      onError: () => { graph.dataset.full = 'error'; },
    });
  }
  render();
  await load();
}

function changesTable(tree) {
  const rows = (tree.diffTop || diffFunctions(tree)).filter((r) => Math.abs(r.delta) >= 0.005).slice(0, 50);
  const sec = h('section', { class: 'gp-top', id: 'ap-changes' });
  sec.append(h('div', { class: 'gp-top-head' }, h('h2', { text: 'Biggest changes' }),
    h('span', { class: 'gp-hint', text: 'share of all samples with the function on the stack, baseline → current' })));
  if (!rows.length) { sec.append(h('div', { class: 'ap-empty', text: 'No function changed its share.' })); return sec; }
  const body = h('tbody');
  for (const r of rows) {
    body.append(h('tr', null,
      h('td', { class: 'ap-mono', title: r.name, text: r.name }),
      h('td', { class: 'ap-num', text: `${r.pb.toFixed(2)}%` }),
      h('td', { class: 'ap-num', text: `${r.pa.toFixed(2)}%` }),
      h('td', { class: `ap-num ${r.delta > 0 ? 'ap-grew' : 'ap-shrank'}`, text: `${r.delta > 0 ? '+' : '−'}${Math.abs(r.delta).toFixed(2)} pp` }),
      h('td', { class: 'ap-num', text: fmtNum(r.before) }),
      h('td', { class: 'ap-num', text: fmtNum(r.after) })));
  }
  const head = h('tr', null, ...[['Function', ''], ['Baseline', 'ap-num'], ['Current', 'ap-num'], ['Change', 'ap-num'], ['Baseline samples', 'ap-num'], ['Current samples', 'ap-num']]
    .map(([x, c]) => h('th', { class: c, text: x })));
  sec.append(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table ap-changes' }, h('thead', null, head), body)));
  return sec;
}
