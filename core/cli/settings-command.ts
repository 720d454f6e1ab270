// `callhook settings [--settings file.json]`: validates a settings file and prints the effective settings
// (defaults filled in, paths resolved) as JSON, secrets masked. What the hooks section names on disk is
// checked too (folder, packs and their settings, file names), as `run` checks it before it starts. A bad
// file: every problem on stderr as `<file>: <json pointer>: <message>` (or `<file>:<line>:<col>: <message>`), exit 1.
import { parseArgs } from 'node:util';
import { maskSecrets, SettingsError } from '../settings/index.js';
import { loadHookSettings } from './hook-settings.js';

const USAGE = 'usage: callhook settings [--settings settings.json]';

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, allowPositionals: false, options: { settings: { type: 'string' } } }));
  } catch (error) {
    process.stderr.write(`callhook settings: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const settings = await loadHookSettings(values.settings);
    process.stdout.write(`${JSON.stringify(maskSecrets(settings), null, 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
