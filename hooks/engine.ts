// What the hook host needs from the sandbox: compile a hook file, load it into an isolate, invoke it.
// The shapes mirror sandbox/index.ts (owned by the sandbox area). The host depends on this narrow
// interface rather than on the module itself, so a test or a benchmark can hand in any engine that
// honours the same contract (e.g. the sandbox in 'inline' isolation), and the host never reaches into
// isolate internals.
import type { Logger } from 'pino';
import { createSandboxHost } from '../sandbox/index.js';
import { withCompileCache } from './compile-cache.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface HookSourceRef {
  /** Absolute path of the .ts file. */
  file: string;
  /** Folder the file belongs to (hooks folder or pack folder). */
  root: string;
  /** Name shown in errors and status: 'need_registration.ts' or 'acme-lists@1.2.0/blacklist.ts'. */
  displayName: string;
}

export interface CompiledHookLike {
  source: HookSourceRef;
  code: string;
  sourceMap: string;
  contentHash: string;
}

/** A sandbox error: stable code, message, and where in the customer's file (1-based line/column) when known. */
export interface HookErrorLike {
  code: string;
  message: string;
  hook?: string;
  file?: string;
  line?: number;
  column?: number;
}

export type InvokeOutcomeLike =
  | { ok: true; value: JsonValue; durationMs: number; logs: readonly unknown[] }
  | { ok: false; error: HookErrorLike; durationMs: number; logs: readonly unknown[] };

export interface LoadedHookLike {
  readonly declaredHook: string | null;
  /** ctx.wallMs: the wall-clock deadline of this call (its point's budget). */
  invoke(input: JsonValue, ctx: { hook: string; callId?: string; wallMs?: number; outputSchema?: object }): Promise<InvokeOutcomeLike>;
  readonly health: { state: 'active' | 'cooling_down'; consecutiveFailures: number; coolingDownUntil: number | null };
  dispose(): Promise<void>;
}

export interface EngineLoadOptions {
  limits: { memoryMb: number; cpuMsPerCall: number; wallMsPerCall: number; totalMemoryMb?: number };
  hookSettings: JsonValue;
  http: {
    allowHosts: string[]; timeoutMs: number; maxResponseBytes: number;
    maxRequestBytes?: number; maxConcurrentRequests?: number; maxRequestsPerCall?: number;
    /** How to allow a refused host, named in HOOK_HTTP_REFUSED. */
    allowHint?: string;
  };
  logger: Logger;
  /** Circuit breaker thresholds (the sandbox's defaults when absent). */
  breaker?: { failureThreshold: number; coolDownMs: number };
}

/** One call of a batch: `unlessFalse` = indexes of earlier items; when one of them answered false, this one is not run (null). */
export interface EngineBatchItem {
  hook: LoadedHookLike;
  input: JsonValue;
  ctx: { hook: string; callId?: string; wallMs?: number };
  unlessFalse?: readonly number[];
}

export interface HookEngine {
  compile(source: HookSourceRef): Promise<CompiledHookLike>;
  load(compiled: CompiledHookLike, options: EngineLoadOptions): Promise<LoadedHookLike>;
  /**
   * Starts several calls at once, in order (runPoints). Optional: without it the host invokes them one by one
   * with the same gating. With process isolation it saves a round trip to the sandbox process per call.
   */
  invokeAll?(items: readonly EngineBatchItem[]): Array<Promise<InvokeOutcomeLike | null>>;
  close(): Promise<void>;
}

/**
 * The production engine: the sandbox area's isolated-vm host ('process' = supervised child process), its
 * compiles remembered across starts (hooks/compile-cache.ts).
 */
export function createDefaultEngine(isolation: 'process' | 'inline', logger: Logger): HookEngine {
  return withCompileCache(createSandboxHost({ isolation, logger }));
}

/** Reads a sandbox error (or anything thrown) into the host's error shape, never exposing host stacks. */
export function toHookError(err: unknown, fallbackCode: string): HookErrorLike {
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; line?: unknown; column?: unknown; file?: unknown; hook?: unknown };
    const out: HookErrorLike = {
      code: typeof e.code === 'string' && e.code !== '' ? e.code : fallbackCode,
      message: typeof e.message === 'string' ? e.message : String(err),
    };
    if (typeof e.line === 'number') out.line = e.line;
    if (typeof e.column === 'number') out.column = e.column;
    if (typeof e.file === 'string') out.file = e.file;
    if (typeof e.hook === 'string') out.hook = e.hook;
    return out;
  }
  return { code: fallbackCode, message: String(err) };
}
