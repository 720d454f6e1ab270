// One hook file = one isolate, created at load and reused for every call ("inline": in this process).
// Per call: the input goes in as one JSON string, the guest runtime runs the handler and answers with an
// envelope of plain strings (result JSON, logs, or an error record), all within one applySync bounded by
// the CPU budget. An async handler answers 'pending' and settles later through a callback, bounded by a
// host-side wall-clock deadline (isolated-vm's timeout does not cover awaited host promises).
import { performance } from 'node:perf_hooks';
import ivm from 'isolated-vm';
import type { Logger } from 'pino';
import { CircuitBreaker, DEFAULT_BREAKER, type HookHealth } from './breaker.js';
import type { CompiledHook } from './compile.js';
import { HookError, type HookErrorCode } from './errors.js';
import { GUEST_PRELUDE, REMOVED_GLOBALS, type GuestConfig } from './guest-runtime.js';
import { performHttp, type HookHttpPolicy, type HttpEnvelope } from './http.js';
import { StackMapper, bundleFilename } from './source-map.js';
import type { HookLogEntry, InvokeContext, InvokeOutcome, JsonValue, LoadOptions, LoadedHook, SandboxLimits } from './types.js';
import { checkOutput } from './validate.js';

/** What the guest may send back at most; larger results are HOOK_BAD_RESULT, extra logs are counted and dropped. */
export const GUEST_CONFIG: GuestConfig = { maxLogEntries: 100, maxLogChars: 4096, maxResultChars: 1024 * 1024 };

type ErrorRecord = { kind: 'error' | 'stack' | 'api' | 'nonerror'; code?: string; name?: string; message: string; stack?: string };
type Envelope = [status: 'ok' | 'bad' | 'err', payload: unknown, logs: unknown, dropped: unknown];

interface Live {
  isolate: ivm.Isolate;
  context: ivm.Context;
  call: ivm.Reference<(json: string, id: number) => string>;
  takeLogs: ivm.Reference<() => [unknown, unknown]>;
}

/** CPU budget of a hook's top-level code at load: ten calls' worth (tables built once), within the wall deadline. */
export function loadBudgetMs(limits: SandboxLimits): number {
  return Math.min(limits.wallMsPerCall, Math.max(limits.cpuMsPerCall * 10, 250));
}

let onCatastrophic: (message: string) => void = () => {};
/** What to do when V8 reports it lost control of an isolate (the child process aborts so it is restarted). */
export function setCatastrophicHandler(handler: (message: string) => void): void {
  onCatastrophic = handler;
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

export class InlineHook implements LoadedHook {
  declaredHook: string | null = null;
  readonly #compiled: CompiledHook;
  readonly #limits: SandboxLimits;
  readonly #settingsJson: string;
  readonly #http: HookHttpPolicy;
  readonly #logger: Logger;
  readonly #breaker: CircuitBreaker;
  readonly #mapper: StackMapper;
  #live: Live | null = null;
  #disposed = false;
  #seq = 0;
  #busy = false;
  /** Id of the call in progress (null between calls). */
  #activeId: number | null = null;
  readonly #waiters: (() => void)[] = [];
  readonly #settled = new Map<number, unknown>();
  readonly #pending = new Map<number, (env: unknown) => void>();

  constructor(compiled: CompiledHook, options: LoadOptions) {
    this.#compiled = compiled;
    this.#limits = options.limits;
    this.#settingsJson = JSON.stringify(options.hookSettings ?? null);
    this.#http = options.http;
    this.#logger = options.logger;
    this.#breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...options.breaker });
    this.#mapper = new StackMapper(compiled);
  }

  get health(): HookHealth {
    return this.#breaker.health;
  }

  /** Creates the isolate and runs the hook's top level; throws HookError HOOK_LOAD. */
  start(): void {
    const isolate = new ivm.Isolate({
      memoryLimit: this.#limits.memoryMb,
      onCatastrophicError: (message: string) => {
        this.#logger.fatal({ file: this.#compiled.source.displayName, reason: message }, 'sandbox: V8 lost control of a hook isolate');
        onCatastrophic(message);
      },
    });
    try {
      const context = isolate.createContextSync();
      context.evalSync(`for (const k of ${JSON.stringify(REMOVED_GLOBALS)}) delete globalThis[k];`);
      const settle = new ivm.Callback((id: unknown, env: unknown) => this.#onSettle(id, env));
      const httpRef = new ivm.Reference((json: unknown) => this.#httpForActiveCall(json));
      const fns = context.evalClosureSync(GUEST_PRELUDE, [settle, httpRef, this.#settingsJson, JSON.stringify(GUEST_CONFIG)],
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
        throw this.#error('HOOK_LOAD', '', Array.isArray(res) && typeof res[1] === 'string' ? res[1] : 'the hook could not be initialised');
      }
      this.declaredHook = typeof res[1] === 'string' ? res[1] : null;
      this.#live = { isolate, context, call, takeLogs };
    } catch (error) {
      if (!isolate.isDisposed) isolate.dispose();
      if (error instanceof HookError) throw error;
      throw this.#hostError(error, '', 'HOOK_LOAD');
    }
  }

  invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome> {
    const t0 = performance.now();
    if (this.#breaker.blockedUntil() !== null) {
      return Promise.resolve(this.#outcomeError(this.#error('HOOK_COOLING_DOWN', ctx.hook,
        `skipped: the hook failed ${this.#breaker.health.consecutiveFailures} times in a row and is cooling down until ${new Date(this.#breaker.blockedUntil() ?? 0).toISOString()}`), t0, [], false));
    }
    // One call at a time per isolate: a second applySync while an async continuation runs would block
    // the event loop until the isolate is free.
    if (this.#busy) return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(() => this.#runExclusive(input, ctx, t0));
    return this.#runExclusive(input, ctx, t0);
  }

  /** Runs one call holding the per-hook slot. A synchronous hook settles without any extra promise hop. */
  #runExclusive(input: JsonValue, ctx: InvokeContext, t0: number): Promise<InvokeOutcome> {
    this.#busy = true;
    let result: InvokeOutcome | Promise<InvokeOutcome>;
    try {
      result = this.#run(input, ctx, t0);
    } catch (error) {
      this.#release();
      return Promise.resolve(this.#outcomeError(this.#hostError(error, ctx.hook, 'HOOK_CRASHED'), t0, []));
    }
    if (result instanceof Promise) return result.finally(() => this.#release());
    this.#release();
    return Promise.resolve(result);
  }

  #release(): void {
    this.#busy = false;
    this.#activeId = null;
    this.#waiters.shift()?.();
  }

  #run(input: JsonValue, ctx: InvokeContext, t0: number): InvokeOutcome | Promise<InvokeOutcome> {
    if (this.#disposed) return this.#outcomeError(this.#error('HOOK_DISPOSED', ctx.hook, 'the hook was unloaded'), t0, [], false);
    if (this.#live === null) {
      // Re-created after an OOM, a crash or a deadline: the next call gets a fresh isolate.
      try { this.start(); } catch (error) {
        return this.#outcomeError(error instanceof HookError ? this.#retag(error, ctx.hook) : this.#hostError(error, ctx.hook, 'HOOK_LOAD'), t0, []);
      }
    }
    const live = this.#live;
    if (live === null) return this.#outcomeError(this.#error('HOOK_LOAD', ctx.hook, 'the hook could not be loaded'), t0, []);
    let inputJson: string;
    try { inputJson = JSON.stringify(input); } catch {
      return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the input given to the hook is not JSON'), t0, [], false);
    }
    const id = ++this.#seq;
    this.#activeId = id;
    let env: unknown;
    try {
      env = live.call.applySync(undefined, [inputJson, id], { timeout: this.#limits.cpuMsPerCall, result: { copy: true } });
    } catch (error) {
      return this.#syncFailure(error, live, ctx, t0);
    }
    if (env === 'p') {
      return this.#awaitSettle(id, live, ctx, t0).then((settled) =>
        settled instanceof HookError ? this.#outcomeError(settled, t0, []) : this.#finish(settled, ctx, t0));
    }
    return this.#finish(env, ctx, t0);
  }

  /**
   * http only serves the call in progress. A request started by a call that has finished (fire-and-forget)
   * is never answered: answering would run guest code after the call, outside every budget, on the thread
   * that owns the isolate, and the next applySync would wait for it.
   */
  #httpForActiveCall(json: unknown): Promise<HttpEnvelope> {
    const id = this.#activeId;
    const never = new Promise<HttpEnvelope>(() => {});
    if (id === null) return never;
    return performHttp(typeof json === 'string' ? json : '', this.#http).then((env) => (this.#activeId === id ? env : never));
  }

  #onSettle(id: unknown, env: unknown): void {
    if (typeof id !== 'number') return;
    const waiter = this.#pending.get(id);
    if (waiter) waiter(env);
    else if (id === this.#seq) this.#settled.set(id, env); // settled during the applySync itself (microtasks)
  }

  #awaitSettle(id: number, live: Live, ctx: InvokeContext, t0: number): Promise<unknown> {
    const early = this.#settled.get(id);
    if (early !== undefined) {
      this.#settled.delete(id);
      return Promise.resolve(early);
    }
    const remaining = Math.max(0, this.#limits.wallMsPerCall - (performance.now() - t0));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        // The guest may be spinning in a continuation (on isolated-vm's thread pool, with no timeout): the
        // only way to stop it is to dispose the isolate. The next call re-creates it.
        this.#teardown(live);
        resolve(this.#error('HOOK_TIMEOUT', ctx.hook, `the hook did not finish within ${this.#limits.wallMsPerCall} ms (wall clock, including awaited http)`));
      }, remaining);
      this.#pending.set(id, (env) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(env);
      });
    });
  }

  #syncFailure(error: unknown, live: Live, ctx: InvokeContext, t0: number): InvokeOutcome {
    const message = error instanceof Error ? error.message : String(error);
    if (message.includes('timed out')) {
      // The isolate survives a timeout; collect what the hook logged before it was stopped.
      let logs: HookLogEntry[] = [];
      try {
        const taken = live.takeLogs.applySync(undefined, [], { result: { copy: true }, timeout: 20 });
        if (Array.isArray(taken)) logs = this.#emitLogs(taken[0], taken[1], ctx);
      } catch { /* logs are best effort */ }
      return this.#outcomeError(this.#error('HOOK_TIMEOUT', ctx.hook, `the hook used more than its CPU budget of ${this.#limits.cpuMsPerCall} ms`), t0, logs);
    }
    this.#teardown(live);
    return this.#outcomeError(this.#hostError(error, ctx.hook, 'HOOK_THROW'), t0, []);
  }

  #finish(raw: unknown, ctx: InvokeContext, t0: number): InvokeOutcome {
    const env = decode(raw);
    if (env === null) return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the sandbox runtime answered with an unexpected shape'), t0, []);
    const fast = 'fast' in env;
    const logs = fast ? [] : this.#emitLogs(env[2], env[3], ctx);
    const status = fast ? 'ok' : env[0];
    const payload = fast ? env.fast : env[1];
    if (status === 'ok' && typeof payload === 'string') {
      let value: JsonValue;
      try {
        // JSON.parse makes "__proto__" an own key, harmless until someone Object.assign()s it: drop such keys.
        value = (payload.includes('"__proto__"') ? JSON.parse(payload, (k, v: unknown) => (k === '__proto__' ? undefined : v)) : JSON.parse(payload)) as JsonValue;
      } catch {
        return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the result is not valid JSON'), t0, logs);
      }
      if (ctx.outputSchema) {
        const problem = checkOutput(ctx.outputSchema, value);
        if (problem !== null) return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, problem), t0, logs);
      }
      this.#breaker.success();
      return { ok: true, value, durationMs: performance.now() - t0, logs };
    }
    if (status === 'bad') return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, typeof payload === 'string' ? payload : 'bad result'), t0, logs);
    if (status === 'err' && payload !== null && typeof payload === 'object') return this.#outcomeError(this.#guestError(payload as ErrorRecord, ctx.hook), t0, logs);
    return this.#outcomeError(this.#error('HOOK_BAD_RESULT', ctx.hook, 'the sandbox runtime answered with an unexpected status'), t0, logs);
  }

  /** A throw recorded by the guest runtime → HookError with the customer's frames only. */
  #guestError(rec: ErrorRecord, hook: string): HookError {
    const code: HookErrorCode = rec.kind === 'stack' ? 'HOOK_STACK_OVERFLOW'
      : rec.kind === 'api' && (rec.code === 'HOOK_HTTP_REFUSED' || rec.code === 'HOOK_HTTP_FAILED') ? rec.code
        : 'HOOK_THROW';
    const mapped = typeof rec.stack === 'string' ? this.#mapper.frames(rec.stack) : { frames: [], first: null };
    const text = rec.kind === 'nonerror' ? `the hook ${rec.message}` : rec.kind === 'stack' ? 'maximum call stack size exceeded (unbounded recursion?)'
      : `${rec.name && rec.name !== 'Error' ? `${rec.name}: ` : ''}${rec.message}`;
    return new HookError({
      code, hook, file: mapped.first?.file ?? this.#compiled.source.displayName, message: String(text).slice(0, 2000),
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
    const mapped = this.#mapper.frames(stack);
    // isolated-vm's own messages never name host paths, but strip anything path-like to be sure.
    const clean = message.replace(/\(?(?:file:\/\/)?\/[^\s)]*\)?/g, '').slice(0, 2000);
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

  #outcomeError(error: HookError, t0: number, logs: HookLogEntry[], countsAsFailure = true): InvokeOutcome {
    if (countsAsFailure && this.#breaker.failure()) {
      this.#logger.warn({ hook: error.hook, file: error.file, failures: this.#breaker.health.consecutiveFailures, until: this.#breaker.health.coolingDownUntil },
        'sandbox: hook keeps failing, cooling down');
    }
    return { ok: false, error, durationMs: performance.now() - t0, logs };
  }

  #emitLogs(raw: unknown, dropped: unknown, ctx: InvokeContext): HookLogEntry[] {
    if (!Array.isArray(raw) || raw.length === 0) return [];
    const out: HookLogEntry[] = [];
    const base = { hook: ctx.hook, file: this.#compiled.source.displayName, ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}) };
    for (const item of raw) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || !LEVELS.has(item[0]) || typeof item[1] !== 'string') continue;
      const entry: HookLogEntry = { level: item[0] as HookLogEntry['level'], message: item[1] };
      if (typeof item[2] === 'string') {
        try { entry.data = JSON.parse(item[2]) as JsonValue; } catch { /* dropped */ }
      }
      out.push(entry);
      this.#logger[entry.level]({ ...base, source: 'hook', ...(entry.data !== undefined ? { data: entry.data } : {}) }, entry.message);
    }
    if (typeof dropped === 'number' && dropped > 0) this.#logger.warn(base, `sandbox: ${dropped} more log entries of this call were dropped`);
    return out;
  }

  #teardown(live: Live): void {
    if (this.#live === live) this.#live = null;
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
    if (this.#live) this.#teardown(this.#live);
  }
}

/** Loads a compiled hook into its own isolate; rejects HookError HOOK_LOAD. */
export async function loadHookInline(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook> {
  const hook = new InlineHook(compiled, options);
  hook.start();
  return hook;
}
