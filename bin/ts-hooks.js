// Loader hooks for bin/ts-loader.js (see there for why). Resolution: a relative `./x.js` that does not
// exist but `./x.ts` does is the TypeScript file (the import style of this repository, moduleResolution
// NodeNext). Loading: a file:// `.ts` URL becomes ES module JavaScript, from the cache when its content was
// seen before. The transform is esbuild's type stripping with the repository's own tsconfig semantics
// (verbatimModuleSyntax; ES2022 class fields): no type checking here, `npx tsc` does that.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, pruneOnce } from './cache-dir.js';

/** Part of every cache key: a change to how files are transformed must not reuse older output. */
const TRANSFORM = 'esbuild-ts-esm-es2022-v1';

let esbuild = null;
/** undefined: not looked up yet; null: no safe cache folder (transform every time). */
let cache;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../');
    if (!relative || !specifier.endsWith('.js') || error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const text = readFileSync(file, 'utf8');
  const key = createHash('sha256').update(TRANSFORM).update('\0').update(file).update('\0').update(text).digest('hex').slice(0, 32);
  if (cache === undefined) cache = cacheDir('ts');
  const cached = cache === null ? null : path.join(cache, `${key}.js`);
  if (cached !== null) {
    try {
      return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
    } catch {
      // not seen before: transform below
    }
  }
  esbuild ??= await import('esbuild');
  const { code } = esbuild.transformSync(text, {
    loader: 'ts',
    format: 'esm',
    target: 'es2022',
    sourcefile: file,
    sourcemap: 'inline',
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true, target: 'es2022' } },
  });
  if (cached !== null) {
    try {
      pruneOnce(cache);
      // Written aside and renamed: a process reading the cache never sees half a file.
      const tmp = `${cached}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, cached);
    } catch {
      // a full disk: run without caching this file
    }
  }
  return { format: 'module', source: code, shortCircuit: true };
}
