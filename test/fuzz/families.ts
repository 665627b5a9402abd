import type fc from 'fast-check';
import type { Case } from './cases.js';
import { invalidAdmin, validAdmin } from './arbitraries/admin.js';
import { invalidCountTokens, invalidMessages, surrogateMessages, validCountTokens, validMessages } from './arbitraries/anthropic.js';
import { mangledRequests, oddPaths, wrongContentType } from './arbitraries/http.js';
import { invalidChat, oddChat, validChat } from './arbitraries/openai.js';

/** Every generator, by name, for the bench (the specs import the ones they test). */
export const FAMILIES: ReadonlyArray<readonly [string, fc.Arbitrary<Case>]> = [
  ['anthropic.valid', validMessages], ['anthropic.invalid', invalidMessages], ['anthropic.surrogates', surrogateMessages],
  ['count_tokens.valid', validCountTokens], ['count_tokens.invalid', invalidCountTokens],
  ['openai.valid', validChat], ['openai.invalid', invalidChat], ['openai.odd', oddChat],
  ['admin.valid', validAdmin], ['admin.invalid', invalidAdmin],
  ['http.mangled', mangledRequests], ['http.paths', oddPaths], ['http.content-type', wrongContentType],
];
