import { spawn, type ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, BIN, DEMO_KEY, startSwitchyard, type Running } from '../e2e/harness.js';

// `switchyard up --config` with models the defaults do not know, through the built CLI (build
// first: npx tsc -p tsconfig.build.json).

const running: Running[] = [];
let engine: ChildProcess | null = null;

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  engine?.kill('SIGTERM');
});

/** `switchyard engine` on port 0; its URL once it listens. */
async function startEngine(model: string): Promise<string> {
  engine = spawn(process.execPath, [BIN, 'engine', '--port', '0', '--model', model], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start:\n${out}`)), 20_000);
    engine!.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

const ask = (sy: Running, model: string) => new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 })
  .chat.completions.create({ model, max_tokens: 3, messages: [{ role: 'user', content: 'hi' }] });

describe('switchyard up --config with models of its own', () => {
  it('#11 – serves replicas of a model the defaults do not know, with no demo pools to know about', async () => {
    const url = await startEngine('tiny');
    const sy = await startSwitchyard({
      config: ['models: [{ id: tiny, pricing: { input: 1, output: 2 } }]', 'replicas:', `  - { model: tiny, url: "${url}/v1", region: lab }`].join('\n'),
    });
    running.push(sy);
    const r = await ask(sy, 'tiny');
    expect(r.object).toBe('chat.completion');
    expect(r.usage?.completion_tokens).toBe(3);
    // the fleet is the one replica given: no simulated pools were started beside it
    expect((await admin(sy.url, '/fleet')).body.data.map((x: any) => `${x.region}/${x.model}`)).toEqual(['lab/tiny']);
  }, 60_000);

  it('#11 – derives the demo pools from the models a file gives when it names none', async () => {
    const sy = await startSwitchyard({ config: ['region: home', 'regions: [{ name: home }]', 'models: [{ id: tiny, profile: llama-3.1-8b-a100 }]'].join('\n') });
    running.push(sy);
    expect((await admin(sy.url, '/fleet')).body.data.map((x: any) => x.id)).toEqual(['home/tiny/0', 'home/tiny/1']);
    expect((await ask(sy, 'tiny')).object).toBe('chat.completion');
  }, 60_000);
});
