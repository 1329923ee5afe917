// signin.js — signing in to the coordinator as a person: a name + password form posted to
// /api/login, which sets an HttpOnly session cookie and returns the CSRF token kept here (in
// sessionStorage) for api.js to send as X-CSRF-Token on every POST/PUT/DELETE; signing out;
// "use an access token instead" falls back to the ui_token dialog.
import { h, openDialog } from '../dom.js';

const CSRF_KEY = 'gprof.csrf';
const USER_KEY = 'gprof.user';

// The CSRF token of this tab's session, or null.
export function csrfToken() {
  return sessionStorage.getItem(CSRF_KEY);
}

// Who is signed in here ({name, role, services}), or null.
export function signedInUser() {
  try { return JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'); } catch { return null; }
}

function forget() {
  sessionStorage.removeItem(CSRF_KEY);
  sessionStorage.removeItem(USER_KEY);
}

async function login(name, password) {
  let res;
  try {
    res = await fetch('/api/login', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  } catch (e) {
    return { error: `Cannot reach the coordinator (${e.message}).` };
  }
  const o = await res.json().catch(() => null);
  if (!res.ok) return { error: (o && o.message) || `sign-in failed (HTTP ${res.status})` };
  sessionStorage.setItem(CSRF_KEY, o.csrf_token);
  sessionStorage.setItem(USER_KEY, JSON.stringify({ name: o.name, role: o.role, services: o.services || [] }));
  return { user: o };
}

// Ends the session (cookie and CSRF token); resolves when done.
export async function signOut() {
  const csrf = csrfToken();
  forget();
  await fetch('/api/logout', { method: 'POST', credentials: 'same-origin', headers: csrf ? { 'X-CSRF-Token': csrf } : {} }).catch(() => {});
  renderSignInButton();
}

// Shows the sign-in form with the server's message; resolves true once signed in (or a token was
// entered through useToken, a function resolving like it), false when cancelled.
export function signIn(message, useToken) {
  forget();
  return new Promise((resolve) => {
    const name = h('input', { class: 'ap-input', id: 'ap-signin-name', autocomplete: 'username', placeholder: 'user name' });
    const pass = h('input', { class: 'ap-input', id: 'ap-signin-password', type: 'password', autocomplete: 'current-password', placeholder: 'password' });
    const err = h('div', { class: 'ap-error', role: 'alert', text: message });
    const body = h('div', null, err,
      h('div', { class: 'ap-form' }, h('label', { class: 'ap-label', for: 'ap-signin-name', text: 'Name' }), name),
      h('div', { class: 'ap-form' }, h('label', { class: 'ap-label', for: 'ap-signin-password', text: 'Password' }), pass),
      h('p', { class: 'ap-sub', text: 'An administrator creates people with: gprof-coordinator user add NAME --role viewer|operator|admin' }));
    let done = false;
    const finish = (v) => { if (done) return; done = true; d.close(); renderSignInButton(); resolve(v); };
    const go = h('button', { class: 'gp-btn ap-primary', type: 'button', id: 'ap-signin-ok', text: 'Sign in', onclick: async () => {
      if (!name.value.trim() || !pass.value) { (name.value.trim() ? pass : name).focus(); return; }
      go.disabled = true;
      const r = await login(name.value.trim(), pass.value);
      go.disabled = false;
      if (r.error) { err.textContent = r.error; pass.select(); return; }
      finish(true);
    } });
    const token = h('button', { class: 'gp-btn', type: 'button', id: 'ap-signin-token', text: 'Use an access token', onclick: () => {
      if (done) return; done = true; d.close();
      Promise.resolve(useToken ? useToken(message) : false).then(resolve);
    } });
    const cancel = h('button', { class: 'gp-btn', type: 'button', text: 'Cancel', onclick: () => finish(false) });
    for (const i of [name, pass]) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') go.click(); });
    const d = openDialog('Sign in', 'The coordinator has authentication on for its query and control API.', body, [cancel, token, go]);
    d.back.addEventListener('cancel', () => finish(false));
  });
}

// The "signed in as NAME (role) · sign out" button next to the token button, when signed in.
export function renderSignInButton() {
  const tok = document.getElementById('ap-token');
  let b = document.getElementById('ap-signout');
  const u = signedInUser();
  if (!u) { if (b) b.remove(); return; }
  if (!b && tok) {
    b = h('button', { class: 'gp-btn', type: 'button', id: 'ap-signout' });
    tok.before(b);
  }
  if (!b) return;
  b.textContent = `${u.name} (${u.role}) · sign out`;
  b.onclick = () => signOut().then(() => window.gprofApp && window.gprofApp.route && window.gprofApp.route());
}
