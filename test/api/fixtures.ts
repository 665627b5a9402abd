// Realistic vLLM output for the transcoders and renderers, and small helpers shared by the api
// specs. Chunks follow vLLM's OpenAI server with stream_options {include_usage,
// continuous_usage_stats}: usage on every chunk, then a usage-only chunk with choices [].
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StreamTranscoder, UpstreamChunk } from '../../src/api/index.js';

export type Delta = NonNullable<NonNullable<UpstreamChunk['choices']>[number]['delta']>;

export interface Script {
  prompt: number;
  cached?: number;
  deltas: Delta[];
  finish: string;
  /** vLLM's choices[].stop_reason: the matched stop string, a token id, or null */
  stopReason?: string | number | null;
  /** omit the trailing usage-only chunk (a replica without include_usage) */
  noUsageChunk?: boolean;
}

/** Fresh chunk objects each call (the OpenAI transcoder edits chunks in place). */
export function vllmChunks(s: Script): UpstreamChunk[] {
  const id = 'chatcmpl-9f1c2d3e4b5a';
  const created = 1_760_000_000;
  const usage = (out: number) => ({
    prompt_tokens: s.prompt,
    completion_tokens: out,
    total_tokens: s.prompt + out,
    ...(s.cached !== undefined ? { prompt_tokens_details: { cached_tokens: s.cached } } : {}),
  });
  const chunk = (choices: NonNullable<UpstreamChunk['choices']>, out: number): UpstreamChunk => ({
    id, object: 'chat.completion.chunk', created, model: 'served-llama-8b', choices, usage: usage(out),
  });
  const chunks: UpstreamChunk[] = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], 0)];
  s.deltas.forEach((d, i) => chunks.push(chunk([{ index: 0, delta: structuredClone(d), finish_reason: null }], i + 1)));
  const n = s.deltas.length;
  chunks.push(chunk([{ index: 0, delta: { content: '' }, finish_reason: s.finish, stop_reason: s.stopReason ?? null }], n + 1));
  if (!s.noUsageChunk) chunks.push({ id, object: 'chat.completion.chunk', created, model: 'served-llama-8b', choices: [], usage: usage(n + 1) });
  return chunks;
}

export const tool = (index: number, id: string | undefined, name: string | undefined, args?: string): Delta => ({
  tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: { ...(name ? { name } : {}), ...(args !== undefined ? { arguments: args } : {}) } }],
});

/** Runs a whole upstream stream through a transcoder, as the gateway does. */
export function transcode(t: StreamTranscoder, chunks: UpstreamChunk[]): string {
  let out = '';
  for (const c of chunks) out += t.chunk(c);
  return out + t.finish();
}

export interface Frame {
  event: string | null;
  data: string;
}

/** Splits SSE text into frames (blank-line separated), keeping the event name and raw data. */
export function frames(sse: string): Frame[] {
  return sse
    .split('\n\n')
    .filter((f) => f.length > 0)
    .map((f) => {
      let event: string | null = null;
      const data: string[] = [];
      for (const line of f.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      return { event, data: data.join('\n') };
    });
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** A server on port 0 answering every request with `reply(body)`; records request bodies. */
export async function serve(reply: (body: string, req: IncomingMessage) => Reply): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('utf8');
      bodies.push(body);
      const r = reply(body, req);
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' };
export const JSON_HEADERS = { 'content-type': 'application/json' };

/** The non-stream completion vLLM would return for the same script. */
export function vllmCompletion(s: Script): import('../../src/api/index.js').UpstreamCompletion {
  let content = '';
  const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for (const d of s.deltas) {
    if (d.content) content += d.content;
    for (const f of d.tool_calls ?? []) {
      const c = (calls[f.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
      if (f.id) c.id = f.id;
      if (f.function?.name) c.function.name = f.function.name;
      if (f.function?.arguments) c.function.arguments += f.function.arguments;
    }
  }
  const out = s.deltas.length + 1;
  return {
    id: 'chatcmpl-9f1c2d3e4b5a',
    created: 1_760_000_000,
    model: 'served-llama-8b',
    choices: [{ index: 0, message: { role: 'assistant', content: content || null, tool_calls: calls }, finish_reason: s.finish, stop_reason: s.stopReason ?? null }],
    usage: { prompt_tokens: s.prompt, completion_tokens: out, total_tokens: s.prompt + out, ...(s.cached !== undefined ? { prompt_tokens_details: { cached_tokens: s.cached } } : {}) },
  };
}
