#!/usr/bin/env node
// Prints a results file (default: latest.json beside this file) as Markdown tables.
//   node bench/gateway-overhead/markdown.js [results.json]
import { readFileSync } from 'node:fs';
import { renderMarkdown } from './report.js';

const file = process.argv[2] ?? new URL('./latest.json', import.meta.url);
process.stdout.write(renderMarkdown(JSON.parse(readFileSync(file, 'utf8'))) + '\n');
