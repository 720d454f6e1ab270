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
}

export function emptyStats(): CelSourceStats {
  return { rowsRead: 0, batches: 0, badLines: 0, missingFields: 0, duplicates: 0, outOfOrder: 0, emptyPolls: 0, retries: 0, gapsSkipped: 0 };
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
  | 'CEL_ID_GAP_SKIPPED';

export interface CelSourceEvent {
  level: 'info' | 'warn' | 'error';
  code: CelSourceEventCode;
  message: string;
  /** Set on errors that will be retried: how long the source waits before the next attempt. */
  retryInMs?: number;
}

export type CelSourceEventHandler = (event: CelSourceEvent) => void;

export interface CelBatchOptions {
  /** Resume point: only rows with an id greater than this are produced (the persisted cursor). */
  afterId?: number;
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
