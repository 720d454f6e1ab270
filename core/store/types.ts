// The connector store's records. The store keeps them and changes them in transactions; what they
// mean is the pipeline's (core/pipeline): the store treats `memory`, `progress` and `trace` as opaque JSON.
import type { JsonValue } from '../../hooks/engine.js';
import type { CallStage } from '../../types/call_full.js';
import type { IngestSink } from '../cel/ingest.js';
import type { TokenStore } from '../crm/types.js';

export type { JsonValue };

/**
 * - `open`: it has stage events not processed yet (or is waiting for the call to end).
 * - `waiting`: an action failed transiently; retried at `nextAttemptAt` (other calls go on).
 * - `done`: every event of the current run was processed.
 * - `parked`: given up by the retry policy, with `parkedReason`; `callhook reprocess --id` tries again.
 */
export type CallStatus = 'open' | 'waiting' | 'done' | 'parked';

export interface CallRecord {
  linkedid: string;
  /** Processing run: 1 for the live pass, +1 for each reprocess. */
  run: number;
  status: CallStatus;
  /** Scheduling order: the call's start in ms (oldest first). */
  priority: number;
  /** call_ended was ingested for this run. */
  finished: boolean;
  /** PBX-local start time, for listing and the period of a reprocess. */
  startTime: string;
  /** The pipeline's per-call memory (what the CRM answered so far, numbers in effect, ...). */
  memory: JsonValue;
  /** The call as the hooks last saw it (assembler snapshot + CRM answers + rewritten numbers). */
  callFull: JsonValue;
  /** A small listing record (type, numbers, result, ...), pipeline-owned. */
  summary: JsonValue;
  parkedReason: string | null;
  nextAttemptAt: number | null;
  updatedAt: number;
}

export interface EventRecord {
  id: number;
  linkedid: string;
  run: number;
  stage: CallStage;
  conversationId: string;
  atRowId: number;
  /** The assembler's snapshot of the call at this stage. */
  callFull: JsonValue;
  status: 'pending' | 'done';
  /** Steps finished so far (a resumed event does not redo them). */
  progress: JsonValue;
  /** The stage's decision trace once processed. */
  trace: JsonValue;
  createdAt: number;
  processedAt: number | null;
}

/**
 * An outbox entry: one CRM action of one call, identified by `key` (e.g. `register`, `finish`,
 * `show:1795500162.70`). Written BEFORE it is sent (`sending`) and marked with the answer after.
 * - `sending`: sent, answer not recorded (in flight; after a crash: in doubt, reconciled before a resend).
 * - `in_doubt`: the answer was lost after the request may have been executed (timeout, reset, 5xx).
 * - `failed`: a transient failure known not to have been executed (503, 429, refused): sent again as is.
 * - `done` / `rejected`: the CRM's final answer. `cancelled`: a hook cancelled it (never sent).
 * - `skipped`: not sent because the CRM is `none` or a step before it made it impossible (in `outcome`).
 */
export type ActionStatus = 'sending' | 'in_doubt' | 'failed' | 'done' | 'rejected' | 'cancelled' | 'skipped';

export interface ActionRecord {
  linkedid: string;
  key: string;
  /** Portal/account the action goes to (host name). */
  portal: string;
  method: string;
  params: JsonValue;
  status: ActionStatus;
  attempts: number;
  /** The last classified answer (CrmOutcome) or the reason it was not sent. */
  outcome: JsonValue;
  eventId: number;
  /** The run that last wrote it (a reprocess resends what an earlier run's CRM refused). */
  run: number;
  firstAt: number;
  lastAt: number;
}

export interface CallListFilter {
  /** PBX-local time range of the call start, inclusive ('YYYY-MM-DD HH:MM:SS'). */
  from?: string;
  to?: string;
  status?: CallStatus;
  linkedids?: readonly string[];
  limit?: number;
  /** Newest call first (the operator's list); default oldest first. */
  newestFirst?: boolean;
  /** Without memory and callFull (null): listings that do not need the big columns. */
  brief?: boolean;
}

/** What the pipeline writes after a step, in ONE transaction (progress and the action it enabled go together). */
export interface CallWrite {
  call?: Partial<Pick<CallRecord, 'status' | 'memory' | 'callFull' | 'summary' | 'parkedReason' | 'nextAttemptAt'>>;
  actions?: readonly ActionRecord[];
  progress?: readonly { eventId: number; progress: JsonValue }[];
  done?: readonly { eventId: number; trace: JsonValue }[];
  /** The trace of an attempt that stopped (waiting, parked); the event stays pending. */
  attempt?: readonly { eventId: number; trace: JsonValue }[];
}

export interface ConnectorStore {
  readonly kind: 'sqlite' | 'mariadb';
  readonly description: string;
  /** The CEL hand-off of one PBX: resume point + new stage events in one transaction. */
  ingestSink(pbx: string): IngestSink;
  /** Calls with work to do now, oldest first. */
  runnableCalls(pbx: string, now: number, limit: number): Promise<Array<{ linkedid: string; priority: number }>>;
  /** The soonest nextAttemptAt of a waiting call (null when none waits). */
  nextWakeUp(pbx: string): Promise<number | null>;
  getCall(pbx: string, linkedid: string): Promise<CallRecord | null>;
  /** Pending events of the call's current run, in order. */
  pendingEvents(pbx: string, linkedid: string): Promise<EventRecord[]>;
  /** Every event of the call (all runs), in order: the call's history and traces. */
  events(pbx: string, linkedid: string): Promise<EventRecord[]>;
  actions(pbx: string, linkedid: string): Promise<ActionRecord[]>;
  /** The stage traces of these calls' current runs, in order (what-if reads only these, not the snapshots). */
  currentTraces(pbx: string, linkedids: readonly string[]): Promise<Map<string, JsonValue[]>>;
  write(pbx: string, linkedid: string, write: CallWrite): Promise<void>;
  listCalls(pbx: string, filter?: CallListFilter): Promise<CallRecord[]>;
  /** Counts for status/metrics: calls per status, actions per status. */
  counts(pbx: string): Promise<{ calls: Record<CallStatus, number>; actions: Record<ActionStatus, number> }>;
  /**
   * Reprocessing: a new run of `linkedid` with these stage events (assembled again from CEL). Actions keep
   * their records: what the CRM already has is not sent again. Returns the new run number.
   */
  startRun(pbx: string, linkedid: string, events: readonly NewEvent[], priority: number, startTime: string): Promise<number>;
  /** Where the CEL reader stands for this PBX (null before the first batch). */
  celCheckpoint(pbx: string): Promise<{ cursor: number; updatedAt: number } | null>;
  /** The outbox per CRM portal, for /status: entries per status and the newest failure's answer. */
  outboxByPortal(pbx: string): Promise<PortalOutbox[]>;
  /**
   * Retention: deletes calls (with their stage events and outbox entries) whose record last changed
   * before `before` (ms) and that have no work left (done or parked). Returns how many calls went.
   */
  deleteCallsBefore(pbx: string, before: number): Promise<number>;
  /** The operator's hook switches (admin API): the hooks switched off, kept across restarts. */
  hookSwitches(pbx: string): Promise<string[]>;
  setHookSwitch(pbx: string, hook: string, enabled: boolean): Promise<void>;
  readonly tokens: TokenStore;
  /** Records (or updates) a click-to-call request by the ChannelId its Originate used. */
  saveClickToCall(pbx: string, record: ClickToCallRecord): Promise<void>;
  /** The click-to-call request whose Originate used this ChannelId (= the CEL linkedid), or null. */
  clickToCall(pbx: string, channelId: string): Promise<ClickToCallRecord | null>;
  close(): Promise<void>;
}

export type ClickToCallStatus = 'originating' | 'queued' | 'answered' | 'failed' | 'cancelled' | 'unknown';

export interface ClickToCallRecord {
  /** Our ChannelId: UNIQUEID/LINKEDID of the originated first leg. */
  channelId: string;
  crm: string;
  /** The CRM's call id (Bitrix24 CALL_ID from ONEXTERNALCALLSTART); '' when the CRM has none. */
  crmCallId: string;
  /** The CRM user who clicked. */
  userId: string;
  /** The client's number as dialled (after process_originate_params). */
  phone: string;
  /** The CRM registered the call itself: the connector only finishes it on crmCallId. */
  crmRegistered: boolean;
  status: ClickToCallStatus;
  /** The request's trace: what was asked, the hook's decision, the AMI answers. Never a secret. */
  detail: JsonValue;
  createdAt: number;
  updatedAt: number;
}

export interface PortalOutbox {
  portal: string;
  actions: Record<ActionStatus, number>;
  /** The newest entry that failed, was refused or is in doubt: its key, method and last answer. */
  lastError: { linkedid: string; key: string; method: string; status: ActionStatus; outcome: JsonValue; at: number } | null;
}

export interface NewEvent {
  stage: CallStage;
  conversationId: string;
  atRowId: number;
  callFull: JsonValue;
}
