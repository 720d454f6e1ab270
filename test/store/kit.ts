// Both store engines for the same tests: a fresh SQLite file and a fresh MariaDB database each time.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { createConnectorStore, openMariaDbDriver, openSqliteDriver, type ConnectorStore } from '../../core/store/index.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';

export interface StoreEngine {
  name: 'sqlite' | 'mariadb';
  /** A fresh store, or a skip reason (MariaDB down and CI not set). `reopen` opens the same data again. */
  open(): Promise<{ store: ConnectorStore; reopen(): Promise<ConnectorStore>; dispose(): Promise<void> } | { skip: string }>;
}

export const ENGINES: StoreEngine[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-store-test-'));
      const file = path.join(dir, 'store.sqlite');
      const opened: ConnectorStore[] = [];
      const make = async (): Promise<ConnectorStore> => {
        const s = await createConnectorStore(openSqliteDriver(file));
        opened.push(s);
        return s;
      };
      return {
        store: await make(),
        reopen: make,
        async dispose() {
          for (const s of opened) await s.close().catch(() => undefined);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'mariadb',
    async open() {
      const root = await connectRoot();
      if ('skip' in root) return root;
      await root.conn.end();
      const database = uniqueName('callhook_store');
      const opened: ConnectorStore[] = [];
      const make = async (): Promise<ConnectorStore> => {
        const s = await createConnectorStore(await openMariaDbDriver({ ...DB, database }));
        opened.push(s);
        return s;
      };
      return {
        store: await make(),
        reopen: make,
        async dispose() {
          for (const s of opened) await s.close().catch(() => undefined);
          const conn = await mysql.createConnection(DB);
          await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
          await conn.end();
        },
      };
    },
  },
];
