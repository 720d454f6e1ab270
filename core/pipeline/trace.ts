// The ONE trace record of a call: per stage, every step in the order it ran — each hook point (what
// every hook saw and decided, which default applied and why) and each CRM request (params, answer,
// attempts, whether it came from the outbox's record instead of the network). `callhook run` prints it,
// the store keeps it, the operator's API and "what if" read it.
import type { HookCallTrace, PointResult, PointTrace } from '../../hooks/index.js';
import type { CallStage } from '../../types/call_full.js';
import type { ActionStatus, JsonValue } from '../store/types.js';

export interface HookDecision {
  hook: string;
  source: string;
  outcome: HookCallTrace['outcome'];
  /** What the hook returned (ok / cancelled). */
  output?: JsonValue;
  /** `file:line:col CODE message` when it failed. */
  error?: string;
  /** Why its answer was replaced by the point's default. */
  fallback?: string;
  durationMs: number;
}

export interface HookStep {
  kind: 'hook';
  point: string;
  value: JsonValue;
  cancelled: boolean;
  cancelledBy: string | null;
  /** Set when no hook decided: absent, disabled, failed, cancelled, cooling_down. */
  defaultApplied: string | null;
  hooks: HookDecision[];
  /** The full point trace (input, digests, generation) for "what if"; omitted from text reports. */
  trace: PointTrace;
}

export interface CrmStep {
  kind: 'crm';
  /** The outbox key (register, finish, show:<conversation>, ...). */
  key: string;
  method: string;
  params: JsonValue;
  status: ActionStatus;
  attempts: number;
  /** The classified answer (ok result / rejected / transient / stopped) or why it was not sent. */
  outcome: JsonValue;
  /** How this step was settled without a fresh send, e.g. "recorded answer reused", "reconciled: ...". */
  note?: string;
}

export interface NoteStep {
  kind: 'note';
  text: string;
}

export type TraceStep = HookStep | CrmStep | NoteStep;

export interface StageTrace {
  stage: CallStage;
  /** Uniqueid of the conversation the stage is about ('' for call_ended). */
  conversationId: string;
  /** The number whose phone rang in that conversation. */
  party: string;
  atRowId: number;
  run: number;
  /** need_registration's verdict at this stage. */
  registered: boolean;
  steps: TraceStep[];
}

function hookDecision(t: HookCallTrace): HookDecision {
  const d: HookDecision = { hook: t.hook, source: t.source, outcome: t.outcome, durationMs: t.durationMs };
  if (t.output !== undefined) d.output = t.output;
  if (t.error) {
    const where = t.error.line !== undefined ? `${t.error.hook}:${t.error.line}:${t.error.column ?? 1}` : t.error.hook;
    d.error = `${where} ${t.error.code} ${t.error.message}`;
  }
  if (t.fallback) d.fallback = `${t.fallback.reason}: ${t.fallback.detail}`;
  return d;
}

export function hookStep(point: string, result: PointResult): HookStep {
  const t = result.trace;
  return {
    kind: 'hook',
    point,
    value: result.value,
    cancelled: result.cancelled,
    cancelledBy: t.cancelledBy,
    defaultApplied: t.defaultApplied ? `${t.defaultApplied.reason}: ${t.defaultApplied.detail}` : null,
    hooks: t.hooks.map(hookDecision),
    trace: t,
  };
}

export function isHookStep(s: TraceStep): s is HookStep {
  return s.kind === 'hook';
}

export function isCrmStep(s: TraceStep): s is CrmStep {
  return s.kind === 'crm';
}
