// Active/standby through the connector's own MariaDB: one lease row per PBX (`leader_leases`) with a
// fencing token. Every instance configured for the same PBX competes for it; the holder renews it every
// renew_ms, a standby takes it once it expired (by the DATABASE's clock, so the instances' clocks do not
// matter) and increments the token. Every write the leader's pipeline and CEL hand-off make checks the
// row in the same transaction (`fence`): a deposed leader's write finds another token and is rolled back
// by the database, whatever the deposed process believes. Why a lease row and not GET_LOCK: docs/failover.md.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { intOf, textOf, type SqlDriver, type SqlExecutor } from './sql.js';

export interface LeadershipSettings {
  lease_ms: number;
  renew_ms: number;
  instance: string;
}

export type Role = 'leader' | 'standby' | 'stopped';

/** What /status and /metrics show about this instance's role (see snapshot()). */
export interface LeadershipSnapshot {
  pbx: string;
  instance: string;
  role: Role;
  /** The fencing token of the current term (null when not leader). */
  token: number | null;
  /** When this instance became leader (ms, null when not). */
  leaderSince: number | null;
  /** Who holds the lease as last seen (this instance or another), and until when by the DB clock (ms). */
  holder: string | null;
  leaseMs: number;
  /** Times this instance became leader / stood down since it started. */
  terms: number;
  standDowns: number;
  /** Writes the database refused because this instance no longer held the lease. */
  refusedWrites: number;
  /** The last renewal or attempt that failed (database unreachable), null when the last one worked. */
  lastError: string | null;
}

/** The check every fenced write transaction runs first (see createConnectorStore's `fence`). */
export interface Fence {
  check(tx: SqlExecutor): Promise<void>;
}

/** A write by an instance that no longer holds the lease: rolled back, never retried. */
export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST';
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

export interface Leadership {
  readonly instance: string;
  readonly fence: Fence;
  role(): Role;
  snapshot(): LeadershipSnapshot;
  /**
   * Resolves with a signal that aborts when this term ends (lease lost or close()), once this instance
   * holds the lease; null when `signal` aborted first.
   */
  whenLeader(signal?: AbortSignal): Promise<AbortSignal | null>;
  /**
   * True while the lease is certainly still ours by the local clock (the last renewal + lease_ms − margin):
   * checked right before a CRM request is sent, so a process resumed after a freeze sends nothing.
   */
  mayAct(): boolean;
  /** Stops competing; a held lease is released (expired at once) so a standby takes over without waiting. */
  close(): Promise<void>;
}

/** The database's clock in ms: every expiry is compared on one clock, whatever the instances' clocks say. */
const DB_NOW_MS = 'CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)';

export const LEASE_TABLE = 'leader_leases';

export function defaultInstanceName(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export async function createLeaseTable(driver: SqlDriver): Promise<void> {
  await driver.run(`CREATE TABLE IF NOT EXISTS ${LEASE_TABLE} (
    pbx VARCHAR(191) NOT NULL PRIMARY KEY, holder VARCHAR(191) NOT NULL, token BIGINT NOT NULL,
    expires_at BIGINT NOT NULL, acquired_at BIGINT NOT NULL, renewed_at BIGINT NOT NULL)`);
}

export type LeaseAttempt =
  | { held: true; token: number; expiresAt: number; dbNow: number; acquired: boolean }
  | { held: false; holder: string; expiresAt: number; dbNow: number };

/**
 * One acquire-or-renew, in one transaction with the row locked: renews our own term, takes an expired
 * lease (token + 1), or reports who holds it. Exported for the lease's unit tests.
 */
export async function tryLease(driver: SqlDriver, pbx: string, instance: string, token: number | null, leaseMs: number): Promise<LeaseAttempt> {
  return driver.transaction(async (tx) => {
    await tx.run(`INSERT IGNORE INTO ${LEASE_TABLE} (pbx, holder, token, expires_at, acquired_at, renewed_at) VALUES (?, '', 0, 0, 0, 0)`, [pbx]);
    const [row] = await tx.all(`SELECT holder, token, expires_at, ${DB_NOW_MS} AS now FROM ${LEASE_TABLE} WHERE pbx = ? FOR UPDATE`, [pbx]);
    const holder = textOf(row?.holder);
    const current = intOf(row?.token);
    const expiresAt = intOf(row?.expires_at);
    const dbNow = intOf(row?.now);
    const next = dbNow + leaseMs;
    if (holder === instance && token !== null && current === token) {
      // Our term, even if it ran out: nobody took it, so nobody else wrote meanwhile.
      await tx.run(`UPDATE ${LEASE_TABLE} SET expires_at = ?, renewed_at = ? WHERE pbx = ?`, [next, dbNow, pbx]);
      return { held: true, token, expiresAt: next, dbNow, acquired: false };
    }
    if (expiresAt <= dbNow) {
      const fresh = current + 1;
      await tx.run(`UPDATE ${LEASE_TABLE} SET holder = ?, token = ?, expires_at = ?, acquired_at = ?, renewed_at = ? WHERE pbx = ?`, [instance, fresh, next, dbNow, dbNow, pbx]);
      return { held: true, token: fresh, expiresAt: next, dbNow, acquired: true };
    }
    return { held: false, holder, expiresAt, dbNow };
  });
}

/** The fencing check: the lease row still names this instance and token. Shared lock: writes run in parallel; a takeover waits for them. */
export async function checkFence(tx: SqlExecutor, pbx: string, instance: string, token: number | null): Promise<boolean> {
  if (token === null) return false;
  const [row] = await tx.all(`SELECT holder, token FROM ${LEASE_TABLE} WHERE pbx = ? LOCK IN SHARE MODE`, [pbx]);
  return row !== undefined && textOf(row.holder) === instance && intOf(row.token) === token;
}

export interface LeadershipOptions {
  /** A driver of its own (one connection): renewals never queue behind the pipeline's writes. */
  driver: SqlDriver;
  pbx: string;
  settings: LeadershipSettings;
  logger: Logger;
  now?: () => number;
}

export async function openLeadership(o: LeadershipOptions): Promise<Leadership> {
  const { driver, pbx, logger } = o;
  const leaseMs = o.settings.lease_ms;
  const renewMs = Math.min(o.settings.renew_ms, Math.floor(leaseMs / 2));
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const instance = o.settings.instance || defaultInstanceName();
  // The local deadline stops short of the database's by a margin (one renewal): a leader that cannot
  // renew stands down before a standby may take over.
  const margin = Math.max(renewMs, 500);
  await createLeaseTable(driver);

  let role: Role = 'standby';
  let token: number | null = null;
  let validUntil = 0;
  let leaderSince: number | null = null;
  let holder: string | null = null;
  let terms = 0;
  let standDowns = 0;
  let refusedWrites = 0;
  let lastError: string | null = null;
  let term: AbortController | null = null;
  const waiters = new Set<() => void>();
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> = Promise.resolve();
  let closed = false;

  const standDown = (why: string): void => {
    if (role !== 'leader') return;
    logger.warn({ code: 'LEASE_LOST', pbx, instance, token, why }, `leadership lost (${why}): reading CEL, hooks and CRM requests stop; this instance is standby`);
    role = closed ? 'stopped' : 'standby';
    token = null;
    leaderSince = null;
    standDowns++;
    const t = term;
    term = null;
    t?.abort(new LeaseLostError(why));
  };

  async function tick(): Promise<void> {
    const startedAt = now();
    try {
      const r = await tryLease(driver, pbx, instance, role === 'leader' ? token : null, leaseMs);
      lastError = null;
      if (closed) return;
      if (r.held) {
        holder = instance;
        if (role === 'leader' && r.token === token) {
          validUntil = startedAt + leaseMs - margin;
          return;
        }
        standDown('the lease was taken over');
        role = 'leader';
        token = r.token;
        validUntil = startedAt + leaseMs - margin;
        leaderSince = now();
        terms++;
        term = new AbortController();
        logger.warn({ code: 'LEASE_ACQUIRED', pbx, instance, token }, `leadership acquired (fencing token ${r.token}): this instance reads CEL and sends to the CRM`);
        for (const w of waiters) w();
        return;
      }
      holder = r.holder;
      standDown(`the lease is held by ${r.holder}`);
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      logger.warn({ code: 'LEASE_RENEW_FAILED', pbx, instance }, `the lease could not be renewed or taken: ${lastError}`);
    }
    if (role === 'leader' && now() >= validUntil) standDown('the lease could not be renewed in time (database unreachable)');
  }

  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => {
      ticking = tick().finally(schedule);
    }, renewMs);
  };
  ticking = tick().finally(schedule);

  const api: Leadership = {
    instance,
    fence: {
      async check(tx) {
        const ok = role === 'leader' && (await checkFence(tx, pbx, instance, token));
        if (ok) return;
        refusedWrites++;
        standDown('a write found the lease taken over');
        throw new LeaseLostError(`this instance (${instance}) no longer holds the lease of ${pbx}: the write is refused`);
      },
    },
    role: () => role,
    snapshot: () => ({ pbx, instance, role, token, leaderSince, holder, leaseMs, terms, standDowns, refusedWrites, lastError }),
    async whenLeader(signal) {
      for (;;) {
        if (signal?.aborted || closed) return null;
        if (role === 'leader' && term !== null) return term.signal;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            waiters.delete(done);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          waiters.add(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
    mayAct: () => role === 'leader' && now() < validUntil,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await ticking.catch(() => undefined);
      const held = role === 'leader' ? token : null;
      standDown('the connector stops');
      role = 'stopped';
      for (const w of waiters) w();
      if (held !== null) {
        // Released at once, so the standby does not wait for the lease to run out.
        await driver.run(`UPDATE ${LEASE_TABLE} SET expires_at = 0 WHERE pbx = ? AND holder = ? AND token = ?`, [pbx, instance, held]).catch(() => undefined);
      }
      await driver.close();
    },
  };
  return api;
}

/** SQLite (one instance by construction): always the leader, nothing to fence. */
export function soleLeadership(pbx: string): Leadership {
  const since = Date.now();
  let closed = false;
  const ctl = new AbortController();
  return {
    instance: 'sole',
    fence: { check: async () => undefined },
    role: () => (closed ? 'stopped' : 'leader'),
    snapshot: () => ({ pbx, instance: 'sole', role: closed ? 'stopped' : 'leader', token: null, leaderSince: since, holder: 'sole', leaseMs: 0, terms: 1, standDowns: 0, refusedWrites: 0, lastError: null }),
    whenLeader: async (signal) => (signal?.aborted || closed ? null : ctl.signal),
    mayAct: () => !closed,
    async close() {
      closed = true;
      ctl.abort();
    },
  };
}
