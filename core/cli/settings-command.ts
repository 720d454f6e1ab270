// `callhook settings [--settings file.json]`: validates a settings file and prints the effective settings
// (defaults filled in, paths resolved) as JSON, secrets masked. A bad file: every problem on stderr as
// `<file>: <json pointer>: <message>` (or `<file>:<line>:<col>: <message>`), exit 1.
import { parseArgs } from 'node:util';
import { loadSettings, maskSecrets, SettingsError } from '../settings/index.js';

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
    const settings = await loadSettings(values.settings !== undefined ? { file: values.settings } : {});
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
