// time.js — times of the web UI: the API takes ISO 8601 in UTC; custom ranges are typed in UTC
// too. The time presets and a range {preset, start, end} to seconds.

export const PRESETS = [['15m', '15 min', 900], ['1h', '1 h', 3600], ['6h', '6 h', 21600],
  ['24h', '24 h', 86400], ['7d', '7 d', 604800], ['custom', 'Custom', 0]];

export const nowSec = () => Math.floor(Date.now() / 1000);
export const iso = (sec) => new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const localInput = (sec) => new Date(sec * 1000).toISOString().slice(0, 16);
export const fromInput = (v) => { const t = Date.parse(v + ':00Z'); return isNaN(t) ? null : Math.floor(t / 1000); };
export const parseApiTime = (s) => { const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + 'Z'); return isNaN(t) ? null : Math.floor(t / 1000); };
export const showTime = (sec) => (sec === null ? '–' : new Date(sec * 1000).toISOString().replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC'));

export function ago(sec) {
  const d = nowSec() - sec;
  if (d < 5) return 'just now';
  if (d < 90) return `${d} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 172800) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} d ago`;
}

// {preset, start, end} -> [start, end] in seconds. Presets end a minute ahead so a profile
// uploaded just now is inside (the server's own default does the same).
export function rangeOf(t) {
  if (t.preset === 'custom' && t.start && t.end) return [t.start, t.end];
  const p = PRESETS.find((x) => x[0] === t.preset) || PRESETS[1];
  const n = nowSec();
  return [n - (p[2] || 3600), n + 60];
}
