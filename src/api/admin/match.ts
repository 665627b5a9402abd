// The admin API's paths. Ids are path segments; everything else is literal.

const PREFIX = '/admin/v1/';

export type Route =
  | 'tenants' | 'tenant' | 'workspaces' | 'workspace' | 'keys' | 'usage' | 'summary' | 'key' | 'revoke' | 'audit';

export const ALLOW: Record<Route, readonly string[]> = {
  tenants: ['GET', 'POST'], tenant: ['GET', 'PATCH'], workspaces: ['GET', 'POST'], workspace: ['GET', 'PATCH'], keys: ['GET', 'POST'],
  usage: ['GET'], summary: ['GET'], key: ['GET', 'PATCH', 'DELETE'], revoke: ['POST'], audit: ['GET'],
};

/** `/admin/v1/tenants/ten_1/keys` → { route: 'keys', id: 'ten_1' } */
export function match(pathname: string): { route: Route; id: string } | null {
  if (!pathname.startsWith(PREFIX)) return null;
  let rest = pathname.slice(PREFIX.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  const s = rest.split('/');
  if (s.some((p) => p === '')) return null;
  const id = s.length > 1 ? safeDecode(s[1]) : '';
  if (id === null) return null;
  if (s[0] === 'tenants') {
    if (s.length === 1) return { route: 'tenants', id };
    if (s.length === 2) return { route: 'tenant', id };
    if (s.length === 3 && (s[2] === 'workspaces' || s[2] === 'keys' || s[2] === 'usage')) return { route: s[2], id };
    if (s.length === 4 && s[2] === 'usage' && s[3] === 'summary') return { route: 'summary', id };
  } else if (s[0] === 'keys') {
    if (s.length === 2) return { route: 'key', id };
    if (s.length === 3 && s[2] === 'revoke') return { route: 'revoke', id };
  } else if (s[0] === 'workspaces') {
    if (s.length === 2) return { route: 'workspace', id };
  } else if (s[0] === 'audit') {
    if (s.length === 1) return { route: 'audit', id };
  }
  return null;
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}
