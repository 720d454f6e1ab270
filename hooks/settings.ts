// The `hooks` and `sandbox` settings sections (types/settings/hooks.schema.json, sandbox.schema.json;
// defaults applied by the settings loader, core/settings) turned into the host's options. The host itself
// never reads global settings. One owner per setting: the hook files, switches, packs, per-point time
// budgets and hot reload are `hooks`; the isolate limits (memory, CPU ceiling, http, circuit breaker)
// and the isolation mode are `sandbox`.
import type { Logger } from 'pino';
import { DEFAULT_SANDBOX_SETTINGS, type SandboxSettings } from '../sandbox/settings.js';
import type { HooksSettings } from '../types/settings.js';
import type { HookEngine, JsonValue } from './engine.js';
import type { HookHostOptions, PackRef } from './host.js';

/** The `hooks` section after defaults: generated from types/settings/hooks.schema.json (types/settings.d.ts). */
export type { HooksSettings };

export const DEFAULT_HOOKS_SETTINGS: HooksSettings = {
  enabled: true,
  folder: '',
  points: {},
  files: {},
  file_settings: {},
  packs: [],
  budgets: {},
  recordings_root: '/var/spool/asterisk/monitor',
  debounce_ms: 100,
  typecheck: true,
  watch: true,
  drain_deadline_ms: 30000,
  allow_hosts: [],
};

/**
 * The host's options from the two sections (missing keys take the schema defaults) and the runtime's
 * wiring. Paths are used as given: the settings loader has already resolved them.
 */
export function hostOptionsFromSettings(
  hooks: Partial<HooksSettings> | undefined,
  sandbox: Partial<SandboxSettings> | undefined,
  runtime: { logger?: Logger; engine?: HookEngine; watch?: boolean } = {},
): HookHostOptions {
  const h: HooksSettings = { ...DEFAULT_HOOKS_SETTINGS, ...(hooks ?? {}) };
  const s: SandboxSettings = { ...DEFAULT_SANDBOX_SETTINGS, ...(sandbox ?? {}) };
  // A pack's settings came out of the JSON settings file (validated against its manifest when it loads).
  const packs: PackRef[] = h.packs.map((p) => ({ path: p.path, enabled: p.enabled, settings: p.settings as JsonValue, allowHosts: p.allow_hosts }));
  const options: HookHostOptions = {
    // '' = no loose hook files (the settings loader resolved every other value to an absolute path).
    folder: h.folder === '' ? null : h.folder,
    enabled: h.enabled,
    points: h.points,
    files: h.files,
    fileSettings: h.file_settings as Record<string, JsonValue>,
    packs,
    budgets: h.budgets,
    recordingsRoot: h.recordings_root,
    debounceMs: h.debounce_ms,
    typecheck: h.typecheck,
    watch: runtime.watch ?? h.watch,
    drainDeadlineMs: h.drain_deadline_ms,
    allowHosts: h.allow_hosts,
    isolation: s.isolation,
    memoryMb: s.memory_mb,
    totalMemoryMb: s.total_memory_mb,
    cpuMsPerCall: s.cpu_ms_per_call,
    httpTimeoutMs: s.http.timeout_ms,
    httpMaxResponseBytes: s.http.max_response_bytes,
    httpMaxRequestBytes: s.http.max_request_bytes,
    httpMaxConcurrentRequests: s.http.max_concurrent_requests,
    httpMaxRequestsPerCall: s.http.max_requests_per_call,
    breaker: { failureThreshold: s.circuit_breaker.failure_threshold, coolDownMs: s.circuit_breaker.cool_down_ms },
  };
  if (runtime.logger) options.logger = runtime.logger;
  if (runtime.engine) options.engine = runtime.engine;
  return options;
}
