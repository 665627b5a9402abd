// Request bodies the validation benchmark runs: a small chat, a Claude-Code-sized body (the
// captured client fixture: 24 tools with JSON schemas, cache_control, thinking, metadata) and a
// long tool conversation, each in both wire formats.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function bodies(root) {
  const cc = JSON.parse(readFileSync(join(root, 'test', 'api', 'fixtures', 'clients', 'claude-code-2.1.197-messages.json'), 'utf8'));
  // the body Claude Code retries with once a mid-conversation system message is refused
  cc.messages = cc.messages.filter((m) => m.role !== 'system');
  const ccOpenAI = {
    model: cc.model,
    max_completion_tokens: 32000,
    stream: true,
    messages: [{ role: 'system', content: cc.system.map((b) => b.text).join('\n') }, ...cc.messages.map((m) => ({ role: m.role, content: m.content.map((b) => ({ type: 'text', text: b.text })) }))],
    tools: cc.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })),
    user: 'u-1',
  };

  const tools = ['read_file', 'grep', 'run_tests'].map((name) => ({ name, description: `The ${name} tool.`, input_schema: { type: 'object', properties: { path: { type: 'string' }, pattern: { type: 'string' } }, required: ['path'] } }));
  const a = [{ role: 'user', content: 'Find the failing test and fix it.' }];
  const o = [{ role: 'system', content: 'You are a coding agent.' }, { role: 'user', content: 'Find the failing test and fix it.' }];
  for (let i = 0; i < 40; i++) {
    const id = `toolu_${String(i).padStart(4, '0')}`;
    const input = { path: `src/file-${i}.ts`, pattern: 'describe\\(' };
    const result = `line ${i}: ` + 'const x = compute(a, b); '.repeat(8);
    a.push({ role: 'assistant', content: [{ type: 'text', text: `Looking at file ${i}.` }, { type: 'tool_use', id, name: 'grep', input }] });
    a.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: result }] }] });
    o.push({ role: 'assistant', content: `Looking at file ${i}.`, tool_calls: [{ id, type: 'function', function: { name: 'grep', arguments: JSON.stringify(input) } }] });
    o.push({ role: 'tool', tool_call_id: id, content: result });
  }
  a.push({ role: 'assistant', content: 'Found it.' });
  a.push({ role: 'user', content: 'Go on.' });
  o.push({ role: 'user', content: 'Go on.' });

  return [
    { name: 'small chat', anthropic: { model: 'llama-3.1-8b', max_tokens: 256, messages: [{ role: 'user', content: 'Hello, how are you?' }] }, openai: { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'Hello, how are you?' }] } },
    { name: 'Claude Code (24 tools, cache_control)', anthropic: cc, openai: ccOpenAI },
    { name: 'tool conversation (40 round trips)', anthropic: { model: 'm', max_tokens: 1024, tools, messages: a }, openai: { model: 'm', tools: tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })), messages: o } },
  ];
}
