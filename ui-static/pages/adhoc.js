// pages/adhoc.js — #/adhoc: the ad hoc sessions' HTML flame graphs of a service; Open reads a
// file's embedded data as text and draws it in the page.
import { treeFromPayload, fmtNum } from '../flamegraph/model.js';
import { h, errorBox, emptyBox } from '../dom.js';
import { api } from '../api.js';
import { iso, parseApiTime, showTime, rangeOf } from '../time.js';
import { writeHash, shared, sharedParams, rqlFilter, app } from '../state.js';
import { loadServices, pickService, noServices, timeControls, serviceSelect, filterNote, mountGraph, dropViewer } from '../parts.js';

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

export async function pageAdhoc(main, gen, q) {
  const openName = q ? q.get('open') || '' : '';
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
      const tree = await treeFromPayload(payload);
      if (gen !== app.gen) return;
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
            writeHash('adhoc', { ...sharedParams(), open: it.filename });
            open(it);
          } })),
        h('td', null, h('a', { class: 'ap-link ap-ps-link', href: `#/perfspect?${new URLSearchParams({ service: shared.service, host: it.hostname })}`, text: 'PerfSpect', title: `the newest PerfSpect report of ${it.hostname}` }))));
    }
    list.replaceChildren(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table', id: 'ap-adhoc-table' },
      h('thead', null, h('tr', null, ...['Time', 'Host', 'File', 'PMU events', 'Size', '', 'Hardware'].map((x) => h('th', { text: x })))), body)));
    // a shared link names the file that was open
    const again = openName && items.find((x) => x.filename === openName && !x.removed);
    if (again) await open(again);
  }
  await load();
}
