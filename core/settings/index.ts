// The settings file: one JSON file, validated at start against types/settings/*.schema.json.
//
//   const settings = await loadSettings({ file: argv.settings });   // throws SettingsError
//   createCelSource(settings.cel); new CallAssembler({ calls: settings.calls, ... });
//   createHookHost(hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger }));
//   process.stdout.write(JSON.stringify(maskSecrets(settings)));     // never print settings unmasked
export { loadSettings, formatProblem, suggestKey, SettingsError, type LoadSettingsOptions, type SettingsProblem } from './load.js';
export { maskSecrets, MASK } from './secrets.js';
export { PACKAGE_ROOT, SECTION_SCHEMA_DIR, composeSettingsSchema, readSectionSchemas, type SectionSchema } from './schema.js';
export type { Settings, CallsSettings, CelSettings, HooksSettings, LogSettings, NumbersSettings, SandboxSettings } from '../../types/settings.js';
