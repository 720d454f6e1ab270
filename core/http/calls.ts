// GET /calls: the calls the connector store keeps, filtered by start time (PBX-local), number, call type,
// result and a hook that failed on the call. Time and status are SQL filters; the rest is read from the
// call's summary and traces, over at most `scan` calls of the period.
import type { CallSummary, StageTrace } from '../pipeline/index.js';
import type { CallStatus, ConnectorStore } from '../store/index.js';

export interface CallQuery {
  from?: string;
  to?: string;
  number?: string;
  type?: string;
  result?: 'registered' | 'not_registered' | 'parked' | 'answered' | 'missed';
  status?: CallStatus;
  hookFailed?: string;
  limit: number;
}

const TIME = /^\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?$/;
const RESULTS = ['registered', 'not_registered', 'parked', 'answered', 'missed'] as const;
const STATUSES = ['open', 'waiting', 'done', 'parked'] as const;

export function parseCallQuery(q: Record<string, unknown>): CallQuery | { error: string } {
  const str = (k: string): string | undefined => (typeof q[k] === 'string' && q[k] !== '' ? (q[k] as string) : undefined);
  const out: CallQuery = { limit: 100 };
  for (const k of ['from', 'to'] as const) {
    const v = str(k);
    if (v === undefined) continue;
    if (!TIME.test(v)) return { error: `${k}: '${v}' is not YYYY-MM-DD[ HH:MM[:SS]] (PBX-local time)` };
    out[k] = v.length === 10 ? `${v} ${k === 'from' ? '00:00:00' : '23:59:59'}` : v.length === 16 ? `${v}:${k === 'from' ? '00' : '59'}` : v;
  }
  const number = str('number');
  if (number !== undefined) out.number = number;
  const type = str('type');
  if (type !== undefined) out.type = type;
  const result = str('result');
  if (result !== undefined) {
    if (!(RESULTS as readonly string[]).includes(result)) return { error: `result: '${result}' is not one of ${RESULTS.join(', ')}` };
    out.result = result as CallQuery['result'];
  }
  const status = str('status');
  if (status !== undefined) {
    if (!(STATUSES as readonly string[]).includes(status)) return { error: `status: '${status}' is not one of ${STATUSES.join(', ')}` };
    out.status = status as CallStatus;
  }
  const hook = str('hook');
  if (hook !== undefined) out.hookFailed = hook;
  const limit = str('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) return { error: `limit: '${limit}' is not an integer from 1 to 1000` };
    out.limit = n;
  }
  return out;
}

export interface CallListEntry {
  linkedid: string;
  startTime: string;
  status: CallStatus;
  run: number;
  parkedReason: string | null;
  summary: CallSummary | null;
  /** Hooks that failed on this call's current run. */
  failedHooks: string[];
}

function failedHooksOf(traces: unknown[]): string[] {
  const out = new Set<string>();
  for (const t of traces as StageTrace[]) for (const s of t?.steps ?? []) if (s.kind === 'hook') for (const h of s.hooks) if (h.outcome === 'failed') out.add(h.hook);
  return [...out];
}

export async function listCalls(store: ConnectorStore, pbx: string, q: CallQuery, scan = 5000): Promise<{ calls: CallListEntry[]; scanned: number; truncated: boolean }> {
  const rows = await store.listCalls(pbx, { ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}), ...(q.status ? { status: q.status } : {}), limit: scan, newestFirst: true, brief: true });
  const calls: CallListEntry[] = [];
  for (const c of rows) {
    const s = c.summary as unknown as CallSummary | null;
    if (q.type !== undefined && s?.type !== q.type) continue;
    if (q.number !== undefined && ![s?.client, s?.from, s?.to].some((n) => typeof n === 'string' && n.includes(q.number as string))) continue;
    if (q.result !== undefined) {
      const ok = q.result === 'parked' ? c.status === 'parked'
        : q.result === 'registered' ? s?.registered === true
        : q.result === 'not_registered' ? s !== null && s.registered === false
        : q.result === 'answered' ? s?.answered === true
        : s !== null && s.answered === false;
      if (!ok) continue;
    }
    // Traces are read only when a hook filter needs them, or for the page's "failed hooks" column.
    const events = await store.events(pbx, c.linkedid);
    const failed = failedHooksOf(events.filter((e) => e.run === c.run && e.trace !== null).map((e) => e.trace));
    if (q.hookFailed !== undefined && !failed.some((h) => h === q.hookFailed || h.endsWith(`/${q.hookFailed}`))) continue;
    calls.push({ linkedid: c.linkedid, startTime: c.startTime, status: c.status, run: c.run, parkedReason: c.parkedReason, summary: s, failedHooks: failed });
    if (calls.length >= q.limit) break;
  }
  return { calls, scanned: rows.length, truncated: rows.length >= scan };
}
