import { fill, type Slots, type Step } from './cases.js';

// A shell line that sends a step again, to a gateway at $SY_URL with the key in $SY_KEY (or the
// admin token in $SY_ADMIN). A long or binary body is left to the caller to write to `bodyFile`.

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function curlLine(s: Step, slots: Slots & Record<string, string>, bodyFile: string | null): string {
  const parts = ['curl -sS --path-as-is -X', s.method, `"\${SY_URL:-http://127.0.0.1:8080}"${q(fill(s.path, slots))}`];
  if (s.auth === 'admin') parts.push(`-H "authorization: Bearer $SY_ADMIN"`);
  else if (s.auth === 'key') parts.push(s.envelope === 'anthropic' ? `-H "x-api-key: $SY_KEY"` : `-H "authorization: Bearer $SY_KEY"`);
  for (const [k, v] of Object.entries(s.headers)) parts.push('-H', q(`${k}: ${v}`));
  if (s.body !== undefined && s.method !== 'GET') parts.push('--data-binary', bodyFile !== null ? `@${bodyFile}` : q(fill(s.body as string, slots)));
  return parts.join(' ');
}

/** Whether a body can go on the command line as it is. */
export function inlineable(body: string | Uint8Array | undefined): boolean {
  return body === undefined || (typeof body === 'string' && body.length <= 1_500 && !/[\u0000-\u0008\u000e-\u001f]/.test(body));
}
