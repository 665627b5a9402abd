import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

// A TCP proxy on 127.0.0.1 port 0 in front of a real server, that can be switched to a partition:
// connections stay open and everything sent is swallowed, nothing answers — the silent failure a
// dropped route or a dead host gives, unlike a refusal. Healing resets every connection that lived
// through the partition (what was swallowed is gone, so their byte streams cannot resume, as a TCP
// connection that timed out cannot) and forwards new ones.

export interface Blackhole {
  readonly port: number;
  /** `host:port` of the proxy */
  readonly address: string;
  /** swallow everything, on open connections and new ones */
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function blackholeProxy(targetHost: string, targetPort: number): Promise<Blackhole> {
  let down = false;
  const live = new Set<Socket>();
  const server: Server = createServer((client) => {
    live.add(client);
    client.on('close', () => live.delete(client));
    client.on('error', () => {});
    if (down) {
      client.resume(); // swallowed
      return;
    }
    const upstream = connect(targetPort, targetHost);
    live.add(upstream);
    upstream.on('close', () => live.delete(upstream));
    // a socket the client gave up on frees its server-side connection
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (d) => {
      if (!down) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!down) client.write(d);
    });
    // a partitioned peer never says goodbye either
    client.on('end', () => { if (!down) upstream.end(); });
    upstream.on('end', () => { if (!down) client.end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    partition() { down = true; },
    heal() {
      for (const s of live) s.destroy();
      down = false;
    },
    close() {
      for (const s of live) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
