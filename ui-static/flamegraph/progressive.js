// flamegraph/progressive.js — the progressive first paint, shared by the served viewer
// (viewer.js, viewer.html?src=) and the app's Profiles page (pages/profiles.js): the request
// for the tree pruned to what can be drawn (the coordinator's minFraction), and the swap of the
// full tree into the mounted viewer once the first paint is drawn. The Compare page uses it for
// diffs (/api/flamegraph/diff takes minFraction too). Inlined into HTML exports
// after flamegraph/viewer.js (import-free; exports embed their data and never call it).

// The first request's share of all samples: frames narrower than 1/4000 of the width are under
// 0.35 px at 1400 px and merge with their neighbours anyway.
export const PROGRESSIVE_FIRST_FRACTION = '1/4000';

// Whether a compact answer's text says that minFraction dropped nodes ("prunedNodes" is in its
// head): a pruned tree is small and parsed on the page; one with nothing pruned is the whole
// profile (a Worker's job, and no full tree to wait for).
export function progressiveWasPruned(text) {
  const m = /"prunedNodes":(\d+)/.exec(text.slice(0, 400));
  return !!m && m[1] !== '0';
}

// Runs fn once the next frame is drawn (two animation frames).
export function progressiveAfterPaint(fn) {
  requestAnimationFrame(() => requestAnimationFrame(fn));
}

// The parameters of the first (pruned) request of a compact flame graph request (an object of
// query parameters), or null when it would not help: &progressive=0 (opts.progressive '0'),
// another format, or minFraction already given. opts.firstFraction overrides the share (tests
// use a coarse one on small data).
export function progressiveFirstParams(params, opts = {}) {
  if (opts.progressive === '0' || params.format !== 'compact' || params.minFraction) return null;
  return { ...params, minFraction: opts.firstFraction || PROGRESSIVE_FIRST_FRACTION };
}

// Swaps the full tree into viewer (mountViewer) after the first paint of first, the pruned tree
// it shows. When first is not partial (nothing was pruned: it is the whole profile) nothing is
// asked for and o.drop() runs. Else, once the first paint is drawn: o.release() (a held parse
// may start), then full(), a promise of {tree, ...}; its tree goes in with viewer.setTree unless
// o.stale() (another profile is shown by then), and o.onFull(r, at) runs once that is drawn (at:
// performance.now()). A failure is said in the viewer's partial note and goes to o.onError(e).
export function progressiveSwapIn(viewer, first, full, o = {}) {
  if (!first.partial) {
    if (o.drop) o.drop();
    return;
  }
  const stale = o.stale || (() => false);
  progressiveAfterPaint(() => {
    if (stale()) return;
    if (o.release) o.release();
    full().then((r) => {
      if (stale()) return;
      viewer.setTree(r.tree);
      progressiveAfterPaint(() => { if (!stale() && o.onFull) o.onFull(r, performance.now()); });
    }, (e) => {
      if (stale()) return;
      const note = viewer.partialNote;
      if (note) {
        note.textContent = `The full profile could not be loaded: ${e && e.message ? e.message : e}`;
        note.classList.add('gp-error');
      }
      if (o.onError) o.onError(e);
    });
  });
}
