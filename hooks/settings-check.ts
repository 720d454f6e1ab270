// What the settings schema cannot see because it lives on disk: the hooks folder, the packs (folder,
// manifest, their settings against the manifest's settings_schema) and the file names `hooks.files` and
// `hooks.file_settings` refer to. `callhook settings` reports these problems and `run`, `check` and `try`
// stop on them at start-up, each as `<settings file>: <json pointer>: <message>` like a schema problem.
import { readdir, stat } from 'node:fs/promises';
import { escapePointer } from '../core/json-schema.js';
import { suggestKey } from '../core/settings/suggest.js';
import type { SettingsProblem } from '../core/settings/load.js';
import type { Settings } from '../types/settings.js';
import { isHookFileName } from './host.js';
import { PackError, readPack, type LoadedPack } from './packs.js';

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

function unknownName(name: string, known: readonly string[], what: string): string {
  const hint = suggestKey(name, known);
  return `${what}${hint !== null ? ` (did you mean "${hint}"?)` : known.length > 0 && known.length <= 12 ? ` (known: ${known.join(', ')})` : ''}`;
}

/** Every on-disk problem of the `hooks` section; empty when the hooks it names can all be loaded. */
export async function checkHookSettings(settings: Settings, file: string): Promise<SettingsProblem[]> {
  const h = settings.hooks;
  const problems: SettingsProblem[] = [];
  const at = (pointer: string, message: string): void => void problems.push({ file, pointer, message });

  let looseFiles: string[] = [];
  if (h.folder !== '') {
    if (!(await isDirectory(h.folder))) at('/hooks/folder', `the hooks folder ${h.folder} does not exist`);
    else looseFiles = (await readdir(h.folder)).filter(isHookFileName).sort();
  }

  const packFiles: string[] = [];
  for (const [i, ref] of h.packs.entries()) {
    if (!ref.enabled) continue;
    let pack: LoadedPack;
    try {
      pack = await readPack(ref.path, ref.settings as LoadedPack['settings'], ref.allow_hosts);
    } catch (err) {
      if (!(err instanceof PackError)) throw err;
      if (err.code === 'PACK_SETTINGS') {
        for (const p of err.problems) at(`/hooks/packs/${i}/settings${p.pointer}`, `PACK_SETTINGS ${p.message} (the settings_schema of ${err.file})`);
      } else {
        at(`/hooks/packs/${i}/path`, `${err.code} ${err.message}`);
      }
      continue;
    }
    const { name, version } = pack.manifest;
    for (const entry of pack.manifest.hooks) packFiles.push(`${name}/${entry.file}`, `${name}@${version}/${entry.file}`);
  }

  for (const name of Object.keys(h.files)) {
    if (!looseFiles.includes(name) && !packFiles.includes(name)) {
      at(`/hooks/files/${escapePointer(name)}`, unknownName(name, [...looseFiles, ...packFiles.filter((f) => !f.includes('@'))], 'names no hook file of the hooks folder or of a pack'));
    }
  }
  for (const name of Object.keys(h.file_settings)) {
    if (!looseFiles.includes(name)) {
      at(`/hooks/file_settings/${escapePointer(name)}`, unknownName(name, looseFiles, 'names no hook file of the hooks folder (a pack\'s hooks get hooks.packs[i].settings)'));
    }
  }
  return problems;
}
