// The number model (call_full `from` / `to` / `trunk`): prefixes, extensions, FMC, auto-replacement.
// Rules and bad-input results: docs/numbers.md. Settings: types/settings/numbers.schema.json.
export { createNumberModel, type CallNumber, type NumberModel, type NumberModelOptions } from './model.js';
export { DEFAULT_NUMBER_SETTINGS, NumberSettingsError, type NumberSettings } from './settings.js';
export { MAX_NUMBER_LENGTH } from './clean.js';
