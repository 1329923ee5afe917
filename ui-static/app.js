// app.js — the coordinator's web UI: a hash-routed single page (Profiles, Compare, Hosts, Ad hoc
// results) over the coordinator's Performance Studio-compatible API, drawing flame graphs with
// flamegraph.js. Plain DOM, no framework; text from the API only ever goes into textContent.
import { mountViewer, parseCollapsed, parseTree, fmtNum } from './flamegraph.js';

const TOKEN_KEY = 'gprof.uiToken';
const PRESETS = [['15m', '15 min', 900], ['1h', '1 h', 3600], ['6h', '6 h', 21600],
  ['24h', '24 h', 86400], ['7d', '7 d', 604800], ['custom', 'Custom', 0]];
const DIMS = [['HostName', 'Host', 'hn'], ['ContainerName', 'Container', 'cn'], ['ProcessName', 'Process', 'pn']];
const HOSTS_REFRESH_MS = 10000;
const sentRequests = []; // profile requests sent from this tab (Hosts page)

// ---------------------------------------------------------------------------------------
// DOM helpers

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k in e && typeof v !== 'string') e[k] = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function select(options, value, attrs) {
  const s = h('select', { class: 'ap-select', ...attrs });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, text: label }));
  }
  if (value !== undefined && value !== null) s.value = value;
  return s;
}

function errorBox(e) {
  return h('div', { class: 'ap-error', role: 'alert', text: e && e.message ? e.message : String(e) });
}

function emptyBox(title, ...rest) {
  return h('div', { class: 'ap-empty' }, h('strong', { text: title }), ...rest);
}

// ---------------------------------------------------------------------------------------
// Times: the API takes ISO 8601 in UTC; custom ranges are typed in UTC too.

const nowSec = () => Math.floor(Date.now() / 1000);
const iso = (sec) => new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const localInput = (sec) => new Date(sec * 1000).toISOString().slice(0, 16);
const fromInput = (v) => { const t = Date.parse(v + ':00Z'); return isNaN(t) ? null : Math.floor(t / 1000); };
const parseApiTime = (s) => { const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + 'Z'); return isNaN(t) ? null : Math.floor(t / 1000); };
const showTime = (sec) => (sec === null ? '–' : new Date(sec * 1000).toISOString().replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC'));

function ago(sec) {
  const d = nowSec() - sec;
  if (d < 5) return 'just now';
  if (d < 90) return `${d} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 172800) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} d ago`;
}

// {preset, start, end} -> [start, end] in seconds. Presets end a minute ahead so a profile
// uploaded just now is inside (the server's own default does the same).
function rangeOf(t) {
  if (t.preset === 'custom' && t.start && t.end) return [t.start, t.end];
  const p = PRESETS.find((x) => x[0] === t.preset) || PRESETS[1];
  const n = nowSec();
  return [n - (p[2] || 3600), n + 60];
}

// ---------------------------------------------------------------------------------------
// Route state in the hash: #/page?service=…&time=1h&start=…&end=…&hn=…&hnop=not

function readHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const page = (qi < 0 ? raw : raw.slice(0, qi)) || 'profiles';
  const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  return { page, q };
}

function writeHash(page, params, replace = true) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  const target = `#/${page}${s ? '?' + s : ''}`;
  if (location.hash === target) return;
  if (replace) history.replaceState(null, '', target);
  else location.hash = target;
}

// Shared between pages: the chosen service, time range and filters.
const shared = { service: '', time: { preset: '1h', start: 0, end: 0 }, filters: {}, full: false };
const UNTRUNCATED = 500000; // stacksCount asked for "every stack" (Performance Studio's value)

function loadShared(q) {
  if (q.get('service')) shared.service = q.get('service');
  if (q.get('time')) shared.time.preset = q.get('time');
  if (q.get('start')) shared.time.start = Number(q.get('start')) || 0;
  if (q.get('end')) shared.time.end = Number(q.get('end')) || 0;
  // the filters are exactly those of the URL (a link without them shows everything)
  shared.full = q.get('full') === '1';
  shared.filters = {};
  for (const [, , key] of DIMS) {
    if (q.has(key)) shared.filters[key] = { value: q.get(key), not: q.get(key + 'op') === 'not' };
  }
}

function sharedParams() {
  const o = { service: shared.service, time: shared.time.preset };
  if (shared.time.preset === 'custom') { o.start = shared.time.start; o.end = shared.time.end; }
  if (shared.full) o.full = '1';
  for (const [, , key] of DIMS) {
    const f = shared.filters[key];
    if (f && f.value) { o[key] = f.value; if (f.not) o[key + 'op'] = 'not'; }
  }
  return o;
}

// Performance Studio RQL: {"filter":{"$and":[{"HostName":{"$eq":"h1"}}, …]}}; '' = no filter.
function rqlFilter() {
  const terms = [];
  for (const [field, , key] of DIMS) {
    const f = shared.filters[key];
    if (f && f.value) terms.push({ [field]: { [f.not ? '$neq' : '$eq']: f.value } });
  }
  return terms.length ? JSON.stringify({ filter: { $and: terms } }) : '';
}

// ---------------------------------------------------------------------------------------
// API access: JSON in and out, messages from the server shown as they are, and a UI token
// asked for once (kept in sessionStorage) when the coordinator answers 401.

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function authHeader() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (!t) return null;
  // "user:password" is ui_basic_auth; anything else is the ui_token.
  return /^[^:\s]+:.+$/.test(t) ? 'Basic ' + btoa(t) : 'Bearer ' + t;
}

function apiUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  const s = q.toString();
  return path + (s ? '?' + s : '');
}

async function messageOf(res) {
  const text = await res.text().catch(() => '');
  try {
    const o = JSON.parse(text);
    if (o && typeof o.message === 'string') return o.message;
    if (o && typeof o.detail === 'string') return o.detail;
    if (o && Array.isArray(o.detail)) return o.detail.map((d) => d.msg || JSON.stringify(d)).join('; ');
  } catch { /* not JSON */ }
  return text.trim().slice(0, 300) || res.statusText || 'no message';
}

let tokenPrompt = null; // one dialog at a time, shared by concurrent requests

async function api(path, params = {}, { method = 'GET', body, blob = false } = {}) {
  const url = apiUrl(path, params);
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const auth = authHeader();
    if (auth) headers.Authorization = auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, `Cannot reach the coordinator (${e.message}). Is gprof-coordinator running?`);
    }
    if (res.status === 401 && attempt < 3) {
      const msg = await messageOf(res);
      if (!tokenPrompt) tokenPrompt = askToken(msg).finally(() => { tokenPrompt = null; });
      if (await tokenPrompt) continue;
      renderTokenButton(true);
      throw new ApiError(401, `The coordinator asks for credentials: ${msg} (use "Enter access token" at the top right)`);
    }
    if (res.status === 204) return { status: 204, data: null };
    if (!res.ok) throw new ApiError(res.status, `${method} ${path} failed (HTTP ${res.status}): ${await messageOf(res)}`);
    if (blob) return { status: res.status, data: await res.blob() };
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { throw new ApiError(res.status, `${path} answered text that is not JSON: ${text.slice(0, 120)}`); }
    }
    return { status: res.status, data };
  }
}

// ---------------------------------------------------------------------------------------
// Dialogs

function openDialog(title, subtitle, body, actions) {
  const box = h('div', { class: 'ap-dialog', role: 'dialog', 'aria-modal': 'true' },
    h('h2', { text: title }), subtitle ? h('p', { class: 'ap-sub', text: subtitle }) : null, body, h('div', { class: 'ap-actions' }, actions));
  const back = h('div', { class: 'ap-backdrop' }, box);
  const close = () => { back.remove(); document.removeEventListener('keydown', onKey, true); };
  const onKey = (e) => { if (e.key === 'Escape') { e.stopPropagation(); close(); back.dispatchEvent(new Event('cancel')); } };
  document.addEventListener('keydown', onKey, true);
  document.body.append(back);
  const first = box.querySelector('input, select, button');
  if (first) first.focus();
  return { back, box, close };
}

function askToken(message) {
  return new Promise((resolve) => {
    const input = h('input', { class: 'ap-input ap-wide', type: 'password', id: 'ap-token-input', autocomplete: 'off', placeholder: 'ui_token (or user:password)' });
    const err = h('div', { class: 'ap-error', text: message });
    const body = h('div', null, err, h('div', { class: 'ap-form' }, h('label', { class: 'ap-label', for: 'ap-token-input', text: 'Token' }), input),
      h('p', { class: 'ap-sub', text: 'Kept for this browser tab only (sessionStorage). Use the coordinator\'s ui_token, or user:password when it uses ui_basic_auth.' }));
    let done = false;
    const finish = (v) => { if (done) return; done = true; d.close(); resolve(v); };
    const use = h('button', { class: 'gp-btn ap-primary', type: 'button', text: 'Use token', id: 'ap-token-ok', onclick: () => {
      const v = input.value.trim();
      if (!v) { input.focus(); return; }
      sessionStorage.setItem(TOKEN_KEY, v);
      renderTokenButton();
      finish(true);
    } });
    const cancel = h('button', { class: 'gp-btn', type: 'button', text: 'Cancel', onclick: () => finish(false) });
    input.addEventListener('keydown', (e) => { if (e.key === 'Enter') use.click(); });
    const d = openDialog('Access token required', 'The coordinator has authentication on for its query and control API.', body, [cancel, use]);
    d.back.addEventListener('cancel', () => finish(false));
  });
}

function renderTokenButton(needed = false) {
  const b = document.getElementById('ap-token');
  if (!b) return;
  const set = !!sessionStorage.getItem(TOKEN_KEY);
  b.hidden = !set && !needed;
  b.classList.toggle('ap-set', set);
  b.textContent = set ? 'Token set · forget' : 'Enter access token';
  b.title = set ? 'forget the access token kept for this tab' : '';
  b.onclick = () => {
    if (sessionStorage.getItem(TOKEN_KEY)) { sessionStorage.removeItem(TOKEN_KEY); renderTokenButton(); return; }
    askToken('Enter the coordinator\'s ui_token.').then((ok) => { if (ok) route(); });
  };
}

// Downloads url with the credentials (a plain link cannot carry the Authorization header).
async function download(url, filename) {
  const r = await api(url, {}, { blob: true });
  if (r.status === 204) throw new ApiError(204, 'Nothing to export: no samples in this range.');
  const href = URL.createObjectURL(r.data);
  const a = h('a', { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

// ---------------------------------------------------------------------------------------
// Pieces shared by pages

let servicesCache = null;
async function loadServices(force = false) {
  if (!servicesCache || force) {
    const r = await api('/api/services');
    servicesCache = r.status === 204 || !Array.isArray(r.data) ? [] : r.data;
  }
  return servicesCache;
}

// The service to show: the one asked for (URL or last choice) when the coordinator knows it,
// else the first with recent data. A service it does not know is said so in main, not swapped
// silently for another.
function pickService(list, main) {
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

function noServices() {
  return emptyBox('No services yet',
    h('div', null, 'A service appears here with its first upload. Point a gprof or gProfiler agent at this coordinator, for example ',
      h('code', { text: `gprof-agent --coordinator ${location.origin} --service my-service` }), '.'));
}

// Service picker + time presets (+ custom range inputs). onChange() runs after any change.
function timeControls(time, onChange, idPrefix = 'ap') {
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

function serviceSelect(list, value, onChange, id) {
  const s = select(list.map((x) => [x.name, x.hasData ? x.name : `${x.name} (no recent data)`]), value, { id });
  s.addEventListener('change', () => {
    const unknown = document.getElementById('ap-unknown-service');
    if (unknown) unknown.remove(); // a service was picked: the note about the URL's is done
    onChange(s.value);
  });
  return s;
}

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

// The active filters (set on the Profiles page or by a link) as a row with a Clear button.
function filterNote(reload) {
  const rql = rqlFilter();
  if (!rql) return null;
  return h('div', { class: 'ap-row' }, h('span', { class: 'ap-label', text: 'Filters' }),
    h('span', { class: 'ap-rql', id: 'ap-rql', title: 'the filter sent to the API (Performance Studio RQL)', text: rql }),
    h('button', { class: 'gp-btn', type: 'button', text: 'Clear', onclick: () => { shared.filters = {}; reload(); } }));
}

function fmtPctVal(v) { return v === undefined || v === null ? '–' : `${Number(v).toFixed(1)}%`; }

// Mounts the viewer in host (replacing any previous one) and returns it.
// Icicle (root on top) by default: the graph starts below the page's controls and summary, so in
// flame mode a deep profile's root and widest frames would be drawn below the fold.
let currentViewer = null;
let graphMode = 'icicle';
function mountGraph(host, tree, meta) {
  if (currentViewer && currentViewer.unmount) currentViewer.unmount();
  host.replaceChildren();
  const root = h('div', { class: 'ap-graph', id: 'ap-graph' });
  host.append(root);
  currentViewer = mountViewer(root, { tree, meta });
  // flame or icicle: the last choice holds for the next graph
  if (graphMode !== 'flame') currentViewer.graph.setMode(graphMode);
  currentViewer.graph.on('mode', (m) => { graphMode = m; });
  app.viewer = currentViewer;
  requestAnimationFrame(() => requestAnimationFrame(() => { document.documentElement.dataset.graph = String(++app.graphs); }));
  return currentViewer;
}

function dropViewer() {
  if (currentViewer && currentViewer.unmount) currentViewer.unmount();
  currentViewer = null;
  app.viewer = null;
}

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

// ---------------------------------------------------------------------------------------
// Profiles

async function pageProfiles(main, gen) {
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
        if (!sessionStorage.getItem(TOKEN_KEY)) return; // plain download works without auth
        e.preventDefault();
        download(url, a.getAttribute('download')).catch((err) => note.replaceChildren(errorBox(err)));
      });
      exports.append(a);
    }
    if (!sessionStorage.getItem(TOKEN_KEY)) exports.append(h('a', { class: 'ap-link', target: '_blank', rel: 'noopener', href: `/ui/viewer.html?src=${encodeURIComponent(apiUrl('/api/flamegraph', params))}&title=${encodeURIComponent(shared.service)}`, text: 'Open alone ↗' }));
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
      fg = await api('/api/flamegraph', params);
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
          route();
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

// ---------------------------------------------------------------------------------------
// Compare

async function pageCompare(main, gen, q) {
  main.append(h('h1', { class: 'ap-h1', text: 'Compare' }),
    h('p', { class: 'ap-sub', text: 'The difference between a baseline and the current profile. Frames that grew are red, frames that shrank are blue (change in share of all samples).' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);
  const cmp = { mode: q.get('mode') === 'service' ? 'service' : 'range', base: q.get('base') || 'previous', other: q.get('other') || '' };
  if (!services.some((s) => s.name === cmp.other)) cmp.other = (services.find((s) => s.name !== shared.service) || services[0]).name;

  const card = h('div', { class: 'ap-card' });
  const note = h('div');
  const graph = h('div', { id: 'ap-graph-host' });
  main.append(card, note, graph);
  const params = () => ({ ...sharedParams(), mode: cmp.mode, base: cmp.base, other: cmp.other });
  const reload = () => { writeHash('compare', params()); render(); load(); };

  function render() {
    const mode = h('div', { class: 'gp-seg', id: 'ap-cmp-mode' });
    for (const [k, label] of [['range', 'Two time ranges'], ['service', 'Two services']]) {
      mode.append(h('button', { class: 'gp-seg-btn' + (cmp.mode === k ? ' gp-on' : ''), type: 'button', text: label, onclick: () => { cmp.mode = k; reload(); } }));
    }
    const baseline = cmp.mode === 'range'
      ? select([['previous', 'the period just before'], ['day', 'same range a day earlier'], ['week', 'same range a week earlier']], cmp.base, { id: 'ap-cmp-base' })
      : serviceSelect(services, cmp.other, (v) => { cmp.other = v; reload(); }, 'ap-cmp-other');
    if (cmp.mode === 'range') baseline.addEventListener('change', () => { cmp.base = baseline.value; reload(); });
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
  async function load() {
    const my = ++loadGen;
    const [start, end] = rangeOf(shared.time);
    const p = { serviceName: shared.service, startTime: iso(start), endTime: iso(end), filter: rqlFilter() };
    let bs = start, be = end, what;
    if (cmp.mode === 'service') {
      p.compareServiceName = cmp.other;
      what = `${cmp.other} → ${shared.service}, same range`;
    } else {
      const shift = cmp.base === 'day' ? 86400 : cmp.base === 'week' ? 604800 : end - start;
      bs = start - shift; be = end - shift;
      p.compareStartTime = iso(bs);
      p.compareEndTime = iso(be);
      what = `${showTime(bs)} → ${showTime(be)} vs ${showTime(start)} → ${showTime(end)}`;
    }
    note.replaceChildren();
    graph.replaceChildren(h('div', { class: 'ap-loading', text: 'Computing the difference…' }));
    let r;
    try { r = await api('/api/flamegraph/diff', p); } catch (e) {
      if (my !== loadGen || gen !== app.gen) return;
      dropViewer();
      graph.replaceChildren(errorBox(e));
      return;
    }
    if (my !== loadGen || gen !== app.gen) return;
    if (r.status === 204 || !r.data) {
      dropViewer();
      graph.replaceChildren(emptyBox('No samples on either side', h('div', { text: `Neither the baseline nor the current range has profiles of ${shared.service} (${what}).` })));
      return;
    }
    const tree = parseTree(r.data);
    if (!tree.before[0]) note.append(h('div', { class: 'ap-info', text: 'The baseline has no samples, so every frame shows as new.' }));
    else if (!tree.value[0]) note.append(h('div', { class: 'ap-info', text: 'The current range has no samples; the graph shows the baseline shape.' }));
    mountGraph(graph, tree, { title: `Diff · ${what}` });
    const gh = graph.querySelector('.gp-graph-host');
    if (gh) gh.after(changesTable(tree));
  }
  render();
  await load();
}

// Per function: share of all samples with the function on the stack (recursion counted once)
// before and after, sorted by the size of the change.
function diffFunctions(t) {
  const n = t.names.length;
  const after = new Float64Array(n), before = new Float64Array(n), active = new Int32Array(n), seen = new Uint8Array(n);
  const open = [];
  for (let i = 1; i < t.n; i++) {
    while (open.length && t.end[open[open.length - 1]] <= i) active[t.name[open.pop()]]--;
    const id = t.name[i];
    seen[id] = 1;
    if (active[id] === 0) { after[id] += t.value[i]; before[id] += t.before[i]; }
    active[id]++;
    open.push(i);
  }
  const A = t.value[0] || 1, B = t.before[0] || 1;
  const rows = [];
  for (let id = 0; id < n; id++) {
    if (!seen[id]) continue;
    const pa = (100 * after[id]) / A, pb = (100 * before[id]) / B;
    rows.push({ name: t.names[id], before: before[id], after: after[id], pb, pa, delta: pa - pb });
  }
  rows.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.after - x.after);
  return rows;
}

function changesTable(tree) {
  const rows = diffFunctions(tree).filter((r) => Math.abs(r.delta) >= 0.005).slice(0, 50);
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

// ---------------------------------------------------------------------------------------
// Hosts (dynamic profiling console)

async function pageHosts(main, gen, q) {
  main.append(h('h1', { class: 'ap-h1', text: 'Hosts' }),
    h('p', { class: 'ap-sub', text: 'Agents that sent a heartbeat, with their current profiling command. Select hosts to start or stop profiling; the agents pick the command up with their next heartbeat.' }));
  const f = { service: q.get('hs') || '', hostname: q.get('hh') || '', status: q.get('hst') || '', ctype: q.get('hct') || '', auto: q.get('auto') !== '0' };
  const selected = new Set();
  let rows = [];
  const services = await loadServices(true).catch(() => []);
  if (gen !== app.gen) return;

  const note = h('div', { id: 'ap-hosts-note' });
  const tableHost = h('div', { id: 'ap-hosts' });
  const updated = h('span', { class: 'ap-muted', id: 'ap-updated' });
  const startBtn = h('button', { class: 'gp-btn ap-primary', type: 'button', id: 'ap-start', text: 'Start profiling…', disabled: true, onclick: () => startDialog() });
  const stopBtn = h('button', { class: 'gp-btn ap-danger', type: 'button', id: 'ap-stop', text: 'Stop…', disabled: true, onclick: () => stopDialog() });
  const svcSel = select([['', 'all services'], ...services.map((s) => [s.name, s.name])], f.service, { id: 'ap-h-service' });
  const hostIn = h('input', { class: 'ap-input', type: 'search', id: 'ap-h-host', placeholder: 'host name contains…', value: f.hostname });
  const stSel = select([['', 'any status'], 'pending', 'sent', 'completed', 'failed', 'stopped'], f.status, { id: 'ap-h-status' });
  const ctSel = select([['', 'any command'], 'start', 'stop', ['N/A', 'none']], f.ctype, { id: 'ap-h-ctype' });
  const auto = h('input', { type: 'checkbox', id: 'ap-auto', checked: f.auto });
  const apply = () => {
    f.service = svcSel.value; f.hostname = hostIn.value.trim(); f.status = stSel.value; f.ctype = ctSel.value; f.auto = auto.checked;
    writeHash('hosts', { hs: f.service, hh: f.hostname, hst: f.status, hct: f.ctype, auto: f.auto ? '' : '0' });
    load();
  };
  for (const e of [svcSel, stSel, ctSel, auto]) e.addEventListener('change', apply);
  let t = 0;
  hostIn.addEventListener('input', () => { clearTimeout(t); t = setTimeout(apply, 250); });
  const selInfo = h('span', { class: 'ap-muted', id: 'ap-selinfo' });
  const reqHost = h('div', { id: 'ap-requests' });
  main.append(h('div', { class: 'ap-card' }, h('div', { class: 'ap-row' },
    h('span', { class: 'ap-label', text: 'Filters' }), svcSel, hostIn, stSel, ctSel,
    h('div', { class: 'gp-spring' }),
    h('label', { class: 'ap-check' }, auto, `auto-refresh (${HOSTS_REFRESH_MS / 1000} s)`),
    h('button', { class: 'gp-btn', type: 'button', text: 'Refresh', id: 'ap-h-refresh', onclick: () => { load(); renderRequests(); } }))),
  note, h('div', { class: 'ap-actionbar' }, selInfo, h('div', { class: 'gp-spring' }), updated, stopBtn, startBtn), tableHost, reqHost);

  // Requests sent from this tab, with their state (GET /api/metrics/profile_request).
  async function renderRequests() {
    if (!sentRequests.length) { reqHost.replaceChildren(); return; }
    await Promise.all(sentRequests.map(async (q) => {
      if (q.final) return;
      try {
        const r = await api('/api/metrics/profile_request', { request_id: q.id });
        if (r.data) { q.status = r.data.status; q.executions = Array.isArray(r.data.executions) ? r.data.executions : []; }
        q.final = q.status === 'completed' || q.status === 'failed' || q.status === 'cancelled';
      } catch (e) { q.error = e.message; }
    }));
    if (gen !== app.gen) return;
    const body = h('tbody');
    for (const q of sentRequests.slice().reverse()) {
      const ex = (q.executions || []).map((x) => `${x.hostname}: ${x.status}${x.error_message ? ` (${x.error_message})` : ''}`).join(', ');
      body.append(h('tr', { dataset: { request: q.id } },
        h('td', { text: showTime(q.at) }),
        h('td', { text: q.service }),
        h('td', { text: q.summary }),
        h('td', null, h('span', { class: `ap-badge ap-b-${q.status}`, text: q.status })),
        h('td', { class: 'ap-wrap', text: q.error || ex || 'waiting for the agents\' next heartbeat' }),
        h('td', { class: 'ap-mono ap-muted', text: q.id })));
    }
    reqHost.replaceChildren(h('h2', { class: 'ap-h2', text: 'Requests from this tab' }),
      h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table', id: 'ap-request-table' },
        h('thead', null, h('tr', null, ...['Sent', 'Service', 'Request', 'Status', 'Hosts', 'Request id'].map((x) => h('th', { text: x })))), body)));
  }

  const key = (r) => `${r.service_name}\u0000${r.hostname}`;
  const hostLink = (page, r) => `#/${page}?${new URLSearchParams({ service: r.service_name, time: page === 'adhoc' ? '24h' : '1h', hn: r.hostname })}`;
  const syncButtons = () => {
    startBtn.disabled = stopBtn.disabled = selected.size === 0;
    selInfo.textContent = selected.size ? `${selected.size} host${selected.size > 1 ? 's' : ''} selected` : 'Select hosts to start or stop profiling.';
  };

  function renderTable() {
    const present = new Set(rows.map(key));
    for (const k of [...selected]) if (!present.has(k)) selected.delete(k);
    syncButtons();
    if (!rows.length) {
      const any = f.service || f.hostname || f.status || f.ctype;
      tableHost.replaceChildren(emptyBox(any ? 'No host matches these filters' : 'No agent has sent a heartbeat yet',
        h('div', { text: any ? 'Clear a filter to see more hosts.' : 'Agents started with dynamic profiling send a heartbeat every 30 s and are listed here.' })));
      return;
    }
    const all = h('input', { type: 'checkbox', title: 'select all', checked: rows.every((r) => selected.has(key(r))), onchange: (e) => {
      for (const r of rows) { if (e.target.checked) selected.add(key(r)); else selected.delete(key(r)); }
      renderTable();
    } });
    const body = h('tbody');
    for (const r of rows) {
      const k = key(r);
      const cb = h('input', { type: 'checkbox', checked: selected.has(k), 'aria-label': `select ${r.hostname}`, onchange: (e) => {
        if (e.target.checked) selected.add(k); else selected.delete(k);
        renderTable();
      } });
      const hb = parseApiTime(r.heartbeat_timestamp || '');
      body.append(h('tr', { class: selected.has(k) ? 'ap-sel' : '', dataset: { host: r.hostname, service: r.service_name } },
        h('td', { class: 'ap-cb' }, cb),
        h('td', { text: r.service_name }),
        h('td', { class: 'ap-mono', text: r.hostname }),
        h('td', { class: 'ap-mono', text: r.ip_address || '–' }),
        h('td', null, h('span', { class: `ap-badge ap-b-${r.status || 'offline'}`, text: r.status || '–' })),
        h('td', { text: r.command_type === 'N/A' ? '–' : r.command_type }),
        h('td', null, h('span', { class: `ap-badge ap-b-${r.profiling_status}`, text: r.profiling_status })),
        h('td', { class: 'ap-mono', text: Array.isArray(r.pids) && r.pids.length ? r.pids.join(', ') : 'all' }),
        h('td', { class: 'ap-mono', text: r.agent_version || '–' }),
        h('td', { title: r.heartbeat_timestamp || '', text: hb === null ? '–' : ago(hb) }),
        h('td', null, h('a', { class: 'ap-link', href: hostLink('profiles', r), text: 'Profile' }), ' · ',
          h('a', { class: 'ap-link', href: hostLink('adhoc', r), text: 'Ad hoc' }))));
    }
    const head = h('tr', null, h('th', { class: 'ap-cb' }, all), ...['Service', 'Host', 'IP', 'Agent', 'Command', 'Profiling', 'PIDs', 'Version', 'Last heartbeat', 'View'].map((x) => h('th', { text: x })));
    tableHost.replaceChildren(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table', id: 'ap-host-table' }, h('thead', null, head), body)));
  }

  let loading = false;
  async function load() {
    if (loading) return;
    loading = true;
    try {
      const r = await api('/api/metrics/profiling/host_status', {
        service_name: f.service, hostname: f.hostname, profiling_status: f.status, command_type: f.ctype });
      if (gen !== app.gen) return;
      rows = Array.isArray(r.data) ? r.data : (r.data && Array.isArray(r.data.hosts) ? r.data.hosts : []);
      updated.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
      if (note.querySelector('.ap-error.ap-load')) note.replaceChildren();
      renderTable();
    } catch (e) {
      if (gen !== app.gen) return;
      const box = errorBox(e);
      box.classList.add('ap-load');
      note.replaceChildren(box);
    } finally {
      loading = false;
    }
  }

  // Groups the selected hosts by service: the API takes one service per request.
  function targets(pids) {
    const by = new Map();
    for (const r of rows) {
      if (!selected.has(key(r))) continue;
      if (!by.has(r.service_name)) by.set(r.service_name, {});
      by.get(r.service_name)[r.hostname] = pids.length ? pids : null;
    }
    return by;
  }

  function parsePids(text) {
    const parts = text.split(/[\s,]+/).filter(Boolean);
    const bad = parts.filter((p) => !/^[1-9]\d{0,9}$/.test(p));
    if (bad.length) throw new Error(`PIDs must be positive numbers, got: ${bad.join(', ')}`);
    return parts.map(Number);
  }

  async function submit(d, err, bodies) {
    err.replaceChildren();
    const msgs = [];
    try {
      for (const body of bodies) {
        const r = await api('/api/metrics/profile_request', {}, { method: 'POST', body });
        const o = r.data || {};
        if (o.success === false) throw new Error(o.message || 'the request was refused');
        msgs.push(o.message || 'submitted');
        if (o.request_id) {
          const hosts = Object.keys(body.target_hosts || {});
          const what = body.request_type === 'start'
            ? `start ${body.continuous ? 'continuous' : `ad hoc ${body.duration} s`} at ${body.frequency} Hz`
            : `stop (${body.stop_level})`;
          sentRequests.push({ id: o.request_id, service: body.service_name, at: nowSec(), status: 'pending',
            summary: `${what} on ${hosts.join(', ')}` });
        }
      }
    } catch (e) {
      err.replaceChildren(errorBox(e));
      return;
    }
    d.close();
    note.replaceChildren(h('div', { class: 'ap-ok', id: 'ap-request-ok', text: msgs.join(' · ') }));
    load();
    renderRequests();
  }

  function startDialog() {
    const mode = select([['adhoc', 'Ad hoc (one session)'], ['continuous', 'Continuous']], 'adhoc', { id: 'ap-d-mode' });
    const duration = h('input', { class: 'ap-input', type: 'number', min: 1, max: 86400, value: 60, id: 'ap-d-duration' });
    const freq = h('input', { class: 'ap-input', type: 'number', min: 1, max: 1000, value: 11, id: 'ap-d-frequency' });
    const pids = h('input', { class: 'ap-input ap-wide', type: 'text', id: 'ap-d-pids', placeholder: 'all processes' });
    const maxp = h('input', { class: 'ap-input', type: 'number', min: 1, max: 1000, value: 10, id: 'ap-d-maxproc' });
    const perf = h('input', { type: 'checkbox', id: 'ap-d-perfspect' });
    const err = h('div');
    mode.addEventListener('change', () => { duration.disabled = mode.value === 'continuous'; });
    const hosts = [...selected].map((k) => k.split('\u0000')[1]);
    const form = h('div', null, h('div', { class: 'ap-form' },
      h('label', { class: 'ap-label', for: 'ap-d-mode', text: 'Mode' }), mode,
      h('label', { class: 'ap-label', for: 'ap-d-duration', text: 'Duration (s)' }), duration,
      h('div', { class: 'ap-hint', text: 'Continuous sessions run 60 s each until stopped.' }),
      h('label', { class: 'ap-label', for: 'ap-d-frequency', text: 'Frequency (Hz)' }), freq,
      h('label', { class: 'ap-label', for: 'ap-d-pids', text: 'PIDs' }), pids,
      h('div', { class: 'ap-hint', text: 'Comma-separated; empty profiles the whole host.' }),
      h('label', { class: 'ap-label', for: 'ap-d-maxproc', text: 'Max processes' }), maxp,
      h('span', { class: 'ap-label', text: 'Hardware counters' }), h('label', { class: 'ap-check' }, perf, 'PerfSpect metrics')), err);
    let d;
    const go = h('button', { class: 'gp-btn ap-primary', type: 'button', id: 'ap-d-submit', text: 'Start', onclick: () => {
      let p;
      try { p = parsePids(pids.value); } catch (e) { err.replaceChildren(errorBox(e)); return; }
      const continuous = mode.value === 'continuous';
      const dur = Number(duration.value), hz = Number(freq.value), mp = Number(maxp.value);
      if (!continuous && !(dur >= 1)) { err.replaceChildren(errorBox('Duration must be at least 1 second.')); return; }
      if (!(hz >= 1)) { err.replaceChildren(errorBox('Frequency must be at least 1 Hz.')); return; }
      const bodies = [...targets(p)].map(([svc, th]) => ({
        service_name: svc, request_type: 'start', continuous, duration: continuous ? 60 : dur, frequency: hz,
        profiling_mode: 'cpu', target_hosts: th,
        additional_args: { enable_perfspect: perf.checked, max_processes: mp >= 1 ? mp : 10 } }));
      submit(d, err, bodies);
    } });
    d = openDialog(`Start profiling on ${hosts.length} host${hosts.length > 1 ? 's' : ''}`, hosts.join(', '), form,
      [h('button', { class: 'gp-btn', type: 'button', text: 'Cancel', onclick: () => d.close() }), go]);
  }

  function stopDialog() {
    const level = select([['host', 'Host (everything on it)'], ['process', 'Processes (PIDs below)']], 'host', { id: 'ap-d-level' });
    const pids = h('input', { class: 'ap-input ap-wide', type: 'text', id: 'ap-d-pids', placeholder: 'PIDs to stop', disabled: true });
    level.addEventListener('change', () => { pids.disabled = level.value !== 'process'; });
    const err = h('div');
    const hosts = [...selected].map((k) => k.split('\u0000')[1]);
    const form = h('div', null, h('div', { class: 'ap-form' },
      h('label', { class: 'ap-label', for: 'ap-d-level', text: 'Stop level' }), level,
      h('label', { class: 'ap-label', for: 'ap-d-pids', text: 'PIDs' }), pids,
      h('div', { class: 'ap-hint', text: 'Profiling continues for the host\'s other PIDs.' })), err);
    let d;
    const go = h('button', { class: 'gp-btn ap-danger', type: 'button', id: 'ap-d-submit', text: 'Stop', onclick: () => {
      let p = [];
      if (level.value === 'process') {
        try { p = parsePids(pids.value); } catch (e) { err.replaceChildren(errorBox(e)); return; }
        if (!p.length) { err.replaceChildren(errorBox('A process-level stop needs at least one PID.')); return; }
      }
      const bodies = [...targets(p)].map(([svc, th]) => ({ service_name: svc, request_type: 'stop', stop_level: level.value, target_hosts: th }));
      submit(d, err, bodies);
    } });
    d = openDialog(`Stop profiling on ${hosts.length} host${hosts.length > 1 ? 's' : ''}`, hosts.join(', '), form,
      [h('button', { class: 'gp-btn', type: 'button', text: 'Cancel', onclick: () => d.close() }), go]);
  }

  app.timer = setInterval(() => { if (auto.checked && !document.querySelector('.ap-backdrop')) { load(); renderRequests(); } }, HOSTS_REFRESH_MS);
  renderRequests();
  await load();
}

// ---------------------------------------------------------------------------------------
// Ad hoc results

// The agent's ad hoc files are gprof's self-contained HTML: the data sits in the
// <script id="gp-data" type="application/json"> element, with <, > and & escaped, so the first
// closing tag after it ends it. Read as text: nothing of the file is parsed as HTML or run.
function payloadFromHtml(html) {
  const m = /<script id="gp-data" type="application\/json">/.exec(html);
  if (!m) return null;
  const from = m.index + m[0].length;
  const to = html.indexOf('<' + '/script', from);
  const text = html.slice(from, to < 0 ? undefined : to).trim();
  if (!text || text === 'null') return null;
  return JSON.parse(text);
}

async function pageAdhoc(main, gen) {
  main.append(h('h1', { class: 'ap-h1', text: 'Ad hoc results' }),
    h('p', { class: 'ap-sub', text: 'Flame graphs of ad hoc sessions started from the Hosts page, one file per host and session.' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);
  const card = h('div', { class: 'ap-card' });
  const list = h('div', { id: 'ap-adhoc-list' });
  const view = h('div', { id: 'ap-graph-host', class: 'ap-view' });
  main.append(card, list, view);
  const reload = () => { writeHash('adhoc', sharedParams()); load(); };
  const reloadAll = () => { reload(); renderCard(); };
  function renderCard() {
    card.replaceChildren(h('div', { class: 'ap-row' },
      h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Service' }),
        serviceSelect(services, shared.service, (v) => { shared.service = v; reloadAll(); }, 'ap-service')),
      timeControls(shared.time, reload),
      h('button', { class: 'gp-btn', type: 'button', text: 'Refresh', onclick: () => load() })));
    const fr = filterNote(reloadAll);
    if (fr) card.append(fr);
  }
  renderCard();

  async function open(item) {
    view.replaceChildren(h('div', { class: 'ap-loading', text: `Loading ${item.filename}…` }));
    try {
      const r = await api('/api/metrics/adhoc_flamegraph_content', { filename: item.filename, serviceName: shared.service });
      if (gen !== app.gen) return;
      const html = r.data && r.data.content;
      const payload = html ? payloadFromHtml(html) : null;
      if (!payload) {
        dropViewer();
        const blobUrl = URL.createObjectURL(new Blob([html || ''], { type: 'text/html' }));
        view.replaceChildren(emptyBox('This file is not a gprof flame graph page', h('div', null, 'It cannot be shown inline; ',
          h('a', { class: 'ap-link', href: blobUrl, download: item.filename, text: 'download it' }), '.')));
        return;
      }
      const meta = payload.meta || {};
      const tree = payload.format === 'tree'
        ? parseTree(typeof payload.data === 'string' ? JSON.parse(payload.data) : payload.data)
        : parseCollapsed(String(payload.data || ''));
      const ts = parseApiTime(item.timestamp || '');
      mountGraph(view, tree, { ...meta, title: `Ad hoc · ${item.hostname} · ${ts === null ? item.filename : showTime(ts)}` });
    } catch (e) {
      if (gen !== app.gen) return;
      dropViewer();
      view.replaceChildren(errorBox(e));
    }
  }

  async function load() {
    const [start, end] = rangeOf(shared.time);
    list.replaceChildren(h('div', { class: 'ap-loading', text: 'Loading…' }));
    let r;
    try { r = await api('/api/metrics/adhoc_flamegraphs', { serviceName: shared.service, startTime: iso(start), endTime: iso(end), filter: rqlFilter() }); } catch (e) {
      list.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== app.gen) return;
    const items = Array.isArray(r.data) ? r.data : [];
    if (!items.length) {
      list.replaceChildren(emptyBox(`No ad hoc results for service ${shared.service} in this time range`,
        h('div', null, 'Start an ad hoc session on the ', h('a', { class: 'ap-link', href: '#/hosts', text: 'Hosts' }), ' page; the agent uploads its flame graph when the session ends.')));
      return;
    }
    const body = h('tbody');
    for (const it of items) {
      const ts = parseApiTime(it.timestamp || '');
      body.append(h('tr', null,
        h('td', { text: ts === null ? it.timestamp : showTime(ts) }),
        h('td', { class: 'ap-mono', text: it.hostname }),
        h('td', { class: 'ap-mono', text: it.filename }),
        h('td', { text: Array.isArray(it.perf_events) && it.perf_events.length ? it.perf_events.join(', ') : '–' }),
        h('td', { class: 'ap-num', text: `${fmtNum((it.size || 0) / 1024)} KiB` }),
        h('td', null, it.removed ? h('span', { class: 'ap-badge ap-b-stopped', text: 'removed' })
          : h('button', { class: 'gp-btn', type: 'button', text: 'Open', onclick: (e) => {
            for (const tr of body.querySelectorAll('tr.ap-sel')) tr.classList.remove('ap-sel');
            e.target.closest('tr').classList.add('ap-sel');
            open(it);
          } }))));
    }
    list.replaceChildren(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table', id: 'ap-adhoc-table' },
      h('thead', null, h('tr', null, ...['Time', 'Host', 'File', 'PMU events', 'Size', ''].map((x) => h('th', { text: x })))), body)));
  }
  await load();
}

// ---------------------------------------------------------------------------------------
// Router

const PAGES = { profiles: pageProfiles, compare: pageCompare, hosts: pageHosts, adhoc: pageAdhoc };
// For tests and the curious: the current page and viewer.
const app = { gen: 0, page: '', viewer: null, timer: 0, graphs: 0, api };
window.gprofApp = app;

async function route() {
  const { page, q } = readHash();
  const name = PAGES[page] ? page : 'profiles';
  loadShared(q);
  app.gen++;
  const gen = app.gen;
  clearInterval(app.timer);
  dropViewer();
  app.page = name;
  document.documentElement.dataset.page = name;
  delete document.documentElement.dataset.ready;
  for (const a of document.querySelectorAll('#ap-nav a')) a.classList.toggle('ap-on', a.dataset.page === name);
  const main = document.getElementById('ap-main');
  main.replaceChildren();
  if (name !== 'hosts' && name !== page) writeHash(name, sharedParams());
  try {
    await PAGES[name](main, gen, q);
  } catch (e) {
    if (gen === app.gen) main.append(errorBox(e));
  }
  if (gen === app.gen) document.documentElement.dataset.ready = name;
}

// Nav links keep the chosen service and range.
document.getElementById('ap-nav').addEventListener('click', (e) => {
  const a = e.target.closest('a[data-page]');
  if (!a) return;
  e.preventDefault();
  const p = a.dataset.page;
  writeHash(p, p === 'hosts' ? {} : sharedParams(), false);
});
window.addEventListener('hashchange', route);
renderTokenButton();
route();
