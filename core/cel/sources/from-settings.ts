// The `cel` settings section (types/settings/cel.schema.json) → a CelSource and its StateStore.
// The settings loader (core/settings) validates and fills defaults; this only maps names.
import type { CelSource, CelSourceEventHandler } from './source.js';
import { createReplaySource } from './replay.js';
import { createMariaDbSource, type MariaDbSourceOptions } from './mariadb.js';
import { createMariaDbStateStore, createMemoryStateStore, type StateStore } from './state-store.js';
import type { CelSettings } from '../../../types/settings.js';

/** The `cel` section after defaults: generated from types/settings/cel.schema.json (types/settings.d.ts). */
export type { CelSettings };

/** The schema defaults (a test keeps the two equal). */
export const DEFAULT_CEL_SETTINGS: CelSettings = {
  source: 'replay',
  replay: { path: 'examples/cel/demo.jsonl', batch_size: 500 },
  mariadb: {
    host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'asteriskcdrdb', table: 'cel',
    column_aliases: {}, batch_size: 1000, poll_interval_min_ms: 250, poll_interval_max_ms: 5000,
    retry_min_ms: 500, retry_max_ms: 30000, gap_wait_ms: 2000, gap_watch_ms: 600000, state_database: 'callhook',
  },
};

export function createCelSource(settings: CelSettings, onEvent?: CelSourceEventHandler): CelSource {
  if (settings.source === 'replay') {
    return createReplaySource({ path: settings.replay.path, batchSize: settings.replay.batch_size, ...(onEvent ? { onEvent } : {}) });
  }
  const m = settings.mariadb;
  const options: MariaDbSourceOptions = {
    host: m.host, port: m.port, user: m.user, password: m.password, database: m.database, table: m.table,
    columnAliases: m.column_aliases as MariaDbSourceOptions['columnAliases'], batchSize: m.batch_size,
    pollMinMs: m.poll_interval_min_ms, pollMaxMs: m.poll_interval_max_ms, retryMinMs: m.retry_min_ms,
    retryMaxMs: m.retry_max_ms, gapWaitMs: m.gap_wait_ms, gapWatchMs: m.gap_watch_ms,
  };
  if (onEvent) options.onEvent = onEvent;
  return createMariaDbSource(options);
}

/**
 * Where the resume point lives: for `mariadb`, the connector's own database on the same server, one
 * row per PBX table (key `host:port/database.table`); a replay starts fresh each time (memory).
 */
export async function createCelStateStore(settings: CelSettings): Promise<StateStore> {
  if (settings.source === 'replay') return createMemoryStateStore();
  const m = settings.mariadb;
  return createMariaDbStateStore({
    host: m.host, port: m.port, user: m.user, password: m.password, database: m.state_database,
    key: `${m.host}:${m.port}/${m.database}.${m.table}`,
  });
}
