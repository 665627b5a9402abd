import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// The Vercel AI SDK (ai 6) with its Anthropic and OpenAI providers, unchanged, against the real
// `switchyard up`. The OpenAI provider is used through Chat Completions (`openai.chat`), the API
// Switchyard serves. The demo engine calls a tool only when tool_choice forces one, so the tool
// specs force it, and the round trip lets the second step answer freely.
const MODEL = 'llama-3.1-8b';
const FLEET = `demo:
  - { model: llama-3.1-8b, region: us-east, replicas: 1 }
  - { model: llama-3.3-70b, region: us-east, replicas: 1 }
`;

let sy: Running;
const providers: Array<[string, () => LanguageModel]> = [
  ['Anthropic', () => createAnthropic({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY })(MODEL)],
  ['OpenAI chat', () => createOpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY }).chat(MODEL)],
];

beforeAll(async () => {
  sy = await startSwitchyard({ config: FLEET });
}, 90_000);
afterAll(async () => {
  expect(await sy.stop()).toBe(0);
});

const weatherInput = z.object({ city: z.string(), days: z.number().int().min(1).max(7) });
const weather = tool({
  description: 'The weather in a city',
  inputSchema: weatherInput,
  execute: async ({ city, days }) => ({ city, days, forecast: 'sunny' }),
});

describe.each(providers)('the AI SDK %s provider through switchyard up', (_name, model) => {
  it('#11 – generateText: a plain non-streamed answer, with usage', async () => {
    const r = await generateText({ model: model(), prompt: 'Say hello.', maxOutputTokens: 64, maxRetries: 0 });
    expect(r.text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(r.finishReason);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeGreaterThan(0);
  });

  it('streamText: the text, a finish reason and usage', async () => {
    const r = streamText({ model: model(), prompt: 'Say hello.', maxOutputTokens: 64, maxRetries: 0 });
    let parts = 0;
    for await (const piece of r.textStream) if (piece.length > 0) parts++;
    expect(parts).toBeGreaterThan(1);
    expect((await r.text).length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(await r.finishReason);
    const usage = await r.usage;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
  });

  it('a forced tool call comes back with input that matches the tool\'s schema', async () => {
    const r = await generateText({
      model: model(), prompt: 'Weather in Oslo?', maxOutputTokens: 256, maxRetries: 0,
      tools: { weather: tool({ description: weather.description, inputSchema: weatherInput }) },
      toolChoice: { type: 'tool', toolName: 'weather' },
    });
    expect(r.finishReason).toBe('tool-calls');
    expect(r.toolCalls).toHaveLength(1);
    const call = r.toolCalls[0];
    expect(call.toolName).toBe('weather');
    expect(call.toolCallId.length).toBeGreaterThan(0);
    expect(() => weatherInput.parse(call.input)).not.toThrow();
    expect(r.usage.outputTokens).toBeGreaterThan(0);
  });

  it('a tool-result round trip: the call, its result sent back, and a final answer', async () => {
    const r = await generateText({
      model: model(), prompt: 'Weather in Oslo?', maxOutputTokens: 256, maxRetries: 0,
      tools: { weather },
      stopWhen: stepCountIs(2),
      // forced on the first step, free on the second (the demo engine then answers in text)
      prepareStep: ({ stepNumber }) => (stepNumber === 0 ? { toolChoice: { type: 'tool', toolName: 'weather' } } : { toolChoice: 'auto' }),
    });
    expect(r.steps).toHaveLength(2);
    expect(r.steps[0].toolCalls).toHaveLength(1);
    expect(r.steps[0].toolResults[0].output).toMatchObject({ forecast: 'sunny' });
    expect(r.steps[1].finishReason).not.toBe('error');
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.totalUsage.inputTokens).toBeGreaterThan(r.steps[0].usage.inputTokens ?? 0);
  });

  it('a forced tool call streamed: the tool-call part with parsed input', async () => {
    const r = streamText({
      model: model(), prompt: 'Weather in Oslo?', maxOutputTokens: 256, maxRetries: 0,
      tools: { weather: tool({ description: weather.description, inputSchema: weatherInput }) },
      toolChoice: { type: 'tool', toolName: 'weather' },
    });
    const calls = await r.toolCalls;
    expect(calls).toHaveLength(1);
    expect(() => weatherInput.parse(calls[0].input)).not.toThrow();
    expect(await r.finishReason).toBe('tool-calls');
    expect((await r.usage).inputTokens).toBeGreaterThan(0);
  });
});
