// Re-executes node on a TypeScript entry of this repository with --no-node-snapshot, which isolated-vm
// requires on Node >= 20 before any isolate exists (isolated-vm #420; NODE_OPTIONS cannot carry it because
// worker threads reject it). The entry runs as a cached bundle of our sources when asked (bin/bundle.js:
// one module instead of ~150, the CLI's start-up path), else through bin/ts-loader.js (a cached type
// stripper that starts much faster than tsx). The wrapper stays in between as the process a supervisor
// sees, so it forwards termination signals to the real process and exits the way that process did:
// a SIGTERM to the wrapper's pid must stop the connector cleanly, never orphan it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildBundle, validBundle } from './bundle.js';

const LOADER = fileURLToPath(new URL('./ts-loader.js', import.meta.url));
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * node's arguments to run a TypeScript entry of this repository as fast as it can be started now: its
 * cached bundle when that is current, else through the loader, building the bundle for the next start in
 * the background (the sandbox's child process starts this way; it cannot wait for a build).
 */
export function nodeArgsFor(entry) {
  if (process.env.CALLHOOK_NO_BUNDLE !== '1') {
    const bundle = validBundle(entry);
    if (bundle !== null) return ['--no-node-snapshot', bundle];
    void buildBundle(entry);
  }
  return ['--no-node-snapshot', '--import', LOADER, entry];
}

export async function reexec(entry, args, options = {}) {
  let argv = ['--no-node-snapshot', '--import', LOADER, entry, ...args];
  if (options.bundled === true && process.env.CALLHOOK_NO_BUNDLE !== '1') {
    // After an edit of any source the first start bundles again (~0.3 s); every later one reuses it.
    const bundle = validBundle(entry) ?? (await buildBundle(entry));
    if (bundle !== null) argv = ['--no-node-snapshot', bundle, ...args];
  }
  // The IPC channel is the child's lifeline: when this wrapper dies without forwarding anything (a
  // SIGKILL to its pid), the channel closes and the connector stops too, instead of running on orphaned
  // beside the copy a supervisor starts next.
  const child = spawn(process.execPath, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const forward = (signal) => child.kill(signal);
  for (const signal of FORWARDED) process.on(signal, forward);
  child.on('error', (error) => {
    process.stderr.write(`callhook: cannot start node: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
