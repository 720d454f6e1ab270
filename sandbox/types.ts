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
  /**
   * Wall-clock deadline of one call including awaited host promises (http); enforced by the host. The
   * default for calls that do not say otherwise (InvokeContext.wallMs: the deadline of the point they run at).
   */
  wallMsPerCall: number;
  /**
   * Ceiling on the heaps of all hooks of one sandbox process together (MB). When they pass it, the largest
   * hook's isolate is discarded and its next call fails with HOOK_MEMORY_CEILING. Default DEFAULT_TOTAL_MEMORY_MB.
   */
  totalMemoryMb?: number;
}

/** The part of a pino logger the sandbox writes to. */
export type SandboxLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'fatal'>;

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
  /**
   * Wall-clock deadline of this call (the time budget of the point it runs at); default limits.wallMsPerCall.
   * The CPU budget of its synchronous part is the smaller of this and limits.cpuMsPerCall.
   */
  wallMs?: number;
  /** JSON Schema the result must satisfy (else HOOK_BAD_RESULT); validators are cached by object identity. */
  outputSchema?: object;
}

export interface HookLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  data?: JsonValue;
}

/**
 * logs: what the hook logged (control characters escaped); they are also written to the logger, one line each.
 * droppedLogs: entries beyond the per-call cap, counted and not kept (a warning line says how many).
 */
export type InvokeOutcome =
  | { ok: true; value: JsonValue; durationMs: number; logs: HookLogEntry[]; droppedLogs?: number }
  | { ok: false; error: HookError; durationMs: number; logs: HookLogEntry[]; droppedLogs?: number };

export interface LoadedHook {
  /** Name given to defineHook(), or null when the default export is a plain function. */
  readonly declaredHook: string | null;
  /** Never rejects: every failure is an outcome with a HookError. */
  invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome>;
  readonly health: HookHealth;
  dispose(): Promise<void>;
}
