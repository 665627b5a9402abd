import { defineConfig } from 'vitest/config';

// The ledger benchmark runs under vitest (it reuses the TypeScript seeding helper), apart from the suite.
export default defineConfig({ test: { include: ['bench/ledger/*.bench.ts'], testTimeout: 600_000, hookTimeout: 600_000 } });
