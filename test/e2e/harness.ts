import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Starts the real `switchyard up` (the installed bin, built dist/) as a child process.

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');
export const DEMO_KEY = 'sk-sy-e2e-demo-key-0123456789abcdefghijklmnop';
export const ADMIN_TOKEN = 'e2e-admin-token';

export interface Running {
  url: string;
  proc: ChildProcess;
  dataDir: string;
  output: () => string;
  /** SIGTERM and wait; resolves to the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Signals the whole process group, as a terminal's Ctrl-C does, and waits */
  interruptGroup(): Promise<number | null>;
}

export interface StartOptions {
  args?: string[];
  config?: string;
  env?: Record<string, string>;
  /** an existing data dir (a restart on the same store); default a fresh temporary one */
  dataDir?: string;
}

export async function startSwitchyard(opts: StartOptions = {}): Promise<Running> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
  const args = [BIN, 'up', '--port', '0', '--data-dir', dataDir, ...(opts.args ?? [])];
  if (opts.config) {
    const file = join(dataDir, 'config.yaml');
    writeFileSync(file, opts.config);
    args.push('--config', file);
  }
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, SWITCHYARD_DEMO_KEY: DEMO_KEY, SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN, SWITCHYARD_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a test can signal the group the way a terminal does.
    detached: true,
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`switchyard up did not start in 60 s:\n${out}`)), 60_000);
    const onData = () => {
      const m = /Switchyard is up at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`switchyard up exited with ${code}:\n${out}`));
    });
  });
  return {
    url, proc, dataDir,
    output: () => out,
    stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        proc.once('exit', (code) => resolve(code));
        proc.kill(signal);
      });
    },
    interruptGroup() {
      if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        proc.once('exit', (code) => resolve(code));
        process.kill(-proc.pid!, 'SIGINT');
      });
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`node bin/switchyard.js …args`) to its end, without blocking the event loop. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function admin(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/admin/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
  return { status: res.status, body: await res.json() };
}

/** Polls until `fn` returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
