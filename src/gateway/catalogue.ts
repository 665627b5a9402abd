import type { ModelInfo } from '../api/index.js';
import type { Config, ModelConfig } from '../config/index.js';
import type { FleetRegistry } from '../fleet/index.js';
import type { ModelEntry } from './context.js';

/** The models the gateway serves: every configured model with at least one replica in the fleet. */
export class ModelCatalogue {
  readonly #models = new Map<string, ModelEntry>();
  readonly #infos: ModelInfo[] = [];
  readonly #config: readonly ModelConfig[];
  readonly #fleet: FleetRegistry;

  constructor(config: Config, fleet: FleetRegistry) {
    this.#config = config.models;
    this.#fleet = fleet;
    this.serveNew();
  }

  get(id: string): ModelEntry | undefined {
    return this.#models.get(id);
  }

  has(id: string): boolean {
    return this.#models.has(id);
  }

  get ids(): string[] {
    return [...this.#models.keys()];
  }

  /** for `GET /v1/models`, in the order they came to be served */
  get infos(): readonly ModelInfo[] {
    return this.#infos;
  }

  /** A replica was added: a configured model that had none is served from now on. */
  serveNew(): void {
    for (const m of this.#config) {
      if (!this.#models.has(m.id) && this.#fleet.replicasOf(m.id).length > 0) this.#serve(m);
    }
  }

  #serve(m: ModelConfig): void {
    const info: ModelInfo = {
      id: m.id, displayName: m.displayName ?? m.id, created: Math.floor(Date.parse(m.created) / 1000),
      maxInputTokens: m.maxInputTokens, maxOutputTokens: m.maxOutputTokens,
    };
    this.#models.set(m.id, { config: m, info, replicas: this.#fleet.replicasOf(m.id) });
    this.#infos.push(info);
  }
}
