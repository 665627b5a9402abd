import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { rolloutCommand, rolloutStart, rolloutStatus, type Io } from '../../src/cli/rollout.js';
import { createLogger } from '../../src/observe/index.js';
import { wall } from '../../src/time/index.js';
import { eventually, MODEL, sqliteStore, startEngines, stopAll, TIMES, type Engine } from '../gateway/rollouts-rig.js';

// `switchyard rollout …` through a real gateway (SQLite store, simulated replicas of v1 and v2):
// start → status → pause → resume → abort, each one in the audit trail with who, why, before and after.

const TOKEN = 'platform-admin-token-for-rollout-cli';
let p: Platform;
let engines: Engine[];
let out = '';
let err = '';
const io = (): Io => ({ out: (s) => void (out += s), err: (s) => void (err += s), env: { SWITCHYARD_URL: p.url, SWITCHYARD_ADMIN_TOKEN: TOKEN } });
const as = { actor: 'alice' };

beforeAll(async () => {
  engines = await startEngines([{ id: 's1', version: 'v1' }, { id: 'c1', version: 'v2' }]);
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  config.fleet.healthIntervalMs = 100;
  config.rollouts = { ...TIMES, gatewayId: 'gw-cli' };
  const m = config.models.find((x) => x.id === MODEL)!;
  m.versions = [{ id: 'v1' }, { id: 'v2' }];
  m.stable = 'v1';
  p = await startPlatform({
    config, storeUrl: await sqliteStore(), adminToken: TOKEN, log: createLogger('silent'), time: wall,
    replicas: engines.map((e) => ({ id: e.id, model: MODEL, servedModel: 'm', region: e.region, url: e.server.url, version: e.version })),
  });
}, 30_000);
afterAll(async () => {
  await stopAll([p], engines ?? []);
});

async function audit(target: string): Promise<any[]> {
  const r = await fetch(`${p.url}/admin/v1/audit?target=${encodeURIComponent(target)}`, { headers: { 'x-admin-token': TOKEN } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { data: any[] }).data;
}

describe('the rollout commands on a running gateway', () => {
  it('start → status → pause → resume → abort, each audited with who, why, before and after', async () => {
    expect(await rolloutStart({ model: MODEL, candidate: 'v2', reason: 'new checkpoint', json: true, ...as }, io())).toBe(0);
    const started = JSON.parse(out);
    const id: string = started.id;
    expect(started).toMatchObject({ model: MODEL, stable: 'v1', candidate: 'v2', created_by: 'admin:alice', leader: { holder: 'gw-cli' } });

    // the default steps: 5 %, then an analysis of at least a minute, so it holds there, progressing
    await eventually(async () => (await p.rollouts.get(id))?.state.phase === 'progressing', 10_000, 'progressing');
    out = '';
    expect(await rolloutStatus({ id }, io())).toBe(0);
    expect(out).toMatch(/^phase +progressing$/m);
    out = '';
    expect(await rolloutStatus({}, io())).toBe(0);
    expect(out).toContain(id);

    out = '';
    expect(await rolloutCommand('pause', { id, reason: 'latency looks odd', ...as }, io())).toBe(0);
    // the reason is the pause's message, not only the audit trail's
    expect(out).toMatch(new RegExp(`^rollout ${id}: paused \\(manual: latency looks odd\\); weights `));
    expect((await p.rollouts.get(id))?.state.pause).toEqual({ kind: 'manual', message: 'latency looks odd' });
    expect(await rolloutCommand('pause', { id, ...as }, io())).toBe(1);
    expect(err).toBe(`switchyard: rollout ${id} is already paused (latency looks odd) (request ${err.match(/req_\w+/)![0]})\n`);
    expect(await rolloutCommand('resume', { id, ...as }, io())).toBe(0);
    expect(await rolloutCommand('abort', { id, reason: 'not today', ...as }, io())).toBe(0);
    await eventually(async () => (await p.rollouts.get(id))?.state.phase === 'aborted', 10_000, 'aborted');
    expect(p.fleet.byId('c1')!.versionWeight).toBe(0);

    const records = (await audit(id)).reverse();
    const byHand = records.filter((r) => r.actor === 'admin:alice');
    expect(byHand.map((r) => [r.action, r.reason, r.before?.phase ?? null, r.after.phase])).toEqual([
      ['rollout.start', 'new checkpoint', null, 'pending'],
      ['rollout.pause', 'latency looks odd', 'progressing', 'paused'],
      ['rollout.resume', 'by hand', 'paused', 'progressing'],
      ['rollout.abort', 'not today', 'progressing', 'rolling_back'],
    ]);
    for (const r of byHand) expect(r).toMatchObject({ target: id, request_id: expect.stringMatching(/^req_/) });
    // the leader's own moves are there too, under its name
    expect(records.filter((r) => r.actor !== 'admin:alice').map((r) => r.action)).toContain('rollout.aborted');
  }, 40_000);
});
