// The connector's main loop: CEL source → call assembler → the CEL hand-off (stage events and the
// resume point committed together in the connector store) → the CRM pipeline (hooks at every stage,
// CRM actions through the outbox) → one report per processed call. A replay ends when its file is
// read and every call is delivered; a live source runs until the signal (SIGINT/SIGTERM): then reading
// stops, in-flight steps finish, and what is left stays in the store for the next start.
import type { Logger } from 'pino';
import { CallAssembler } from '../cel/assembler/index.js';
import { runIngest, type IngestResult } from '../cel/ingest.js';
import { createCelSource, logCelSourceEvents } from '../cel/sources/index.js';
import { openCrm, type CrmRuntime } from '../crm/index.js';
import { createNumberModel } from '../numbers/index.js';
import { createPipeline, runBitrix24Stage, type CallReport } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import { openStoreFromSettings, pbxKey } from '../store/index.js';
import { createHookHost, hostOptionsFromSettings, type HookHost, type HookStatus } from '../../hooks/index.js';

export type { CallReport };

export interface ConnectorRunOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Called once per processed call (call_ended done, or parked), in the order calls settle. */
  onCall(report: CallReport): void | Promise<void>;
  /** Called once the hooks are loaded and the CRM is ready, before the first row is read. */
  onReady?(info: { hooks: HookStatus[]; crm: CrmRuntime; store: string }): void;
}

export interface ConnectorRunResult {
  ingest: IngestResult;
  calls: number;
  stages: number;
  parked: number;
  hooks: HookStatus[];
  /** For the demo CRM: what it received, one block per call. */
  crmReceived: string | null;
}

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export async function runConnector(settings: Settings, options: ConnectorRunOptions): Promise<ConnectorRunResult> {
  const { logger, signal } = options;
  const numbers = createNumberModel(settings.numbers, { logger });
  const assembler = new CallAssembler({
    calls: settings.calls,
    numbers,
    onWarning: (w) => logger.warn({ code: w.code, row: w.rowId }, w.message),
  });
  // A replay reads a file once: no hot-reload watcher, and the run ends when every call is delivered.
  const live = settings.cel.source !== 'replay';
  const pbx = pbxKey(settings);
  const opened = await openStoreFromSettings(settings);
  let crm: CrmRuntime | null = null;
  let host: HookHost | null = null;
  const source = createCelSource(settings.cel, logCelSourceEvents(logger));
  let calls = 0;
  let stages = 0;
  let parked = 0;
  try {
    crm = await openCrm(settings, { logger, tokens: opened.store.tokens });
    host = await createHookHost(hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger, watch: live && settings.hooks.watch }));
    await host.whenIdle();
    options.onReady?.({ hooks: host.status(), crm, store: opened.store.description });
    const env = {
      settings: settings.crm.bitrix24,
      kit: crm.kit,
      recordingsRoot: settings.hooks.recordings_root,
      pbx,
      buildNumber: (raw: string) => numbers.build(raw),
    };
    const pipeline = createPipeline({
      store: opened.store,
      pbx,
      host,
      client: crm.client,
      portal: crm.portal,
      program: (input) => runBitrix24Stage({ ...input, env }),
      delivery: settings.crm.delivery,
      logger,
      onCall: async (report) => {
        calls++;
        stages += report.stages.length;
        if (report.status === 'parked') parked++;
        await options.onCall(report);
      },
    });
    pipeline.start();
    let ingest: IngestResult;
    try {
      ingest = await runIngest({
        source,
        assembler,
        sink: pipeline.sink(),
        ...(signal ? { signal } : {}),
        ...(live ? { expire: { everyMs: 60_000 } } : { flushAtEnd: true }),
        onSaveError: (error, retryInMs) => logger.error({ err: error, retryInMs }, 'the connector store could not save a batch; retrying (the CEL cursor does not move until it does)'),
      });
      // A replay is done when every call is delivered (or parked); a signal cuts the wait short.
      if (!live && ingest.stopped === 'end') await Promise.race([pipeline.idle({ includeWaiting: true }), untilAborted(signal)]);
    } finally {
      await pipeline.stop();
    }
    return { ingest, calls, stages, parked, hooks: host.status(), crmReceived: crm.received?.() ?? null };
  } finally {
    await host?.close();
    await source.close();
    await crm?.close();
    await opened.cleanup();
    numbers.close();
  }
}
