// The connector's main loop as far as it exists today: CEL source → call assembler → the hooks at every
// stage event → one report per finished call with what every hook decided. The CRM pipeline (durable
// outbox, Bitrix24/Kommo) plugs in where a stage's decisions are made; until then nothing leaves the host.
import type { Logger } from 'pino';
import { CallAssembler, type FinishedCall, type StageEvent } from '../cel/assembler/index.js';
import { runIngest, type IngestResult } from '../cel/ingest.js';
import { createCelSource, createCelStateStore, logCelSourceEvents } from '../cel/sources/index.js';
import { createNumberModel } from '../numbers/index.js';
import type { Settings } from '../settings/index.js';
import { createHookHost, hostOptionsFromSettings, runStageFlow, type HookHost, type HookStatus } from '../../hooks/index.js';
import { stageDecision, type StageDecision } from './decisions.js';

export interface CallReport {
  linkedid: string;
  complete: FinishedCall['complete'];
  call_full: FinishedCall['callFull'];
  stages: StageDecision[];
}

export interface ConnectorRunOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Called once per finished call, in the order calls finish, after all its stages ran through the hooks. */
  onCall(report: CallReport): void | Promise<void>;
  /** Called once the hooks are loaded, before the first row is read (e.g. to print which hooks are active). */
  onHooksReady?(status: HookStatus[]): void;
}

export interface ConnectorRunResult {
  ingest: IngestResult;
  calls: number;
  stages: number;
  hooks: HookStatus[];
}

export async function runConnector(settings: Settings, options: ConnectorRunOptions): Promise<ConnectorRunResult> {
  const { logger } = options;
  const numbers = createNumberModel(settings.numbers, { logger });
  const assembler = new CallAssembler({
    calls: settings.calls,
    numbers,
    onWarning: (w) => logger.warn({ code: w.code, row: w.rowId }, w.message),
  });
  // The demo replays a file once: no hot reload watcher, so the process ends with the file.
  const live = settings.cel.source !== 'replay';
  let host: HookHost | null = null;
  const source = createCelSource(settings.cel, logCelSourceEvents(logger));
  const store = await createCelStateStore(settings.cel);
  const pendingStages = new Map<string, StageDecision[]>();
  let calls = 0;
  let stages = 0;
  try {
    host = await createHookHost(hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger, watch: live && settings.hooks.watch }));
    await host.whenIdle();
    options.onHooksReady?.(host.status());
    const activeHost = host;
    const onStage = async (events: StageEvent[]): Promise<void> => {
      // In order: a call's stages must see the hooks in the order they happened.
      for (const event of events) {
        const run = await runStageFlow(activeHost, event.callFull, event.stage, {
          callId: event.linkedid,
          recordingsRoot: settings.hooks.recordings_root,
        });
        const list = pendingStages.get(event.linkedid) ?? [];
        list.push(stageDecision(event, run));
        pendingStages.set(event.linkedid, list);
        stages++;
      }
    };
    const onFinished = async (finished: FinishedCall[]): Promise<void> => {
      for (const call of finished) {
        const report: CallReport = { linkedid: call.linkedid, complete: call.complete, call_full: call.callFull, stages: pendingStages.get(call.linkedid) ?? [] };
        pendingStages.delete(call.linkedid);
        calls++;
        await options.onCall(report);
      }
    };
    const ingest = await runIngest({
      source,
      assembler,
      store,
      onStage,
      onFinished,
      // A resume point that cannot be saved must be seen (it is retried with the newest state).
      onSaveError: (error, retryInMs) => logger.error({ code: 'CEL_STATE_SAVE_FAILED', retryInMs }, `saving the CEL resume point failed: ${error instanceof Error ? error.message : String(error)}; retrying in ${retryInMs} ms`),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(live ? { expire: { everyMs: 60_000 } } : { flushAtEnd: true }),
    });
    return { ingest, calls, stages, hooks: host.status() };
  } finally {
    await host?.close();
    await source.close();
    await store.close();
    numbers.close();
  }
}
