// The admin API as the dashboard speaks it: the credential rides in the Authorization header
// (never the URL), and every answer comes back as a value, {ok, data} or {ok:false, status, message}.

const KEY = 'switchyard.credential';

export const credential = {
  get: () => sessionStorage.getItem(KEY),
  set: (v) => sessionStorage.setItem(KEY, v),
  clear: () => sessionStorage.removeItem(KEY),
};

/** GET or POST an admin route (path after /admin/v1); never throws. */
export async function call(path, { method = 'GET', token, signal } = {}) {
  const signingIn = token !== undefined;
  token ??= credential.get();
  let res;
  try {
    res = await fetch(`/admin/v1${path}`, {
      method, signal, cache: 'no-store',
      headers: { authorization: `Bearer ${token ?? ''}`, accept: 'application/json' },
    });
  } catch (err) {
    if (err?.name === 'AbortError') return { ok: false, status: 0, message: 'cancelled', aborted: true };
    return { ok: false, status: 0, message: 'The gateway cannot be reached. Is it running?' };
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // an answer that is not JSON falls through to the status line below
  }
  if (res.ok) return { ok: true, status: res.status, data: body };
  const message = body?.error?.message ?? `${res.status} ${res.statusText}`;
  // a credential that stopped working (revoked key, restarted gateway with a new token) ends the session
  if (res.status === 401 && !signingIn) dispatchEvent(new CustomEvent('switchyard:unauthorized', { detail: message }));
  return { ok: false, status: res.status, message, missing: res.status === 404 && body?.error?.type === 'not_found_error' };
}

/**
 * The first view's request, started the moment this module runs (boot.js loads it before the rest of
 * the app has arrived), so the page and its data load side by side. Null when not signed in.
 */
export const early = credential.get() === null ? null : call('/overview');
