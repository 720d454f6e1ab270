// Compiled hooks remembered across processes, in the user's cache folder (bin/cache-dir.js). Compiling
// starts esbuild's service and bundles each hook (~150–250 ms at every start of `try`, `check` or the
// demo); a hook whose folder or pack is byte for byte what was compiled before gets the same bundle back.
//
// What a bundle depends on is any module file of its root (the entry, its helpers, a JSON file), the
// bundler's version and how the sandbox bundles (sandbox/compile.ts and the guest runtime it inlines).
// All of that is in the key, so any edit anywhere in the folder or pack compiles again. Failures are
// never kept: a file that does not compile is compiled (and reported) every time.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cacheDir, pruneOnce } from '../bin/cache-dir.js';
import type { CompiledHookLike, HookEngine, HookSourceRef } from './engine.js';

const MODULE_FILE = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What the bundler itself contributes: its version and the sandbox's bundling code. */
function bundlerSalt(): string {
  const parts = ['callhook-compile-v1'];
  try {
    const req = createRequire(import.meta.url);
    parts.push((JSON.parse(readFileSync(req.resolve('esbuild/package.json'), 'utf8')) as { version: string }).version);
  } catch {
    parts.push('esbuild-unknown');
  }
  for (const f of ['../sandbox/compile.ts', '../sandbox/guest-runtime.ts']) parts.push(readFileSync(new URL(f, import.meta.url), 'utf8'));
  return sha256(parts.join('\0'));
}

/** Content hashes of module files, remembered by stat so a long-running host hashes only what changed. */
const fileHashes = new Map<string, { stat: string; hash: string }>();

function fileHash(file: string): string {
  const st = statSync(file);
  const stat = `${st.mtimeMs}:${st.size}:${st.ino}`;
  const known = fileHashes.get(file);
  if (known && known.stat === stat) return known.hash;
  const hash = sha256(readFileSync(file, 'utf8'));
  fileHashes.set(file, { stat, hash });
  return hash;
}

/** One digest of every module file under the root (node_modules and dot folders aside). */
function rootDigest(root: string): string {
  const entries: string[] = [];
  const walk = (dir: string): void => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (d.name.startsWith('.') || d.name === 'node_modules') continue;
      const full = path.join(dir, d.name);
      if (d.isDirectory()) walk(full);
      else if (d.isFile() && MODULE_FILE.test(d.name)) entries.push(`${path.relative(root, full)}\0${fileHash(full)}`);
    }
  };
  walk(root);
  return sha256(entries.join('\n'));
}

/** The engine with its compile step remembered; load and close are the engine's own. */
export function withCompileCache(engine: HookEngine): HookEngine {
  const dir = cacheDir('compile');
  if (dir === null) return engine;
  let salt: string | null = null;
  const keyOf = (source: HookSourceRef): string | null => {
    try {
      salt ??= bundlerSalt();
      return sha256([salt, source.file, source.root, source.displayName, rootDigest(source.root)].join('\0')).slice(0, 32);
    } catch {
      return null; // an unreadable root: compile, which reports it properly
    }
  };
  return {
    async compile(source) {
      const key = keyOf(source);
      const file = key === null ? null : path.join(dir, `${key}.json`);
      if (file !== null) {
        try {
          const kept = JSON.parse(readFileSync(file, 'utf8')) as Omit<CompiledHookLike, 'source'>;
          if (typeof kept.code === 'string' && typeof kept.sourceMap === 'string' && typeof kept.contentHash === 'string') {
            return { source, code: kept.code, sourceMap: kept.sourceMap, contentHash: kept.contentHash };
          }
        } catch {
          // not compiled before
        }
      }
      const compiled = await engine.compile(source);
      // Kept only when the folder did not change while it was bundled: the key must describe the bundle.
      if (file !== null && keyOf(source) === key) {
        try {
          pruneOnce(dir);
          const tmp = `${file}.${process.pid}.tmp`;
          writeFileSync(tmp, JSON.stringify({ code: compiled.code, sourceMap: compiled.sourceMap, contentHash: compiled.contentHash }));
          renameSync(tmp, file);
        } catch {
          // a full disk: compile again next time
        }
      }
      return compiled;
    },
    load: (compiled, options) => engine.load(compiled, options),
    close: () => engine.close(),
  };
}
