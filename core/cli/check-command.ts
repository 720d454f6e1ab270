// `callhook check [dir]`: type-checks every hook in a hooks folder (or pack) against the call_full and
// hook types; prints `file:line:col: message` lines and exits 1 when any hook has errors.
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkFolder } from '../../hooks/check.js';
import { formatDiagnostic } from '../../hooks/typecheck.js';

const USAGE = 'usage: callhook check [dir]   (default dir: examples/hooks)\n';

export async function run(argv: string[]): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (positionals.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const dir = positionals[0] ?? 'examples/hooks';
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    process.stderr.write(`callhook check: '${dir}' is not a folder\n`);
    return 2;
  }
  const result = checkFolder(dir);
  for (const d of result.diagnostics) process.stdout.write(formatDiagnostic(d) + '\n');
  const bad = new Set(result.diagnostics.map((d) => d.file)).size;
  process.stderr.write(`${result.files.length} hook file(s) checked, ${bad} with errors\n`);
  return result.diagnostics.length > 0 ? 1 : 0;
}
