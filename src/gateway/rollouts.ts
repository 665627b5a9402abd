import type { z } from 'zod';
import type { RolloutControl, Who } from '../api/index.js';
import {
  applyCommand, initialState, rolloutSpecSchema, type RolloutCommand, type RolloutStoreResult, type RolloutTransition, type StoredRollout,
} from '../control/rollouts/index.js';
import { newRolloutId } from '../ledger/index.js';
import type { CallReport, CallReportSink } from '../upstream/index.js';
import type { Backend } from './backends.js';
import { RolloutLead, type RolloutLeadOptions } from './rollouts/lead.js';

// The gateway's part in rollouts. Any gateway takes a person's hand on one (start, pause, resume,
// promote, abort): a write checked by revision only, audited with who and why. The lead
// (rollouts/lead.ts) decides them: one gateway at a time, under a lease in the store; the others
// follow the weights it writes.
//
// Only the leader's driver holds rollouts, so only the leader samples its calls: the analysis sees
// the leader's share of the traffic (every gateway routes by the same weights, so it is a fair one).

// the surface the admin API drives; declared there (api/ does not import gateway/)
export type { RolloutControl, Who };

export type RolloutServiceOptions = RolloutLeadOptions;

const BY_HAND = 'by hand';
/** how fast the reported/estimated prompt ratio follows: about the last 20 calls */
const RATIO_GAIN = 0.05;

export class RolloutService implements RolloutControl, CallReportSink<Backend> {
  readonly #o: RolloutServiceOptions;
  readonly #lead: RolloutLead;
  /** per model: its prices, and the ratio of the tokens its replicas report to the gateway's prompt estimate (0: none seen yet) */
  readonly #models: Map<string, { readonly input: number; readonly output: number; ratio: number }>;

  constructor(o: RolloutServiceOptions) {
    this.#o = o;
    this.#lead = new RolloutLead(o);
    this.#models = new Map(o.config.models.map((m) => [m.id, { input: m.pricing.input, output: m.pricing.output, ratio: 0 }]));
  }

  /** this gateway's name as lease holder */
  get holder(): string {
    return this.#lead.holder;
  }

  /** Gives each model's stable version all its traffic, then leads or follows, every poll. */
  run(): Promise<void> {
    return this.#lead.run();
  }

  /** Stops deciding and following; a leader lets its lease go, so another may lead at once. */
  close(): Promise<void> {
    return this.#lead.close();
  }

  /** One round of the lead at once (specs; the loop polls on its own). */
  poll(): Promise<void> {
    return this.#lead.poll();
  }

  // ── samples (the call report's sink) ───────────────────────────────────────

  watching(model: string): boolean {
    return this.#lead.watching(model);
  }

  call(target: Backend, r: CallReport): void {
    const rep = target.replica;
    const m = this.#models.get(rep.model);
    if (m === undefined) return;
    let prompt = r.promptTokens;
    if (prompt !== null && r.promptEstimate > 0) {
      const seen = prompt / r.promptEstimate;
      m.ratio = m.ratio === 0 ? seen : m.ratio + RATIO_GAIN * (seen - m.ratio);
    }
    // a failed call reports no usage: it is sized as the replica would have counted it, so that it
    // is matched with calls of its size (the estimate scaled by what the model's replicas report)
    prompt ??= Math.round(r.promptEstimate * (m.ratio || 1));
    const costUsd = (prompt * m.input + r.outputTokens * m.output) / 1e6;
    this.#lead.observe(rep.model, rep.version, {
      atMs: r.atMs, sentAtMs: r.sentAtMs, region: rep.region, stream: r.stream, failed: r.failed, ttftMs: r.ttftMs, itlMs: r.itlMs,
      promptTokens: prompt, cachedTokens: r.cachedTokens, outputTokens: r.outputTokens, truncated: r.truncated, costUsd,
    });
  }

  // ── a person's hands ───────────────────────────────────────────────────────

  async start(spec: unknown, who: Who): Promise<RolloutStoreResult<StoredRollout>> {
    const { fleet, versions, store, time } = this.#o;
    const parsed = rolloutSpecSchema.safeParse(spec);
    if (!parsed.success) return invalid(describeIssues(parsed.error));
    const s = parsed.data;
    if (!versions.has(s.model) || fleet.replicasOf(s.model).length === 0) {
      return refused('not_found', `model ${s.model} is not served here; the models are ${versions.models().join(', ') || '(none)'}`);
    }
    const known = versions.list(s.model).map((v) => v.id).join(', ');
    if (versions.get(s.model, s.candidate) === undefined) {
      return refused('not_found', `model ${s.model} has no version ${s.candidate} (its versions: ${known}); register it first (POST /admin/v1/models/${s.model}/versions)`);
    }
    const stable = s.stable ?? versions.stableOf(s.model)!;
    if (versions.get(s.model, stable) === undefined) return refused('not_found', `model ${s.model} has no version ${stable} (its versions: ${known})`);
    if (stable === s.candidate) return invalid(`candidate: ${s.candidate} is already the stable version of ${s.model}; name another version`);
    if (!fleet.replicasOf(s.model).some((r) => r.version === s.candidate)) {
      return invalid(`candidate: version ${s.candidate} of ${s.model} has no replicas; add some (POST /admin/v1/fleet/replicas with "version": "${s.candidate}") first`);
    }
    const nowMs = time.clock.nowMs();
    const reason = who.reason ?? BY_HAND;
    const init = initialState(s, { id: newRolloutId(nowMs), nowMs, actor: who.actor, reason, stable, regions: this.#lead.regions(s.model, stable, s.candidate) });
    if (!init.ok) return init;
    const t: RolloutTransition = { actor: who.actor, action: 'rollout.start', reason, ...requestIdOf(who), before: null, after: init.value, audited: true };
    const r = await store.createRollout(init.value, t);
    if (!r.ok) return r;
    this.#lead.logTransition(t);
    this.#lead.landed(r.value);
    return r;
  }

  async command(id: string, c: RolloutCommand, who: Who): Promise<RolloutStoreResult<StoredRollout>> {
    const { store, time } = this.#o;
    // checked by revision only (no lease: a person may act on any gateway); a race is read again once
    for (let attempt = 0; ; attempt++) {
      const row = await store.getRollout(id);
      if (row === null) return refused('not_found', `rollout ${id} not found`);
      const s = row.state;
      const step = applyCommand(s, c, time.clock.nowMs(), this.#lead.regions(s.model, s.stable, s.candidate));
      if (!step.ok) return step;
      const changes = step.value.transitions;
      const t: RolloutTransition = {
        actor: who.actor, action: changes[0]?.action ?? `rollout.${c.kind}`,
        reason: who.reason ?? (changes.map((x) => x.reason).filter((x) => x !== '').join('; ') || BY_HAND),
        ...requestIdOf(who), before: s, after: step.value.state, audited: true,
      };
      const r = await store.updateRollout(id, row.revision, t);
      if (r.ok) {
        this.#lead.logTransition(t);
        this.#lead.landed(r.value);
        return r;
      }
      if (r.error.kind !== 'conflict' || attempt > 0) return r;
    }
  }

  get(id: string): Promise<StoredRollout | null> {
    return this.#o.store.getRollout(id);
  }

  list(q: { model?: string; active?: boolean; limit?: number }): Promise<StoredRollout[]> {
    return this.#o.store.listRollouts(q);
  }

  leadership(): { leader: boolean; holder: string; sinceMs: number | null } {
    return { leader: this.#lead.leading, holder: this.#lead.holder, sinceMs: this.#lead.sinceMs };
  }

}

function refused(kind: 'not_found' | 'conflict' | 'invalid', message: string): RolloutStoreResult<StoredRollout> {
  return { ok: false, error: { kind, message } };
}

function invalid(message: string): RolloutStoreResult<StoredRollout> {
  return refused('invalid', message);
}

function requestIdOf(who: Who): { requestId?: string } {
  return who.requestId === undefined ? {} : { requestId: who.requestId };
}

/** Each problem with the spec, prefixed by the field's path (`steps.1.setWeight: …`). */
function describeIssues(e: z.ZodError): string {
  return e.issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}
