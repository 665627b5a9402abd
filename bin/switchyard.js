#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (built by `npm install` via the prepare script).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('switchyard: dist/ is missing; run `npm install` (or `npm run build`) first.');
    process.exit(1);
  }
  throw err;
});
