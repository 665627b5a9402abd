// A reference point, not a product: the least a Node.js proxy can cost below node:http and undici.
// HTTP/1.1 parsed by hand on raw `net` sockets, keep-alive both ways, Content-Length bodies only
// (what the load generators and the fast upstream send). It answers one question: how much of a
// Node gateway's per-request CPU is node:http + undici, and how much is the runtime itself.
import { connect, createServer } from 'node:net';

const [host, port] = new URL(process.env.BARE_UPSTREAM).host.split(':');
const idle = [];

function headEnd(buf) {
  return buf.indexOf('\r\n\r\n');
}

function contentLength(head) {
  const i = head.toLowerCase().indexOf('\r\ncontent-length:');
  if (i === -1) return 0;
  const end = head.indexOf('\r\n', i + 17);
  return parseInt(head.slice(i + 17, end === -1 ? head.length : end), 10);
}

/** Reads one Content-Length message at a time from a socket; calls onMessage(head, whole). */
function reader(socket, onMessage) {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const e = headEnd(buf);
      if (e === -1) return;
      const head = buf.toString('latin1', 0, e);
      const total = e + 4 + contentLength(head);
      if (buf.length < total) return;
      const msg = buf.subarray(0, total);
      buf = buf.subarray(total);
      onMessage(head, msg);
    }
  });
}

function upstream(cb) {
  const s = idle.pop();
  if (s) return cb(s);
  const sock = connect(Number(port), host, () => cb(sock));
  sock.setNoDelay(true);
  reader(sock, (_head, msg) => {
    const done = sock.onAnswer;
    sock.onAnswer = null;
    idle.push(sock);
    done(msg);
  });
}

const server = createServer((client) => {
  client.setNoDelay(true);
  client.on('error', () => client.destroy());
  reader(client, (_head, msg) => {
    upstream((up) => {
      up.onAnswer = (answer) => { if (!client.destroyed && client.writable) client.write(answer); };
      up.write(msg);
    });
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ type: 'listening', port: server.address().port }));
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
