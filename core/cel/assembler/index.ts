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
// Completion: a call is finished when every linkedid in it had LINKEDID_END, or by expire() after
// `calls.safety_timeout_seconds` without rows, measured on CEL eventtime (PBX clock), not on arrival time,
// so a replay and a live run decide identically.
import type { CelRow } from '../row.js';
import { parseExtra, extraString, type ExtraObject } from '../parse-extra.js';
import { BridgeTracker, HOLDING_BRIDGE } from './bridges.js';
import type { CallState } from './call.js';
import { fastExtra } from './fast-extra.js';
import { CallRegistry } from './grouping.js';
import { renderCall } from './render.js';
import { compileCallsSettings, type CallsSettings, type CompiledCallsSettings } from './settings.js';
import { syncStages, type StageEvent } from './stages.js';
import type { CallFull, NumberModel } from './types.js';
import { eventTimeToMs } from './time.js';

export type { StageEvent } from './stages.js';
export type { CallFull, CallStage, CallNumber, Channel, Conversation, NumberModel } from './types.js';
export { DEFAULT_CALLS_SETTINGS, compileCallsSettings, CallsSettingsError, type CallsSettings } from './settings.js';

export interface AssemblerWarning {
  code: 'bad_extra' | 'missing_field' | 'duplicate_row' | 'out_of_order' | 'late_row' | 'timeout';
  message: string;
  rowId?: number;
}

export interface AssemblerOptions {
  /** The `calls` settings section; missing keys take the schema defaults. */
  calls: Partial<CallsSettings>;
  numbers: NumberModel;
  onWarning?(w: AssemblerWarning): void;
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
  /** Rows without uniqueid/linkedid/eventtype (counted in `ignored` too). */
  missingFields: number;
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
  private readonly counters = { rows: 0, ignored: 0, duplicates: 0, outOfOrder: 0, badExtra: 0, late: 0, missingFields: 0, callsFinished: 0 };
  private readonly render = (call: CallState): CallFull => renderCall(call, this.numbers, this.settings);

  constructor(options: AssemblerOptions) {
    this.settings = compileCallsSettings(options.calls);
    this.numbers = options.numbers;
    this.warn = options.onWarning ?? (() => {});
    this.registry = new CallRegistry(this.settings);
  }

  get stats(): Readonly<AssemblerStats> {
    return { ...this.counters, callsInProgress: this.registry.live.size };
  }

  push(row: CelRow): void {
    const n = this.counters;
    n.rows++;
    if (!row.uniqueid || !row.linkedid || !row.eventtype || typeof row.id !== 'number' || !Number.isFinite(row.id)) {
      n.missingFields++;
      n.ignored++;
      this.warn({ code: 'missing_field', message: `CEL row ${String(row.id)} has no ${missingName(row)}; ignored`, rowId: row.id });
      return;
    }
    let call: CallState | undefined;
    if (row.id <= this.maxId) {
      // Not the next row: a duplicate, a row of a call already finished, or a row written out of order.
      const existing = this.registry.find(row);
      if (existing === undefined && this.registry.isFinishedLinkedid(row.linkedid)) {
        n.late++;
        n.ignored++;
        this.warn({ code: 'late_row', message: `CEL row ${row.id} (${row.eventtype}) belongs to call ${row.linkedid}, already finished; ignored`, rowId: row.id });
        return;
      }
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
    if (row.eventtime > this.newestEventTime) this.newestEventTime = row.eventtime;

    const type = row.eventtype;
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

    if (call.dirty) syncStages(call, this.render, this.stages, row.id);
    if (type === 'LINKEDID_END' && call.allLinkedidsEnded()) this.finish(call, 'linkedid_end', row.eventtime, row.id);
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
    return out;
  }

  drainFinished(): FinishedCall[] {
    const out = this.finished;
    this.finished = [];
    return out;
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
  }

  private timeOut(call: CallState): void {
    const missing = [...call.linkedids].filter(([, ended]) => !ended).map(([lid]) => lid);
    this.warn({ code: 'timeout', message: `call ${call.id} finished without LINKEDID_END for ${missing.join(', ')}` });
    const lastRow = call.rows[call.rows.length - 1];
    this.finish(call, 'timeout', call.lastEventTime, lastRow?.id ?? 0);
  }

  /** Raw rows of the calls still in progress, in id order: persist them; re-push them into a new assembler to resume. */
  pendingRows(): CelRow[] {
    const rows: CelRow[] = [];
    for (const call of this.registry.live) for (const r of call.rows) rows.push(r);
    return rows.sort((a, b) => a.id - b.id);
  }
}

export function assembleAll(rows: Iterable<CelRow>, options: AssemblerOptions): { calls: FinishedCall[]; stages: StageEvent[] } {
  const assembler = new CallAssembler(options);
  for (const row of rows) assembler.push(row);
  assembler.flush();
  return { calls: assembler.drainFinished(), stages: assembler.drainStages() };
}

function missingName(row: CelRow): string {
  const names: string[] = [];
  if (!row.uniqueid) names.push('uniqueid');
  if (!row.linkedid) names.push('linkedid');
  if (!row.eventtype) names.push('eventtype');
  if (typeof row.id !== 'number' || !Number.isFinite(row.id)) names.push('id');
  return names.join(', ');
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
