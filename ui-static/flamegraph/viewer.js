// flamegraph/viewer.js — the viewer page around the widget: header with metadata, toolbar
// (search, flame/icicle, reset), hypervisor note, breadcrumbs, the graph and the top-functions
// table (mountViewer). Inlined into HTML exports after widget.js (import lines dropped).
// A partial tree (tree.partial: the coordinator's minFraction answer, a first paint) is shown
// with exact widths, tooltips and zoom; search and the top-functions table wait, visibly, for
// the full tree, which setTree swaps in (viewer.js).
import { topFunctions, hypervisorShare, fmtNum, fmtPct } from './model.js';
import { FlameGraph, frameColor, el } from './widget.js';

const HYPERVISOR_NOTE_MIN = 1; // % of samples from which the viewer explains such frames

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function fmtTime(v) {
  if (v === undefined || v === null || v === '') return null;
  let d;
  if (typeof v === 'number') d = new Date(v > 1e12 ? v : v * 1000);
  else d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v + 'Z');
  if (isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

function fmtDuration(s) {
  if (!(s > 0)) return null;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function mountViewer(root, { tree, meta = {} }) {
  root.classList.add('gp-viewer');
  const total = tree.value[0];
  let partial = !!tree.partial;
  const freq = Number(meta.frequency) || 0;

  // header
  const header = el('header', 'gp-header');
  const brand = el('div', 'gp-brand');
  brand.append(el('span', 'gp-logo', '▲'), el('h1', 'gp-title', meta.title || 'Flame graph'));
  const chips = el('div', 'gp-meta');
  const chip = (k, v) => {
    if (v === null || v === undefined || v === '') return;
    const c = el('span', 'gp-chip');
    c.append(el('span', 'gp-chip-k', k), el('span', 'gp-chip-v', String(v)));
    chips.append(c);
  };
  chip('host', meta.hostname);
  chip('start', fmtTime(meta.start_epoch !== undefined ? meta.start_epoch : meta.start_time));
  const dur = meta.start_epoch && meta.end_epoch ? meta.end_epoch - meta.start_epoch : 0;
  chip('duration', fmtDuration(dur));
  chip('frequency', freq ? `${freq} Hz` : null);
  chip('sampler', meta.sampler);
  chip('event', meta.event && meta.event !== meta.sampler ? meta.event : null);
  chip('samples', fmtNum(total));
  if (Number(meta.drops) > 0) {
    chip('dropped', fmtNum(Number(meta.drops)));
    chips.lastChild.classList.add('gp-chip-warn');
    chips.lastChild.title = 'samples the sampler could not record (see the header\'s gprof.drops)';
  }
  if (freq) chip('CPU', `${(total / freq).toFixed(1)} s`);
  if (tree.badLines) {
    chip('unreadable lines', fmtNum(tree.badLines));
    chips.lastChild.classList.add('gp-chip-warn');
  }
  chip('command', meta.command);
  if (tree.diff) chip('before', fmtNum(tree.before[0]));
  header.append(brand, chips);

  // toolbar
  const bar = el('div', 'gp-toolbar');
  const searchBox = el('div', 'gp-search');
  const input = el('input', 'gp-search-input');
  input.id = 'gp-search';
  input.type = 'search';
  input.placeholder = 'Search functions (regex)…';
  input.spellcheck = false;
  input.autocomplete = 'off';
  const match = el('span', 'gp-match');
  match.id = 'gp-match';
  searchBox.append(input, match);
  const seg = el('div', 'gp-seg');
  const bFlame = el('button', 'gp-seg-btn', 'Flame');
  const bIcicle = el('button', 'gp-seg-btn', 'Icicle');
  bFlame.id = 'gp-mode-flame';
  bIcicle.id = 'gp-mode-icicle';
  seg.append(bFlame, bIcicle);
  const reset = el('button', 'gp-btn', 'Reset zoom');
  reset.id = 'gp-reset';
  bar.append(searchBox, el('div', 'gp-spring'), seg, reset);

  // On a virtual machine, paravirtualisation frames can hold a large share: say what they are.
  let hv = hypervisorShare(tree);
  const hvNote = el('details', 'gp-note');
  hvNote.id = 'gp-hv-note';
  const hvSum = el('summary');
  const renderHv = () => {
    hvNote.hidden = !(hv.percent >= HYPERVISOR_NOTE_MIN);
    hvSum.replaceChildren(el('strong', null, `${fmtPct(hv.percent)} of samples are in hypervisor frames`),
      ` (${hv.names.slice(0, 2).join(', ')}${hv.names.length > 2 ? ', …' : ''}): this virtual machine's kernel calling into the hypervisor, not your code.`);
  };
  renderHv();
  hvNote.append(hvSum, el('p', null,
    'On a virtual machine the kernel asks the hypervisor to enable interrupts, flush TLBs, send IPIs or halt ' +
    '(pvm_*, xen_*, kvm_*, hv_*, __pv_* frames), and the time of those calls is spent there. A large share under an ' +
    '*_irq_enable frame often also means that samples were held back while interrupts were off and taken when they ' +
    'came back on: that time belongs to the calling kernel function (the parent frame).'));

  const crumbs = el('nav', 'gp-crumbs');
  crumbs.id = 'gp-breadcrumbs';
  const graphHost = el('div', 'gp-graph-host');

  // top functions
  const topSec = el('section', 'gp-top');
  const topHead = el('div', 'gp-top-head');
  topHead.append(el('h2', null, 'Top functions'), el('span', 'gp-hint', 'click a row to highlight it in the graph'));
  const table = el('table', 'gp-table');
  table.id = 'gp-top';
  const thead = el('thead');
  const hr = el('tr');
  const cols = [['Function', 'name'], ['Self', 'self'], ['Self %', 'self'], ['Total', 'total'], ['Total %', 'total']];
  const ths = cols.map(([label, key]) => {
    const th = el('th', key === 'name' ? 'gp-col-name' : 'gp-num', label);
    th.dataset.key = key;
    hr.append(th);
    return th;
  });
  thead.append(hr);
  const tbody = el('tbody');
  table.append(thead, tbody);
  const wrap = el('div', 'gp-table-wrap');
  wrap.append(table);
  topSec.append(topHead, wrap);

  const foot = el('footer', 'gp-footer', 'gprof · click a frame to zoom, double-click or Esc to reset, / to search');
  // a first paint from a pruned tree says so until the full tree is in (setTree)
  const partialNote = el('div', 'gp-partial');
  partialNote.id = 'gp-partial';
  partialNote.setAttribute('role', 'status');
  partialNote.hidden = !partial;
  if (partial) partialNote.textContent = `Loading the full profile: ${fmtNum(tree.prunedNodes)} frames under ${fmtNum(tree.minValue)} samples follow; search and top functions wait for them.`;
  root.append(header, bar, hvNote, partialNote, crumbs, graphHost, topSec, foot);

  if (!total) graphHost.append(el('div', 'gp-empty', 'This profile has no samples.'));
  const fg = new FlameGraph(graphHost, tree, { frequency: freq, mode: 'flame' });
  // the worker computes it off the main thread; a partial tree's would not be exact
  let rows = partial ? [] : tree.top || topFunctions(tree);
  let sortKey = 'self';
  const LIMIT = 200;

  function renderTop() {
    const sorted = sortKey === 'self' ? rows : rows.slice().sort((a, b) => b.total - a.total || b.self - a.self);
    tbody.replaceChildren();
    if (partial) {
      const tr = el('tr');
      const td = el('td', 'gp-loading', 'Loading the full profile…');
      td.colSpan = 5;
      tr.append(td);
      tbody.append(tr);
    }
    for (const r of sorted.slice(0, LIMIT)) {
      const tr = el('tr');
      const name = el('td', 'gp-col-name');
      name.title = r.name;
      name.append(el('span', 'gp-swatch'), document.createTextNode(r.name));
      name.firstChild.style.background = frameColor(r.name, 2);
      const bar = el('td', 'gp-num gp-barcell');
      const fill = el('span', 'gp-bar');
      fill.style.width = `${Math.min(100, (100 * r.self) / (total || 1))}%`;
      bar.append(fill, el('span', 'gp-bar-text', fmtPct((100 * r.self) / (total || 1))));
      tr.append(name, el('td', 'gp-num', fmtNum(r.self)), bar, el('td', 'gp-num', fmtNum(r.total)),
        el('td', 'gp-num', fmtPct((100 * r.total) / (total || 1))));
      tr.addEventListener('click', () => {
        input.value = '^' + escapeRegExp(r.name) + '$';
        runSearch();
        const i = fg.findNode(r.name);
        if (i >= 0) fg.scrollToNode(i);
      });
      tbody.append(tr);
    }
    ths.forEach((th, k) => th.classList.toggle('gp-sorted', th.dataset.key === sortKey && (k === 1 || k === 3)));
  }
  ths.forEach((th) => {
    if (th.dataset.key === 'name') return;
    th.addEventListener('click', () => { sortKey = th.dataset.key; renderTop(); });
  });

  function renderCrumbs() {
    crumbs.replaceChildren();
    const p = fg.path(fg.zoom);
    p.forEach((i, k) => {
      if (k) crumbs.append(el('span', 'gp-crumb-sep', '›'));
      const b = el('button', 'gp-crumb' + (k === p.length - 1 ? ' gp-crumb-cur' : ''),
        k === 0 ? `all (${fmtNum(total)})` : tree.names[tree.name[i]]);
      b.title = tree.names[tree.name[i]];
      b.addEventListener('click', () => fg.zoomTo(i));
      crumbs.append(b);
    });
    if (fg.zoom) {
      const share = el('span', 'gp-crumb-share', fmtPct((100 * tree.value[fg.zoom]) / (total || 1)) + ' of all samples');
      crumbs.append(share);
    }
  }

  function runSearch() {
    if (partial) { // a pruned tree's match would miss the dropped frames: wait for the full one
      input.classList.remove('gp-bad');
      match.textContent = input.value.trim() ? 'searching once the full profile is in…' : '';
      match.dataset.percent = '';
      return;
    }
    const r = fg.search(input.value.trim());
    input.classList.toggle('gp-bad', !r.ok);
    if (!r.ok) match.textContent = 'invalid regex';
    else if (r.empty) match.textContent = '';
    else match.textContent = `${fmtPct(r.percent)} matched · ${fmtNum(r.samples)} samples`;
    match.dataset.percent = r.ok && !r.empty ? r.percent.toFixed(4) : '';
  }

  function renderMode() {
    bFlame.classList.toggle('gp-on', fg.mode === 'flame');
    bIcicle.classList.toggle('gp-on', fg.mode === 'icicle');
    root.dataset.mode = fg.mode;
  }

  let timer = 0;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(runSearch, 120); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(timer); runSearch(); } });
  bFlame.addEventListener('click', () => fg.setMode('flame'));
  bIcicle.addEventListener('click', () => fg.setMode('icicle'));
  reset.addEventListener('click', () => fg.zoomTo(0));
  const onKey = (e) => {
    if (e.key === 'Escape') { if (document.activeElement === input && input.value) { input.value = ''; runSearch(); } else fg.zoomTo(0); }
    if (e.key === '/' && document.activeElement !== input) { e.preventDefault(); input.focus(); }
  };
  document.addEventListener('keydown', onKey);
  fg.on('zoom', renderCrumbs);
  fg.on('mode', renderMode);
  renderTop();
  renderCrumbs();
  renderMode();

  const viewer = {
    graph: fg,
    tree,
    top: rows,
    partial,
    search(p) { input.value = p; runSearch(); return partial ? null : fg.lastSearch; },
    partialNote, // says that the full tree is loading (flamegraph/progressive.js: or failed)
    hypervisor: hv,
    // Swaps in the full tree of the profile shown (after a partial first paint): zoom, mode and
    // the search are kept; the table, the note and the search count are redone on it.
    setTree(full) {
      if (full.value[0] !== total) throw new Error(`the full tree has ${full.value[0]} samples, the first one ${total}`);
      partial = !!full.partial;
      viewer.partial = partial;
      viewer.tree = tree = full;
      fg.setTree(full);
      rows = partial ? [] : full.top || topFunctions(full);
      viewer.top = rows;
      hv = viewer.hypervisor = hypervisorShare(full);
      renderHv();
      partialNote.hidden = !partial;
      renderTop();
      renderCrumbs();
      if (input.value.trim()) runSearch();
    },
    breadcrumbs() { return Array.from(crumbs.querySelectorAll('.gp-crumb')).map((b) => b.textContent); },
    // Empties root so another profile can be mounted in it (the coordinator UI reuses pages).
    unmount() {
      clearTimeout(timer);
      document.removeEventListener('keydown', onKey);
      fg.destroy();
      root.replaceChildren();
      root.classList.remove('gp-viewer');
    },
  };
  return viewer;
}
