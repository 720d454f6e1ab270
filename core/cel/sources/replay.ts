// A finite CelSource over a file, streamed in bounded memory. Rows are put into id order through a
// window of REORDER_WINDOW rows (kept sorted by id): an export that is shuffled locally comes out sorted,
// a row displaced further than the window comes out late and the assembler applies it out of order.
// Repeated ids: an exact copy of a row is a duplicate and dropped; a DIFFERENT row with an id already used
// is a conflict. When the first window shows ids that are no ids (conflicts in ≥ 1 % of its rows, e.g.
// `id: 0` on every row, or two exports concatenated), the file's ids are ignored and every row gets its
// line number, in file order (warned once); later, isolated conflicts drop the second row with a warning.
import type { CelRow } from '../row.js';
import { CEL_COLUMNS } from '../row.js';
import { readCelEntries, type CelFileFormat, type CelFileNote } from './file.js';
import { BatchNotes } from './notes.js';
import {
  CelFileError, emptyStats, inGaps, type CelBatchOptions, type CelSource, type CelSourceEvent, type CelSourceEventHandler,
  type RereadRequest, type SourcePosition,
} from './source.js';

/**
 * Rows held to put a file into id order. Id races of concurrent inserts displace rows by a few places; a
 * larger window kept rows alive long enough to be promoted out of V8's young generation (10,000 rows: 30 %
 * of a replay's time in the GC).
 */
export const REORDER_WINDOW = 1_000;

export interface ReplaySourceOptions {
  path: string;
  /** Rows per batch (default 500). */
  batchSize?: number;
  format?: CelFileFormat;
  onEvent?: CelSourceEventHandler;
}

interface Entry {
  row: CelRow;
  /** Line where the row starts: the tie-break that keeps the first copy of an id first. */
  line: number;
}

export function createReplaySource(options: ReplaySourceOptions): CelSource {
  const stats = emptyStats();
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const file = options.path;
  const position: SourcePosition = { cursor: 0, gaps: [], resets: 0 };
  const report = (event: CelSourceEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A broken event handler must not stop the replay.
    }
  };

  /**
   * Every row of the file in id order, as batches of rows that pass `keep`. `quiet` (a re-read) counts and
   * reports nothing: the first pass did.
   */
  async function* ordered(keep: (row: CelRow) => boolean, signal: AbortSignal | undefined, quiet: boolean): AsyncGenerator<CelRow[]> {
    const counters = quiet ? emptyStats() : stats;
    const notes = new BatchNotes(quiet ? () => undefined : report);
    let batch: CelRow[] = [];
    const ready: CelRow[][] = [];
    const out = (row: CelRow): void => {
      if (!keep(row)) return;
      batch.push(row);
      if (batch.length >= batchSize) {
        ready.push(batch);
        batch = [];
      }
    };
    const onBadLine = (info: { line: number; message: string }): void => notes.add('CEL_BAD_LINE', 'warn', 'bad lines', `line ${info.line}`, info.message);
    const onNote = (n: CelFileNote): void => {
      if (n.code === 'CEL_MISSING_COLUMNS') report({ level: 'info', code: n.code, message: n.message });
      else notes.add(n.code, 'warn', n.code === 'CEL_BAD_ENCODING' ? 'rows with bytes that are not UTF-8' : n.code === 'CEL_NULL_FIELDS' ? "rows with null fields read as ''" : 'rows with odd values kept', n.where, n.message, n.detail);
    };
    const order = new IdOrder(file, out, (n) => notes.add('CEL_ID_CONFLICT', 'warn', 'rows whose id another row already has', n.where, n.message), report, counters);
    const entries = readCelEntries(file, { stats: counters, onBadLine, ...(quiet ? {} : { onNote }), ...(options.format ? { format: options.format } : {}) });
    try {
      for await (const entry of entries) {
        if (signal?.aborted) return;
        order.add(entry);
        while (ready.length > 0) {
          notes.flush(`${file}: `);
          yield ready.shift() as CelRow[];
        }
      }
    } catch (error) {
      if (!(error instanceof CelFileError)) throw error;
      if (!quiet) report({ level: 'error', code: 'CEL_NOT_CEL', message: error.message });
      return;
    }
    order.end();
    for (const b of ready) {
      if (signal?.aborted) return;
      notes.flush(`${file}: `);
      yield b;
    }
    notes.flush(`${file}: `);
    if (batch.length > 0 && !signal?.aborted) yield batch;
  }

  return {
    description: `replay ${file}`,
    stats,
    async close() {},
    position: () => ({ cursor: position.cursor, gaps: [], resets: 0 }),
    async *batches(signal?: AbortSignal, batchOptions: CelBatchOptions = {}) {
      const afterId = batchOptions.afterId ?? 0;
      for await (const rows of ordered((row) => row.id > afterId, signal, false)) {
        position.cursor = Math.max(position.cursor, (rows[rows.length - 1] as CelRow).id);
        stats.batches++;
        yield rows;
      }
    },
    async *reread(request: RereadRequest, signal?: AbortSignal) {
      const linkedids = new Set(request.linkedids);
      yield* ordered(
        (row) => row.id >= request.fromId && row.id <= request.toId && linkedids.has(row.linkedid) && !inGaps(row.id, request.skip),
        signal, true,
      );
    },
  };
}

/** The ordering stage: the first window decides whether the file's ids are usable, then a sorted window orders. */
class IdOrder {
  private first: Entry[] | undefined = [];
  private lineMode = false;
  private readonly window = new SortedWindow();
  /**
   * Rows in the window and the last REORDER_WINDOW handed on, by id: a copy arriving later is still found.
   * `emitted` is the ring of ids handed on, to forget the oldest.
   */
  private readonly known = new Map<number, Entry>();
  private readonly emitted: number[] = [];
  private emittedNext = 0;
  private highest = -Infinity;

  constructor(
    private readonly file: string,
    private readonly out: (row: CelRow) => void,
    private readonly conflict: (n: { where: string; message: string }) => void,
    private readonly report: (event: CelSourceEvent) => void,
    private readonly stats: { duplicates: number; outOfOrder: number },
  ) {}

  add(entry: Entry): void {
    if (this.first !== undefined) {
      this.first.push(entry);
      if (this.first.length >= REORDER_WINDOW) this.decide();
      return;
    }
    this.place(entry);
  }

  end(): void {
    if (this.first !== undefined) this.decide();
    while (this.window.size > 0) this.emit();
  }

  private decide(): void {
    const entries = this.first as Entry[];
    this.first = undefined;
    const seen = new Map<number, Entry>();
    let conflicts = 0;
    let example: [Entry, Entry] | undefined;
    for (const e of entries) {
      const prev = seen.get(e.row.id);
      if (prev === undefined) seen.set(e.row.id, e);
      else if (!sameRow(prev.row, e.row)) {
        conflicts++;
        example ??= [prev, e];
      }
    }
    if (example !== undefined && conflicts >= 2 && conflicts * 100 >= entries.length) {
      this.lineMode = true;
      const [a, b] = example;
      this.report({
        level: 'warn', code: 'CEL_ID_CONFLICT',
        message: `${this.file}: ids are not unique (${conflicts} of the first ${entries.length} rows reuse an id with different content, e.g. lines ${a.line} and ${b.line} both have id ${a.row.id}); the file's ids are ignored: rows are read in file order with their line numbers as ids`,
      });
    }
    for (const e of entries) this.place(e);
  }

  private place(entry: Entry): void {
    const row = entry.row;
    if (this.lineMode) {
      this.out(row.id === entry.line ? row : { ...row, id: entry.line });
      return;
    }
    if (row.id < this.highest) this.stats.outOfOrder++;
    else this.highest = row.id;
    const prev = this.known.get(row.id);
    if (prev !== undefined) {
      this.stats.duplicates++;
      if (!sameRow(prev.row, row)) {
        this.conflict({
          where: `line ${entry.line}`,
          message: `${this.file}:line ${entry.line}: id ${row.id} is already the id of line ${prev.line}, a different row; this one is dropped (the first row with an id wins)`,
        });
      }
      return;
    }
    this.known.set(row.id, entry);
    this.window.push(entry);
    if (this.window.size > REORDER_WINDOW) this.emit();
  }

  private emit(): void {
    const e = this.window.shift();
    // Remember the id for another REORDER_WINDOW rows, then forget the oldest.
    if (this.emitted.length < REORDER_WINDOW) this.emitted.push(e.row.id);
    else {
      const old = this.emitted[this.emittedNext]!;
      const kept = this.known.get(old);
      if (kept !== undefined && kept !== e && !this.window.has(kept)) this.known.delete(old);
      this.emitted[this.emittedNext] = e.row.id;
      this.emittedNext = (this.emittedNext + 1) % REORDER_WINDOW;
    }
    this.out(e.row);
  }
}

function sameRow(a: CelRow, b: CelRow): boolean {
  for (const c of CEL_COLUMNS) if (a[c] !== b[c]) return false;
  return true;
}

/**
 * Entries kept sorted by (id, line). A file in id order only ever appends (O(1)); a row out of order is
 * inserted by binary search, which costs a move of the rows after it, rare by nature.
 */
class SortedWindow {
  private items: Entry[] = [];
  private head = 0;
  private readonly inside = new Set<Entry>();

  get size(): number {
    return this.items.length - this.head;
  }

  has(e: Entry): boolean {
    return this.inside.has(e);
  }

  push(e: Entry): void {
    const a = this.items;
    this.inside.add(e);
    const last = a[a.length - 1];
    if (a.length === this.head || last === undefined || !less(e, last)) {
      a.push(e);
      return;
    }
    let lo = this.head;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (less(e, a[mid]!)) hi = mid;
      else lo = mid + 1;
    }
    a.splice(lo, 0, e);
  }

  shift(): Entry {
    const e = this.items[this.head++] as Entry;
    this.inside.delete(e);
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.row.id < b.row.id || (a.row.id === b.row.id && a.line < b.line);
}
