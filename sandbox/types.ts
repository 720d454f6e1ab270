// The sandbox's public shapes (re-exported by sandbox/index.ts). The hook host builds on these.
import type { Logger } from 'pino';
import type { BreakerSettings, HookHealth } from './breaker.js';
import type { HookError } from './errors.js';
import type { HookHttpPolicy } from './http.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SandboxLimits {
  /** Isolate heap limit (V8 treats it as a guideline; a hook can overshoot it 2-3× briefly). */
  memoryMb: number;
  /** CPU budget of the synchronous part of one call (isolated-vm `timeout`). */
  cpuMsPerCall: number;
  /** Wall-clock deadline of one call including awaited host promises (http); enforced by the host. */
  wallMsPerCall: number;
}

export interface LoadOptions {
  limits: SandboxLimits;
  /** Read-only inside the hook as `settings` (deep-frozen copy). Only this hook's own settings. */
  hookSettings: JsonValue;
  http: HookHttpPolicy;
  logger: Logger;
  /** Circuit breaker thresholds (defaults: 5 consecutive failures → 30 s cool-down). */
  breaker?: Partial<BreakerSettings>;
}

export interface InvokeContext {
  /** Lifecycle hook name, for error tagging and logs. */
  hook: string;
  callId?: string;
  /** JSON Schema the result must satisfy (else HOOK_BAD_RESULT); validators are cached by object identity. */
  outputSchema?: object;
}

export interface HookLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  data?: JsonValue;
}

export type InvokeOutcome =
  | { ok: true; value: JsonValue; durationMs: number; logs: HookLogEntry[] }
  | { ok: false; error: HookError; durationMs: number; logs: HookLogEntry[] };

export interface LoadedHook {
  /** Name given to defineHook(), or null when the default export is a plain function. */
  readonly declaredHook: string | null;
  /** Never rejects: every failure is an outcome with a HookError. */
  invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome>;
  readonly health: HookHealth;
  dispose(): Promise<void>;
}
