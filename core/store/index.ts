// The connector store from the `store` settings section: which engine, where, and the key under
// which one PBX's data lives (several PBXs may share one database).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../../types/settings.js';
import { openMariaDbDriver } from './mariadb-driver.js';
import { openSqliteDriver } from './sqlite-driver.js';
import { createConnectorStore } from './store.js';
import type { ConnectorStore } from './types.js';

export type { ConnectorStore } from './types.js';
export type * from './types.js';
export { createConnectorStore, pack, unpack, startPriority } from './store.js';
export { openSqliteDriver } from './sqlite-driver.js';
export { openMariaDbDriver } from './mariadb-driver.js';

/** The key of the PBX a settings file describes: its CEL table, or the replayed file. */
export function pbxKey(settings: Pick<Settings, 'cel'>): string {
  const { cel } = settings;
  if (cel.source === 'replay') return `replay:${path.basename(cel.replay.path)}`;
  const m = cel.mariadb;
  return `${m.host}:${m.port}/${m.database}.${m.table}`;
}

export interface OpenedStore {
  store: ConnectorStore;
  /** Removes what only lived for this run (the demo's temporary SQLite file). */
  cleanup(): Promise<void>;
}

export async function openStoreFromSettings(settings: Pick<Settings, 'store' | 'cel'>): Promise<OpenedStore> {
  const s = settings.store;
  const kind = s.kind === 'auto' ? (settings.cel.source === 'mariadb' ? 'mariadb' : 'sqlite') : s.kind;
  if (kind === 'mariadb') {
    const cel = settings.cel.mariadb;
    const store = await createConnectorStore(await openMariaDbDriver({
      host: s.mariadb.host || cel.host,
      port: s.mariadb.port || cel.port,
      user: s.mariadb.user || cel.user,
      password: s.mariadb.user ? s.mariadb.password : cel.password,
      database: s.mariadb.database || cel.state_database,
    }));
    return { store, cleanup: async () => store.close() };
  }
  if (s.sqlite.path !== '') {
    const store = await createConnectorStore(openSqliteDriver(s.sqlite.path));
    return { store, cleanup: async () => store.close() };
  }
  // The demo: a fresh database per run, removed afterwards.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-store-'));
  const store = await createConnectorStore(openSqliteDriver(path.join(dir, 'store.sqlite')));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
