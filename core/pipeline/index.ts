// The CRM pipeline: stage events from the CEL hand-off (one transaction with the resume point) are
// processed call by call through the CRM's stage program, every step journaled and every CRM action
// going through the outbox. One pipeline per PBX; the CRM adapter is behind the program.
import type { Logger } from 'pino';
import type { HookHost } from '../../hooks/index.js';
import type { IngestSink } from '../cel/ingest.js';
import type { CrmClient } from '../crm/types.js';
import type { ActionRecord, CallRecord, ConnectorStore, JsonValue } from '../store/types.js';
import { Scheduler } from './scheduler.js';
import type { DeliveryPolicy } from './steps.js';
import type { StageTrace } from './trace.js';
import { processCall, type CallSummary, type StageProgram, type WorkerDeps } from './worker.js';

export type { StageTrace, TraceStep, HookStep, CrmStep, NoteStep, HookDecision } from './trace.js';
export type { CallSummary, StageProgram } from './worker.js';
export { runBitrix24Stage, externalCallId, BITRIX24_POINTS, type Bitrix24Env, type Bitrix24Kit } from './bitrix24.js';
export { runKommoStage, kommoUniq, KOMMO_POINTS, type KommoEnv } from './kommo.js';

/** A call as the store has it after processing: what the hooks saw and decided, what the CRM answered. */
export interface CallReport {
  linkedid: string;
  run: number;
  status: CallRecord['status'];
  parkedReason: string | null;
  call_full: JsonValue;
  summary: CallSummary | null;
  /** The stages of the current run, in order, with their traces. */
  stages: StageTrace[];
  /** The outbox entries of the call. */
  actions: ActionRecord[];
}

export interface PipelineOptions {
  store: ConnectorStore;
  pbx: string;
  host: HookHost;
  /** null: nothing is sent (crm.type none). */
  client: CrmClient | null;
  portal: string;
  program: StageProgram;
  delivery: DeliveryPolicy & { concurrency: number };
  logger: Logger;
  /** Once per call when its call_ended was processed (or it was parked), with its full record. */
  onCall?(report: CallReport): void | Promise<void>;
  now?(): number;
  random?(): number;
}

export interface Pipeline {
  /** The CEL hand-off: commits through the store, then wakes the pipeline. */
  sink(): IngestSink;
  start(): void;
  /** Resolves when no call has work now (includeWaiting: nor waits for a retry). */
  idle(options?: { includeWaiting?: boolean }): Promise<void>;
  /** Graceful stop: no new CRM request starts; in-flight steps finish; the rest stays in the store. */
  stop(): Promise<void>;
  readonly activeCalls: number;
}

export async function readCallReport(store: ConnectorStore, pbx: string, linkedid: string): Promise<CallReport | null> {
  const call = await store.getCall(pbx, linkedid);
  if (call === null) return null;
  const events = await store.events(pbx, linkedid);
  return {
    linkedid,
    run: call.run,
    status: call.status,
    parkedReason: call.parkedReason,
    // A call parked before any of its stages completed: the assembler's newest snapshot.
    call_full: call.callFull ?? events[events.length - 1]?.callFull ?? null,
    summary: call.summary as unknown as CallSummary | null,
    stages: events.filter((e) => e.run === call.run && e.trace !== null).map((e) => e.trace as unknown as StageTrace),
    actions: await store.actions(pbx, linkedid),
  };
}

export function createPipeline(o: PipelineOptions): Pipeline {
  let stopping = false;
  const deps: WorkerDeps = {
    store: o.store,
    pbx: o.pbx,
    host: o.host,
    client: o.client,
    portal: o.portal,
    policy: o.delivery,
    logger: o.logger,
    now: o.now ?? Date.now,
    random: o.random ?? Math.random,
    stopping: () => stopping,
    program: o.program,
    onSettled: async (linkedid) => {
      if (o.onCall === undefined) return;
      const report = await readCallReport(o.store, o.pbx, linkedid);
      if (report !== null) await o.onCall(report);
    },
  };
  const scheduler = new Scheduler({
    store: o.store, pbx: o.pbx, concurrency: o.delivery.concurrency, logger: o.logger, process: (id) => processCall(deps, id), ...(o.now ? { now: o.now } : {}),
    onRepeatedFailure: async (linkedid, error) => {
      // Host details stay in the log; the call record says what happened in one line.
      const reason = `internal error while processing the call: ${error instanceof Error ? error.message : String(error)}`;
      await o.store.write(o.pbx, linkedid, { call: { status: 'parked', parkedReason: reason, nextAttemptAt: null } });
      await deps.onSettled?.(linkedid, 'parked');
    },
  });
  return {
    sink() {
      const base = o.store.ingestSink(o.pbx);
      return {
        load: () => base.load(),
        async commit(batch) {
          await base.commit(batch);
          scheduler.wake();
        },
      };
    },
    start: () => scheduler.start(),
    idle: (options) => scheduler.idle(options),
    async stop() {
      stopping = true;
      await scheduler.stop();
    },
    get activeCalls() {
      return scheduler.activeCalls;
    },
  };
}
