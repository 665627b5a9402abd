import { describe, expect, it } from 'vitest';
import { shutDown } from '../../src/cli/up.js';

// `switchyard up`'s Ctrl-C: the gateway closes first, then every engine process stops — the
// autoscaler's included — whatever the close did. (No processes here: the order and the outcome.)

function rig(close: () => Promise<{ cut: number }>) {
  const steps: string[] = [];
  const logs: string[] = [];
  const platform = {
    close: async () => {
      steps.push('close');
      return close();
    },
    ledger: { stats: () => ({ written: 3 }) } as never,
  };
  const supervisor = { stop: async () => void steps.push('stop replicas') };
  const log = { info: (_o: object, m: string) => void logs.push(`info ${m}`), error: (_o: object, m: string) => void logs.push(`error ${m}`) };
  return { steps, logs, run: () => shutDown(platform, supervisor, log as never) };
}

describe('shutDown', () => {
  it('closes the gateway, then stops every replica, and exits 0', async () => {
    const r = rig(async () => ({ cut: 0 }));
    expect(await r.run()).toBe(0);
    expect(r.steps).toEqual(['close', 'stop replicas']);
  });

  it('still stops every replica when the gateway fails to close, and exits 1 saying why', async () => {
    const r = rig(async () => {
      throw new Error('the store would not close');
    });
    expect(await r.run()).toBe(1);
    expect(r.steps).toEqual(['close', 'stop replicas']);
    expect(r.logs).toEqual([expect.stringMatching(/^error closing the gateway failed; stopping the replicas anyway/)]);
  });
});
