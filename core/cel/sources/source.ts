// The one contract every CEL source (MariaDB table, JSON Lines / CSV replay) implements, plus the
// error and event types they share. Sources only read and normalise rows; calls are built elsewhere
// (core/cel/assembler), so a source never needs to understand what the rows mean.
import type { CelRow } from '../row.js';

/** Counters a user can read to see what a source did with odd input. Every field only ever grows. */
export interface CelSourceStats {
  /** Rows handed to the consumer. */
  rowsRead: number;
  /** Batches handed to the consumer. */
  batches: number;
  /** Lines (files) or rows (table) that could not be turned into a CelRow; each was reported and skipped. */
  badLines: number;
  /**
   * Files: field values that were absent and defaulted ('' or amaflags 0), summed over all rows.
   * Tables: columns the table lacks are listed once instead (MariaDbSource.missingColumns, CEL_MISSING_COLUMNS).
   */
  missingFields: number;
  /** Rows dropped because a row with the same id had already been read. */
  duplicates: number;
  /** Rows that appeared after a row with a higher id (files) and were put back into id order. */
  outOfOrder: number;
  /** Polls of a live table that returned nothing new. */
  emptyPolls: number;
  /** Errors that were reported and retried (connection loss, missing table, failed query). */
  retries: number;
  /** Gaps in the id sequence that were given up on after waiting (rolled back or deleted rows). */
  gapsSkipped: number;
  /** Rows of a skipped gap that turned up later (a slow commit) and were still handed over, below the cursor. */
  lateRows: number;
  /** Rows with a NULL (or, in files, null) field read as '' (each was warned about). */
  nullFields: number;
  /** Rows with bytes that are not UTF-8 (replaced with U+FFFD; each was warned about). */
  badEncoding: number;
}

export function emptyStats(): CelSourceStats {
  return {
    rowsRead: 0, batches: 0, badLines: 0, missingFields: 0, duplicates: 0, outOfOrder: 0, emptyPolls: 0, retries: 0,
    gapsSkipped: 0, lateRows: 0, nullFields: 0, badEncoding: 0,
  };
}

/** Stable codes for what a source reports; the message is for humans, the code is for code. */
export type CelSourceEventCode =
  | 'CEL_CONNECTED'
  | 'CEL_NO_EXTRA'
  | 'CEL_MISSING_COLUMNS'
  | 'CEL_BAD_LINE'
  | 'CEL_CONNECTION_LOST'
  | 'CEL_TABLE_MISSING'
  | 'CEL_QUERY_FAILED'
  | 'CEL_CURSOR_RESET'
  | 'CEL_ID_GAP_SKIPPED'
  | 'CEL_LATE_ROW'
  | 'CEL_NULL_FIELDS'
  | 'CEL_BAD_ENCODING'
  | 'CEL_ODD_VALUE'
  | 'CEL_ID_CONFLICT'
  | 'CEL_NOT_CEL';

export interface CelSourceEvent {
  level: 'info' | 'warn' | 'error';
  code: CelSourceEventCode;
  message: string;
  /** Set on errors that will be retried: how long the source waits before the next attempt. */
  retryInMs?: number;
}

export type CelSourceEventHandler = (event: CelSourceEvent) => void;

/** What identifies a row well enough to tell "the same table" from "a recreated one" at the same id. */
export interface RowKey {
  eventtype: string;
  uniqueid: string;
  linkedid: string;
}

export function rowKey(row: { eventtype: string; uniqueid: string; linkedid: string }): RowKey {
  return { eventtype: row.eventtype, uniqueid: row.uniqueid, linkedid: row.linkedid };
}

/**
 * Ids at or below the cursor that were missing when the source moved past them (an insert still
 * uncommitted after the gap hold, or a rollback), still looked for until `since + watch time`: a row
 * that turns up is handed over late rather than lost.
 */
export interface WatchedGap {
  from: number;
  to: number;
  /** When it was skipped (epoch ms). */
  since: number;
}

/** Where a source stands beyond its cursor; part of the resume state (CelState.source). */
export interface SourceResume {
  gaps?: WatchedGap[];
  /** The row at the cursor: after a reconnect or restart the table is "recreated" only if that row changed. */
  cursorRow?: RowKey;
}

export interface CelBatchOptions {
  /** Resume point: only rows with an id greater than this are produced (the persisted cursor). */
  afterId?: number;
  /** The rest of the resume point (gaps still watched, the cursor row's identity). */
  resume?: SourceResume;
}

/** The source's position after the batch it last handed over. */
export interface SourcePosition {
  /** The highest id handed over (a batch of late gap rows leaves it unchanged). */
  cursor: number;
  /** Gaps below the cursor still watched for late rows. */
  gaps: WatchedGap[];
  /** How often the source started over in a new id space (its table was recreated or emptied). */
  resets: number;
}

/** Rows to re-read on a restart: the open calls of a resume state (CelState.open). */
export interface RereadRequest {
  fromId: number;
  toId: number;
  linkedids: readonly string[];
  /** Ids not to re-read: watched gaps, which come through batches() if they turn up. */
  skip?: readonly WatchedGap[];
}

export interface CelSource {
  /** Human-readable origin, free of secrets, e.g. `mariadb 127.0.0.1:3306 asteriskcdrdb.cel`. */
  readonly description: string;
  /**
   * Rows in ascending id order, in batches. A file source ends at EOF; the MariaDB source polls until
   * `signal` aborts. Never throws for bad data or lost connections: those are reported and counted.
   */
  batches(signal?: AbortSignal, options?: CelBatchOptions): AsyncIterable<CelRow[]>;
  close(): Promise<void>;
  readonly stats: Readonly<CelSourceStats>;
  /** Position after the batch batches() handed over last (call it between batches). Sources that omit it follow plain id order. */
  position?(): SourcePosition;
  /**
   * Rows with fromId ≤ id ≤ toId and one of the linkedids, in id order, as batches() would have given
   * them: how a restart rebuilds the open calls without storing their rows. Retries like batches().
   * A source without it makes runIngest keep the open calls' rows in the resume state instead.
   */
  reread?(request: RereadRequest, signal?: AbortSignal): AsyncIterable<CelRow[]>;
}

export function inGaps(id: number, gaps: readonly WatchedGap[] | undefined): boolean {
  if (gaps === undefined) return false;
  for (const g of gaps) if (id >= g.from && id <= g.to) return true;
  return false;
}

/** A row that could not be parsed. The message names the file (when known), line and field. */
export class CelParseError extends Error {
  override readonly name = 'CelParseError';
  constructor(
    readonly line: number,
    readonly field: string | undefined,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(`${file === undefined ? '' : `${file}:`}line ${line}${field === undefined ? '' : `: field '${field}'`}: ${reason}`);
  }

  withFile(file: string): CelParseError {
    return new CelParseError(this.line, this.field, this.reason, file);
  }
}

/** Adapts source events to a pino-style logger, so callers that just want logs need one line. */
export function logCelSourceEvents(logger: {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}): CelSourceEventHandler {
  return (event) => logger[event.level]({ code: event.code, retryInMs: event.retryInMs }, event.message);
}

export { printable, escapeControls } from '../printable.js';

/** A file that cannot be read as CEL at all (compressed, binary, UTF-16, empty, no CSV header); the message names the file. */
export class CelFileError extends Error {
  override readonly name = 'CelFileError';
}
