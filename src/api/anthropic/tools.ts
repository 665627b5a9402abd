// Anthropic tools and tool_choice → OpenAI function tools, tool_choice and parallel_tool_calls
// (`disable_parallel_tool_use` inverted). Only client tools can run on a replica; server tools are refused by name.
import { REQUIRED, bad, type Bad } from './check.js';
import type { CountTokensBody } from '../schema/anthropic.js';
import type { UpstreamChatBody, UpstreamTool } from '../types.js';

type ToolTarget = { tools?: UpstreamTool[]; tool_choice?: UpstreamChatBody['tool_choice']; parallel_tool_calls?: boolean };

export function convertTools(b: Pick<CountTokensBody, 'tools' | 'tool_choice'>, up: ToolTarget): Bad | null {
  const tools = b.tools;
  let names: Set<string> | null = null;
  if (tools) {
    const out: UpstreamTool[] = new Array(tools.length);
    names = new Set();
    for (let i = 0; i < tools.length; i++) {
      const t = tools[i];
      const p = `tools.${i}`;
      if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
        return bad(`${p}.type`, `server tool '${t.type}' is not supported by this gateway; define a client tool with name and input_schema instead`);
      }
      if (t.input_schema === undefined) return bad(`${p}.input_schema`, REQUIRED);
      if (names.has(t.name)) return bad('tools', `Tool names must be unique; '${t.name}' appears more than once`);
      names.add(t.name);
      const fn: UpstreamTool['function'] = { name: t.name, parameters: t.input_schema };
      if (typeof t.description === 'string') fn.description = t.description;
      if (typeof t.strict === 'boolean') fn.strict = t.strict;
      out[i] = { type: 'function', function: fn };
    }
    if (out.length > 0) up.tools = out;
  }
  const tc = b.tool_choice;
  if (tc === undefined || tc === null) return null;
  if (tc.type === 'none') {
    if (up.tools) up.tool_choice = 'none';
    return null;
  }
  if (names === null || names.size === 0) {
    if (tc.type === 'auto') return null;
    return bad('tool_choice', `tool_choice '${tc.type}' needs tools; define them in tools or drop tool_choice`);
  }
  if (tc.type === 'tool') {
    if (!names.has(tc.name)) return bad('tool_choice.tool.name', `no tool named '${tc.name}' is defined in tools`);
    up.tool_choice = { type: 'function', function: { name: tc.name } };
  } else {
    up.tool_choice = tc.type === 'any' ? 'required' : 'auto';
  }
  if (tc.disable_parallel_tool_use === true) up.parallel_tool_calls = false;
  return null;
}
