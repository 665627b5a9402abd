// The workload's only source of randomness: xoshiro128** seeded through splitmix32, so the same
// seed gives the same arrivals on every machine. Separate streams (`fork`) keep one draw from
// shifting another: adding a tenant to the mix must not move any arrival time.

const TWO32 = 0x1_0000_0000;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seed for stream `stream` of `seed` (both any safe integers). */
export function deriveSeed(seed: number, stream: number): number {
  const st = { s: (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO32) | 0, 0x27d4eb2d) };
  splitmix32(st);
  st.s ^= Math.imul(stream | 0, 0x165667b1) ^ (Math.floor(stream / TWO32) | 0);
  return splitmix32(st);
}

export class RandomStream {
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  /** Box–Muller makes normals in pairs; the second waits here */
  #spare = NaN;

  constructor(seed: number) {
    this.seed = seed;
    const st = { s: (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO32) | 0, 0x27d4eb2d) };
    this.#a = splitmix32(st);
    this.#b = splitmix32(st);
    this.#c = splitmix32(st);
    this.#d = splitmix32(st) | 1; // never the all-zero state
  }

  /** An independent stream, the same for the same (seed, stream). */
  fork(stream: number): RandomStream {
    return new RandomStream(deriveSeed(this.seed, stream));
  }

  /** uniform uint32 */
  next32(): number {
    const r = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9);
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r >>> 0;
  }

  /** uniform in [0, 1) */
  float(): number {
    return this.next32() / TWO32;
  }

  /** uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  normal(): number {
    if (!Number.isNaN(this.#spare)) {
      const s = this.#spare;
      this.#spare = NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.float()));
    const th = 2 * Math.PI * this.float();
    this.#spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** Gamma(shape, scale) by Marsaglia–Tsang; shape < 1 through the u^(1/shape) boost. */
  gamma(shape: number, scale: number): number {
    if (shape < 1) return this.gamma(shape + 1, scale) * Math.pow(this.float(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      let v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const u = this.float();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded uniform [0, 1) source as a plain function (what the simulator's policies take). */
export function seededRandom(seed: number): () => number {
  const r = new RandomStream(seed);
  return () => r.float();
}
