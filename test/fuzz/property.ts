import fc from 'fast-check';
import type { Case } from './cases.js';
import type { Rig } from './rig.js';

// One seeded property per family: every case gets the answer it must. The seed is fixed so
// `npm test` is repeatable; FUZZ_SEED=<n> explores another part of the space, and a failure
// prints the seed and path that reproduce it (pass both to fc.assert to replay).

export const SEED = Number(process.env.FUZZ_SEED ?? 20261101);

/** A case as fast-check prints it: what it is, and its first step, cut short (bodies can be 400 KB). */
export function summary(c: Case): string {
  const s = c.steps[0];
  const body = typeof s.body === 'string' ? s.body : s.body ? `<${s.body.length} bytes>` : '';
  return `[${c.family}] ${c.note}: ${s.method} ${s.path} ${JSON.stringify(s.headers)} ${body.length > 600 ? body.slice(0, 600) + `… (${body.length} chars)` : body}`;
}

export function printable(arb: fc.Arbitrary<Case>): fc.Arbitrary<Case> {
  return arb.map((c) => Object.assign(c, { [fc.toStringMethod]: () => summary(c) }));
}

export function caseProperty(rig: Rig, arb: fc.Arbitrary<Case>): fc.IAsyncPropertyWithHooks<[Case]> {
  return fc.asyncProperty(printable(arb), async (c) => {
    const problem = await rig.run(c);
    if (problem !== null) throw new Error(problem);
  });
}

export async function holds(rig: Rig, arb: fc.Arbitrary<Case>, numRuns: number): Promise<void> {
  await fc.assert(caseProperty(rig, arb), { seed: SEED, numRuns, endOnFailure: true });
}
