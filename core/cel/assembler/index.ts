// The call assembler: CEL rows in (any source, normalised to CelRow), call_full documents and stage
// events out. Module map:
//   grouping.ts      which call a row belongs to (linkedid/uniqueid merging)
//   channel-names.ts Local pair / technology channel name parsing
//   channel-model.ts channel and party (collapsed Local pair) state
//   call.ts          applying one row to a call (answer, hangup, park, recording, …)
//   bridges.ts       bridge membership → "answered"
//   classify.ts      from/to/trunk and the call type
//   render.ts        state → call_full
//   stages.ts        conversation/call stage events
//   warnings.ts      warning codes and the per-batch summary that keeps floods to a few lines
// Completion: a call is finished when every linkedid in it had LINKEDID_END, or by expire() after
// `calls.safety_timeout_seconds` without rows, measured on CEL eventtime (PBX clock), not on arrival time,
// so a replay and a live run decide identically. A call made only of user-defined/noise rows (no channel
// event) is dropped with a warning instead of being reported.
import type { CelRow } from '../row.js';
import { parseExtra, extraString, type ExtraObject } from '../parse-extra.js';
import { printable } from '../printable.js';
import { BridgeTracker, HOLDING_BRIDGE } from './bridges.js';
import { isChannelEvent, isUserDefined, KNOWN_EVENTS } from './events.js';
import type { CallState } from './call.js';
import { fastExtra } from './fast-extra.js';
import { CallRegistry } from './grouping.js';
import { renderCall } from './render.js';
import { compileCallsSettings, type CallsSettings, type CompiledCallsSettings } from './settings.js';
import { syncStages, type StageEvent } from './stages.js';
import type { CallFull, NumberModel } from './types.js';
import { eventTimeToMs } from './time.js';
import { WarningWindow, type AssemblerWarning } from './warnings.js';

export type { StageEvent } from './stages.js';
export type { CallFull, CallStage, CallNumber, Channel, Conversation, NumberModel } from './types.js';
export { DEFAULT_CALLS_SETTINGS, compileCallsSettings, CallsSettingsError, type CallsSettings } from './settings.js';
export { WARNINGS_PER_WINDOW, type AssemblerWarning, type AssemblerWarningCode } from './warnings.js';

export interface AssemblerOptions {
  /** The `calls` settings section; missing keys take the schema defaults. */
  calls: Partial<CallsSettings>;
  numbers: NumberModel;
  /** Per batch (see warnings.ts) the first WARNINGS_PER_WINDOW of each code, then one summary per code. */
  onWarning?(w: AssemblerWarning): void;
}

/** What a resume state needs to rebuild the open calls by re-reading their rows (see CelState in sources). */
export interface OpenCalls {
  /** Id of the first row of the oldest open call: its rows, and every other open call's, are at or above it. */
  fromId: number;
  /** Every linkedid of every open call: the rows to re-push are those with one of these linkedids. */
  linkedids: string[];
}

export interface FinishedCall {
  linkedid: string;
  callFull: CallFull;
  complete: 'linkedid_end' | 'timeout';
  rowCount: number;
}

export interface AssemblerStats {
  rows: number;
  ignored: number;
  duplicates: number;
  outOfOrder: number;
  badExtra: number;
  /** Rows that referred to a call already finished (counted in `ignored` too). */
  late: number;
  /** Rows without (or with a blank) uniqueid/linkedid/eventtype (counted in `ignored` too). */
  missingFields: number;
  /** Rows whose eventtype is no Asterisk event and no user-defined one (counted in `ignored` too). */
  unknownEvents: number;
  /** Rows whose eventtime was empty or went back in time within their call (applied at the call's last time). */
  badTimes: number;
  /** "Calls" of user-defined/noise rows only, dropped when they ended instead of being reported. */
  droppedCalls: number;
  callsInProgress: number;
  callsFinished: number;
}

/** Events whose extra the assembler reads; other rows never pay for JSON.parse. */
const NEEDS_EXTRA = new Set([
  'HANGUP', 'BRIDGE_ENTER', 'BRIDGE_EXIT', 'BLINDTRANSFER', 'ATTENDEDTRANSFER', 'PARK_START', 'PARK_END',
  'PICKUP', 'FORWARD',
]);
const KNOWN_NON_USER = new Set([
  'CHAN_START', 'CHAN_END', 'ANSWER', 'APP_START', 'APP_END', 'LINKEDID_END', 'DTMF', 'STREAM_BEGIN', 'STREAM_END',
  'LOCAL_OPTIMIZE', 'LOCAL_OPTIMIZE_BEGIN',
]);
const EMPTY_EXTRA: ExtraObject = Object.freeze({}) as ExtraObject;

export class CallAssembler {
  private readonly settings: CompiledCallsSettings;
  private readonly numbers: NumberModel;
  private readonly warn: (w: AssemblerWarning) => void;
  private readonly registry: CallRegistry;
  private readonly bridges = new BridgeTracker();
  private stages: StageEvent[] = [];
  private finished: FinishedCall[] = [];
  private maxId = -Infinity;
  /** Newest eventtime pushed (the text sorts as time): the PBX clock as far as the rows tell it. */
  private newestEventTime = '';
  private readonly counters = {
    rows: 0, ignored: 0, duplicates: 0, outOfOrder: 0, badExtra: 0, late: 0, missingFields: 0, unknownEvents: 0,
    badTimes: 0, droppedCalls: 0, callsFinished: 0,
  };
  private readonly warnings: WarningWindow;
  /** Conversations rendered into the stage events not drained yet: what holding them costs (see outputWeight). */
  private weight = 0;
  private readonly render = (call: CallState): CallFull => {
    this.weight += call.partyList.length + 1;
    return renderCall(call, this.numbers, this.settings);
  };

  constructor(options: AssemblerOptions) {
    this.settings = compileCallsSettings(options.calls);
    this.numbers = options.numbers;
    this.warnings = new WarningWindow(options.onWarning ?? (() => {}));
    this.warn = (w) => this.warnings.warn(w);
    this.registry = new CallRegistry(this.settings);
  }

  /**
   * Size of the stage events waiting to be drained, in rendered conversations (+1 per event): each is a
   * full call_full, so a call with n legs makes ~2n events of up to n conversations. A consumer that drains
   * when this passes a budget holds memory linear in the call's size, not quadratic (runIngest does).
   */
  get outputWeight(): number {
    return this.weight;
  }

  get stats(): Readonly<AssemblerStats> {
    return { ...this.counters, callsInProgress: this.registry.live.size };
  }

  push(row: CelRow): void {
    const n = this.counters;
    n.rows++;
    const missing = missingName(row);
    if (missing !== '') {
      n.missingFields++;
      n.ignored++;
      this.warn({ code: 'missing_field', message: `CEL row ${String(row.id)} has no ${missing}; ignored`, rowId: row.id });
      return;
    }
    const type = row.eventtype;
    if (!KNOWN_EVENTS.has(type) && !isUserDefined(type, row.userdeftype)) {
      // Not an Asterisk event, and not a user-defined one (whose name cel_odbc also writes into userdeftype):
      // taking it for one would make every garbage row with its own linkedid a call.
      n.unknownEvents++;
      n.ignored++;
      this.warn({ code: 'unknown_event', message: `CEL row ${row.id}: unknown eventtype ${printable(type, 40)} (userdeftype ${printable(row.userdeftype, 40)}); ignored`, rowId: row.id });
      return;
    }
    const existing = this.registry.find(row);
    if (existing === undefined && this.registry.isFinishedLinkedid(row.linkedid)) {
      // A row of a call already finished (a late commit, a table logged twice): never a second call.
      n.late++;
      n.ignored++;
      this.warn({ code: 'late_row', message: `CEL row ${row.id} (${type}) belongs to call ${row.linkedid}, already finished; ignored`, rowId: row.id });
      return;
    }
    let call: CallState;
    if (row.id <= this.maxId) {
      // Not the next row: a duplicate, or a row written (or delivered) out of order.
      if (existing !== undefined && hasRowId(existing.rows, row.id)) {
        n.duplicates++;
        this.warn({ code: 'duplicate_row', message: `CEL row ${row.id} arrived twice; the copy is ignored`, rowId: row.id });
        return;
      }
      n.outOfOrder++;
      this.warn({ code: 'out_of_order', message: `CEL row ${row.id} arrived after row ${this.maxId}; applied in arrival order`, rowId: row.id });
      call = this.registry.callFor(row);
      insertById(call.rows, row);
    } else {
      this.maxId = row.id;
      call = this.registry.callFor(row);
      call.rows.push(row);
    }
    row = this.inTime(call, row);
    if (row.eventtime > this.newestEventTime) this.newestEventTime = row.eventtime;

    let extra = EMPTY_EXTRA;
    if (row.extra !== '' && (NEEDS_EXTRA.has(type) || !KNOWN_NON_USER.has(type))) {
      const fast = fastExtra(type, row.extra);
      if (fast !== undefined) {
        extra = fast;
      } else {
        const parsed = parseExtra(type, row.extra);
        extra = parsed.value;
        if (!parsed.ok) {
          n.badExtra++;
          this.warn({ code: 'bad_extra', message: `CEL row ${row.id} (${type}): ${parsed.error}`, rowId: row.id });
        }
      }
    }

    call = this.crossCallLinks(call, row, extra);
    if (!call.apply(row, extra)) n.ignored++;
    if (type === 'BRIDGE_ENTER' || type === 'BRIDGE_EXIT') call = this.bridge(call, row, extra);

    if (call.dirty && call.channelRows > 0) syncStages(call, this.render, this.stages, row.id);
    if (type === 'LINKEDID_END' && call.allLinkedidsEnded()) this.finish(call, 'linkedid_end', row.eventtime, row.id);
  }

  /**
   * No time in a call goes backwards: a row whose eventtime is empty or before the call's last one (a clock
   * step, a bad export) is applied at the call's last time, so end_time never precedes start_time. Steps of
   * up to a second are normal (MySQL rounds DATETIME fractions, so neighbours can swap seconds) and not warned.
   */
  private inTime(call: CallState, row: CelRow): CelRow {
    const last = call.lastEventTime;
    if (last === '' || row.eventtime >= last) return row;
    if (row.eventtime === '') {
      this.counters.badTimes++;
      this.warn({ code: 'bad_time', message: `CEL row ${row.id} (${row.eventtype}) has no eventtime; applied at its call's last time ${last}`, rowId: row.id });
    } else {
      const back = eventTimeToMs(last, '') - eventTimeToMs(row.eventtime, '');
      if (!(back <= 1000)) {
        this.counters.badTimes++;
        this.warn({ code: 'bad_time', message: `CEL row ${row.id} (${row.eventtype}): eventtime ${row.eventtime} is before its call's last time ${last}; applied at ${last}`, rowId: row.id });
      }
    }
    return { ...row, eventtime: last };
  }

  /** Rows that name a channel of another call (pickup, park retrieval, attended transfer) join the calls. */
  private crossCallLinks(call: CallState, row: CelRow, extra: ExtraObject): CallState {
    switch (row.eventtype) {
      case 'PICKUP':
        return this.join(call, extraString(extra, 'pickup_channel_uniqueid'));
      case 'PARK_END':
        return this.join(call, this.registry.uidByName.get(extraString(extra, 'retriever')) ?? '');
      case 'ATTENDEDTRANSFER':
        call = this.join(call, extraString(extra, 'transferee_channel_uniqueid'));
        call = this.join(call, extraString(extra, 'channel2_uniqueid'));
        return this.join(call, extraString(extra, 'transfer_target_channel_uniqueid'));
      default:
        return call;
    }
  }

  private join(call: CallState, uid: string): CallState {
    if (uid === '' || uid === 'N/A') return call;
    const other = this.registry.byUniqueid.get(uid);
    return other !== undefined && other !== call ? this.registry.merge(call, other) : call;
  }

  private bridge(call: CallState, row: CelRow, extra: ExtraObject): CallState {
    // Dumps without the extra column (Wazo's older fixtures, some ODBC schemas) have no bridge_id: treat
    // all such bridge rows of one call as one bridge, which is right for the two-party calls they show.
    const bridgeId = extraString(extra, 'bridge_id') || `no-bridge-id:${call.id}`;
    const chan = call.channels.get(row.uniqueid);
    if (chan === undefined) return call;
    if (row.eventtype === 'BRIDGE_EXIT') {
      this.bridges.exit(bridgeId, row.uniqueid);
      return call;
    }
    const technology = extraString(extra, 'bridge_technology');
    const others = this.bridges.enter(bridgeId, technology, chan, row.eventtime);
    if (technology !== HOLDING_BRIDGE && technology !== 'softmix') {
      // Two calls talking in one bridge are one call (a transfer that joined two separate calls).
      for (const m of others) {
        const mc = this.registry.byUniqueid.get(m.uid);
        if (mc !== undefined && mc !== call) call = this.registry.merge(call, mc);
      }
    }
    if (others.length > 0) call.dirty = true;
    return call;
  }

  private finish(call: CallState, complete: FinishedCall['complete'], endTime: string, atRowId: number): void {
    call.endTime = endTime;
    call.finished = true;
    if (call.channelRows === 0) {
      // Only user-defined/noise rows (or a lone LINKEDID_END): nothing a person would call a call.
      this.counters.droppedCalls++;
      this.warn({ code: 'no_channel_event', message: `call ${call.id} (${call.rows.length} rows, up to row ${atRowId}) has no channel event (only user-defined or noise rows); not reported as a call`, rowId: atRowId });
      for (const uid of call.channels.keys()) this.bridges.forget(uid);
      this.registry.retire(call);
      return;
    }
    const primary = call.primary();
    if (primary !== undefined && !primary.hangupRow && call.answeredAt === '') {
      this.warn({ code: 'no_hangup', message: `call ${call.id} (ended at row ${atRowId}): its main channel ${primary.name || primary.uid} has no HANGUP row, so its dialstatus is unknown; result taken from the other legs' causes`, rowId: atRowId });
    }
    syncStages(call, this.render, this.stages, atRowId, true);
    const callFull = this.render(call);
    this.stages.push({ stage: 'call_ended', linkedid: call.id, conversationId: '', callFull: this.render(call), atRowId });
    this.finished.push({ linkedid: call.id, callFull, complete, rowCount: call.rows.length });
    this.counters.callsFinished++;
    for (const uid of call.channels.keys()) this.bridges.forget(uid);
    this.registry.retire(call);
  }

  drainStages(): StageEvent[] {
    const out = this.stages;
    this.stages = [];
    this.weight = 0;
    return out;
  }

  /** The calls finished since the last drain; also ends the warning window (see warnings.ts). */
  drainFinished(): FinishedCall[] {
    const out = this.finished;
    this.finished = [];
    this.warnings.close();
    return out;
  }

  /** Ends the warning window now: one summary per code that had more than WARNINGS_PER_WINDOW warnings. */
  summarizeWarnings(): void {
    this.warnings.close();
  }

  /**
   * Safety timeout: finishes calls whose newest row's eventtime (PBX clock, converted with
   * calls.pbx_time_zone) is more than calls.safety_timeout_seconds before nowMs (epoch ms, e.g. Date.now()).
   */
  expire(nowMs: number): void {
    for (const call of [...this.registry.live]) {
      const last = eventTimeToMs(call.lastEventTime, this.settings.pbxTimeZone);
      if (Number.isFinite(last) && nowMs - last > this.settings.safetyTimeoutMs) this.timeOut(call);
    }
  }

  /**
   * The safety timeout by the rows' own clock: finishes calls with no row for safety_timeout_seconds of
   * PBX time before the newest row pushed. Use it while rows flow (a backlog being caught up is old by
   * the wall clock, and its calls must not be cut between two batches); expire(Date.now()) is for when
   * the PBX has gone quiet.
   */
  expireByRowTime(): void {
    if (this.newestEventTime === '') return;
    const newest = eventTimeToMs(this.newestEventTime, this.settings.pbxTimeZone);
    if (Number.isFinite(newest)) this.expire(newest);
  }

  /** Finishes every call still in progress as 'timeout' (end of a replayed file). */
  flush(): void {
    for (const call of [...this.registry.live]) this.timeOut(call);
    this.warnings.close();
  }

  private timeOut(call: CallState): void {
    const missing = [...call.linkedids].filter(([, ended]) => !ended).map(([lid]) => lid);
    this.warn({ code: 'timeout', message: `call ${call.id} finished without LINKEDID_END for ${missing.join(', ')}` });
    const lastRow = call.rows[call.rows.length - 1];
    this.finish(call, 'timeout', call.lastEventTime, lastRow?.id ?? 0);
  }

  /** Raw rows of the calls still in progress, in id order: persist them; re-push them into a new assembler to resume. */
  pendingRows(): CelRow[] {
    return this.rowsOf(() => true);
  }

  /** Rows of the open calls that cannot be re-read from the source (pinned at a table reset), in id order. */
  pinnedRows(): CelRow[] {
    return this.rowsOf((call) => call.pinned);
  }

  private rowsOf(which: (call: CallState) => boolean): CelRow[] {
    const rows: CelRow[] = [];
    for (const call of this.registry.live) if (which(call)) for (const r of call.rows) rows.push(r);
    return rows.sort((a, b) => a.id - b.id);
  }

  /**
   * The open calls (not pinned) as a reference into the source instead of their rows: a resume state of
   * ~30 bytes per linkedid, whatever the calls' sizes. Undefined when no such call is open.
   */
  openCalls(): OpenCalls | undefined {
    let fromId = Infinity;
    const linkedids: string[] = [];
    for (const call of this.registry.live) {
      if (call.pinned) continue;
      const first = call.rows[0]?.id ?? call.firstRowId;
      if (first < fromId) fromId = first;
      for (const lid of call.linkedids.keys()) linkedids.push(lid);
    }
    return linkedids.length === 0 ? undefined : { fromId, linkedids };
  }

  /** The linkedids of the last `limit` finished calls (newest last), for a resume state: see rememberFinished. */
  recentlyFinished(limit: number): string[] {
    return this.registry.recentlyFinished(limit);
  }

  /** Whether a linkedid belongs to a call that finished (within the remembered last 50,000). */
  isFinished(linkedid: string): boolean {
    return this.registry.isFinishedLinkedid(linkedid);
  }

  /** A resume state named open calls the source no longer has (a table recreated while stopped): said, not hidden. */
  restoreFailed(linkedids: readonly string[], where: string): void {
    const shown = linkedids.slice(0, 5).join(', ') + (linkedids.length > 5 ? `, … (${linkedids.length} in all)` : '');
    this.warn({ code: 'restore', message: `the resume state's open calls ${shown} have no rows in ${where} any more (was the table recreated while the connector was stopped?); they cannot be rebuilt` });
  }

  /** After a restart: these calls finished before it, so their late rows are not a new call. */
  rememberFinished(linkedids: Iterable<string>): void {
    for (const lid of linkedids) this.registry.rememberFinished(lid);
  }

  /**
   * Rebuilds open calls from a resume state: the rows are pushed as usual, but their warnings and stage
   * events were reported by the run that saved the state, so they are dropped. A call that finishes here
   * cannot have been open at the save; it is dropped with a `restore` warning.
   */
  restore(rows: readonly CelRow[]): void {
    this.warnings.muted = true;
    try {
      for (const row of rows) this.push(row);
    } finally {
      this.warnings.muted = false;
    }
    this.stages = [];
    this.weight = 0;
    for (const call of this.finished) {
      this.warn({ code: 'restore', message: `call ${call.linkedid} finished while its rows were restored (${call.rowCount} rows); it is not reported again` });
    }
    this.finished = [];
  }

  /**
   * The source started a new id space (its table was recreated or emptied: ids restart). Open calls are
   * pinned (their rows are gone from the source, so a resume state must keep them) and id order restarts,
   * so the new rows are not all taken for out-of-order copies.
   */
  startNewIdSpace(): void {
    for (const call of this.registry.live) call.pinned = true;
    this.maxId = -Infinity;
  }
}

export function assembleAll(rows: Iterable<CelRow>, options: AssemblerOptions): { calls: FinishedCall[]; stages: StageEvent[] } {
  const assembler = new CallAssembler(options);
  for (const row of rows) assembler.push(row);
  assembler.flush();
  return { calls: assembler.drainFinished(), stages: assembler.drainStages() };
}

/** '' when the row has every key field; else which are absent or blank (`" "` would merge unrelated calls). */
function missingName(row: CelRow): string {
  // The usual row has every field: answered without building a list.
  if (!isBlank(row.uniqueid) && !isBlank(row.linkedid) && !isBlank(row.eventtype) && typeof row.id === 'number' && Number.isFinite(row.id)) return '';
  const names: string[] = [];
  if (isBlank(row.uniqueid)) names.push(row.uniqueid ? `uniqueid (blank: ${printable(row.uniqueid)})` : 'uniqueid');
  if (isBlank(row.linkedid)) names.push(row.linkedid ? `linkedid (blank: ${printable(row.linkedid)})` : 'linkedid');
  if (isBlank(row.eventtype)) names.push('eventtype');
  if (typeof row.id !== 'number' || !Number.isFinite(row.id)) names.push('id');
  return names.join(', ');
}

function isBlank(value: string): boolean {
  if (typeof value !== 'string' || value === '') return true;
  // Fast path: Asterisk ids start with a digit or a letter; only odd values pay for the trim.
  const c = value.charCodeAt(0);
  return c <= 32 || c === 0xa0 || c >= 0x1680 ? value.trim() === '' : false;
}

function hasRowId(rows: readonly CelRow[], id: number): boolean {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = rows[mid]!.id;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function insertById(rows: CelRow[], row: CelRow): void {
  let i = rows.length;
  while (i > 0 && rows[i - 1]!.id > row.id) i--;
  rows.splice(i, 0, row);
}
