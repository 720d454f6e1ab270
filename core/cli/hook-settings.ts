// What `init`, `check`, `try` and `run` share: the one rule for which hooks folder a command works on
// (HOOKS_FOLDER_RULE, folder-rule.ts), and
// loading the settings file with everything the hooks it names need (folder, packs, file names) checked.
import path from 'node:path';
import { checkHookSettings } from '../../hooks/settings-check.js';
import { loadSettings, SettingsError, type Settings } from '../settings/index.js';

export { HOOKS_FOLDER_RULE } from './folder-rule.js';

/**
 * Loads the settings file (absent: the demo defaults) and checks what its `hooks` section names on disk.
 * Throws SettingsError with every problem, each naming the file and the JSON pointer.
 */
export async function loadHookSettings(file: string | undefined): Promise<Settings> {
  const settings = await loadSettings(file !== undefined ? { file } : {});
  const problems = await checkHookSettings(settings, file ?? '(demo settings)');
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * The hooks folder by the rule (folder-rule.ts) for a command given `dir` and maybe a settings file; null when
 * the settings file sets none.
 */
export function hooksFolder(dir: string | undefined, settingsFile: string | undefined, settings: Settings | null): string | null {
  if (dir !== undefined) return path.resolve(dir);
  if (settingsFile !== undefined && settings !== null) return settings.hooks.folder === '' ? null : settings.hooks.folder;
  return path.resolve('hooks');
}
