// Reprocessing: calls chosen by id or by period are read from CEL again (every row of each call, also
// rows outside the period and legs with a linkedid of their own that the call absorbed), assembled, and
// run through the pipeline as a new run of each call. The hooks decide again; the outbox keeps what the
// CRM already has, so an action with an answer is reused, never sent twice.
import type { Logger } from 'pino';
import { CallAssembler, type StageEvent } from '../cel/assembler/index.js';
import type { CelRow } from '../cel/row.js';
import type { CallReport } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import { startPriority } from '../store/index.js';
import type { JsonValue } from '../store/types.js';
import { untilAborted } from './connector.js';
import { openCelRowFinder, type CelRowFinder } from './row-finder.js';
import { openRuntime, type ConnectorRuntime } from './runtime.js';

export type ReprocessSelection = { ids: readonly string[] } | { from: string; to?: string };

export interface ReprocessCallResult {
  report: CallReport;
  /** CRM requests made by this run. */
  sent: number;
  /** CRM actions this run did not send because the outbox already had their answer. */
  reused: number;
}

export interface ReprocessResult {
  /** Calls found in CEL and run again. */
  calls: number;
  /** Requested ids with no CEL row. */
  notFound: string[];
  sent: number;
  reused: number;
  parked: number;
}

export interface ReprocessOptions {
  logger: Logger;
  signal?: AbortSignal;
  onCall?(result: ReprocessCallResult): void | Promise<void>;
  /** After the rows are read: how many calls will run. */
  onSelected?(calls: number): void;
}

/**
 * Every row of the calls `seed` names, following the legs: rows with those linkedids, then rows that
 * share their uniqueids (a leg that carried another linkedid), until nothing new turns up.
 */
async function rowsOfCalls(finder: CelRowFinder, seed: readonly string[]): Promise<CelRow[]> {
  const rows = new Map<number, CelRow>();
  const linkedids = new Set(seed);
  const uniqueids = new Set<string>();
  let newLinkedids = [...linkedids];
  let newUniqueids: string[] = [];
  for (let round = 0; round < 10 && (newLinkedids.length > 0 || newUniqueids.length > 0); round++) {
    const found = [...(await finder.byLinkedids(newLinkedids)), ...(await finder.byUniqueids(newUniqueids))];
    newLinkedids = [];
    newUniqueids = [];
    for (const row of found) {
      if (rows.has(row.id)) continue;
      rows.set(row.id, row);
      if (!linkedids.has(row.linkedid)) {
        linkedids.add(row.linkedid);
        newLinkedids.push(row.linkedid);
      }
      if (!uniqueids.has(row.uniqueid)) {
        uniqueids.add(row.uniqueid);
        newUniqueids.push(row.uniqueid);
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

/**
 * Sent: CRM requests this run made (its trace). Reused: what the CRM already had from earlier runs (the
 * call's outbox entries answered before this run), which this run did not send again.
 */
function countRequests(report: CallReport): { sent: number; reused: number } {
  let sent = 0;
  for (const stage of report.stages) {
    for (const step of stage.steps) {
      if (step.kind === 'crm' && step.note === undefined && step.status !== 'cancelled' && step.status !== 'skipped') sent++;
      else if (step.kind === 'crm' && step.note !== undefined && step.note.startsWith('reconciled')) sent++;
    }
  }
  const reused = report.actions.filter((a) => a.run < report.run && a.status === 'done').length;
  return { sent, reused };
}

/**
 * Reads the selected calls from CEL, assembles them and starts a new run of each in the store (the
 * pipeline that works the store then processes them). Shared by `callhook reprocess` and the admin API's
 * POST /reprocess, which runs inside the connector and lets its live pipeline do the work.
 */
export async function startReprocessRuns(
  settings: Settings, selection: ReprocessSelection, runtime: Pick<ConnectorRuntime, 'store' | 'pbx' | 'numbers'>, logger: Logger,
): Promise<{ started: Array<{ linkedid: string; run: number }>; notFound: string[] }> {
  const finder = await openCelRowFinder(settings.cel, logger);
  let seed: string[];
  let rows: CelRow[];
  try {
    seed = 'ids' in selection ? [...new Set(selection.ids)] : await finder.linkedidsBetween(selection.from, selection.to ?? null);
    rows = await rowsOfCalls(finder, seed);
  } finally {
    await finder.close();
  }
  const present = new Set(rows.map((r) => r.linkedid));
  const notFound = 'ids' in selection ? seed.filter((id) => !present.has(id)) : [];
  const assembler = new CallAssembler({ calls: settings.calls, numbers: runtime.numbers, onWarning: (w) => logger.warn({ code: w.code, row: w.rowId }, w.message) });
  for (const row of rows) assembler.push(row);
  assembler.flush();
  const byCall = new Map<string, StageEvent[]>();
  for (const event of assembler.drainStages()) byCall.set(event.linkedid, [...(byCall.get(event.linkedid) ?? []), event]);
  const started: Array<{ linkedid: string; run: number }> = [];
  for (const call of assembler.drainFinished()) {
    const events = byCall.get(call.linkedid) ?? [];
    const start = call.callFull.channel.start_time;
    const run = await runtime.store.startRun(runtime.pbx, call.linkedid, events.map((e) => ({
      stage: e.stage, conversationId: e.conversationId, atRowId: e.atRowId, callFull: e.callFull as unknown as JsonValue,
    })), startPriority(start), start);
    started.push({ linkedid: call.linkedid, run });
  }
  return { started, notFound };
}

/**
 * POST /reprocess inside the running connector: the runs are started in its store and its own pipeline
 * processes them (one pipeline per store: never two working the same calls). Progress is read back from
 * the store: a call is finished when its new run is done or parked.
 */
export async function reprocessInRuntime(
  settings: Settings, runtime: ConnectorRuntime, selection: ReprocessSelection, o: { logger: Logger; progress(p: { total: number; done: number }): void; signal?: AbortSignal },
): Promise<{ calls: number; notFound: string[]; done: number; parked: number }> {
  const { started, notFound } = await startReprocessRuns(settings, selection, runtime, o.logger);
  const left = new Map(started.map((s) => [s.linkedid, s.run]));
  let parked = 0;
  o.progress({ total: started.length, done: 0 });
  while (left.size > 0 && o.signal?.aborted !== true) {
    for (const [linkedid, run] of left) {
      const call = await runtime.store.getCall(runtime.pbx, linkedid);
      if (call === null || call.run > run || (call.run === run && (call.status === 'done' || call.status === 'parked'))) {
        if (call?.status === 'parked') parked++;
        left.delete(linkedid);
      }
    }
    o.progress({ total: started.length, done: started.length - left.size });
    if (left.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  return { calls: started.length, notFound, done: started.length - left.size - parked, parked };
}

export async function reprocess(settings: Settings, selection: ReprocessSelection, options: ReprocessOptions): Promise<ReprocessResult> {
  const { logger } = options;
  const runtime = await openRuntime(settings, { logger, watchHooks: false });
  const result: ReprocessResult = { calls: 0, notFound: [], sent: 0, reused: 0, parked: 0 };
  try {
    const { started, notFound } = await startReprocessRuns(settings, selection, runtime, logger);
    result.notFound = notFound;
    options.onSelected?.(started.length);
    result.calls = started.length;
    if (started.length === 0) return result;
    const pipeline = runtime.pipeline(async (report) => {
      const counted = countRequests(report);
      result.sent += counted.sent;
      result.reused += counted.reused;
      if (report.status === 'parked') result.parked++;
      await options.onCall?.({ report, ...counted });
    });
    pipeline.start();
    try {
      await Promise.race([pipeline.idle({ includeWaiting: true }), untilAborted(options.signal)]);
    } finally {
      await pipeline.stop();
    }
    return result;
  } finally {
    await runtime.close();
  }
}
