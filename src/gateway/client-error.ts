import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { newRequestId, renderError, type GatewayError } from '../api/index.js';

// What Node's HTTP parser refuses before there is a request (headers over 16 KiB, a broken request
// line, `content-length: abc`, headers that never finish) gets an answer in an envelope both SDKs
// read, with a request id, instead of Node's bare status line. The path is not known yet, so the
// envelope is Anthropic's: the OpenAI SDK reads its `error.message` as well.

function refusal(code: string | undefined): { status: number; error: GatewayError } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, error: { kind: 'request_too_large', message: 'The request headers are larger than the limit of 16 KiB; send the key and the usual headers only.' } };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, error: { kind: 'request_timeout', message: 'The request headers did not arrive in time (server.headersTimeoutMs); the connection is closed.' } };
    default:
      return { status: 400, error: { kind: 'invalid_request', message: `The request is not valid HTTP/1.1 (${code ?? 'parse error'}); check its request line, headers and content-length.` } };
  }
}

/** The server's `clientError` listener. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // a response already under way on this connection cannot be followed by another
  const current = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const { status, error } = refusal(err.code);
  const requestId = newRequestId();
  const body = renderError('anthropic', error, requestId).body;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
