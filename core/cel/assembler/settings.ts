// The `calls` settings section (types/settings/calls.schema.json) as the assembler uses it.
// CallsSettings mirrors the schema; DEFAULT_CALLS_SETTINGS mirrors its defaults (a test keeps both in step).
// compileCallsSettings turns the pattern strings into RegExps once, so nothing is compiled per row.

export interface CallsSettings {
  trunkChannelPatterns: string[];
  trunkContexts: string[];
  outboundContexts: string[];
  localEndpointPatterns: string[];
  detectOriginate: boolean;
  safetyTimeoutSeconds: number;
  pbxTimeZone: string;
}

export const DEFAULT_CALLS_SETTINGS: Readonly<CallsSettings> = Object.freeze({
  trunkChannelPatterns: ['^Local/[^@;]+@pstn(-in)?-', '^DAHDI/'],
  trunkContexts: ['^from-trunk', '^from-pstn'],
  outboundContexts: ['^outrt-', '^macro-dialout-trunk'],
  localEndpointPatterns: ['^Local/[^@;]+@phones-'],
  detectOriginate: true,
  safetyTimeoutSeconds: 7200,
  pbxTimeZone: '',
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
  if (!Number.isFinite(s.safetyTimeoutSeconds) || s.safetyTimeoutSeconds <= 0) {
    throw new CallsSettingsError(`calls.safetyTimeoutSeconds: must be a positive number, got ${String(s.safetyTimeoutSeconds)}`);
  }
  if (s.pbxTimeZone !== '') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: s.pbxTimeZone });
    } catch {
      throw new CallsSettingsError(`calls.pbxTimeZone: unknown time zone ${JSON.stringify(s.pbxTimeZone)}`);
    }
  }
  return {
    trunkChannel: compileList('trunkChannelPatterns', s.trunkChannelPatterns),
    trunkContext: compileList('trunkContexts', s.trunkContexts),
    outboundContext: compileList('outboundContexts', s.outboundContexts),
    localEndpoint: compileList('localEndpointPatterns', s.localEndpointPatterns),
    detectOriginate: s.detectOriginate,
    safetyTimeoutMs: s.safetyTimeoutSeconds * 1000,
    pbxTimeZone: s.pbxTimeZone,
  };
}

export function matchesAny(patterns: readonly RegExp[], value: string): boolean {
  for (const p of patterns) if (p.test(value)) return true;
  return false;
}
