// What every target is asked, and how an answer is checked. One place, so the direct baseline,
// nginx and Switchyard carry the same bytes and differ only in the hop under test.

export const UPSTREAM_MODEL = 'bench-model';
/** The streamed answer, one SSE event per word (eight content chunks). */
export const ANSWER_WORDS = ['Hello', ' there,', ' this', ' is', ' a', ' short', ' bench', ' answer.'];
export const ANSWER = ANSWER_WORDS.join('');

const PROMPT = 'Say hello in eight words.';

/** The wire a target speaks to its client: OpenAI chat completions or Anthropic messages. */
export function requestFor(wire, stream, key) {
  if (wire === 'anthropic') {
    return {
      path: '/v1/messages',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: UPSTREAM_MODEL, max_tokens: 16, stream, messages: [{ role: 'user', content: PROMPT }] }),
    };
  }
  const body = { model: UPSTREAM_MODEL, max_tokens: 16, messages: [{ role: 'user', content: PROMPT }] };
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return {
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  };
}

/** A cheap check on every response's last bytes: did the whole answer arrive? */
export function tailMarker(wire, stream) {
  if (!stream) return '}';
  return wire === 'anthropic' ? 'message_stop' : '[DONE]';
}

/**
 * A full check of one response body: the answer text arrived intact and the usage is there.
 * Returns null when it is right, else what is wrong.
 */
export function checkBody(wire, stream, text) {
  try {
    if (!stream) {
      const j = JSON.parse(text);
      const got = wire === 'anthropic'
        ? j.content?.map((b) => b.text ?? '').join('')
        : j.choices?.[0]?.message?.content;
      if (got !== ANSWER) return `answer text was ${JSON.stringify(got)}`;
      const out = wire === 'anthropic' ? j.usage?.output_tokens : j.usage?.completion_tokens;
      return out === ANSWER_WORDS.length ? null : `usage output tokens was ${out}`;
    }
    let got = '';
    let usage = null;
    for (const line of text.split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const j = JSON.parse(line.slice(6));
      if (wire === 'anthropic') {
        if (j.type === 'content_block_delta' && j.delta?.type === 'text_delta') got += j.delta.text;
        if (j.type === 'message_delta') usage = j.usage?.output_tokens;
      } else {
        got += j.choices?.[0]?.delta?.content ?? '';
        if (j.usage) usage = j.usage.completion_tokens;
      }
    }
    if (got !== ANSWER) return `streamed text was ${JSON.stringify(got)}`;
    return usage === ANSWER_WORDS.length ? null : `streamed usage output tokens was ${usage}`;
  } catch (err) {
    return `unparseable body: ${err.message}`;
  }
}
