// Shared pieces: the html tag, polling that pauses while the tab is hidden, status boxes.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/**
 * Calls `load` now and every `everyMs` while the page is visible (never while hidden, at once when it
 * shows again); `load` answers an api.call result. Returns [result | null, reload]. With `initial`,
 * that is the first result and the first call waits one period.
 */
export function usePoll(load, everyMs, deps = [], initial = null) {
  const [res, setRes] = useState(initial);
  const [skipFirst] = useState(initial !== null);
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer = null;
    let running = false;
    const schedule = () => {
      if (everyMs > 0 && !stopped) timer = setTimeout(tick, everyMs);
    };
    const tick = async () => {
      timer = null;
      if (stopped || running) return;
      if (document.hidden) return; // resumed by visibilitychange
      running = true;
      const r = await load();
      running = false;
      if (stopped) return;
      setRes(r);
      schedule();
    };
    const onVisible = () => {
      if (!document.hidden && timer === null && !running) tick();
      else if (document.hidden && timer !== null) { clearTimeout(timer); timer = null; }
    };
    document.addEventListener('visibilitychange', onVisible);
    if (skipFirst && nonce === 0 && deps.length === 0) schedule();
    else tick();
    return () => {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, nonce]);
  return [res, () => setNonce((n) => n + 1)];
}

/** What a failed call shows: "not available" for a route this gateway lacks, else the API's message. */
export function Problem({ res, what }) {
  if (res.status === 404 && res.missing) {
    return html`<div class="notice" role="status" data-state="unavailable">
      <strong>${what} is not available</strong> on this gateway: ${res.message}</div>`;
  }
  return html`<div class="error" role="alert" data-state="error"><strong>Could not load ${what}.</strong> ${res.message}</div>`;
}

export const Loading = () => html`<p class="loading" role="status">Loading…</p>`;

export function Stat({ label, value, field, hint }) {
  return html`<div class="stat">
    <div class="stat-label">${label}</div>
    <div class="stat-value" data-field=${field}>${value}</div>
    ${hint ? html`<div class="stat-hint">${hint}</div>` : null}
  </div>`;
}

