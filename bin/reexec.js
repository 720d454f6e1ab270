// Re-executes node on a TypeScript entry of this repository (through bin/ts-loader.js, a cached type
// stripper that starts much faster than tsx) with --no-node-snapshot, which
// isolated-vm requires on Node >= 20 before any isolate exists (isolated-vm #420; NODE_OPTIONS cannot
// carry it because worker threads reject it). The wrapper stays in between as the process a supervisor
// sees, so it forwards termination signals to the real process and exits the way that process did:
// a SIGTERM to the wrapper's pid must stop the connector cleanly, never orphan it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('./ts-loader.js', import.meta.url));
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function reexec(entry, args) {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', LOADER, entry, ...args], { stdio: 'inherit' });
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
