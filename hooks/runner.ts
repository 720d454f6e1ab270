// Every hook invocation goes through runHook (error tagging, budget, output validation, stats); a small
// runner per composition kind turns the hooks of one point into one decision and a JSON trace of how it
// was reached (what each hook saw and decided, which default applied and why, durations, versions).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { getHookPoint, isEmptyData, type HookPointName, type HookPointSpec, type HookStage } from './catalogue.js';
import { confineToRoot } from './confine.js';
import { toHookError, type InvokeOutcomeLike, type JsonObject, type JsonValue } from './engine.js';
import type { ActiveHook } from './active-hook.js';
import { checkOutput } from './validation.js';
import { unwrapLegacyEnvelope } from './envelope.js';
import { escapeControl } from '../sandbox/text-guard.js';
import type { HostErrorCode } from './error-codes.js';

export type DefaultReason = 'absent' | 'disabled' | 'failed' | 'cancelled' | 'cooling_down';

/** A failure of one hook, tagged with the hook point and file (Rollup-style attribution). */
export interface HookRunError {
  code: string;
  message: string;
  point: HookPointName;
  hook: string;
  line?: number;
  column?: number;
}

export interface HookCallTrace {
  hook: string;
  /** 'file' or '<pack>@<version>'. */
  source: string;
  contentHash: string;
  /** Waterfall: the running value this hook saw. Other kinds: null (it saw the point's input). */
  saw: JsonValue;
  outcome: 'ok' | 'failed' | 'cancelled' | 'skipped';
  output?: JsonValue;
  error?: HookRunError;
  /** Set when this hook's answer was replaced by the default (failed, skipped). */
  fallback?: { reason: DefaultReason; detail: string };
  durationMs: number;
}

export interface PointTrace {
  point: HookPointName;
  kind: HookPointSpec['kind'];
  stage: HookStage | null;
  callId: string | null;
  /** Id of the hook-set generation this invocation used (one generation per runPoint). */
  generation: number;
  startedAt: string;
  durationMs: number;
  inputDigest: string;
  input: JsonValue;
  hooks: HookCallTrace[];
  value: JsonValue;
  cancelled: boolean;
  cancelledBy: string | null;
  /** Set when no hook's answer determined the value. */
  defaultApplied: { reason: DefaultReason; detail: string } | null;
}

export interface PointResult {
  /** The decision: boolean (all), the final threaded value (waterfall), null (parallel or cancelled). */
  value: JsonValue;
  /** True when a hook cancelled the CRM request in front of which this point runs. */
  cancelled: boolean;
  trace: PointTrace;
}

export interface RunContext {
  callId?: string;
  stage?: HookStage;
}

export interface RunEnv {
  recordingsRoot: string;
  budgetMs(point: HookPointName): number;
  logger: Logger;
}

export type HookRun =
  | { kind: 'ok'; value: JsonValue; durationMs: number }
  | { kind: 'cancelled'; value: JsonValue; durationMs: number }
  | { kind: 'failed'; error: HookRunError; durationMs: number }
  | { kind: 'skipped'; reason: 'cooling_down'; durationMs: 0 };

/** Failures the host finds in a result the sandbox returned (the sandbox's breaker counted them as successes). */
const HOST_JUDGED: ReadonlySet<string> = new Set(['HOOK_BAD_RESULT', 'HOOK_PATH_REFUSED']);

/**
 * How long past a hook's budget the host still waits for the engine. The sandbox enforces the budget itself
 * (it is passed with every call), and when another hook crashes the sandbox process under a call it re-runs
 * that call in a fresh process, which can take a second or two: this is only the net under an engine that
 * never answers.
 */
const HOST_GRACE_MS = 10_000;

export function digest(value: JsonValue): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Point-specific checks that go beyond the schema. */
function refineOutput(point: HookPointName, value: JsonValue, env: RunEnv): { ok: true; value: JsonValue } | { ok: false; code: string; message: string } {
  if (point === 'process_record_file_path' && typeof value === 'string') {
    const confined = confineToRoot(env.recordingsRoot, value);
    return confined.ok ? { ok: true, value: confined.path } : { ok: false, code: 'HOOK_PATH_REFUSED' satisfies HostErrorCode, message: confined.reason };
  }
  return { ok: true, value };
}

/** What the engine is told about one call: the point (for errors and log lines), the call, the point's budget. */
function invokeContext(hook: ActiveHook, ctx: RunContext, env: RunEnv): { hook: string; callId?: string; wallMs: number } {
  return { hook: hook.id.point, wallMs: env.budgetMs(hook.id.point), ...(ctx.callId !== undefined ? { callId: ctx.callId } : {}) };
}

/** A hook whose circuit breaker is open (the sandbox's for failed calls, the host's for refused results) is not called. */
function skipIfCoolingDown(hook: ActiveHook): HookRun | null {
  return hook.coolingDown ? { kind: 'skipped', reason: 'cooling_down', durationMs: 0 } : null;
}

/** The engine's answer for one call; null when it did not answer within the budget and the grace. */
async function invokeWithNet(hook: ActiveHook, call: Promise<InvokeOutcomeLike | null>, env: RunEnv): Promise<InvokeOutcomeLike | null | { thrown: unknown }> {
  try {
    return await withDeadline(call, env.budgetMs(hook.id.point) + HOST_GRACE_MS, () => null);
  } catch (err) {
    return { thrown: err };
  }
}

/**
 * What one invocation's answer means at its point: every hook result goes through these checks (skip,
 * timeout, failure, cancel, output schema, point-specific refinement), the hook's stats and a log line on
 * failure. The hook's own log lines were written by the sandbox, one per entry.
 */
function judge(hook: ActiveHook, answer: InvokeOutcomeLike | null | { thrown: unknown }, durationMs: number, ctx: RunContext, env: RunEnv): HookRun {
  const point = hook.id.point;
  const spec = getHookPoint(point);
  const fail = (code: string, message: string, extra: { line?: number; column?: number } = {}): HookRunError => ({
    code,
    message,
    point,
    hook: hook.id.displayName,
    ...extra,
  });
  const budget = env.budgetMs(point);
  let run: HookRun;
  // A ported PHP hook's { state, data } is unwrapped to the point's own output first (hooks/envelope.ts).
  let legacyProblem: string | null = null;
  if (answer !== null && !('thrown' in answer) && answer.ok && spec.kind !== 'parallel') {
    const unwrapped = unwrapLegacyEnvelope(point, answer.value);
    if (unwrapped.kind === 'bad') legacyProblem = unwrapped.message;
    else answer = { ...answer, value: unwrapped.value };
  }
  if (legacyProblem !== null) {
    run = { kind: 'failed', error: fail('HOOK_BAD_RESULT', legacyProblem), durationMs };
  } else if (answer === null) {
    run = { kind: 'failed', error: fail('HOOK_TIMEOUT', `no answer within ${budget} ms (+${HOST_GRACE_MS} ms grace)`), durationMs };
  } else if ('thrown' in answer) {
    const e = toHookError(answer.thrown, 'HOOK_HOST_ERROR' satisfies HostErrorCode);
    run = { kind: 'failed', error: fail(e.code, e.message), durationMs };
  } else if (!answer.ok && answer.error.code === 'HOOK_COOLING_DOWN') {
    // The sandbox's circuit breaker opened between our health check and the call: a skip, not a new failure.
    return { kind: 'skipped', reason: 'cooling_down', durationMs: 0 };
  } else if (!answer.ok && spec.kind === 'parallel' && answer.error.code === 'HOOK_BAD_RESULT') {
    // Results of parallel points are ignored by contract, so returning nothing (undefined) or a
    // non-JSON value is not a failure there.
    run = { kind: 'ok', value: null, durationMs };
  } else if (!answer.ok) {
    const e = answer.error;
    const where: { line?: number; column?: number } = {};
    if (e.line !== undefined) where.line = e.line;
    if (e.column !== undefined) where.column = e.column;
    run = { kind: 'failed', error: fail(e.code, e.message, where), durationMs };
  } else if (spec.cancellable && isEmptyData(answer.value)) {
    run = { kind: 'cancelled', value: answer.value ?? null, durationMs };
  } else {
    const value = answer.value === undefined ? null : answer.value;
    const invalid = spec.kind === 'parallel' ? null : checkOutput(point, value);
    if (invalid !== null) {
      // The validator quotes the result's own keys: escaped like everything else a hook wrote.
      run = { kind: 'failed', error: fail('HOOK_BAD_RESULT', `returned an invalid ${point} result: ${escapeControl(invalid)}`), durationMs };
    } else {
      const refined = refineOutput(point, value, env);
      run = refined.ok ? { kind: 'ok', value: refined.value, durationMs } : { kind: 'failed', error: fail(refined.code, refined.message), durationMs };
    }
  }
  hook.stats.record(run.durationMs, run.kind === 'failed' ? 'failed' : run.kind === 'cancelled' ? 'cancelled' : 'ok');
  if (run.kind === 'failed' && HOST_JUDGED.has(run.error.code)) {
    if (hook.resultBreaker.failure()) {
      env.logger.warn({ hook: hook.id.displayName, point, file: hook.id.displayName, ...(ctx.callId !== undefined ? { linkedid: ctx.callId } : {}), ...(ctx.stage !== undefined ? { stage: ctx.stage } : {}), code: run.error.code, until: new Date(hook.resultBreaker.blockedUntil() ?? 0).toISOString() },
        `hook cooling down: its results were refused ${hook.resultBreaker.health.consecutiveFailures} times in a row`);
    }
  } else if (run.kind === 'ok' || run.kind === 'cancelled') {
    hook.resultBreaker.success();
  }
  if (run.kind === 'failed') {
    env.logger.warn({ hook: point, file: hook.id.displayName, callId: ctx.callId, linkedid: ctx.callId, stage: ctx.stage, code: run.error.code }, `hook failed: ${run.error.message}`);
  }
  return run;
}

/** The one function every invocation of customer code goes through. */
export async function runHook(hook: ActiveHook, input: JsonValue, ctx: RunContext, env: RunEnv): Promise<HookRun> {
  const skipped = skipIfCoolingDown(hook);
  if (skipped) return skipped;
  const started = performance.now();
  let call: Promise<InvokeOutcomeLike>;
  try { call = hook.loaded.invoke(input, invokeContext(hook, ctx, env)); } catch (err) { call = Promise.reject(err); }
  const answer = await invokeWithNet(hook, call, env);
  return judge(hook, answer, round(performance.now() - started), ctx, env);
}

/**
 * The calls a point's composition will make, when they can be known before any of them answers: every hook
 * of an `all` or `parallel` point sees the point's input, and the one hook of a single-hook waterfall sees the
 * input with the threaded field set to the point's starting value. null for a waterfall of several hooks
 * (each needs the previous one's result). `unlessFalse`: an `all` hook is not asked once an earlier one said no.
 */
export function plannedCalls(spec: HookPointSpec, hooks: readonly ActiveHook[], input: JsonObject): Array<{ hook: ActiveHook; input: JsonValue; unlessFalse: number[] }> | null {
  if (spec.kind === 'waterfall') {
    if (hooks.length > 1) return null;
    return hooks.map((hook) => ({ hook, input: setAt(input, spec.thread ?? [], initialValue(spec, input)), unlessFalse: [] }));
  }
  return hooks.map((hook, i) => ({ hook, input, unlessFalse: spec.kind === 'all' ? [...Array(i).keys()] : [] }));
}

/** A call started ahead (runPoints): its context, whether its breaker is open, and its judged run once it answers. */
export const ahead = {
  context: invokeContext,
  skipped: skipIfCoolingDown,
  /** The call's own duration is what the engine measured (calls of a batch overlap, so wall time from the start would mislead). */
  async judge(hook: ActiveHook, call: Promise<InvokeOutcomeLike | null>, startedAt: number, ctx: RunContext, env: RunEnv): Promise<HookRun> {
    const answer = await invokeWithNet(hook, call, env);
    const took = answer !== null && !('thrown' in answer) ? answer.durationMs : performance.now() - startedAt;
    return judge(hook, answer, round(took), ctx, env);
  },
};

function baseCallTrace(hook: ActiveHook, saw: JsonValue): Omit<HookCallTrace, 'outcome' | 'durationMs'> {
  return { hook: hook.id.displayName, source: hook.source, contentHash: hook.contentHash, saw };
}

function callTrace(hook: ActiveHook, saw: JsonValue, run: HookRun, fallbackDetail: string): HookCallTrace {
  if (run.kind === 'ok') {
    // the hot path: no intermediate object
    return { hook: hook.id.displayName, source: hook.source, contentHash: hook.contentHash, saw, outcome: 'ok', output: run.value, durationMs: run.durationMs };
  }
  const base = baseCallTrace(hook, saw);
  switch (run.kind) {
    case 'cancelled':
      return { ...base, outcome: 'cancelled', output: run.value, durationMs: run.durationMs };
    case 'failed':
      return {
        ...base,
        outcome: 'failed',
        error: run.error,
        fallback: { reason: 'failed', detail: `${run.error.code}; ${fallbackDetail}` },
        durationMs: run.durationMs,
      };
    case 'skipped':
      return { ...base, outcome: 'skipped', fallback: { reason: 'cooling_down', detail: `cooling down after repeated failures; ${fallbackDetail}` }, durationMs: 0 };
  }
}

/** Why nothing decided: the most telling reason among the hooks' traces. */
function noDecisionReason(calls: readonly HookCallTrace[]): { reason: DefaultReason; detail: string } {
  if (calls.length === 0) return { reason: 'absent', detail: 'no hook is loaded at this point' };
  if (calls.some((c) => c.outcome === 'failed')) {
    const codes = calls.filter((c) => c.error).map((c) => `${c.hook}: ${c.error?.code ?? ''}`);
    return { reason: 'failed', detail: codes.join(', ') };
  }
  return { reason: 'cooling_down', detail: calls.map((c) => c.hook).join(', ') };
}

type KindResult = { value: JsonValue; cancelled: boolean; cancelledBy: string | null; calls: HookCallTrace[]; decided: boolean };

/** How a composition gets one hook's run: runHook, or (runPoints) the judged answer of a call already under way. */
export type Invoker = (hook: ActiveHook, input: JsonValue) => Promise<HookRun>;

// all: every hook must say yes; the first "no" stops and decides. A failed hook counts as yes.
async function runAll(hooks: readonly ActiveHook[], input: JsonObject, invoke: Invoker): Promise<KindResult> {
  const calls: HookCallTrace[] = [];
  let decided = false;
  for (const hook of hooks) {
    const run = await invoke(hook, input);
    calls.push(callTrace(hook, null, run, 'counted as yes'));
    if (run.kind === 'ok') {
      decided = true;
      if (run.value === false) return { value: false, cancelled: false, cancelledBy: null, calls, decided };
    }
  }
  return { value: true, cancelled: false, cancelledBy: null, calls, decided };
}

function getAt(value: JsonValue, path: readonly string[]): JsonValue {
  let current: JsonValue = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return null;
    current = current[key] ?? null;
  }
  return current;
}

/** A copy of `value` with `path` set to `next`; only the objects along the path are copied. */
function setAt(value: JsonValue, path: readonly string[], next: JsonValue): JsonValue {
  if (path.length === 0) return next;
  const [head, ...rest] = path as [string, ...string[]];
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  return { ...obj, [head]: setAt(obj[head] ?? null, rest, next) };
}

/** The running value a waterfall starts from. */
function initialValue(spec: HookPointSpec, input: JsonObject): JsonValue {
  const thread = spec.thread ?? [];
  const value = getAt(input, thread);
  // The phone hooks thread Number.custom; when no auto-replacement applied it is "" and the number in
  // effect is `original`, which is what a rewrite hook must see.
  if (thread.length === 2 && thread[0] === 'number' && thread[1] === 'custom' && (value === '' || value === null)) {
    return getAt(input, ['number', 'original']);
  }
  if (spec.name === 'process_record_file_path' && (value === '' || value === null)) return getAt(input, ['default_path']);
  return value;
}

// waterfall: each hook sees the previous result in the threaded field; a failed hook is skipped (the
// previous value stays); an empty result at a cancellable point cancels the request and stops.
async function runWaterfall(spec: HookPointSpec, hooks: readonly ActiveHook[], input: JsonObject, invoke: Invoker): Promise<KindResult> {
  const thread = spec.thread ?? [];
  const calls: HookCallTrace[] = [];
  let value = initialValue(spec, input);
  let decided = false;
  for (const hook of hooks) {
    const run = await invoke(hook, setAt(input, thread, value));
    calls.push(callTrace(hook, value, run, 'previous value kept'));
    if (run.kind === 'cancelled') {
      return { value: null, cancelled: true, cancelledBy: hook.id.displayName, calls, decided: true };
    }
    if (run.kind === 'ok') {
      value = run.value;
      decided = true;
    }
  }
  return { value, cancelled: false, cancelledBy: null, calls, decided };
}

// parallel: every hook runs on the same input at once; results are ignored and failures isolated.
async function runParallel(hooks: readonly ActiveHook[], input: JsonObject, invoke: Invoker): Promise<KindResult> {
  const runs = await Promise.all(hooks.map((hook) => invoke(hook, input)));
  const calls = runs.map((run, i) => callTrace(hooks[i] as ActiveHook, null, run, 'other hooks unaffected'));
  return { value: null, cancelled: false, cancelledBy: null, calls, decided: runs.some((r) => r.kind === 'ok') };
}

/** The value a point yields when no hook runs (absent, disabled). */
export function defaultValue(spec: HookPointSpec, input: JsonObject): JsonValue {
  switch (spec.kind) {
    case 'all':
      return true;
    case 'parallel':
      return null;
    case 'waterfall':
      return initialValue(spec, input);
  }
}

export interface PointRunArgs {
  spec: HookPointSpec;
  hooks: readonly ActiveHook[];
  input: JsonObject;
  ctx: RunContext;
  env: RunEnv;
  generation: number;
  /** Set when the point (or the whole customizer) is switched off in settings. */
  disabled: string | null;
  /** Where the hooks' runs come from (default: runHook, one call at a time as the composition asks). */
  invoke?: Invoker;
}

export async function runPointWith(args: PointRunArgs): Promise<PointResult> {
  const { spec, hooks, input, ctx, env } = args;
  const invoke: Invoker = args.invoke ?? ((hook, hookInput) => runHook(hook, hookInput, ctx, env));
  const startedAt = new Date();
  const started = performance.now();
  let result: KindResult;
  if (args.disabled !== null) {
    result = { value: defaultValue(spec, input), cancelled: false, cancelledBy: null, calls: [], decided: false };
  } else if (spec.kind === 'all') {
    result = await runAll(hooks, input, invoke);
  } else if (spec.kind === 'waterfall') {
    result = await runWaterfall(spec, hooks, input, invoke);
  } else {
    result = await runParallel(hooks, input, invoke);
  }
  let defaultApplied: PointTrace['defaultApplied'] = null;
  if (args.disabled !== null) defaultApplied = { reason: 'disabled', detail: args.disabled };
  else if (result.cancelled) defaultApplied = { reason: 'cancelled', detail: `cancelled by customization (${result.cancelledBy ?? '?'})` };
  else if (!result.decided) defaultApplied = noDecisionReason(result.calls);
  if (result.cancelled) {
    // Not an error: the reference connector logs exactly this and carries on.
    env.logger.info({ hook: spec.name, file: result.cancelledBy, callId: ctx.callId, linkedid: ctx.callId, stage: ctx.stage }, 'cancelled by customization');
  }
  const trace: PointTrace = {
    point: spec.name as HookPointName,
    kind: spec.kind,
    stage: ctx.stage ?? null,
    callId: ctx.callId ?? null,
    generation: args.generation,
    startedAt: startedAt.toISOString(),
    durationMs: round(performance.now() - started),
    inputDigest: '',
    input,
    hooks: result.calls,
    value: result.value,
    cancelled: result.cancelled,
    cancelledBy: result.cancelledBy,
    defaultApplied,
  };
  // The digest costs more than the rest of a trivial invocation (hashing a 5 KB call): computed only
  // when someone reads or serialises the trace.
  let cachedDigest: string | undefined;
  Object.defineProperty(trace, 'inputDigest', { enumerable: true, get: () => (cachedDigest ??= digest(input)) });
  return { value: result.value, cancelled: result.cancelled, trace };
}
