// pages/hosts.js — #/hosts: the agents that sent a heartbeat, auto-refreshed, and the Start and
// Stop dialogs that send profile requests; the requests sent from this tab with their state.
import { h, select, errorBox, emptyBox, openDialog } from '../dom.js';
import { api } from '../api.js';
import { nowSec, parseApiTime, showTime, ago } from '../time.js';
import { writeHash, app } from '../state.js';
import { loadServices } from '../parts.js';

const HOSTS_REFRESH_MS = 10000;
const REQUESTS_REFRESH_MS = 2000; // while a request is not final: its hosts' status, live
const SENT_KEY = 'gprof.sentRequests';
// profile requests sent from this tab (Hosts page), kept in sessionStorage across reloads
const sentRequests = (() => {
  try { const v = JSON.parse(sessionStorage.getItem(SENT_KEY) || '[]'); return Array.isArray(v) ? v : []; } catch { return []; }
})();
const saveSent = () => { try { sessionStorage.setItem(SENT_KEY, JSON.stringify(sentRequests.slice(-50))); } catch { /* full */ } };

export async function pageHosts(main, gen, q) {
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
    saveSent();
    const body = h('tbody');
    for (const q of sentRequests.slice().reverse()) {
      const hostsCell = h('td', { class: 'ap-wrap' });
      if (q.error) hostsCell.append(q.error);
      else if (!(q.executions || []).length) hostsCell.append('pending: waiting for the agents\' next heartbeat');
      for (const x of q.executions || []) {
        const done = x.status === 'completed';
        const adhoc = /ad hoc/.test(q.summary || '');
        hostsCell.append(h('div', { class: 'ap-exec', dataset: { host: x.hostname, status: x.status } },
          h('span', { class: 'ap-mono', text: x.hostname }), ' ',
          // "sent": the agent took the command at its heartbeat and is running the session
          h('span', { class: `ap-badge ap-b-${x.status === 'sent' ? 'running' : x.status}`, text: x.status === 'sent' ? 'running' : x.status, title: x.status }),
          x.error_message ? h('span', { class: 'ap-muted', text: ` ${x.error_message}` }) : null,
          done && adhoc ? h('a', { class: 'ap-link', href: `#/adhoc?${new URLSearchParams({ service: q.service, time: '24h', hn: x.hostname })}`, text: ' flame graph' }) : null,
          done && q.perfspect ? h('a', { class: 'ap-link', href: `#/perfspect?${new URLSearchParams({ service: q.service, host: x.hostname })}`, text: ' PerfSpect report' }) : null));
      }
      body.append(h('tr', { dataset: { request: q.id, status: q.status } },
        h('td', { text: showTime(q.at) }),
        h('td', { text: q.service }),
        h('td', { text: q.summary }),
        h('td', null, h('span', { class: `ap-badge ap-b-${q.status}`, text: q.status })),
        hostsCell,
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
            summary: `${what} on ${hosts.join(', ')}`, perfspect: !!(body.additional_args && body.additional_args.enable_perfspect) });
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

  let ticks = 0;
  app.timer = setInterval(() => {
    if (!auto.checked || document.querySelector('.ap-backdrop')) return;
    ticks++;
    if (sentRequests.some((x) => !x.final)) renderRequests();
    if (ticks % (HOSTS_REFRESH_MS / REQUESTS_REFRESH_MS) === 0) { load(); if (!sentRequests.some((x) => !x.final)) renderRequests(); }
  }, REQUESTS_REFRESH_MS);
  renderRequests();
  await load();
}
