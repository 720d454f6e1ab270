#!/usr/bin/env node
// Runs a TypeScript entry point of this repository under tsx with the flags isolated-vm needs.
// Node >= 20 must start with --no-node-snapshot before any isolate is created (isolated-vm #420),
// so we re-exec instead of relying on NODE_OPTIONS (which worker threads reject).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: run-ts <file.ts> [args...]\n');
  process.exit(2);
}
const tsxLoader = require.resolve('tsx');
const result = spawnSync(
  process.execPath,
  ['--no-node-snapshot', '--import', tsxLoader, path.resolve(root, entry), ...args],
  { stdio: 'inherit' },
);
if (result.signal) process.kill(process.pid, result.signal);
process.exit(result.status ?? 1);
