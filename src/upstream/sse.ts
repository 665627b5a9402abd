import { StringDecoder } from 'node:string_decoder';

// Incremental reader of `data:` payloads from an SSE byte stream (what an OpenAI-compatible replica
// sends). Events end at a blank line; `\r\n` line ends are tolerated; comments and other fields are
// ignored.

export interface SseDataHandler {
  onSseData(data: string): void;
}

export class SseReader {
  #buf = '';
  // Decodes across chunk boundaries: a UTF-8 character may be split between two TCP reads.
  readonly #decoder = new StringDecoder('utf8');
  constructor(private readonly handler: SseDataHandler) {}

  push(chunk: Buffer): void {
    const piece = this.#decoder.write(chunk);
    let text = this.#buf.length ? this.#buf + piece : piece;
    if (text.includes('\r')) {
      // Normalise line ends, but keep a trailing '\r' whose '\n' may be in the next chunk.
      const tail = text.endsWith('\r') ? '\r' : '';
      text = (tail ? text.slice(0, -1) : text).replace(/\r\n?/g, '\n') + tail;
    }
    let start = 0;
    for (let end = text.indexOf('\n\n'); end !== -1; end = text.indexOf('\n\n', start)) {
      this.#event(text, start, end);
      start = end + 2;
    }
    this.#buf = start === 0 ? text : text.slice(start);
  }

  #event(text: string, start: number, end: number): void {
    let data: string | null = null;
    for (let lineStart = start; lineStart < end; ) {
      let lineEnd = text.indexOf('\n', lineStart);
      if (lineEnd === -1 || lineEnd > end) lineEnd = end;
      if (text.startsWith('data:', lineStart)) {
        const valueStart = text.charCodeAt(lineStart + 5) === 32 ? lineStart + 6 : lineStart + 5;
        const value = text.slice(valueStart, lineEnd);
        data = data === null ? value : data + '\n' + value;
      }
      lineStart = lineEnd + 1;
    }
    if (data !== null) this.handler.onSseData(data);
  }

  /** Bytes received after the last complete event (a stream cut mid-event leaves some). */
  get pending(): number {
    return this.#buf.length;
  }
}
