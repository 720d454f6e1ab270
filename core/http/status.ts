// GET /status: one JSON document an operator or a monitoring probe reads — the connector's state and
// health verdict, every hook's state from the host, where the CEL reader stands, the outbox per CRM
// portal, version and uptime. `?path=a.b` selects a sub-element (monitoring checks read one value).
import mysql from 'mysql2/promise';
import type { HookStatus } from '../../hooks/index.js';
import type { Settings } from '../settings/index.js';
import type { ConnectorStore, LeadershipSnapshot, PortalOutbox } from '../store/index.js';

export type AppState = '' | 'stopped' | 'restarting';
export type AppStatus = 'Ok' | 'Warning' | 'Error';

export interface CelLag {
  source: 'replay' | 'mariadb';
  /** The last CEL row id handed over to the connector store. */
  cursor: number | null;
  /** When the store last took a batch (ISO), null before the first. */
  committed_at: string | null;
  /** Rows in the CEL table after the cursor, and how much PBX time they span; null when unknown. */
  lag_rows: number | null;
  lag_seconds: number | null;
  error: string | null;
}

export interface StatusDocument {
  app_state: AppState;
  app_status: AppStatus;
  /** Why app_status is not Ok, one line each. */
  problems: string[];
  version: string;
  uptime_seconds: number;
  started_at: string;
  hooks: HookStatus[];
  cel: CelLag;
  outbox: Record<string, Omit<PortalOutbox, 'portal'> & { pending: number; parked: number; failing: number }>;
  calls: Record<string, number>;
  /** This instance's role for its PBX (leader reads CEL and sends; standby waits for the lease). */
  leadership: LeadershipSnapshot | null;
}

/** How far the CEL table is ahead of the connector's cursor (mariadb source; a replay has no table). */
export function createCelLagProbe(settings: Pick<Settings, 'cel'>, store: ConnectorStore, pbx: string): { read(): Promise<CelLag>; close(): Promise<void> } {
  const m = settings.cel.mariadb;
  let pool: mysql.Pool | null = null;
  let cached: { at: number; value: CelLag } | null = null;
  return {
    async read() {
      if (cached !== null && Date.now() - cached.at < 2000) return cached.value;
      const cp = await store.celCheckpoint(pbx);
      const base: CelLag = { source: settings.cel.source === 'mariadb' ? 'mariadb' : 'replay', cursor: cp?.cursor ?? null, committed_at: cp ? new Date(cp.updatedAt).toISOString() : null, lag_rows: null, lag_seconds: null, error: null };
      if (settings.cel.source === 'mariadb') {
        try {
          pool ??= mysql.createPool({ host: m.host, port: m.port, user: m.user, password: m.password, database: m.database, connectionLimit: 1, connectTimeout: 3000 });
          const aliases = m.column_aliases as Record<string, string | undefined>;
          const id = mysql.escapeId(aliases.id ?? 'id');
          const time = mysql.escapeId(aliases.eventtime ?? 'eventtime');
          const table = mysql.escapeId(m.table);
          const cursor = cp?.cursor ?? 0;
          const [rows] = await pool.query(
            `SELECT (SELECT COUNT(*) FROM ${table} WHERE ${id} > ?) AS lagRows,
                    TIMESTAMPDIFF(SECOND, (SELECT ${time} FROM ${table} WHERE ${id} <= ? ORDER BY ${id} DESC LIMIT 1), (SELECT ${time} FROM ${table} ORDER BY ${id} DESC LIMIT 1)) AS lagSeconds`,
            [cursor, cursor],
          );
          const r = (rows as Array<{ lagRows: unknown; lagSeconds: unknown }>)[0];
          base.lag_rows = r ? Number(r.lagRows) : 0;
          base.lag_seconds = r && r.lagSeconds !== null ? Math.max(0, Number(r.lagSeconds)) : (base.lag_rows === 0 ? 0 : null);
        } catch (error) {
          base.error = `the CEL table could not be read: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      cached = { at: Date.now(), value: base };
      return base;
    },
    async close() {
      await pool?.end().catch(() => undefined);
    },
  };
}

export async function buildStatus(o: {
  appState: AppState; version: string; startedAt: number; hooks: HookStatus[]; cel: CelLag; store: ConnectorStore; pbx: string;
  leadership?: LeadershipSnapshot;
}): Promise<StatusDocument> {
  const problems: { level: 'Warning' | 'Error'; text: string }[] = [];
  for (const h of o.hooks) {
    const where = h.lastError ? ` (${h.lastError.file}${h.lastError.line !== undefined ? `:${h.lastError.line}:${h.lastError.column ?? 1}` : ''} ${h.lastError.code} ${h.lastError.message})` : '';
    if (h.state === 'failed') problems.push({ level: 'Error', text: `hook ${h.hook} failed to load${where}` });
    else if (h.state === 'cooling_down') problems.push({ level: 'Warning', text: `hook ${h.hook} is cooling down after repeated failures${where}` });
    else if (h.staleOnDisk) problems.push({ level: 'Warning', text: `hook ${h.hook}: the file on disk failed to load; the previous version runs${where}` });
  }
  const outbox: StatusDocument['outbox'] = {};
  for (const p of await o.store.outboxByPortal(o.pbx)) {
    const a = p.actions;
    const pending = a.sending + a.in_doubt + a.failed;
    outbox[p.portal] = { actions: a, lastError: p.lastError, pending, parked: 0, failing: a.failed + a.in_doubt };
  }
  const counts = await o.store.counts(o.pbx);
  // Parked is a call state (the retry policy gave up on the call), reported under every portal it may concern.
  for (const entry of Object.values(outbox)) entry.parked = counts.calls.parked;
  if (counts.calls.parked > 0) problems.push({ level: 'Error', text: `${counts.calls.parked} call(s) parked: see GET /calls?status=parked, then reprocess them` });
  const failing = Object.entries(outbox).filter(([, v]) => v.failing > 0);
  for (const [portal, v] of failing) problems.push({ level: 'Warning', text: `${v.failing} CRM request(s) to ${portal} failing or in doubt (retried)` });
  if (o.cel.error !== null) problems.push({ level: 'Error', text: o.cel.error });
  if (o.leadership?.lastError) problems.push({ level: 'Warning', text: `leadership: ${o.leadership.lastError}` });
  const appStatus: AppStatus = problems.some((p) => p.level === 'Error') ? 'Error' : problems.length > 0 ? 'Warning' : 'Ok';
  return {
    app_state: o.appState,
    app_status: appStatus,
    problems: problems.map((p) => `${p.level}: ${p.text}`),
    version: o.version,
    uptime_seconds: Math.round((Date.now() - o.startedAt) / 1000),
    started_at: new Date(o.startedAt).toISOString(),
    hooks: o.hooks,
    cel: o.cel,
    outbox,
    calls: counts.calls,
    leadership: o.leadership ?? null,
  };
}

export class PathError extends Error {}

/** `a.b.0.c`: object keys and array indexes, or an array element by its `hook` name (`hooks.blacklist.ts` is ambiguous: use `hooks[blacklist.ts]`). */
export function selectPath(doc: unknown, path: string): unknown {
  const parts: string[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) parts.push(m[1] ?? m[2] ?? '');
  let at: unknown = doc;
  const walked: string[] = [];
  for (const part of parts) {
    walked.push(part);
    if (Array.isArray(at)) {
      const byIndex = /^\d+$/.test(part) ? at[Number(part)] : undefined;
      at = byIndex ?? at.find((e: unknown) => typeof e === 'object' && e !== null && ((e as Record<string, unknown>).hook === part || (e as Record<string, unknown>).name === part));
    } else if (typeof at === 'object' && at !== null && Object.hasOwn(at, part)) {
      at = (at as Record<string, unknown>)[part];
    } else {
      at = undefined;
    }
    if (at === undefined) throw new PathError(`status has no element '${walked.join('.')}'`);
  }
  return at;
}
