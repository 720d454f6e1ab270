// How a sandbox child process is started. The child's code (sandbox/child.ts and the sandbox modules it
// uses) is bundled once per connector process into a private temporary folder, so every child starts as
// plain node: ~0.25 s instead of ~0.6 s through the TypeScript loader. That start-up time is what an
// innocent hook's call waits for when another hook has crashed the shared process, so it is kept short.
// isolated-vm (a native module) stays outside the bundle, imported by its absolute path.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const CHILD_SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.ts');

export interface ChildCommand {
  /** node arguments before nothing else: the child needs no arguments of its own. */
  args: string[];
  /** Set when bundling failed and the child runs through the TypeScript loader instead. */
  fallbackReason?: string;
}

let command: Promise<ChildCommand> | null = null;
let privateDir: string | null = null;
let progressFiles = 0;

/** A folder only this user can write to, removed when this process exits. */
function ownDir(): string {
  if (privateDir === null) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-sandbox-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    privateDir = dir;
  }
  return privateDir;
}

/** A new file for one child to record the request it is running (see sandbox-process.ts). */
export function progressFilePath(): string {
  return path.join(ownDir(), `progress-${process.pid}-${++progressFiles}`);
}

/**
 * The child's environment, taken at each spawn (so it follows the parent's): NODE_PATH names this
 * installation's node_modules, because the bundle lives in a private temporary folder and modules the
 * sandbox loads lazily (createRequire: source-map-js, ajv) would otherwise not be found from there.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const modules = path.dirname(path.dirname(require.resolve('isolated-vm/package.json')));
  const existing = process.env.NODE_PATH;
  return { ...process.env, NODE_PATH: existing ? `${modules}${path.delimiter}${existing}` : modules };
}

async function bundle(): Promise<ChildCommand> {
  try {
    const result = await build({
      entryPoints: [CHILD_SOURCE], bundle: true, platform: 'node', format: 'esm', target: 'node20',
      write: false, logLevel: 'silent', sourcemap: false, legalComments: 'none',
      // Bundled CommonJS dependencies may require node built-ins: give the ES module a require.
      banner: { js: "import { createRequire as __callhookRequire } from 'node:module'; const require = __callhookRequire(import.meta.url);" },
      plugins: [{
        name: 'native-outside',
        setup(b) {
          b.onResolve({ filter: /^isolated-vm$/ }, () => ({ path: require.resolve('isolated-vm'), external: true }));
        },
      }],
    });
    const js = result.outputFiles[0];
    if (!js) throw new Error('esbuild produced no output');
    // In a folder only this user can write to: the file is code this process will run.
    const file = path.join(ownDir(), 'child.mjs');
    writeFileSync(file, js.text, { mode: 0o600 });
    return { args: ['--no-node-snapshot', file] };
  } catch (error) {
    return {
      args: ['--no-node-snapshot', '--import', require.resolve('tsx'), CHILD_SOURCE],
      fallbackReason: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The node arguments that start a sandbox child (bundled on first use). */
export function childCommand(): Promise<ChildCommand> {
  command ??= bundle();
  return command;
}
