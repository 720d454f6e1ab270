// `callhook init [dir]`: scaffolds a hooks folder whose tsconfig maps 'callhook' to this installation's
// types, so an editor autocompletes call_full and every hook's input/output. Never overwrites a file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TYPES_INDEX } from '../../hooks/typecheck.js';

const USAGE = 'usage: callhook init [dir]   (default dir: hooks)\n';

export function tsconfigFor(typesIndex: string): object {
  return {
    compilerOptions: {
      target: 'ES2022',
      module: 'ESNext',
      moduleResolution: 'Bundler',
      lib: ['ES2022'],
      types: [],
      strict: true,
      noImplicitAny: false,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      paths: { callhook: [typesIndex] },
    },
    include: ['*.ts'],
  };
}

const STARTER = `// A starting point: need_registration runs at every stage of every call and decides whether the call
// is logged in the CRM. Hover \`call_full\` in your editor to see every field; docs/hooks.md lists all
// hook points. Check with \`callhook check <this folder>\`, try with
// \`callhook try need_registration.ts --call call.json --stage conversation_requested\`.
import { defineHook } from 'callhook';

export default defineHook('need_registration', ({ call_full, call_stage }) => {
  void call_stage;
  // Example: do not log internal-only calls.
  return call_full.channel.type !== 'local';
});
`;

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
  const dir = path.resolve(positionals[0] ?? 'hooks');
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['tsconfig.json', JSON.stringify(tsconfigFor(TYPES_INDEX), null, 2) + '\n'],
    ['need_registration.ts', STARTER],
  ];
  for (const [name, content] of files) {
    const target = path.join(dir, name);
    if (existsSync(target)) {
      process.stdout.write(`kept     ${target} (exists)\n`);
      continue;
    }
    writeFileSync(target, content);
    process.stdout.write(`created  ${target}\n`);
  }
  process.stdout.write(`Point hooks.folder in your settings at ${dir}; the host reloads files as you save them.\n`);
  return 0;
}
