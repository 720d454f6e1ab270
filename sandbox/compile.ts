// Customer TypeScript → one JavaScript script (+ source map) at load time, with esbuild.
// Only two kinds of import survive: relative imports that stay inside the hook's folder or pack (bundled)
// and 'callhook' (a virtual module wired to the host API inside the isolate). Everything else (node
// built-ins, npm packages, absolute paths, files outside the root) is refused with the importer's
// file:line, because whatever is not in the bundle does not exist inside the sandbox anyway.
import { createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Loader, Message, Plugin } from 'esbuild';
import { displayNameFor, type HookSource } from './display-name.js';
import { HookError, type HookErrorCode } from './errors.js';
import { CALLHOOK_MODULE_SOURCE, ENTRY_GLOBAL } from './guest-runtime.js';

export interface CompiledHook {
  source: HookSource;
  code: string;
  sourceMap: string;
  /** sha256 of the bundled inputs (paths relative to the root + contents). */
  contentHash: string;
}

export { displayNameFor, type HookSource };

const PLUGIN = 'callhook-imports';
const LOADERS: Record<string, Loader> = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** False when the file resolves (through symbolic links) to a place outside the real root. */
export async function entryStaysInside(file: string, realRoot: string): Promise<boolean> {
  const real = await realpath(path.resolve(file)).catch(() => null);
  return real === null || inside(realRoot, real);
}

function importGuard(root: string, realRoot: string, inputs: Map<string, string>): Plugin {
  return {
    name: PLUGIN,
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point') return undefined;
        if (args.path === 'callhook') return { path: 'callhook', namespace: 'callhook-virtual' };
        if (args.pluginData === PLUGIN) return undefined; // our own nested resolve below
        const relative = args.path.startsWith('./') || args.path.startsWith('../');
        if (!relative) {
          return { errors: [{ text: `import of '${args.path}' is not allowed in a hook: only 'callhook' and relative files inside the hook's folder or pack can be imported` }] };
        }
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: PLUGIN });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const real = await realpath(resolved.path).catch(() => resolved.path);
        if (!inside(root, resolved.path) || !inside(realRoot, real)) {
          return { errors: [{ text: `import of '${args.path}' leaves the hook's folder or pack` }] };
        }
        return { path: resolved.path };
      });
      b.onLoad({ filter: /.*/, namespace: 'callhook-virtual' }, () => ({ contents: CALLHOOK_MODULE_SOURCE, loader: 'js' }));
      b.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const loader = LOADERS[path.extname(args.path)];
        if (!loader) return { errors: [{ text: `cannot load '${path.basename(args.path)}': hooks are .ts, .js or .json files` }] };
        const contents = await readFile(args.path, 'utf8');
        inputs.set(path.relative(root, args.path).split(path.sep).join('/'), contents);
        return { contents, loader };
      });
    },
  };
}

function toHookError(source: HookSource, message: Message, fallback: HookErrorCode): HookError {
  const code: HookErrorCode = message.pluginName === PLUGIN && message.text.startsWith('import of') ? 'HOOK_IMPORT_REFUSED' : fallback;
  const loc = message.location;
  const file = loc?.file ? displayNameFor(source, path.relative(source.root, path.resolve(source.root, loc.file))) : source.displayName;
  return new HookError({
    code, message: message.text, hook: '', file,
    ...(loc ? { line: loc.line, column: loc.column + 1 } : {}),
  });
}

/** Compiles a hook; rejects with HookError HOOK_COMPILE (syntax) or HOOK_IMPORT_REFUSED, with file:line:col. */
export async function compileHook(source: HookSource): Promise<CompiledHook> {
  const root = path.resolve(source.root);
  const realRoot = await realpath(root).catch(() => root);
  if (!inside(root, path.resolve(source.file))) {
    throw new HookError({ code: 'HOOK_COMPILE', message: 'the hook file is not inside its root folder', hook: '', file: source.displayName });
  }
  // The entry itself may be a symbolic link: what runs is where it leads, and that must stay inside too.
  if (!(await entryStaysInside(source.file, realRoot))) {
    throw new HookError({ code: 'HOOK_IMPORT_REFUSED', message: "the hook file is a symbolic link that leads outside the hook's folder or pack", hook: '', file: source.displayName, line: 1, column: 1 });
  }
  const inputs = new Map<string, string>();
  // Imported on first compile: the sandbox process only maps positions through this module, never builds.
  const { build } = await import('esbuild');
  let result;
  try {
    result = await build({
      entryPoints: [path.resolve(source.file)],
      absWorkingDir: root,
      outfile: path.join(root, '__callhook_bundle.js'),
      bundle: true, write: false, format: 'iife', globalName: `globalThis.${ENTRY_GLOBAL}`,
      // Hook files are ES modules, so their code is strict (a write to the frozen settings throws).
      banner: { js: '"use strict";' }, platform: 'neutral', target: 'es2022',
      sourcemap: 'external', sourcesContent: false, logLevel: 'silent', charset: 'utf8', mainFields: [], conditions: [],
      // A fixed tsconfig: a customer's tsconfig.json must not change how the host compiles (paths, jsx, decorators).
      tsconfigRaw: { compilerOptions: { target: 'es2022', useDefineForClassFields: true } },
      plugins: [importGuard(root, realRoot, inputs)],
    });
  } catch (error) {
    const failure = error as { errors?: Message[] };
    const first = failure.errors?.[0];
    if (first) throw toHookError(source, first, 'HOOK_COMPILE');
    throw new HookError({ code: 'HOOK_COMPILE', message: error instanceof Error ? error.message : String(error), hook: '', file: source.displayName });
  }
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js || !map) throw new HookError({ code: 'HOOK_COMPILE', message: 'esbuild produced no output', hook: '', file: source.displayName });
  const hash = createHash('sha256');
  for (const key of [...inputs.keys()].sort()) hash.update(key).update('\0').update(inputs.get(key) ?? '').update('\0');
  // The bundle ends with a sourceMappingURL comment naming a host path: drop it (the map travels separately).
  const code = js.text.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  return { source, code, sourceMap: map.text, contentHash: hash.digest('hex') };
}
