// The employee directory: every active employee from paged user.get, indexed by the digits of all four
// phone fields, so finding the user of a conversation costs no request. Refreshed every refreshMs, and at
// most once per missRefreshMs when a number is not found (a new employee); a failed refresh keeps the
// previous directory and says so in status().
import type { User } from '../../../types/call_full.js';
import type { Logger } from '../../log.js';
import type { CrmClient, JsonValue } from '../types.js';
import { USER_PHONE_FIELDS, userFromBitrix } from './mapping.js';

export const USER_SELECT = ['ID', 'NAME', 'LAST_NAME', 'EMAIL', 'WORK_POSITION', ...USER_PHONE_FIELDS];
const PAGE_SIZE = 50;
const MAX_PAGES = 2000;

export interface UserDirectoryStatus {
  users: number;
  loadedAt: string | null;
  /** The last refresh's failure (the directory in use is the previous one), null after a good refresh. */
  lastError: { code: string; description: string; at: string } | null;
  refreshing: boolean;
}

export interface UserDirectory {
  /** Settles when the first load has finished (successfully or not: see status()). */
  ready(): Promise<void>;
  /** The user one of these numbers (call_full Number variants) belongs to, or null. */
  findByNumber(variants: readonly string[]): Promise<User | null>;
  byId(id: string | number): Promise<User | null>;
  /** Reloads now; false when it failed (the previous directory stays). */
  refresh(): Promise<boolean>;
  status(): UserDirectoryStatus;
  close(): void;
}

export interface UserDirectoryOptions {
  refreshMs: number;
  logger: Logger;
  /** A miss reloads at most this often (default 30 s). */
  missRefreshMs?: number;
}

interface Indexed {
  users: Map<string, User>;
  /** digits → [field rank, user id][] */
  byDigits: Map<string, { rank: number; id: string }[]>;
}

const digits = (s: string) => s.replace(/\D/g, '');

function index(records: JsonValue[]): Indexed {
  const users = new Map<string, User>();
  const byDigits = new Map<string, { rank: number; id: string }[]>();
  for (const r of records) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) continue;
    const user = userFromBitrix(r);
    if (user.id === '') continue;
    users.set(user.id, user);
    USER_PHONE_FIELDS.forEach((field, rank) => {
      const value = r[field];
      const d = typeof value === 'string' ? digits(value) : typeof value === 'number' ? String(value) : '';
      if (d === '') return;
      const list = byDigits.get(d) ?? [];
      list.push({ rank, id: user.id });
      byDigits.set(d, list);
    });
  }
  // An extension (UF_PHONE_INNER) wins over a mobile or work phone with the same digits; then the lower id.
  for (const list of byDigits.values()) list.sort((a, b) => a.rank - b.rank || Number(a.id) - Number(b.id));
  return { users, byDigits };
}

export function createUserDirectory(client: CrmClient, options: UserDirectoryOptions): UserDirectory {
  const missRefreshMs = options.missRefreshMs ?? 30_000;
  const logger = options.logger.child({ component: 'bitrix24-users' });
  let current: Indexed = { users: new Map(), byDigits: new Map() };
  let loadedAt: string | null = null;
  let lastError: UserDirectoryStatus['lastError'] = null;
  let inflight: Promise<boolean> | null = null;
  let lastMissRefresh = 0;
  let closed = false;

  async function load(): Promise<boolean> {
    const records: JsonValue[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      // Directory requests go before any call's (priority −∞): no call can be processed without it.
      const outcome = await client.call(
        'user.get',
        { FILTER: { ACTIVE: true, USER_TYPE: 'employee' }, select: USER_SELECT, sort: 'ID', order: 'ASC', start: page * PAGE_SIZE },
        { priority: Number.NEGATIVE_INFINITY },
      );
      if (outcome.kind !== 'ok') {
        lastError = { code: outcome.code, description: outcome.description, at: new Date().toISOString() };
        logger.warn({ code: outcome.code, kind: outcome.kind }, `user directory refresh failed, keeping the previous one (${current.users.size} users): ${outcome.description}`);
        return false;
      }
      if (!Array.isArray(outcome.result)) {
        lastError = { code: 'BAD_ANSWER', description: 'user.get result is not a list', at: new Date().toISOString() };
        logger.warn('user directory refresh failed: user.get result is not a list');
        return false;
      }
      records.push(...outcome.result);
      // The page size is fixed at 50: a shorter page is the last (the client's outcome carries `result` only).
      if (outcome.result.length < PAGE_SIZE) break;
    }
    current = index(records);
    loadedAt = new Date().toISOString();
    lastError = null;
    logger.debug({ users: current.users.size }, 'user directory loaded');
    return true;
  }

  function refresh(): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (inflight === null) lastMissRefresh = Date.now(); // any reload counts for the miss rule
    inflight ??= load().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  function lookup(variants: readonly string[]): User | null {
    for (const v of variants) {
      const hit = current.byDigits.get(digits(v))?.[0];
      if (hit !== undefined) return current.users.get(hit.id) ?? null;
    }
    return null;
  }

  /** A miss may mean a new employee: reload once, at most every missRefreshMs. */
  async function afterMiss<T>(retry: () => T | null): Promise<T | null> {
    if (closed || Date.now() - lastMissRefresh < missRefreshMs) return null;
    lastMissRefresh = Date.now();
    await refresh();
    return retry();
  }

  const first = refresh().then(() => undefined);
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();

  return {
    ready: () => first,
    async findByNumber(variants) {
      const wanted = variants.filter((v) => digits(v) !== '');
      if (wanted.length === 0) return null;
      await first;
      return lookup(wanted) ?? afterMiss(() => lookup(wanted));
    },
    async byId(id) {
      await first;
      const key = String(id);
      return current.users.get(key) ?? afterMiss(() => current.users.get(key) ?? null);
    },
    refresh,
    status: () => ({ users: current.users.size, loadedAt, lastError: lastError === null ? null : { ...lastError }, refreshing: inflight !== null }),
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
