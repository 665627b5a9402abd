import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// LangChain JS chat models (ChatAnthropic, ChatOpenAI), unchanged, against the real
// `switchyard up`: invoke, stream, and bindTools with a forced call whose arguments come back
// parsed. The demo engine calls a tool only when tool_choice names one.
const MODEL = 'llama-3.1-8b';
const FLEET = `demo:
  - { model: llama-3.1-8b, region: us-east, replicas: 1 }
  - { model: llama-3.3-70b, region: us-east, replicas: 1 }
`;

let sy: Running;
const models: Array<[string, () => BaseChatModel]> = [
  ['ChatAnthropic', () => new ChatAnthropic({ model: MODEL, apiKey: DEMO_KEY, anthropicApiUrl: sy.url, maxTokens: 128, maxRetries: 0 })],
  ['ChatOpenAI', () => new ChatOpenAI({ model: MODEL, apiKey: DEMO_KEY, configuration: { baseURL: `${sy.url}/v1` }, maxTokens: 128, maxRetries: 0 })],
];

beforeAll(async () => {
  sy = await startSwitchyard({ config: FLEET });
}, 90_000);
afterAll(async () => {
  expect(await sy.stop()).toBe(0);
});

const weather = tool(async ({ city }) => `sunny in ${city}`, {
  name: 'get_weather',
  description: 'The weather in a city',
  schema: z.object({ city: z.string(), days: z.number().int().min(1).max(7) }),
});

describe.each(models)('LangChain %s through switchyard up', (_name, make) => {
  it('#11 – invoke: an answer with usage metadata', async () => {
    const m = await make().invoke('Say hello.');
    expect(typeof m.content === 'string' ? m.content : m.text).not.toBe('');
    expect(m.usage_metadata?.input_tokens).toBeGreaterThan(0);
    expect(m.usage_metadata?.output_tokens).toBeGreaterThan(0);
  });

  it('stream: several chunks that add up to the answer', async () => {
    let whole: AIMessageChunk | undefined;
    let n = 0;
    for await (const c of await make().stream('Say hello.')) {
      whole = whole === undefined ? c : whole.concat(c);
      n++;
    }
    expect(n).toBeGreaterThan(1);
    expect(whole!.text.length).toBeGreaterThan(0);
  });

  it('bindTools: a forced call comes back with parsed arguments', async () => {
    const bound = make().bindTools!([weather], { tool_choice: 'get_weather' });
    const m = await bound.invoke('Weather in Oslo for two days?');
    expect(m.tool_calls).toHaveLength(1);
    const call = m.tool_calls![0];
    expect(call.name).toBe('get_weather');
    expect(call.id).toBeTruthy();
    // parsed into an object that fits the tool's schema
    expect(() => weather.schema.parse(call.args)).not.toThrow();
    // and the tool runs on it
    expect(await weather.invoke(call.args as { city: string; days: number })).toMatch(/^sunny in /);
  });
});
