// CEL rows from a file: JSON Lines (`.jsonl`, `.ndjson`) or CSV with the same header (`.csv`); other
// extensions are sniffed from the first non-blank character. Powers the demo, tests and `callhook replay`.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import type { CelRow } from '../row.js';
import { CsvParser, type CsvRecord } from './csv.js';
import { parseCelJsonLineDetailed } from './jsonl.js';
import { normalizeCelRecord, type NormalizedRow } from './normalize.js';
import {
  CelParseError, emptyStats, type CelBatchOptions, type CelSource, type CelSourceEventHandler, type CelSourceStats,
} from './source.js';

export type CelFileFormat = 'jsonl' | 'csv';

export interface ReadCelFileOptions {
  /** Called for every line that is skipped; the message names file:line and the field. */
  onBadLine?(info: { line: number; message: string }): void;
  /** Force a format instead of deciding by extension / content. */
  format?: CelFileFormat;
  /** Counters to update (rowsRead, badLines, missingFields). */
  stats?: CelSourceStats;
}

/** Rows in file order (not sorted; see createReplaySource for id order). Bad lines are skipped. */
export async function* readCelFile(file: string, options: ReadCelFileOptions = {}): AsyncGenerator<CelRow> {
  const format = options.format ?? (await detectFormat(file));
  const stats = options.stats;
  const name = path.basename(file);
  const bad = (error: unknown, line: number): void => {
    const message = error instanceof CelParseError ? error.withFile(name).message : `${name}:line ${line}: ${String(error)}`;
    if (stats) stats.badLines++;
    options.onBadLine?.({ line, message });
  };
  const accept = (result: NormalizedRow): CelRow => {
    if (stats) {
      stats.rowsRead++;
      stats.missingFields += result.missing.length;
    }
    return result.row;
  };
  if (format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
    let lineNo = 0;
    for await (const raw of lines) {
      lineNo++;
      const text = lineNo === 1 ? stripBom(raw) : raw;
      if (text.trim() === '') continue;
      let result: NormalizedRow;
      try {
        result = parseCelJsonLineDetailed(text, lineNo);
      } catch (error) {
        bad(error, lineNo);
        continue;
      }
      yield accept(result);
    }
    return;
  }
  const parser = new CsvParser();
  let header: string[] | undefined;
  const rows = function* (records: CsvRecord[]): Generator<CelRow> {
    for (const record of records) {
      if (record.error !== undefined) {
        bad(new CelParseError(record.line, undefined, record.error), record.line);
        continue;
      }
      if (header === undefined) {
        header = record.fields.map((f, i) => (i === 0 ? stripBom(f) : f).trim());
        if (!header.includes('eventtype')) {
          bad(new CelParseError(record.line, 'eventtype', 'the CSV header has no eventtype column; the first record must name the columns'), record.line);
          header = undefined;
        }
        continue;
      }
      if (record.fields.length !== header.length) {
        bad(new CelParseError(record.line, undefined, `has ${record.fields.length} fields, the header has ${header.length}`), record.line);
        continue;
      }
      const object: Record<string, string> = {};
      header.forEach((column, i) => {
        object[column] = record.fields[i] as string;
      });
      try {
        yield accept(normalizeCelRecord(object, record.line, record.line));
      } catch (error) {
        bad(error, record.line);
      }
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    yield* rows(parser.push(chunk as string));
  }
  yield* rows(parser.end());
}

async function detectFormat(file: string): Promise<CelFileFormat> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const first = stripBom(buffer.subarray(0, bytesRead).toString('utf8')).trimStart()[0];
    return first === '{' ? 'jsonl' : 'csv';
  } finally {
    await handle.close();
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export interface ReplaySourceOptions {
  path: string;
  /** Rows per batch (default 500). */
  batchSize?: number;
  format?: CelFileFormat;
  onEvent?: CelSourceEventHandler;
}

/**
 * A finite CelSource over a file. Rows are put into id order and duplicate ids dropped (both counted),
 * because a table source guarantees that order and the assembler relies on it. The file is read
 * whole before the first batch: replay files are demo/test sized.
 */
export function createReplaySource(options: ReplaySourceOptions): CelSource {
  const stats = emptyStats();
  const batchSize = Math.max(1, options.batchSize ?? 500);
  return {
    description: `replay ${options.path}`,
    stats,
    async close() {},
    async *batches(signal?: AbortSignal, batchOptions: CelBatchOptions = {}) {
      const afterId = batchOptions.afterId ?? 0;
      const rows: CelRow[] = [];
      const fileStats = emptyStats();
      let highest = -Infinity;
      let ordered = true;
      for await (const row of readCelFile(options.path, {
        stats: fileStats,
        ...(options.format ? { format: options.format } : {}),
        onBadLine: (info) => options.onEvent?.({ level: 'warn', code: 'CEL_BAD_LINE', message: info.message }),
      })) {
        if (row.id < highest) {
          ordered = false;
          stats.outOfOrder++;
        }
        highest = Math.max(highest, row.id);
        rows.push(row);
      }
      stats.badLines += fileStats.badLines;
      stats.missingFields += fileStats.missingFields;
      if (!ordered) rows.sort((a, b) => a.id - b.id); // Array.prototype.sort is stable: the first copy of an id wins
      let batch: CelRow[] = [];
      let lastId = -Infinity;
      for (const row of rows) {
        if (signal?.aborted) return;
        if (row.id === lastId) {
          stats.duplicates++;
          continue;
        }
        lastId = row.id;
        if (row.id <= afterId) continue;
        batch.push(row);
        if (batch.length >= batchSize) {
          stats.rowsRead += batch.length;
          stats.batches++;
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0 && !signal?.aborted) {
        stats.rowsRead += batch.length;
        stats.batches++;
        yield batch;
      }
    },
  };
}
