// The hand-off between a CEL source and the call assembler, with a resume point that survives a restart.
// Rows are pushed one by one; what the assembler produced (stage events, finished calls) is delivered
// after each batch, and also within a batch as soon as the waiting stage events hold STAGE_WEIGHT_BUDGET
// rendered conversations (a call with thousands of legs makes thousands of events of thousands of
// conversations each: held until the batch ends, that is memory quadratic in the call's size). With each
// delivery goes the resume point it leads to (a CelState: cursor, open calls by reference, recently
// finished linkedids, the source's watched gaps and cursor row). On start the state is loaded, the open
// calls are rebuilt by re-reading their rows from the source (assembler.restore: no stage is delivered
// twice) and reading continues after the cursor.
// Without a sink: onStage/onFinished deliver, then the state is saved (saves run behind the deliveries,
// newest state wins; runIngest returns after the newest is saved). A hard crash between a delivery and the
// save covering it repeats those calls on restart (at-least-once). With a sink: events and resume point
// are committed in one transaction (exactly-once).
import type { CelRow } from './row.js';
import type { CallAssembler, FinishedCall, StageEvent } from './assembler/index.js';
import {
  rowKey, RESUME_FINISHED, type CelSource, type CelState, type RowKey, type SourceResume, type StateStore,
} from './sources/index.js';

/** What one or more deliveries produced, committed together with the resume point they lead to. */
export interface IngestCommit {
  /** The cursor of `state` (for a sink that keeps it in a column of its own). */
  cursor: number;
  /** The resume point: a JSON value to store as it is and hand back from load(). */
  state: CelState;
  stages: StageEvent[];
  finished: FinishedCall[];
}

/**
 * A consumer that persists what the assembler produced and the resume point in ONE transaction (the
 * connector store: stage events into the pipeline's inbox, the state beside them), so a crash at any
 * moment neither loses nor repeats a stage. Commits run behind the deliveries: at most one in flight; the
 * ones waiting meanwhile are merged (events concatenated in order, the newest state). A failed commit is
 * retried with the commits that waited merged into it, so the resume point keeps moving. runIngest returns
 * only after every commit is done.
 */
export interface IngestSink {
  /** The state of the last commit ({ cursor: 0, pendingRows: [] } on a first start). */
  load(): Promise<CelState>;
  commit(batch: IngestCommit): Promise<void>;
}

export interface IngestOptions {
  source: CelSource;
  assembler: CallAssembler;
  /** Where the resume point lives when there is no sink (onStage/onFinished deliver, then it saves: at-least-once). */
  store?: StateStore;
  /** Exactly-once hand-off: replaces store, onStage and onFinished (which are then not called). */
  sink?: IngestSink;
  signal?: AbortSignal;
  onFinished?(calls: FinishedCall[]): void | Promise<void>;
  onStage?(stages: StageEvent[]): void | Promise<void>;
  /** After each batch was pushed and its calls and stages delivered (its state is then queued for saving). */
  onBatch?(info: { cursor: number; rows: number; callsInProgress: number }): void;
  /** A failed save or commit; it is retried with backoff (and with the newest state) until it succeeds or the run is aborted. */
  onSaveError?(error: unknown, retryInMs: number): void;
  /**
   * Safety timeout for calls that never get LINKEDID_END (live sources). After each batch calls are
   * expired by the rows' own clock (assembler.expireByRowTime: a backlog read after a long stop is old
   * by the wall clock, and a call must not be cut between two of its batches); once no batch came for
   * `everyMs`, by the wall clock, assembler.expire(now()), so calls still end when the PBX goes quiet.
   * Leave unset for replays (their rows are old): use flushAtEnd instead.
   */
  expire?: { everyMs: number; now?: () => number };
  /** When a finite source ends: finish the calls still open (as 'timeout') and save a state without open calls. */
  flushAtEnd?: boolean;
}

export interface IngestResult {
  /** Why the run returned: the source ended (files) or the signal aborted it. */
  stopped: 'end' | 'aborted';
  cursor: number;
  rows: number;
  batches: number;
  finishedCalls: number;
  /** Rows pushed back into the assembler at start to rebuild the open calls (re-read or stored). */
  resumedRows: number;
  /** Saves or commits that failed (each was reported through onSaveError and retried). */
  saveErrors: number;
}

/**
 * Rendered conversations (assembler.outputWeight) that may wait before they are delivered mid-batch. Small
 * on purpose: snapshots delivered while they are young die in V8's young generation; held for 20,000
 * conversations (~30 MB) they were promoted and a 1,500-leg call took 3× longer (GC). An ordinary batch
 * of 1000 rows weighs ~1,200, so only huge calls cut batches.
 */
export const STAGE_WEIGHT_BUDGET = 2_000;
/** Sink only: rendered conversations that may wait for the commit in flight before reading pauses. */
const MAX_WAITING_WEIGHT = 20_000;

export async function runIngest(options: IngestOptions): Promise<IngestResult> {
  const { source, assembler, signal, sink } = options;
  const store = options.store;
  if (sink === undefined && store === undefined) throw new TypeError('runIngest needs a store or a sink');
  const canReread = typeof source.reread === 'function';
  const state = sink !== undefined ? await sink.load() : await (store as StateStore).load();
  const result: IngestResult = { stopped: 'end', cursor: state.cursor, rows: 0, batches: 0, finishedCalls: 0, resumedRows: 0, saveErrors: 0 };
  let cursor = state.cursor;
  /** The row at the cursor once one was pushed in this run (before that, the loaded state's key). */
  let atCursor: CelRow | undefined;
  let resets = 0;

  result.resumedRows = await restore(source, assembler, state, canReread, signal);
  if (signal?.aborted) {
    result.stopped = 'aborted';
    return result;
  }

  /** The resume point after everything pushed so far. */
  const snapshot = (): CelState => {
    const next: CelState = { cursor, pendingRows: canReread ? assembler.pinnedRows() : assembler.pendingRows() };
    if (canReread) {
      const open = assembler.openCalls();
      if (open !== undefined) next.open = open;
    }
    const finished = assembler.recentlyFinished(RESUME_FINISHED);
    if (finished.length > 0) next.finished = finished;
    const resume: SourceResume = {};
    // Gaps above the cursor (possible when a delivery cuts a batch) are found again after a restart.
    const gaps = source.position?.().gaps.filter((g) => g.to <= cursor);
    if (gaps !== undefined && gaps.length > 0) resume.gaps = gaps;
    const cursorRow: RowKey | undefined = atCursor !== undefined ? rowKey(atCursor) : state.source?.cursorRow;
    if (cursorRow !== undefined) resume.cursorRow = cursorRow;
    if (resume.gaps !== undefined || resume.cursorRow !== undefined) next.source = resume;
    return next;
  };

  // Batches and idle expiry both touch the assembler and the store: one at a time.
  let chain: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>): Promise<void> => {
    chain = chain.then(work);
    return chain;
  };

  const deliverAndSave = async (): Promise<void> => {
    const stages = assembler.drainStages();
    const finished = assembler.drainFinished();
    result.finishedCalls += finished.length;
    if (sink !== undefined) {
      await requestCommit({ cursor, state: snapshot(), stages, finished }, weightOf(stages));
      return;
    }
    if (stages.length > 0) await options.onStage?.(stages);
    if (finished.length > 0) await options.onFinished?.(finished);
    requestSave(snapshot());
  };

  // A save is a committed transaction (an fsync on the server, ~5–15 ms), slower than assembling a
  // batch. So saves run behind the batches: at most one in flight, and while it runs only the newest
  // state waits (older ones are superseded). Each state is taken at a delivery, so every saved state is
  // consistent; before runIngest returns the newest state is saved.
  let queued: CelState | undefined;
  let saving: Promise<void> | undefined;
  const requestSave = (next: CelState): void => {
    queued = next;
    saving ??= (async () => {
      while (queued !== undefined) {
        let current = queued;
        queued = undefined;
        // A retry takes the newest state: a save that keeps failing must not hold the cursor back.
        await withRetry(() => (store as StateStore).save(current), () => {
          if (queued !== undefined) {
            current = queued;
            queued = undefined;
          }
        });
      }
      saving = undefined;
    })();
  };

  // Commits (sink): like saves, but nothing may be superseded: the waiting ones merge. When the merged
  // batch's stage events hold more than MAX_WAITING_WEIGHT rendered conversations the reader waits for the
  // commit in flight (backpressure: a slow database slows reading instead of growing memory).
  let waitingCommit: IngestCommit | undefined;
  let waitingWeight = 0;
  const merge = (a: IngestCommit, b: IngestCommit): IngestCommit =>
    ({ cursor: b.cursor, state: b.state, stages: a.stages.concat(b.stages), finished: a.finished.concat(b.finished) });
  const requestCommit = async (next: IngestCommit, weight: number): Promise<void> => {
    waitingCommit = waitingCommit === undefined ? next : merge(waitingCommit, next);
    waitingWeight += weight;
    saving ??= (async () => {
      while (waitingCommit !== undefined) {
        let batch = waitingCommit;
        waitingCommit = undefined;
        waitingWeight = 0;
        // The failed commit changed nothing: retrying it with the newer ones merged in keeps the order and moves the cursor.
        await withRetry(() => (sink as IngestSink).commit(batch), () => {
          if (waitingCommit !== undefined) {
            batch = merge(batch, waitingCommit);
            waitingCommit = undefined;
            waitingWeight = 0;
          }
        });
      }
      saving = undefined;
    })();
    if (waitingWeight > MAX_WAITING_WEIGHT) await saving;
  };

  const withRetry = async (work: () => Promise<void>, beforeRetry: () => void): Promise<void> => {
    let wait = 200;
    for (;;) {
      try {
        await work();
        return;
      } catch (error) {
        result.saveErrors++;
        options.onSaveError?.(error, wait);
        if (signal?.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 10_000);
        beforeRetry();
      }
    }
  };

  const now = options.expire?.now ?? Date.now;
  let lastBatchAt = now();
  const timer = options.expire && options.expire.everyMs > 0
    ? setInterval(() => {
      if (now() - lastBatchAt < (options.expire?.everyMs ?? 0)) return; // rows are flowing: their clock decides
      void serial(async () => {
        const before = assembler.stats.callsFinished;
        assembler.expire(now());
        if (assembler.stats.callsFinished !== before) await deliverAndSave();
      }).catch(() => undefined);
    }, options.expire.everyMs)
    : undefined;
  timer?.unref();

  try {
    for await (const batch of source.batches(signal, { afterId: cursor, ...(state.source ? { resume: state.source } : {}) })) {
      await serial(async () => {
        if (batch.length === 0) return;
        const position = source.position?.();
        if (position !== undefined && position.resets !== resets) {
          // The table was recreated or emptied: ids start over. Calls open from the old table stay open,
          // but their rows can no longer be re-read, so the state keeps them (pinned).
          resets = position.resets;
          assembler.startNewIdSpace();
        }
        // A batch of late rows (ids below the cursor that turned up in a watched gap) leaves the cursor where it is.
        const late = position !== undefined && (batch[batch.length - 1] as CelRow).id < position.cursor;
        for (const row of batch) {
          assembler.push(row);
          if (!late) {
            cursor = row.id;
            atCursor = row;
          }
          if (assembler.outputWeight >= STAGE_WEIGHT_BUDGET) await deliverAndSave();
        }
        if (options.expire) assembler.expireByRowTime();
        lastBatchAt = now();
        await deliverAndSave();
        result.rows += batch.length;
        result.batches++;
        options.onBatch?.({ cursor, rows: batch.length, callsInProgress: assembler.stats.callsInProgress });
      });
    }
    if (signal?.aborted) result.stopped = 'aborted';
    else if (options.flushAtEnd) {
      await serial(async () => {
        assembler.flush();
        await deliverAndSave();
      });
    }
  } finally {
    if (timer) clearInterval(timer);
    await chain.catch(() => undefined);
    while (saving !== undefined) await saving;
  }
  result.cursor = cursor;
  return result;
}

/** Rebuilds the open calls of a loaded state in the assembler; returns how many rows were pushed back. */
async function restore(source: CelSource, assembler: CallAssembler, state: CelState, canReread: boolean, signal: AbortSignal | undefined): Promise<number> {
  if (state.finished !== undefined) assembler.rememberFinished(state.finished);
  let rows = state.pendingRows.length;
  if (rows > 0) {
    assembler.restore(state.pendingRows);
    // Stored rows are of calls the source cannot re-read (open across a table reset, or a state saved before
    // open calls were kept by reference): they stay pinned, so the next state keeps their rows again.
    if (canReread) assembler.startNewIdSpace();
  }
  if (state.open === undefined) return rows;
  if (source.reread === undefined) {
    throw new Error(`the resume state refers to ${state.open.linkedids.length} open calls to re-read from ${source.description}, which cannot re-read rows`);
  }
  const request = { fromId: state.open.fromId, toId: state.cursor, linkedids: state.open.linkedids, ...(state.source?.gaps ? { skip: state.source.gaps } : {}) };
  for await (const batch of source.reread(request, signal)) {
    assembler.restore(batch);
    rows += batch.length;
  }
  if (!signal?.aborted) {
    const found = new Set(assembler.openCalls()?.linkedids ?? []);
    const lost = state.open.linkedids.filter((lid) => !found.has(lid) && !assembler.isFinished(lid));
    if (lost.length > 0) assembler.restoreFailed(lost, source.description);
  }
  return rows;
}

function weightOf(stages: readonly StageEvent[]): number {
  let weight = 0;
  for (const s of stages) weight += Object.keys(s.callFull.conversations).length + 1;
  return weight;
}
