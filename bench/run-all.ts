// `npm run bench`: runs every bench/*.bench.ts in its own process (so one benchmark's heap and
// isolates do not skew the next) and lets each print its figures and ratios.
// `npm run bench -- sandbox` runs only the files whose name contains "sandbox".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const benchDir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file}\n`);
  const result = spawnSync(
    process.execPath,
    ['--no-node-snapshot', '--expose-gc', '--import', require.resolve('tsx'), path.join(benchDir, file)],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
