import type { ModelConfig, VersionConfig } from '../config/index.js';

// The catalogue of each model's versions: those the config describes, plus those registered at run
// time (the admin API), and which one is stable. It says what a version is; which replicas serve
// it is the registry's, and how much traffic each gets is a rollout's.

export type VersionsError =
  | { readonly kind: 'unknown_model'; readonly message: string }
  | { readonly kind: 'unknown_version'; readonly message: string }
  | { readonly kind: 'exists'; readonly message: string };

export type VersionsResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: VersionsError };

interface Entry {
  readonly versions: VersionConfig[];
  stable: string;
}

export class ModelVersions {
  readonly #models = new Map<string, Entry>();

  /** From the models' config (each has at least one version and a stable one: config/ sees to it). */
  constructor(models: readonly Pick<ModelConfig, 'id' | 'versions' | 'stable'>[] = []) {
    for (const m of models) this.addModel(m);
  }

  /** A model joins the catalogue (one served by a replica the config did not describe); a known one is left as it is. */
  addModel(m: Pick<ModelConfig, 'id' | 'versions' | 'stable'>): void {
    if (this.#models.has(m.id)) return;
    const versions = m.versions.map((v) => ({ ...v }));
    this.#models.set(m.id, { versions, stable: m.stable });
  }

  /** Whether the model is in the catalogue. */
  has(model: string): boolean {
    return this.#models.has(model);
  }

  /** The model's versions in the order they were described and registered; empty for an unknown model. */
  list(model: string): readonly VersionConfig[] {
    return this.#models.get(model)?.versions ?? NONE;
  }

  get(model: string, id: string): VersionConfig | undefined {
    return this.#models.get(model)?.versions.find((v) => v.id === id);
  }

  /** A new version of a known model (the admin API registers one before a rollout starts it). */
  register(model: string, v: VersionConfig): VersionsResult<VersionConfig> {
    const e = this.#models.get(model);
    if (e === undefined) return unknownModel(model, this);
    if (e.versions.some((x) => x.id === v.id)) {
      return { ok: false, error: { kind: 'exists', message: `model ${model} already has a version ${v.id}; choose another id` } };
    }
    const copy = { ...v };
    e.versions.push(copy);
    return { ok: true, value: copy };
  }

  /** The version serving when no rollout is under way; undefined for an unknown model. */
  stableOf(model: string): string | undefined {
    return this.#models.get(model)?.stable;
  }

  /** A promoted version becomes stable (or the store says another one is, after a restart). */
  setStable(model: string, id: string): VersionsResult<string> {
    const e = this.#models.get(model);
    if (e === undefined) return unknownModel(model, this);
    if (!e.versions.some((x) => x.id === id)) {
      return { ok: false, error: { kind: 'unknown_version', message: `model ${model} has no version ${id}; its versions are ${e.versions.map((x) => x.id).join(', ')}` } };
    }
    e.stable = id;
    return { ok: true, value: id };
  }

  /** The models in the catalogue. */
  models(): string[] {
    return [...this.#models.keys()];
  }
}

const NONE: readonly VersionConfig[] = [];

function unknownModel<T>(model: string, v: ModelVersions): VersionsResult<T> {
  return { ok: false, error: { kind: 'unknown_model', message: `no model ${model}; the models are ${v.models().join(', ') || '(none)'}` } };
}
