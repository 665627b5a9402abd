// The simulated model's chat template, after Llama 3.1's: a header per turn, tools as JSON in the
// system turn, tool results as `ipython` turns. Rendering is a pure function of the messages and
// tools, so a conversation's next turn starts with exactly the previous prompt's text (plus the
// answer): its leading tokens match and the prefix cache hits.

/** Structural, so OpenAI-style messages (api/types.ts `UpstreamMessage`) fit without conversion. */
export interface ChatMessageLike {
  readonly role: string;
  readonly content?: string | null | ReadonlyArray<{ readonly type: string; readonly text?: string }>;
  readonly name?: string;
  readonly tool_calls?: ReadonlyArray<{ readonly id?: string; readonly function: { readonly name: string; readonly arguments: string } }>;
  readonly tool_call_id?: string;
}

export interface ChatToolLike {
  readonly type?: string;
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown };
}

export interface RenderOptions {
  tools?: ReadonlyArray<ChatToolLike> | null;
  /** open an assistant turn at the end (vLLM `add_generation_prompt`, default true) */
  addGenerationPrompt?: boolean;
  /** leave the final message open so the answer continues it (vLLM `continue_final_message`, a prefill) */
  continueFinalMessage?: boolean;
}

const BOS = '<|begin_of_text|>';
const EOT = '<|eot_id|>';

function header(role: string): string {
  return `<|start_header_id|>${role}<|end_header_id|>\n\n`;
}

/** Text of a message's content: parts joined, images as one `<|image|>` token. */
export function contentText(content: ChatMessageLike['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let out = '';
  for (const part of content) {
    if (part.type === 'text') out += part.text ?? '';
    else if (part.type === 'image_url' || part.type === 'image') out += '<|image|>';
  }
  return out;
}

function toolsText(tools: ReadonlyArray<ChatToolLike>): string {
  let out = 'Environment: ipython\nYou have access to the following functions. To call a function, respond with JSON of the form {"name": function name, "parameters": {argument name: value}}.\n\n';
  for (const t of tools) out += JSON.stringify(t.type ? t : { type: 'function', function: t.function }) + '\n\n';
  return out;
}

/** Render messages (system, developer, user, assistant, tool) to the prompt text. */
export function renderChat(messages: ReadonlyArray<ChatMessageLike>, opts: RenderOptions = {}): string {
  let out = BOS;
  let i = 0;
  const tools = opts.tools && opts.tools.length > 0 ? opts.tools : null;
  // the system turn: tools first (they change least), then leading system/developer messages
  let system: string | null = tools ? toolsText(tools) : null;
  while (i < messages.length && (messages[i].role === 'system' || messages[i].role === 'developer')) {
    const text = contentText(messages[i++].content);
    system = system === null ? text : system.endsWith('\n\n') ? system + text : system + '\n\n' + text;
  }
  if (system !== null) out += header('system') + system + EOT;
  for (; i < messages.length; i++) {
    const m = messages[i];
    switch (m.role) {
      case 'assistant': {
        let body = contentText(m.content);
        if (m.tool_calls) {
          for (const c of m.tool_calls) body += `{"name": ${JSON.stringify(c.function.name)}, "parameters": ${c.function.arguments || '{}'}}`;
        }
        out += header('assistant') + body + (opts.continueFinalMessage && i === messages.length - 1 ? '' : EOT);
        break;
      }
      case 'tool':
      case 'ipython':
        out += header('ipython') + contentText(m.content) + EOT;
        break;
      default:
        out += header(m.role === 'developer' ? 'system' : m.role) + contentText(m.content) + EOT;
    }
  }
  if (opts.addGenerationPrompt !== false && !opts.continueFinalMessage) out += header('assistant');
  return out;
}
