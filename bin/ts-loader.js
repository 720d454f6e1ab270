// `node --import ./bin/ts-loader.js entry.ts`: runs this repository's TypeScript under plain node. It
// replaces tsx on the start-up path of every `callhook` command and of the sandbox's child process: tsx
// costs ~0.3 s per process before the first line of ours runs (its loader, esbuild's service, tsconfig
// lookups), and an ESM import of a large CommonJS package through it costs over a second more.
//
// The hooks (ts-hooks.js) run in node's loader thread. Each .ts file is stripped of its types by esbuild
// once and kept in the user's cache folder (bin/cache-dir.js), keyed by its content; later runs read the cached
// JavaScript without starting esbuild at all. Only our own files go through it: everything else is node's.
import { register } from 'node:module';

register('./ts-hooks.js', import.meta.url);
