import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/ledger/index.js';
import { rolloutSpec } from './rollouts.spec.js';

// The rollout specification on a SQLite file; several stores opened on it are several processes
// sharing it.
rolloutSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollouts-'));
  const file = join(dir, 'switchyard.db');
  return {
    open: (clock) => openStore(`sqlite:${file}`, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    async sabotageAudit() {
      const db = new Database(file);
      db.exec("CREATE TRIGGER sabotage BEFORE INSERT ON audit_records WHEN NEW.actor = 'saboteur' BEGIN SELECT RAISE(ABORT, 'audit write refused'); END");
      db.close();
    },
  };
});
