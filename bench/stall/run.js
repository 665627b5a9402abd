// The longest event-loop stall one request can cause: the real `switchyard up` (one demo replica a
// model), the worst bodies under the 32 MiB limit sent one at a time, and a /healthz probe every
// 2 ms on its own connection. A probe that waits measures how long the gateway's event loop was
// held; the baseline is the same probe during an ordinary small request, in the same run.
//
//   npm run bench:stall            (builds dist/ first if it is missing)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';

const ROOT = new URL('../..', import.meta.url).pathname;
const KEY = 'sk-sy-bench-stall-key-0123456789abcdefghijklmno';
const MODEL = 'llama-3.1-8b';

function bodies() {
  const calls = 150_000;
  const ids = Array.from({ length: calls }, (_, i) => `call_${i.toString(36).padStart(8, '0')}`);
  const openaiTools = {
    model: MODEL, max_tokens: 8,
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'f', arguments: '{}' } })) },
      ...ids.slice().reverse().map((id) => ({ role: 'tool', tool_call_id: id, content: 'ok' })),
    ],
  };
  const anthropicTools = {
    model: MODEL, max_tokens: 8,
    messages: [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: ids.map((id) => ({ type: 'tool_use', id: 'toolu_' + id, name: 'f', input: {} })) },
      { role: 'user', content: ids.slice().reverse().map((id) => ({ type: 'tool_result', tool_use_id: 'toolu_' + id, content: 'ok' })) },
    ],
  };
  const parts = 900_000;
  const manyParts = { model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: Array.from({ length: parts }, () => ({ type: 'text', text: 'a' })) }] };
  const bigString = { model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x'.repeat(31 * 1024 * 1024) }] };
  const manyMessages = { model: MODEL, max_tokens: 8, messages: Array.from({ length: 100_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'turn ' + i })) };
  const tools = Array.from({ length: 20_000 }, (_, i) => ({ name: `t${i}`, description: 'd'.repeat(200), input_schema: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'array', items: { type: 'number' } } } } }));
  const manyTools = { model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], tools };
  const deep = '{"model":"' + MODEL + '","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"metadata":' + '['.repeat(1_000_000) + ']'.repeat(1_000_000) + '}';
  const badTail = '{"model":"' + MODEL + '","max_tokens":8,"messages":[{"role":"user","content":"' + 'y'.repeat(31 * 1024 * 1024) + '"}],';
  return [
    ['a small chat (baseline)', '/v1/messages', JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })],
    ['150k tool calls answered in reverse (OpenAI)', '/v1/chat/completions', JSON.stringify(openaiTools)],
    ['150k tool_use answered in reverse (Anthropic)', '/v1/messages', JSON.stringify(anthropicTools)],
    ['900k one-character text blocks (Anthropic)', '/v1/messages', JSON.stringify(manyParts)],
    ['900k one-character text parts (OpenAI)', '/v1/chat/completions', JSON.stringify({ ...manyParts, max_tokens: undefined })],
    ['one 31 MiB string (Anthropic)', '/v1/messages', JSON.stringify(bigString)],
    ['100k messages (OpenAI)', '/v1/chat/completions', JSON.stringify(manyMessages)],
    ['20k tools with schemas (Anthropic)', '/v1/messages', JSON.stringify(manyTools)],
    ['20k tools counted (count_tokens)', '/v1/messages/count_tokens', JSON.stringify(manyTools)],
    ['nesting 1M deep in metadata (Anthropic)', '/v1/messages', deep],
    ['31 MiB of JSON broken at the end', '/v1/messages', badTail],
  ];
}

async function startGateway() {
  const dir = mkdtempSync(join(tmpdir(), 'sy-stall-'));
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, `demo:\n  - { model: ${MODEL}, region: us-east, replicas: 1 }\n  - { model: llama-3.3-70b, region: us-east, replicas: 1 }\n`);
  const child = spawn(process.execPath, [join(ROOT, 'bin/switchyard.js'), 'up', '--port', '0', '--data-dir', dir, '--config', cfg], {
    env: { ...process.env, SWITCHYARD_DEMO_KEY: KEY, SWITCHYARD_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('switchyard up did not start:\n' + out)), 60_000);
    child.stdout.on('data', () => {
      const m = /Switchyard is up at (\S+)/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    child.once('exit', (c) => reject(new Error(`switchyard up exited ${c}:\n${out}`)));
  });
  return { url, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }).then(() => rmSync(dir, { recursive: true, force: true })) };
}

/** Sends one body while probing /healthz; the worst probe wait and the answer's status. */
async function measure(url, path, body) {
  const probeAgent = new Agent({ connections: 1 });
  const sendAgent = new Agent({ connections: 1, bodyTimeout: 0, headersTimeout: 0 });
  let worst = 0;
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = performance.now();
      const r = await request(url + '/healthz', { dispatcher: probeAgent });
      await r.body.text();
      worst = Math.max(worst, performance.now() - t);
      await new Promise((res) => setTimeout(res, 2));
    }
  })();
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  const headers = { 'content-type': 'application/json', 'x-api-key': KEY, authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' };
  const res = await request(url + path, { method: 'POST', headers, body, dispatcher: sendAgent });
  const text = await res.body.text();
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 50));
  probing = false;
  await probe;
  await Promise.all([probeAgent.close(), sendAgent.close()]);
  let detail = '';
  if (res.statusCode >= 400) { try { detail = JSON.parse(text).error.message.slice(0, 70); } catch { detail = text.slice(0, 70); } }
  return { status: res.statusCode, wall, worst, detail };
}

if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const gw = await startGateway();
try {
  const rows = [];
  for (const [name, path, body] of bodies()) {
    const r = await measure(gw.url, path, body);
    rows.push({ name, mb: (Buffer.byteLength(body) / 1048576).toFixed(1), ...r });
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const base = rows[0].worst;
  console.log('| body | MiB | status | answered in | longest /healthz wait | ÷ baseline |');
  console.log('| --- | --: | --: | --: | --: | --: |');
  for (const r of rows) {
    console.log(`| ${r.name}${r.detail ? ` (${r.detail}…)` : ''} | ${r.mb} | ${r.status} | ${r.wall.toFixed(0)} ms | ${r.worst.toFixed(1)} ms | ${(r.worst / base).toFixed(1)}× |`);
  }
  const health = await request(gw.url + '/healthz');
  console.log(`\n/healthz afterwards: ${health.statusCode}`);
  await health.body.text();
} finally {
  await gw.stop();
}
