// Anthropic text, image and document blocks → OpenAI content parts (API-NOTES A.2, C.1).
import { DICT, REQUIRED, STR, bad, oneOf } from './anthropic-check.js';
import { isObj } from './body.js';
const MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
/** The real API's wording for an empty text block. */
export const notEmpty = () => bad('messages', 'text content blocks must be non-empty');
/** text, image or document block → a content part. */
export function mediaBlock(blk, p, parts) {
    if (blk.type === 'text') {
        if (typeof blk.text !== 'string')
            return bad(`${p}.text.text`, blk.text === undefined ? REQUIRED : STR);
        if (blk.text.length === 0)
            return notEmpty();
        parts.push({ type: 'text', text: blk.text });
        return null;
    }
    const kind = blk.type;
    const src = blk.source;
    if (!isObj(src))
        return bad(`${p}.${kind}.source`, src === undefined ? REQUIRED : DICT);
    if (kind === 'image') {
        if (src.type === 'base64') {
            const sp = `${p}.image.source.base64`;
            if (typeof src.media_type !== 'string' || !MEDIA_TYPES.includes(src.media_type))
                return bad(`${sp}.media_type`, oneOf(MEDIA_TYPES));
            if (typeof src.data !== 'string')
                return bad(`${sp}.data`, src.data === undefined ? REQUIRED : STR);
            parts.push({ type: 'image_url', image_url: { url: `data:${src.media_type};base64,${src.data}` } });
        }
        else if (src.type === 'url') {
            if (typeof src.url !== 'string')
                return bad(`${p}.image.source.url.url`, src.url === undefined ? REQUIRED : STR);
            parts.push({ type: 'image_url', image_url: { url: src.url } });
        }
        else if (src.type === 'file') {
            return bad(`${p}.image.source`, 'file sources are not supported by this gateway; send the image as base64 or url');
        }
        else {
            return bad(`${p}.image.source.type`, oneOf(['base64', 'url', 'file']));
        }
        return null;
    }
    let text;
    if (src.type === 'text') {
        if (typeof src.data !== 'string')
            return bad(`${p}.document.source.text.data`, src.data === undefined ? REQUIRED : STR);
        text = src.data;
    }
    else if (src.type === 'content') {
        const inner = src.content;
        if (typeof inner === 'string')
            text = inner;
        else if (Array.isArray(inner))
            text = inner.map((x) => (isObj(x) && typeof x.text === 'string' ? x.text : '')).join('\n');
        else
            return bad(`${p}.document.source.content.content`, 'Input should be a valid string or a list of content blocks');
    }
    else {
        return bad(`${p}.document.source`, 'only text and content documents are supported by this gateway; extract the text of a PDF or URL and send it as a text document');
    }
    if (typeof blk.title === 'string' && blk.title.length > 0)
        text = blk.title + '\n\n' + text;
    parts.push({ type: 'text', text });
    return null;
}
/**
 * A tool_result's content as the text of a `tool` message. Text blocks are joined; images go to
 * `after`, the user message that follows the tool messages (a `tool` message carries only text),
 * as vLLM's own /v1/messages does.
 */
export function toolResultText(c, p, after) {
    if (c === undefined || c === null)
        return '';
    if (typeof c === 'string')
        return c;
    if (!Array.isArray(c))
        return bad(`${p}.tool_result.content`, 'Input should be a valid string or a list of content blocks');
    const parts = [];
    for (let k = 0; k < c.length; k++) {
        const inner = c[k];
        const ip = `${p}.tool_result.content.${k}`;
        if (!isObj(inner))
            return bad(ip, DICT);
        if (inner.type !== 'text' && inner.type !== 'image' && inner.type !== 'document')
            return bad(`${ip}.type`, oneOf(['text', 'image', 'document']));
        const e = mediaBlock(inner, ip, parts);
        if (e)
            return e;
    }
    let text = '';
    for (const part of parts) {
        if (part.type === 'text')
            text = text.length === 0 ? part.text : text + '\n' + part.text;
        else
            after.push(part);
    }
    return text;
}
