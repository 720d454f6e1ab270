// The CLI as one cached ES module. Starting `callhook` through the TypeScript loader means ~150 module
// files, each resolved and loaded through node's loader thread (~0.3–0.4 s of every start). Instead the
// wrapper runs a bundle of our own sources that esbuild writes once into the user's cache folder
// (bin/cache-dir.js) and that stays valid while every source file in it is byte for byte the same.
//
// The bundle behaves like the sources: each module's `import.meta.url` is its own file's URL (paths to
// schemas, types and the sandbox's child entry resolve as they do unbundled), and packages are imported
// from their absolute location in node_modules, so nothing resolves relative to the cache folder.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDir, pruneOnce } from './cache-dir.js';

/** Part of the key: a change to how bundles are made must not reuse older ones. */
const BUNDLER = 'callhook-cli-bundle-v1';

function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

function manifestPath(dir, entry) {
  return path.join(dir, `${sha256(`${BUNDLER}\0${entry}\0${process.version}`).slice(0, 32)}.json`);
}

/** A bundle of `entry` whose every input is unchanged, or null. */
export function validBundle(entry) {
  const dir = cacheDir('bundle');
  if (dir === null) return null;
  try {
    const manifest = JSON.parse(readFileSync(manifestPath(dir, entry), 'utf8'));
    for (const [file, hash] of manifest.inputs) if (sha256(readFileSync(file, 'utf8')) !== hash) return null;
    return path.join(dir, manifest.bundle);
  } catch {
    return null;
  }
}

/** Bundles `entry` into the cache folder; returns its path, or null when that cannot be done (then run unbundled). */
export async function buildBundle(entry) {
  const dir = cacheDir('bundle');
  if (dir === null) return null;
  try {
    const esbuild = await import('esbuild');
    const inputs = new Map();
    const own = {
      name: 'callhook-own-sources',
      setup(b) {
        // Packages stay outside the bundle, imported from where they are installed.
        b.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.pluginData === 'own' || args.path.startsWith('node:')) return undefined;
          const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'own' });
          if (r.errors.length > 0) return { errors: r.errors };
          return { path: r.external ? args.path : pathToFileURL(r.path).href, external: true };
        });
        b.onLoad({ filter: /\.[cm]?[tj]s$/ }, (args) => {
          const text = readFileSync(args.path, 'utf8');
          inputs.set(args.path, sha256(text));
          const url = JSON.stringify(pathToFileURL(args.path).href);
          return { contents: text.replace(/\bimport\.meta\.url\b/g, url), loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js', resolveDir: path.dirname(args.path) };
        });
      },
    };
    // Split at dynamic imports: each command (and what only it imports) stays a module of its own, loaded
    // when it runs, so `callhook version` does not load what `run` needs.
    const out = path.join(dir, `build-${process.pid}-${Date.now()}`);
    const result = await esbuild.build({
      entryPoints: { main: entry },
      bundle: true,
      splitting: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outdir: out,
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true, target: 'es2022' } },
      plugins: [own],
    });
    if (!result.outputFiles.some((f) => path.basename(f.path) === 'main.mjs')) return null;
    // The chunks reference each other by name: one folder per build, named by its content, renamed into place.
    const name = sha256(result.outputFiles.map((f) => `${path.basename(f.path)}\0${f.text}`).join('\0')).slice(0, 32);
    const target = path.join(dir, name);
    pruneOnce(dir);
    mkdirSync(out, { recursive: true });
    for (const f of result.outputFiles) writeFileSync(path.join(out, path.basename(f.path)), f.text);
    try {
      renameSync(out, target);
    } catch {
      rmSync(out, { recursive: true, force: true }); // the same build is already in place
    }
    const manifest = manifestPath(dir, entry);
    writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify({ bundle: path.join(name, 'main.mjs'), inputs: [...inputs] }));
    renameSync(`${manifest}.${process.pid}.tmp`, manifest);
    return path.join(target, 'main.mjs');
  } catch {
    return null;
  }
}
