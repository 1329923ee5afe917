// pages/perfspect.js — #/perfspect?service=S&host=H: a host's newest PerfSpect report
// (GET /api/metrics/html_metadata) rendered in place: the report's HTML is parsed inertly
// (DOMParser runs no script) and its headings, text and tables are rebuilt as page elements;
// the whole file stays downloadable.
import { h, select, errorBox, emptyBox } from '../dom.js';
import { api } from '../api.js';
import { writeHash, shared, app } from '../state.js';
import { loadServices, pickService, noServices, serviceSelect } from '../parts.js';

const MAX_ROWS = 2000;

// Headings, paragraphs, lists and tables of doc, in document order, as our own elements (text
// only: nothing of the report is inserted as HTML).
function rebuild(doc) {
  const out = [];
  let rows = 0;
  const walk = (node) => {
    for (const e of node.children) {
      const tag = e.tagName.toLowerCase();
      if (tag === 'script' || tag === 'style' || tag === 'noscript' || tag === 'template') continue;
      if (/^h[1-6]$/.test(tag)) { const t = e.textContent.trim(); if (t) out.push(h(tag === 'h1' ? 'h2' : 'h3', { class: 'ap-ps-h', text: t })); continue; }
      if (tag === 'table') {
        const table = h('table', { class: 'ap-table ap-ps-table' });
        for (const tr of e.querySelectorAll('tr')) {
          if (rows++ >= MAX_ROWS) break;
          const row = h('tr');
          for (const c of tr.children) row.append(h(c.tagName.toLowerCase() === 'th' ? 'th' : 'td', { text: c.textContent.trim() }));
          table.append(row);
        }
        out.push(h('div', { class: 'ap-table-wrap' }, table));
        continue;
      }
      if (tag === 'p' || tag === 'li' || tag === 'pre') { const t = e.textContent.trim(); if (t) out.push(h(tag === 'pre' ? 'pre' : 'p', { class: 'ap-ps-p', text: t })); continue; }
      walk(e);
    }
  };
  walk(doc.body || doc.documentElement);
  return out;
}

// Reports that carry their data as JSON in a script (PerfSpect's own HTML does) rather than as
// tables: each table-like array of objects or [header, rows] found there, as a table.
function fromJson(doc) {
  const out = [];
  for (const s of doc.querySelectorAll('script')) {
    const text = s.textContent;
    const m = /(\{[\s\S]*\})/.exec(text);
    if (!m) continue;
    let o;
    try { o = JSON.parse(m[1]); } catch { continue; }
    const visit = (v, name, depth) => {
      if (depth > 6 || !v || typeof v !== 'object') return;
      if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
        const cols = Array.from(new Set(v.flatMap((x) => Object.keys(x)))).slice(0, 20);
        if (cols.every((c) => v.every((x) => x[c] === undefined || typeof x[c] !== 'object'))) {
          out.push(h('h3', { class: 'ap-ps-h', text: name }));
          const t = h('table', { class: 'ap-table ap-ps-table' }, h('tr', null, ...cols.map((c) => h('th', { text: c }))));
          for (const x of v.slice(0, MAX_ROWS)) t.append(h('tr', null, ...cols.map((c) => h('td', { text: x[c] === undefined ? '' : String(x[c]) }))));
          out.push(h('div', { class: 'ap-table-wrap' }, t));
          return;
        }
      }
      for (const [k, x] of Object.entries(v)) visit(x, Array.isArray(v) ? name : k, depth + 1);
    };
    visit(o, 'Report', 0);
  }
  return out;
}

export async function pagePerfspect(main, gen, q) {
  main.append(h('h1', { class: 'ap-h1', text: 'PerfSpect report' }),
    h('p', { class: 'ap-sub', text: 'Hardware metrics (Intel PerfSpect) a host collected during an ad hoc session started with "PerfSpect metrics".' }));
  const services = await loadServices(true);
  if (gen !== app.gen) return;
  if (!services.length) { main.append(noServices()); return; }
  shared.service = pickService(services, main);
  let host = q.get('host') || '';
  const card = h('div', { class: 'ap-card' });
  const view = h('div', { id: 'ap-perfspect' });
  main.append(card, view);
  const go = () => { writeHash('perfspect', { service: shared.service, host }); renderCard(); load(); };

  async function renderCard() {
    const hostsR = await api('/api/v1/filters/tags/HostName', { serviceName: shared.service }).catch(() => null);
    if (gen !== app.gen) return;
    const hosts = hostsR && Array.isArray(hostsR.data) ? hostsR.data.map((x) => x.name) : [];
    if (host && !hosts.includes(host)) hosts.unshift(host);
    const hs = select([['', 'pick a host'], ...hosts.map((x) => [x, x])], host, { id: 'ap-ps-host' });
    hs.addEventListener('change', () => { host = hs.value; go(); });
    card.replaceChildren(h('div', { class: 'ap-row' },
      h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Service' }), serviceSelect(services, shared.service, (v) => { shared.service = v; host = ''; go(); }, 'ap-service')),
      h('span', { class: 'ap-field' }, h('span', { class: 'ap-label', text: 'Host' }), hs)));
  }

  async function load() {
    if (!host) { view.replaceChildren(emptyBox('Pick a host', h('div', { text: 'The newest PerfSpect report of the host is shown here.' }))); return; }
    view.replaceChildren(h('div', { class: 'ap-loading', text: `Loading the PerfSpect report of ${host}…` }));
    let r;
    try { r = await api('/api/metrics/html_metadata', { serviceName: shared.service, hostname: host, allow_missing: 1 }); } catch (e) {
      if (gen === app.gen) view.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== app.gen) return;
    if (r.status === 204 || !r.data) {
      view.replaceChildren(emptyBox(`No PerfSpect report for ${host}`, h('div', null, 'Start an ad hoc session with "PerfSpect metrics" checked on the ',
        h('a', { class: 'ap-link', href: '#/hosts', text: 'Hosts' }), ' page; the agent uploads the report with the session\'s profile.')));
      return;
    }
    const html = (r.data && r.data.content) || '';
    const doc = new DOMParser().parseFromString(html, 'text/html');
    let parts = rebuild(doc);
    if (!parts.some((e) => e.querySelector && e.querySelector('table'))) parts = parts.concat(fromJson(doc));
    const blobUrl = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    const title = (doc.title || '').trim();
    const head = h('div', { class: 'ap-row' }, h('strong', { text: title || 'PerfSpect report' }),
      h('span', { class: 'ap-muted', text: ` · ${r.data.hostname || host} · ${r.data.filename || ''}` }), h('div', { class: 'gp-spring' }),
      h('a', { class: 'ap-link', href: blobUrl, download: r.data.filename || 'perfspect.html', text: 'Download the report' }));
    view.replaceChildren(h('div', { class: 'ap-card ap-ps', id: 'ap-ps-report' }, head,
      parts.length ? h('div', { class: 'ap-ps-body' }, ...parts) : emptyBox('The report has no tables or text to show', h('div', { text: 'Download it to open it in a browser.' }))));
  }
  renderCard();
  await load();
}
