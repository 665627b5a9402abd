import type { RolloutControl, Who } from '../../../src/api/index.js';
import {
  rolloutSpecSchema, TERMINAL_PHASES, type RolloutCommand, type RolloutState, type RolloutStoreResult, type StoredRollout,
} from '../../../src/control/rollouts/index.js';

// A RolloutControl that keeps rollouts in a map and records every call, for the admin API's and the
// CLI's specs. It answers as the gateway's service does: not_found for an unknown model or id,
// conflict for a second active rollout of a model or a command that does not apply now.

export const T0 = Date.parse('2026-03-01T12:00:00Z');

export function rolloutState(o: Partial<Omit<RolloutState, 'spec'>> & { spec?: unknown } = {}): RolloutState {
  const spec = rolloutSpecSchema.parse(o.spec ?? { model: o.model ?? 'llama', candidate: o.candidate ?? 'v2' });
  const { spec: _, ...rest } = o;
  return {
    id: 'rol_1', spec, model: spec.model, stable: 'v1', candidate: spec.candidate, waves: [['eu'], ['us']],
    phase: 'progressing', pause: null, wave: 0, step: 1, stepStartedAtMs: T0 + 60_000, weights: { eu: 5 },
    failure: null, evidence: null, createdBy: 'admin', createdAtMs: T0, updatedAtMs: T0 + 60_000,
    ...rest,
  };
}

export interface Recorded { method: 'start' | 'command' | 'get' | 'list'; args: unknown[] }

export interface FakeRollouts extends RolloutControl {
  readonly calls: Recorded[];
  readonly rows: Map<string, StoredRollout>;
  /** models the fake serves; another model is not_found */
  readonly models: Set<string>;
  /** the next call throws this (a store that went away) */
  failNext: Error | null;
  put(s: RolloutState, revision?: number): void;
}

export function fakeRollouts(): FakeRollouts {
  const rows = new Map<string, StoredRollout>();
  const calls: Recorded[] = [];
  let n = 0;
  const fake: FakeRollouts = {
    calls, rows, models: new Set(['llama', 'qwen']), failNext: null,
    put(s, revision = 1) { rows.set(s.id, { revision, state: s }); },
    async start(spec: unknown, who: Who): Promise<RolloutStoreResult<StoredRollout>> {
      calls.push({ method: 'start', args: [spec, who] });
      trip();
      const p = rolloutSpecSchema.safeParse(spec);
      if (!p.success) return { ok: false, error: { kind: 'invalid', message: 'spec: ' + p.error.issues[0].message } };
      if (!fake.models.has(p.data.model)) return { ok: false, error: { kind: 'not_found', message: `model ${p.data.model} is not served by this gateway` } };
      if (p.data.candidate === 'ghost') return { ok: false, error: { kind: 'not_found', message: `model ${p.data.model} has no version ghost` } };
      if (p.data.candidate === 'nowhere') return { ok: false, error: { kind: 'invalid', message: 'candidate: version nowhere has no replicas' } };
      const active = [...rows.values()].find((r) => r.state.model === p.data.model && !TERMINAL_PHASES.has(r.state.phase));
      if (active) return { ok: false, error: { kind: 'conflict', message: `model ${p.data.model} already has an active rollout, ${active.state.id}` } };
      const s = rolloutState({ id: `rol_new${++n}`, spec: p.data, phase: 'pending', step: 0, weights: {}, createdBy: who.actor });
      fake.put(s);
      return { ok: true, value: rows.get(s.id)! };
    },
    async command(id: string, c: RolloutCommand, who: Who): Promise<RolloutStoreResult<StoredRollout>> {
      calls.push({ method: 'command', args: [id, c, who] });
      trip();
      const r = rows.get(id);
      if (!r) return { ok: false, error: { kind: 'not_found', message: `rollout ${id} not found` } };
      const s = r.state;
      if (TERMINAL_PHASES.has(s.phase)) return { ok: false, error: { kind: 'conflict', message: `rollout ${id} has already ${s.phase === 'succeeded' ? 'succeeded' : 'ended'}` } };
      let next: RolloutState;
      if (c.kind === 'pause') next = { ...s, phase: 'paused', pause: { kind: 'manual', message: who.reason ?? '' } };
      else if (c.kind === 'resume') {
        if (s.phase !== 'paused') return { ok: false, error: { kind: 'conflict', message: `rollout ${id} is not paused` } };
        next = { ...s, phase: 'progressing', pause: null };
      } else if (c.kind === 'abort') next = { ...s, phase: 'aborted', pause: null, weights: { eu: 0 } };
      else if (c.full) next = { ...s, phase: 'succeeded', pause: null, weights: { eu: 100, us: 100 } };
      else next = { ...s, step: s.step + 1, phase: 'progressing', pause: null };
      fake.put({ ...next, updatedAtMs: s.updatedAtMs + 1000 }, r.revision + 1);
      return { ok: true, value: rows.get(id)! };
    },
    async get(id: string) {
      calls.push({ method: 'get', args: [id] });
      trip();
      return rows.get(id) ?? null;
    },
    async list(q: { model?: string; active?: boolean; limit?: number }) {
      calls.push({ method: 'list', args: [q] });
      trip();
      const all = [...rows.values()]
        .filter((r) => (q.model === undefined || r.state.model === q.model) && (q.active === undefined || q.active !== TERMINAL_PHASES.has(r.state.phase)))
        .sort((a, b) => b.state.createdAtMs - a.state.createdAtMs || (a.state.id < b.state.id ? 1 : -1));
      return all.slice(0, q.limit ?? 100);
    },
    leadership: () => ({ leader: true, holder: 'gw-test-1', sinceMs: T0 - 5_000 }),
  };
  function trip(): void {
    const e = fake.failNext;
    fake.failNext = null;
    if (e) throw e;
  }
  return fake;
}
