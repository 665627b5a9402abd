import { wallClock } from '../time/index.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import type { Store, StoreOptions } from './types.js';

/**
 * Opens the store a URL names and brings its schema up to date:
 * `postgres://…` / `postgresql://…` (optionally `?schema=name`), `sqlite:/path/file.db`,
 * `sqlite::memory:`, or a plain file path.
 */
export async function openStore(url: string, opts: StoreOptions = {}): Promise<Store> {
  const clock = opts.clock ?? wallClock;
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, opts, clock);
  return openSqlite(sqlitePath(url), clock, opts.timeoutMs);
}

function sqlitePath(url: string): string {
  if (!url.startsWith('sqlite:')) return url;
  let p = url.slice('sqlite:'.length);
  // sqlite:///abs/path and sqlite://rel/path, as some tools write them
  if (p.startsWith('//')) p = p.slice(2);
  if (p === '' ) throw new Error("sqlite store URL has no path: use 'sqlite:/path/to/file.db' or 'sqlite::memory:'");
  return p;
}
