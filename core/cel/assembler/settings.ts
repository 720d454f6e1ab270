// The `calls` settings section (types/settings/calls.schema.json) as the assembler uses it.
// CallsSettings is generated from the schema; DEFAULT_CALLS_SETTINGS mirrors its defaults (a test keeps both in step).
// compileCallsSettings turns the pattern strings into RegExps once, so nothing is compiled per row.
import type { CallsSettings } from '../../../types/settings.js';

/** The `calls` section after defaults: generated from types/settings/calls.schema.json (types/settings.d.ts). */
export type { CallsSettings };

export const DEFAULT_CALLS_SETTINGS: Readonly<CallsSettings> = Object.freeze({
  trunk_channel_patterns: ['^Local/[^@;]+@pstn(-in)?-', '^DAHDI/'],
  trunk_contexts: ['^from-trunk', '^from-pstn'],
  outbound_contexts: ['^outrt-', '^macro-dialout-trunk'],
  local_endpoint_patterns: ['^Local/[^@;]+@phones-'],
  detect_originate: true,
  safety_timeout_seconds: 7200,
  pbx_time_zone: '',
});

export interface CompiledCallsSettings {
  trunkChannel: RegExp[];
  trunkContext: RegExp[];
  outboundContext: RegExp[];
  localEndpoint: RegExp[];
  detectOriginate: boolean;
  safetyTimeoutMs: number;
  pbxTimeZone: string;
}

export class CallsSettingsError extends Error {}

function compileList(key: keyof CallsSettings, patterns: readonly string[]): RegExp[] {
  return patterns.map((p, i) => {
    try {
      return new RegExp(p);
    } catch (error) {
      throw new CallsSettingsError(`calls.${key}[${i}]: invalid regular expression ${JSON.stringify(p)}: ${(error as Error).message}`);
    }
  });
}

/** Partial settings are completed from the defaults, so tests and callers can override one key. */
export function compileCallsSettings(settings: Partial<CallsSettings> = {}): CompiledCallsSettings {
  const s: CallsSettings = { ...DEFAULT_CALLS_SETTINGS, ...settings };
  if (!Number.isFinite(s.safety_timeout_seconds) || s.safety_timeout_seconds <= 0) {
    throw new CallsSettingsError(`calls.safety_timeout_seconds: must be a positive number, got ${String(s.safety_timeout_seconds)}`);
  }
  if (s.pbx_time_zone !== '') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: s.pbx_time_zone });
    } catch {
      throw new CallsSettingsError(`calls.pbx_time_zone: unknown time zone ${JSON.stringify(s.pbx_time_zone)}`);
    }
  }
  return {
    trunkChannel: compileList('trunk_channel_patterns', s.trunk_channel_patterns),
    trunkContext: compileList('trunk_contexts', s.trunk_contexts),
    outboundContext: compileList('outbound_contexts', s.outbound_contexts),
    localEndpoint: compileList('local_endpoint_patterns', s.local_endpoint_patterns),
    detectOriginate: s.detect_originate,
    safetyTimeoutMs: s.safety_timeout_seconds * 1000,
    pbxTimeZone: s.pbx_time_zone,
  };
}

export function matchesAny(patterns: readonly RegExp[], value: string): boolean {
  for (const p of patterns) if (p.test(value)) return true;
  return false;
}
