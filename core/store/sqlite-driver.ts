// The embedded engine: one SQLite file through better-sqlite3 (synchronous, in-process). WAL with
// synchronous=NORMAL: a committed transaction survives the process being killed (the demo's and the
// tests' crash scenario); only a power loss may drop the last commits, which MariaDB is for.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_DIALECT, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql.js';

export function openSqliteDriver(file: string): SqlDriver {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.defaultSafeIntegers(false);

  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let st = statements.get(sql);
    if (st === undefined) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const exec: SqlExecutor = {
    async all(sql, params = []) {
      const st = prepare(sql);
      if (!st.reader) {
        st.run(...(params as SqlValue[]));
        return [];
      }
      return st.all(...(params as SqlValue[])) as SqlRow[];
    },
    async run(sql, params = []) {
      // DDL and multi-row statements that are not cached go straight through.
      const info = prepare(sql).run(...(params as SqlValue[]));
      return { changes: info.changes };
    },
  };

  // One connection: a transaction's awaits must not let another transaction's statements in, so they
  // queue. (The statements themselves are synchronous; only the caller's own awaits yield.)
  let tail: Promise<unknown> = Promise.resolve();
  return {
    dialect: SQLITE_DIALECT,
    description: `sqlite ${file}`,
    all: exec.all,
    run: exec.run,
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const next = tail.then(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(exec);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      });
      tail = next.catch(() => undefined);
      return next;
    },
    async close() {
      await tail;
      db.close();
    },
  };
}
