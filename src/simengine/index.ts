// simengine/ — the engine model served over HTTP in real time as a vLLM-compatible replica:
// OpenAI chat and completions (stream and not), /v1/models, /health, /version, /tokenize,
// /metrics with vLLM's names, and fault injection for tests.
export { startEngineServer } from './server.js';
export type { EngineServer, EngineServerOptions } from './server.js';
export { runEngineCommand } from './command.js';
export type { EngineCommandOptions } from './command.js';
export { parseFaults, resolveFaults } from './faults.js';
export type { FaultMode, Faults, FaultSpec } from './faults.js';
export { FILLER_WORDS, naturalLength } from './answer.js';
