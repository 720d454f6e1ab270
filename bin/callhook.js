#!/usr/bin/env node
// The `callhook` command. The CLI itself is TypeScript (core/cli/main.ts), run through tsx;
// node is re-executed with --no-node-snapshot, which isolated-vm requires on Node >= 20.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const result = spawnSync(
  process.execPath,
  ['--no-node-snapshot', '--import', require.resolve('tsx'), path.join(root, 'core/cli/main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (result.signal) process.kill(process.pid, result.signal);
process.exit(result.status ?? 1);
