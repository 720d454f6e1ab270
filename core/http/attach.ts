// What `callhook run` attaches to the connector runtime: the admin HTTP server (when http.port is set)
// with its jobs (what-if, reprocess through the live pipeline), and the retention sweep of old calls.
import type { Logger } from 'pino';
import type { Attachment } from '../run/connector.js';
import { reprocessInRuntime } from '../run/reprocess.js';
import type { ConnectorRuntime } from '../run/runtime.js';
import type { Settings } from '../settings/index.js';
import type { ConnectorStore } from '../store/index.js';
import { startAdminServer, type ExtraPlugin } from './server.js';
import { whatIfFromSettings } from '../whatif/index.js';

const RETENTION_EVERY_MS = 3_600_000;

/** Deletes finished calls older than `days` now and then every hour; the timer does not keep the process alive. */
export function startRetention(store: ConnectorStore, pbx: string, days: number, logger: Logger, everyMs = RETENTION_EVERY_MS): { stop(): void; sweep(): Promise<number> } {
  const sweep = async (): Promise<number> => {
    if (days <= 0) return 0;
    const deleted = await store.deleteCallsBefore(pbx, Date.now() - days * 86_400_000);
    if (deleted > 0) logger.info({ deleted, retention_days: days }, 'old call records and traces deleted (http.retention_days)');
    return deleted;
  };
  const run = (): void => void sweep().catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'retention sweep failed; retried at the next one'));
  run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer), sweep };
}

export function adminAttachment(settings: Settings, o: { logger: Logger; version: string; plugins?: readonly ExtraPlugin[]; onListening?(url: string): void; signal?: AbortSignal }) {
  return async (runtime: ConnectorRuntime): Promise<Attachment> => {
    const live = settings.cel.source !== 'replay';
    const retention = live ? startRetention(runtime.store, runtime.pbx, settings.http.retention_days, o.logger) : null;
    if (settings.http.port === null) return { close: async () => retention?.stop() };
    const server = await startAdminServer({
      settings, store: runtime.store, pbx: runtime.pbx, host: runtime.host, logger: o.logger, version: o.version,
      leadership: () => runtime.leadership.snapshot(),
      ...(o.plugins ? { plugins: o.plugins } : {}),
      // 'stopped' from the stop signal on (in-flight steps finish while the server still answers).
      appState: () => (o.signal?.aborted === true ? 'stopped' : ''),
      jobs: {
        whatIf: (request, signal) => whatIfFromSettings(settings, runtime, request, { logger: o.logger, signal }),
        reprocess: (selection, progress) => reprocessInRuntime(settings, runtime, selection, { logger: o.logger, progress }),
      },
    });
    o.onListening?.(server.url);
    return {
      onCall: (report) => server.recordCall(report),
      async close() {
        retention?.stop();
        await server.close();
      },
    };
  };
}
