// state.js — what the pages share: the route state in the hash (#/page?service=…&time=1h&…),
// the chosen service, time range and filters, their RQL, and the app object tests read
// (window.gprofApp). No DOM building and no API calls.

export const DIMS = [['HostName', 'Host', 'hn'], ['ContainerName', 'Container', 'cn'], ['ProcessName', 'Process', 'pn']];

// Route state in the hash: #/page?service=…&time=1h&start=…&end=…&hn=a,b&hnop=not (several
// values of a filter are comma-separated)
export function readHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const page = (qi < 0 ? raw : raw.slice(0, qi)) || 'services';
  const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  return { page, q };
}

export function writeHash(page, params, replace = true) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  const target = `#/${page}${s ? '?' + s : ''}`;
  if (location.hash === target) return;
  if (replace) history.replaceState(null, '', target);
  else location.hash = target;
}

// Shared between pages: the chosen service, time range and filters.
export const shared = { service: '', time: { preset: '1h', start: 0, end: 0 }, filters: {}, full: false };
export const UNTRUNCATED = 500000; // stacksCount asked for "every stack" (Performance Studio's value)

export function loadShared(q) {
  if (q.get('service')) shared.service = q.get('service');
  if (q.get('time')) shared.time.preset = q.get('time');
  if (q.get('start')) shared.time.start = Number(q.get('start')) || 0;
  if (q.get('end')) shared.time.end = Number(q.get('end')) || 0;
  // the filters are exactly those of the URL (a link without them shows everything)
  shared.full = q.get('full') === '1';
  shared.filters = {};
  for (const [, , key] of DIMS) {
    const values = (q.get(key) || '').split(',').filter(Boolean);
    if (values.length) shared.filters[key] = { values, not: q.get(key + 'op') === 'not' };
  }
}

export function sharedParams() {
  const o = { service: shared.service, time: shared.time.preset };
  if (shared.time.preset === 'custom') { o.start = shared.time.start; o.end = shared.time.end; }
  if (shared.full) o.full = '1';
  for (const [, , key] of DIMS) {
    const f = shared.filters[key];
    if (f && f.values && f.values.length) { o[key] = f.values.join(','); if (f.not) o[key + 'op'] = 'not'; }
  }
  return o;
}

// Performance Studio RQL: {"filter":{"$and":[{"HostName":{"$eq":"h1"}}, …]}}; several values of
// one field are {"$in": [...]} ({"$nin": [...]} for "is not"); '' = no filter.
export function rqlFilter() {
  const terms = [];
  for (const [field, , key] of DIMS) {
    const f = shared.filters[key];
    if (!f || !f.values || !f.values.length) continue;
    if (f.values.length === 1) terms.push({ [field]: { [f.not ? '$neq' : '$eq']: f.values[0] } });
    else terms.push({ [field]: { [f.not ? '$nin' : '$in']: f.values } });
  }
  return terms.length ? JSON.stringify({ filter: { $and: terms } }) : '';
}

// For tests and the curious: the current page and viewer. app.js fills in api and route (the
// router, which pages call after changing the hash without a hashchange).
export const app = { gen: 0, page: '', viewer: null, timer: 0, graphs: 0, api: null, route: null };
