// pages/services.js — #/services, the home page: every service with its hosts seen (active or
// offline), samples over the range as a sparkline, last data, CPU and memory averages
// (GET /api/services/summary); a click opens its profile. An empty install says what to run.
import { h, errorBox } from '../dom.js';
import { api } from '../api.js';
import { fmtNum } from '../flamegraph/model.js';
import { iso, parseApiTime, showTime, ago, rangeOf } from '../time.js';
import { writeHash, shared, sharedParams, app } from '../state.js';
import { noServices, timeControls } from '../parts.js';

const SVG = 'http://www.w3.org/2000/svg';

// Samples per bucket as a small SVG line with its area.
function sparkline(values) {
  const W = 140, H = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', W);
  svg.setAttribute('height', H);
  svg.setAttribute('class', 'ap-spark');
  svg.setAttribute('role', 'img');
  const max = Math.max(1, ...values);
  const n = Math.max(1, values.length - 1);
  const pts = values.map((v, i) => `${((i / n) * (W - 2) + 1).toFixed(1)},${(H - 2 - (v / max) * (H - 4)).toFixed(1)}`);
  const area = document.createElementNS(SVG, 'path');
  area.setAttribute('d', `M1,${H - 1} L${pts.join(' L')} L${W - 1},${H - 1} Z`);
  area.setAttribute('class', 'ap-spark-area');
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('class', 'ap-spark-line');
  const title = document.createElementNS(SVG, 'title');
  title.textContent = `samples per bucket: ${values.join(', ')}`;
  svg.append(title, area, line);
  return svg;
}

const pct = (v) => (v === null || v === undefined ? '–' : `${Number(v).toFixed(1)}%`);

export async function pageServices(main, gen) {
  main.append(h('h1', { class: 'ap-h1', text: 'Services' }),
    h('p', { class: 'ap-sub', text: 'Every service that uploaded profiles, with its hosts and activity in the chosen range. Click a service to see its flame graph.' }));
  const card = h('div', { class: 'ap-card' });
  const list = h('div', { id: 'ap-services' });
  main.append(card, list);
  const reload = () => { writeHash('services', { time: shared.time.preset, start: shared.time.preset === 'custom' ? shared.time.start : '', end: shared.time.preset === 'custom' ? shared.time.end : '' }); load(); };
  card.append(h('div', { class: 'ap-row' }, timeControls(shared.time, reload),
    h('button', { class: 'gp-btn', type: 'button', text: 'Refresh', id: 'ap-refresh', onclick: () => load() })));

  async function load() {
    const [start, end] = rangeOf(shared.time);
    list.replaceChildren(h('div', { class: 'ap-loading', text: 'Loading services…' }));
    let r;
    try { r = await api('/api/services/summary', { startTime: iso(start), endTime: iso(end) }); } catch (e) {
      if (gen === app.gen) list.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== app.gen) return;
    const items = r.data && Array.isArray(r.data.services) ? r.data.services : [];
    if (!items.length) { list.replaceChildren(noServices()); return; }
    items.sort((a, b) => (b.samples || 0) - (a.samples || 0) || (a.name < b.name ? -1 : 1));
    const body = h('tbody');
    for (const s of items) {
      const hosts = Array.isArray(s.hosts) ? s.hosts : [];
      const off = hosts.length - (s.activeHosts || 0);
      const last = s.lastData ? parseApiTime(s.lastData) : null;
      const link = `#/profiles?${new URLSearchParams({ ...sharedParams(), service: s.name })}`;
      const hostCell = h('td', { class: 'ap-hosts-cell', title: hosts.map((x) => `${x.name}: ${x.active ? 'active' : 'offline'}, last ${x.lastSeen}`).join('\n') });
      if (!hosts.length) hostCell.append(h('span', { class: 'ap-muted', text: 'none in range' }));
      else {
        hostCell.append(h('span', { class: 'ap-badge ap-b-completed', text: `${s.activeHosts || 0} active` }));
        if (off) hostCell.append(' ', h('span', { class: 'ap-badge ap-b-stopped', text: `${off} offline` }));
      }
      body.append(h('tr', { class: 'ap-svc-row', dataset: { service: s.name, samples: String(s.samples || 0) }, onclick: (e) => {
        if (e.target.closest('a')) return;
        location.hash = link;
      } },
      h('td', null, h('a', { class: 'ap-link ap-svc-name', href: link, text: s.name })),
      hostCell,
      h('td', null, sparkline(Array.isArray(s.spark) ? s.spark.map(Number) : [])),
      h('td', { class: 'ap-num', text: fmtNum(s.samples || 0) }),
      h('td', { title: last === null ? '' : showTime(last), text: last === null ? 'never' : ago(last) }),
      h('td', { class: 'ap-num', text: pct(s.avgCpu) }),
      h('td', { class: 'ap-num', text: pct(s.avgMemory) })));
    }
    list.replaceChildren(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table ap-svc-table', id: 'ap-services-table' },
      h('thead', null, h('tr', null, ...[['Service', ''], ['Hosts', ''], ['Samples over the range', ''], ['Samples', 'ap-num'], ['Last data', ''], ['Avg CPU', 'ap-num'], ['Avg memory', 'ap-num']]
        .map(([x, c]) => h('th', { class: c, text: x })))), body)));
  }
  await load();
}
