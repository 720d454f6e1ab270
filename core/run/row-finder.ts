// Finds CEL rows by call for `callhook reprocess`: by linkedid, by uniqueid (legs that carried another
// linkedid) and the linkedids active in a period. On MariaDB these are indexed lookups (FreePBX indexes
// linkedid and uniqueid), never a scan of the whole table; a replay file is read once into memory.
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { CEL_COLUMNS, type CelRow } from '../cel/row.js';
import { readCelFile, type CelSettings } from '../cel/sources/index.js';
import { normalizeCelRecord } from '../cel/sources/normalize.js';

export interface CelRowFinder {
  byLinkedids(ids: readonly string[]): Promise<CelRow[]>;
  byUniqueids(ids: readonly string[]): Promise<CelRow[]>;
  /** Linkedids with a row whose eventtime is within [from, to] (PBX-local 'YYYY-MM-DD HH:MM:SS'; to null = no end). */
  linkedidsBetween(from: string, to: string | null): Promise<string[]>;
  close(): Promise<void>;
}

const CHUNK = 500;

function inTime(eventtime: string, from: string, to: string | null): boolean {
  const t = eventtime.slice(0, 19);
  return t >= from && (to === null || t <= to);
}

async function fileFinder(path: string): Promise<CelRowFinder> {
  const rows: CelRow[] = [];
  for await (const row of readCelFile(path)) rows.push(row);
  const pick = (ids: readonly string[], key: 'linkedid' | 'uniqueid'): CelRow[] => {
    const set = new Set(ids);
    return set.size === 0 ? [] : rows.filter((r) => set.has(r[key]));
  };
  return {
    byLinkedids: async (ids) => pick(ids, 'linkedid'),
    byUniqueids: async (ids) => pick(ids, 'uniqueid'),
    linkedidsBetween: async (from, to) => [...new Set(rows.filter((r) => inTime(r.eventtime, from, to)).map((r) => r.linkedid))],
    close: async () => undefined,
  };
}

async function mariadbFinder(settings: CelSettings['mariadb'], logger: Logger): Promise<CelRowFinder> {
  const conn = await mysql.createConnection({
    host: settings.host, port: settings.port, user: settings.user, password: settings.password, database: settings.database,
    dateStrings: true, supportBigNumbers: true, bigNumberStrings: false,
  });
  conn.on('error', () => undefined);
  const aliases = settings.column_aliases as Partial<Record<string, string>>;
  const column = (field: string): string => aliases[field] ?? field;
  const [present] = await conn.query('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [settings.database, settings.table]);
  const have = new Set((present as Array<{ name: string }>).map((c) => c.name.toLowerCase()));
  const fields = ['id', ...CEL_COLUMNS].filter((f) => have.has(column(f).toLowerCase()));
  const select = fields.map((f) => `${mysql.escapeId(column(f))} AS ${mysql.escapeId(f)}`).join(', ');
  const table = `${mysql.escapeId(settings.database)}.${mysql.escapeId(settings.table)}`;
  const rowsWhere = async (field: 'linkedid' | 'uniqueid', ids: readonly string[]): Promise<CelRow[]> => {
    const out: CelRow[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const [rows] = await conn.query(`SELECT ${select} FROM ${table} WHERE ${mysql.escapeId(column(field))} IN (?) ORDER BY ${mysql.escapeId(column('id'))}`, [chunk]);
      for (const [n, record] of (rows as Array<Record<string, unknown>>).entries()) {
        try {
          out.push(normalizeCelRecord(record, 0, n + 1).row);
        } catch (error) {
          logger.warn({ id: record.id, err: error }, 'reprocess: a CEL row could not be read; skipped');
        }
      }
    }
    return out;
  };
  return {
    byLinkedids: (ids) => rowsWhere('linkedid', ids),
    byUniqueids: (ids) => rowsWhere('uniqueid', ids),
    async linkedidsBetween(from, to) {
      const time = mysql.escapeId(column('eventtime'));
      const [rows] = await conn.query(
        `SELECT DISTINCT ${mysql.escapeId(column('linkedid'))} AS linkedid FROM ${table} WHERE ${time} >= ?${to === null ? '' : ` AND ${time} <= ?`}`,
        to === null ? [from] : [from, to],
      );
      return (rows as Array<{ linkedid: string }>).map((r) => String(r.linkedid));
    },
    close: () => conn.end(),
  };
}

export async function openCelRowFinder(settings: CelSettings, logger: Logger): Promise<CelRowFinder> {
  return settings.source === 'replay' ? fileFinder(settings.replay.path) : mariadbFinder(settings.mariadb, logger);
}
