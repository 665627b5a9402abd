// Anthropic text, image and document blocks → OpenAI content parts (text, image_url). Shapes
// are the schema's; this refuses only the sources no replica can read.
import { bad, type Bad } from './check.js';
import type { Block } from '../schema/anthropic.js';
import type { UpstreamContentPart } from '../types.js';

type Media = Extract<Block, { type: 'text' | 'image' | 'document' }>;
type Inner = Exclude<Extract<Block, { type: 'tool_result' }>['content'], null | undefined>;

/** The real API's wording for an empty text block. */
export const notEmpty = (): Bad => bad('messages', 'text content blocks must be non-empty');

/** text, image or document block → a content part. */
export function mediaBlock(blk: Media, p: string, parts: UpstreamContentPart[]): Bad | null {
  if (blk.type === 'text') {
    if (blk.text.length === 0) return notEmpty();
    parts.push({ type: 'text', text: blk.text });
    return null;
  }
  if (blk.type === 'image') {
    const src = blk.source;
    if (src.type === 'base64') parts.push({ type: 'image_url', image_url: { url: `data:${src.media_type};base64,${src.data}` } });
    else if (src.type === 'url') parts.push({ type: 'image_url', image_url: { url: src.url } });
    else return bad(`${p}.image.source`, 'file sources are not supported by this gateway; send the image as base64 or url');
    return null;
  }
  const src = blk.source;
  let text: string;
  if (src.type === 'text') {
    text = src.data;
  } else if (src.type === 'content') {
    const inner = src.content;
    if (typeof inner === 'string') text = inner;
    else text = inner.map((x) => (x.type === 'text' ? x.text : '')).join('\n');
  } else {
    return bad(`${p}.document.source`, 'only text and content documents are supported by this gateway; extract the text of a PDF or URL and send it as a text document');
  }
  if (typeof blk.title === 'string' && blk.title.length > 0) text = blk.title + '\n\n' + text;
  parts.push({ type: 'text', text });
  return null;
}

/**
 * A tool_result's content as the text of a `tool` message. Text blocks are joined; images go to
 * `after`, the user message that follows the tool messages (a `tool` message carries only text),
 * as vLLM's own /v1/messages does.
 */
export function toolResultText(c: Inner | null | undefined, p: string, after: UpstreamContentPart[]): string | Bad {
  if (c === undefined || c === null) return '';
  if (typeof c === 'string') return c;
  const parts: UpstreamContentPart[] = [];
  for (let k = 0; k < c.length; k++) {
    const e = mediaBlock(c[k], `${p}.tool_result.content.${k}`, parts);
    if (e) return e;
  }
  let text = '';
  for (const part of parts) {
    if (part.type === 'text') text = text.length === 0 ? part.text : text + '\n' + part.text;
    else after.push(part);
  }
  return text;
}
