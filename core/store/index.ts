// The connector store from the `store` settings section: which engine, where, and the key under
// which one PBX's data lives (several PBXs may share one database).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../../types/settings.js';
import type { Logger } from 'pino';
import { openMariaDbDriver, type MariaDbDriverOptions } from './mariadb-driver.js';
import { openLeadership, soleLeadership, type Fence, type Leadership } from './leadership.js';
import { openSqliteDriver } from './sqlite-driver.js';
import { createConnectorStore } from './store.js';
import type { ConnectorStore } from './types.js';

export type { ConnectorStore } from './types.js';
export type * from './types.js';
export { createConnectorStore, pack, unpack, startPriority } from './store.js';
export { openSqliteDriver } from './sqlite-driver.js';
export { openMariaDbDriver, type MariaDbDriverOptions } from './mariadb-driver.js';
export {
  openLeadership, soleLeadership, tryLease, checkFence, createLeaseTable, LeaseLostError, LEASE_TABLE,
  type Leadership, type LeadershipSnapshot, type Fence, type Role,
} from './leadership.js';

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

/** The MariaDB server and database of the connector store, or null for SQLite. */
export function storeConnection(settings: Pick<Settings, 'store' | 'cel'>): MariaDbDriverOptions | null {
  const s = settings.store;
  const kind = s.kind === 'auto' ? (settings.cel.source === 'mariadb' ? 'mariadb' : 'sqlite') : s.kind;
  if (kind !== 'mariadb') return null;
  const cel = settings.cel.mariadb;
  return {
    host: s.mariadb.host || cel.host,
    port: s.mariadb.port || cel.port,
    user: s.mariadb.user || cel.user,
    password: s.mariadb.user ? s.mariadb.password : cel.password,
    database: s.mariadb.database || cel.state_database,
  };
}

/**
 * This instance's leadership for the PBX: a lease in the MariaDB store (its own one-connection pool),
 * or always held for SQLite (one instance).
 */
export async function openLeadershipFromSettings(settings: Pick<Settings, 'store' | 'cel' | 'leadership'>, logger: Logger): Promise<Leadership> {
  const pbx = pbxKey(settings);
  const conn = storeConnection(settings);
  if (conn === null) return soleLeadership(pbx);
  const leaseS = settings.leadership.lease_ms / 1000;
  const driver = await openMariaDbDriver({ ...conn, connections: 1, lockWaitTimeoutS: Math.max(1, Math.floor(leaseS / 3)), idleTransactionTimeoutS: Math.max(1, Math.floor(leaseS / 3)) });
  return openLeadership({ driver, pbx, settings: settings.leadership, logger });
}

export async function openStoreFromSettings(settings: Pick<Settings, 'store' | 'cel'> & Partial<Pick<Settings, 'leadership'>>, options: { fence?: Fence } = {}): Promise<OpenedStore> {
  const s = settings.store;
  const conn = storeConnection(settings);
  if (conn !== null) {
    // A frozen process's open transaction is ended by the server (its locks would block a takeover).
    const idle = settings.leadership !== undefined ? Math.max(1, Math.floor(settings.leadership.lease_ms / 3000)) : 0;
    const store = await createConnectorStore(await openMariaDbDriver({ ...conn, idleTransactionTimeoutS: idle }), options.fence ? { fence: options.fence } : {});
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
