import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// Claude Code, unchanged, in print mode against the real `switchyard up`, offline: a temporary
// HOME, the gateway as ANTHROPIC_BASE_URL, every model alias pointed at a served model, and
// everything but the API calls switched off. What it meets on the way is what a user meets:
// its 24 tools, `max_tokens: 32000` (capped to the model's 8,192), a mid-conversation `system`
// message it drops when refused in Anthropic's words, `?beta=true` and its `anthropic-beta` flags.
const CLAUDE = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'claude');
const MODEL = 'llama-3.1-8b';
const FLEET = `demo:
  - { model: llama-3.1-8b, region: us-east, replicas: 1 }
  - { model: llama-3.3-70b, region: us-east, replicas: 1 }
`;

let sy: Running;
let home: string;

beforeAll(async () => {
  sy = await startSwitchyard({ config: FLEET });
  home = mkdtempSync(join(tmpdir(), 'switchyard-claude-home-'));
}, 90_000);
afterAll(async () => {
  expect(await sy.stop()).toBe(0);
});

/** Runs `claude -p` with a clean environment (nothing of the caller's leaks in); its stdout. */
function claude(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: sy.url,
    ANTHROPIC_API_KEY: DEMO_KEY,
    ANTHROPIC_MODEL: MODEL,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL,
    ANTHROPIC_DEFAULT_SONNET_MODEL: MODEL,
    ANTHROPIC_DEFAULT_OPUS_MODEL: MODEL,
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
  return new Promise((resolve) => {
    execFile(CLAUDE, args, { env, cwd: home, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe('Claude Code through switchyard up', () => {
  it('#11 – answers `claude -p --output-format json` without an API error', async () => {
    const r = await claude(['-p', 'Say hello in five words.', '--output-format', 'json']);
    const out = JSON.parse(r.stdout);
    expect(out, r.stdout + r.stderr).toMatchObject({ type: 'result', is_error: false });
    expect(out.api_error_status ?? null).toBeNull();
    expect(typeof out.result).toBe('string');
    expect(out.result.length).toBeGreaterThan(0);
    // the demo engine's words, through the gateway's usage accounting
    expect(out.usage.input_tokens).toBeGreaterThan(0);
    expect(out.usage.output_tokens).toBeGreaterThan(0);
    expect(r.code).toBe(0);
  }, 60_000);

  it('#11 – streams `--output-format stream-json --verbose` to a result event without an error', async () => {
    const r = await claude(['-p', 'Say hello in five words.', '--output-format', 'stream-json', '--verbose']);
    const events = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ type: 'system', subtype: 'init' });
    const assistant = events.filter((e) => e.type === 'assistant');
    expect(assistant.length, r.stdout + r.stderr).toBeGreaterThan(0);
    expect(assistant[0].message.model).toBe(MODEL);
    expect(assistant[0].message.id).toMatch(/^msg_/);
    const result = events.find((e) => e.type === 'result');
    expect(result, r.stdout + r.stderr).toMatchObject({ subtype: 'success', is_error: false });
    expect(typeof result.result).toBe('string');
    expect(r.code).toBe(0);
  }, 60_000);
});
