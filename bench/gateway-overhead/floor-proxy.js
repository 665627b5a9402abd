// A second reference, not a product: the bare proxy (bare-proxy.js) plus only the work no JSON
// gateway can skip — parse the client's body, serialize the body sent on, parse the replica's
// answer, serialize the answer sent back — and a response with its own length and a request id.
// No auth, limits, admission, routing, ledger or metrics. What it costs above bare-proxy.js is
// the price of touching the JSON at all; a gateway's ratio to the bare proxy cannot go below
// this one's. Forked by run.js (target `floor-node-proxy`).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Pool } from 'undici';

const origin = process.env.BARE_UPSTREAM;
const pool = new Pool(origin, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 });
const UP_HEADERS = { 'content-type': 'application/json' };

class Relay {
  constructor(res) {
    this.res = res;
    this.status = 0;
    this.parts = [];
  }
  onRequestStart() {}
  onResponseStart(_c, status) {
    this.status = status;
  }
  onResponseData(_c, chunk) {
    this.parts.push(chunk);
  }
  onResponseEnd() {
    const raw = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    // the floor: the answer read as JSON and written again
    const body = JSON.stringify(JSON.parse(raw.toString('utf8')));
    const id = randomUUID();
    this.res.writeHead(this.status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)), 'x-request-id', id]);
    this.res.end(body);
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
    const raw = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    // the floor: the request read as JSON and written again for the replica
    const body = JSON.stringify(JSON.parse(raw.toString('utf8')));
    pool.dispatch({ origin, path: req.url, method: req.method, headers: UP_HEADERS, body }, new Relay(res));
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
