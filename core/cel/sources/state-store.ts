// Where the pipeline keeps its resume point, in the connector's OWN database (default `callhook`), never
// in the PBX's. The resume point is a CelState: the cursor (last CEL id handed to the assembler) plus what
// a fresh assembler needs to continue exactly there. Open calls are kept as a REFERENCE (the oldest open
// call's first id and the open linkedids; their rows are re-read from the source on restart), so the state
// stays small whatever a call's size: about 30 bytes per open linkedid, at most RESUME_FINISHED finished
// linkedids and MAX_WATCHED_GAPS gap ranges. Rows are stored only for calls the source cannot re-read
// (`pendingRows`: calls open across a table reset, or a source without reread()).
import mysql from 'mysql2/promise';
import type { CelRow } from '../row.js';
import type { MariaDbConnectionOptions } from './mariadb.js';
import { normalizeCelRecord } from './normalize.js';
import type { RowKey, SourceResume, WatchedGap } from './source.js';

/** Finished linkedids kept in a resume state: rows of these calls arriving after a restart are late rows, not new calls. */
export const RESUME_FINISHED = 1000;
/** Gap ranges a source watches for late rows at most (the oldest are given up first). */
export const MAX_WATCHED_GAPS = 1000;

/**
 * The resume point. JSON-serialisable: an IngestSink stores it as one opaque value and hands it back from
 * load(). Every field but `cursor` and `pendingRows` is optional (a first start is `{ cursor: 0, pendingRows: [] }`).
 */
export interface CelState {
  cursor: number;
  /** Raw rows of open calls the source cannot re-read, in id order (usually empty). */
  pendingRows: CelRow[];
  /** Open calls by reference: on restart, rows with fromId ≤ id ≤ cursor and one of these linkedids are re-read. */
  open?: { fromId: number; linkedids: string[] };
  /** linkedids of the last RESUME_FINISHED finished calls. */
  finished?: string[];
  /** The source's position beyond the cursor (gaps still watched, the cursor row's identity). */
  source?: SourceResume;
}

export interface StateStore {
  load(): Promise<CelState>;
  /** Saves the whole state atomically (one transaction). */
  save(state: CelState): Promise<void>;
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
        resume LONGTEXT NULL,
        updated_at DATETIME(3) NOT NULL
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    // Tables made before the resume column existed get it (checked first: MySQL has no ADD COLUMN IF NOT EXISTS).
    const [cols] = await pool.query(
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = 'resume'",
      [database, table],
    );
    if (Number((cols as Array<{ n: unknown }>)[0]?.n ?? 0) === 0) await pool.query(`ALTER TABLE ${qualified} ADD COLUMN resume LONGTEXT NULL AFTER pending_rows`);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return {
    async load() {
      const [rows] = await pool.query(`SELECT cursor_id AS cursorId, pending_rows AS pending, resume FROM ${qualified} WHERE source_key = ?`, [key]);
      const found = (rows as Array<{ cursorId: unknown; pending: unknown; resume: unknown }>)[0];
      if (found === undefined) return { cursor: 0, pendingRows: [] };
      const state: CelState = { cursor: Number(found.cursorId), pendingRows: parsePending(found.pending, where) };
      if (found.resume !== null && found.resume !== undefined) Object.assign(state, parseResume(found.resume, where));
      return state;
    },
    async save(state) {
      const { cursor, pendingRows, ...resume } = state;
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        await conn.query(
          `INSERT INTO ${qualified} (source_key, cursor_id, pending_rows, resume, updated_at) VALUES (?, ?, ?, ?, NOW(3))
           ON DUPLICATE KEY UPDATE cursor_id = VALUES(cursor_id), pending_rows = VALUES(pending_rows), resume = VALUES(resume), updated_at = VALUES(updated_at)`,
          [key, cursor, JSON.stringify(pendingRows), JSON.stringify(resume)],
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
    async save(next) {
      state = structuredClone(next);
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

/** The optional parts of a stored state, checked field by field (a hand-edited state must not be half-read). */
export function parseResume(value: unknown, where: string): Omit<CelState, 'cursor' | 'pendingRows'> {
  let parsed: unknown;
  try {
    parsed = typeof value === 'string' ? JSON.parse(value) : value;
  } catch (error) {
    throw new CelStateError(`${where}: resume is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const bad = (field: string, why: string): never => {
    throw new CelStateError(`${where}: resume.${field} ${why}`);
  };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) bad('', 'must be a JSON object');
  const o = parsed as Record<string, unknown>;
  const out: Omit<CelState, 'cursor' | 'pendingRows'> = {};
  if (o['open'] !== undefined) {
    const open = o['open'] as Record<string, unknown>;
    if (typeof open !== 'object' || open === null) bad('open', 'must be an object');
    if (!Number.isSafeInteger(open['fromId'])) bad('open.fromId', 'must be an integer');
    if (!isStringArray(open['linkedids'])) bad('open.linkedids', 'must be an array of strings');
    out.open = { fromId: open['fromId'] as number, linkedids: open['linkedids'] as string[] };
  }
  if (o['finished'] !== undefined) {
    if (!isStringArray(o['finished'])) bad('finished', 'must be an array of strings');
    out.finished = o['finished'] as string[];
  }
  if (o['source'] !== undefined) {
    const source = o['source'] as Record<string, unknown>;
    if (typeof source !== 'object' || source === null) bad('source', 'must be an object');
    const resume: SourceResume = {};
    if (source['gaps'] !== undefined) {
      const gaps = source['gaps'];
      if (!Array.isArray(gaps) || !gaps.every(isGap)) bad('source.gaps', 'must be an array of {from, to, since} integers');
      resume.gaps = gaps as WatchedGap[];
    }
    if (source['cursorRow'] !== undefined) {
      const row = source['cursorRow'] as Record<string, unknown>;
      if (typeof row !== 'object' || row === null || !['eventtype', 'uniqueid', 'linkedid'].every((k) => typeof row[k] === 'string')) {
        bad('source.cursorRow', 'must be {eventtype, uniqueid, linkedid} strings');
      }
      resume.cursorRow = row as unknown as RowKey;
    }
    out.source = resume;
  }
  return out;
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isGap(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const g = value as Record<string, unknown>;
  return Number.isSafeInteger(g['from']) && Number.isSafeInteger(g['to']) && Number.isSafeInteger(g['since']) && (g['from'] as number) <= (g['to'] as number);
}
