import { closeSync, existsSync, fchmodSync, fsyncSync, ftruncateSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type { Store, UsageRecord } from './types.js';
import { wellFormed } from './well-formed.js';

// Usage records the store could not take in time (a final flush past its deadline, a full buffer)
// go to a local file instead of being dropped: JSON lines, appended, fsync'd before append()
// returns, readable by the gateway's user only. The next start replays the file into the store
// before serving; inserts skip request ids already written, so a record that reached the store
// and the file both (a commit whose reply was lost) is counted once.

export interface SpillFile {
  readonly path: string;
  /** Appends and fsyncs; throws when the disk refuses (the caller counts the records as dropped). */
  append(records: readonly UsageRecord[]): void;
  /** Empties the file (everything in it has reached the store). */
  clear(): void;
  close(): void;
}

export function openSpill(path: string): SpillFile {
  let fd: number | null = null;
  return {
    path,
    append(records) {
      if (records.length === 0) return;
      if (fd === null) {
        fd = openSync(path, 'a', 0o600);
        // an older file keeps its mode on open: tighten it
        fchmodSync(fd, 0o600);
      }
      let text = '';
      for (const r of records) text += JSON.stringify(r) + '\n';
      writeSync(fd, text);
      fsyncSync(fd);
    },
    clear() {
      if (fd === null) return;
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

export interface ReplayResult {
  /** records handed to the store (some may have been there already) */
  replayed: number;
  /** lines that were not a usage record (a torn last line after a crash) */
  skipped: number;
}

/**
 * Writes a spill file's records into the store and removes the file. If the store fails, the file
 * stays whole (the next start tries again: re-inserting is harmless) and the error is thrown.
 */
export async function replaySpill(store: Store, path: string, batch = 500): Promise<ReplayResult> {
  if (!existsSync(path)) return { replayed: 0, skipped: 0 };
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: UsageRecord[] = [];
  let skipped = 0;
  for (const line of lines) {
    if (line === '') continue;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (wellFormed(r as UsageRecord)) {
      // a file written before records carried their tier
      (r as UsageRecord).tier ??= '';
      records.push(r as UsageRecord);
    }
    else skipped++;
  }
  for (let i = 0; i < records.length; i += batch) await store.insertUsage(records.slice(i, i + batch));
  unlinkSync(path);
  return { replayed: records.length, skipped };
}
