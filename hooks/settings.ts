// The `hooks` settings section (types/settings/hooks.schema.json, defaults applied by the settings
// loader) turned into the host's options. The host itself never reads global settings.
import type { Logger } from 'pino';
import type { HookEngine, JsonValue } from './engine.js';
import type { HookHostOptions } from './host.js';

/** The `hooks` section after defaults (see types/settings/hooks.schema.json for each key's meaning). */
export interface HooksSettings {
  enabled: boolean;
  folder: string;
  points: Record<string, boolean>;
  files: Record<string, boolean>;
  packs: Array<{ path: string; enabled?: boolean; settings?: JsonValue }>;
  budgets: Record<string, number>;
  recordingsRoot: string;
  debounceMs: number;
  typecheck: boolean;
  watch: boolean;
  memoryMb: number;
  drainDeadlineMs: number;
  allowHosts: string[];
  isolation: 'process' | 'inline';
}

export const DEFAULT_HOOKS_SETTINGS: HooksSettings = {
  enabled: true,
  folder: 'examples/hooks',
  points: {},
  files: {},
  packs: [],
  budgets: {},
  recordingsRoot: '/var/spool/asterisk/monitor',
  debounceMs: 100,
  typecheck: true,
  watch: true,
  memoryMb: 32,
  drainDeadlineMs: 30000,
  allowHosts: [],
  isolation: 'process',
};

export function hostOptionsFromSettings(
  section: Partial<HooksSettings> | undefined,
  runtime: { logger?: Logger; engine?: HookEngine; watch?: boolean } = {},
): HookHostOptions {
  const s = { ...DEFAULT_HOOKS_SETTINGS, ...(section ?? {}) };
  const options: HookHostOptions = { ...s, folder: s.folder, watch: runtime.watch ?? s.watch };
  if (runtime.logger) options.logger = runtime.logger;
  if (runtime.engine) options.engine = runtime.engine;
  return options;
}
