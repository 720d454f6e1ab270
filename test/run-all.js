#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's built-in test runner under tsx.
// Node 20's --test does not expand globs or pick up .ts files, so we list them here.
// Usage: node test/run-all.js [substring filter...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const testDir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

const files = findTests(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  process.stderr.write('no test files matched\n');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--no-node-snapshot', '--import', require.resolve('tsx'), '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: path.dirname(testDir) },
);
process.exit(result.status ?? 1);
