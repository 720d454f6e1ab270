// The two SQL engines the connector store runs on (embedded SQLite for the demo and small sites,
// MariaDB in production) behind one narrow driver, so the store itself is written once: the same
// statements, the same transactions, the same tests against both. Only the few places where the
// dialects differ (column types, upsert, insert-if-absent) go through `Dialect`.

export type SqlValue = string | number | bigint | Buffer | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlExecutor {
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** `changes`: rows inserted/updated/deleted (for MariaDB: affectedRows). */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: Dialect;
  /** Human-readable location without secrets, e.g. `sqlite /tmp/x.sqlite` or `mariadb 127.0.0.1:3306/callhook`. */
  readonly description: string;
  /**
   * Runs `work` in one transaction: everything it wrote is committed together or not at all. Transactions
   * never interleave on one connection (SQLite: one at a time; MariaDB: each on its own pooled connection).
   */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface Dialect {
  readonly name: 'sqlite' | 'mariadb';
  /** Column types by role. */
  readonly types: { key: string; text: string; blob: string; int: string; autoId: string };
  /** INSERT … that updates `update` columns when a row with the same primary/unique key exists. */
  upsert(table: string, columns: readonly string[], update: readonly string[]): string;
  /** INSERT … that does nothing when a row with the same primary/unique key exists. */
  insertIfAbsent(table: string, columns: readonly string[]): string;
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export const SQLITE_DIALECT: Dialect = {
  name: 'sqlite',
  types: { key: 'TEXT', text: 'TEXT', blob: 'BLOB', int: 'INTEGER', autoId: 'INTEGER PRIMARY KEY AUTOINCREMENT' },
  upsert: (table, columns, update) =>
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)}) ` +
    `ON CONFLICT DO UPDATE SET ${update.map((c) => `${c} = excluded.${c}`).join(', ')}`,
  insertIfAbsent: (table, columns) => `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)})`,
};

export const MARIADB_DIALECT: Dialect = {
  name: 'mariadb',
  // Keys are bounded so composite primary keys stay within InnoDB's 3072-byte index limit in utf8mb4.
  types: { key: 'VARCHAR(191)', text: 'LONGTEXT', blob: 'LONGBLOB', int: 'BIGINT', autoId: 'BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY' },
  upsert: (table, columns, update) =>
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)}) ` +
    `ON DUPLICATE KEY UPDATE ${update.map((c) => `${c} = VALUES(${c})`).join(', ')}`,
  insertIfAbsent: (table, columns) => `INSERT IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${placeholders(columns.length)})`,
};

/** Reads a column that holds an integer (SQLite may hand back bigint, MariaDB a string for BIGINT). */
export function intOf(value: SqlValue | undefined): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '') return Number(value);
  return 0;
}

export function textOf(value: SqlValue | undefined): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value === null || value === undefined) return '';
  return String(value);
}

export function nullableIntOf(value: SqlValue | undefined): number | null {
  return value === null || value === undefined ? null : intOf(value);
}
