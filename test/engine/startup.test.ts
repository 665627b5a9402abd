import { describe, expect, it } from 'vitest';
import { STARTUP_KINDS, STARTUP_PROFILES, parseStartup, startupMs } from '../../src/engine/index.js';

describe('replica start-up profiles', () => {
  it('orders the measured tiers: a snapshot restore beats a tuned start, which beats a cold one', () => {
    const s = STARTUP_KINDS.map((k) => STARTUP_PROFILES[k].seconds);
    expect(STARTUP_KINDS).toEqual(['cold', 'tuned', 'snapshot']);
    expect(s[0]).toBeGreaterThan(s[1]);
    expect(s[1]).toBeGreaterThan(s[2]);
  });

  it('names the measurement behind every figure, and each profile carries its own kind', () => {
    for (const k of STARTUP_KINDS) {
      const p = STARTUP_PROFILES[k];
      expect(p.kind).toBe(k);
      expect(p.note).toMatch(/llm-d/);
      expect(p.note).toMatch(/H100/);
    }
    expect(STARTUP_PROFILES.snapshot.note).toMatch(/CRIU/);
    expect(STARTUP_PROFILES.snapshot.note).toMatch(/cuda-checkpoint/);
  });

  it('keeps the known parts within the whole and leaves the unreported ones null', () => {
    for (const k of STARTUP_KINDS) {
      const p = STARTUP_PROFILES[k];
      const known = Object.values(p.parts).filter((v): v is number => v !== null);
      expect(known.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(p.seconds);
      for (const v of Object.values(p.parts)) expect(v === null || v > 0).toBe(true);
    }
    expect(STARTUP_PROFILES.tuned.parts.cudaGraphCaptureS).not.toBeNull();
  });

  it('turns a profile name or seconds into milliseconds', () => {
    for (const k of STARTUP_KINDS) expect(startupMs(k)).toBe(Math.round(STARTUP_PROFILES[k].seconds * 1000));
    expect(startupMs(0)).toBe(0);
    expect(startupMs(1.25)).toBe(1250);
    expect(parseStartup('2')).toEqual({ ok: true, ms: 2000 });
    expect(parseStartup('snapshot')).toEqual({ ok: true, ms: startupMs('snapshot') });
  });

  it('refuses what is not a start-up with a message naming the choices', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 'warm' as never]) {
      expect(() => startupMs(bad)).toThrow(/cold, tuned, snapshot .*seconds ≥ 0/);
    }
    for (const bad of ['', 'fast', '-3', '1e999']) {
      const r = parseStartup(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toContain(`'${bad}'`);
    }
  });
});
