// The Switchyard dashboard: sign-in, hash routes, and one module per view.
import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { call, credential, early } from './api.js';
import { html } from './ui.js';
import { Overview } from './views/overview.js';

const VIEWS = [
  { route: 'overview', label: 'Overview', view: Overview },
  // the rest load when first opened, so the first view waits for none of them (nor for uPlot)
  { route: 'fleet', label: 'Fleet', view: lazy(() => import('./views/fleet.js'), 'Fleet'), adminOnly: true },
  { route: 'tenants', label: 'Tenants', tenantLabel: 'My tenant', view: lazy(() => import('./views/tenants.js'), 'Tenants') },
  { route: 'slos', label: 'SLOs', view: lazy(() => import('./views/slos.js'), 'Slos') },
  { route: 'traffic', label: 'Traffic', view: lazy(() => import('./views/traffic.js'), 'Traffic') },
  { route: 'changes', label: 'Changes', view: lazy(() => import('./views/changes.js'), 'Changes'), adminOnly: true },
];

/** A view whose module is imported on first use. */
function lazy(load, name) {
  let loaded = null;
  return function Lazy(props) {
    const [View, setView] = useState(() => loaded);
    const [failed, setFailed] = useState(null);
    useEffect(() => {
      if (View !== null) return;
      load().then((m) => { loaded = m[name]; setView(() => loaded); }, (err) => setFailed(String(err?.message ?? err)));
    }, []);
    if (failed !== null) return html`<div class="error" role="alert">This view could not be loaded: ${failed}. Reload the page.</div>`;
    return View === null ? html`<p class="loading" role="status">Loading…</p>` : html`<${View} ...${props} />`;
  };
}

const routeOf = () => (location.hash.replace(/^#\/?/, '').split('?')[0] || 'overview');

function useRoute() {
  const [route, setRoute] = useState(routeOf());
  useEffect(() => {
    const on = () => setRoute(routeOf());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function SignIn({ onSignedIn, notice }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const token = value.trim();
    if (token === '') return setError('Enter the admin token or a tenant API key.');
    setBusy(true);
    setError(null);
    // the first view's own request doubles as the check, so signing in costs no extra round trip
    const res = await call('/overview', { token });
    setBusy(false);
    if (!res.ok && !(res.status === 404 && res.missing)) return setError(res.message);
    credential.set(token);
    setValue('');
    onSignedIn(res);
  };
  return html`<main class="signin">
    <form onSubmit=${submit} aria-labelledby="signin-title" autocomplete="off">
      <h1 id="signin-title"><span class="logo" aria-hidden="true">⇄</span> Switchyard</h1>
      <p>Sign in with the gateway's admin token, or a tenant's API key to see that tenant only.</p>
      ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
      <label for="credential">Admin token or API key</label>
      <input id="credential" name="credential" type="password" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} autofocus spellcheck="false" />
      ${error ? html`<p class="error" role="alert" id="signin-error">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`;
}

function Shell({ session, onSignOut }) {
  const route = useRoute();
  const admin = session.role === 'admin';
  const views = VIEWS.filter((v) => admin || !v.adminOnly);
  const current = views.find((v) => v.route === route) ?? null;
  useEffect(() => { document.title = `${current?.label ?? 'Not found'} · Switchyard`; }, [current]);
  const View = current?.view;
  return html`<div class="shell">
    <header class="top">
      <div class="brand"><span class="logo" aria-hidden="true">⇄</span> Switchyard</div>
      <nav aria-label="Views"><ul>
        ${views.map((v) => html`<li><a href=${`#/${v.route}`} aria-current=${v.route === route ? 'page' : undefined}>${!admin && v.tenantLabel ? v.tenantLabel : v.label}</a></li>`)}
      </ul></nav>
      <div class="who">
        <span class="role" data-field="role">${admin ? 'Admin' : 'Tenant key'}</span>
        <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main class="content" id="content">
      ${View ? html`<${View} session=${session} />` : html`<div class="notice" role="status">There is no view “${route}”. <a href="#/overview">Go to the overview</a>.</div>`}
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState(null);
  const [notice, setNotice] = useState(null);
  const [checking, setChecking] = useState(credential.get() !== null);
  const open = (res) => {
    // a tenant key's overview carries no fleet; the admin token's always does
    const role = res.ok && res.data?.fleet === null ? 'tenant' : 'admin';
    setSession({ role, first: res });
    setNotice(null);
  };
  useLayoutEffect(() => {
    if (credential.get() === null) return;
    (early ?? call('/overview')).then((res) => {
      setChecking(false);
      if (res.ok || (res.status === 404 && res.missing)) return open(res);
      credential.clear();
      setNotice(res.status === 401 ? `Signed out: ${res.message}` : res.message);
    });
  }, []);
  useEffect(() => {
    // any view that meets a 401 signs the session out
    const on = (e) => { credential.clear(); setSession(null); setNotice(`Signed out: ${e.detail}`); };
    addEventListener('switchyard:unauthorized', on);
    return () => removeEventListener('switchyard:unauthorized', on);
  }, []);
  if (checking) return html`<p class="loading" role="status">Signing in…</p>`;
  if (session === null) return html`<${SignIn} onSignedIn=${open} notice=${notice} />`;
  return html`<${Shell} session=${session} onSignOut=${() => { credential.clear(); setSession(null); delete document.body.dataset.ready; }} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the static "Loading…" placeholder
render(html`<${App} />`, root);
