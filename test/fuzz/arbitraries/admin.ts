import fc from 'fast-check';
import { step, toJson, type Case, type Step } from '../cases.js';
import { chance, deep, draw, identifier, notA, pick, text, veryLong, type G } from './json.js';

// The admin API: tenants, workspaces, keys, usage, audit and the fleet, with the admin token (or a
// tenant key, or nothing). Ids a case needs ({{tenant}}, {{workspace}}, {{key}}, {{replica}}) are
// the rig's; {{uniq}} is fresh per case. Errors come in Anthropic's envelope.

type Obj = Record<string, unknown>;

const JSON_HEADERS = { 'content-type': 'application/json' };
const ok = (method: string, path: string, body?: Obj, extra: Partial<Step> = {}): Step =>
  step({ method, path, auth: 'admin', headers: body ? JSON_HEADERS : {}, body: body ? toJson(body) : undefined, expect: 'ok', envelope: 'anthropic', shape: 'json', ...extra });
const no = (method: string, path: string, body?: unknown, extra: Partial<Step> = {}): Step =>
  step({ method, path, auth: 'admin', headers: body !== undefined ? JSON_HEADERS : {}, body: body === undefined ? undefined : typeof body === 'string' ? body : toJson(body), expect: 'reject', envelope: 'anthropic', shape: 'json', ...extra });

const name = (g: G): string => (chance(g, 0.5) ? draw(g, identifier) : draw(g, text)).slice(0, 190) + ' {{uniq}}';
const regions = (g: G): unknown => pick(g, [undefined, null, ['us-east'], ['eu-west', 'us-east'], ['us-east', 'us-east']]);
const priority = (g: G): unknown => pick(g, [undefined, null, 'interactive', 'standard', 'batch']);
const time = (g: G): string => pick(g, ['2026-01-01T00:00:00Z', '2020-02-29T12:00:00.000Z', '2099-12-31T23:59:59+02:00']);
const q = (o: Record<string, string | undefined>): string => {
  const s = Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${encodeURIComponent(v!)}`).join('&');
  return s ? '?' + s : '';
};

export const validAdmin: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const k = g(fc.integer, { min: 0, max: 18 });
  const actor: Record<string, string> = chance(g, 0.2) ? { 'x-switchyard-actor': draw(g, text).slice(0, 150).replace(/[^\x20-\x7e]/g, '?') } : {};
  const withActor = (s: Step): Step => ({ ...s, headers: { ...s.headers, ...actor } });
  const steps: Step[] = (() => {
    switch (k) {
      case 0: return [ok('POST', '/admin/v1/tenants', { name: name(g), tier: pick(g, [undefined, 'default', 'free']), allowed_regions: regions(g) })];
      case 1: return [ok('GET', '/admin/v1/tenants' + q({ limit: pick(g, [undefined, '1', '1000', '7']), after_id: pick(g, [undefined, '{{tenant}}', 'ten_nope']) }))];
      case 2: return [ok('GET', '/admin/v1/tenants/{{tenant}}')];
      case 3: return [ok('PATCH', '/admin/v1/tenants/{{tenant}}', { name: chance(g, 0.5) ? name(g) : undefined, allowed_regions: regions(g) ?? ['us-east'] })];
      case 4: return [ok('POST', '/admin/v1/tenants/{{tenant}}/workspaces', { name: name(g) }), ok('GET', '/admin/v1/tenants/{{tenant}}/workspaces')];
      case 5: return [ok('PATCH', '/admin/v1/workspaces/{{workspace}}', { spend_limit_usd: pick(g, [null, 0, 1e9, 12.5]) })];
      case 6: return [ok('POST', '/admin/v1/tenants/{{tenant}}/keys', { name: chance(g, 0.5) ? name(g) : undefined, workspace_id: chance(g, 0.5) ? '{{workspace}}' : undefined, priority: priority(g) })];
      case 7: return [ok('GET', '/admin/v1/tenants/{{tenant}}/keys' + q({ workspace_id: chance(g, 0.5) ? '{{workspace}}' : undefined }))];
      case 8: return [ok('PATCH', '/admin/v1/keys/{{key}}', { priority: priority(g) ?? null, name: chance(g, 0.3) ? name(g) : undefined })];
      case 9: return [ok('GET', '/admin/v1/tenants/{{tenant}}/usage' + q({ since: chance(g, 0.5) ? time(g) : undefined, limit: pick(g, [undefined, '1', '1000']) }))];
      case 10: return [ok('GET', '/admin/v1/tenants/{{tenant}}/usage/summary' + q({ before: chance(g, 0.5) ? time(g) : undefined }))];
      case 11: return [ok('GET', '/admin/v1/audit' + q({ tenant_id: chance(g, 0.5) ? '{{tenant}}' : undefined, action: pick(g, [undefined, 'tenant.create', 'key.revoke', 'nothing.like.this']), limit: pick(g, [undefined, '3']) }))];
      case 12: return [ok('GET', '/admin/v1/fleet'), ok('GET', '/admin/v1/fleet/replicas/{{replica}}')];
      case 13: {
        const id = chance(g, 0.5) ? undefined : pick(g, ['fz-{{uniq}}', 'us-east/llama-3.3-70b/fz{{uniq}}', 'ünï-{{uniq}}']);
        const add = ok('POST', '/admin/v1/fleet/replicas', { model: 'llama-3.3-70b', url: '{{replicaUrl}}', region: pick(g, ['us-east', 'eu-west']), served_model: 'sim', id });
        // the id the gateway minted is read from the answer by the rig: {{added}}
        return [add, ok('DELETE', '/admin/v1/fleet/replicas/{{added}}')];
      }
      case 14: {
        const action = pick(g, ['drain', 'undrain', 'readmit']);
        return [ok('POST', `/admin/v1/fleet/replicas/{{replica}}/${action}`), ok('POST', '/admin/v1/fleet/replicas/{{replica}}/undrain')];
      }
      // a later step works on what the first created: {{added}} is its id
      case 15: return [
        ok('POST', '/admin/v1/tenants/{{tenant}}/keys', { name: name(g), priority: priority(g) }),
        ok('POST', '/admin/v1/keys/{{added}}/revoke'),
        // revoking again is idempotent, by either route
        ...pick(g, [[ok('POST', '/admin/v1/keys/{{added}}/revoke')], [ok('DELETE', '/admin/v1/keys/{{added}}')]]),
      ];
      case 16: return [
        ok('POST', '/admin/v1/tenants', { name: name(g) }), ok('GET', '/admin/v1/tenants/{{added}}'),
        ok('PATCH', '/admin/v1/tenants/{{added}}', { tier: pick(g, ['default', 'free']), allowed_regions: null }), ok('GET', '/admin/v1/tenants/{{added}}/workspaces'),
      ];
      case 17: return [ok('POST', '/admin/v1/tenants/{{tenant}}/workspaces', { name: name(g) }), ok('PATCH', '/admin/v1/workspaces/{{added}}', { name: name(g), spend_limit_usd: pick(g, [null, 0, 99.99]) })];
      default: return [ok('GET', '/admin/v1/tenants/{{tenant}}', undefined, { auth: 'key' }), ok('GET', '/admin/v1/tenants/{{tenant}}/keys', undefined, { auth: 'key' })];
    }
  })();
  return { family: 'admin.valid', note: `${steps[0].method} ${steps[0].path}`, steps: steps.map(withActor) };
});

type Bad = [string, (g: G) => Step];
const BAD: Bad[] = [
  ['a tenant name of the wrong type', (g) => no('POST', '/admin/v1/tenants', { name: notA('string')(g) })],
  ['a tenant without a name', () => no('POST', '/admin/v1/tenants', {})],
  ['a blank tenant name', (g) => no('POST', '/admin/v1/tenants', { name: pick(g, ['', '   ', '\t\n']) })],
  ['a tenant name far too long', (g) => no('POST', '/admin/v1/tenants', { name: draw(g, veryLong) })],
  ['an unknown tier', (g) => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}', tier: pick(g, ['gold', '-', 'x'.repeat(100), '../default']) })],
  ['allowed_regions empty or of the wrong type', (g) => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}', allowed_regions: pick(g, [[], 'us-east', [3], [''], {}]) })],
  ['allowed_regions naming a region that is not configured', (g) => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}', allowed_regions: pick(g, [['mars'], ['us-east', 'us-west-9']]) })],
  ['an unknown field', (g) => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}', [pick(g, ['allowedRegions', 'limit', '__proto__', 'constructor', 'tier '])]: 'x' })],
  ['a body that is not an object', (g) => no('POST', '/admin/v1/tenants', pick(g, [[], 'name', 3, null, true]))],
  ['a body that is not JSON', (g) => no('POST', '/admin/v1/tenants', pick(g, ['{', '{"name":', "{'name':'x'}", 'name=x', '{"name":"x"} trailing', '\u0000']))],
  ['a body nested thousands deep', (g) => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}', allowed_regions: draw(g, deep) })],
  ['an empty patch', () => no('PATCH', '/admin/v1/tenants/{{tenant}}', {})],
  ['a patch of the wrong type', (g) => no('PATCH', '/admin/v1/workspaces/{{workspace}}', { spend_limit_usd: pick(g, [-1, '10', 'NaN', true, [], -1e308]) })],
  ['a key priority outside the enum', (g) => no('POST', '/admin/v1/tenants/{{tenant}}/keys', { priority: pick(g, ['urgent', 'Interactive', 3, '']) })],
  ['a key for a workspace that is not there', () => no('POST', '/admin/v1/tenants/{{tenant}}/keys', { workspace_id: 'wsp_missing' })],
  ['a tenant that is not there', (g) => no(pick(g, ['GET', 'PATCH']), '/admin/v1/tenants/ten_missing', { name: 'x' })],
  ['a bad %-escape in an id', (g) => no('GET', `/admin/v1/${pick(g, ['tenants', 'keys', 'workspaces'])}/${pick(g, ['%', '%zz', '%E0%A4%A', 'a%', '%%'])}`)],
  ['a bad %-escape in a fleet replica id', (g) => no(pick(g, ['GET', 'DELETE', 'POST']), `/admin/v1/fleet/replicas/${pick(g, ['%', '%zz', '%E0%A4%A'])}${pick(g, ['', '/drain', '/readmit'])}`)],
  ['an unknown admin route', (g) => no('GET', pick(g, ['/admin/v1/', '/admin/v1/tenants/{{tenant}}/nope', '/admin/v1//tenants', '/admin/v1/tenants/a/b/c/d/e']))],
  ['a method the route does not allow', (g) => no(pick(g, ['PUT', 'DELETE', 'PATCH']), '/admin/v1/tenants')],
  ['limit out of range', (g) => no('GET', '/admin/v1/tenants' + q({ limit: pick(g, ['0', '-1', '1001', 'NaN', '1.5', 'ten', '9'.repeat(400)]) }))],
  ['a time that is not RFC 3339', (g) => no('GET', '/admin/v1/tenants/{{tenant}}/usage' + q({ since: pick(g, ['yesterday', '2026-13-45', '1700000000', '2026-02-30T99:00:00Z']) }))],
  ['a page cursor not issued here', (g) => no('GET', '/admin/v1/audit' + q({ page: pick(g, ['nope', '%%%', 'MTIz', 'x'.repeat(5000)]) }))],
  ['an actor name far too long', () => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}' }, { headers: { ...JSON_HEADERS, 'x-switchyard-actor': 'a'.repeat(5000) } })],
  ['no credentials', (g) => no(pick(g, ['GET', 'POST']), '/admin/v1/tenants', undefined, { auth: 'none' })],
  ['a wrong admin token', () => no('GET', '/admin/v1/tenants', undefined, { auth: 'none', headers: { authorization: 'Bearer not-the-token' } })],
  ['a tenant key making a change', () => no('POST', '/admin/v1/tenants', { name: 'x {{uniq}}' }, { auth: 'key' })],
  ['a tenant key reading the fleet', () => no('GET', '/admin/v1/fleet', undefined, { auth: 'key' })],

  ['a fleet replica with a URL that is not one', (g) => no('POST', '/admin/v1/fleet/replicas', { model: 'llama-3.3-70b', region: 'us-east', url: pick(g, ['not a url', '', 'http://', '//x', 3]) })],
  ['a fleet replica of an unknown model or region', (g) => no('POST', '/admin/v1/fleet/replicas', chance(g, 0.5) ? { model: 'nope', region: 'us-east', url: '{{replicaUrl}}' } : { model: 'llama-3.3-70b', region: 'mars', url: '{{replicaUrl}}' })],
  ['a fleet replica with an unknown field', () => no('POST', '/admin/v1/fleet/replicas', { model: 'llama-3.3-70b', region: 'us-east', url: '{{replicaUrl}}', weight: 3 })],
  ['a fleet replica whose id is taken', () => no('POST', '/admin/v1/fleet/replicas', { model: 'llama-3.3-70b', region: 'us-east', url: '{{replicaUrl}}', id: '{{replicaId}}' })],
  ['a fleet body that is not JSON', (g) => no('POST', '/admin/v1/fleet/replicas', pick(g, ['{', '', 'model=x']))],
  ['a fleet replica that is not there', (g) => no(pick(g, ['GET', 'DELETE', 'POST']), '/admin/v1/fleet/replicas/nope{{uniq}}/drain'.replace('/drain', pick(g, ['', '/drain'])))],
];

/** Refused, and nothing half-added: the replica is not in the fleet afterwards. */
const noOrigin = (g: G): Step[] => [
  no('POST', '/admin/v1/fleet/replicas', { model: 'llama-3.3-70b', region: 'us-east', id: 'fz-bad-{{uniq}}', url: pick(g, ['mailto:ops@example.com', 'data:text/plain,hi', 'javascript:alert(1)', 'file:///etc/passwd', 'about:blank', 'ftp://example.com/x']) }),
  no('GET', '/admin/v1/fleet/replicas/fz-bad-{{uniq}}'),
];

export const invalidAdmin: fc.Arbitrary<Case> = fc.gen().map((g) => {
  if (chance(g, 0.05)) return { family: 'admin.invalid', note: 'a fleet replica with a URL that has no origin', steps: noOrigin(g) };
  const [note, make] = pick(g, BAD);
  return { family: 'admin.invalid', note, steps: [make(g)] };
});
