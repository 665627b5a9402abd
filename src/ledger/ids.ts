import { hash, randomBytes } from 'node:crypto';

// Ids, secrets and their hashes. Ids sort by creation time (a fixed-width base62 timestamp, then
// random), so listing in id order is listing in creation order and `after_id` paging is one index
// range. Secrets are 30 random bytes as base64url: 40 chars, 240 bits.

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export const SECRET_PREFIX = 'sk-sy-';

export type IdKind = 'ten' | 'wrk' | 'key' | 'aud' | 'rol';

// Within one millisecond (or if the clock steps back) the previous random tail is incremented, so
// ids made by one process stay in order; across processes, ties within a millisecond are random.
let lastMs = -1;
const lastTail = new Uint8Array(12);

export function newId(kind: IdKind, nowMs: number): string {
  let t = Math.max(0, Math.floor(nowMs));
  if (t <= lastMs) {
    t = lastMs;
    for (let i = lastTail.length - 1; i >= 0; i--) {
      if (++lastTail[i] < 62) break;
      lastTail[i] = 0;
    }
  } else {
    lastMs = t;
    const r = randomBytes(12);
    // Top digit kept small so increments have room before they carry out.
    for (let i = 0; i < r.length; i++) lastTail[i] = r[i] % (i === 0 ? 31 : 62);
  }
  let stamp = '';
  // 8 base62 digits cover ms timestamps until the year 8888.
  for (let i = 0; i < 8; i++) {
    stamp = B62[t % 62] + stamp;
    t = Math.floor(t / 62);
  }
  let tail = '';
  for (let i = 0; i < lastTail.length; i++) tail += B62[lastTail[i]];
  return kind + '_' + stamp + tail;
}

/** A rollout's id (`rol_…`), made by whoever builds its first state, before the store sees it. */
export function newRolloutId(nowMs: number): string {
  return newId('rol', nowMs);
}

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(30).toString('base64url');
}

/** sha256 hex of a key; the one-shot `crypto.hash` is about 3× cheaper than createHash here. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function secretHint(secret: string): string {
  return SECRET_PREFIX + '…' + secret.slice(-4);
}

/** An imported secret must be something a header can carry and long enough not to be guessed. */
export function checkImportedSecret(secret: string): string | null {
  if (secret.length < 8 || secret.length > 256) return 'the key must be 8 to 256 characters long';
  if (!/^[\x21-\x7e]+$/.test(secret)) return 'the key must be printable ASCII without spaces';
  return null;
}

export const DEMO_TENANT_ID = 'ten_demo';
export const DEMO_WORKSPACE_ID = 'wrk_demo';
