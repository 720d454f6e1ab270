// `callhook init [dir] [--settings settings.json]`: scaffolds a hooks folder whose tsconfig maps 'callhook'
// to this installation's types, so an editor autocompletes call_full and every hook's input/output, and
// `tsc -p` there reports what `callhook check` reports. Never overwrites a file.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TYPES_INDEX } from '../../hooks/typecheck.js';
import { loadSettings, SettingsError, type Settings } from '../settings/index.js';
import { commands } from './commands.js';
import { hooksFolder } from './hook-settings.js';

const USAGE = `usage: ${commands.init?.usage ?? 'callhook init'}`;

/** The editor's view of a hooks folder: the same options the hook host type-checks with (hooks/typecheck.ts). */
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
      allowImportingTsExtensions: true,
      resolveJsonModule: true,
      paths: { callhook: [typesIndex] },
    },
    include: ['**/*.ts'],
  };
}

const STARTER = `// A starting point: need_registration runs at every stage of every call and decides whether the call
// is logged in the CRM. Hover \`call_full\` in your editor to see every field; docs/hooks.md lists all
// hook points.
//
// Check this folder:   callhook check <this folder>
// Try this hook:       callhook try need_registration.ts --call calls.jsonl --stage conversation_requested
// A call file comes from a CEL recording: \`callhook replay cel.jsonl --out calls.jsonl\` writes one call per
// line (add --stages for the call as it was at each stage); try takes the first call, or --linkedid <id>.
// The demo recording is examples/cel/demo.jsonl in the callhook installation.
import { defineHook } from 'callhook';

export default defineHook('need_registration', ({ call_full, call_stage }) => {
  void call_stage;
  // Example: do not log internal-only calls.
  return call_full.channel.type !== 'local';
});
`;

function fail(message: string, code = 2): number {
  process.stderr.write(`callhook init: ${message}\n`);
  return code;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { settings: { type: 'string' } } });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.positionals.length > 1) return fail(`one folder at a time\n${USAGE}`);
  let settings: Settings | null = null;
  if (parsed.values.settings !== undefined) {
    try {
      // The folder may not exist yet: that is what init is for, so only the schema is checked here.
      settings = await loadSettings({ file: parsed.values.settings });
    } catch (error) {
      if (error instanceof SettingsError) return fail(`\n${error.message}`, 1);
      throw error;
    }
  }
  const dir = hooksFolder(parsed.positionals[0], parsed.values.settings, settings);
  if (dir === null) return fail(`${parsed.values.settings ?? ''} sets no hooks.folder: name the folder (callhook init <dir>) or set hooks.folder`);
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
  if (settings === null) process.stdout.write(`Point hooks.folder in your settings at ${dir}; the connector reloads files as you save them.\n`);
  return 0;
}
