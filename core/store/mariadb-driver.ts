// The production engine: the connector's own database on a MariaDB/MySQL server (never the PBX's
// database). A small pool: each transaction takes its own connection, so calls processed in parallel
// commit in parallel; a lost connection is replaced by the pool on the next statement.
import mysql from 'mysql2/promise';
import { MARIADB_DIALECT, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql.js';

export interface MariaDbDriverOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Pooled connections (default 4). */
  connections?: number;
  /**
   * The server kills a connection whose transaction stays idle this long (s): a frozen process (SIGSTOP)
   * in the middle of a transaction would otherwise hold its row locks (the lease row's among them) until
   * it resumes, and no standby could take over. 0 = the server's default (none).
   */
  idleTransactionTimeoutS?: number;
  /** innodb_lock_wait_timeout for this pool's sessions (s); 0 = the server's default. */
  lockWaitTimeoutS?: number;
}

/** Errors of a lost or killed connection: the statement did not happen, or (at COMMIT) may have. */
const CONNECTION_ERRORS = new Set([
  'PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
]);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERRORS.has(code);
}

/**
 * Runs `work` again when the connection was lost (killed, server restarted, a deadlock victim). Every
 * statement the store runs is idempotent (upserts, inserts-if-absent, updates by key), so a transaction
 * whose COMMIT may or may not have landed can simply run again.
 */
async function withReconnect<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConnectionError(error) || attempt >= RECONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

const RECONNECT_ATTEMPTS = 5;

function executor(conn: mysql.Pool | mysql.PoolConnection): SqlExecutor {
  return {
    async all(sql, params = []) {
      const [rows] = await conn.query(sql, params as SqlValue[]);
      return Array.isArray(rows) ? (rows as SqlRow[]) : [];
    },
    async run(sql, params = []) {
      const [result] = await conn.query(sql, params as SqlValue[]);
      const affected = (result as { affectedRows?: number }).affectedRows;
      return { changes: typeof affected === 'number' ? affected : 0 };
    },
  };
}

export async function openMariaDbDriver(options: MariaDbDriverOptions): Promise<SqlDriver> {
  const base = { host: options.host, port: options.port, user: options.user, password: options.password };
  // The database is created first on a plain connection, so the pool can name it.
  await withReconnect(async () => {
    const setup = await mysql.createConnection(base);
    setup.on('error', () => undefined);
    try {
      await setup.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(options.database)} CHARACTER SET utf8mb4`);
    } finally {
      setup.destroy();
    }
  });
  const pool = mysql.createPool({
    ...base,
    database: options.database,
    connectionLimit: options.connections ?? 4,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4',
  });
  const session: string[] = [];
  if ((options.idleTransactionTimeoutS ?? 0) > 0) session.push(`idle_transaction_timeout = ${Math.ceil(options.idleTransactionTimeoutS!)}`);
  if ((options.lockWaitTimeoutS ?? 0) > 0) session.push(`innodb_lock_wait_timeout = ${Math.ceil(options.lockWaitTimeoutS!)}`);
  pool.on('connection', (conn) => {
    conn.on('error', () => undefined);
    // Queued by the connection before any statement of the pool's user runs on it.
    // (The event hands over the callback-style connection, whatever mysql2/promise's types say.)
    if (session.length > 0) (conn as unknown as { query(sql: string, done: (error: unknown) => void): unknown }).query(`SET SESSION ${session.join(', ')}`, () => undefined);
  });
  const plain = executor(pool);
  return {
    dialect: MARIADB_DIALECT,
    description: `mariadb ${options.host}:${options.port}/${options.database}`,
    all: (sql, params) => withReconnect(() => plain.all(sql, params)),
    run: (sql, params) => withReconnect(() => plain.run(sql, params)),
    transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return withReconnect(async () => {
        const conn = await pool.getConnection();
        let broken = false;
        try {
          await conn.beginTransaction();
          const result = await work(executor(conn));
          await conn.commit();
          return result;
        } catch (error) {
          broken = isConnectionError(error);
          if (!broken) await conn.rollback().catch(() => undefined);
          throw error;
        } finally {
          // A connection that broke mid-transaction is not handed to the next caller.
          if (broken) conn.destroy();
          else conn.release();
        }
      });
    },
    async close() {
      await pool.end();
    },
  };
}
