#!/usr/bin/env node
// Runs a TypeScript entry point of this repository (scripts, benchmarks) the way bin/callhook.js runs
// the CLI: under tsx with the flags isolated-vm needs (see reexec.js).
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { reexec } from './reexec.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: run-ts <file.ts> [args...]\n');
  process.exit(2);
}
await reexec(path.resolve(root, entry), args);
