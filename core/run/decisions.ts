// What the hooks decided for one stage of one call, as a plain JSON record: the unit of the run report,
// and (with the full point traces) what the operator's decision trace and "what if" replay read later.
import type { StageEvent } from '../cel/assembler/index.js';
import type { HookCallTrace, PointTrace, StageRun } from '../../hooks/index.js';

export interface HookDecision {
  hook: string;
  source: string;
  outcome: HookCallTrace['outcome'];
  /** What the hook returned (ok / cancelled). */
  output?: unknown;
  /** `file:line:col CODE message` when it failed. */
  error?: string;
  /** Why its answer was replaced by the point's default. */
  fallback?: string;
  durationMs: number;
}

export interface PointDecision {
  point: string;
  value: unknown;
  cancelled: boolean;
  cancelledBy: string | null;
  /** Set when no hook decided: absent, disabled, failed, cancelled, cooling_down. */
  defaultApplied: string | null;
  hooks: HookDecision[];
}

export interface StageDecision {
  stage: StageEvent['stage'];
  /** Uniqueid of the conversation the stage is about ('' for call_ended). */
  conversationId: string;
  /** The number whose phone rang in that conversation. */
  party: string;
  atRowId: number;
  /** need_registration's verdict: false stops the stage (nothing is sent to the CRM). */
  registered: boolean;
  points: PointDecision[];
  /** Full traces (inputs, digests, generation) for the decision trace and "what if"; omitted from text reports. */
  traces: PointTrace[];
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

export function stageDecision(event: StageEvent, run: StageRun): StageDecision {
  const conv = event.callFull.conversations[event.conversationId];
  return {
    stage: event.stage,
    conversationId: event.conversationId,
    party: conv ? conv.channel.to.original || conv.channel.name : '',
    atRowId: event.atRowId,
    registered: run.registered,
    points: run.results.map(({ point, result }) => ({
      point,
      value: result.value,
      cancelled: result.cancelled,
      cancelledBy: result.trace.cancelledBy,
      defaultApplied: result.trace.defaultApplied ? `${result.trace.defaultApplied.reason}: ${result.trace.defaultApplied.detail}` : null,
      hooks: result.trace.hooks.map(hookDecision),
    })),
    traces: run.results.map(({ result }) => result.trace),
  };
}
