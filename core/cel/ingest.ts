// The hand-off between a CEL source and the call assembler, with a resume point that survives a
// restart: after each batch the finished calls and stage events are delivered, then the cursor
// (last id pushed) and the rows of unfinished calls are saved together (saves run behind the
// batches, newest state wins; runIngest returns only after the newest state is saved). On start the saved pending
// rows go into the fresh assembler again and reading continues after the cursor, so a stop between
// batches neither loses nor repeats a call.
// A hard crash after delivery but before the save repeats the calls delivered since the last
// completed save on restart (at-least-once); consumers key deliveries on the call's linkedid.
import type { CelRow } from './row.js';
import type { CallAssembler, FinishedCall, StageEvent } from './assembler/index.js';
import type { CelSource, CelState, StateStore } from './sources/index.js';

/** What one or more batches produced, committed together with the resume point they lead to. */
export interface IngestCommit {
  cursor: number;
  pendingRows: CelRow[];
  stages: StageEvent[];
  finished: FinishedCall[];
}

/**
 * A consumer that persists what the assembler produced and the resume point in ONE transaction (the
 * connector store: stage events into the pipeline's inbox, cursor and open calls beside them), so a
 * crash at any moment neither loses nor repeats a stage. Commits run behind the batches like saves:
 * at most one in flight; the ones waiting meanwhile are merged (events concatenated in order, the
 * newest resume point). runIngest returns only after every commit is done.
 */
export interface IngestSink {
  /** The resume point of the last commit ({cursor 0, no rows} on a first start). */
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
  /** A failed save; it is retried with backoff until it succeeds or the run is aborted. */
  onSaveError?(error: unknown, retryInMs: number): void;
  /**
   * Safety timeout for calls that never get LINKEDID_END (live sources). After each batch calls are
   * expired by the rows' own clock (assembler.expireByRowTime: a backlog read after a long stop is old
   * by the wall clock, and a call must not be cut between two of its batches); once no batch came for
   * `everyMs`, by the wall clock, assembler.expire(now()), so calls still end when the PBX goes quiet.
   * Leave unset for replays (their rows are old): use flushAtEnd instead.
   */
  expire?: { everyMs: number; now?: () => number };
  /** When a finite source ends: finish the calls still open (as 'timeout') and save an empty pending list. */
  flushAtEnd?: boolean;
}

export interface IngestResult {
  /** Why the run returned: the source ended (files) or the signal aborted it. */
  stopped: 'end' | 'aborted';
  cursor: number;
  rows: number;
  batches: number;
  finishedCalls: number;
  /** Rows re-pushed from the store at start. */
  resumedRows: number;
}

const MAX_WAITING_STAGES = 20_000;

export async function runIngest(options: IngestOptions): Promise<IngestResult> {
  const { source, assembler, signal, sink } = options;
  const store = options.store;
  if (sink === undefined && store === undefined) throw new TypeError('runIngest needs a store or a sink');
  const state = sink !== undefined ? await sink.load() : await (store as StateStore).load();
  let cursor = state.cursor;
  for (const row of state.pendingRows) assembler.push(row);
  // Stage events of the resumed rows were delivered by the previous run; only new ones go out.
  assembler.drainStages();
  const result: IngestResult = { stopped: 'end', cursor, rows: 0, batches: 0, finishedCalls: 0, resumedRows: state.pendingRows.length };

  // Batches and idle expiry both touch the assembler and the store: one at a time.
  let chain: Promise<void> = Promise.resolve();
  const serial = (work: () => Promise<void>): Promise<void> => {
    chain = chain.then(work);
    return chain;
  };

  const deliverAndSave = async (): Promise<void> => {
    const stages = assembler.drainStages();
    const finished = assembler.drainFinished();
    if (sink !== undefined) {
      result.finishedCalls += finished.length;
      await requestCommit({ cursor, pendingRows: assembler.pendingRows(), stages, finished });
      return;
    }
    if (stages.length > 0) await options.onStage?.(stages);
    if (finished.length > 0) {
      result.finishedCalls += finished.length;
      await options.onFinished?.(finished);
    }
    requestSave(cursor, assembler.pendingRows());
  };

  // A save is a committed transaction (an fsync on the server, ~5–15 ms), slower than assembling a
  // batch. So saves run behind the batches: at most one in flight, and while it runs only the newest
  // state waits (older ones are superseded). The snapshot is taken at the batch boundary, so every
  // saved state is consistent; before runIngest returns the newest state is saved.
  let queued: { cursor: number; pending: CelRow[] } | undefined;
  let saving: Promise<void> | undefined;
  const requestSave = (at: number, pending: CelRow[]): void => {
    queued = { cursor: at, pending };
    saving ??= (async () => {
      while (queued !== undefined) {
        const next = queued;
        queued = undefined;
        await saveWithRetry(next.cursor, next.pending);
      }
      saving = undefined;
    })();
  };

  // Commits (sink): like saves, but nothing may be superseded: the waiting ones merge. When the
  // merged batch grows past MAX_WAITING_STAGES the reader waits for the commit in flight (backpressure:
  // a slow database slows reading instead of growing memory).
  let waitingCommit: IngestCommit | undefined;
  const requestCommit = async (next: IngestCommit): Promise<void> => {
    waitingCommit = waitingCommit === undefined
      ? next
      : { cursor: next.cursor, pendingRows: next.pendingRows, stages: waitingCommit.stages.concat(next.stages), finished: waitingCommit.finished.concat(next.finished) };
    saving ??= (async () => {
      while (waitingCommit !== undefined) {
        const batch = waitingCommit;
        waitingCommit = undefined;
        await withRetry(() => (sink as IngestSink).commit(batch));
      }
      saving = undefined;
    })();
    if ((waitingCommit?.stages.length ?? 0) > MAX_WAITING_STAGES) await saving;
  };

  const saveWithRetry = (at: number, pending: CelRow[]): Promise<void> => withRetry(() => (store as StateStore).save(at, pending));

  const withRetry = async (work: () => Promise<void>): Promise<void> => {
    let wait = 200;
    for (;;) {
      try {
        await work();
        return;
      } catch (error) {
        options.onSaveError?.(error, wait);
        if (signal?.aborted) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 10_000);
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
    for await (const batch of source.batches(signal, { afterId: cursor })) {
      await serial(async () => {
        for (const row of batch) assembler.push(row);
        cursor = (batch[batch.length - 1] as CelRow).id;
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
