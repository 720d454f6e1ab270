// The connector store, written once over the SqlDriver: the CEL resume point, the pipeline's inbox of
// stage events, the outbox of CRM actions, per-call memory and traces. Every change the pipeline makes
// after a step is one transaction (CallWrite), and the CEL hand-off (resume point + new events) is one
// transaction, so a kill at any instant leaves a state a restart continues from without losing or
// repeating anything.
//
// Big JSON values (snapshots, traces, memory) are stored deflated: a call's stage snapshots repeat
// most of each other and shrink ~10x, which keeps huge queue calls within MariaDB's packet limit.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CelState } from '../cel/sources/index.js';
import type { IngestCommit, IngestSink } from '../cel/ingest.js';
import type { StageEvent } from '../cel/assembler/index.js';
import type { TokenStore } from '../crm/types.js';
import { intOf, nullableIntOf, textOf, type SqlDriver, type SqlExecutor, type SqlRow, type SqlValue } from './sql.js';
import type { Fence } from './leadership.js';
import type {
  ActionRecord, ActionStatus, CallListFilter, ClickToCallRecord, ClickToCallStatus, CallRecord, CallStatus, CallWrite, ConnectorStore, EventRecord, JsonValue, NewEvent, PortalOutbox,
} from './types.js';

export function pack(value: JsonValue): Buffer {
  return deflateRawSync(Buffer.from(JSON.stringify(value), 'utf8'));
}

export function unpack(value: SqlValue | undefined): JsonValue {
  if (value === null || value === undefined) return null;
  const buf = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'binary');
  if (buf.length === 0) return null;
  return JSON.parse(inflateRawSync(buf).toString('utf8')) as JsonValue;
}

const CALL_STATUSES: readonly CallStatus[] = ['open', 'waiting', 'done', 'parked'];
const ACTION_STATUSES: readonly ActionStatus[] = ['sending', 'in_doubt', 'failed', 'done', 'rejected', 'cancelled', 'skipped'];

function schema(d: SqlDriver['dialect']): string[] {
  const { key, text, blob, int, autoId } = d.types;
  const short = d.name === 'mariadb' ? 'VARCHAR(32)' : 'TEXT';
  return [
    `CREATE TABLE IF NOT EXISTS cel_checkpoints (pbx ${key} NOT NULL PRIMARY KEY, cursor_id ${int} NOT NULL, state ${blob} NOT NULL, updated_at ${int} NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS calls (
      pbx ${key} NOT NULL, linkedid ${key} NOT NULL, run ${int} NOT NULL, status ${short} NOT NULL, priority ${int} NOT NULL,
      finished ${int} NOT NULL, start_time ${short} NOT NULL, memory ${blob} NULL, call_full ${blob} NULL, summary ${text} NULL,
      parked_reason ${text} NULL, next_attempt_at ${int} NULL, created_at ${int} NOT NULL, updated_at ${int} NOT NULL,
      PRIMARY KEY (pbx, linkedid))`,
    'CREATE INDEX IF NOT EXISTS calls_runnable ON calls (pbx, status, priority)',
    'CREATE INDEX IF NOT EXISTS calls_start ON calls (pbx, start_time)',
    `CREATE TABLE IF NOT EXISTS call_events (
      id ${autoId}, pbx ${key} NOT NULL, linkedid ${key} NOT NULL, run ${int} NOT NULL, stage ${short} NOT NULL,
      conversation_id ${key} NOT NULL, at_row_id ${int} NOT NULL, call_full ${blob} NOT NULL, status ${short} NOT NULL,
      progress ${blob} NULL, trace ${blob} NULL, created_at ${int} NOT NULL, processed_at ${int} NULL,
      UNIQUE (pbx, linkedid, run, stage, conversation_id))`,
    'CREATE INDEX IF NOT EXISTS call_events_call ON call_events (pbx, linkedid, id)',
    `CREATE TABLE IF NOT EXISTS crm_actions (
      pbx ${key} NOT NULL, linkedid ${key} NOT NULL, action_key ${key} NOT NULL, portal ${key} NOT NULL, method ${key} NOT NULL,
      params ${blob} NOT NULL, status ${short} NOT NULL, attempts ${int} NOT NULL, outcome ${blob} NULL, event_id ${int} NOT NULL,
      run ${int} NOT NULL, first_at ${int} NOT NULL, last_at ${int} NOT NULL, PRIMARY KEY (pbx, linkedid, action_key))`,
    'CREATE INDEX IF NOT EXISTS crm_actions_status ON crm_actions (pbx, status)',
    `CREATE TABLE IF NOT EXISTS hook_switches (pbx ${key} NOT NULL, hook ${key} NOT NULL, updated_at ${int} NOT NULL, PRIMARY KEY (pbx, hook))`,
    'CREATE INDEX IF NOT EXISTS calls_updated ON calls (pbx, updated_at)',
    `CREATE TABLE IF NOT EXISTS crm_tokens (portal ${key} NOT NULL PRIMARY KEY, access_token ${text} NOT NULL, refresh_token ${text} NOT NULL, expires_at ${int} NOT NULL)`,
    // Click-to-call requests by the ChannelId we gave the Originate (= the linkedid of its CEL rows).
    `CREATE TABLE IF NOT EXISTS click_to_call (
      pbx ${key} NOT NULL, channel_id ${key} NOT NULL, crm ${short} NOT NULL, crm_call_id ${text} NOT NULL, user_id ${text} NOT NULL,
      phone ${text} NOT NULL, crm_registered ${int} NOT NULL, status ${short} NOT NULL, detail ${blob} NULL, created_at ${int} NOT NULL,
      updated_at ${int} NOT NULL, PRIMARY KEY (pbx, channel_id))`,
  ];
}

/** PBX-local 'YYYY-MM-DD HH:MM:SS' as a sortable number (ms, read as if UTC: only the order matters). */
export function startPriority(startTime: string): number {
  const ms = Date.parse(`${startTime.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? ms : 0;
}

function startTimeOf(callFull: JsonValue): string {
  const channel = callFull !== null && typeof callFull === 'object' && !Array.isArray(callFull) ? callFull.channel : null;
  const start = channel !== null && typeof channel === 'object' && !Array.isArray(channel) ? channel.start_time : null;
  return typeof start === 'string' ? start : '';
}

function callOf(row: SqlRow): CallRecord {
  return {
    linkedid: textOf(row.linkedid),
    run: intOf(row.run),
    status: textOf(row.status) as CallStatus,
    priority: intOf(row.priority),
    finished: intOf(row.finished) === 1,
    startTime: textOf(row.start_time),
    memory: unpack(row.memory),
    callFull: unpack(row.call_full),
    summary: row.summary === null || row.summary === undefined ? null : (JSON.parse(textOf(row.summary)) as JsonValue),
    parkedReason: row.parked_reason === null || row.parked_reason === undefined ? null : textOf(row.parked_reason),
    nextAttemptAt: nullableIntOf(row.next_attempt_at),
    updatedAt: intOf(row.updated_at),
  };
}

function eventOf(row: SqlRow): EventRecord {
  return {
    id: intOf(row.id),
    linkedid: textOf(row.linkedid),
    run: intOf(row.run),
    stage: textOf(row.stage) as EventRecord['stage'],
    conversationId: textOf(row.conversation_id),
    atRowId: intOf(row.at_row_id),
    callFull: unpack(row.call_full),
    status: textOf(row.status) as EventRecord['status'],
    progress: unpack(row.progress),
    trace: unpack(row.trace),
    createdAt: intOf(row.created_at),
    processedAt: nullableIntOf(row.processed_at),
  };
}

function actionOf(row: SqlRow): ActionRecord {
  return {
    linkedid: textOf(row.linkedid),
    key: textOf(row.action_key),
    portal: textOf(row.portal),
    method: textOf(row.method),
    params: unpack(row.params),
    status: textOf(row.status) as ActionStatus,
    attempts: intOf(row.attempts),
    outcome: unpack(row.outcome),
    eventId: intOf(row.event_id),
    run: intOf(row.run),
    firstAt: intOf(row.first_at),
    lastAt: intOf(row.last_at),
  };
}

const EVENT_COLUMNS = ['pbx', 'linkedid', 'run', 'stage', 'conversation_id', 'at_row_id', 'call_full', 'status', 'created_at'];
const ACTION_COLUMNS = ['pbx', 'linkedid', 'action_key', 'portal', 'method', 'params', 'status', 'attempts', 'outcome', 'event_id', 'run', 'first_at', 'last_at'];

export interface ConnectorStoreOptions {
  now?: () => number;
  /**
   * Leadership's fencing check, run first in every transaction that moves the pipeline (CEL hand-off,
   * call writes, new runs): it throws LeaseLostError when this instance no longer holds the lease, and
   * the transaction is rolled back (core/store/leadership.ts).
   */
  fence?: Fence;
}

export async function createConnectorStore(driver: SqlDriver, options: ConnectorStoreOptions = {}): Promise<ConnectorStore> {
  const now = options.now ?? Date.now;
  const fence = options.fence;
  const d = driver.dialect;
  for (const statement of schema(d)) await driver.run(statement);

  const upsertCheckpoint = d.upsert('cel_checkpoints', ['pbx', 'cursor_id', 'state', 'updated_at'], ['cursor_id', 'state', 'updated_at']);
  const insertCall = d.insertIfAbsent('calls', ['pbx', 'linkedid', 'run', 'status', 'priority', 'finished', 'start_time', 'created_at', 'updated_at']);
  const insertEvent = d.insertIfAbsent('call_events', EVENT_COLUMNS);
  const upsertAction = d.upsert('crm_actions', ACTION_COLUMNS, ['portal', 'method', 'params', 'status', 'attempts', 'outcome', 'event_id', 'run', 'last_at']);
  const upsertClickToCall = d.upsert(
    'click_to_call',
    ['pbx', 'channel_id', 'crm', 'crm_call_id', 'user_id', 'phone', 'crm_registered', 'status', 'detail', 'created_at', 'updated_at'],
    ['crm_call_id', 'user_id', 'phone', 'crm_registered', 'status', 'detail', 'updated_at'],
  );
  const upsertToken = d.upsert('crm_tokens', ['portal', 'access_token', 'refresh_token', 'expires_at'], ['access_token', 'refresh_token', 'expires_at']);

  /**
   * Adds stage events to a call's run. The call row is written FIRST: on MariaDB a concurrent pipeline
   * write that marks the call done locks that row too, so the two serialise on it and neither can
   * strand the new event (the pipeline's "done" re-checks for pending events under the lock).
   */
  async function addEvents(tx: SqlExecutor, pbx: string, linkedid: string, events: readonly NewEvent[], run: number | null, at: number): Promise<void> {
    const first = events[0];
    if (first === undefined) return;
    const startTime = startTimeOf(first.callFull);
    await tx.run(insertCall, [pbx, linkedid, run ?? 1, 'open', startPriority(startTime), 0, startTime, at, at]);
    const [row] = await tx.all('SELECT run, status FROM calls WHERE pbx = ? AND linkedid = ?', [pbx, linkedid]);
    const callRun = run ?? intOf(row?.run);
    const finished = events.some((e) => e.stage === 'call_ended') ? 1 : 0;
    // 'waiting' keeps its retry timer and 'parked' stays parked: new events queue behind the blocked one.
    await tx.run(
      `UPDATE calls SET status = CASE WHEN status = 'done' THEN 'open' ELSE status END, finished = CASE WHEN ? = 1 THEN 1 ELSE finished END, updated_at = ? WHERE pbx = ? AND linkedid = ?`,
      [finished, at, pbx, linkedid],
    );
    for (const e of events) {
      await tx.run(insertEvent, [pbx, linkedid, callRun, e.stage, e.conversationId, e.atRowId, pack(e.callFull), 'pending', at]);
    }
  }

  function ingestSink(pbx: string): IngestSink {
    return {
      async load(): Promise<CelState> {
        const [row] = await driver.all('SELECT state FROM cel_checkpoints WHERE pbx = ?', [pbx]);
        if (row === undefined) return { cursor: 0, pendingRows: [] };
        return unpack(row.state) as unknown as CelState;
      },
      async commit(batch: IngestCommit): Promise<void> {
        const byCall = new Map<string, NewEvent[]>();
        for (const s of batch.stages as StageEvent[]) {
          const list = byCall.get(s.linkedid) ?? [];
          list.push({ stage: s.stage, conversationId: s.conversationId, atRowId: s.atRowId, callFull: s.callFull as unknown as JsonValue });
          byCall.set(s.linkedid, list);
        }
        const at = now();
        await driver.transaction(async (tx) => {
          await fence?.check(tx);
          for (const [linkedid, events] of byCall) await addEvents(tx, pbx, linkedid, events, null, at);
          // The resume state is the CEL layer's: stored as it is, handed back by load().
          await tx.run(upsertCheckpoint, [pbx, batch.cursor, pack(batch.state as unknown as JsonValue), at]);
        });
      },
    };
  }

  const tokens: TokenStore = {
    async load(portal) {
      const [row] = await driver.all('SELECT access_token, refresh_token, expires_at FROM crm_tokens WHERE portal = ?', [portal]);
      if (row === undefined) return null;
      return { accessToken: textOf(row.access_token), refreshToken: textOf(row.refresh_token), expiresAt: intOf(row.expires_at) };
    },
    async save(portal, t) {
      await driver.transaction((tx) => tx.run(upsertToken, [portal, t.accessToken, t.refreshToken, t.expiresAt]).then(() => undefined));
    },
  };

  return {
    kind: d.name,
    description: driver.description,
    ingestSink,
    tokens,

    async runnableCalls(pbx, at, limit) {
      const rows = await driver.all(
        `SELECT linkedid, priority FROM calls WHERE pbx = ? AND (status = 'open' OR (status = 'waiting' AND next_attempt_at <= ?)) ORDER BY priority, linkedid LIMIT ${Math.max(1, Math.floor(limit))}`,
        [pbx, at],
      );
      return rows.map((r) => ({ linkedid: textOf(r.linkedid), priority: intOf(r.priority) }));
    },

    async nextWakeUp(pbx) {
      const [row] = await driver.all(`SELECT MIN(next_attempt_at) AS at FROM calls WHERE pbx = ? AND status = 'waiting'`, [pbx]);
      return nullableIntOf(row?.at);
    },

    async getCall(pbx, linkedid) {
      const [row] = await driver.all('SELECT * FROM calls WHERE pbx = ? AND linkedid = ?', [pbx, linkedid]);
      return row === undefined ? null : callOf(row);
    },

    async pendingEvents(pbx, linkedid) {
      const rows = await driver.all(
        `SELECT e.* FROM call_events e JOIN calls c ON c.pbx = e.pbx AND c.linkedid = e.linkedid AND c.run = e.run
         WHERE e.pbx = ? AND e.linkedid = ? AND e.status = 'pending' ORDER BY e.id`,
        [pbx, linkedid],
      );
      return rows.map(eventOf);
    },

    async events(pbx, linkedid) {
      const rows = await driver.all('SELECT * FROM call_events WHERE pbx = ? AND linkedid = ? ORDER BY id', [pbx, linkedid]);
      return rows.map(eventOf);
    },

    async actions(pbx, linkedid) {
      const rows = await driver.all('SELECT * FROM crm_actions WHERE pbx = ? AND linkedid = ? ORDER BY first_at, action_key', [pbx, linkedid]);
      return rows.map(actionOf);
    },

    async currentTraces(pbx, linkedids) {
      const out = new Map<string, JsonValue[]>();
      for (let i = 0; i < linkedids.length; i += 200) {
        const slice = linkedids.slice(i, i + 200);
        if (slice.length === 0) break;
        const rows = await driver.all(
          `SELECT e.linkedid, e.trace FROM call_events e JOIN calls c ON c.pbx = e.pbx AND c.linkedid = e.linkedid AND c.run = e.run
           WHERE e.pbx = ? AND e.linkedid IN (${slice.map(() => '?').join(', ')}) AND e.trace IS NOT NULL ORDER BY e.id`,
          [pbx, ...slice],
        );
        for (const r of rows) {
          const id = textOf(r.linkedid);
          const list = out.get(id) ?? [];
          list.push(unpack(r.trace));
          out.set(id, list);
        }
      }
      return out;
    },

    async write(pbx, linkedid, w: CallWrite) {
      const at = now();
      await driver.transaction(async (tx) => {
        await fence?.check(tx);
        for (const p of w.progress ?? []) await tx.run('UPDATE call_events SET progress = ? WHERE id = ?', [pack(p.progress), p.eventId]);
        for (const a of w.actions ?? []) {
          await tx.run(upsertAction, [pbx, linkedid, a.key, a.portal, a.method, pack(a.params), a.status, a.attempts, pack(a.outcome), a.eventId, a.run, a.firstAt, a.lastAt]);
        }
        for (const e of w.attempt ?? []) await tx.run('UPDATE call_events SET trace = ? WHERE id = ?', [pack(e.trace), e.eventId]);
        for (const e of w.done ?? []) {
          await tx.run(`UPDATE call_events SET status = 'done', trace = ?, processed_at = ? WHERE id = ?`, [pack(e.trace), at, e.eventId]);
        }
        const c = w.call;
        if (c === undefined) return;
        const sets: string[] = ['updated_at = ?'];
        const params: SqlValue[] = [at];
        if (c.memory !== undefined) { sets.push('memory = ?'); params.push(pack(c.memory)); }
        if (c.callFull !== undefined) { sets.push('call_full = ?'); params.push(pack(c.callFull)); }
        if (c.summary !== undefined) { sets.push('summary = ?'); params.push(JSON.stringify(c.summary)); }
        if (c.parkedReason !== undefined) { sets.push('parked_reason = ?'); params.push(c.parkedReason); }
        if (c.nextAttemptAt !== undefined) { sets.push('next_attempt_at = ?'); params.push(c.nextAttemptAt); }
        if (c.status === 'done') {
          // "done" only if nothing arrived meanwhile (see addEvents); otherwise it stays runnable.
          sets.push(`status = CASE WHEN EXISTS (SELECT 1 FROM call_events e WHERE e.pbx = calls.pbx AND e.linkedid = calls.linkedid AND e.run = calls.run AND e.status = 'pending') THEN 'open' ELSE 'done' END`);
        } else if (c.status !== undefined) {
          sets.push('status = ?');
          params.push(c.status);
        }
        params.push(pbx, linkedid);
        await tx.run(`UPDATE calls SET ${sets.join(', ')} WHERE pbx = ? AND linkedid = ?`, params);
      });
    },

    async listCalls(pbx, filter: CallListFilter = {}) {
      const where = ['pbx = ?'];
      const params: SqlValue[] = [pbx];
      if (filter.from !== undefined) { where.push('start_time >= ?'); params.push(filter.from); }
      if (filter.to !== undefined) { where.push('start_time <= ?'); params.push(filter.to); }
      if (filter.status !== undefined) { where.push('status = ?'); params.push(filter.status); }
      if (filter.linkedids !== undefined) {
        if (filter.linkedids.length === 0) return [];
        where.push(`linkedid IN (${filter.linkedids.map(() => '?').join(', ')})`);
        params.push(...filter.linkedids);
      }
      const limit = filter.limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(filter.limit))}` : '';
      const columns = filter.brief === true ? 'pbx, linkedid, run, status, priority, finished, start_time, summary, parked_reason, next_attempt_at, created_at, updated_at' : '*';
      const rows = await driver.all(`SELECT ${columns} FROM calls WHERE ${where.join(' AND ')} ORDER BY ${filter.newestFirst === true ? 'start_time DESC, linkedid DESC' : 'start_time, linkedid'}${limit}`, params);
      return rows.map(callOf);
    },

    async counts(pbx) {
      const calls = Object.fromEntries(CALL_STATUSES.map((s) => [s, 0])) as Record<CallStatus, number>;
      const actions = Object.fromEntries(ACTION_STATUSES.map((s) => [s, 0])) as Record<ActionStatus, number>;
      for (const r of await driver.all('SELECT status, COUNT(*) AS n FROM calls WHERE pbx = ? GROUP BY status', [pbx])) calls[textOf(r.status) as CallStatus] = intOf(r.n);
      for (const r of await driver.all('SELECT status, COUNT(*) AS n FROM crm_actions WHERE pbx = ? GROUP BY status', [pbx])) actions[textOf(r.status) as ActionStatus] = intOf(r.n);
      return { calls, actions };
    },

    async startRun(pbx, linkedid, events, priority, startTime) {
      const at = now();
      return driver.transaction(async (tx) => {
        await fence?.check(tx);
        const [row] = await tx.all('SELECT run FROM calls WHERE pbx = ? AND linkedid = ?', [pbx, linkedid]);
        const run = row === undefined ? 1 : intOf(row.run) + 1;
        if (row === undefined) {
          await tx.run(insertCall, [pbx, linkedid, run, 'open', priority, 0, startTime, at, at]);
        } else {
          await tx.run(
            `UPDATE calls SET run = ?, status = 'open', finished = 0, parked_reason = NULL, next_attempt_at = NULL, updated_at = ? WHERE pbx = ? AND linkedid = ?`,
            [run, at, pbx, linkedid],
          );
        }
        await addEvents(tx, pbx, linkedid, events, run, at);
        return run;
      });
    },

    async saveClickToCall(pbx, r) {
      const at = now();
      await driver.run(upsertClickToCall, [
        pbx, r.channelId, r.crm, r.crmCallId, r.userId, r.phone, r.crmRegistered ? 1 : 0, r.status, pack(r.detail), r.createdAt || at, at,
      ]);
    },

    async clickToCall(pbx, channelId) {
      const [row] = await driver.all('SELECT * FROM click_to_call WHERE pbx = ? AND channel_id = ?', [pbx, channelId]);
      if (row === undefined) return null;
      return {
        channelId: textOf(row.channel_id), crm: textOf(row.crm), crmCallId: textOf(row.crm_call_id), userId: textOf(row.user_id), phone: textOf(row.phone),
        crmRegistered: intOf(row.crm_registered) === 1, status: textOf(row.status) as ClickToCallStatus, detail: unpack(row.detail),
        createdAt: intOf(row.created_at), updatedAt: intOf(row.updated_at),
      };
    },

    async celCheckpoint(pbx) {
      const [row] = await driver.all('SELECT cursor_id, updated_at FROM cel_checkpoints WHERE pbx = ?', [pbx]);
      return row === undefined ? null : { cursor: intOf(row.cursor_id), updatedAt: intOf(row.updated_at) };
    },

    async outboxByPortal(pbx) {
      const byPortal = new Map<string, PortalOutbox>();
      const entry = (portal: string): PortalOutbox => {
        let e = byPortal.get(portal);
        if (e === undefined) {
          e = { portal, actions: Object.fromEntries(ACTION_STATUSES.map((s) => [s, 0])) as Record<ActionStatus, number>, lastError: null };
          byPortal.set(portal, e);
        }
        return e;
      };
      for (const r of await driver.all('SELECT portal, status, COUNT(*) AS n FROM crm_actions WHERE pbx = ? GROUP BY portal, status', [pbx])) {
        entry(textOf(r.portal)).actions[textOf(r.status) as ActionStatus] = intOf(r.n);
      }
      for (const portal of byPortal.keys()) {
        const [r] = await driver.all(
          `SELECT linkedid, action_key, method, status, outcome, last_at FROM crm_actions WHERE pbx = ? AND portal = ? AND status IN ('failed', 'rejected', 'in_doubt') ORDER BY last_at DESC LIMIT 1`,
          [pbx, portal],
        );
        if (r !== undefined) {
          entry(portal).lastError = { linkedid: textOf(r.linkedid), key: textOf(r.action_key), method: textOf(r.method), status: textOf(r.status) as ActionStatus, outcome: unpack(r.outcome), at: intOf(r.last_at) };
        }
      }
      return [...byPortal.values()].sort((a, b) => (a.portal < b.portal ? -1 : 1));
    },

    async deleteCallsBefore(pbx, before) {
      // In slices, so a month of calls does not hold one huge transaction (and its locks) on MariaDB.
      let deleted = 0;
      for (;;) {
        const rows = await driver.all(`SELECT linkedid FROM calls WHERE pbx = ? AND updated_at < ? AND status IN ('done', 'parked') ORDER BY updated_at LIMIT 500`, [pbx, before]);
        if (rows.length === 0) return deleted;
        const ids = rows.map((r) => textOf(r.linkedid));
        const list = ids.map(() => '?').join(', ');
        await driver.transaction(async (tx) => {
          // Re-checked under the transaction: a call that got new events meanwhile stays.
          await tx.run(`DELETE FROM call_events WHERE pbx = ? AND linkedid IN (${list}) AND linkedid IN (SELECT linkedid FROM (SELECT linkedid FROM calls WHERE pbx = ? AND updated_at < ? AND status IN ('done', 'parked')) AS old)`, [pbx, ...ids, pbx, before]);
          await tx.run(`DELETE FROM crm_actions WHERE pbx = ? AND linkedid IN (${list}) AND linkedid IN (SELECT linkedid FROM (SELECT linkedid FROM calls WHERE pbx = ? AND updated_at < ? AND status IN ('done', 'parked')) AS old)`, [pbx, ...ids, pbx, before]);
          await tx.run(`DELETE FROM calls WHERE pbx = ? AND linkedid IN (${list}) AND updated_at < ? AND status IN ('done', 'parked')`, [pbx, ...ids, before]);
        });
        deleted += ids.length;
        if (rows.length < 500) return deleted;
      }
    },

    async hookSwitches(pbx) {
      const rows = await driver.all('SELECT hook FROM hook_switches WHERE pbx = ? ORDER BY hook', [pbx]);
      return rows.map((r) => textOf(r.hook));
    },

    async setHookSwitch(pbx, hook, enabled) {
      await driver.transaction(async (tx) => {
        await tx.run('DELETE FROM hook_switches WHERE pbx = ? AND hook = ?', [pbx, hook]);
        if (!enabled) await tx.run('INSERT INTO hook_switches (pbx, hook, updated_at) VALUES (?, ?, ?)', [pbx, hook, now()]);
      });
    },

    close: () => driver.close(),
  };
}
