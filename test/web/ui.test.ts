import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from '../gateway/support.js';

// /ui as the gateway serves it: the app's files and the vendor modules, with the headers a
// browser needs to cache them and to refuse anything else on the page.

let p: Platform;
beforeAll(async () => { p = await scriptedPlatform({ key: 'sk-sy-ui-test-key-0123456789abcdefghijklmnop', adminToken: 'ui-admin' }); });
afterAll(async () => { await p.close(); });

/** A raw request, so paths such as `/ui/../x` reach the gateway as written (fetch would normalise them). */
function raw(path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(p.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard at /ui', () => {
  it('answers a navigation with the page, its import map allowed by hash in a self-only CSP', async () => {
    for (const path of ['/ui', '/ui/']) {
      const r = await raw(path);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toContain('<script type="importmap">');
      const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(r.body)![1];
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain(`script-src 'self' 'sha256-${createHash('sha256').update(map).digest('base64')}'`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves app files as no-cache and vendor modules as long-lived, with the right types', async () => {
    const app = await raw('/ui/app.js');
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(app.headers['cache-control']).toBe('no-cache');
    expect(app.body).toBe(readFileSync(new URL('../../web/app.js', import.meta.url), 'utf8'));
    const css = await raw('/ui/style.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    for (const v of ['preact.module.js', 'hooks.module.js', 'htm.module.js', 'uPlot.esm.js', 'uPlot.min.css']) {
      const r = await raw(`/ui/vendor/${v}`);
      expect(r.status, v).toBe(200);
      expect(r.headers['cache-control'], v).toBe('public, max-age=31536000, immutable');
      expect(r.body.length, v).toBeGreaterThan(1000);
    }
    // hooks import the bare specifier, which the page's import map resolves
    expect((await raw('/ui/vendor/hooks.module.js')).body).toContain('from"preact"');
  });

  it('answers a repeated request with 304 when the ETag matches, and HEAD without a body', async () => {
    const first = await raw('/ui/app.js');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await raw('/ui/app.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const stale = await raw('/ui/app.js', { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
    const head = await raw('/ui/app.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(first.body));
  });

  it('never serves anything outside web/ and the listed vendor files', async () => {
    for (const path of [
      '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/%2E%2E%2Fpackage.json', '/ui/vendor/../../package.json',
      '/ui//etc/passwd', '/ui/%2Fetc%2Fpasswd', '/ui/app.js%00', '/ui/app.js\u0000'.replace('\u0000', '%00'),
      '/ui/vendor/preact.js', '/ui/vendor/../../node_modules/preact/package.json', '/ui/missing.js', '/ui/views/', '/ui/.hidden',
      '/ui/overview', '/ui/index.html/',
    ]) {
      const r = await raw(path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('"name"');
      expect(r.body, path).not.toContain('root:');
    }
  });

  it('refuses other methods with 405 and allow: GET, HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      for (const path of ['/ui/app.js', '/ui', '/ui/missing.js']) {
        const r = await raw(path, { method });
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD');
      }
    }
  });

  it('ignores a query string, and answers HEAD for a missing file with a bodiless 404', async () => {
    const app = await raw('/ui/app.js?v=2');
    expect(app.status).toBe(200);
    expect(app.body).toBe(readFileSync(new URL('../../web/app.js', import.meta.url), 'utf8'));
    const page = await raw('/ui/?next=%2Ffleet');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="importmap">');
    const head = await raw('/ui/missing.js', { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(head.body).toBe('');
  });
});
