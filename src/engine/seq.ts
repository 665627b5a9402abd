import { hashBlock } from './hash.js';
import type { EngineRequest, SeqPhase, SeqView, TokenRequest } from './types.js';

const EMPTY_HASHES = new Float64Array(0);

/**
 * One request inside the replica. Its block table and block hashes are typed arrays sized once,
 * for prompt + maxTokens, so stepping never allocates for it.
 */
export class Seq<R extends EngineRequest> implements SeqView<R> {
  readonly req: R;
  readonly promptLen: number;
  readonly maxTokens: number;
  phase: SeqPhase = 'waiting';
  generated = 0;
  computedTokens = 0;
  cachedTokens = 0;
  preemptions = 0;
  /** prompt + generated: the tokens whose KV the request needs */
  numTokens: number;
  readonly blocks: Int32Array;
  numBlocks = 0;
  /** chained hashes of the full blocks whose tokens are known */
  readonly hashes: Float64Array;
  readonly numHashed: number;
  /** blocks [0, numRegistered) are in the prefix cache (or were hits) */
  numRegistered = 0;
  /** tokens scheduled in the current step */
  scheduled = 0;
  everScheduled = false;

  constructor(req: R, blockSize: number, hashing: boolean) {
    this.req = req;
    this.promptLen = req.promptTokens !== undefined ? req.promptTokens.length : req.promptLen;
    this.maxTokens = req.maxTokens;
    this.numTokens = this.promptLen;
    const maxBlocks = Math.ceil((this.promptLen + this.maxTokens) / blockSize);
    this.blocks = new Int32Array(maxBlocks);
    if (!hashing) {
      this.hashes = EMPTY_HASHES;
      this.numHashed = 0;
    } else if (req.promptTokens === undefined) {
      // precomputed (simulator): shared, never written by the replica
      this.hashes = req.blockHashes;
      this.numHashed = Math.min(req.blockHashes.length, maxBlocks);
    } else {
      this.hashes = new Float64Array(maxBlocks);
      this.numHashed = this.#hashKnownBlocks(blockSize);
    }
  }

  /** Hash every full block of the known tokens: the prompt, then the output when given. */
  #hashKnownBlocks(bs: number): number {
    const req = this.req as TokenRequest;
    const prompt = req.promptTokens;
    const out = req.outputTokens;
    const known = this.promptLen + (out ? Math.min(out.length, this.maxTokens) : 0);
    const n = Math.floor(known / bs);
    // a block that straddles prompt and output needs one contiguous view of its tokens
    const scratch = out ? new Uint32Array(bs) : null;
    let parent = 0;
    for (let b = 0; b < n; b++) {
      const start = b * bs;
      const end = start + bs;
      if (end <= this.promptLen) {
        parent = hashBlock(parent, prompt, start, end);
      } else {
        for (let i = start; i < end; i++) scratch![i - start] = i < this.promptLen ? prompt[i] : out![i - this.promptLen];
        parent = hashBlock(parent, scratch!, 0, bs);
      }
      this.hashes[b] = parent;
    }
    return n;
  }
}
