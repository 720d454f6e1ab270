// One hook file = one isolate, created at load and reused for every call ("inline": in the process that
// holds this object, the connector itself or a sandbox child process).
// Per call: the input goes in as one JSON string, the guest runtime runs the handler and answers with an
// envelope of plain strings (result JSON, logs, or an error record), all within one applySync bounded by
// the CPU budget. An async handler answers 'pending' and settles later through a callback, bounded by a
// host-side wall-clock deadline (isolated-vm's timeout does not cover awaited host promises).
//
// Everything the guest sends is checked before the host walks it: the answer's size, the result's depth
// and item count (text-guard.ts), and log data the same way; control characters in what the hook wrote
// (log messages and data, error messages, frame names) are escaped here, once.
import { performance } from 'node:perf_hooks';
import ivm from 'isolated-vm';
import { CircuitBreaker, DEFAULT_BREAKER, type HookHealth } from './breaker.js';
import type { CompiledHook } from './compile.js';
import { HookError, type HookErrorCode } from './errors.js';
import { GUEST_PRELUDE, REMOVED_GLOBALS, type GuestConfig } from './guest-runtime.js';
import { DEFAULT_HTTP_CAPS, performHttp, type HookHttpPolicy, type HttpEnvelope } from './http.js';
import { StackMapper, bundleFilename } from './source-map.js';
import { escapeControl, escapeControlDeep, jsonShapeProblem } from './text-guard.js';
import type { HookLogEntry, InvokeContext, InvokeOutcome, JsonValue, LoadOptions, LoadedHook, SandboxLimits, SandboxLogger } from './types.js';

/** What the guest may send back at most; larger results are HOOK_BAD_RESULT, extra logs are counted and dropped. */
export const GUEST_LIMITS = {
  maxLogEntries: 100, maxLogChars: 4096, maxResultChars: 1024 * 1024, maxErrorMessageChars: 2000, maxErrorStackChars: 16 * 1024,
} as const;

/** A result deeper or with more values than this is HOOK_BAD_RESULT (checked on its text, before parsing). */
export const RESULT_SHAPE = { maxDepth: 64, maxItems: 10_000 } as const;
const LOG_DATA_SHAPE = { maxDepth: 32, maxItems: 1_000 } as const;
// The largest answer a well-behaved runtime can produce: the result plus every log entry at its cap.
const MAX_ANSWER_CHARS = GUEST_LIMITS.maxResultChars + GUEST_LIMITS.maxLogEntries * (2 * GUEST_LIMITS.maxLogChars + 64)
  + GUEST_LIMITS.maxErrorMessageChars + GUEST_LIMITS.maxErrorStackChars + 64 * 1024;

/** Default ceiling on the heaps of all hooks of one process together (sandbox.total_memory_mb). */
export const DEFAULT_TOTAL_MEMORY_MB = 512;
const CEILING_CHECK_MS = 1000;
/** How often a call waiting for its promise checks that its isolate still exists (an OOM disposes it). */
const DISPOSED_POLL_MS = 25;
/** At a wall deadline: the isolate is sampled this long; more CPU than RUNAWAY_CPU_MS in it means it is executing. */
const RUNAWAY_PROBE_MS = 20;
const RUNAWAY_CPU_MS = 4;

type ErrorRecord = { kind: 'error' | 'stack' | 'api' | 'nonerror'; code?: string | null; name?: string | null; message: string; stack?: string | null };
type Envelope = [status: 'ok' | 'bad' | 'err', payload: unknown, logs: unknown, dropped: unknown];

interface Live {
  isolate: ivm.Isolate;
  context: ivm.Context;
  call: ivm.Reference<(json: string, id: number) => string>;
  takeLogs: ivm.Reference<() => [unknown, unknown]>;
  /** Why the host discarded it (null while in use). */
  discarded: 'ceiling' | 'host' | null;
}

/** A call's outcome before the result is parsed: what a sandbox child sends to the supervisor as is. */
export type RawOutcome =
  | { ok: true; json: string; durationMs: number; logs: HookLogEntry[]; droppedLogs: number }
  | { ok: false; error: HookError; durationMs: number; logs: HookLogEntry[]; droppedLogs: number; countsAsFailure: boolean };

export interface InlineHookOptions extends Omit<LoadOptions, 'logger'> {
  logger: SandboxLogger;
  /** Write the hook's log entries to the logger (default true; a sandbox child leaves that to the supervisor). */
  emitLogs?: boolean;
  /** V8 lost control of this hook's isolate (a sandbox child writes its last words and aborts). */
  onCatastrophic?: (message: string) => void;
  /**
   * The isolate was still executing when its wall deadline passed: its thread may never stop (uninterruptible
   * builtins ignore termination). A sandbox child reports it so the supervisor kills the process; without this
   * handler (the connector's own process) the hook is held: it is not run again until it is reloaded.
   */
  onRunaway?: () => void;
  /** Output-schema check for InvokeContext.outputSchema (the public invoke only). */
  checkOutput?: (schema: object, value: unknown) => string | null;
}

/** CPU budget of a hook's top-level code at load: ten calls' worth (tables built once), within the wall deadline. */
export function loadBudgetMs(limits: SandboxLimits): number {
  return Math.min(limits.wallMsPerCall, Math.max(limits.cpuMsPerCall * 10, 250));
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

function isEnvelope(v: unknown): v is Envelope {
  return Array.isArray(v) && v.length === 4 && typeof v[0] === 'string';
}

/** Decodes a guest answer ('o' + JSON | 'E' + envelope JSON); null when it is not one. */
function decode(raw: unknown): { fast: string } | Envelope | null {
  if (typeof raw !== 'string' || raw.length === 0) return null;
  const tag = raw.charCodeAt(0);
  if (tag === 111 /* o */) return { fast: raw.slice(1) };
  if (tag !== 69 /* E */) return null;
  try {
    const env: unknown = JSON.parse(raw.slice(1));
    return isEnvelope(env) ? env : null;
  } catch {
    return null;
  }
}

/** A shape-checked result text → value. JSON.parse makes "__proto__" an own key (harmless until someone Object.assign()s it): such keys are dropped. */
export function parseHookJson(text: string): JsonValue {
  return (text.includes('"__proto__"') ? JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)) : JSON.parse(text)) as JsonValue;
}

/** Writes a call's log entries to the logger: one line per entry, `hook` = the point, `file` = the hook's file. */
export function writeHookLogs(logger: SandboxLogger, base: { hook: string; file: string; callId?: string }, logs: readonly HookLogEntry[], dropped: number): void {
  for (const e of logs) logger[e.level]({ ...base, source: 'hook', ...(e.data !== undefined ? { data: e.data } : {}) }, e.message);
  if (dropped > 0) logger.warn({ ...base, dropped }, `sandbox: ${dropped} more log entries of this call were dropped (at most ${GUEST_LIMITS.maxLogEntries} per call)`);
}

// ---------------------------------------------------------------- memory ceiling (all hooks of this process)

const watched = new Set<InlineHook>();
let ceilingTimer: NodeJS.Timeout | null = null;

function watch(hook: InlineHook): void {
  watched.add(hook);
  if (ceilingTimer === null) {
    ceilingTimer = setInterval(checkCeiling, CEILING_CHECK_MS);
    ceilingTimer.unref();
  }
}

function unwatch(hook: InlineHook): void {
  watched.delete(hook);
  if (watched.size === 0 && ceilingTimer !== null) {
    clearInterval(ceilingTimer);
    ceilingTimer = null;
  }
}

/** Sums the hooks' heaps; past the ceiling the largest hook's isolate is discarded (its next call says why). */
export function checkCeiling(): void {
  let total = 0;
  let ceiling = Infinity;
  let largest: InlineHook | null = null;
  let largestUsed = -1;
  for (const hook of watched) {
    const used = hook.heapBytes();
    total += used;
    ceiling = Math.min(ceiling, hook.ceilingBytes);
    if (used > largestUsed) { largest = hook; largestUsed = used; }
  }
  if (largest !== null && total > ceiling) largest.discardForCeiling(total, ceiling);
}

// ---------------------------------------------------------------- the hook

export class InlineHook implements LoadedHook {
  declaredHook: string | null = null;
  readonly #compiled: CompiledHook;
  readonly #limits: SandboxLimits;
  readonly #settingsJson: string;
  readonly #http: HookHttpPolicy;
  readonly #guestConfig: string;
  readonly #logger: SandboxLogger;
  readonly #emitLogs: boolean;
  readonly #onCatastrophic: ((message: string) => void) | undefined;
  readonly #onRunaway: (() => void) | undefined;
  readonly #checkOutput: ((schema: object, value: unknown) => string | null) | undefined;
  readonly #breaker: CircuitBreaker;
  readonly #mapper: StackMapper;
  #live: Live | null = null;
  #disposed = false;
  /** Set after a runaway in this process: the hook is not run here again. */
  #held: string | null = null;
  /** Set when the memory ceiling discarded the isolate between calls: the next call reports it. */
  #ceilingHit: HookError | null = null;
  #heapBytes = 0;
  #seq = 0;
  #busy = false;
  /** Id of the call in progress (null between calls). */
  #activeId: number | null = null;
  #httpInFlight = 0;
  #httpThisCall = 0;
  readonly #waiters: (() => void)[] = [];
  readonly #settled = new Map<number, unknown>();
  readonly #pending = new Map<number, (env: unknown) => void>();

  constructor(compiled: CompiledHook, options: InlineHookOptions) {
    this.#compiled = compiled;
    this.#limits = options.limits;
    this.#settingsJson = JSON.stringify(options.hookSettings ?? null);
    this.#http = options.http;
    const config: GuestConfig = { ...GUEST_LIMITS, maxRequestChars: options.http.maxRequestBytes ?? DEFAULT_HTTP_CAPS.maxRequestBytes };
    this.#guestConfig = JSON.stringify(config);
    this.#logger = options.logger;
    this.#emitLogs = options.emitLogs ?? true;
    this.#onCatastrophic = options.onCatastrophic;
    this.#onRunaway = options.onRunaway;
    this.#checkOutput = options.checkOutput;
    this.#breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...options.breaker });
    this.#mapper = new StackMapper(compiled);
  }

  get health(): HookHealth {
    return this.#breaker.health;
  }

  /** @internal the memory ceiling: this hook's isolate heap as last measured while it was idle. */
  heapBytes(): number {
    const live = this.#live;
    if (live !== null && this.#activeId === null && !live.isolate.isDisposed) {
      try {
        const s = live.isolate.getHeapStatisticsSync();
        this.#heapBytes = s.used_heap_size + s.externally_allocated_size;
      } catch { /* disposed meanwhile */ }
    } else if (live === null) this.#heapBytes = 0;
    return this.#heapBytes;
  }

  /** @internal */
  get ceilingBytes(): number {
    return (this.#limits.totalMemoryMb ?? DEFAULT_TOTAL_MEMORY_MB) * 1024 * 1024;
  }

  /** @internal */
  discardForCeiling(totalBytes: number, ceilingBytes: number): void {
    const live = this.#live;
    if (live === null) return;
    const mb = (b: number): string => (b / 1048576).toFixed(1);
    const error = this.#error('HOOK_MEMORY_CEILING', '', `the hooks of this sandbox process together used ${mb(totalBytes)} MB, more than sandbox.total_memory_mb (${mb(ceilingBytes)} MB); this hook held the most (${mb(this.#heapBytes)} MB), so its isolate was discarded and its module state is lost`);
    this.#logger.warn({ file: this.#compiled.source.displayName, code: error.code, heapMb: Number(mb(this.#heapBytes)), totalMb: Number(mb(totalBytes)) }, `sandbox: ${error.message}`);
    // A call waiting on this isolate learns it from the disposed-poll; otherwise the next call reports it.
    if (this.#activeId === null) this.#ceilingHit = error;
    this.#teardown(live, 'ceiling');
  }

  /** Creates the isolate and runs the hook's top level; throws HookError HOOK_LOAD. */
  start(): void {
    const isolate = new ivm.Isolate({
      memoryLimit: this.#limits.memoryMb,
      onCatastrophicError: (message: string) => {
        this.#logger.fatal({ file: this.#compiled.source.displayName, reason: message }, 'sandbox: V8 lost control of a hook isolate');
        this.#onCatastrophic?.(message);
      },
    });
    try {
      const context = isolate.createContextSync();
      context.evalSync(`for (const k of ${JSON.stringify(REMOVED_GLOBALS)}) delete globalThis[k];`);
      const settle = new ivm.Callback((id: unknown, env: unknown) => this.#onSettle(id, env));
      const httpRef = new ivm.Reference((json: unknown) => this.#httpForActiveCall(json));
      const fns = context.evalClosureSync(GUEST_PRELUDE, [settle, httpRef, this.#settingsJson, this.#guestConfig],
        { result: { reference: true }, filename: 'callhook:runtime' }) as ivm.Reference<unknown[]>;
      const init = fns.getSync(0, { reference: true }) as ivm.Reference<() => unknown>;
      const call = fns.getSync(1, { reference: true }) as Live['call'];
      const takeLogs = fns.getSync(2, { reference: true }) as Live['takeLogs'];
      fns.release();
      const script = isolate.compileScriptSync(this.#compiled.code, { filename: bundleFilename(this.#compiled) });
      script.runSync(context, { timeout: loadBudgetMs(this.#limits) });
      script.release();
      const res = init.applySync(undefined, [], { result: { copy: true }, timeout: this.#limits.cpuMsPerCall }) as unknown;
      init.release();
      if (!Array.isArray(res) || res[0] !== 'ok') {
        throw this.#error('HOOK_LOAD', '', Array.isArray(res) && typeof res[1] === 'string' ? escapeControl(res[1]) : 'the hook could not be initialised');
      }
      this.declaredHook = typeof res[1] === 'string' ? escapeControl(res[1]) : null;
      this.#live = { isolate, context, call, takeLogs, discarded: null };
      watch(this);
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      if (error instanceof HookError) throw error;
      throw this.#hostError(error, '', 'HOOK_LOAD');
    }
  }

  /** The public path (inline isolation): result parsed, output schema checked, breaker and logs handled here. */
  invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome> {
    const t0 = performance.now();
    const until = this.#breaker.blockedUntil();
    if (until !== null) {
      const error = this.#error('HOOK_COOLING_DOWN', ctx.hook, `skipped: the hook failed ${this.#breaker.health.consecutiveFailures} times in a row and is cooling down until ${new Date(until).toISOString()}`);
      return Promise.resolve({ ok: false, error, durationMs: performance.now() - t0, logs: [] });
    }
    let inputJson: string;
    try { inputJson = JSON.stringify(input); } catch {
      return Promise.resolve({ ok: false, error: this.#error('HOOK_BAD_RESULT', ctx.hook, 'the input given to the hook is not JSON'), durationMs: 0, logs: [] });
    }
    const result = this.#exclusive(inputJson, ctx, t0, undefined, (raw) => this.#complete(raw, ctx, t0));
    return result instanceof Promise ? result : Promise.resolve(result);
  }

  /**
   * The sandbox child's path: the input arrives as JSON text and the result leaves as JSON text (shape-checked,
   * not parsed); logs are returned, not written. `onPending` runs when the synchronous part of an async call ends.
   */
  invokeRaw(inputJson: string, ctx: InvokeContext, onPending?: () => void): RawOutcome | Promise<RawOutcome> {
    // Synchronous when the hook is: the child writes the answer before it reads its next request, which is
    // what lets the supervisor tell which request a dying child was running.
    return this.#exclusive(inputJson, ctx, performance.now(), onPending, (raw) => raw);
  }

  /**
   * One call at a time per isolate: a second applySync while an async continuation runs would block the
   * thread until the isolate is free. A synchronous hook settles without any extra promise hop.
   */
  #exclusive<T>(inputJson: string, ctx: InvokeContext, t0: number, onPending: (() => void) | undefined, done: (raw: RawOutcome) => T): T | Promise<T> {
    if (this.#busy) return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(() => this.#runHeld(inputJson, ctx, t0, onPending, done));
    return this.#runHeld(inputJson, ctx, t0, onPending, done);
  }

  #runHeld<T>(inputJson: string, ctx: InvokeContext, t0: number, onPending: (() => void) | undefined, done: (raw: RawOutcome) => T): T | Promise<T> {
    this.#busy = true;
    let result: RawOutcome | Promise<RawOutcome>;
    try {
      result = this.#run(inputJson, ctx, t0, onPending);
    } catch (error) {
      this.#release();
      return done(this.#rawError(this.#hostError(error, ctx.hook, 'HOOK_CRASHED'), t0));
    }
    if (result instanceof Promise) return result.then((raw) => { this.#release(); return done(raw); });
    this.#release();
    return done(result);
  }

  #release(): void {
    this.#busy = false;
    this.#activeId = null;
    this.#waiters.shift()?.();
  }

  #run(inputJson: string, ctx: InvokeContext, t0: number, onPending: (() => void) | undefined): RawOutcome | Promise<RawOutcome> {
    if (this.#disposed) return this.#rawError(this.#error('HOOK_DISPOSED', ctx.hook, 'the hook was unloaded'), t0, false);
    if (this.#held !== null) return this.#rawError(this.#error('HOOK_CRASHED', ctx.hook, this.#held), t0);
    if (this.#ceilingHit !== null) {
      const hit = this.#retag(this.#ceilingHit, ctx.hook);
      this.#ceilingHit = null;
      return this.#rawError(hit, t0);
    }
    if (this.#live === null) {
      // Re-created after an OOM, a timeout, a crash or the memory ceiling: the next call gets a fresh isolate.
      try { this.start(); } catch (error) {
        return this.#rawError(error instanceof HookError ? this.#retag(error, ctx.hook) : this.#hostError(error, ctx.hook, 'HOOK_LOAD'), t0);
      }
    }
    const live = this.#live;
    if (live === null) return this.#rawError(this.#error('HOOK_LOAD', ctx.hook, 'the hook could not be loaded'), t0);
    const wallMs = ctx.wallMs ?? this.#limits.wallMsPerCall;
    const cpuMs = Math.max(1, Math.min(this.#limits.cpuMsPerCall, wallMs));
    const id = ++this.#seq;
    this.#activeId = id;
    this.#httpThisCall = 0;
    let env: unknown;
    try {
      env = live.call.applySync(undefined, [inputJson, id], { timeout: cpuMs, result: { copy: true } });
    } catch (error) {
      return this.#syncFailure(error, live, ctx, t0, cpuMs);
    }
    if (env === 'p') {
      onPending?.();
      return this.#awaitSettle(id, live, ctx, t0, wallMs).then((settled) =>
        settled instanceof HookError ? this.#rawError(settled, t0) : this.#finish(settled, ctx, t0));
    }
    return this.#finish(env, ctx, t0);
  }

  /**
   * http only serves the call in progress. A request started by a call that has finished (fire-and-forget)
   * is never answered: answering would run guest code after the call, outside every budget, on the thread
   * that owns the isolate, and the next applySync would wait for it. The caps bound what one hook holds on
   * the host: sockets (= requests in flight, fire-and-forget ones included) and requests per call.
   */
  #httpForActiveCall(json: unknown): Promise<HttpEnvelope> {
    const id = this.#activeId;
    const never = new Promise<HttpEnvelope>(() => {});
    if (id === null) return never;
    const maxConcurrent = this.#http.maxConcurrentRequests ?? DEFAULT_HTTP_CAPS.maxConcurrentRequests;
    const maxPerCall = this.#http.maxRequestsPerCall ?? DEFAULT_HTTP_CAPS.maxRequestsPerCall;
    if (this.#httpInFlight >= maxConcurrent) {
      return Promise.resolve({ ok: false, code: 'HOOK_HTTP_REFUSED', message: `http: this hook already has ${this.#httpInFlight} requests in flight, the limit (sandbox.http.max_concurrent_requests); nothing was sent` });
    }
    if (this.#httpThisCall >= maxPerCall) {
      return Promise.resolve({ ok: false, code: 'HOOK_HTTP_REFUSED', message: `http: this call already made ${this.#httpThisCall} requests, the limit per call (sandbox.http.max_requests_per_call); nothing was sent` });
    }
    this.#httpThisCall++;
    this.#httpInFlight++;
    return performHttp(typeof json === 'string' ? json : '', this.#http).then((env) => {
      this.#httpInFlight--;
      return this.#activeId === id ? env : never;
    });
  }

  #onSettle(id: unknown, env: unknown): void {
    if (typeof id !== 'number') return;
    const waiter = this.#pending.get(id);
    if (waiter) waiter(env);
    else if (id === this.#seq) this.#settled.set(id, env); // settled during the applySync itself (microtasks)
  }

  #awaitSettle(id: number, live: Live, ctx: InvokeContext, t0: number, wallMs: number): Promise<unknown> {
    const early = this.#settled.get(id);
    if (early !== undefined) {
      this.#settled.delete(id);
      return Promise.resolve(early);
    }
    const remaining = Math.max(0, wallMs - (performance.now() - t0));
    return new Promise((resolve) => {
      const end = (value: unknown): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.#pending.delete(id);
        this.#settled.delete(id);
        resolve(value);
      };
      // isolated-vm disposes an isolate that passes its memory limit, also while a continuation runs on its
      // thread pool; the settle callback then never comes. Seen here instead of at the deadline.
      const poll = setInterval(() => {
        if (!live.isolate.isDisposed) return;
        const why = live.discarded;
        if (why === null) this.#teardown(live, 'host');
        end(why === 'ceiling'
          ? this.#error('HOOK_MEMORY_CEILING', ctx.hook, 'the isolate was discarded during the call: the hooks of this process together passed sandbox.total_memory_mb and this hook held the most')
          : why === 'host' ? this.#error('HOOK_CRASHED', ctx.hook, "the hook's isolate was lost during the call")
            : this.#error('HOOK_OOM', ctx.hook, `the hook ran out of memory (limit ${this.#limits.memoryMb} MB) after an await`));
      }, DISPOSED_POLL_MS);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.#pending.delete(id);
        // Answered once the isolate has been probed, so whoever calls next already sees a runaway's outcome.
        void this.#abandon(live).then(() => end(this.#error('HOOK_TIMEOUT', ctx.hook, `the hook did not finish within ${wallMs} ms (wall clock, including awaited http)`)));
      }, remaining);
      this.#pending.set(id, end);
    });
  }

  /**
   * The deadline passed and the call did not settle. The guest may be idle (a promise that never settles) or
   * spinning in a continuation on isolated-vm's thread pool, where no timeout applies; disposing stops
   * ordinary code, but not an uninterruptible builtin (`indexOf` over a 2^32 array runs for minutes). The
   * isolate is detached at once (the next call gets a fresh one), sampled briefly, then disposed; if it was
   * executing, its thread may outlive the dispose, so the runaway is reported.
   */
  #abandon(live: Live): Promise<void> {
    if (this.#live === live) this.#live = null;
    let c0: bigint | null = null;
    try { c0 = live.isolate.cpuTime; } catch { c0 = null; }
    if (c0 === null) { this.#teardown(live, 'host'); return Promise.resolve(); }
    const start = c0;
    return new Promise((resolve) => {
      setTimeout(() => {
        let running = false;
        try { running = Number(live.isolate.cpuTime - start) / 1e6 > RUNAWAY_CPU_MS; } catch { running = false; }
        this.#teardown(live, 'host');
        if (running) this.#runaway();
        resolve();
      }, RUNAWAY_PROBE_MS);
    });
  }

  #runaway(): void {
    this.#held = "the hook's code kept running after its deadline and could not be stopped; it is not run again in this process until it is reloaded";
    this.#logger.error({ file: this.#compiled.source.displayName }, `sandbox: ${this.#held}`);
    this.#onRunaway?.();
  }

  #syncFailure(error: unknown, live: Live, ctx: InvokeContext, t0: number, cpuMs: number): RawOutcome {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('timed out')) {
      // Collect what the hook logged before it was stopped, then start it afresh: a timeout can stop the
      // hook half-way through updating its module state.
      let logs: HookLogEntry[] = [];
      let dropped = 0;
      try {
        const taken = live.takeLogs.applySync(undefined, [], { result: { copy: true }, timeout: 20 });
        if (Array.isArray(taken)) { logs = this.#decodeLogs(taken[0]); dropped = typeof taken[1] === 'number' ? taken[1] : 0; }
      } catch { /* logs are best effort */ }
      this.#teardown(live, 'host');
      return this.#rawError(this.#error('HOOK_TIMEOUT', ctx.hook, `the hook used more than its CPU budget of ${cpuMs} ms (its module state starts afresh)`), t0, true, logs, dropped);
    }
    this.#teardown(live, 'host');
    return this.#rawError(this.#hostError(error, ctx.hook, 'HOOK_THROW'), t0);
  }

  #finish(raw: unknown, ctx: InvokeContext, t0: number): RawOutcome {
    if (typeof raw === 'string' && raw.length > MAX_ANSWER_CHARS) {
      return this.#rawError(this.#error('HOOK_BAD_RESULT', ctx.hook, `the hook's answer is ${raw.length} characters, more than the runtime can produce`), t0);
    }
    const env = decode(raw);
    if (env === null) return this.#rawError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the sandbox runtime answered with an unexpected shape'), t0);
    const fast = 'fast' in env;
    const logs = fast ? [] : this.#decodeLogs(env[2]);
    const dropped = fast || typeof env[3] !== 'number' ? 0 : env[3];
    const status = fast ? 'ok' : env[0];
    const payload = fast ? env.fast : env[1];
    if (status === 'ok' && typeof payload === 'string') {
      const problem = payload.length > GUEST_LIMITS.maxResultChars ? `the result is more than ${GUEST_LIMITS.maxResultChars} characters of JSON`
        : jsonShapeProblem(payload, RESULT_SHAPE.maxDepth, RESULT_SHAPE.maxItems);
      if (problem !== null) return this.#rawError(this.#error('HOOK_BAD_RESULT', ctx.hook, `the result is refused: ${problem}`), t0, true, logs, dropped);
      return { ok: true, json: payload, durationMs: performance.now() - t0, logs, droppedLogs: dropped };
    }
    if (status === 'bad') return this.#rawError(this.#error('HOOK_BAD_RESULT', ctx.hook, typeof payload === 'string' ? escapeControl(payload) : 'bad result'), t0, true, logs, dropped);
    if (status === 'err' && payload !== null && typeof payload === 'object') return this.#rawError(this.#guestError(payload as ErrorRecord, ctx.hook), t0, true, logs, dropped);
    return this.#rawError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the sandbox runtime answered with an unexpected status'), t0, true, logs, dropped);
  }

  /** The public path's second half: parse, schema, breaker, logs. */
  #complete(raw: RawOutcome, ctx: InvokeContext, t0: number): InvokeOutcome {
    if (this.#emitLogs && (raw.logs.length > 0 || raw.droppedLogs > 0)) this.#writeLogs(raw.logs, raw.droppedLogs, ctx);
    const extra = raw.droppedLogs > 0 ? { droppedLogs: raw.droppedLogs } : {};
    if (!raw.ok) {
      if (raw.countsAsFailure) this.#charge(raw.error);
      return { ok: false, error: raw.error, durationMs: raw.durationMs, logs: raw.logs, ...extra };
    }
    let value: JsonValue;
    try { value = parseHookJson(raw.json); } catch {
      const error = this.#error('HOOK_BAD_RESULT', ctx.hook, 'the result is not valid JSON');
      this.#charge(error);
      return { ok: false, error, durationMs: performance.now() - t0, logs: raw.logs, ...extra };
    }
    if (ctx.outputSchema && this.#checkOutput) {
      const problem = this.#checkOutput(ctx.outputSchema, value);
      if (problem !== null) {
        const error = this.#error('HOOK_BAD_RESULT', ctx.hook, problem);
        this.#charge(error);
        return { ok: false, error, durationMs: performance.now() - t0, logs: raw.logs, ...extra };
      }
    }
    this.#breaker.success();
    return { ok: true, value, durationMs: performance.now() - t0, logs: raw.logs, ...extra };
  }

  #charge(error: HookError): void {
    if (this.#breaker.failure()) {
      this.#logger.warn({ hook: error.hook, file: error.file, failures: this.#breaker.health.consecutiveFailures, until: this.#breaker.health.coolingDownUntil },
        'sandbox: hook keeps failing, cooling down');
    }
  }

  /** A throw recorded by the guest runtime → HookError with the customer's frames only. */
  #guestError(rec: ErrorRecord, hook: string): HookError {
    const code: HookErrorCode = rec.kind === 'stack' ? 'HOOK_STACK_OVERFLOW'
      : rec.kind === 'api' && (rec.code === 'HOOK_HTTP_REFUSED' || rec.code === 'HOOK_HTTP_FAILED') ? rec.code
        : 'HOOK_THROW';
    const mapped = typeof rec.stack === 'string' ? this.#mapper.frames(rec.stack.slice(0, GUEST_LIMITS.maxErrorStackChars)) : { frames: [], first: null };
    const message = String(rec.message ?? '').slice(0, GUEST_LIMITS.maxErrorMessageChars);
    const text = rec.kind === 'nonerror' ? `the hook ${message}` : rec.kind === 'stack' ? 'maximum call stack size exceeded (unbounded recursion?)'
      : `${rec.name && rec.name !== 'Error' ? `${String(rec.name).slice(0, 100)}: ` : ''}${message}`;
    return new HookError({
      code, hook, file: mapped.first?.file ?? this.#compiled.source.displayName, message: escapeControl(text),
      ...(mapped.first ? { line: mapped.first.line, column: mapped.first.column } : {}),
      frames: code === 'HOOK_STACK_OVERFLOW' ? mapped.frames.slice(0, 3) : mapped.frames,
    });
  }

  /** An error thrown by isolated-vm on the host side (load failure, OOM, crash). */
  #hostError(error: unknown, hook: string, fallback: HookErrorCode): HookError {
    const message = error instanceof Error ? error.message : String(error);
    const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
    if (/memory limit/i.test(message)) return this.#error(fallback === 'HOOK_LOAD' ? 'HOOK_LOAD' : 'HOOK_OOM', hook, `the hook ran out of memory (limit ${this.#limits.memoryMb} MB)${fallback === 'HOOK_LOAD' ? ' while loading' : ''}`);
    if (/timed out/i.test(message)) {
      return fallback === 'HOOK_LOAD' ? this.#error('HOOK_LOAD', hook, `the hook's top-level code did not finish within ${loadBudgetMs(this.#limits)} ms`)
        : this.#error('HOOK_TIMEOUT', hook, `the hook used more than its CPU budget of ${this.#limits.cpuMsPerCall} ms`);
    }
    if (/disposed/i.test(message)) return this.#error(fallback === 'HOOK_LOAD' ? 'HOOK_LOAD' : 'HOOK_CRASHED', hook, 'the hook\'s isolate was lost during the call');
    const mapped = this.#mapper.frames(stack.slice(0, GUEST_LIMITS.maxErrorStackChars));
    // isolated-vm's own messages never name host paths, but strip anything path-like to be sure.
    const clean = escapeControl(message.replace(/\(?(?:file:\/\/)?\/[^\s)]*\)?/g, '').slice(0, GUEST_LIMITS.maxErrorMessageChars));
    return new HookError({
      code: fallback, hook, file: mapped.first?.file ?? this.#compiled.source.displayName, message: clean,
      ...(mapped.first ? { line: mapped.first.line, column: mapped.first.column } : {}), frames: mapped.frames,
    });
  }

  #error(code: HookErrorCode, hook: string, message: string): HookError {
    return new HookError({ code, hook, file: this.#compiled.source.displayName, message });
  }

  #retag(error: HookError, hook: string): HookError {
    error.hook = hook;
    return error;
  }

  #rawError(error: HookError, t0: number, countsAsFailure = true, logs: HookLogEntry[] = [], droppedLogs = 0): RawOutcome {
    return { ok: false, error, durationMs: performance.now() - t0, logs, droppedLogs, countsAsFailure };
  }

  /** The guest's log entries, checked and with control characters escaped. */
  #decodeLogs(raw: unknown): HookLogEntry[] {
    if (!Array.isArray(raw) || raw.length === 0) return [];
    const out: HookLogEntry[] = [];
    for (const item of raw.slice(0, GUEST_LIMITS.maxLogEntries)) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || !LEVELS.has(item[0]) || typeof item[1] !== 'string') continue;
      const entry: HookLogEntry = { level: item[0] as HookLogEntry['level'], message: escapeControl(item[1].slice(0, GUEST_LIMITS.maxLogChars + 1)) };
      if (typeof item[2] === 'string' && item[2].length <= GUEST_LIMITS.maxLogChars) {
        const problem = jsonShapeProblem(item[2], LOG_DATA_SHAPE.maxDepth, LOG_DATA_SHAPE.maxItems);
        if (problem !== null) entry.data = `[data refused: ${problem}]`;
        else {
          try { entry.data = escapeControlDeep(JSON.parse(item[2]) as JsonValue); } catch { /* dropped */ }
        }
      }
      out.push(entry);
    }
    return out;
  }

  #writeLogs(logs: readonly HookLogEntry[], dropped: number, ctx: InvokeContext): void {
    writeHookLogs(this.#logger, { hook: ctx.hook, file: this.#compiled.source.displayName, ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}) }, logs, dropped);
  }

  #teardown(live: Live, why: 'ceiling' | 'host'): void {
    if (this.#live === live) this.#live = null;
    if (live.discarded === null) live.discarded = why;
    if (this.#live === null) unwatch(this);
    try { live.call.release(); live.takeLogs.release(); } catch { /* already gone with the isolate */ }
    if (!live.isolate.isDisposed) {
      try { live.isolate.dispose(); } catch { /* already disposed */ }
    }
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    for (const [id, waiter] of this.#pending) {
      this.#pending.delete(id);
      waiter(this.#error('HOOK_DISPOSED', '', 'the hook was unloaded during the call'));
    }
    if (this.#live) this.#teardown(this.#live, 'host');
    unwatch(this);
  }
}
