import { randomUUID } from 'node:crypto';
import { pieceId, tokenPieces } from '../engine/index.js';
import { argumentsFor, rng } from './args.js';
import type { ForcedTool } from './parse.js';

// What the simulated model will say, decided before the first step: a deterministic answer from
// the prompt's hash, cut by max_tokens or a stop string. The plan fixes how many tokens the engine
// generates; the exchange then releases one piece per token as the engine produces it.

/** Filler words, all ≤ 4 letters, so each word (with its leading space) is exactly one token. */
export const FILLER_WORDS: readonly string[] = [
  'the', 'yard', 'rail', 'car', 'lane', 'node', 'load', 'fast', 'path', 'line', 'gate', 'hub', 'link', 'core',
  'port', 'data', 'flow', 'rack', 'zone', 'ring', 'dock', 'ramp', 'axle', 'bolt', 'bell', 'sign', 'cab', 'deck',
  'cart', 'crew', 'map', 'plan', 'run', 'time', 'unit', 'cell', 'pool', 'peak', 'wave', 'mode',
];

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface AnswerPlan {
  /** one text piece per token; a tool call's first token (its name) has '' */
  readonly pieces: string[];
  /** end offset of each piece in `text` */
  readonly ends: Int32Array;
  /** the generated text (tool plans: the arguments JSON) */
  readonly text: string;
  /** how much of `text` the client sees (a stop string cuts before its match) */
  readonly cut: number;
  /** tokens the engine generates */
  readonly tokens: number;
  /** their ids, so the engine can cache output blocks */
  readonly ids: Uint32Array;
  readonly finishReason: FinishReason;
  /** vLLM `stop_reason`: the matched stop string, else null */
  readonly stopReason: string | null;
  readonly tool: { readonly id: string; readonly name: string } | null;
}

export interface PlanInput {
  seed: number;
  maxTokens: number;
  stop: readonly string[];
  ignoreEos: boolean;
  /** a fault: answers this many times their natural length (default 1) */
  outputFactor?: number;
}

/** Natural answer length from the prompt hash: 8–60 tokens. */
export function naturalLength(seed: number): number {
  return 8 + (seed % 53);
}

export function planText(p: PlanInput): AnswerPlan {
  const factor = p.outputFactor ?? 1;
  const natural = factor === 1 ? naturalLength(p.seed) : Math.max(1, Math.round(naturalLength(p.seed) * factor));
  const n = p.ignoreEos ? p.maxTokens : Math.min(natural, p.maxTokens);
  const pieces = fillerPieces(n, p.seed);
  // a natural end closes its sentence; a capped answer stops mid-sentence (prefixes stay stable)
  if (n === natural && !p.ignoreEos) pieces[n - 1] = '.';
  const { text, ends } = join(pieces);
  // the earliest stop match ends the answer at the token that completes it
  let at = -1;
  let matched: string | null = null;
  for (const s of p.stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) { at = i; matched = s; }
  }
  if (matched !== null) {
    const end = at + matched.length;
    let k = 0;
    while (ends[k] < end) k++;
    return plan(pieces, ends, text, at, k + 1, 'stop', matched, null);
  }
  const finish = p.ignoreEos || natural > p.maxTokens ? 'length' : 'stop';
  return plan(pieces, ends, text, text.length, n, finish, null, null);
}

export function planTool(tool: ForcedTool, p: PlanInput): AnswerPlan {
  const args = argumentsFor(tool.parameters, p.seed);
  const pieces = ['', ...tokenPieces(args)];
  const { text, ends } = join(pieces);
  const n = Math.min(pieces.length, p.maxTokens);
  const cut = n === pieces.length ? text.length : ends[n - 1];
  const call = { id: 'call_' + randomUUID().replaceAll('-', '').slice(0, 24), name: tool.name };
  return plan(pieces, ends, text, cut, n, n === pieces.length ? 'tool_calls' : 'length', null, call);
}

function plan(pieces: string[], ends: Int32Array, text: string, cut: number, tokens: number, finishReason: FinishReason, stopReason: string | null, tool: AnswerPlan['tool']): AnswerPlan {
  const ids = new Uint32Array(tokens);
  for (let i = 0; i < tokens; i++) ids[i] = pieces[i] === '' ? pieceId(tool?.name ?? ' ') : pieceId(pieces[i]);
  return { pieces, ends, text, cut, tokens, ids, finishReason, stopReason, tool };
}

function join(pieces: string[]): { text: string; ends: Int32Array } {
  const ends = new Int32Array(pieces.length);
  let text = '';
  for (let i = 0; i < pieces.length; i++) {
    text += pieces[i];
    ends[i] = text.length;
  }
  return { text, ends };
}

/** Sentences of 5–12 filler words ending in '.', sometimes a ',' inside; exactly n pieces. */
function fillerPieces(n: number, seed: number): string[] {
  const r = rng(seed ^ 0x5bd1e995);
  const out: string[] = new Array(n);
  let left = 0; // words left in the sentence
  let start = true;
  for (let i = 0; i < n; i++) {
    if (left === 0 && !start) {
      out[i] = '.';
      start = true;
      continue;
    }
    if (start) left = 5 + Math.floor(r() * 8);
    const w = FILLER_WORDS[Math.floor(r() * FILLER_WORDS.length)];
    const word = start ? w[0].toUpperCase() + w.slice(1) : w;
    out[i] = i === 0 ? word : ' ' + word;
    start = false;
    // draw before testing the bound, so a piece never depends on n (answers are prefix-stable)
    const comma = r() < 0.08;
    if (--left > 1 && comma && i + 1 < n) out[++i] = ',';
  }
  return out;
}
