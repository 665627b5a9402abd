import type { AdmissionPolicy } from '../admission/index.js';
import type { RunAdmission, TenantClass } from './report/index.js';

// What the simulator adds to the shared admission driver (admission/driver.ts, which it runs on
// its agenda's clock, as the gateway runs it on the wall's): each tenant's class as a live key's
// tier would carry it, and the report's account of who was which.

export interface SimAdmissionInput {
  /** names the run in the report */
  readonly label: string;
  readonly policy: AdmissionPolicy;
  /** each tenant's class, weight and deadline (the tier a live key would carry) */
  readonly tenant: (tenant: string) => TenantAdmission;
  /** the early-shedding draws: a stream of their own, so routing's draws stay where they were */
  readonly random: () => number;
}

export interface TenantAdmission extends TenantClass {
  /** ms from arrival to the first token when sooner than its class's deadline; null = the class's */
  readonly deadlineMs: number | null;
}

/** The tenants' classes as the run meets them. */
export class TenantClasses {
  readonly #in: SimAdmissionInput;
  readonly #seen = new Map<string, TenantAdmission>();

  constructor(input: SimAdmissionInput) {
    this.#in = input;
  }

  of(tenant: string): TenantAdmission {
    let c = this.#seen.get(tenant);
    if (c === undefined) this.#seen.set(tenant, (c = this.#in.tenant(tenant)));
    return c;
  }

  /** What the report needs to know: the discipline, and every tenant seen with its class, by name. */
  summary(): RunAdmission {
    const names = [...this.#seen.keys()].sort();
    const tenants = Object.fromEntries(names.map((t) => {
      const c = this.#seen.get(t)!;
      return [t, { priority: c.priority, weight: c.weight }];
    }));
    return { label: this.#in.label, discipline: this.#in.policy.discipline, tenants };
  }
}
