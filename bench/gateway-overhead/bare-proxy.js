// A reference point, not a product: the least a Node.js proxy can do — node:http in, undici Pool
// out, bytes relayed as they come, no parsing, auth, routing or ledger. What it costs on this
// machine is the floor any gateway on node:http + undici stands on. Forked by run.js.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const origin = process.env.BARE_UPSTREAM;
const pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

class Relay {
  constructor(res) {
    this.res = res;
  }
  onRequestStart() {}
  onResponseStart(_c, status, headers) {
    const h = {};
    for (const k in headers) if (!HOP.has(k)) h[k] = headers[k];
    if (headers['content-length'] !== undefined) h['content-length'] = headers['content-length'];
    this.res.writeHead(status, h);
  }
  onResponseData(_c, chunk) {
    this.res.write(chunk);
  }
  onResponseEnd() {
    this.res.end();
  }
  onResponseError(_c, err) {
    if (!this.res.headersSent) this.res.writeHead(502, { 'content-type': 'application/json' });
    this.res.end(JSON.stringify({ error: { message: err.message } }));
  }
}

const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    pool.dispatch({
      origin, path: req.url, method: req.method,
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      body: parts.length === 1 ? parts[0] : Buffer.concat(parts),
    }, new Relay(res));
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
