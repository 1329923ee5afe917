// dom.js — DOM helpers of the coordinator's web UI: h() builds elements (text only ever through
// textContent), selects, error and empty-state boxes, and modal dialogs.

export function h(tag, attrs, ...kids) {
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

export function select(options, value, attrs) {
  const s = h('select', { class: 'ap-select', ...attrs });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, text: label }));
  }
  if (value !== undefined && value !== null) s.value = value;
  return s;
}

export function errorBox(e) {
  return h('div', { class: 'ap-error', role: 'alert', text: e && e.message ? e.message : String(e) });
}

export function emptyBox(title, ...rest) {
  return h('div', { class: 'ap-empty' }, h('strong', { text: title }), ...rest);
}

export function openDialog(title, subtitle, body, actions) {
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
