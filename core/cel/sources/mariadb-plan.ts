// What the MariaDB source learns about a CEL table (information_schema) and the SELECTs it runs on it.
// Every CEL field is selected in CEL_COLUMNS order as text or NULL (amaflags: integer or NULL), then one
// more value: a bit mask of the fields that were SQL NULL in a nullable column or not UTF-8 in a binary
// one (0 for tables without such columns, which costs nothing). Rows come as arrays (rowsAsArray) and
// toCelRow builds the one object per row mysql2 would otherwise build.
import mysql from 'mysql2/promise';
import { CEL_COLUMNS, type CelRow } from '../row.js';

export type CelColumn = (typeof CEL_COLUMNS)[number];

/** Asterisk's numeric event codes (enum ast_cel_event_type), for tables whose eventtype column is an integer. */
const EVENT_NAMES: Readonly<Record<number, string>> = {
  1: 'CHAN_START', 2: 'CHAN_END', 3: 'HANGUP', 4: 'ANSWER', 5: 'APP_START', 6: 'APP_END', 7: 'BRIDGE_ENTER',
  8: 'BRIDGE_EXIT', 9: 'PARK_START', 10: 'PARK_END', 11: 'BLINDTRANSFER', 12: 'ATTENDEDTRANSFER', 13: 'USER_DEFINED',
  14: 'LINKEDID_END', 15: 'PICKUP', 16: 'FORWARD', 17: 'LOCAL_OPTIMIZE', 18: 'LOCAL_OPTIMIZE_BEGIN',
  19: 'STREAM_BEGIN', 20: 'STREAM_END', 21: 'DTMF',
};

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

export interface TableColumn {
  name: string;
  type: string;
  nullable: boolean;
}

/** One bit of the mask: which field, and whether it says "was NULL" or "was not UTF-8". */
export interface MaskBit {
  field: CelColumn;
  kind: 'null' | 'encoding';
}

export interface QueryPlan {
  /** One page from the cursor row on: `id >= ? ORDER BY id LIMIT ?` (the cursor row checks the table is the same). */
  pageSql: string;
  /** A backlog range, streamed: `id >= ? AND id <= ? ORDER BY id`. */
  rangeSql: string;
  /** The rows of some id ranges (watched gaps): built per call by rangesSql(). */
  selectFrom: string;
  idColumn: string;
  /** The newest row (its eventtime is the table's clock). */
  headSql: string;
  maxIdSql: string;
  /** One row by id. */
  rowSql: string;
  missing: string[];
  mask: MaskBit[];
  /** @@auto_increment_increment: ids of consecutive inserts differ by this (1 unless Galera-style clusters). */
  idStep: number;
}

/** The selected values (rowsAsArray, in the order id, ...CEL_COLUMNS, mask) → a CelRow; NULL → '' / 0. */
export type SelectedValues = [
  number, string | null, string | null, string | null, string | null, string | null, string | null, string | null,
  string | null, string | null, string | null, string | null, string | null, number | null, string | null,
  string | null, string | null, string | null, string | null, string | null, string | null, string | null, number,
];

export function toCelRow(v: SelectedValues): CelRow {
  // One object literal with every field in CelRow's order, so all rows share one hidden class.
  return {
    id: v[0], eventtype: v[1] ?? '', eventtime: v[2] ?? '', cid_name: v[3] ?? '', cid_num: v[4] ?? '', cid_ani: v[5] ?? '',
    cid_rdnis: v[6] ?? '', cid_dnid: v[7] ?? '', exten: v[8] ?? '', context: v[9] ?? '', channame: v[10] ?? '',
    appname: v[11] ?? '', appdata: v[12] ?? '', amaflags: v[13] ?? 0, accountcode: v[14] ?? '', peeraccount: v[15] ?? '',
    uniqueid: v[16] ?? '', linkedid: v[17] ?? '', userfield: v[18] ?? '', peer: v[19] ?? '', userdeftype: v[20] ?? '',
    extra: v[21] ?? '',
  };
}

export const MASK_INDEX = 22;

/**
 * The SQL expression that yields one CelRow field from whatever column type the table uses: text as
 * is, temporal/numeric/binary cast to text (so no time-zone shifting of eventtime: it stays the PBX's
 * local time as written). Empty text, NULL and absent columns all come back as SQL NULL and become
 * '' (amaflags 0) in toCelRow: a NULL is one byte on the wire that mysql2 hands over without decoding,
 * while every '' costs it a native string call. Most CEL rows have 5–10 empty fields, so this takes
 * about a third off the client's decoding time (bench/cel-ingest). LENGTH() = 0, not `= ''`: with the
 * usual PAD SPACE collations `' ' = ''` is true, and a value of spaces must stay as it is.
 * (A real NULL is told apart from '' by the mask, see maskExpression.)
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

/** The mask bits a column contributes: NULL in a nullable column, bytes lost converting a binary one to UTF-8. */
function maskTerms(field: CelColumn, column: TableColumn | undefined, bits: MaskBit[]): string[] {
  if (column === undefined) return [];
  const name = mysql.escapeId(column.name);
  const terms: string[] = [];
  if (column.nullable) {
    terms.push(`((${name} IS NULL) << ${bits.length})`);
    bits.push({ field, kind: 'null' });
  }
  if (BINARY_TYPES.has(column.type) && field !== 'amaflags') {
    terms.push(`(COALESCE(CAST(CONVERT(${name} USING utf8mb4) AS BINARY) <> ${name}, 0) << ${bits.length})`);
    bits.push({ field, kind: 'encoding' });
  }
  return terms;
}

export class TableMissingError extends Error {}

export async function discover(
  conn: mysql.Connection, database: string, table: string, aliases: Partial<Record<CelColumn | 'id', string>>,
): Promise<QueryPlan> {
  const [columnRows] = await conn.query(
    'SELECT COLUMN_NAME AS name, DATA_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
  );
  const columns = new Map<string, TableColumn>();
  for (const row of columnRows as Array<{ name: unknown; type: unknown; nullable: unknown }>) {
    columns.set(String(row.name).toLowerCase(), { name: String(row.name), type: String(row.type).toLowerCase(), nullable: row.nullable === 'YES' });
  }
  if (columns.size === 0) throw new TableMissingError(`table ${database}.${table} does not exist (or this user may not read it)`);
  const [stepRows] = await conn.query('SELECT @@auto_increment_increment AS step');
  const step = Number((stepRows as Array<{ step: unknown }>)[0]?.step ?? 1);

  const idColumn = columns.get((aliases.id ?? 'id').toLowerCase());
  if (idColumn === undefined) throw new TableMissingError(`table ${database}.${table} has no '${aliases.id ?? 'id'}' column to order by`);
  const id = mysql.escapeId(idColumn.name);
  const selected: string[] = [`${id} AS id`];
  const missing: string[] = [];
  const mask: MaskBit[] = [];
  const maskParts: string[] = [];
  for (const field of CEL_COLUMNS) {
    let column = columns.get((aliases[field] ?? field).toLowerCase());
    if (column === undefined && field === 'extra' && aliases.extra === undefined) {
      // Issabel names it eventextra; cel_odbc fills it only with `alias extra => eventextra`.
      column = columns.get('eventextra');
    }
    if (column === undefined) missing.push(field);
    selected.push(`${selectExpression(field, column, columns)} AS ${mysql.escapeId(field)}`);
    maskParts.push(...maskTerms(field, column, mask));
  }
  if (missing.includes('eventtype')) throw new TableMissingError(`table ${database}.${table} has no eventtype column`);
  selected.push(`${maskParts.length === 0 ? '0' : maskParts.join(' | ')} AS \`_mask\``);
  const from = `${mysql.escapeId(database)}.${mysql.escapeId(table)}`;
  const select = `SELECT ${selected.join(', ')} FROM ${from}`;
  return {
    pageSql: `${select} WHERE ${id} >= ? ORDER BY ${id} LIMIT ?`,
    rangeSql: `${select} WHERE ${id} >= ? AND ${id} <= ? ORDER BY ${id}`,
    selectFrom: select,
    idColumn: id,
    headSql: `${select} ORDER BY ${id} DESC LIMIT 1`,
    maxIdSql: `SELECT MAX(${id}) AS maxId FROM ${from}`,
    rowSql: `${select} WHERE ${id} = ?`,
    missing, mask, idStep: Number.isSafeInteger(step) && step > 0 ? step : 1,
  };
}

/** `SELECT … WHERE id BETWEEN a AND b OR …`: the rows of some id ranges, in id order. */
export function rangesSql(plan: QueryPlan, ranges: ReadonlyArray<{ from: number; to: number }>): { sql: string; values: number[] } {
  const values: number[] = [];
  const terms = ranges.map((r) => {
    values.push(r.from, r.to);
    return `${plan.idColumn} BETWEEN ? AND ?`;
  });
  return { sql: `${plan.selectFrom} WHERE ${terms.join(' OR ')} ORDER BY ${plan.idColumn}`, values };
}
