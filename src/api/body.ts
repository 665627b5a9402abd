// Request-body plumbing shared by both wires: JSON parsing and the small predicates validators use.
import type { GatewayError, Result } from './types.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function fail(message: string, param?: string): { ok: false; error: GatewayError } {
  return { ok: false, error: param === undefined ? { kind: 'invalid_request', message } : { kind: 'invalid_request', message, param } };
}

/** Parses a request body that must be one JSON object. */
export function parseBody(body: Buffer | string): Result<Obj> {
  let v: unknown;
  try {
    v = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return fail(`The request body is not valid JSON (${why}). Send one JSON object with content-type: application/json.`);
  }
  if (!isObj(v)) return fail('The request body must be a JSON object.');
  return { ok: true, value: v };
}
