// The minimal fast upstream: an OpenAI-compatible replica that answers at once with constant text,
// so everything a target adds on top of it is the target's own cost. Run as its own process
// (forked by run.js); it reports its port over IPC and exits when its parent goes away.
import { createServer } from 'node:http';
import { ANSWER_WORDS, UPSTREAM_MODEL } from './workload.js';

const CREATED = 1_767_225_600;
const ID = 'chatcmpl-bench0000000000000000';
const PROMPT_TOKENS = 14;
const COMPLETION_TOKENS = ANSWER_WORDS.length;
const USAGE = { prompt_tokens: PROMPT_TOKENS, completion_tokens: COMPLETION_TOKENS, total_tokens: PROMPT_TOKENS + COMPLETION_TOKENS };

// Every answer is serialized once, here; a request only picks which constant to send.
const COMPLETION = JSON.stringify({
  id: ID, object: 'chat.completion', created: CREATED, model: UPSTREAM_MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: ANSWER_WORDS.join('') }, logprobs: null, finish_reason: 'stop', stop_reason: null }],
  usage: USAGE,
});
const COMPLETION_LEN = String(Buffer.byteLength(COMPLETION));

const frame = (choices, usage) => `data: ${JSON.stringify({ id: ID, object: 'chat.completion.chunk', created: CREATED, model: UPSTREAM_MODEL, choices, usage })}\n\n`;
const BASE_FRAMES = [
  frame([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], null),
  ...ANSWER_WORDS.map((w) => frame([{ index: 0, delta: { content: w }, logprobs: null, finish_reason: null }], null)),
  frame([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop', stop_reason: null }], null),
];
const USAGE_FRAME = frame([], USAGE);
const DONE_FRAME = 'data: [DONE]\n\n';
// vLLM writes one frame per token; so do we, to give a relay one chunk per event to handle.
const STREAM_PLAIN = [...BASE_FRAMES, DONE_FRAME];
const STREAM_USAGE = [...BASE_FRAMES, USAGE_FRAME, DONE_FRAME];

const JSON_HEAD = { 'content-type': 'application/json', 'content-length': COMPLETION_LEN };
const SSE_HEAD = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const HEALTH = '{"status":"ok"}';
const TOKENIZE = JSON.stringify({ count: PROMPT_TOKENS, max_model_len: 131072, tokens: Array.from({ length: PROMPT_TOKENS }, (_, i) => 1000 + i) });

function onRequest(req, res) {
  const url = req.url;
  if (req.method === 'GET' && (url === '/health' || url === '/v1/health')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(HEALTH);
  }
  if (req.method !== 'POST') {
    res.writeHead(404, { 'content-type': 'application/json' });
    return void res.end('{"error":{"message":"not found","type":"NotFoundError","code":404}}');
  }
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => answer(url, parts.length === 1 ? parts[0] : Buffer.concat(parts), res));
}

function answer(url, raw, res) {
  if (url === '/tokenize' || url === '/v1/tokenize') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(TOKENIZE);
  }
  if (url !== '/v1/chat/completions') {
    res.writeHead(404, { 'content-type': 'application/json' });
    return void res.end('{"error":{"message":"not found","type":"NotFoundError","code":404}}');
  }
  // Parsing the body is part of what a real replica does, and it tells us stream / include_usage.
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' });
    return void res.end('{"error":{"message":"body is not JSON","type":"BadRequestError","code":400}}');
  }
  if (body.stream !== true) {
    res.writeHead(200, JSON_HEAD);
    return void res.end(COMPLETION);
  }
  const frames = body.stream_options?.include_usage === true ? STREAM_USAGE : STREAM_PLAIN;
  res.writeHead(200, SSE_HEAD);
  const last = frames.length - 1;
  for (let i = 0; i < last; i++) res.write(frames[i]);
  res.end(frames[last]);
}

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, onRequest);
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'listening', port: server.address().port });
});
// The parent owns our lifetime: when it disconnects (ends, crashes), we go too.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
