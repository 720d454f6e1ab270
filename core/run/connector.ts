// The connector's main loop: CEL source → call assembler → the CEL hand-off (stage events and the
// resume point committed together in the connector store) → the CRM pipeline (hooks at every stage,
// CRM actions through the outbox) → one report per processed call. A replay ends when its file is
// read and every call is delivered; a live source runs until the signal (SIGINT/SIGTERM): then reading
// stops, in-flight steps finish, and what is left stays in the store for the next start.
import type { Logger } from 'pino';
import { CallAssembler } from '../cel/assembler/index.js';
import { runIngest, type IngestResult } from '../cel/ingest.js';
import { createCelSource, logCelSourceEvents } from '../cel/sources/index.js';
import type { CrmRuntime } from '../crm/index.js';
import type { CallReport } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import type { HookStatus } from '../../hooks/index.js';
import type { Leadership } from '../store/index.js';
import { openRuntime, type ConnectorRuntime } from './runtime.js';
import { startClickToCallServer, type ClickToCallServer } from '../click-to-call/index.js';
import { checkClickToCallSettings } from '../click-to-call/settings.js';

export type { CallReport };

export interface ConnectorRunOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Called once per processed call (call_ended done, or parked), in the order calls settle. */
  onCall(report: CallReport): void | Promise<void>;
  /** Called once the hooks are loaded and the CRM is ready, before the first row is read. */
  onReady?(info: { hooks: HookStatus[]; crm: CrmRuntime; store: string; leadership: Leadership }): void;
  /**
   * Something that lives as long as the runtime (the admin HTTP server): started once the runtime is open
   * (a standby serves it too: its status shows the role), told of every processed call, closed before the runtime.
   */
  attach?(runtime: ConnectorRuntime): Promise<Attachment>;
}

export interface Attachment {
  onCall?(report: CallReport): void;
  close(): Promise<void>;
}

export interface ConnectorRunResult {
  ingest: IngestResult;
  calls: number;
  stages: number;
  parked: number;
  hooks: HookStatus[];
  /** For the demo CRM: what it received, one line per call. */
  crmReceived: string | null;
}

export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export async function runConnector(settings: Settings, options: ConnectorRunOptions): Promise<ConnectorRunResult> {
  const { logger, signal } = options;
  // A replay reads a file once: no hot-reload watcher, and the run ends when every call is delivered.
  const live = settings.cel.source !== 'replay';
  if (settings.click_to_call.enabled) checkClickToCallSettings(settings);
  const runtime = await openRuntime(settings, { logger, watchHooks: live && settings.hooks.watch, compete: live });
  let calls = 0;
  let stages = 0;
  let parked = 0;
  let ingest: IngestResult | null = null;
  let attached: Attachment | null = null;
  try {
    attached = (await options.attach?.(runtime)) ?? null;
    options.onReady?.({ hooks: runtime.host.status(), crm: runtime.crm, store: runtime.store.description, leadership: runtime.leadership });
    // One term per lease held: a standby waits here; a leader that loses the lease stops reading CEL and
    // its pipeline, and waits again. Each term starts from what the store committed (the previous
    // leader's cursor and outbox), with a fresh source, assembler and pipeline.
    for (;;) {
      const term = await runtime.leadership.whenLeader(signal);
      if (term === null) break;
      const termSignal = signal !== undefined ? AbortSignal.any([signal, term]) : term;
      const source = createCelSource(settings.cel, logCelSourceEvents(logger));
      const assembler = new CallAssembler({
        calls: settings.calls,
        numbers: runtime.numbers,
        onWarning: (w) => logger.warn({ code: w.code, row: w.rowId }, w.message),
      });
      const pipeline = runtime.pipeline(async (report) => {
        calls++;
        stages += report.stages.length;
        if (report.status === 'parked') parked++;
        attached?.onCall?.(report);
        await options.onCall(report);
      });
      pipeline.start();
      // Click-to-call only while this instance leads (a standby must not dial), and only with a live
      // source: a replay has no PBX to originate on.
      let clickToCall: ClickToCallServer | null = null;
      try {
        if (live && settings.click_to_call.enabled) clickToCall = await startClickToCallServer(settings, runtime, logger);
        ingest = await runIngest({
          source,
          assembler,
          sink: pipeline.sink(),
          signal: termSignal,
          ...(live ? { expire: { everyMs: 60_000 } } : { flushAtEnd: true }),
          onSaveError: (error, retryInMs) => {
            if (term.aborted) return;
            logger.error({ code: 'CEL_STATE_SAVE_FAILED', retryInMs }, `the connector store could not save a batch (the CEL cursor does not move until it does): ${error instanceof Error ? error.message : String(error)}; retrying in ${retryInMs} ms`);
          },
        });
        // A replay is done when every call is delivered (or parked); a signal cuts the wait short.
        if (!live && ingest.stopped === 'end') await Promise.race([pipeline.idle({ includeWaiting: true }), untilAborted(termSignal)]);
      } finally {
        await clickToCall?.close();
        await pipeline.stop();
        await source.close();
      }
      if (!live || signal?.aborted) break;
    }
    const empty: IngestResult = { stopped: 'aborted', cursor: 0, rows: 0, batches: 0, finishedCalls: 0, resumedRows: 0, saveErrors: 0 };
    return { ingest: ingest ?? empty, calls, stages, parked, hooks: runtime.host.status(), crmReceived: runtime.crm.received?.() ?? null };
  } finally {
    await attached?.close();
    await runtime.close();
  }
}
