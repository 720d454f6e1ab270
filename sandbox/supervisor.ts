// 'process' isolation: hook isolates live in a child node process. isolated-vm cannot promise that an
// out-of-memory or a V8 catastrophic error will not abort the process it runs in, so the connector keeps
// them at arm's length: when the child dies (or stops answering), in-flight calls fail with HOOK_CRASHED,
// the child is restarted and every hook it held is loaded again.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
// The child starts the way the CLI does: a cached bundle of our sources, else the TypeScript loader.
import { nodeArgsFor } from '../bin/reexec.js';
import { CircuitBreaker, DEFAULT_BREAKER, type HookHealth } from './breaker.js';
import type { CompiledHook } from './compile.js';
import { HookError } from './errors.js';
import type { ErrorJson, FromChild, ToChild } from './protocol.js';
import type { HookLogEntry, InvokeContext, InvokeOutcome, JsonValue, LoadOptions, LoadedHook } from './types.js';

const CHILD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.ts');
/** How long past a call's own wall deadline the supervisor waits before it declares the child hung. */
const WATCHDOG_GRACE_MS = 2000;

function toError(json: ErrorJson): HookError {
  const e = new HookError(json);
  if (json.stack) e.stack = json.stack;
  return e;
}

interface Held {
  hid: number;
  compiled: CompiledHook;
  options: LoadOptions;
  hook: ProcessHook;
  /** Set when a reload after a restart failed: calls answer this error until the hook is loaded again. */
  broken: HookError | null;
}

type Reply = (message: FromChild | { crashed: string }) => void;

export class ProcessSupervisor {
  readonly #logger: Logger;
  #child: ChildProcess | null = null;
  #closing = false;
  #rid = 0;
  #hid = 0;
  readonly #replies = new Map<number, Reply>();
  readonly #held = new Map<number, Held>();
  readonly #schemaIds = new WeakMap<object, number>();
  #schemaSeq = 0;
  #schemasSent = new Set<number>();
  #restarts: number[] = [];
  #lastMessage = 0;
  #ready: Promise<void> = Promise.resolve();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  #spawn(): ChildProcess {
    const child = spawn(process.execPath, nodeArgsFor(CHILD_ENTRY), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
    });
    child.on('message', (raw: unknown) => {
      this.#lastMessage = performance.now();
      const msg = raw as FromChild;
      const reply = this.#replies.get(msg.rid);
      if (reply) { this.#replies.delete(msg.rid); reply(msg); }
    });
    child.on('exit', (code, signal) => this.#onExit(child, code, signal));
    this.#schemasSent = new Set();
    return child;
  }

  #ensureChild(): ChildProcess {
    this.#child ??= this.#spawn();
    return this.#child;
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = null;
    const reason = signal ? `signal ${signal}` : `exit code ${code}`;
    for (const [rid, reply] of this.#replies) { this.#replies.delete(rid); reply({ crashed: reason }); }
    if (this.#closing) return;
    this.#logger.error({ reason, hooks: this.#held.size }, 'sandbox: the sandbox process died; restarting it and reloading its hooks');
    const now = Date.now();
    this.#restarts = [...this.#restarts.filter((t) => now - t < 60_000), now];
    // Back off when the child keeps dying (a hook that aborts V8 at load would otherwise spin).
    const delay = this.#restarts.length <= 3 ? 0 : Math.min(10_000, 250 * 2 ** (this.#restarts.length - 3));
    // Calls made meanwhile wait for the reload instead of reaching a child that does not know their hook.
    this.#ready = new Promise<void>((resolve) => {
      setTimeout(() => {
        if (this.#closing) { resolve(); return; }
        void this.#reloadAll().finally(resolve);
      }, delay);
    });
  }

  async #reloadAll(): Promise<void> {
    for (const held of this.#held.values()) {
      try {
        await this.#loadInChild(held.hid, held.compiled, held.options);
        held.broken = null;
      } catch (error) {
        held.broken = error instanceof HookError ? error : new HookError({ code: 'HOOK_CRASHED', message: String(error), hook: '', file: held.compiled.source.displayName });
        this.#logger.error({ file: held.compiled.source.displayName, code: held.broken.code }, 'sandbox: reloading a hook after a restart failed');
      }
    }
  }

  #request(message: ToChild & { rid: number }, watchdogMs: number | null): Promise<FromChild | { crashed: string }> {
    const child = this.#ensureChild();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.#replies.set(message.rid, (reply) => { if (timer) clearTimeout(timer); resolve(reply); });
      if (watchdogMs !== null) {
        // Past the call's own deadline plus a grace, and silent for the whole grace: the child is hung (e.g.
        // V8 stuck in a last-resort GC). A child that is merely busy with other hooks keeps answering them.
        const check = (): void => {
          const silentFor = performance.now() - this.#lastMessage;
          if (silentFor < WATCHDOG_GRACE_MS) { timer = setTimeout(check, WATCHDOG_GRACE_MS - silentFor); return; }
          this.#logger.error({ silentMs: Math.round(silentFor) }, 'sandbox: the sandbox process stopped answering; killing it');
          child.kill('SIGKILL');
        };
        timer = setTimeout(check, watchdogMs);
      }
      if (this.#replies.size === 1) this.#lastMessage = performance.now();
      child.send(message);
    });
  }

  async #loadInChild(hid: number, compiled: CompiledHook, options: LoadOptions): Promise<string | null> {
    const rid = ++this.#rid;
    const reply = await this.#request({ op: 'load', rid, hid, compiled, limits: options.limits, hookSettings: options.hookSettings, http: options.http },
      options.limits.wallMsPerCall + WATCHDOG_GRACE_MS + 5000);
    if ('crashed' in reply) throw new HookError({ code: 'HOOK_CRASHED', message: `the sandbox process died while loading the hook (${reply.crashed})`, hook: '', file: compiled.source.displayName });
    if ('loadError' in reply) throw toError(reply.loadError);
    if ('loaded' in reply) return reply.loaded.declaredHook;
    throw new HookError({ code: 'HOOK_LOAD', message: 'unexpected answer from the sandbox process', hook: '', file: compiled.source.displayName });
  }

  async load(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook> {
    if (this.#closing) throw new HookError({ code: 'HOOK_DISPOSED', message: 'the sandbox host is closed', hook: '', file: compiled.source.displayName });
    const hid = ++this.#hid;
    const declared = await this.#loadInChild(hid, compiled, options);
    const hook = new ProcessHook(this, hid, compiled, options, declared);
    this.#held.set(hid, { hid, compiled, options, hook, broken: null });
    return hook;
  }

  /** @internal used by ProcessHook */
  async invokeInChild(hid: number, input: JsonValue, ctx: InvokeContext, wallMs: number): Promise<InvokeOutcome | { crashed: string }> {
    await this.#ready;
    const held = this.#held.get(hid);
    if (held?.broken) return { ok: false, error: Object.assign(toError(held.broken.toJSON()), { hook: ctx.hook }), durationMs: 0, logs: [] };
    let schemaId: number | undefined;
    if (ctx.outputSchema) {
      schemaId = this.#schemaIds.get(ctx.outputSchema);
      if (schemaId === undefined) { schemaId = ++this.#schemaSeq; this.#schemaIds.set(ctx.outputSchema, schemaId); }
      if (!this.#schemasSent.has(schemaId)) {
        this.#ensureChild().send({ op: 'schema', schemaId, schema: ctx.outputSchema } satisfies ToChild);
        this.#schemasSent.add(schemaId);
      }
    }
    const rid = ++this.#rid;
    const reply = await this.#request({
      op: 'invoke', rid, hid, input, hook: ctx.hook,
      ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}), ...(schemaId !== undefined ? { schemaId } : {}),
    }, wallMs + WATCHDOG_GRACE_MS);
    if ('crashed' in reply) return reply;
    if (!('outcome' in reply)) return { crashed: 'unexpected answer' };
    const o = reply.outcome;
    return o.ok ? o : { ok: false, error: toError(o.error), durationMs: o.durationMs, logs: o.logs };
  }

  /** @internal */
  release(hid: number): void {
    this.#held.delete(hid);
    this.#child?.send({ op: 'dispose', hid } satisfies ToChild);
  }

  /** The child's pid (tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const held of this.#held.values()) held.hook.markDisposed();
    this.#held.clear();
    const child = this.#child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.disconnect();
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
  }
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/** The supervisor-side LoadedHook: the breaker and the logging live here, the isolate in the child. */
class ProcessHook implements LoadedHook {
  readonly declaredHook: string | null;
  readonly #sup: ProcessSupervisor;
  readonly #hid: number;
  readonly #compiled: CompiledHook;
  readonly #options: LoadOptions;
  readonly #breaker: CircuitBreaker;
  #disposed = false;
  #busy = false;
  readonly #waiters: (() => void)[] = [];

  constructor(sup: ProcessSupervisor, hid: number, compiled: CompiledHook, options: LoadOptions, declared: string | null) {
    this.#sup = sup;
    this.#hid = hid;
    this.#compiled = compiled;
    this.#options = options;
    this.declaredHook = declared;
    this.#breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...options.breaker });
  }

  get health(): HookHealth {
    return this.#breaker.health;
  }

  #fail(code: 'HOOK_COOLING_DOWN' | 'HOOK_DISPOSED' | 'HOOK_CRASHED', hook: string, message: string, t0: number): InvokeOutcome {
    return { ok: false, error: new HookError({ code, hook, file: this.#compiled.source.displayName, message }), durationMs: performance.now() - t0, logs: [] };
  }

  async invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome> {
    const t0 = performance.now();
    if (this.#disposed) return this.#fail('HOOK_DISPOSED', ctx.hook, 'the hook was unloaded', t0);
    const until = this.#breaker.blockedUntil();
    if (until !== null) {
      return this.#fail('HOOK_COOLING_DOWN', ctx.hook, `skipped: the hook failed ${this.#breaker.health.consecutiveFailures} times in a row and is cooling down until ${new Date(until).toISOString()}`, t0);
    }
    // One call at a time per hook, as in the child: the watchdog then measures this call, not a queue.
    if (this.#busy) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#busy = true;
    let r: InvokeOutcome | { crashed: string };
    try {
      r = await this.#sup.invokeInChild(this.#hid, input, ctx, this.#options.limits.wallMsPerCall);
    } finally {
      this.#busy = false;
      this.#waiters.shift()?.();
    }
    const outcome = 'crashed' in r ? this.#fail('HOOK_CRASHED', ctx.hook, `the sandbox process died during the call (${r.crashed}); it was restarted`, t0) : r;
    this.#emitLogs(outcome.logs, ctx);
    if (outcome.ok) this.#breaker.success();
    else if (outcome.error.code !== 'HOOK_DISPOSED' && this.#breaker.failure()) {
      this.#options.logger.warn({ hook: ctx.hook, file: this.#compiled.source.displayName, failures: this.#breaker.health.consecutiveFailures, until: this.#breaker.health.coolingDownUntil },
        'sandbox: hook keeps failing, cooling down');
    }
    return outcome;
  }

  #emitLogs(logs: HookLogEntry[], ctx: InvokeContext): void {
    const base = { hook: ctx.hook, file: this.#compiled.source.displayName, ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}), source: 'hook' };
    for (const e of logs) {
      if (!LEVELS.has(e.level)) continue;
      this.#options.logger[e.level]({ ...base, ...(e.data !== undefined ? { data: e.data } : {}) }, e.message);
    }
  }

  /** @internal */
  markDisposed(): void {
    this.#disposed = true;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#sup.release(this.#hid);
  }
}
