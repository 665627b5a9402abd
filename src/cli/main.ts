#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/index.js';

// src/cli/main.ts and dist/cli/main.js both sit two levels below the package root.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('switchyard')
  .description('An open inference platform: Anthropic- and OpenAI-compatible gateway over a fleet of LLM replicas.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError()
  // commander exits 1 on a usage mistake it catches (a missing argument, an unknown option, a bad
  // --port); thrown instead, it exits 2 below like the commands' own checks. Set before the commands
  // are made, so each inherits it; commander has printed its message to stderr by then.
  .exitOverride();

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
};
const collect = (v: string, acc: string[]): string[] => [...acc, v];
const share = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError('a share is a number from 0 to 1, such as 0.5');
  return n;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a factor is a positive number, such as 2');
  return n;
};

program.command('up')
  .description('run the gateway with the demo fleet (or the --replica endpoints)')
  .option('--port <n>', 'port to listen on (default 8080)', port)
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option('--config <file>', 'YAML or JSON configuration')
  .option('--data-dir <dir>', 'where the SQLite store lives (default .switchyard)')
  .option('--store <url>', 'postgres://… to keep tenants, keys and the ledger in PostgreSQL')
  .option('--replica <model=url>', 'front an existing OpenAI-compatible endpoint; MODEL=anthropic+URL for one that speaks the Anthropic Messages API; MODEL@VERSION=URL for one serving a version other than the stable one (repeatable)', collect, [])
  .option('--autoscale', 'size each pool between its min and max replicas as load comes and goes (autoscaler.enabled); decisions at /admin/v1/autoscaler')
  .action(async (o) => {
    const { up } = await import('./up.js');
    await up({ config: o.config, port: o.port, host: o.host, dataDir: o.dataDir, store: o.store, replicas: o.replica, autoscale: o.autoscale === true });
  });

program.command('engine')
  .description('run one simulated vLLM-like replica')
  .option('--port <n>', 'port to listen on', port, 8000)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .requiredOption('--model <name>', 'model name to serve')
  .option('--profile <name>', 'hardware profile', 'llama-3.1-8b-h100')
  .option('--fault-error-rate <share>', 'answer this share of requests (0–1) with a 500, drawn from a seeded source', share)
  .option('--fault-slow <factor>', 'make every engine step this many times longer', positive)
  .option('--fault-output-factor <factor>', 'answer this many times as long as usual (capped by max_tokens)', positive)
  .option('--startup <cold|tuned|snapshot|seconds>', 'load this long before taking requests (cold 90.7 s, tuned 43.3 s, snapshot 5.5 s, or seconds); /health answers 503 meanwhile', '0')
  .action(async (o) => {
    const { engine } = await import('./engine.js');
    await engine({
      port: o.port, host: o.host, model: o.model, profile: o.profile,
      faultErrorRate: o.faultErrorRate, faultSlow: o.faultSlow, faultOutputFactor: o.faultOutputFactor, startup: o.startup,
    });
  });

program.command('sim')
  .description('run a fleet simulation scenario on a virtual clock; prints the report and writes it as JSON and HTML')
  .argument('<scenario>', 'scenario YAML (see scenarios/)')
  .option('--out <dir>', 'where to write <name>.json and <name>.html', 'sim-reports')
  .option('--seed <n>', 'override the scenario\'s seed', (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a seed is a non-negative integer');
    return n;
  })
  .option('--no-progress', 'no progress bar')
  .action(async (file: string, o) => {
    const { sim } = await import('./sim.js');
    sim({ scenario: file, out: o.out, seed: o.seed, progress: o.progress });
  });

program.command('plan')
  .description('plan the cheapest fleet per region and hour that meets the SLOs, check it in the simulator, compare it with its baselines and what-ifs; prints the report and writes it as JSON and HTML')
  .argument('<plan>', 'PLAN.yaml (see scenarios/plan-*.yaml and docs/capacity.md)')
  .option('--out <dir>', 'where to write <name>.json and <name>.html', 'reports')
  .option('--no-check', 'solve only: no simulator runs')
  .option('--json', 'print the JSON report instead of the text one')
  .option('--no-progress', 'no progress bar')
  .action(async (file: string, o) => {
    const { plan } = await import('./plan.js');
    await plan({ plan: file, out: o.out, check: o.check, json: o.json === true, progress: o.progress });
  });

// The store commands open the store `switchyard up` uses: --store, else the config's, else the data dir's SQLite file.
const storeFlags = (c: Command): Command => c
  .option('--config <file>', 'YAML or JSON configuration')
  .option('--data-dir <dir>', 'where the SQLite store lives (default .switchyard)')
  .option('--store <url>', 'postgres://… store');
const flagsOf = (o: { config?: string; dataDir?: string; store?: string }) => ({ config: o.config, dataDir: o.dataDir, store: o.store });

const keys = program.command('keys').description('manage API keys');
storeFlags(keys.command('create')
  .description('create an API key for a tenant (the tenant is created if new); prints it once')
  .requiredOption('--tenant <tenant>', 'tenant id or name')
  .option('--workspace <workspace>', 'workspace id or name (default: the tenant\'s default)')
  .option('--name <name>', 'a label for the key')
  .option('--priority <priority>', 'interactive, standard or batch (default: the tenant\'s tier\'s)'))
  .action(async (o) => {
    const { keysCreate } = await import('./keys.js');
    await keysCreate({ tenant: o.tenant, workspace: o.workspace, name: o.name, priority: o.priority, ...flagsOf(o) });
  });
storeFlags(keys.command('list')
  .description('list a tenant\'s keys, revoked ones included (never their secrets)')
  .requiredOption('--tenant <tenant>', 'tenant id or name')
  .option('--json', 'JSON instead of a table'))
  .action(async (o) => {
    const { keysList } = await import('./keys.js');
    await keysList({ tenant: o.tenant, json: o.json, ...flagsOf(o) });
  });
storeFlags(keys.command('revoke')
  .description('revoke a key (running gateways refuse it within their 30 s key refresh)')
  .argument('<key-id>', 'the key\'s id, key_…'))
  .action(async (id: string, o) => {
    const { keysRevoke } = await import('./keys.js');
    await keysRevoke({ keyId: id, ...flagsOf(o) });
  });
storeFlags(keys.command('rotate')
  .description('replace a key: a new secret with the same tenant, workspace, name and priority, printed once; the old key is revoked now (running gateways refuse it within their 30 s key refresh)')
  .argument('<key-id>', 'the key\'s id, key_…'))
  .action(async (id: string, o) => {
    const { keysRotate } = await import('./keys.js');
    await keysRotate({ keyId: id, ...flagsOf(o) });
  });

const tenants = program.command('tenants').description('inspect tenants');
storeFlags(tenants.command('list')
  .description('list every tenant')
  .option('--json', 'JSON instead of a table'))
  .action(async (o) => {
    const { tenantsList } = await import('./tenants.js');
    await tenantsList({ json: o.json, ...flagsOf(o) });
  });

storeFlags(program.command('usage')
  .description('a tenant\'s tokens and cost by model and UTC day (default: the last 30 days)')
  .requiredOption('--tenant <tenant>', 'tenant id or name')
  .option('--since <date>', 'first day, YYYY-MM-DD (UTC), included')
  .option('--until <date>', 'last day, YYYY-MM-DD (UTC), included (default: today)')
  .option('--json', 'JSON instead of a table'))
  .action(async (o) => {
    const { usage } = await import('./usage.js');
    await usage({ tenant: o.tenant, since: o.since, until: o.until, json: o.json, ...flagsOf(o) });
  });

storeFlags(program.command('costs')
  .description('GPU cost per UTC day by model, pool, region or tenant: USD, GPU-hours, utilisation, idle cost, tokens and cost per million input and output tokens (default: the last 7 days)')
  .option('--by <key>', 'model, pool, region or tenant', 'model')
  .option('--days <n>', 'the N days ending today (default 7)')
  .option('--since <date>', 'first day, YYYY-MM-DD (UTC), included')
  .option('--until <date>', 'last day, YYYY-MM-DD (UTC), included (default: today)')
  .option('--json', 'JSON instead of a table'))
  .action(async (o) => {
    const { costs } = await import('./costs.js');
    await costs({ by: o.by, days: o.days, since: o.since, until: o.until, json: o.json, ...flagsOf(o) });
  });

// The rollout commands talk to a running gateway's admin API; each returns its exit code (1 refused, 2 unreachable or misused).
const gatewayFlags = (c: Command): Command => c
  .option('--gateway <url>', 'the gateway (default SWITCHYARD_URL, else http://127.0.0.1:8080)')
  .option('--admin-token <token>', 'the admin token (default SWITCHYARD_ADMIN_TOKEN)')
  .option('--actor <name>', 'who the audit trail names, as admin:<name>')
  .option('--json', 'the API\'s JSON instead of text');
const gatewayOf = (o: { gateway?: string; adminToken?: string; actor?: string; json?: boolean }) => ({ gateway: o.gateway, adminToken: o.adminToken, actor: o.actor, json: o.json });

const rollout = program.command('rollout').description('move a model\'s traffic to a candidate version in steps, judged per request (on a running gateway)');
gatewayFlags(rollout.command('start')
  .description('start a rollout: the spec from --file (YAML or JSON), the flags filling or overriding it')
  .option('--model <model>', 'the model (required unless --file names it)')
  .option('--candidate <version>', 'the version to roll out (required unless --file names it)')
  .option('--stable <version>', 'the version it replaces (default the model\'s stable version)')
  .option('--file <spec>', 'a rollout spec: steps, waves, maxShare, analysis, rollback')
  .option('--reason <text>', 'why, for the audit trail (default "by hand")'))
  .action(async (o) => {
    const { rolloutStart } = await import('./rollout.js');
    process.exitCode = await rolloutStart({ model: o.model, candidate: o.candidate, stable: o.stable, file: o.file, reason: o.reason, ...gatewayOf(o) });
  });
gatewayFlags(rollout.command('status')
  .description('a rollout with its evidence; without an id, the active rollouts')
  .argument('[id]', 'the rollout\'s id, rol_…')
  .option('--model <model>', 'only this model\'s'))
  .action(async (id: string | undefined, o) => {
    const { rolloutStatus } = await import('./rollout.js');
    process.exitCode = await rolloutStatus({ id, model: o.model, ...gatewayOf(o) });
  });
for (const [name, what] of [['pause', 'hold a rollout where it is'], ['resume', 'go on from a pause'], ['abort', 'stop a rollout: the candidate\'s share goes back to stable']] as const) {
  gatewayFlags(rollout.command(name).description(what)
    .argument('<id>', 'the rollout\'s id, rol_…')
    .option('--reason <text>', 'why, for the audit trail (default "by hand")'))
    .action(async (id: string, o) => {
      const { rolloutCommand } = await import('./rollout.js');
      process.exitCode = await rolloutCommand(name, { id, reason: o.reason, ...gatewayOf(o) });
    });
}
gatewayFlags(rollout.command('promote')
  .description('past the current pause or analysis step; --full: every region to 100 % at once')
  .argument('<id>', 'the rollout\'s id, rol_…')
  .option('--full', 'the candidate takes every region now and becomes stable')
  .option('--reason <text>', 'why, for the audit trail (default "by hand")'))
  .action(async (id: string, o) => {
    const { rolloutCommand } = await import('./rollout.js');
    process.exitCode = await rolloutCommand('promote', { id, full: o.full, reason: o.reason, ...gatewayOf(o) });
  });

// A mistake in the configuration or the arguments exits 2 with its message; a refusal the user can
// act on (no such tenant, a broken scenario) exits 1 with its message; anything else is a bug: its stack.
program.parseAsync().catch((err: unknown) => {
  // --help and --version "fail" with exit code 0; everything else commander throws is a usage mistake
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof ConfigError) {
    process.stderr.write(`switchyard: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof Error && (err.name === 'ScenarioError' || err.name === 'PlanError' || err.name === 'CliError')) process.stderr.write(`switchyard: ${err.message}\n`);
  else process.stderr.write(`switchyard: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
