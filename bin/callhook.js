#!/usr/bin/env node
// The `callhook` command. The CLI itself is TypeScript (core/cli/main.ts), run as a cached bundle in a
// re-executed node (see reexec.js and bundle.js for why).
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { reexec } from './reexec.js';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
await reexec(path.join(root, 'core/cli/main.ts'), process.argv.slice(2), { bundled: true });
