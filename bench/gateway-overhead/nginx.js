// nginx as the reference reverse proxy: its own prefix and config in a temp dir, one worker,
// keep-alive to the upstream, run as a non-daemon child of the runner.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { childrenOf } from './procstat.js';
import { isLive, tempDir, track } from './targets.js';

export function nginxPath() {
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** nginx as a plain keep-alive reverse proxy: one worker, own prefix, not a daemon. */
export async function startNginx({ bin, upstreamPort }) {
  const prefix = tempDir('switchyard-bench-nginx-');
  // The worker may run as another user (nobody) when we are root: let it reach its temp paths.
  chmodSync(prefix, 0o755);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, 'tmp', d), { recursive: true });
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 100000000;
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # An LLM relay must pass SSE events on as they come, so no response buffering.
      proxy_buffering off;
    }
  }
}
`);
  const child = spawn(bin, ['-p', prefix, '-c', conf, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const entry = track(child, 'nginx');
  let err = '';
  child.stderr.on('data', (c) => { err = (err + c).slice(-4_000); });
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!isLive(entry)) throw new Error(`nginx exited at start: ${err.trim()}`);
    try {
      const r = await request(`${origin}/health`);
      await r.body.dump();
      if (r.statusCode === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`nginx did not answer within 10 s: ${err.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const workers = childrenOf(child.pid);
  if (workers.length === 0) throw new Error('nginx started but no worker process was found');
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '');
  return { entry, pid: child.pid, workers, origin, version };
}
