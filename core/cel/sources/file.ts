// CEL rows from a file: JSON Lines (`.jsonl`, `.ndjson`, `.json`) or CSV with the same header (`.csv`);
// other extensions are sniffed from the first non-blank character. Read line by line in constant memory.
// A file that is not CEL text at all (compressed, binary, UTF-16, empty, a JSON array, a CSV without
// header) is refused with one CelFileError saying what it looks like, instead of a rejected line per line.
// Messages name the file as the caller gave the path: `<path>:line <n>: …`.
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { CelRow } from '../row.js';
import { CsvParser, type CsvRecord } from './csv.js';
import { readLines } from './file-lines.js';
import { sniffFile } from './file-sniff.js';
import { parseCelJsonLineDetailed } from './jsonl.js';
import { normalizeCelRecord, type NormalizedRow } from './normalize.js';
import { CelFileError, CelParseError, escapeControls, printable, type CelSourceEventCode, type CelSourceStats } from './source.js';

export type CelFileFormat = 'jsonl' | 'csv';

/** A row that was kept but is odd; reported as a warning (the replay source summarises them per batch). */
export interface CelFileNote {
  code: Extract<CelSourceEventCode, 'CEL_NULL_FIELDS' | 'CEL_BAD_ENCODING' | 'CEL_ODD_VALUE' | 'CEL_MISSING_COLUMNS'>;
  line: number;
  message: string;
  /** For a summary: what to name the row by, e.g. "line 12", and the detail, e.g. "cid_num". */
  where: string;
  detail?: string;
}

export interface ReadCelFileOptions {
  /** Called for every line that is skipped; the message names file:line and the field. */
  onBadLine?(info: { line: number; message: string }): void;
  /** Called for rows kept with a problem (null fields, bytes that are not UTF-8, extra that is not text), and once for absent columns. */
  onNote?(note: CelFileNote): void;
  /** Force a format instead of deciding by extension / content. */
  format?: CelFileFormat;
  /** Counters to update (rowsRead, badLines, missingFields, nullFields, badEncoding). */
  stats?: CelSourceStats;
}

/** Rows in file order (not sorted; see createReplaySource for id order). Bad lines are skipped. */
export async function* readCelFile(file: string, options: ReadCelFileOptions = {}): AsyncGenerator<CelRow> {
  for await (const entry of readCelEntries(file, options)) yield entry.row;
}

/** A row and the physical line it starts on. */
export interface CelFileEntry {
  row: CelRow;
  line: number;
}

/** readCelFile with the line of each row (the replay source orders by id and falls back to lines). */
export async function* readCelEntries(file: string, options: ReadCelFileOptions = {}): AsyncGenerator<CelFileEntry> {
  const head = await readHead(file);
  const format = options.format ?? detectFormat(file, head);
  const problem = sniffFile(head);
  if (problem !== undefined && (format === 'jsonl' || (problem.kind !== 'json-array' && problem.kind !== 'pretty-json'))) {
    throw new CelFileError(`${file}: ${problem.message}`);
  }
  const stats = options.stats;
  const absent = new Map<string, number>();
  const bad = (error: unknown, line: number): void => {
    const message = error instanceof CelParseError ? error.withFile(file).message : `${file}:line ${line}: ${String(error)}`;
    if (stats) stats.badLines++;
    options.onBadLine?.({ line, message: escapeControls(message) });
  };
  const note = (n: CelFileNote): void => options.onNote?.(n);
  const accept = (result: NormalizedRow, line: number, badUtf8: boolean): CelFileEntry => {
    const row = result.row;
    if (stats) {
      stats.rowsRead++;
      stats.missingFields += result.missing.length;
    }
    for (const column of result.missing) if (!result.nulls.includes(column)) absent.set(column, (absent.get(column) ?? 0) + 1);
    const id = row.id === line ? '' : ` (id ${row.id})`;
    if (result.nulls.length > 0) {
      if (stats) stats.nullFields++;
      const fields = result.nulls.join(', ');
      note({ code: 'CEL_NULL_FIELDS', line, where: `line ${line}`, detail: fields, message: `${file}:line ${line}${id}: ${fields} ${result.nulls.length === 1 ? 'is' : 'are'} null; read as ''` });
    }
    if (badUtf8) {
      if (stats) stats.badEncoding++;
      note({ code: 'CEL_BAD_ENCODING', line, where: `line ${line}`, message: `${file}:line ${line}${id}: bytes that are not UTF-8, replaced with U+FFFD (is the file in another encoding?)` });
    }
    for (const text of result.notes) note({ code: 'CEL_ODD_VALUE', line, where: `line ${line}`, message: `${file}:line ${line}${id}: ${text}` });
    return { row, line };
  };

  if (format === 'jsonl') {
    for await (const line of readLines(file)) {
      if (line.tooLong) {
        bad(new CelParseError(line.no, undefined, 'is longer than 1 MiB; not a CEL row'), line.no);
        continue;
      }
      const text = line.no === 1 ? stripBom(line.text) : line.text;
      if (text.trim() === '') continue;
      let result: NormalizedRow;
      try {
        result = parseCelJsonLineDetailed(text, line.no);
      } catch (error) {
        bad(error, line.no);
        continue;
      }
      yield accept(result, line.no, line.badUtf8);
    }
  } else {
    yield* readCsv(file, bad, accept);
  }
  if (absent.size > 0) {
    const list = [...absent].map(([column, n]) => `${column} (${n} rows)`).join(', ');
    note({ code: 'CEL_MISSING_COLUMNS', line: 0, where: file, message: `${file}: columns absent from rows and read as '': ${list}` });
  }
}

async function* readCsv(
  file: string,
  bad: (error: unknown, line: number) => void,
  accept: (result: NormalizedRow, line: number, badUtf8: boolean) => CelFileEntry,
): AsyncGenerator<CelFileEntry> {
  const parser = new CsvParser();
  let header: string[] | undefined;
  const badLines = new Set<number>();
  const rows = function* (records: CsvRecord[]): Generator<CelFileEntry> {
    for (const record of records) {
      const span = record.endLine === undefined ? '' : ` (lines ${record.line}–${record.endLine})`;
      if (header === undefined) {
        const names = record.fields.map((f, i) => (i === 0 ? stripBom(f) : f).trim());
        if (record.error !== undefined || !names.includes('eventtype')) {
          // Without the header no record can be read: said once, with what was found, for the whole file.
          throw new CelFileError(`${file}:line ${record.line}: the first line must be the CSV header naming the columns (eventtype, eventtime, uniqueid, linkedid, …); found ${printable(names.join(','), 120)}`);
        }
        header = names;
        parser.expectFields = names.length;
        continue;
      }
      if (record.error !== undefined) {
        bad(new CelParseError(record.line, undefined, record.error + span), record.line);
        continue;
      }
      if (record.fields.length !== header.length) {
        const hint = span === '' ? '' : `${span}: a quoted field may be missing its closing \`"\``;
        bad(new CelParseError(record.line, undefined, `has ${record.fields.length} fields, the header has ${header.length}${hint}`), record.line);
        continue;
      }
      const object: Record<string, string> = {};
      header.forEach((column, i) => {
        object[column] = record.fields[i] as string;
      });
      let result: NormalizedRow;
      try {
        result = normalizeCelRecord(object, record.line, record.line);
      } catch (error) {
        bad(error, record.line);
        continue;
      }
      let badUtf8 = false;
      for (let l = record.line; l <= (record.endLine ?? record.line); l++) if (badLines.delete(l)) badUtf8 = true;
      yield accept(result, record.line, badUtf8);
    }
  };
  for await (const line of readLines(file)) {
    if (line.tooLong) {
      bad(new CelParseError(line.no, undefined, 'is longer than 1 MiB; not a CSV record'), line.no);
      yield* rows(parser.push('\n'));
      continue;
    }
    if (line.badUtf8) badLines.add(line.no);
    yield* rows(parser.push(`${line.text}\n`));
  }
  yield* rows(parser.end());
}

async function readHead(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function detectFormat(file: string, head: Uint8Array): CelFileFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.csv') return 'csv';
  const first = stripBom(Buffer.from(head).toString('utf8')).trimStart()[0];
  return first === '{' || first === '[' ? 'jsonl' : 'csv';
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
