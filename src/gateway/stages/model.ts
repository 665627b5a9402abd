import type { GatewayError } from '../../api/index.js';
import type { ModelCatalogue } from '../catalogue.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../pipeline.js';

/**
 * The model asked for → `cx.entry`, and its output cap. More output asked for than the model
 * allows is, by the model's maxTokensPolicy, refused, or capped (the default, since agents ask 32k
 * of models they do not know) before the rate limits reserve it, in the body the replica gets,
 * and said in `x-switchyard-max-tokens`. No cap at all (OpenAI's max_tokens and
 * max_completion_tokens both absent) is the model's defaultMaxTokens, said the same way.
 */
export function resolveModel(models: Pick<ModelCatalogue, 'get' | 'ids'>): Stage {
  return (cx: RequestContext): GatewayError | null => {
    const ireq = cx.ireq!;
    const entry = models.get(ireq.model);
    if (entry === undefined) {
      return { kind: 'not_found', param: 'model', message: `model: ${ireq.model} is not served here. Available models: ${models.ids.join(', ')}.` };
    }
    cx.entry = entry;
    const m = entry.config;
    const asked = ireq.maxTokens;
    const cap = m.maxOutputTokens;
    if (asked === null) {
      // an OpenAI client that sets no cap gets the model's default, in the body the replica gets
      // too: unbounded, a stream could run to the context's end past what the limits reserved
      ireq.upstream.max_tokens = m.defaultMaxTokens;
      cx.res.setHeader('x-switchyard-max-tokens', `${m.defaultMaxTokens}; requested=none`);
      cx.ireq = { ...ireq, maxTokens: m.defaultMaxTokens };
      return null;
    }
    if (asked <= cap) return null;
    if (m.maxTokensPolicy === 'refuse') {
      return { kind: 'invalid_request', param: ireq.wire === 'anthropic' ? 'max_tokens' : 'max_completion_tokens', message: `max_tokens: ${asked} > ${cap}, which is the maximum allowed number of output tokens for ${m.id}` };
    }
    const up = ireq.upstream;
    if (typeof up.max_tokens === 'number' && up.max_tokens > cap) up.max_tokens = cap;
    if (typeof up.max_completion_tokens === 'number' && up.max_completion_tokens > cap) up.max_completion_tokens = cap;
    cx.res.setHeader('x-switchyard-max-tokens', `${cap}; requested=${asked}`);
    cx.ireq = { ...ireq, maxTokens: cap };
    return null;
  };
}
