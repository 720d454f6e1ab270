// The live source: polls the PBX's `cel` table (FreePBX `asteriskcdrdb.cel`, Issabel, or any table
// cel_odbc writes) READ-ONLY. It only ever runs SELECTs: against information_schema to learn the
// columns (mariadb-plan.ts), and `WHERE id >= cursor ORDER BY id LIMIT n` to read new rows. Every page
// starts with the row at the cursor: if that row is now a different row, or the table's highest id fell
// below the cursor, the table was recreated or emptied and reading starts over (CEL_CURSOR_RESET). That is
// decided from the rows, never from metadata (OPTIMIZE TABLE and rebuilding ALTERs change CREATE_TIME).
// Missing ids are held and watched (id-gaps.ts), so a row committed late is handed over, not lost.
// Everything that can go wrong on a live server (connection killed, server restart, table dropped or
// recreated) is reported through onEvent and retried with backoff; batches() never throws because of it.
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import { createConnection as createCoreConnection, type Connection as CoreConnection } from 'mysql2';
import type { CelRow } from '../row.js';
import { GapTracker } from './id-gaps.js';
import {
  discover, MASK_INDEX, rangesSql, TableMissingError, toCelRow, type CelColumn, type QueryPlan, type SelectedValues,
} from './mariadb-plan.js';
import { BatchNotes } from './notes.js';
import { MAX_WATCHED_GAPS } from './state-store.js';
import {
  emptyStats, inGaps, rowKey, type CelBatchOptions, type CelSource, type CelSourceEvent, type CelSourceEventHandler,
  type CelSourceStats, type RereadRequest, type RowKey, type SourcePosition,
} from './source.js';

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
   * How long a missing id is held (rows after it wait) for an insert that is not committed yet, before it
   * is skipped (default 2000 ms: above the worst commit lag measured by bench/cel-commit-lag, with margin).
   */
  gapWaitMs?: number;
  /** How long a skipped id is still looked for; a row that turns up is handed over late (default 600000 ms). */
  gapWatchMs?: number;
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

export const DEFAULT_GAP_WAIT_MS = 2000;
export const DEFAULT_GAP_WATCH_MS = 600_000;

export function createMariaDbSource(options: MariaDbSourceOptions): MariaDbSource {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 3306;
  const database = options.database ?? 'asteriskcdrdb';
  const table = options.table ?? 'cel';
  const where = `${database}.${table}`;
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const pollMinMs = options.pollMinMs ?? 250;
  const pollMaxMs = Math.max(pollMinMs, options.pollMaxMs ?? 5000);
  const retryMinMs = options.retryMinMs ?? 500;
  const retryMaxMs = Math.max(retryMinMs, options.retryMaxMs ?? 30000);
  const gapWaitMs = options.gapWaitMs ?? DEFAULT_GAP_WAIT_MS;
  const gapWatchMs = options.gapWatchMs ?? DEFAULT_GAP_WATCH_MS;
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
  const position: SourcePosition = { cursor: 0, gaps: [], resets: 0 };
  const gaps = new GapTracker({ holdMs: gapWaitMs, watchMs: gapWatchMs, step: 1, maxWatched: MAX_WATCHED_GAPS });

  const report = (event: CelSourceEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken event handler must not stop ingestion.
    }
  };
  const notes = new BatchNotes(report);
  /** Mask bits (NULL / not UTF-8 fields) of rows that had any, looked up when a row is handed over. */
  let masks = new WeakMap<CelRow, number>();

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

  function announce(plan: QueryPlan): void {
    missingColumns = plan.missing;
    const key = plan.missing.join(',');
    if (warnedOnce.has(key)) return;
    warnedOnce.add(key);
    if (plan.missing.includes('extra')) {
      report({ level: 'warn', code: 'CEL_NO_EXTRA', message: `CEL_NO_EXTRA: ${where} has no extra column (set column_aliases.extra if it has another name); detailed call statuses degrade to answered/missed` });
    }
    const others = plan.missing.filter((c) => c !== 'extra');
    if (others.length > 0) {
      report({ level: 'info', code: 'CEL_MISSING_COLUMNS', message: `${where} has no column ${others.join(', ')}; those fields read as empty` });
    }
  }

  function mapRows(plan: QueryPlan, values: SelectedValues[]): CelRow[] {
    const rows = values.map(toCelRow);
    if (plan.mask.length > 0) {
      for (let i = 0; i < values.length; i++) {
        const mask = Number((values[i] as SelectedValues)[MASK_INDEX]);
        if (mask !== 0) masks.set(rows[i] as CelRow, mask);
      }
    }
    return rows;
  }

  const query = (conn: mysql.Connection, plan: QueryPlan, from: number, limit: number): Promise<CelRow[]> =>
    conn.query({ sql: plan.pageSql, values: [from, limit], rowsAsArray: true })
      .then(([result]) => mapRows(plan, result as unknown as SelectedValues[]));

  /** Reports what the mask says about rows handed over (NULLs read as '', bytes that were not UTF-8). */
  function noteMasks(plan: QueryPlan, rows: readonly CelRow[]): void {
    if (plan.mask.length === 0) return;
    for (const row of rows) {
      const mask = masks.get(row);
      if (mask === undefined) continue;
      const nulls: string[] = [];
      const encoding: string[] = [];
      plan.mask.forEach((bit, i) => {
        if ((mask & (1 << i)) !== 0) (bit.kind === 'null' ? nulls : encoding).push(bit.field);
      });
      if (nulls.length > 0) {
        stats.nullFields++;
        notes.add('CEL_NULL_FIELDS', 'warn', "rows with NULL fields read as ''", `row ${row.id}`, `${where}: row ${row.id} (${row.eventtype}): ${nulls.join(', ')} ${nulls.length === 1 ? 'is' : 'are'} NULL; read as ''`, nulls.join(', '));
      }
      if (encoding.length > 0) {
        stats.badEncoding++;
        notes.add('CEL_BAD_ENCODING', 'warn', 'rows with bytes that are not UTF-8', `row ${row.id}`, `${where}: row ${row.id}: ${encoding.join(', ')} ${encoding.length === 1 ? 'has' : 'have'} bytes that are not UTF-8 (replaced with '?')`, encoding.join(', '));
      }
    }
  }

  async function* batches(signal?: AbortSignal, batchOptions: CelBatchOptions = {}): AsyncGenerator<CelRow[]> {
    let cursor = batchOptions.afterId ?? options.startAfterId ?? 0;
    /** The row at the cursor: the same row must be there on the next read, or the table is not the same table. */
    let cursorKey: RowKey | undefined = batchOptions.resume?.cursorRow;
    gaps.reset();
    gaps.restore(batchOptions.resume?.gaps);
    gaps.below(cursor);
    position.cursor = cursor;
    let pollWait = pollMinMs;
    let retryWait = retryMinMs;
    let plan: QueryPlan | undefined;
    /** The cursor for which "its row is gone but the table still reaches past it" was checked. */
    let absentChecked: number | undefined;
    let lastWatchRead = 0;
    /**
     * While catching up, the next page is requested as soon as one arrives, so the server reads it
     * while the consumer works.
     */
    let prefetched: { cursor: number; result: Promise<CelRow[]> } | undefined;
    /** A backlog much larger than a page (after downtime, first start) is streamed up to this id. */
    let stream: { upTo: number; headTime: string } | undefined;
    const stopped = (): boolean => closed || signal?.aborted === true;
    const handOver = (current: QueryPlan, rows: CelRow[], late: boolean): CelRow[] => {
      if (late) stats.lateRows += rows.length;
      else {
        const last = rows[rows.length - 1] as CelRow;
        cursor = last.id;
        cursorKey = rowKey(last);
        position.cursor = cursor;
      }
      position.gaps = gaps.watched.map((g) => ({ ...g }));
      noteMasks(current, rows);
      notes.flush(`${where}: `);
      stats.rowsRead += rows.length;
      stats.batches++;
      return rows;
    };
    const startOver = (why: string): void => {
      report({ level: 'warn', code: 'CEL_CURSOR_RESET', message: `${where} was recreated or emptied (${why}); reading it again from the start` });
      cursor = 0;
      cursorKey = undefined;
      absentChecked = undefined;
      prefetched = undefined;
      stream = undefined;
      gaps.reset();
      position.cursor = 0;
      position.gaps = [];
      position.resets++;
      masks = new WeakMap();
    };
    /** Checks the row read at the cursor; returns the rows after it, or undefined when the table started over. */
    const afterCursor = async (conn: mysql.Connection, current: QueryPlan, rows: CelRow[]): Promise<CelRow[] | undefined> => {
      if (cursor <= 0) return rows;
      const first = rows[0];
      if (first !== undefined && first.id === cursor) {
        const key = rowKey(first);
        if (cursorKey !== undefined && !sameKey(cursorKey, key)) {
          startOver(`row ${cursor} is now ${describeKey(key)}, was ${describeKey(cursorKey)}`);
          return undefined;
        }
        cursorKey = key;
        return rows.slice(1);
      }
      // The cursor row is gone. The table was emptied (or recreated) if nothing reaches the cursor any more;
      // rows deleted at the cursor (a purge) with newer rows after it are not a reset.
      if (rows.length === 0 || absentChecked !== cursor) {
        absentChecked = cursor;
        const highest = await maxId(conn, current);
        if (highest < cursor) {
          startOver(`highest id ${highest}, cursor ${cursor}`);
          return undefined;
        }
      }
      return rows;
    };
    /** The held/skipped-gap decision, with its warnings. */
    const cutGaps = (rows: CelRow[], headTime?: string): CelRow[] => {
      const cut = gaps.cut(rows, cursor, headTime);
      for (const g of cut.skipped) {
        stats.gapsSkipped++;
        const ids = g.from === g.to ? `id ${g.from}` : `ids ${g.from}–${g.to}`;
        notes.add('CEL_ID_GAP_SKIPPED', 'warn', 'skipped id gaps', ids,
          `${where}: ${ids} did not appear within ${gapWaitMs} ms (an insert not committed yet, or rolled back); continuing after ${g.from === g.to ? 'it' : 'them'}, still looking for ${g.from === g.to ? 'it' : 'them'} for ${Math.round(gapWatchMs / 1000)} s`);
      }
      if (cut.old > 0) {
        stats.gapsSkipped += cut.old;
        report({ level: 'info', code: 'CEL_ID_GAP_SKIPPED', message: `${where}: ${cut.old} gap${cut.old === 1 ? '' : 's'} in old rows (purged or rolled back long ago) accepted` });
      }
      return cut.take === rows.length ? rows : rows.slice(0, cut.take);
    };
    try {
      while (!stopped()) {
        let accepted: CelRow[] = [];
        let late = false;
        let wait = 0;
        let current: QueryPlan | undefined;
        try {
          if (connection === undefined) {
            if (lostReason !== undefined) {
              stats.retries++;
              report({ level: 'error', code: 'CEL_CONNECTION_LOST', message: `connection to ${host}:${port} lost: ${lostReason}; reconnecting`, retryInMs: 0 });
              lostReason = undefined;
              plan = undefined;
            }
            connection = await connect();
            report({ level: 'info', code: 'CEL_CONNECTED', message: `connected to ${host}:${port}, reading ${where} after id ${cursor}` });
          }
          const { conn, core } = connection;
          if (plan === undefined) {
            stream = undefined;
            absentChecked = undefined;
            plan = await discover(conn, database, table, aliases);
            gaps.step = plan.idStep;
            announce(plan);
          }
          current = plan;
          // Rows that turned up in watched gaps come first, in a batch of their own (below the cursor).
          if (gaps.watched.length > 0 && Date.now() - lastWatchRead >= pollMinMs) {
            lastWatchRead = Date.now();
            gaps.expire();
            const found = await readRanges(conn, current, gaps.watched);
            if (found.length > 0) {
              gaps.filled(found.map((r) => r.id));
              for (const row of found) {
                notes.add('CEL_LATE_ROW', 'warn', 'rows committed late', `row ${row.id}`,
                  `${where}: row ${row.id} (${row.eventtype}) appeared after its id had been skipped (committed late); handed over now, below the cursor ${cursor}`);
              }
              accepted = found;
              late = true;
            }
          }
          if (!late && stream !== undefined) {
            // One streaming SELECT over the backlog: as fast as a plain read. Its end stays a page
            // below the newest id, so the last rows are read by the paged tail.
            const { upTo, headTime } = stream;
            stream = undefined;
            let first = true;
            for await (const raw of streamRange(core, current, cursor, upTo)) {
              let batch: CelRow[] | undefined = raw;
              if (first) {
                first = false;
                batch = await afterCursor(conn, current, raw);
                if (batch === undefined) break;
              }
              const handed = cutGaps(batch, headTime);
              if (handed.length > 0) yield handOver(current, handed, false);
              // A gap still held inside the backlog: stop here; the paged tail waits for it.
              if (handed.length < batch.length || stopped()) break;
            }
            retryWait = retryMinMs;
            continue;
          }
          if (!late) {
            const limit = cursor > 0 ? batchSize + 1 : batchSize;
            const page = prefetched?.cursor === cursor ? await prefetched.result : await query(conn, current, cursor, limit);
            prefetched = undefined;
            retryWait = retryMinMs;
            const rows = await afterCursor(conn, current, page);
            if (rows === undefined) continue; // started over: read again from 0
            const values = rows.length > batchSize ? rows.slice(0, batchSize) : rows;
            if (values.length === batchSize) {
              const last = (values[values.length - 1] as CelRow).id;
              const highest = await maxId(conn, current);
              if (highest - last > 4 * batchSize) {
                stream = { upTo: highest - batchSize, headTime: (await headRow(conn, current))?.eventtime ?? '' };
              } else {
                prefetched = { cursor: last, result: query(conn, current, last, batchSize + 1) };
                prefetched.result.catch(() => undefined); // awaited (and handled) on the next turn, or discarded
              }
            }
            if (values.length === 0) {
              stats.emptyPolls++;
              wait = pollWait;
              pollWait = Math.min(pollWait * 2, pollMaxMs);
            } else {
              pollWait = pollMinMs;
              accepted = cutGaps(values);
              if (accepted.length === 0) {
                prefetched = undefined;
                wait = Math.min(pollMinMs, 100); // a gap is held: look again soon
              } else if (accepted.length < values.length) prefetched = undefined;
            }
          }
        } catch (error) {
          prefetched = undefined;
          stream = undefined;
          if (stopped()) break;
          stats.retries++;
          wait = retryWait;
          retryWait = Math.min(retryWait * 2, retryMaxMs);
          const failure = classify(error);
          if (failure.code !== 'CEL_QUERY_FAILED' || failure.rediscover) plan = undefined;
          if (failure.code === 'CEL_CONNECTION_LOST' || !failure.keepConnection) dropConnection();
          report({ level: 'error', code: failure.code, message: `${failure.message}; retrying in ${wait} ms`, retryInMs: wait });
        }
        if (accepted.length > 0 && current !== undefined) {
          yield handOver(current, accepted, late);
        } else if (wait > 0) {
          await sleep(wait, signal ? AbortSignal.any([signal, closing.signal]) : closing.signal);
        }
      }
    } finally {
      dropConnection();
    }
  }

  async function maxId(conn: mysql.Connection, plan: QueryPlan): Promise<number> {
    const [rows] = await conn.query(plan.maxIdSql);
    const value = (rows as Array<{ maxId: unknown }>)[0]?.maxId;
    return value === null || value === undefined ? 0 : Number(value);
  }

  async function headRow(conn: mysql.Connection, plan: QueryPlan): Promise<CelRow | undefined> {
    const [rows] = await conn.query({ sql: plan.headSql, rowsAsArray: true });
    return mapRows(plan, rows as unknown as SelectedValues[])[0];
  }

  async function readRanges(conn: mysql.Connection, plan: QueryPlan, ranges: ReadonlyArray<{ from: number; to: number }>): Promise<CelRow[]> {
    const out: CelRow[] = [];
    for (let i = 0; i < ranges.length; i += 200) {
      const { sql, values } = rangesSql(plan, ranges.slice(i, i + 200));
      const [rows] = await conn.query({ sql, values, rowsAsArray: true });
      out.push(...mapRows(plan, rows as unknown as SelectedValues[]));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /**
   * Rows fromId ≤ id ≤ toId with one of the linkedids, paged over their own connection (ingest calls this
   * before batches()). Errors are reported and retried like in batches().
   */
  async function* reread(request: RereadRequest, signal?: AbortSignal): AsyncGenerator<CelRow[]> {
    const linkedids = new Set(request.linkedids);
    const pageSize = batchSize * 5;
    let from = request.fromId;
    let link: { conn: mysql.Connection; core: CoreConnection } | undefined;
    let plan: QueryPlan | undefined;
    let retryWait = retryMinMs;
    const stopped = (): boolean => closed || signal?.aborted === true;
    try {
      while (!stopped() && from <= request.toId) {
        let rows: CelRow[];
        try {
          link ??= await connect();
          plan ??= await discover(link.conn, database, table, aliases);
          rows = await query(link.conn, plan, from, pageSize);
          retryWait = retryMinMs;
        } catch (error) {
          if (stopped()) break;
          link?.core.destroy();
          link = undefined;
          plan = undefined;
          stats.retries++;
          const failure = classify(error);
          report({ level: 'error', code: failure.code, message: `re-reading the open calls' rows: ${failure.message}; retrying in ${retryWait} ms`, retryInMs: retryWait });
          await sleep(retryWait, signal ? AbortSignal.any([signal, closing.signal]) : closing.signal);
          retryWait = Math.min(retryWait * 2, retryMaxMs);
          continue;
        }
        const keep = rows.filter((r) => r.id <= request.toId && linkedids.has(r.linkedid) && !inGaps(r.id, request.skip));
        if (keep.length > 0) yield keep;
        if (rows.length < pageSize) break;
        from = (rows[rows.length - 1] as CelRow).id + 1;
      }
    } finally {
      link?.core.destroy();
    }
  }

  /**
   * Streams `after ≤ id ≤ upTo` in batches. Rows are collected from 'data' events (an async iterator
   * over the stream would cost a promise per row); at most two batches are buffered before the
   * stream, and with it the socket, is paused. A stream left early leaves the connection unusable,
   * so it is dropped.
   */
  async function* streamRange(core: CoreConnection, plan: QueryPlan, after: number, upTo: number): AsyncGenerator<CelRow[]> {
    const stream = core.query({ sql: plan.rangeSql, values: [after, upTo], rowsAsArray: true }).stream({ highWaterMark: batchSize });
    activeStream = stream;
    const ready: CelRow[][] = [];
    let values: SelectedValues[] = [];
    let ended = false;
    let failure: { error: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resolve = wake;
      wake = undefined;
      resolve?.();
    };
    const flush = (): void => {
      ready.push(mapRows(plan, values));
      values = [];
    };
    stream.on('data', (row: SelectedValues) => {
      values.push(row);
      if (values.length < batchSize) return;
      flush();
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
          if (values.length > 0) {
            flush();
            yield ready.shift() as CelRow[];
          }
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
  function classify(error: unknown): { code: CelSourceEvent['code']; message: string; rediscover: boolean; keepConnection: boolean } {
    const e = error as { code?: unknown; errno?: unknown; message?: unknown; fatal?: unknown };
    const message = typeof e?.message === 'string' ? e.message : String(error);
    if (error instanceof TableMissingError || e?.errno === 1146 || e?.errno === 1049) {
      return { code: 'CEL_TABLE_MISSING', message: `cannot read ${where}: ${message}`, rediscover: true, keepConnection: true };
    }
    if (e?.errno === 1054) {
      return { code: 'CEL_QUERY_FAILED', message: `the columns of ${where} changed: ${message}`, rediscover: true, keepConnection: true };
    }
    if (typeof e?.errno === 'number' && e.fatal !== true && e.errno >= 1000 && e.errno < 2000 && e.errno !== 1927) {
      // A server-side error on a live connection (e.g. no SELECT privilege): keep the connection.
      return { code: 'CEL_QUERY_FAILED', message: `query on ${where} failed: ${message}`, rediscover: false, keepConnection: true };
    }
    return { code: 'CEL_CONNECTION_LOST', message: `connection to ${host}:${port} failed: ${message}`, rediscover: true, keepConnection: false };
  }

  return {
    description: `mariadb ${host}:${port} ${where}`,
    stats: stats as Readonly<CelSourceStats>,
    get missingColumns() {
      return missingColumns;
    },
    get connectionId() {
      return connection?.core.threadId;
    },
    position: () => ({ cursor: position.cursor, gaps: position.gaps.map((g) => ({ ...g })), resets: position.resets }),
    batches,
    reread,
    async close() {
      closed = true;
      closing.abort();
      dropConnection();
    },
  };
}

function sameKey(a: RowKey, b: RowKey): boolean {
  return a.eventtype === b.eventtype && a.uniqueid === b.uniqueid && a.linkedid === b.linkedid;
}

function describeKey(k: RowKey): string {
  return `${k.eventtype} of ${k.uniqueid} (call ${k.linkedid})`;
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch {
    // Aborted: the caller's loop sees the signal and stops.
  }
}
