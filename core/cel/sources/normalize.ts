// Turns one loosely typed record (a parsed JSON line, a CSV record, a stored pending row) into the
// exact CelRow shape. One place owns the rules so that every source produces identical rows:
//   - a missing (absent) text column becomes '' and a missing amaflags becomes 0; both are counted;
//   - a null value becomes '' / 0 too, but is listed in `nulls` so the source warns about it (a NULL
//     where a value belongs changes the call: a lost channel name or exten);
//   - `extra` stays the raw JSON text (an object given by a hand-written file is re-serialised); a number
//     or boolean is kept as its text and noted, like broken extra text (the assembler warns when it reads it);
//   - `eventtime` is `YYYY-MM-DD HH:MM:SS[.ffffff]`; an ISO `T` separator is accepted and replaced;
//   - unknown keys (`scenario`, `seq`, …) are allowed and ignored.
import { CEL_COLUMNS, type CelRow } from '../row.js';
import { CelParseError } from './source.js';

const EVENTTIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)$/;

export interface NormalizedRow {
  row: CelRow;
  /** Columns that were absent or null and got their default value. */
  missing: string[];
  /** The subset of `missing` that was present with the value null. */
  nulls: string[];
  /** Values that were kept although odd (reported by the source as warnings). */
  notes: string[];
}

/**
 * @param record the parsed object; values may be strings, numbers or null (CSV gives only strings)
 * @param fallbackId id to use when the record has none (the line number for files)
 * @param line reported in errors
 */
export function normalizeCelRecord(record: Readonly<Record<string, unknown>>, fallbackId: number, line: number): NormalizedRow {
  const missing: string[] = [];
  const nulls: string[] = [];
  const notes: string[] = [];
  const id = parseId(record.id, fallbackId, line);
  const quick = quickRow(record, id);
  if (quick !== undefined) return { row: quick, missing, nulls, notes };
  const row = { id } as CelRow;
  for (const column of CEL_COLUMNS) {
    const value = record[column];
    if (value === undefined || value === null) {
      if (column === 'eventtype') {
        throw new CelParseError(line, 'eventtype', value === null ? 'is null; every CEL row names its event' : 'is missing; every CEL row names its event');
      }
      missing.push(column);
      if (value === null) nulls.push(column);
      if (column === 'amaflags') row.amaflags = 0;
      else row[column] = '';
      continue;
    }
    if (column === 'amaflags') row.amaflags = parseAmaflags(value, line);
    else if (column === 'extra') row.extra = extraText(value, line, notes);
    else if (column === 'eventtime') row.eventtime = eventtimeText(value, line);
    else row[column] = text(value, column, line);
  }
  if (row.eventtype === '') throw new CelParseError(line, 'eventtype', 'is empty; every CEL row names its event');
  return { row, missing, nulls, notes };
}

const str = (v: unknown): v is string => typeof v === 'string';

/**
 * The usual record (every column a string, amaflags a number, eventtime already in Asterisk's form) as one
 * object literal in CelRow's order: all rows share one hidden class and nothing is checked twice.
 * Anything else returns undefined and takes the general path, which explains what is wrong.
 */
function quickRow(r: Readonly<Record<string, unknown>>, id: number): CelRow | undefined {
  const { eventtype, eventtime, amaflags } = r;
  if (!str(eventtype) || eventtype === '' || !str(eventtime) || !QUICK_TIME.test(eventtime) || typeof amaflags !== 'number' || !Number.isInteger(amaflags)) return undefined;
  const { cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame, appname, appdata, accountcode, peeraccount, uniqueid, linkedid, userfield, peer, userdeftype, extra } = r;
  if (!str(cid_name) || !str(cid_num) || !str(cid_ani) || !str(cid_rdnis) || !str(cid_dnid) || !str(exten) || !str(context) || !str(channame)
    || !str(appname) || !str(appdata) || !str(accountcode) || !str(peeraccount) || !str(uniqueid) || !str(linkedid) || !str(userfield)
    || !str(peer) || !str(userdeftype) || !str(extra)) return undefined;
  return {
    id, eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame, appname, appdata, amaflags,
    accountcode, peeraccount, uniqueid, linkedid, userfield, peer, userdeftype, extra,
  };
}

/** eventtime exactly as Asterisk writes it (space separator): taken as it is. */
const QUICK_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?$/;

function parseId(value: unknown, fallbackId: number, line: number): number {
  if (value === undefined || value === null || value === '') return fallbackId;
  const id = typeof value === 'string' ? Number(value) : value;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new CelParseError(line, 'id', `must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return id;
}

function parseAmaflags(value: unknown, line: number): number {
  if (value === '') return 0;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new CelParseError(line, 'amaflags', `must be an integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

function text(value: unknown, field: string, line: number): string {
  if (typeof value === 'string') return value;
  // Tools that write CEL by hand sometimes emit numbers for cid_num/exten; the meaning is the same.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new CelParseError(line, field, `must be a string, got ${describe(value)}`);
}

function extraText(value: unknown, line: number, notes: string[]): string {
  if (typeof value === 'string') return value;
  // A hand-written file may inline the JSON object instead of the string Asterisk writes.
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') {
    // Not what Asterisk writes, but no reason to lose the row: kept as text, like broken extra text.
    notes.push(`field 'extra' is a ${typeof value} (${String(value)}), not JSON text; kept as the text ${JSON.stringify(String(value))}`);
    return String(value);
  }
  throw new CelParseError(line, 'extra', `must be the JSON text (a string) or an object, got ${describe(value)}`);
}

function eventtimeText(value: unknown, line: number): string {
  if (typeof value !== 'string') throw new CelParseError(line, 'eventtime', `must be a string, got ${describe(value)}`);
  if (value === '') return '';
  const match = EVENTTIME.exec(value);
  if (match === null) {
    throw new CelParseError(line, 'eventtime', `must look like 'YYYY-MM-DD HH:MM:SS[.ffffff]', got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return `${match[1]} ${match[2]}`;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value;
}
