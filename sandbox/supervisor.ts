// 'process' isolation: hook isolates live in child processes, so that no hook can take the connector down,
// and a hook that takes its process down costs only that hook.
//
// Design (docs/sandbox.md, "What each isolation guarantees"): every hook starts in one shared child process (memory per
// hook stays that of an isolate, ~1 MB). When the shared process dies (V8 aborts on an uninterruptible
// builtin, a last-resort GC, a segfault) or has to be killed (a synchronous part that cannot be stopped, an
// isolate that keeps running after its deadline), sandbox-process.ts says which hook did it. That hook's
// call fails with HOOK_CRASHED (charged to its breaker) and the hook is quarantined: from then on it runs in
// a child process of its own. Every other hook's call that was in flight is re-run from the start in the
// replacement process, so their decisions do not change and their breakers are not charged; a load that was
// in flight is done again. When several hooks were running and it cannot be told which one did it, each of
// them is re-run alone (probation) until one kills a process on its own. Processes are started lazily, on
// the first call that needs one, and a hook is loaded into a process on its first call there; after
// close() nothing is started again.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { CircuitBreaker, DEFAULT_BREAKER, type HookHealth } from './breaker.js';
import { answeredFalse, type BatchItem } from './batch.js';
import type { CompiledHook } from './compile.js';
import { HookError } from './errors.js';
import { loadBudgetMs, parseHookJson, RESULT_SHAPE, GUEST_LIMITS, writeHookLogs } from './inline-hook.js';
import type { ErrorJson, FromChild } from './protocol.js';
import { SandboxProcess, type Answer, type Attribution } from './sandbox-process.js';
import { jsonShapeProblem } from './text-guard.js';
import type { InvokeContext, InvokeOutcome, JsonValue, LoadOptions, LoadedHook } from './types.js';
import { checkOutput } from './validate.js';

/** Processes of their own for quarantined hooks, at most; a culprit beyond that is held (not run). */
export const MAX_QUARANTINE_PROCESSES = 4;
/** How often one call is re-run because other hooks crashed the process under it, before it gives up. */
const MAX_RERUNS = 3;

function toError(json: ErrorJson): HookError {
  const e = new HookError(json);
  if (json.stack) e.stack = json.stack;
  return e;
}

/** A place hooks run in: the shared process or one quarantined hook's own; restarted lazily with back-off. */
class ProcessSlot {
  #proc: SandboxProcess | null = null;
  #starting: Promise<SandboxProcess> | null = null;
  #deaths: number[] = [];

  constructor(private readonly sup: ProcessSupervisor, readonly label: string) {}

  get current(): SandboxProcess | null {
    return this.#proc !== null && this.#proc.alive ? this.#proc : null;
  }

  /** The live process, started if needed; null once the supervisor is closing. */
  async get(): Promise<SandboxProcess | null> {
    const live = this.current;
    if (live) return live;
    if (this.sup.closing) return null;
    this.#starting ??= this.#start().finally(() => { this.#starting = null; });
    const proc = await this.#starting;
    return proc.alive ? proc : null;
  }

  async #start(): Promise<SandboxProcess> {
    const now = Date.now();
    this.#deaths = this.#deaths.filter((t) => now - t < 60_000);
    // A process that keeps dying (a hook that crashes it at every call) is restarted ever more slowly.
    const delay = this.#deaths.length <= 3 ? 0 : Math.min(10_000, 250 * 2 ** (this.#deaths.length - 3));
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    const proc = await SandboxProcess.start(this.sup.logger, {
      onDoomed: (verdict) => this.sup.onDoomed(this, verdict),
      onDeath: (a) => {
        this.#deaths.push(Date.now());
        this.sup.onDeath(this, proc, a);
      },
    });
    // close() may have been called while this one was starting.
    if (this.sup.closing) await proc.close();
    this.#proc = proc;
    return proc;
  }

  async close(): Promise<void> {
    const starting = this.#starting;
    const proc = this.#proc ?? (starting ? await starting.catch(() => null) : null);
    this.#proc = null;
    await proc?.close();
  }
}

export class ProcessSupervisor {
  readonly logger: Logger;
  #closing = false;
  #rid = 0;
  #hid = 0;
  readonly #shared: ProcessSlot;
  readonly #solos = new Map<number, ProcessSlot>();
  readonly #hooks = new Map<number, ProcessHook>();

  constructor(logger: Logger) {
    this.logger = logger;
    this.#shared = new ProcessSlot(this, 'shared');
  }

  get closing(): boolean {
    return this.#closing;
  }

  nextRid(): number {
    return ++this.#rid;
  }

  /** @internal where a hook runs: its own process once quarantined, else the shared one. */
  slotOf(hid: number): ProcessSlot {
    return this.#solos.get(hid) ?? this.#shared;
  }

  /** @internal a process is being killed for a known culprit: move the culprit out before its next call. */
  onDoomed(slot: ProcessSlot, verdict: { culprit: number; reason: string }): void {
    const culprit = this.#hooks.get(verdict.culprit);
    if (culprit && slot === this.#shared) this.#quarantine(culprit, verdict.reason);
  }

  /** @internal a process died: the culprit (if known) is quarantined; the in-flight calls sort themselves out. */
  onDeath(slot: ProcessSlot, proc: SandboxProcess, a: Attribution): void {
    const culprit = a.culprit !== null ? this.#hooks.get(a.culprit) : undefined;
    this.logger.error({
      process: slot.label, pid: proc.pid, reason: a.reason,
      ...(culprit ? { file: culprit.file } : {}),
      ...(a.culprit === null && a.suspects.size > 0 ? { suspects: [...a.suspects].map((h) => this.#hooks.get(h)?.file ?? `#${h}`) } : {}),
    }, culprit ? `sandbox: ${culprit.file} crashed its sandbox process: ${a.reason}` : `sandbox: a sandbox process died: ${a.reason}`);
    if (culprit && slot === this.#shared) this.#quarantine(culprit, a.reason);
  }

  #quarantine(hook: ProcessHook, reason: string): void {
    if (this.#solos.has(hook.hid) || hook.held !== null) return;
    if (this.#solos.size < MAX_QUARANTINE_PROCESSES) {
      this.#solos.set(hook.hid, new ProcessSlot(this, `quarantine:${hook.file}`));
      this.logger.warn({ file: hook.file, reason }, `sandbox: ${hook.file} now runs in a sandbox process of its own`);
      return;
    }
    hook.held = `it crashed the shared sandbox process (${reason}) and all ${MAX_QUARANTINE_PROCESSES} quarantine processes are taken; it is not run until it is reloaded`;
    this.logger.error({ file: hook.file }, `sandbox: ${hook.file}: ${hook.held}`);
  }

  /** @internal the hook is gone: its isolate is disposed, its quarantine process (if any) ends. */
  forget(hid: number): void {
    this.#hooks.delete(hid);
    const solo = this.#solos.get(hid);
    this.#solos.delete(hid);
    void solo?.close();
    const shared = this.#shared.current;
    if (shared?.loaded.has(hid)) {
      shared.loaded.delete(hid);
      shared.notify({ op: 'dispose', hid });
    }
  }

  /** @internal how a culprit's failed call names what happens to the hook now. */
  fateOf(hook: ProcessHook): string {
    if (hook.held !== null) return `it is held: ${hook.held}`;
    return this.#solos.has(hook.hid) ? 'the hook runs in a sandbox process of its own' : 'its process is restarted';
  }

  async load(compiled: CompiledHook, options: LoadOptions): Promise<LoadedHook> {
    if (this.#closing) throw new HookError({ code: 'HOOK_DISPOSED', message: 'the sandbox host is closed', hook: '', file: compiled.source.displayName });
    const hook = new ProcessHook(this, ++this.#hid, compiled, options);
    this.#hooks.set(hook.hid, hook);
    try {
      await hook.firstLoad();
    } catch (error) {
      this.forget(hook.hid);
      throw error;
    }
    return hook;
  }

  /**
   * Starts a batch (sandbox/batch.ts). Calls of hooks in the same process go down in one write, each with the
   * rids of its gates, so the child skips a call whose gate said no without a round trip; whatever the child
   * cannot decide (a gate in another process, or not answered yet) is decided here.
   */
  invokeAll(items: readonly BatchItem[]): Array<Promise<InvokeOutcome | null>> {
    const rids = items.map(() => this.nextRid());
    const gating = new Set(items.flatMap((item, k) => (item.unlessFalse ?? []).filter((i) => i >= 0 && i < k)));
    const answers: Array<Promise<InvokeOutcome | null>> = [];
    items.forEach((item, k) => {
      const gates = (item.unlessFalse ?? []).filter((i) => i >= 0 && i < k);
      const decideHere = (): Promise<InvokeOutcome | null> => (gates.length === 0 ? item.hook.invoke(item.input, item.ctx)
        : Promise.all(gates.map((i) => answers[i] ?? Promise.resolve(null))).then((done) => (done.some(answeredFalse) ? null : item.hook.invoke(item.input, item.ctx))));
      const hook = item.hook;
      const ours = (h: LoadedHook): h is ProcessHook => h instanceof ProcessHook && h.owner === this;
      if (!ours(hook) || gates.some((i) => !ours(items[i]?.hook as LoadedHook))) {
        answers.push(decideHere());
        return;
      }
      const plan: AheadPlan = { rid: rids[k] as number, gate: gating.has(k), unlessFalse: gates.map((i) => rids[i] as number) };
      answers.push(hook.invokeAhead(item.input, item.ctx, plan).then((r) => (r === 'skipped' ? null : r === 'deferred' ? decideHere() : r)));
    });
    return answers;
  }

  /** The shared process's pid (tests and diagnostics). */
  get pid(): number | undefined {
    return this.#shared.current?.pid;
  }

  /** @internal tests: the pid of the process a hook runs in now. */
  pidOf(hook: LoadedHook): number | undefined {
    return hook instanceof ProcessHook ? this.slotOf(hook.hid).current?.pid : undefined;
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    for (const hook of this.#hooks.values()) hook.markDisposed();
    this.#hooks.clear();
    const slots = [this.#shared, ...this.#solos.values()];
    this.#solos.clear();
    await Promise.all(slots.map((s) => s.close()));
  }
}

type Attempt =
  | { kind: 'answer'; message: FromChild; body: string }
  | { kind: 'failed'; error: HookError; countsAsFailure: boolean }
  | { kind: 'skipped' }
  | { kind: 'deferred' };

/** A batch call's place in the batch: its pre-assigned rid, whether later calls gate on it, its gates' rids. */
interface AheadPlan {
  rid: number;
  gate: boolean;
  unlessFalse: number[];
}

/** The connector-side LoadedHook: the breaker, result checks and log lines live here, the isolate in a child. */
class ProcessHook implements LoadedHook {
  declaredHook: string | null = null;
  readonly hid: number;
  readonly file: string;
  /** Set when the hook crashed the shared process and no quarantine process was free. */
  held: string | null = null;
  readonly owner: ProcessSupervisor;
  readonly #sup: ProcessSupervisor;
  readonly #compiled: CompiledHook;
  readonly #options: LoadOptions;
  readonly #breaker: CircuitBreaker;
  /** It was running when a process died and others were too: its next request runs alone. */
  #suspect = false;
  #disposed = false;
  #busy = false;
  readonly #waiters: (() => void)[] = [];

  constructor(sup: ProcessSupervisor, hid: number, compiled: CompiledHook, options: LoadOptions) {
    this.owner = sup;
    this.#sup = sup;
    this.hid = hid;
    this.#compiled = compiled;
    this.file = compiled.source.displayName;
    this.#options = options;
    this.#breaker = new CircuitBreaker({ ...DEFAULT_BREAKER, ...options.breaker });
  }

  get health(): HookHealth {
    return this.#breaker.health;
  }

  #error(code: HookError['code'], hook: string, message: string): HookError {
    return new HookError({ code, hook, file: this.file, message });
  }

  /** The load the host waits for: repeated when another hook crashes the process under it. */
  async firstLoad(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const proc = await this.#sup.slotOf(this.hid).get();
      if (proc === null) throw this.#error('HOOK_DISPOSED', '', 'the sandbox host is closed');
      const r = await this.#loadInto(proc, true);
      if (r.kind === 'loaded') { this.declaredHook = r.declaredHook; return; }
      if (r.kind === 'error') throw r.error;
      if (this.#sup.closing) throw this.#error('HOOK_DISPOSED', '', 'the sandbox host is closed');
      if (r.attribution.culprit === this.hid) throw this.#error('HOOK_LOAD', '', `its top-level code crashed the sandbox process: ${r.attribution.reason}`);
      if (r.attribution.suspects.has(this.hid)) this.#suspect = true;
      if (attempt >= MAX_RERUNS) throw this.#error('HOOK_CRASHED', '', `the sandbox process died ${attempt + 1} times while the hook was loading (other hooks)`);
    }
  }

  /** Loads the hook into a process; a probation suspect loads alone (and, for the first load, is cleared by it). */
  async #loadInto(proc: SandboxProcess, clearsSuspicion = false): Promise<{ kind: 'loaded'; declaredHook: string | null } | { kind: 'error'; error: HookError } | { kind: 'died'; attribution: Attribution }> {
    const o = this.#options;
    const budget = loadBudgetMs(o.limits);
    const answer = await proc.request({ op: 'load', rid: this.#sup.nextRid(), hid: this.hid, compiled: this.#compiled, limits: o.limits, hookSettings: o.hookSettings, http: o.http }, '',
      { hid: this.hid, syncBudgetMs: budget, wallMs: budget, exclusive: this.#suspect });
    if (answer.kind === 'died') return answer;
    if (clearsSuspicion) this.#suspect = false;
    const m = answer.message;
    if (m.op === 'loaded') { proc.loaded.add(this.hid); return { kind: 'loaded', declaredHook: m.declaredHook }; }
    if (m.op === 'loadError') return { kind: 'error', error: toError(m.error) };
    return { kind: 'error', error: this.#error('HOOK_LOAD', '', 'unexpected answer from the sandbox process') };
  }

  async invoke(input: JsonValue, ctx: InvokeContext): Promise<InvokeOutcome> {
    const r = await this.#call(input, ctx, null);
    // Only a batch call (a plan) can be skipped or deferred.
    return typeof r === 'string' ? { ok: false, error: this.#error('HOOK_CRASHED', ctx.hook, 'unexpected gate answer'), durationMs: 0, logs: [] } : r;
  }

  /** @internal a call of a batch (ProcessSupervisor.invokeAll). */
  invokeAhead(input: JsonValue, ctx: InvokeContext, plan: AheadPlan): Promise<InvokeOutcome | 'skipped' | 'deferred'> {
    return this.#call(input, ctx, plan);
  }

  async #call(input: JsonValue, ctx: InvokeContext, plan: AheadPlan | null): Promise<InvokeOutcome | 'skipped' | 'deferred'> {
    const t0 = performance.now();
    if (this.#disposed) return { ok: false, error: this.#error('HOOK_DISPOSED', ctx.hook, 'the hook was unloaded'), durationMs: 0, logs: [] };
    const until = this.#breaker.blockedUntil();
    if (until !== null) {
      return { ok: false, error: this.#error('HOOK_COOLING_DOWN', ctx.hook, `skipped: the hook failed ${this.#breaker.health.consecutiveFailures} times in a row and is cooling down until ${new Date(until).toISOString()}`), durationMs: 0, logs: [] };
    }
    let inputJson: string;
    try { inputJson = JSON.stringify(input); } catch {
      return { ok: false, error: this.#error('HOOK_BAD_RESULT', ctx.hook, 'the input given to the hook is not JSON'), durationMs: 0, logs: [] };
    }
    // One call at a time per hook, as in the child: the watchdogs then measure this call, not a queue, and
    // the child never has two requests of one hook (which is what lets a death be attributed).
    if (this.#busy) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#busy = true;
    let attempt: Attempt;
    try {
      attempt = await this.#attempt(inputJson, ctx, plan);
    } finally {
      this.#busy = false;
      this.#waiters.shift()?.();
    }
    if (attempt.kind === 'skipped' || attempt.kind === 'deferred') return attempt.kind;
    const { outcome, counts } = this.#outcome(attempt, ctx, t0);
    if (outcome.ok) this.#breaker.success();
    else if (counts && this.#breaker.failure()) {
      this.#options.logger.warn({ hook: ctx.hook, file: this.file, failures: this.#breaker.health.consecutiveFailures, until: this.#breaker.health.coolingDownUntil },
        'sandbox: hook keeps failing, cooling down');
    }
    return outcome;
  }

  async #attempt(inputJson: string, ctx: InvokeContext, firstPlan: AheadPlan | null): Promise<Attempt> {
    const wallMs = ctx.wallMs ?? this.#options.limits.wallMsPerCall;
    const cpuMs = Math.max(1, Math.min(this.#options.limits.cpuMsPerCall, wallMs));
    let plan = firstPlan;
    for (let attempt = 0; ; attempt++) {
      if (this.#disposed) return { kind: 'failed', error: this.#error('HOOK_DISPOSED', ctx.hook, 'the hook was unloaded'), countsAsFailure: false };
      if (this.held !== null) return { kind: 'failed', error: this.#error('HOOK_CRASHED', ctx.hook, this.held), countsAsFailure: true };
      const slot = this.#sup.slotOf(this.hid);
      const proc = slot.current ?? (await slot.get());
      if (proc === null) return { kind: 'failed', error: this.#error('HOOK_DISPOSED', ctx.hook, 'the sandbox host is closed'), countsAsFailure: false };
      let answer: Answer;
      if (!proc.loaded.has(this.hid)) {
        // First call in this process (a replacement, or the hook's own quarantine process): load it there.
        const loaded = await this.#loadInto(proc);
        if (loaded.kind === 'error') return { kind: 'failed', error: Object.assign(loaded.error, { hook: ctx.hook }), countsAsFailure: true };
        answer = loaded.kind === 'died' ? loaded : await this.#invokeIn(proc, inputJson, ctx, cpuMs, wallMs, plan);
      } else {
        answer = await this.#invokeIn(proc, inputJson, ctx, cpuMs, wallMs, plan);
      }
      if (answer.kind === 'answer') {
        const op = answer.message.op;
        if (op === 'skipped') return { kind: 'skipped' };
        if (op === 'deferred') return { kind: 'deferred' };
        return answer;
      }
      // A re-run is an ordinary call: its gates (if any) are decided by the supervisor.
      if (plan !== null && plan.unlessFalse.length > 0) return { kind: 'deferred' };
      plan = null;
      const a = answer.attribution;
      if (this.#sup.closing || this.#disposed) return { kind: 'failed', error: this.#error('HOOK_DISPOSED', ctx.hook, 'the sandbox host closed during the call'), countsAsFailure: false };
      if (a.culprit === this.hid) {
        return { kind: 'failed', error: this.#error('HOOK_CRASHED', ctx.hook, `the call crashed the hook's sandbox process (${a.reason}); ${this.#sup.fateOf(this)}`), countsAsFailure: true };
      }
      if (a.suspects.has(this.hid)) this.#suspect = true;
      if (attempt + 1 >= MAX_RERUNS) {
        return { kind: 'failed', error: this.#error('HOOK_CRASHED', ctx.hook, `the sandbox process died ${attempt + 1} times during this call, killed by other hooks`), countsAsFailure: false };
      }
      this.#options.logger.info({ hook: ctx.hook, file: this.file, ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}) }, 'sandbox: re-running a call another hook crashed the sandbox process under');
    }
  }

  async #invokeIn(proc: SandboxProcess, inputJson: string, ctx: InvokeContext, cpuMs: number, wallMs: number, plan: AheadPlan | null): Promise<Answer> {
    const exclusive = this.#suspect;
    const answer = await proc.request({
      op: 'invoke', rid: plan?.rid ?? this.#sup.nextRid(), hid: this.hid, hook: ctx.hook, wallMs,
      ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}),
      ...(plan?.gate ? { gate: true as const } : {}),
      ...(plan && plan.unlessFalse.length > 0 ? { unlessFalse: plan.unlessFalse } : {}),
    }, inputJson, { hid: this.hid, syncBudgetMs: cpuMs, wallMs, exclusive });
    if (answer.kind === 'answer' && exclusive) this.#suspect = false;
    return answer;
  }

  /** The answer as an outcome, and whether a failure counts against the breaker. */
  #outcome(attempt: Exclude<Attempt, { kind: 'skipped' | 'deferred' }>, ctx: InvokeContext, t0: number): { outcome: InvokeOutcome; counts: boolean } {
    const durationMs = (): number => performance.now() - t0;
    if (attempt.kind === 'failed') return { outcome: { ok: false, error: attempt.error, durationMs: durationMs(), logs: [] }, counts: attempt.countsAsFailure };
    const m = attempt.message;
    if (m.op !== 'outcome') return { outcome: { ok: false, error: this.#error('HOOK_CRASHED', ctx.hook, 'unexpected answer from the sandbox process'), durationMs: durationMs(), logs: [] }, counts: true };
    const logs = m.logs ?? [];
    const dropped = m.droppedLogs ?? 0;
    writeHookLogs(this.#options.logger, { hook: ctx.hook, file: this.file, ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}) }, logs, dropped);
    const extra = dropped > 0 ? { droppedLogs: dropped } : {};
    if (!m.ok) return { outcome: { ok: false, error: toError(m.error), durationMs: durationMs(), logs, ...extra }, counts: m.countsAsFailure };
    // Checked again on this side of the pipe, before anything here walks the value.
    const problem = attempt.body.length > GUEST_LIMITS.maxResultChars ? `more than ${GUEST_LIMITS.maxResultChars} characters of JSON`
      : jsonShapeProblem(attempt.body, RESULT_SHAPE.maxDepth, RESULT_SHAPE.maxItems);
    const bad = (message: string): { outcome: InvokeOutcome; counts: boolean } =>
      ({ outcome: { ok: false, error: this.#error('HOOK_BAD_RESULT', ctx.hook, message), durationMs: durationMs(), logs, ...extra }, counts: true });
    if (problem !== null) return bad(`the result is refused: ${problem}`);
    let value: JsonValue;
    try { value = parseHookJson(attempt.body); } catch { return bad('the result is not valid JSON'); }
    if (ctx.outputSchema) {
      const why = checkOutput(ctx.outputSchema, value);
      if (why !== null) return bad(why);
    }
    return { outcome: { ok: true, value, durationMs: durationMs(), logs, ...extra }, counts: false };
  }

  /** @internal */
  markDisposed(): void {
    this.#disposed = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.markDisposed();
    this.#sup.forget(this.hid);
  }
}
