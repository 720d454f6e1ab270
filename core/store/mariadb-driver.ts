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
}

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
  const setup = await mysql.createConnection(base);
  try {
    await setup.query(`CREATE DATABASE IF NOT EXISTS ${mysql.escapeId(options.database)} CHARACTER SET utf8mb4`);
  } finally {
    await setup.end();
  }
  const pool = mysql.createPool({
    ...base,
    database: options.database,
    connectionLimit: options.connections ?? 4,
    supportBigNumbers: true,
    bigNumberStrings: false,
    charset: 'utf8mb4',
  });
  pool.on('connection', (conn) => conn.on('error', () => undefined));
  const plain = executor(pool);
  return {
    dialect: MARIADB_DIALECT,
    description: `mariadb ${options.host}:${options.port}/${options.database}`,
    all: plain.all,
    run: plain.run,
    async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        const result = await work(executor(conn));
        await conn.commit();
        return result;
      } catch (error) {
        await conn.rollback().catch(() => undefined);
        throw error;
      } finally {
        conn.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
