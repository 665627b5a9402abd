import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UiHandler } from './server.js';

// The dashboard: web/ and a few vendor modules from node_modules, read once at start and served
// from memory. Only the files in that table exist: a path is looked up, never joined onto a
// directory, so `..`, encoded dots, absolute paths and NUL cannot reach the disk.

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const APP_CACHE = 'no-cache';
// vendor files change only with node_modules, i.e. a new release
const VENDOR_CACHE = 'public, max-age=31536000, immutable';

/** Vendor files by URL under /ui/vendor/: package, and the file relative to the package's main entry. */
const VENDOR: Array<[url: string, pkg: string, rel: string]> = [
  ['preact.module.js', 'preact', 'preact.module.js'],
  ['hooks.module.js', 'preact', '../hooks/dist/hooks.module.js'],
  ['htm.module.js', 'htm', 'htm.module.js'],
  ['uPlot.esm.js', 'uplot', 'uPlot.esm.js'],
  ['uPlot.min.css', 'uplot', 'uPlot.min.css'],
];

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

function asset(body: Buffer, name: string, cache: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag, cache };
}

function readWeb(dir: string, prefix: string, into: Map<string, Asset>): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) readWeb(full, `${prefix}${name}/`, into);
    else into.set(`${prefix}${name}`, asset(readFileSync(full), name, APP_CACHE));
  }
}

/** The CSP for the page: self only, plus the inline import map by its hash. */
function policy(index: Buffer | undefined): string {
  const hashes: string[] = [];
  if (index !== undefined) {
    const re = /<script type="importmap">([\s\S]*?)<\/script>/g;
    for (const m of index.toString('utf8').matchAll(re)) {
      hashes.push(`'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
    }
  }
  return [
    "default-src 'none'", `script-src 'self' ${hashes.join(' ')}`.trimEnd(), "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "font-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

export interface UiOptions {
  /** the directory of the app's files; default web/ beside src/ and dist/ */
  dir?: string;
}

/** Serves the dashboard under /ui: GET and HEAD, from files read once here. */
export function createUi(o: UiOptions = {}): UiHandler {
  const files = new Map<string, Asset>();
  try {
    readWeb(o.dir ?? WEB_DIR, '', files);
  } catch {
    // no web/ (a trimmed install): /ui answers 404 rather than failing the gateway's start
  }
  const require = createRequire(import.meta.url);
  for (const [url, pkg, rel] of VENDOR) {
    try {
      const file = join(dirname(require.resolve(pkg)), rel);
      files.set(`vendor/${url}`, asset(readFileSync(file), url, VENDOR_CACHE));
    } catch {
      // a missing vendor module shows as a 404 for that file, and the page says it cannot load
    }
  }
  const index = files.get('index.html');
  const csp = policy(index?.body);
  const common = {
    'content-security-policy': csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY',
  };
  return (req, res, path) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { ...common, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${method} is not allowed here; the dashboard answers GET and HEAD.\n`);
      return;
    }
    // navigations get the page; everything else must be a file that exists, byte for byte
    const rel = path === '/ui' || path === '/ui/' ? 'index.html' : path.slice(4);
    const a = files.get(rel);
    if (a === undefined) {
      res.writeHead(404, { ...common, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(method === 'HEAD' ? undefined : 'Not found.\n');
      return;
    }
    const headers = { ...common, 'content-type': a.type, etag: a.etag, 'cache-control': a.cache };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': a.body.length });
    res.end(method === 'HEAD' ? undefined : a.body);
  };
}
