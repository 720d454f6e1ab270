// `callhook check [dir] [--settings settings.json]`: loads every hook of a folder or pack (or, with only
// --settings, every hook the settings name) through the hook host, as the connector does, without calling
// any; prints `file:line:col: CODE message` per problem and exits 1 when any hook would not load.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkHooks, formatProblem } from '../../hooks/check.js';
import type { JsonValue } from '../../hooks/engine.js';
import { PACK_MANIFEST } from '../../hooks/packs.js';
import { hostOptionsFromSettings } from '../../hooks/settings.js';
import { SettingsError, type Settings } from '../settings/index.js';
import { commands } from './commands.js';
import { hooksFolder, loadHookSettings } from './hook-settings.js';

const USAGE = `usage: ${commands.check?.usage ?? 'callhook check'}`;

function fail(message: string, code = 2): number {
  process.stderr.write(`callhook check: ${message}\n`);
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
  const settingsFile = parsed.values.settings;
  let settings: Settings;
  try {
    settings = await loadHookSettings(settingsFile);
  } catch (error) {
    if (error instanceof SettingsError) return fail(`\n${error.message}`, 1);
    throw error;
  }
  const dirArg = parsed.positionals[0];
  const folder = hooksFolder(dirArg, settingsFile, settings);
  // Loading decides nothing about isolation: hooks are loaded in this process, which is quicker.
  const base = hostOptionsFromSettings(settings.hooks, { ...settings.sandbox, isolation: 'inline' }, { watch: false });
  let options = base;
  if (dirArg !== undefined || settingsFile === undefined) {
    if (folder === null || !existsSync(folder) || !statSync(folder).isDirectory()) {
      return fail(dirArg !== undefined ? `'${dirArg}' is not a folder` : 'there is no ./hooks folder here: name one (callhook check <dir>) or give --settings');
    }
    const isPack = existsSync(path.join(folder, PACK_MANIFEST));
    const ref = settings.hooks.packs.find((p) => path.resolve(p.path) === folder);
    options = isPack
      ? { ...base, folder: null, packs: [{ path: folder, settings: (ref?.settings ?? {}) as JsonValue, allowHosts: ref?.allow_hosts ?? [] }] }
      : { ...base, folder, packs: [] };
  }
  const result = await checkHooks(options);
  for (const p of result.problems) process.stdout.write(`${formatProblem(p)}\n`);
  process.stderr.write(`${result.files} hook file(s) checked, ${result.failed} with errors\n`);
  return result.problems.length > 0 ? 1 : 0;
}
