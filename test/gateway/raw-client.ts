import { connect, type Socket } from 'node:net';

/** A client on a raw socket: write what you like, when you like, and read what comes back. */
export interface RawClient {
  readonly socket: Socket;
  /** everything received so far */
  readonly received: () => string;
  /** resolves when the socket has closed (by either side), with whether it was reset */
  readonly closed: Promise<{ reset: boolean }>;
  /** waits until what was received matches, or fails after `ms` */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** writes, resolving false when the socket is gone (EPIPE, reset) instead of throwing */
  write(data: string | Buffer): Promise<boolean>;
}

export function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    let reset = false;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') reset = true;
    });
    const closed = new Promise<{ reset: boolean }>((r) => socket.once('close', () => r({ reset })));
    socket.once('connect', () => resolve({
      socket,
      received: () => text,
      closed,
      async waitFor(re, ms = 5_000) {
        const until = Date.now() + ms;
        for (;;) {
          const m = text.match(re);
          if (m) return m;
          if (Date.now() > until) throw new Error(`did not receive ${re} within ${ms} ms; got: ${JSON.stringify(text.slice(0, 500))}`);
          if (socket.destroyed && !text.match(re)) throw new Error(`socket closed before ${re}; got: ${JSON.stringify(text.slice(0, 500))}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      },
      write(data) {
        if (socket.destroyed || !socket.writable) return Promise.resolve(false);
        // resolves once the data is handed to the kernel: a writer that awaits each write is paced by it
        return new Promise((r) => socket.write(data, (err) => r(!err)));
      },
    }));
    socket.once('error', reject);
  });
}

/** The head of a request, ending in the blank line. */
export function head(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: localhost\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
