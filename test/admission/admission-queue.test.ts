import { describe, expect, it } from 'vitest';
import { admissionPolicy, AdmissionQueue, type AdmissionPolicyInput, type Entrant, type Priority } from '../../src/admission/index.js';

// A pool's admission as the gateway and the simulator drive it: the time and the random draw are
// handed in, so every case here is exact.

const at = (over: Partial<Entrant> = {}): Entrant => ({
  tenant: 'a', weight: 1, priority: 'standard', deadlineAtMs: 1e12, nowMs: 0, random: 0.999_999, ...over,
});

// no early shedding: the cases about order are not about shedding
const CALM: AdmissionPolicyInput = { classes: { standard: { shed: null }, batch: { shed: null } } };

function pool(slots: number, policy: AdmissionPolicyInput = CALM): AdmissionQueue<string> {
  const q = new AdmissionQueue<string>(admissionPolicy(policy));
  q.setCapacity(slots);
  return q;
}

function drain(q: AdmissionQueue<string>, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    q.finished();
    const x = q.pull();
    if (x !== null) out.push(x);
  }
  return out;
}

describe('a pool with free slots', () => {
  it('sends requests at once until its slots are taken, then holds them', () => {
    const q = pool(2);
    expect(q.offer('1', at()).kind).toBe('dispatch');
    expect(q.offer('2', at()).kind).toBe('dispatch');
    expect(q.offer('3', at()).kind).toBe('queued');
    expect(q.inflight).toBe(2);
    expect(q.queued).toBe(1);
    expect(q.pull()).toBeNull();
    q.finished();
    expect(q.pull()).toBe('3');
    expect(q.pull()).toBeNull();
  });

  it('lets more out when its capacity grows (a replica came back)', () => {
    const q = pool(1);
    q.offer('1', at());
    q.offer('2', at());
    q.offer('3', at());
    q.setCapacity(3);
    expect([q.pull(), q.pull(), q.pull()]).toEqual(['2', '3', null]);
  });
});

describe('priorities', () => {
  it('serves interactive before standard before batch, whatever the arrival order', () => {
    const q = pool(1);
    q.offer('run', at());
    const order: Array<[string, Priority]> = [['b1', 'batch'], ['s1', 'standard'], ['i1', 'interactive'], ['b2', 'batch'], ['i2', 'interactive']];
    for (const [id, priority] of order) q.offer(id, at({ priority }));
    expect(drain(q, 5)).toEqual(['i1', 'i2', 's1', 'b1', 'b2']);
  });

  it('does not let a newcomer jump a slot while its own class or a higher one is waiting', () => {
    const q = pool(1);
    q.offer('run', at());
    q.offer('i1', at({ priority: 'interactive' }));
    q.finished();
    // a slot is free, but an interactive request is waiting: a batch arrival must queue behind it
    expect(q.offer('b', at({ priority: 'batch' })).kind).toBe('queued');
    expect(q.pull()).toBe('i1');
  });
});

describe('fair sharing inside a class', () => {
  it('puts a light tenant\'s request ahead of a heavy tenant\'s backlog', () => {
    const q = pool(1);
    q.offer('run', at());
    for (let i = 0; i < 50; i++) q.offer(`abuser-${i}`, at({ tenant: 'abuser' }));
    q.offer('polite', at({ tenant: 'polite' }));
    const first = drain(q, 3);
    expect(first).toContain('polite');
  });

  it('shares in proportion to weight while both are backlogged', () => {
    const q = pool(1);
    q.offer('run', at());
    for (let i = 0; i < 60; i++) {
      q.offer(`heavy-${i}`, at({ tenant: 'heavy', weight: 2 }));
      q.offer(`light-${i}`, at({ tenant: 'light', weight: 1 }));
    }
    const first = drain(q, 30);
    expect(first.filter((x) => x.startsWith('heavy')).length).toBe(20);
    expect(first.filter((x) => x.startsWith('light')).length).toBe(10);
  });

  it('gives an idle tenant no credit for the time it was away', () => {
    const q = pool(1);
    q.offer('run', at());
    for (let i = 0; i < 20; i++) q.offer(`a-${i}`, at({ tenant: 'a' }));
    drain(q, 10);
    for (let i = 0; i < 10; i++) q.offer(`b-${i}`, at({ tenant: 'b' }));
    // b arrives late: it alternates with a from now on, it does not take ten in a row
    const next = drain(q, 6);
    expect(next.filter((x) => x.startsWith('b')).length).toBe(3);
  });

  it('predicts a longer wait for the tenant with the backlog than for the one without', () => {
    const q = pool(4);
    for (let i = 0; i < 4; i++) q.offer(`run-${i}`, at());
    for (let i = 0; i < 40; i++) q.offer(`h-${i}`, at({ tenant: 'heavy' }));
    const heavy = q.offer('h-next', at({ tenant: 'heavy' }));
    const light = q.offer('l', at({ tenant: 'light' }));
    expect(heavy.kind).toBe('queued');
    expect(light.kind).toBe('queued');
    if (heavy.kind !== 'queued' || light.kind !== 'queued') return;
    expect(heavy.predictedMs).toBeGreaterThan(5 * light.predictedMs);
  });
});

describe('deadlines and shedding', () => {
  // prior: 8 s a request, 500 ms to the first token; 4 slots → 2 s per request ahead
  const policy: AdmissionPolicyInput = { classes: { interactive: { deadlineMs: 10_000 }, standard: { deadlineMs: 30_000 }, batch: { deadlineMs: 120_000 } } };

  it('sheds a request whose predicted time to first token would break its deadline, and says when to come back', () => {
    const q = pool(4, policy);
    for (let i = 0; i < 4; i++) q.offer(`run-${i}`, at());
    for (let i = 0; i < 4; i++) expect(q.offer(`i-${i}`, at({ priority: 'interactive', tenant: `t${i}`, deadlineAtMs: 10_000 })).kind).toBe('queued');
    // five ahead (four queued + the slot): 10 s + 0.5 s > 10 s
    const o = q.offer('late', at({ priority: 'interactive', tenant: 'late', deadlineAtMs: 10_000 }));
    expect(o).toMatchObject({ kind: 'shed', reason: 'deadline' });
    if (o.kind === 'shed') {
      expect(o.predictedMs).toBeCloseTo(10_500, 0);
      expect(o.retryAfterMs).toBe(10_000);
    }
    // a shorter deadline asked by the request itself is honoured
    expect(q.offer('hurry', at({ priority: 'interactive', tenant: 'x', deadlineAtMs: 2_000 })).kind).toBe('shed');
  });

  it('sheds batch before standard and never interactive early, gradually as the queue grows', () => {
    // 16 slots: 0.5 s of wait per request ahead. A standard newcomer waits behind the standard
    // backlog, a batch one behind both, an interactive one behind neither.
    const shedShare = (priority: Priority, backlog: number): number => {
      let shed = 0;
      for (let k = 0; k < 100; k++) {
        const q = pool(16, policy);
        for (let i = 0; i < 16; i++) q.offer(`run-${i}`, at());
        for (let i = 0; i < backlog; i++) {
          q.offer(`s-${i}`, at({ priority: 'standard', tenant: `s${i}`, random: 1 }));
          q.offer(`b-${i}`, at({ priority: 'batch', tenant: `b${i}`, random: 1 }));
        }
        const deadline = policy.classes![priority]!.deadlineMs!;
        if (q.offer('x', at({ priority, tenant: 'new', deadlineAtMs: deadline, random: (k + 0.5) / 100 })).kind === 'shed') shed++;
      }
      return shed / 100;
    };
    const backlogs = Array.from({ length: 41 }, (_, i) => i);
    const batch = backlogs.map((n) => shedShare('batch', n));
    const standard = backlogs.map((n) => shedShare('standard', n));
    const interactive = backlogs.map((n) => shedShare('interactive', n));
    // gradual: rising step by step, with several levels strictly between none and all
    for (const s of [batch, standard]) {
      for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThanOrEqual(s[i - 1]);
      expect(s.filter((x) => x > 0 && x < 1).length).toBeGreaterThanOrEqual(4);
    }
    // lower first: at every level batch sheds at least as much as standard
    for (let i = 0; i < backlogs.length; i++) expect(batch[i]).toBeGreaterThanOrEqual(standard[i]);
    expect(batch.at(-1)).toBe(1);
    expect(standard[0]).toBe(0);
    // interactive waits behind no one here: never shed
    expect(interactive.every((x) => x === 0)).toBe(true);
  });

  it('refuses shedding ramps that would shed a higher class before a lower one', () => {
    expect(() => admissionPolicy({ classes: { standard: { shed: { fromMs: 500, toMs: 900 } } } })).toThrow(/ordered/);
  });

  it('learns the pool\'s pace from what finishes', () => {
    const q = pool(1, { ...CALM, learningRate: 0.5 });
    q.offer('run', at());
    q.finished(2_000);
    expect(q.estimates.serviceMs).toBe(5_000);
    q.firstToken(100);
    expect(q.estimates.firstTokenMs).toBe(300);
  });

  it('forgets a request that left the queue (deadline passed, client gone)', () => {
    const q = pool(1);
    q.offer('run', at());
    const a = q.offer('a', at({ tenant: 'a' }));
    q.offer('b', at({ tenant: 'b' }));
    expect(a.kind).toBe('queued');
    if (a.kind === 'queued') {
      expect(q.remove(a.handle)).toBe(true);
      expect(q.remove(a.handle)).toBe(false);
    }
    expect(q.queued).toBe(1);
    expect(drain(q, 2)).toEqual(['b']);
  });
});

describe('the baselines', () => {
  it('fcfs: one queue in arrival order, priorities ignored, nobody shed', () => {
    const q = pool(1, { ...CALM, discipline: 'fcfs' });
    q.offer('run', at());
    q.offer('b', at({ priority: 'batch', tenant: 'x' }));
    q.offer('i', at({ priority: 'interactive', tenant: 'y' }));
    for (let i = 0; i < 200; i++) expect(q.offer(`s${i}`, at({ deadlineAtMs: 1 })).kind).toBe('queued');
    expect(drain(q, 2)).toEqual(['b', 'i']);
  });

  it('cliff: one queue that sheds everyone, interactive too, once it is maxQueue long', () => {
    const q = pool(1, { discipline: 'cliff', maxQueue: 3 });
    q.offer('run', at());
    for (let i = 0; i < 3; i++) expect(q.offer(`b${i}`, at({ priority: 'batch' })).kind).toBe('queued');
    expect(q.offer('i', at({ priority: 'interactive' }))).toMatchObject({ kind: 'shed', reason: 'queue-full' });
  });
});
