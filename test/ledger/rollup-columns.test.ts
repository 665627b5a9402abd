import { describe, expect, it } from 'vitest';
import { SLO_LATENCY_BOUNDS_MS } from '../../src/config/observability.js';
import { SQLITE_MIGRATIONS, POSTGRES_MIGRATIONS } from '../../src/ledger/schema.js';

// The roll-up's bound columns are named from SLO_LATENCY_BOUNDS_MS when migration 5's text is built.
// A database migrated already keeps the columns of the bounds it was built with, so a change to the
// bounds would silently make every write to an existing ledger fail (its upsert names columns it
// lacks). This pins the shipped bounds: changing them means adding a migration that adds the new
// columns (back-filled from usage_records), then updating this list.

const SHIPPED = [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000];

describe('the roll-up bound columns', () => {
  it('are those migration 5 shipped with: a change to the SLO bounds needs a new migration first', () => {
    expect([...SLO_LATENCY_BOUNDS_MS]).toEqual(SHIPPED);
    for (const m of [SQLITE_MIGRATIONS[4], POSTGRES_MIGRATIONS[4]]) {
      for (const b of SHIPPED) {
        expect(m).toContain(`ttft_le_${b} `);
        expect(m).toContain(`latency_le_${b} `);
      }
    }
  });
});
