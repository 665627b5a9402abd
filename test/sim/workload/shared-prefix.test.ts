import { describe, expect, it } from 'vitest';
import { blockHashes, sharedPrefix, type Arrival, type SharedPrefixOptions } from '../../../src/sim/workload/index.js';
import { drain, gaps } from './helpers.js';

const chat: SharedPrefixOptions = {
  ratePerS: 2, durationS: 600, seed: 9,
  systemPrompts: 10, systemPromptLen: { kind: 'uniform', min: 500, max: 3000 }, zipf: 1.1,
  sessions: { turns: { kind: 'uniform', min: 1, max: 6 }, thinkTimeS: { kind: 'lognormal', p50: 20, p90: 60 } },
  userLen: { kind: 'lognormal', p50: 80, p90: 400 }, output: { kind: 'lognormal', p50: 200, p90: 600 },
};

function bySession(as: readonly Arrival[]): Map<number, Arrival[]> {
  const m = new Map<number, Arrival[]>();
  for (const a of as) {
    const list = m.get(a.session!) ?? [];
    list.push(a);
    m.set(a.session!, list);
  }
  return m;
}

describe('shared-prefix sessions', () => {
  const as = drain(sharedPrefix(chat));

  it('is deterministic for a seed and emits arrivals in time order, numbered 0, 1, 2…', () => {
    expect(drain(sharedPrefix(chat))).toEqual(as);
    expect(drain(sharedPrefix({ ...chat, seed: 10 }))).not.toEqual(as);
    expect(as.every((a, i) => a.id === i)).toBe(true);
    expect(gaps(as).every((g) => g >= 0)).toBe(true);
    expect(as.at(-1)!.atS).toBeLessThanOrEqual(600);
  });

  it('makes each later turn its earlier turn + that turn\'s answer + a new user message', () => {
    let multi = 0;
    const wrong: number[] = [];
    for (const turns of bySession(as).values()) {
      for (let k = 1; k < turns.length; k++) {
        const prev = turns[k - 1];
        const cur = turns[k];
        multi++;
        const ok = cur.segments.length === prev.segments.length + 2
          && prev.segments.every((s, i) => s.key === cur.segments[i].key && s.length === cur.segments[i].length)
          && cur.segments[prev.segments.length].key === prev.outputKey
          && cur.segments[prev.segments.length].length === prev.outputLen
          && cur.promptLen === prev.promptLen + prev.outputLen + cur.segments.at(-1)!.length
          // open loop: the next turn comes a think time after the previous arrival
          && cur.atS > prev.atS
          && cur.tenant === prev.tenant;
        if (!ok) wrong.push(cur.id);
      }
    }
    expect(wrong).toEqual([]);
    expect(multi).toBeGreaterThan(500);
  });

  it('lets turn 2 hit every full block of turn 1\'s prompt and answer', () => {
    const session = [...bySession(as).values()].find((t) => t.length >= 2)!;
    const [t1, t2] = session;
    const cached = blockHashes(t1.segments, t1.outputKey, t1.outputLen, 16);
    const next = blockHashes(t2.segments, null, 0, 16);
    expect(cached.length).toBe(Math.floor((t1.promptLen + t1.outputLen) / 16));
    expect(Array.from(next.subarray(0, cached.length))).toEqual(Array.from(cached));
  });

  it('shares the system prompt\'s blocks between sessions on the same prompt, and only those', () => {
    const firsts = [...bySession(as).values()].map((t) => t[0]);
    const a = firsts[0];
    const b = firsts.find((x) => x !== a && x.segments[0].key === a.segments[0].key)!;
    const c = firsts.find((x) => x.segments[0].key !== a.segments[0].key)!;
    const ha = blockHashes(a.segments, null, 0, 16);
    const hb = blockHashes(b.segments, null, 0, 16);
    const sys = Math.floor(a.segments[0].length / 16);
    expect(Array.from(hb.subarray(0, sys))).toEqual(Array.from(ha.subarray(0, sys)));
    expect(hb[sys]).not.toBe(ha[sys]);
    expect(blockHashes(c.segments, null, 0, 16)[0]).not.toBe(ha[0]);
  });

  it('picks system prompts by Zipf popularity (uniform without zipf)', () => {
    const share = (xs: Arrival[], key: number) => xs.filter((a) => a.segments[0].key === key).length / xs.length;
    const long = { ...chat, durationS: 5000, sessions: undefined };
    const z = drain(sharedPrefix(long));
    // Zipf 1.1 over 10: the top prompt's weight is 1 / H(10, 1.1) ≈ 0.36, the 10th ≈ 0.029
    const h = Array.from({ length: 10 }, (_, i) => (i + 1) ** -1.1).reduce((s, x) => s + x);
    expect(share(z, 0)).toBeCloseTo(1 / h, 1.5);
    expect(share(z, 9)).toBeCloseTo(10 ** -1.1 / h, 1.5);
    const u = drain(sharedPrefix({ ...long, zipf: undefined }));
    expect(share(u, 0)).toBeCloseTo(0.1, 1.5);
  });

  it('starts sessions at ratePerS', () => {
    const one = drain(sharedPrefix({ ...chat, durationS: 5000, sessions: undefined }));
    expect(one.length / 5000 / 2).toBeCloseTo(1, 1.3);
    expect(new Set(one.map((a) => a.session)).size).toBe(one.length);
  });

  it('spaces turns by the assumed answer time when asked', () => {
    const fixed = { ...chat, sessions: { turns: 2, thinkTimeS: 5, assumedTpotS: 0.01 }, output: 300 };
    for (const [t1, t2] of bySession(drain(sharedPrefix(fixed))).values()) {
      if (t2 !== undefined) expect(t2.atS - t1.atS).toBeCloseTo(5 + 300 * 0.01, 9);
    }
  });

  it('ends a session before a follow-up\'s prompt would pass maxPromptLen', () => {
    const capped = drain(sharedPrefix({ ...chat, maxPromptLen: 4000 }));
    const followUps = capped.filter((a) => a.segments.length > 2);
    expect(followUps.length).toBeGreaterThan(100);
    expect(Math.max(...followUps.map((a) => a.promptLen))).toBeLessThanOrEqual(4000);
    expect(Math.max(...as.map((a) => a.promptLen))).toBeGreaterThan(4000);
  });

  it('with no system prompts starts each session at the user message', () => {
    const [a] = drain(sharedPrefix({ ...chat, systemPrompts: 0 }), 1);
    expect(a.segments).toHaveLength(1);
    expect(a.promptLen).toBe(a.segments[0].length);
  });
});
