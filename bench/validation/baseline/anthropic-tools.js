// Anthropic tools and tool_choice → OpenAI function tools, tool_choice and parallel_tool_calls
// (API-NOTES A.2, C.1). Only client tools can run on a replica; server tools are refused by name.
import { BOOL, DICT, LIST, REQUIRED, STR, bad, oneOf } from './anthropic-check.js';
import { isObj } from './body.js';
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const CHOICES = ['auto', 'any', 'tool', 'none'];
export function checkTools(b, up) {
    const tools = b.tools;
    let names = null;
    if (tools !== undefined && tools !== null) {
        if (!Array.isArray(tools))
            return bad('tools', LIST);
        const out = new Array(tools.length);
        names = new Set();
        for (let i = 0; i < tools.length; i++) {
            const t = tools[i];
            const p = `tools.${i}`;
            if (!isObj(t))
                return bad(p, DICT);
            if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
                return bad(`${p}.type`, `server tool '${String(t.type)}' is not supported by this gateway; define a client tool with name and input_schema instead`);
            }
            if (t.name === undefined)
                return bad(`${p}.name`, REQUIRED);
            if (typeof t.name !== 'string')
                return bad(`${p}.name`, STR);
            if (!TOOL_NAME.test(t.name))
                return bad(`${p}.name`, "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'");
            if (t.input_schema === undefined)
                return bad(`${p}.input_schema`, REQUIRED);
            if (!isObj(t.input_schema))
                return bad(`${p}.input_schema`, DICT);
            if (t.description !== undefined && t.description !== null && typeof t.description !== 'string')
                return bad(`${p}.description`, STR);
            if (names.has(t.name))
                return bad('tools', `Tool names must be unique; '${t.name}' appears more than once`);
            names.add(t.name);
            const fn = { name: t.name, parameters: t.input_schema };
            if (typeof t.description === 'string')
                fn.description = t.description;
            if (typeof t.strict === 'boolean')
                fn.strict = t.strict;
            out[i] = { type: 'function', function: fn };
        }
        if (out.length > 0)
            up.tools = out;
    }
    const tc = b.tool_choice;
    if (tc === undefined || tc === null)
        return null;
    if (!isObj(tc))
        return bad('tool_choice', DICT);
    if (tc.type === undefined)
        return bad('tool_choice.type', REQUIRED);
    if (typeof tc.type !== 'string' || !CHOICES.includes(tc.type))
        return bad('tool_choice.type', oneOf(CHOICES));
    const dpt = tc.disable_parallel_tool_use;
    if (dpt !== undefined && dpt !== null && typeof dpt !== 'boolean')
        return bad(`tool_choice.${tc.type}.disable_parallel_tool_use`, BOOL);
    if (tc.type === 'none') {
        if (up.tools)
            up.tool_choice = 'none';
        return null;
    }
    if (names === null || names.size === 0) {
        if (tc.type === 'auto')
            return null;
        return bad('tool_choice', `tool_choice '${tc.type}' needs tools; define them in tools or drop tool_choice`);
    }
    if (tc.type === 'tool') {
        if (tc.name === undefined)
            return bad('tool_choice.tool.name', REQUIRED);
        if (typeof tc.name !== 'string')
            return bad('tool_choice.tool.name', STR);
        if (!names.has(tc.name))
            return bad('tool_choice.tool.name', `no tool named '${tc.name}' is defined in tools`);
        up.tool_choice = { type: 'function', function: { name: tc.name } };
    }
    else {
        up.tool_choice = tc.type === 'any' ? 'required' : 'auto';
    }
    if (dpt === true)
        up.parallel_tool_calls = false;
    return null;
}
