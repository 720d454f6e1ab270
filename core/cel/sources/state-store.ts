// Where the pipeline keeps its resume point: the last CEL id handed to the assembler (the cursor) and
// the rows of calls that were not finished yet (pendingRows). Both are saved together after each
// batch, in the connector's OWN database (default `callhook`), never in the PBX's database. On
// restart the pipeline pushes pendingRows into a fresh assembler and reads on after the cursor.
import mysql from 'mysql2/promise';
import type { CelRow } from '../row.js';
import type { MariaDbConnectionOptions } from './mariadb.js';
import { normalizeCelRecord } from './normalize.js';

export interface CelState {
  cursor: number;
  pendingRows: CelRow[];
}

export interface StateStore {
  load(): Promise<CelState>;
  /** Saves both values atomically (one transaction). */
  save(cursor: number, pendingRows: CelRow[]): Promise<void>;
  close(): Promise<void>;
}

export interface MariaDbStateStoreOptions extends MariaDbConnectionOptions {
  /** The connector's own database (default `callhook`); created when missing. */
  database?: string;
  /** Table inside it (default `cel_source_state`); created when missing. */
  table?: string;
  /** Which source this state belongs to, so several PBXs can share one database (default `default`). */
  key?: string;
}

/** A stored state that cannot be read back; the message names the table and key. */
export class CelStateError extends Error {
  override readonly name = 'CelStateError';
}

export async function createMariaDbStateStore(options: MariaDbStateStoreOptions = {}): Promise<StateStore> {
  const database = options.database ?? 'callhook';
  const table = options.table ?? 'cel_source_state';
  const key = options.key ?? 'default';
  const where = `${database}.${table} key '${key}'`;
  const qualified = `${mysql.escapeId(database)}.${mysql.escapeId(table)}`;
  // A pool reconnects by itself after a lost connection; two connections are plenty.
  const pool = mysql.createPool({
    host: options.host ?? '127.0.0.1', port: options.port ?? 3306, user: options.user ?? 'root', password: options.password ?? '',
    connectionLimit: 2, supportBigNumbers: true, bigNumberStrings: false,
  });
  try {
    await pool.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(database)}`);
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${qualified} (
        source_key VARCHAR(191) NOT NULL PRIMARY KEY,
        cursor_id BIGINT UNSIGNED NOT NULL,
        pending_rows LONGTEXT NOT NULL,
        updated_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    async load() {
      const [rows] = await pool.query(`SELECT cursor_id AS cursorId, pending_rows AS pending FROM ${qualified} WHERE source_key = ?`, [key]);
      const found = (rows as Array<{ cursorId: unknown; pending: unknown }>)[0];
      if (found === undefined) return { cursor: 0, pendingRows: [] };
      return { cursor: Number(found.cursorId), pendingRows: parsePending(found.pending, where) };
    },
    async save(cursor, pendingRows) {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query(
          `INSERT INTO ${qualified} (source_key, cursor_id, pending_rows, updated_at) VALUES (?, ?, ?, NOW(3))
           ON DUPLICATE KEY UPDATE cursor_id = VALUES(cursor_id), pending_rows = VALUES(pending_rows), updated_at = VALUES(updated_at)`,
          [key, cursor, JSON.stringify(pendingRows)],
        );
        await conn.commit();
      } catch (error) {
        await conn.rollback().catch(() => undefined);
        throw error;
      } finally {
        conn.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}

/** For replay and tests: the same contract, kept in memory (copies, so callers cannot alias it). */
export function createMemoryStateStore(initial: CelState = { cursor: 0, pendingRows: [] }): StateStore {
  let state = structuredClone(initial);
  return {
    async load() {
      return structuredClone(state);
    },
    async save(cursor, pendingRows) {
      state = structuredClone({ cursor, pendingRows });
    },
    async close() {},
  };
}

function parsePending(value: unknown, where: string): CelRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(value));
  } catch (error) {
    throw new CelStateError(`${where}: pending_rows is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(parsed)) throw new CelStateError(`${where}: pending_rows must be a JSON array`);
  return parsed.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw new CelStateError(`${where}: pending_rows[${i}] is not an object`);
    try {
      return normalizeCelRecord(item as Record<string, unknown>, 0, i + 1).row;
    } catch (error) {
      throw new CelStateError(`${where}: pending_rows[${i}]: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}
