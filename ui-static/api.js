// api.js — the coordinator's API from the web UI: JSON in and out, messages from the server shown
// as they are, and a UI token asked for once (kept in sessionStorage) when the coordinator answers
// 401; sent as Bearer, or as Basic for "user:password" (ui_basic_auth). Downloads with credentials.
// A 401 first offers the sign-in form (pages/signin.js); a signed-in tab sends its CSRF token.
import { h, openDialog } from './dom.js';
import { csrfToken, signIn } from './pages/signin.js';

const TOKEN_KEY = 'gprof.uiToken';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function authHeader() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (!t) return null;
  // "user:password" is ui_basic_auth; anything else is the ui_token.
  return /^[^:\s]+:.+$/.test(t) ? 'Basic ' + btoa(t) : 'Bearer ' + t;
}

export function apiUrl(path, params = {}) {
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
let onToken = () => {}; // runs when a token is entered from the button (app.js: the router)

// Sets what runs when a token is entered from the token button.
export function setTokenListener(fn) {
  onToken = fn;
}

// Whether a token is kept for this tab (export links then download through fetch).
export function hasToken() {
  return !!sessionStorage.getItem(TOKEN_KEY);
}

// raw: the answer's text as data, not parsed (a flame graph parsed off the main thread);
// signal: an AbortSignal that cancels the request (it then rejects with the AbortError).
export async function api(path, params = {}, { method = 'GET', body, blob = false, raw = false, signal } = {}) {
  const url = apiUrl(path, params);
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const auth = authHeader();
    if (auth) headers.Authorization = auth;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && csrfToken()) headers['X-CSRF-Token'] = csrfToken();
    let res;
    try {
      res = await fetch(url, { method, headers, credentials: 'same-origin', signal, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, `Cannot reach the coordinator (${e.message}). Is gprof-coordinator running?`);
    }
    if (res.status === 401 && attempt < 3) {
      const msg = await messageOf(res);
      // a tab that chose a token is asked for the token again; others get the sign-in form
      if (!tokenPrompt) tokenPrompt = (hasToken() ? askToken(msg) : signIn(msg, askToken)).finally(() => { tokenPrompt = null; });
      if (await tokenPrompt) continue;
      renderTokenButton(true);
      throw new ApiError(401, `The coordinator asks for credentials: ${msg} (use "Enter access token" at the top right)`);
    }
    if (res.status === 204) return { status: 204, data: null };
    if (!res.ok) throw new ApiError(res.status, `${method} ${path} failed (HTTP ${res.status}): ${await messageOf(res)}`);
    if (blob) return { status: res.status, data: await res.blob() };
    const text = await res.text();
    if (raw) return { status: res.status, data: text };
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { throw new ApiError(res.status, `${path} answered text that is not JSON: ${text.slice(0, 120)}`); }
    }
    return { status: res.status, data };
  }
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

export function renderTokenButton(needed = false) {
  const b = document.getElementById('ap-token');
  if (!b) return;
  const set = !!sessionStorage.getItem(TOKEN_KEY);
  b.hidden = !set && !needed;
  b.classList.toggle('ap-set', set);
  b.textContent = set ? 'Token set · forget' : 'Enter access token';
  b.title = set ? 'forget the access token kept for this tab' : '';
  b.onclick = () => {
    if (sessionStorage.getItem(TOKEN_KEY)) { sessionStorage.removeItem(TOKEN_KEY); renderTokenButton(); return; }
    askToken('Enter the coordinator\'s ui_token.').then((ok) => { if (ok) onToken(); });
  };
}

// Downloads url with the credentials (a plain link cannot carry the Authorization header).
export async function download(url, filename) {
  const r = await api(url, {}, { blob: true });
  if (r.status === 204) throw new ApiError(204, 'Nothing to export: no samples in this range.');
  const href = URL.createObjectURL(r.data);
  const a = h('a', { href, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}

// Who the coordinator says the caller is ({name, role, services, via}), or null when it does
// not answer 200; never asks for credentials.
export async function whoAmI() {
  const headers = {};
  const auth = authHeader();
  if (auth) headers.Authorization = auth;
  try {
    const res = await fetch('/api/me', { headers, credentials: 'same-origin' });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}
