#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/index.js';

const program = new Command('switchyard')
  .description('An open inference platform: Anthropic- and OpenAI-compatible gateway over a fleet of LLM replicas.')
  .showHelpAfterError();

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
};
const collect = (v: string, acc: string[]): string[] => [...acc, v];

program.command('up')
  .description('run the gateway with the demo fleet (or the --replica endpoints)')
  .option('--port <n>', 'port to listen on (default 8080)', port)
  .option('--host <host>', 'address to listen on (default 127.0.0.1)')
  .option('--config <file>', 'YAML or JSON configuration')
  .option('--data-dir <dir>', 'where the SQLite store lives (default .switchyard)')
  .option('--store <url>', 'postgres://… to keep tenants, keys and the ledger in PostgreSQL')
  .option('--replica <model=url>', 'front an existing OpenAI-compatible endpoint (repeatable)', collect, [])
  .action(async (o) => {
    const { up } = await import('./up.js');
    await up({ config: o.config, port: o.port, host: o.host, dataDir: o.dataDir, store: o.store, replicas: o.replica });
  });

program.command('engine')
  .description('run one simulated vLLM-like replica')
  .option('--port <n>', 'port to listen on', port, 8000)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .requiredOption('--model <name>', 'model name to serve')
  .option('--profile <name>', 'hardware profile', 'llama-3.1-8b-h100')
  .action(async (o) => {
    const { engine } = await import('./engine.js');
    await engine({ port: o.port, host: o.host, model: o.model, profile: o.profile });
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

const keys = program.command('keys').description('manage API keys');
keys.command('create')
  .description('create an API key for a tenant (the tenant is created if new); prints it once')
  .requiredOption('--tenant <tenant>', 'tenant id or name')
  .option('--workspace <workspace>', 'workspace id or name (default: the tenant\'s default)')
  .option('--name <name>', 'a label for the key')
  .option('--priority <priority>', 'interactive, standard or batch (default: the tenant\'s tier\'s)')
  .option('--config <file>', 'YAML or JSON configuration')
  .option('--data-dir <dir>', 'where the SQLite store lives (default .switchyard)')
  .option('--store <url>', 'postgres://… store')
  .action(async (o) => {
    const { keysCreate } = await import('./keys.js');
    await keysCreate({ tenant: o.tenant, workspace: o.workspace, name: o.name, priority: o.priority, config: o.config, dataDir: o.dataDir, store: o.store });
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError || (err instanceof Error && err.name === 'ScenarioError')) process.stderr.write(`switchyard: ${err.message}\n`);
  else process.stderr.write(`switchyard: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
