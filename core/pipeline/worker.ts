// Processes one call: its pending stage events in order, each through the CRM's stage program and
// the journal. After each event: the trace, the call's memory and the enriched call_full are stored
// with the event marked done, in one transaction. A Blocked stage stores the call as waiting (retry)
// or parked and returns; the next attempt resumes the same event from its journal.
import type { CallFull } from '../../types/call_full.js';
import type { ActionRecord, CallRecord, EventRecord, JsonValue } from '../store/types.js';
import { enrich, memoryForRun, memoryOf, type CallMemory } from './memory.js';
import { clientNumberOf, effectiveNumber, talkSeconds, wasAnswered } from './parties.js';
import { Blocked, StepContext, Stopping, type StepDeps } from './steps.js';

export interface StageProgramInput {
  ctx: StepContext;
  snapshot: CallFull;
  memory: CallMemory;
}

export type StageProgram = (input: StageProgramInput) => Promise<void>;

export interface WorkerDeps extends StepDeps {
  program: StageProgram;
  /** After a call's call_ended event was processed, or the call was parked. */
  onSettled?(linkedid: string, how: 'done' | 'parked'): void | Promise<void>;
}

export type WorkerResult = 'idle' | 'done' | 'waiting' | 'parked' | 'stopped';

/** A small listing record of a call (the operator's list, `callhook run`'s summary line). */
export interface CallSummary {
  type: string;
  client: string;
  from: string;
  to: string;
  answered: boolean;
  result: number;
  talk_seconds: number;
  registered: boolean;
  crm_call_id: string;
  not_registered: string | null;
}

export function summarize(call: CallFull, memory: CallMemory): CallSummary {
  return {
    type: call.channel.type,
    client: memory.clientNumber ?? effectiveNumber(clientNumberOf(call)),
    from: effectiveNumber(call.channel.from),
    to: effectiveNumber(call.channel.to),
    answered: wasAnswered(call),
    result: call.result,
    talk_seconds: talkSeconds(call),
    registered: memory.registration !== null,
    crm_call_id: memory.registration?.id ?? '',
    not_registered: memory.notRegistered,
  };
}

function partyOf(call: CallFull, conversationId: string): string {
  const conv = call.conversations[conversationId];
  return conv ? conv.channel.to.original || conv.channel.name : '';
}

export async function processCall(deps: WorkerDeps, linkedid: string): Promise<WorkerResult> {
  const { store, pbx } = deps;
  const call: CallRecord | null = await store.getCall(pbx, linkedid);
  if (call === null || call.status === 'parked') return 'idle';
  const events: EventRecord[] = await store.pendingEvents(pbx, linkedid);
  if (events.length === 0) {
    await store.write(pbx, linkedid, { call: { status: 'done', nextAttemptAt: null } });
    return 'idle';
  }
  const actions = new Map<string, ActionRecord>((await store.actions(pbx, linkedid)).map((a) => [a.key, a]));
  let memory = memoryOf(call.memory);
  for (const [i, event] of events.entries()) {
    if (deps.stopping()) return 'stopped';
    memory = memoryForRun(memory, event.run);
    const snapshot = event.callFull as unknown as CallFull;
    const ctx = new StepContext(deps, event, call.priority, actions, partyOf(snapshot, event.conversationId));
    try {
      await deps.program({ ctx, snapshot, memory });
    } catch (error) {
      if (error instanceof Blocked) {
        const memoryJson = memory as unknown as JsonValue;
        if (error.retryAt === null) {
          ctx.note(`parked: ${error.reason}`);
          await store.write(pbx, linkedid, {
            ...ctx.takeProgress(),
            attempt: [{ eventId: event.id, trace: ctx.trace as unknown as JsonValue }],
            call: { status: 'parked', parkedReason: error.reason, nextAttemptAt: null, memory: memoryJson, summary: summarize(enrichedOf(snapshot, memory), memory) as unknown as JsonValue },
          });
          deps.logger.warn({ linkedid, stage: event.stage, reason: error.reason }, 'call parked');
          await deps.onSettled?.(linkedid, 'parked');
          return 'parked';
        }
        await store.write(pbx, linkedid, {
          ...ctx.takeProgress(),
          attempt: [{ eventId: event.id, trace: ctx.trace as unknown as JsonValue }],
          call: { status: 'waiting', nextAttemptAt: error.retryAt, memory: memoryJson },
        });
        deps.logger.info({ linkedid, stage: event.stage, retryInMs: error.retryAt - deps.now(), reason: error.reason }, 'CRM action failed; the call waits and is retried');
        return 'waiting';
      }
      if (error instanceof Stopping) {
        await store.write(pbx, linkedid, { ...ctx.takeProgress() });
        return 'stopped';
      }
      throw error;
    }
    const view = enrichedOf(snapshot, memory);
    const last = i === events.length - 1;
    await store.write(pbx, linkedid, {
      ...ctx.takeProgress(),
      done: [{ eventId: event.id, trace: ctx.trace as unknown as JsonValue }],
      call: {
        memory: memory as unknown as JsonValue,
        callFull: view as unknown as JsonValue,
        summary: summarize(view, memory) as unknown as JsonValue,
        ...(last ? { status: 'done' as const, nextAttemptAt: null } : {}),
      },
    });
    if (event.stage === 'call_ended') await deps.onSettled?.(linkedid, 'done');
  }
  return 'done';
}

function enrichedOf(snapshot: CallFull, memory: CallMemory): CallFull {
  return enrich(snapshot, memory, clientNumberOf(snapshot)?.original ?? null);
}

export { Stopping };
