// pages/users.js — #/users, for admins: every user with role, services and API tokens
// (GET /api/users); add a user, change a role or service list, remove a user, make a token
// (shown once) and revoke one (POST /api/users, PUT/DELETE /api/users/NAME,
// POST /api/users/NAME/tokens, DELETE /api/users/NAME/tokens/ID). The server checks the admin
// role and the CSRF token and audits every change; the nav link is shown to admins only.
import { h, errorBox, emptyBox, select, openDialog } from '../dom.js';
import { api } from '../api.js';
import { app } from '../state.js';

const ROLES = ['viewer', 'operator', 'admin'];
const ROLE_HELP = 'viewer reads flame graphs and host status; operator also starts and stops profiling; admin also manages users, tokens and settings';

const splitList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const path = (name) => `/api/users/${encodeURIComponent(name)}`;
const showTime = (t) => (t ? t.replace('T', ' ').replace(/Z$/, ' UTC') : '–');

// The token, shown once, with a copy button.
function showToken(name, token) {
  const input = h('input', { class: 'ap-input ap-wide', id: 'ap-new-token', readonly: true, value: token });
  const close = h('button', { class: 'gp-btn ap-primary', type: 'button', text: 'Done', id: 'ap-new-token-done', onclick: () => d.close() });
  const copy = h('button', { class: 'gp-btn', type: 'button', text: 'Copy', onclick: () => { input.select(); navigator.clipboard && navigator.clipboard.writeText(token).catch(() => {}); } });
  const d = openDialog(`New API token for ${name}`, 'Shown once: the coordinator keeps only its hash. Send it as "Authorization: Bearer …" from scripts and gprofctl.',
    h('div', { class: 'ap-form' }, input), [copy, close]);
}

function confirmDialog(title, text, okText) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => { if (done) return; done = true; d.close(); resolve(v); };
    const ok = h('button', { class: 'gp-btn ap-danger', type: 'button', text: okText, id: 'ap-confirm-ok', onclick: () => finish(true) });
    const cancel = h('button', { class: 'gp-btn', type: 'button', text: 'Cancel', onclick: () => finish(false) });
    const d = openDialog(title, null, h('p', { text }), [cancel, ok]);
    d.back.addEventListener('cancel', () => finish(false));
  });
}

export async function pageUsers(main, gen) {
  main.append(h('h1', { class: 'ap-h1', text: 'Users' }),
    h('p', { class: 'ap-sub', text: `People who may use this coordinator, their roles and API tokens. ${ROLE_HELP}. Every change here is in the audit log.` }));
  const msg = h('div', { id: 'ap-users-msg', role: 'status', class: 'ap-info', hidden: true });
  const say = (text, bad = false) => {
    msg.hidden = false;
    msg.className = bad ? 'ap-error' : 'ap-info';
    msg.textContent = text;
  };

  // add a user
  const name = h('input', { class: 'ap-input', id: 'ap-user-name', placeholder: 'name', autocomplete: 'off' });
  const pass = h('input', { class: 'ap-input', id: 'ap-user-password', type: 'password', placeholder: 'password', autocomplete: 'new-password' });
  const role = select(ROLES, 'viewer', { id: 'ap-user-role', title: ROLE_HELP });
  const svcs = h('input', { class: 'ap-input', id: 'ap-user-services', placeholder: 'services (comma-separated; empty = every one)' });
  const add = h('button', { class: 'gp-btn ap-primary', type: 'button', id: 'ap-user-add', text: 'Add user', onclick: async () => {
    if (!name.value.trim() || !pass.value) { (name.value.trim() ? pass : name).focus(); return; }
    add.disabled = true;
    try {
      await api('/api/users', {}, { method: 'POST', body: { name: name.value.trim(), password: pass.value, role: role.value, services: splitList(svcs.value) } });
      say(`Added ${name.value.trim()} (${role.value}).`);
      name.value = pass.value = svcs.value = '';
      await load();
    } catch (e) { say(e.message, true); } finally { add.disabled = false; }
  } });
  main.append(h('div', { class: 'ap-card' }, h('h2', { class: 'ap-h', text: 'Add a user' }),
    h('div', { class: 'ap-row' }, name, pass, role, svcs, add)), msg);
  const list = h('div', { id: 'ap-users' });
  main.append(list);

  // one action on a row: run it, say how it went, reload the list
  async function act(fn, okText) {
    try {
      const r = await fn();
      if (okText) say(okText(r));
    } catch (e) { say(e.message, true); }
    await load();
  }

  function tokenCell(u) {
    const cell = h('td', { class: 'ap-tokens' });
    const active = (u.tokens || []).filter((t) => !t.revoked_at);
    const revoked = (u.tokens || []).length - active.length;
    if (!active.length) cell.append(h('span', { class: 'ap-muted', text: 'no active token' }));
    for (const t of active) {
      cell.append(h('div', { class: 'ap-token', dataset: { token: String(t.id) } },
        h('code', { text: `${t.prefix}…`, title: `created ${showTime(t.created_at)}, last used ${showTime(t.last_used)}` }), ' ',
        h('button', { class: 'gp-btn ap-danger ap-revoke', type: 'button', text: 'Revoke', onclick: () => act(
          () => api(`${path(u.name)}/tokens/${t.id}`, {}, { method: 'DELETE' }), () => `Revoked ${u.name}'s token ${t.prefix}….`) })));
    }
    if (revoked) cell.append(h('div', { class: 'ap-muted ap-revoked', text: `${revoked} revoked` }));
    return cell;
  }

  async function load() {
    let r;
    try { r = await api('/api/users'); } catch (e) {
      if (gen === app.gen) list.replaceChildren(errorBox(e));
      return;
    }
    if (gen !== app.gen) return;
    const users = r.data && Array.isArray(r.data.users) ? r.data.users : [];
    if (!users.length) {
      list.replaceChildren(emptyBox('No users yet.', h('p', { text: 'Add one above, or on the coordinator\'s host: gprof-coordinator user add NAME --role admin' })));
      return;
    }
    const body = h('tbody');
    for (const u of users) {
      const rsel = select(ROLES, u.role, { class: 'ap-select ap-user-role-sel', title: ROLE_HELP });
      const sin = h('input', { class: 'ap-input ap-user-svc', value: (u.services || []).join(','), placeholder: 'every service' });
      const save = h('button', { class: 'gp-btn ap-user-save', type: 'button', text: 'Save', onclick: () => act(
        () => api(path(u.name), {}, { method: 'PUT', body: { role: rsel.value, services: splitList(sin.value) } }),
        (res) => `${u.name} is now ${res.data.role}${res.data.services.length ? ` for ${res.data.services.join(', ')}` : ' for every service'}.`) });
      const tok = h('button', { class: 'gp-btn ap-user-token', type: 'button', text: 'New token', onclick: () => act(async () => {
        const res = await api(`${path(u.name)}/tokens`, {}, { method: 'POST' });
        showToken(u.name, res.data.token);
        return res;
      }, () => `Made a token for ${u.name}.`) });
      const rm = h('button', { class: 'gp-btn ap-danger ap-user-remove', type: 'button', text: 'Remove', onclick: async () => {
        if (!(await confirmDialog(`Remove ${u.name}?`, `${u.name} loses access at once: their sessions end and their tokens stop working.`, 'Remove'))) return;
        await act(() => api(path(u.name), {}, { method: 'DELETE' }), () => `Removed ${u.name}.`);
      } });
      body.append(h('tr', { dataset: { user: u.name, role: u.role } },
        h('td', null, h('strong', { text: u.name })),
        h('td', null, rsel),
        h('td', null, sin),
        tokenCell(u),
        h('td', { class: 'ap-muted', text: showTime(u.created_at) }),
        h('td', { class: 'ap-actions-cell' }, save, ' ', tok, ' ', rm)));
    }
    list.replaceChildren(h('div', { class: 'ap-table-wrap' }, h('table', { class: 'ap-table', id: 'ap-users-table' },
      h('thead', null, h('tr', null, ...['User', 'Role', 'Services', 'API tokens', 'Created', ''].map((x) => h('th', { text: x })))), body)));
  }
  await load();
}
