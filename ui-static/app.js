// app.js — the coordinator's web UI: a hash-routed single page (Services, Profiles, Compare,
// Hosts, Ad hoc results, PerfSpect, Users for admins) over the coordinator's Performance Studio-compatible API, drawing flame graphs with
// flamegraph/. This file is the router; each page is one file in pages/. Plain DOM, no
// framework; text from the API only ever goes into textContent.
import { errorBox } from './dom.js';
import { api, renderTokenButton, setTokenListener, whoAmI } from './api.js';
import { readHash, writeHash, loadShared, sharedParams, app } from './state.js';
import { dropViewer } from './parts.js';
import { pageProfiles } from './pages/profiles.js';
import { pageCompare } from './pages/compare.js';
import { pageHosts } from './pages/hosts.js';
import { pageAdhoc } from './pages/adhoc.js';
import { renderSignInButton } from './pages/signin.js';
import { pageServices } from './pages/services.js';
import { pagePerfspect } from './pages/perfspect.js';
import { pageUsers } from './pages/users.js';
import { installKeys, showKeys } from './parts/keys.js';

const PAGES = { services: pageServices, profiles: pageProfiles, compare: pageCompare, hosts: pageHosts, adhoc: pageAdhoc, perfspect: pagePerfspect, users: pageUsers };
const NAV = { perfspect: 'adhoc' }; // pages without a nav entry of their own
app.api = api;
app.route = route;
window.gprofApp = app;

async function route() {
  const { page, q } = readHash();
  const name = PAGES[page] ? page : 'services';
  loadShared(q);
  app.gen++;
  const gen = app.gen;
  clearInterval(app.timer);
  dropViewer();
  app.page = name;
  document.documentElement.dataset.page = name;
  delete document.documentElement.dataset.ready;
  for (const a of document.querySelectorAll('#ap-nav a')) a.classList.toggle('ap-on', a.dataset.page === (NAV[name] || name));
  const main = document.getElementById('ap-main');
  main.replaceChildren();
  if (name !== 'hosts' && name !== 'perfspect' && name !== page) writeHash(name, name === 'services' ? { time: sharedParams().time } : sharedParams());
  try {
    await PAGES[name](main, gen, q);
  } catch (e) {
    if (gen === app.gen) main.append(errorBox(e));
  }
  if (gen === app.gen) await showAdminNav();
  if (gen === app.gen) document.documentElement.dataset.ready = name;
}

// The Users link is for admins: asked once per credential (GET /api/me, after a page has
// loaded, so a coordinator with auth on has had its chance to ask for credentials first).
let navFor = null;
async function showAdminNav() {
  const key = `${sessionStorage.getItem('gprof.uiToken') || ''}|${sessionStorage.getItem('gprof.csrf') || ''}`;
  if (key === navFor) return;
  const me = await whoAmI();
  navFor = me ? key : null;
  app.me = me;
  document.getElementById('ap-nav-users').hidden = !(me && me.role === 'admin');
}

// Nav links keep the chosen service and range.
document.getElementById('ap-nav').addEventListener('click', (e) => {
  const a = e.target.closest('a[data-page]');
  if (!a) return;
  e.preventDefault();
  const p = a.dataset.page;
  writeHash(p, p === 'hosts' ? {} : sharedParams(), false);
});
document.getElementById('ap-keys-btn').addEventListener('click', showKeys);
installKeys();
setTokenListener(route);
window.addEventListener('hashchange', route);
renderTokenButton();
renderSignInButton();
route();
