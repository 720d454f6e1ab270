// The journal every stage program runs its steps through. Two kinds of step:
// - a hook point: run once; its result is kept in the event's progress, so a stage resumed after a
//   crash or a retry sees the same decisions instead of asking the hooks again;
// - a CRM action (the outbox): written as `sending` BEFORE the request, marked with the classified answer
//   after. An action that has an answer is never sent again; one whose earlier send may have been
//   executed (crash in flight, timeout, reset) is settled by its reconcile rule before a resend.
// A transient failure throws Blocked: the worker stores the call as waiting (or parked by the retry
// policy) and other calls go on; the next attempt re-runs the stage from its journal.
import type { Logger } from 'pino';
import type { HookHost, PointResult } from '../../hooks/index.js';
import type { HookPointName } from '../../hooks/catalogue.js';
import { ANSWER_SNIPPET_BYTES, type CrmClient, type CrmOutcome, type JsonParams } from '../crm/types.js';
import type { ActionRecord, ConnectorStore, EventRecord, JsonValue } from '../store/types.js';
import { hookStep, type CrmStep, type HookStep, type StageTrace } from './trace.js';

export interface DeliveryPolicy {
  retry_min_ms: number;
  retry_max_ms: number;
  in_doubt_wait_ms: number;
  bad_answer_attempts: number;
  park_after_hours: number;
}

/** The stage cannot go on now: retry at `retryAt`, or (retryAt null) the call is parked. */
export class Blocked extends Error {
  override readonly name = 'Blocked';
  constructor(readonly retryAt: number | null, readonly reason: string) {
    super(reason);
  }
}

/** The shutdown signal: a stage stops before its next CRM request, leaving the rest in the store. */
export class Stopping extends Error {
  override readonly name = 'Stopping';
}

export interface StepDeps {
  store: ConnectorStore;
  pbx: string;
  host: HookHost;
  /** null: `crm.type` is `none`; actions are recorded as skipped. */
  client: CrmClient | null;
  portal: string;
  policy: DeliveryPolicy;
  logger: Logger;
  now(): number;
  random(): number;
  /** True once shutdown began: no new CRM request is started. */
  stopping(): boolean;
}

export interface ActionOptions {
  /**
   * For an action whose earlier send may have been executed: look for its effect in the CRM first. A
   * found result settles the action without sending (e.g. a task found by its unique tag).
   */
  findExisting?(previous: ActionRecord): Promise<JsonValue | null>;
  /**
   * For an action whose earlier send may have been executed: read the resend's answer (e.g. finish's
   * "Call is not found" then means the first finish went through). Returns the outcome to record.
   */
  afterDoubt?(outcome: CrmOutcome): CrmOutcome;
}

interface Progress {
  hooks: Record<string, HookStep>;
}

function progressOf(value: JsonValue): Progress {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.hooks === 'object' && value.hooks !== null) {
    return value as unknown as Progress;
  }
  return { hooks: {} };
}

export class StepContext {
  readonly trace: StageTrace;
  private readonly progress: Progress;
  private progressDirty = false;

  constructor(
    private readonly deps: StepDeps,
    readonly event: EventRecord,
    /** Scheduling priority of the call (its start): the rate limiter serves older calls first. */
    private readonly priority: number,
    private readonly actions: Map<string, ActionRecord>,
    party: string,
  ) {
    this.progress = progressOf(event.progress);
    this.trace = { stage: event.stage, conversationId: event.conversationId, party, atRowId: event.atRowId, run: event.run, registered: true, steps: [] };
  }

  get crmEnabled(): boolean {
    return this.deps.client !== null;
  }

  note(text: string): void {
    this.trace.steps.push({ kind: 'note', text });
  }

  /** Whether any hook is active at `point` now (a request made only for hooks to read is skipped otherwise). */
  hasHooks(point: HookPointName): boolean {
    return this.deps.host.status().some((h) => h.point === point && h.state === 'active');
  }

  /** Runs a hook point once per stage (key), or replays its recorded result. */
  async hook(point: HookPointName, input: object, key: string = point): Promise<Pick<PointResult, 'value' | 'cancelled'>> {
    const recorded = this.progress.hooks[key];
    if (recorded !== undefined) {
      this.trace.steps.push(recorded);
      return { value: recorded.value, cancelled: recorded.cancelled };
    }
    const result = await this.deps.host.runPoint(point, input, { callId: this.event.linkedid, stage: this.event.stage });
    const step = hookStep(point, result);
    this.progress.hooks[key] = step;
    this.progressDirty = true;
    this.trace.steps.push(step);
    return { value: result.value, cancelled: result.cancelled };
  }

  /** Records a request a hook cancelled (never sent); the trace says so, as "cancelled by customization". */
  async cancelled(key: string, method: string, params: JsonValue, by: string): Promise<void> {
    await this.settle(key, method, params, 'cancelled', { kind: 'cancelled', by });
  }

  /** Records a request that was not made, and why. */
  async skipped(key: string, method: string, params: JsonValue, reason: string): Promise<void> {
    await this.settle(key, method, params, 'skipped', { kind: 'skipped', reason });
  }

  private async settle(key: string, method: string, params: JsonValue, status: 'cancelled' | 'skipped', outcome: JsonValue): Promise<void> {
    const prev = this.actions.get(key);
    if (prev?.status === 'done' || prev?.status === 'rejected') {
      // An earlier run delivered it: what the CRM has stays, whatever the hooks say now.
      this.trace.steps.push(this.crmStep(prev, 'delivered in an earlier run; left as is'));
      return;
    }
    const at = this.deps.now();
    const record: ActionRecord = {
      linkedid: this.event.linkedid, key, portal: this.deps.portal, method, params, status, attempts: prev?.attempts ?? 0,
      outcome, eventId: this.event.id, run: this.event.run, firstAt: prev?.firstAt ?? at, lastAt: at,
    };
    this.actions.set(key, record);
    await this.deps.store.write(this.deps.pbx, this.event.linkedid, { actions: [record], ...this.takeProgress() });
    this.trace.steps.push(this.crmStep(record));
  }

  /**
   * Sends one CRM action through the outbox, or returns its recorded answer. null when there is no CRM.
   * Throws Blocked on a transient failure (after recording it).
   */
  async crm(key: string, method: string, params: JsonParams, options: ActionOptions = {}): Promise<CrmOutcome | null> {
    const { client, store, pbx, now } = this.deps;
    const prev = this.actions.get(key);
    // An answer is final, except a refusal from an earlier run: the CRM did nothing then, and a reprocess
    // runs because the cause (a setting, a user, a hook) was fixed.
    const final = prev !== undefined && (prev.status === 'done' || (prev.status === 'rejected' && prev.run === this.event.run));
    if (final) {
      this.trace.steps.push(this.crmStep(prev, 'recorded answer reused (not sent again)'));
      return prev.outcome as unknown as CrmOutcome;
    }
    if (client === null) {
      await this.skipped(key, method, params, 'crm.type is none: nothing is sent');
      return null;
    }
    const doubtful = prev !== undefined && (prev.status === 'sending' || prev.status === 'in_doubt');
    if (doubtful && noAnswer(prev) && now() < prev.lastAt + this.deps.policy.in_doubt_wait_ms) {
      // The earlier request may still be running at the CRM: a resend now could race it.
      throw new Blocked(prev.lastAt + this.deps.policy.in_doubt_wait_ms, `${method} (${key}): its earlier request got no answer; waiting crm.delivery.in_doubt_wait_ms before asking again`);
    }
    const linkedid = this.event.linkedid;
    const base = { linkedid, key, portal: this.deps.portal, method, params: params as JsonValue, eventId: this.event.id, run: this.event.run, firstAt: prev?.firstAt ?? now() };
    if (doubtful && options.findExisting !== undefined) {
      const found = await options.findExisting(prev);
      if (found !== null) {
        const record: ActionRecord = { ...base, status: 'done', attempts: prev.attempts, outcome: { kind: 'ok', result: found, status: null, snippet: '', durationMs: 0 }, lastAt: now() };
        this.actions.set(key, record);
        await store.write(pbx, linkedid, { actions: [record], ...this.takeProgress() });
        this.trace.steps.push(this.crmStep(record, 'reconciled: the CRM already had it (found), not sent again'));
        return record.outcome as unknown as CrmOutcome;
      }
    }
    if (this.deps.stopping()) throw new Stopping('shutting down');
    const attempts = (prev?.attempts ?? 0) + 1;
    const sending: ActionRecord = { ...base, status: 'sending', attempts, outcome: prev?.outcome ?? null, lastAt: now() };
    this.actions.set(key, sending);
    // Written before the request: after a crash from here on, the action is known to be in doubt.
    await store.write(pbx, linkedid, { actions: [sending], ...this.takeProgress() });
    let outcome = await client.call(method, params, { priority: this.priority });
    let note: string | undefined;
    if (doubtful && options.afterDoubt !== undefined) {
      const read = options.afterDoubt(outcome);
      if (read !== outcome) note = 'reconciled: the earlier send had gone through';
      outcome = read;
    }
    const status = outcome.kind === 'ok' ? 'done'
      : outcome.kind === 'rejected' ? 'rejected'
      : outcome.kind === 'transient' && outcome.maybeDelivered ? 'in_doubt'
      // A stopped portal sent nothing; keep an earlier doubt so it is still reconciled later.
      : doubtful ? 'in_doubt' : 'failed';
    const record: ActionRecord = { ...sending, status, outcome: compactOutcome(outcome), lastAt: now() };
    this.actions.set(key, record);
    await store.write(pbx, linkedid, { actions: [record] });
    this.trace.steps.push(this.crmStep(record, note));
    if (outcome.kind === 'transient' || outcome.kind === 'stopped') throw this.blocked(record, outcome);
    return outcome;
  }

  private blocked(record: ActionRecord, outcome: Extract<CrmOutcome, { kind: 'transient' | 'stopped' }>): Blocked {
    const { policy, now, random } = this.deps;
    const what = `${record.method} (${record.key}): ${outcome.code}${outcome.description ? ` ${outcome.description}` : ''}`;
    if (outcome.kind === 'transient' && outcome.badAnswer && record.attempts >= policy.bad_answer_attempts) {
      return new Blocked(null, `${what}; an answer the CRM does not document, ${record.attempts} times (crm.delivery.bad_answer_attempts): ${outcome.snippet.slice(0, 200)}`);
    }
    if (policy.park_after_hours > 0 && now() - record.firstAt > policy.park_after_hours * 3_600_000) {
      return new Blocked(null, `${what}; still failing after ${policy.park_after_hours} h (crm.delivery.park_after_hours)`);
    }
    const backoff = Math.min(policy.retry_max_ms, policy.retry_min_ms * 2 ** Math.min(30, record.attempts - 1));
    const jittered = backoff * (0.75 + 0.5 * random());
    const wait = outcome.kind === 'stopped' ? policy.retry_max_ms : Math.max(jittered, outcome.retryAfterMs ?? 0);
    return new Blocked(now() + Math.round(wait), what);
  }

  /** Progress not yet committed, for the next write (it rides along with the action it led to). */
  takeProgress(): { progress?: Array<{ eventId: number; progress: JsonValue }> } {
    if (!this.progressDirty) return {};
    this.progressDirty = false;
    return { progress: [{ eventId: this.event.id, progress: this.progress as unknown as JsonValue }] };
  }

  private crmStep(record: ActionRecord, note?: string): CrmStep {
    const step: CrmStep = { kind: 'crm', key: record.key, method: record.method, params: record.params, status: record.status, attempts: record.attempts, outcome: record.outcome };
    if (note !== undefined) step.note = note;
    return step;
  }
}

/** Sent without an answer: in flight when the connector died, or a timeout/reset (no HTTP status). */
function noAnswer(record: ActionRecord): boolean {
  if (record.status === 'sending') return true;
  const o = record.outcome;
  return o !== null && typeof o === 'object' && !Array.isArray(o) && o.status === null;
}

/** The outcome as recorded: the snippet is bounded (the adapter already cut it), results are kept whole. */
function compactOutcome(outcome: CrmOutcome): JsonValue {
  const snippet = outcome.snippet.length > ANSWER_SNIPPET_BYTES ? outcome.snippet.slice(0, ANSWER_SNIPPET_BYTES) : outcome.snippet;
  return { ...outcome, snippet } as unknown as JsonValue;
}
