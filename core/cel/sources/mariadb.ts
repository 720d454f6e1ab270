// The live source: polls the PBX's `cel` table (FreePBX `asteriskcdrdb.cel`, Issabel, or any table
// cel_odbc writes) READ-ONLY. It only ever runs SELECTs: against information_schema to learn the
// columns, and `WHERE id > cursor ORDER BY id LIMIT n` to read new rows. Everything that can go wrong
// on a live server (connection killed, server restart, table dropped or recreated) is reported
// through onEvent and retried with backoff; batches() never throws because of it.
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import mysql from 'mysql2/promise';
import { createConnection as createCoreConnection, type Connection as CoreConnection } from 'mysql2';
import { CEL_COLUMNS, type CelRow } from '../row.js';
import {
  emptyStats, type CelBatchOptions, type CelSource, type CelSourceEvent, type CelSourceEventHandler, type CelSourceStats,
} from './source.js';

type CelColumn = (typeof CEL_COLUMNS)[number];

export interface MariaDbConnectionOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
}

export interface MariaDbSourceOptions extends MariaDbConnectionOptions {
  /** Database holding the CEL table (default `asteriskcdrdb`). */
  database?: string;
  /** Table name (default `cel`). */
  table?: string;
  /** CEL field → column name where the table differs, e.g. `{ "extra": "eventextra" }`; `id` may be aliased too. */
  columnAliases?: Partial<Record<CelColumn | 'id', string>>;
  /**
   * Rows per query and per batch (default 1000). A backlog is streamed in batches of this size; larger
   * batches keep more rows alive at once and were slower in bench/cel-ingest (GC promotion).
   */
  batchSize?: number;
  /** Poll interval right after rows arrived (default 250 ms); doubles on each empty poll up to pollMaxMs (default 5000 ms). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** Backoff after an error: starts at retryMinMs (500), doubles up to retryMaxMs (30000). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * At the tail of the table, a missing id usually means an insert that is not committed yet; the
   * source waits this long (default 1000 ms) for it before accepting the gap (rollbacks leave gaps).
   */
  gapWaitMs?: number;
  /** Start after this id (the persisted cursor). batches({ afterId }) overrides it. */
  startAfterId?: number;
  onEvent?: CelSourceEventHandler;
}

export interface MariaDbSource extends CelSource {
  /** Columns the table lacks (filled with '' / 0), known after the first successful discovery. */
  readonly missingColumns: readonly string[];
  /** Server thread id of the current connection (undefined while disconnected); for diagnostics. */
  readonly connectionId: number | undefined;
}

/** Asterisk's numeric event codes (enum ast_cel_event_type), for tables whose eventtype column is an integer. */
const EVENT_NAMES: Readonly<Record<number, string>> = {
  1: 'CHAN_START', 2: 'CHAN_END', 3: 'HANGUP', 4: 'ANSWER', 5: 'APP_START', 6: 'APP_END', 7: 'BRIDGE_ENTER',
  8: 'BRIDGE_EXIT', 9: 'PARK_START', 10: 'PARK_END', 11: 'BLINDTRANSFER', 12: 'ATTENDEDTRANSFER', 13: 'USER_DEFINED',
  14: 'LINKEDID_END', 15: 'PICKUP', 16: 'FORWARD', 17: 'LOCAL_OPTIMIZE', 18: 'LOCAL_OPTIMIZE_BEGIN',
  19: 'STREAM_BEGIN', 20: 'STREAM_END', 21: 'DTMF',
};

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/** What discovery learned: the SELECT to run (its result rows are CelRows) and what the table lacks. */
interface QueryPlan {
  /** One page: `id > ? ORDER BY id LIMIT ?`. */
  sql: string;
  /** A backlog range, streamed: `id > ? AND id <= ? ORDER BY id`. */
  rangeSql: string;
  maxIdSql: string;
  missing: string[];
  createTime: string | null;
  /** @@auto_increment_increment: ids of consecutive inserts differ by this (1 unless Galera-style clusters). */
  idStep: number;
}

interface TableColumn {
  name: string;
  type: string;
  nullable: boolean;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/**
 * The SQL expression that yields one CelRow field from whatever column type the table uses: text as
 * is, temporal/numeric/binary cast to text (so no time-zone shifting of eventtime: it stays the PBX's
 * local time as written). Empty text, NULL and absent columns all come back as SQL NULL and become
 * '' (amaflags 0) in toCelRow: a NULL is one byte on the wire that mysql2 hands over without decoding,
 * while every '' costs it a native string call. Most CEL rows have 5–10 empty fields, so this takes
 * about a third off the client's decoding time (bench/cel-ingest). LENGTH() = 0, not `= ''`: with the
 * usual PAD SPACE collations `' ' = ''` is true, and a value of spaces must stay as it is.
 */
function selectExpression(field: CelColumn, column: TableColumn | undefined, columns: Map<string, TableColumn>): string {
  if (column === undefined) return 'NULL';
  const name = mysql.escapeId(column.name);
  if (field === 'amaflags') return INTEGER_TYPES.has(column.type) ? name : `CAST(${name} AS SIGNED)`;
  let value = name;
  if (field === 'eventtype' && INTEGER_TYPES.has(column.type)) {
    // cel_odbc writes the enum code into an integer column; USER_DEFINED rows take the user's name,
    // as they do in a text column.
    const names = Object.values(EVENT_NAMES).map((n) => mysql.escape(n)).join(', ');
    const userdef = columns.get('userdeftype');
    const byName = `COALESCE(ELT(${name}, ${names}), CAST(${name} AS CHAR))`;
    value = userdef === undefined ? byName
      : `CASE WHEN ${name} = 13 AND COALESCE(${mysql.escapeId(userdef.name)}, '') <> '' THEN ${mysql.escapeId(userdef.name)} ELSE ${byName} END`;
  } else if (BINARY_TYPES.has(column.type)) value = `CONVERT(${name} USING utf8mb4)`;
  else if (!TEXT_TYPES.has(column.type)) {
    // A cast never yields '' (and evaluating it twice, e.g. DATETIME → text, costs the server more
    // than the client saves); its NULL still reads as ''.
    return `CAST(${name} AS CHAR)`;
  }
  return `IF(LENGTH(${value}) = 0, NULL, ${value})`;
}

/** The selected values (rowsAsArray, in the order id, ...CEL_COLUMNS) → a CelRow; NULL → '' / 0. */
type SelectedValues = [
  number, string | null, string | null, string | null, string | null, string | null, string | null, string | null,
  string | null, string | null, string | null, string | null, string | null, number | null, string | null,
  string | null, string | null, string | null, string | null, string | null, string | null, string | null,
];

function toCelRow(v: SelectedValues): CelRow {
  // One object literal with every field in CelRow's order, so all rows share one hidden class.
  return {
    id: v[0], eventtype: v[1] ?? '', eventtime: v[2] ?? '', cid_name: v[3] ?? '', cid_num: v[4] ?? '', cid_ani: v[5] ?? '',
    cid_rdnis: v[6] ?? '', cid_dnid: v[7] ?? '', exten: v[8] ?? '', context: v[9] ?? '', channame: v[10] ?? '',
    appname: v[11] ?? '', appdata: v[12] ?? '', amaflags: v[13] ?? 0, accountcode: v[14] ?? '', peeraccount: v[15] ?? '',
    uniqueid: v[16] ?? '', linkedid: v[17] ?? '', userfield: v[18] ?? '', peer: v[19] ?? '', userdeftype: v[20] ?? '',
    extra: v[21] ?? '',
  };
}

class TableMissingError extends Error {}

export function createMariaDbSource(options: MariaDbSourceOptions): MariaDbSource {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3306;
  const database = options.database ?? 'asteriskcdrdb';
  const table = options.table ?? 'cel';
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const pollMinMs = options.pollMinMs ?? 250;
  const pollMaxMs = Math.max(pollMinMs, options.pollMaxMs ?? 5000);
  const retryMinMs = options.retryMinMs ?? 500;
  const retryMaxMs = Math.max(retryMinMs, options.retryMaxMs ?? 30000);
  const gapWaitMs = options.gapWaitMs ?? 1000;
  const aliases = options.columnAliases ?? {};
  const stats = emptyStats();
  let missingColumns: string[] = [];
  /** The promise API for small queries and the core connection for streaming, over one socket. */
  let connection: { conn: mysql.Connection; core: CoreConnection } | undefined;
  let closed = false;
  /** close() also cuts a poll or retry wait short. */
  const closing = new AbortController();
  /**
   * The backlog stream being read, if any. mysql2 reports a fatal connection error (KILL, restart) on
   * the connection, not to a streaming query without callback, so the 'error' handler ends it.
   */
  let activeStream: Readable | undefined;
  /** Set when the server dropped an idle connection (KILL, restart); reported before reconnecting. */
  let lostReason: string | undefined;
  const warnedOnce = new Set<string>();

  const report = (event: CelSourceEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken event handler must not stop ingestion.
    }
  };

  async function connect(): Promise<{ conn: mysql.Connection; core: CoreConnection }> {
    const core = createCoreConnection({
      host, port, user: options.user ?? 'root', password: options.password ?? '',
      // Strings exactly as stored: no time-zone shifting of eventtime, which is PBX local time.
      dateStrings: true,
      supportBigNumbers: true,
      connectTimeout: 10_000,
    });
    // Without a listener a fatal error on an idle connection would be an uncaught 'error' event.
    core.on('error', (error: Error) => {
      if (connection?.core !== core) return;
      connection = undefined;
      core.destroy();
      if (activeStream !== undefined) activeStream.destroy(error); // thrown where the stream is read
      else lostReason = error.message;
    });
    try {
      await new Promise<void>((resolve, reject) => core.connect((error) => (error ? reject(error) : resolve())));
    } catch (error) {
      core.destroy();
      throw error;
    }
    return { conn: core.promise(), core };
  }

  function dropConnection(): void {
    const link = connection;
    connection = undefined;
    link?.core.destroy();
  }

  async function discover(conn: mysql.Connection): Promise<QueryPlan> {
    const [columnRows] = await conn.query(
      'SELECT COLUMN_NAME AS name, DATA_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [database, table],
    );
    const columns = new Map<string, TableColumn>();
    for (const row of columnRows as Array<{ name: unknown; type: unknown; nullable: unknown }>) {
      columns.set(String(row.name).toLowerCase(), { name: String(row.name), type: String(row.type).toLowerCase(), nullable: row.nullable === 'YES' });
    }
    if (columns.size === 0) throw new TableMissingError(`table ${database}.${table} does not exist (or this user may not read it)`);
    const [tableRows] = await conn.query(
      'SELECT CAST(CREATE_TIME AS CHAR) AS created FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [database, table],
    );
    const created = (tableRows as Array<{ created: unknown }>)[0]?.created;
    const [stepRows] = await conn.query('SELECT @@auto_increment_increment AS step');
    const step = Number((stepRows as Array<{ step: unknown }>)[0]?.step ?? 1);

    const idColumn = columns.get((aliases.id ?? 'id').toLowerCase());
    if (idColumn === undefined) throw new TableMissingError(`table ${database}.${table} has no '${aliases.id ?? 'id'}' column to order by`);
    const id = mysql.escapeId(idColumn.name);
    // Every CEL field is selected in CEL_COLUMNS order (toCelRow relies on it), as text or NULL
    // (amaflags: integer or NULL). Rows come as arrays (rowsAsArray): toCelRow builds the one object
    // per row that mysql2 would otherwise build, with the NULLs already turned into ''.
    const selected: string[] = [`${id} AS id`];
    const missing: string[] = [];
    for (const field of CEL_COLUMNS) {
      let column = columns.get((aliases[field] ?? field).toLowerCase());
      if (column === undefined && field === 'extra' && aliases.extra === undefined) {
        // Issabel names it eventextra; cel_odbc fills it only with `alias extra => eventextra`.
        column = columns.get('eventextra');
      }
      if (column === undefined) missing.push(field);
      selected.push(`${selectExpression(field, column, columns)} AS ${mysql.escapeId(field)}`);
    }
    if (missing.includes('eventtype')) throw new TableMissingError(`table ${database}.${table} has no eventtype column`);
    const from = `${mysql.escapeId(database)}.${mysql.escapeId(table)}`;
    return {
      sql: `SELECT ${selected.join(', ')} FROM ${from} WHERE ${id} > ? ORDER BY ${id} LIMIT ?`,
      rangeSql: `SELECT ${selected.join(', ')} FROM ${from} WHERE ${id} > ? AND ${id} <= ? ORDER BY ${id}`,
      maxIdSql: `SELECT MAX(${id}) AS maxId FROM ${from}`,
      missing, idStep: Number.isSafeInteger(step) && step > 0 ? step : 1, createTime: created === null || created === undefined ? null : String(created),
    };
  }

  function announce(plan: QueryPlan): void {
    missingColumns = plan.missing;
    const key = plan.missing.join(',');
    if (warnedOnce.has(key)) return;
    warnedOnce.add(key);
    if (plan.missing.includes('extra')) {
      report({ level: 'warn', code: 'CEL_NO_EXTRA', message: `CEL_NO_EXTRA: ${database}.${table} has no extra column (set column_aliases.extra if it has another name); detailed call statuses degrade to answered/missed` });
    }
    const others = plan.missing.filter((c) => c !== 'extra');
    if (others.length > 0) {
      report({ level: 'info', code: 'CEL_MISSING_COLUMNS', message: `${database}.${table} has no column ${others.join(', ')}; those fields read as empty` });
    }
  }

  async function* batches(signal?: AbortSignal, batchOptions: CelBatchOptions = {}): AsyncGenerator<CelRow[]> {
    let cursor = batchOptions.afterId ?? options.startAfterId ?? 0;
    let pollWait = pollMinMs;
    let retryWait = retryMinMs;
    let plan: QueryPlan | undefined;
    let lastCreateTime: string | null | undefined;
    /** First time each tail gap (keyed by the missing id) was seen. */
    const gaps = new Map<number, number>();
    /**
     * While catching up, the next page is requested as soon as one arrives, so the server reads it
     * while the consumer works.
     */
    let prefetched: { cursor: number; result: Promise<CelRow[]> } | undefined;
    /** A backlog much larger than a page (after downtime, first start) is streamed up to this id. */
    let streamTo: number | undefined;
    const query = (conn: mysql.Connection, sql: string, after: number): Promise<CelRow[]> =>
      conn.query({ sql, values: [after, batchSize], rowsAsArray: true })
        .then(([result]) => (result as unknown as SelectedValues[]).map(toCelRow));
    const stopped = (): boolean => closed || signal?.aborted === true;
    const handOver = (rows: CelRow[]): CelRow[] => {
      cursor = (rows[rows.length - 1] as CelRow).id;
      stats.rowsRead += rows.length;
      stats.batches++;
      return rows;
    };
    try {
      while (!stopped()) {
        let accepted: CelRow[] = [];
        let wait = 0;
        try {
          if (connection === undefined) {
            if (lostReason !== undefined) {
              stats.retries++;
              report({ level: 'error', code: 'CEL_CONNECTION_LOST', message: `connection to ${host}:${port} lost: ${lostReason}; reconnecting`, retryInMs: 0 });
              lostReason = undefined;
              plan = undefined;
            }
            connection = await connect();
            report({ level: 'info', code: 'CEL_CONNECTED', message: `connected to ${host}:${port}, reading ${database}.${table} after id ${cursor}` });
          }
          const { conn, core } = connection;
          if (plan === undefined) {
            streamTo = undefined;
            plan = await discover(conn);
            announce(plan);
            cursor = await checkCursor(conn, plan, cursor, lastCreateTime);
            lastCreateTime = plan.createTime;
          }
          const current = plan;
          if (streamTo !== undefined) {
            // One streaming SELECT over the backlog: as fast as a plain read. Its end stays a page
            // below the newest id, so uncommitted inserts (gaps) are left to the paged tail below.
            const upTo = streamTo;
            streamTo = undefined;
            for await (const batch of streamRange(core, current.rangeSql, cursor, upTo)) {
              yield handOver(batch);
              if (stopped()) break;
            }
            retryWait = retryMinMs;
            continue;
          }
          const values = prefetched?.cursor === cursor ? await prefetched.result : await query(conn, current.sql, cursor);
          prefetched = undefined;
          retryWait = retryMinMs;
          if (values.length === batchSize) {
            const last = (values[values.length - 1] as CelRow).id;
            const [maxRows] = await conn.query(current.maxIdSql);
            const maxId = Number((maxRows as Array<{ maxId: unknown }>)[0]?.maxId ?? 0);
            if (maxId - last > 4 * batchSize) streamTo = maxId - batchSize;
            else {
              prefetched = { cursor: last, result: query(conn, current.sql, last) };
              prefetched.result.catch(() => undefined); // awaited (and handled) on the next turn, or discarded
            }
          }
          if (values.length === 0) {
            stats.emptyPolls++;
            wait = pollWait;
            pollWait = Math.min(pollWait * 2, pollMaxMs);
          } else {
            pollWait = pollMinMs;
            accepted = values.length < batchSize && cursor > 0 ? cutAtFreshGap(values, cursor, gaps, current.idStep) : values;
            if (accepted.length === 0) wait = Math.min(pollMinMs, 100);
          }
        } catch (error) {
          prefetched = undefined;
          streamTo = undefined;
          if (stopped()) break;
          stats.retries++;
          wait = retryWait;
          retryWait = Math.min(retryWait * 2, retryMaxMs);
          const failure = classify(error);
          if (failure.code !== 'CEL_QUERY_FAILED' || failure.rediscover) plan = undefined;
          if (failure.code === 'CEL_CONNECTION_LOST' || !failure.keepConnection) dropConnection();
          report({ level: 'error', code: failure.code, message: `${failure.message}; retrying in ${wait} ms`, retryInMs: wait });
        }
        if (accepted.length > 0) {
          yield handOver(accepted);
        } else if (wait > 0) {
          await sleep(wait, signal ? AbortSignal.any([signal, closing.signal]) : closing.signal);
        }
      }
    } finally {
      dropConnection();
    }
  }

  /**
   * Streams `after < id <= upTo` in batches. Rows are collected from 'data' events (an async iterator
   * over the stream would cost a promise per row); at most two batches are buffered before the
   * stream, and with it the socket, is paused. A stream left early leaves the connection unusable,
   * so it is dropped.
   */
  async function* streamRange(core: CoreConnection, sql: string, after: number, upTo: number): AsyncGenerator<CelRow[]> {
    const stream = core.query({ sql, values: [after, upTo], rowsAsArray: true }).stream({ highWaterMark: batchSize });
    activeStream = stream;
    const ready: CelRow[][] = [];
    let batch: CelRow[] = [];
    let ended = false;
    let failure: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    stream.on('data', (values: SelectedValues) => {
      batch.push(toCelRow(values));
      if (batch.length < batchSize) return;
      ready.push(batch);
      batch = [];
      if (ready.length >= 2) stream.pause();
      notify();
    });
    stream.on('end', () => {
      ended = true;
      notify();
    });
    stream.on('error', (error: unknown) => {
      failure ??= { error };
      notify();
    });
    let completed = false;
    try {
      for (;;) {
        const next = ready.shift();
        if (next !== undefined) {
          if (stream.isPaused() && ready.length < 2) stream.resume();
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure.error; // rows received before the failure were handed over
        if (ended) {
          completed = true;
          if (batch.length > 0) yield batch;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      activeStream = undefined;
      if (!completed) {
        stream.destroy();
        dropConnection();
      }
    }
  }

  /**
   * A table whose newest id is below our cursor, or whose creation time changed while we ran, was
   * dropped/recreated or truncated: its new rows restart at low ids, so reading must restart at 0.
   */
  async function checkCursor(conn: mysql.Connection, plan: QueryPlan, cursor: number, lastCreateTime: string | null | undefined): Promise<number> {
    if (cursor <= 0) return cursor;
    const recreated = lastCreateTime !== undefined && plan.createTime !== lastCreateTime;
    const [maxRows] = await conn.query(plan.maxIdSql);
    const maxId = (maxRows as Array<{ maxId: unknown }>)[0]?.maxId;
    const highest = maxId === null || maxId === undefined ? 0 : Number(maxId);
    if (recreated || highest < cursor) {
      report({ level: 'warn', code: 'CEL_CURSOR_RESET', message: `${database}.${table} was recreated or emptied (highest id ${highest}, cursor ${cursor}); reading it again from the start` });
      return 0;
    }
    return cursor;
  }

  function cutAtFreshGap(rows: CelRow[], cursor: number, gaps: Map<number, number>, step: number): CelRow[] {
    const now = Date.now();
    let expected = cursor + step;
    for (let i = 0; i < rows.length; i++) {
      const id = (rows[i] as CelRow).id;
      if (id > expected) {
        const since = gaps.get(expected);
        if (since === undefined) {
          gaps.set(expected, now);
          return rows.slice(0, i);
        }
        if (now - since < gapWaitMs) return rows.slice(0, i);
        gaps.delete(expected);
        stats.gapsSkipped++;
        report({ level: 'warn', code: 'CEL_ID_GAP_SKIPPED', message: `id ${expected} (up to ${id - 1}) never appeared in ${database}.${table} within ${gapWaitMs} ms; continuing after them` });
      }
      expected = id + step;
    }
    for (const key of gaps.keys()) if (key < expected) gaps.delete(key);
    return rows;
  }

  function classify(error: unknown): { code: CelSourceEvent['code']; message: string; rediscover: boolean; keepConnection: boolean } {
    const e = error as { code?: unknown; errno?: unknown; message?: unknown; fatal?: unknown };
    const message = typeof e?.message === 'string' ? e.message : String(error);
    if (error instanceof TableMissingError || e?.errno === 1146 || e?.errno === 1049) {
      return { code: 'CEL_TABLE_MISSING', message: `cannot read ${database}.${table}: ${message}`, rediscover: true, keepConnection: true };
    }
    if (e?.errno === 1054) {
      return { code: 'CEL_QUERY_FAILED', message: `the columns of ${database}.${table} changed: ${message}`, rediscover: true, keepConnection: true };
    }
    if (typeof e?.errno === 'number' && e.fatal !== true && e.errno >= 1000 && e.errno < 2000 && e.errno !== 1927) {
      // A server-side error on a live connection (e.g. no SELECT privilege): keep the connection.
      return { code: 'CEL_QUERY_FAILED', message: `query on ${database}.${table} failed: ${message}`, rediscover: false, keepConnection: true };
    }
    return { code: 'CEL_CONNECTION_LOST', message: `connection to ${host}:${port} failed: ${message}`, rediscover: true, keepConnection: false };
  }

  return {
    description: `mariadb ${host}:${port} ${database}.${table}`,
    stats: stats as Readonly<CelSourceStats>,
    get missingColumns() {
      return missingColumns;
    },
    get connectionId() {
      return connection?.core.threadId;
    },
    batches,
    async close() {
      closed = true;
      closing.abort();
      dropConnection();
    },
  };
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch {
    // Aborted: the caller's loop sees the signal and stops.
  }
}
