// One call in progress: the channels of every linkedid that belongs to it, grouped into parties,
// plus what the rows said about recording, parking and the end. Rows are applied in arrival order;
// cross-call concerns (which call a row belongs to, merges, bridges) live in grouping.ts and bridges.ts.
import type { CelRow } from '../row.js';
import type { ExtraObject } from '../parse-extra.js';
import { extraNumber, extraString } from '../parse-extra.js';
import type { ChannelName } from './channel-names.js';
import { newChannel, partyEnded, type ChanState, type Party } from './channel-model.js';
import { EXTRA_KEPT_EVENTS, HANDLED_EVENTS, NOISE_EVENTS } from './events.js';
import { matchesAny, type CompiledCallsSettings } from './settings.js';

export class CallState {
  /** The call's id: the first linkedid seen (its primary channel has uniqueid = this). */
  readonly id: string;
  firstRowId: number;
  /** linkedid → whether its LINKEDID_END arrived. */
  readonly linkedids = new Map<string, boolean>();
  /** Raw rows in id order (for pendingRows and rowCount). */
  rows: CelRow[] = [];
  readonly channels = new Map<string, ChanState>();
  readonly parties = new Map<string, Party>();
  /** Parties in order of appearance (row id). */
  partyList: Party[] = [];
  record = '';
  lastEventTime = '';
  answeredAt = '';
  endTime = '';
  finished = false;
  /** Something that can change a conversation's stage happened since the last stage sync. */
  dirty = false;
  /** Rows of channel events (isChannelEvent): a call with none is user-defined/noise rows only and is not reported. */
  channelRows = 0;
  /**
   * Its rows cannot be re-read from the source (they came before a table reset: that id space is gone), so a
   * resume state keeps its rows instead of a reference (CallAssembler.pinnedRows).
   */
  pinned = false;

  constructor(id: string, firstRowId: number, private readonly settings: CompiledCallsSettings) {
    this.id = id;
    this.firstRowId = firstRowId;
  }

  primary(): ChanState | undefined {
    const own = this.channels.get(this.id);
    if (own !== undefined) return own;
    // The primary's CHAN_START came before we started reading: fall back to the oldest channel.
    for (const c of this.channels.values()) return c;
    return undefined;
  }

  originParty(): Party | undefined {
    const p = this.primary();
    return p === undefined ? undefined : this.parties.get(p.partyKey);
  }

  isConversation(party: Party, origin: Party | undefined): boolean {
    return party.endpoint && party !== origin;
  }

  allLinkedidsEnded(): boolean {
    for (const ended of this.linkedids.values()) if (!ended) return false;
    return this.linkedids.size > 0;
  }

  private partyKeyFor = (p: ChannelName): string => p.pairKey;

  ensureChannel(row: CelRow): ChanState {
    let c = this.channels.get(row.uniqueid);
    if (c !== undefined) return c;
    c = newChannel(row, this.partyKeyFor);
    this.channels.set(c.uid, c);
    let party = this.parties.get(c.partyKey);
    if (party === undefined) {
      const s = this.settings;
      const trunk = matchesAny(s.trunkChannel, c.name) || (c.startContext !== '' && matchesAny(s.trunkContext, c.startContext));
      const endpoint = !c.parsed.isLocal || trunk || matchesAny(s.localEndpoint, c.name);
      party = {
        key: c.partyKey, order: row.id, channels: [c], endpoint, trunk, face: c,
        requested: false, acceptedAt: '', endedAt: '', parkedChannel: '',
      };
      this.parties.set(party.key, party);
      this.partyList.push(party);
      this.dirty = true;
    } else {
      party.channels.push(c);
      if (c.parsed.half === 1) party.face = c;
      if (!party.trunk && c.startContext !== '' && matchesAny(this.settings.trunkContext, c.startContext)) party.trunk = true;
    }
    return c;
  }

  /** Applies one row that belongs to this call. Returns false when the row was noise (counted as ignored). */
  apply(row: CelRow, extra: ExtraObject): boolean {
    if (!this.linkedids.has(row.linkedid)) this.linkedids.set(row.linkedid, false);
    if (row.eventtime > this.lastEventTime) this.lastEventTime = row.eventtime;
    const type = row.eventtype;
    const c = this.ensureChannel(row);
    if (c.cidNum === '' && row.cid_num !== '') c.cidNum = row.cid_num;
    if (row.context !== c.startContext && row.context !== '') {
      if (c.movedExten === '' && row.exten !== '' && row.exten !== 's') c.movedExten = row.exten;
      if (!c.passedOutbound && matchesAny(this.settings.outboundContext, row.context)) c.passedOutbound = true;
    }
    if (!HANDLED_EVENTS.has(type)) {
      if (!NOISE_EVENTS.has(type)) {
        // A USER_DEFINED event (the assembler rejected unknown names before): eventtype holds the user's name. Keep its text for hooks.
        const name = row.userdeftype !== '' ? row.userdeftype : type;
        const text = extra['extra'];
        c.extra[name] = typeof text === 'string' ? text : extra;
      }
      return false;
    }
    if (type !== 'LINKEDID_END') this.channelRows++;
    if (EXTRA_KEPT_EVENTS.has(type)) Object.assign(c.extra, extra);
    switch (type) {
      case 'ANSWER':
        if (c.answerApp === undefined) c.answerApp = row.appname;
        break;
      case 'HANGUP': {
        c.hangupRow = true;
        const status = extraString(extra, 'dialstatus');
        if (status !== '') c.dialstatus = status;
        const cause = extraNumber(extra, 'hangupcause');
        if (cause !== undefined) c.hangupcause = cause;
        break;
      }
      case 'CHAN_END':
        c.ended = true;
        c.endTime = row.eventtime;
        this.dirty = true;
        break;
      case 'APP_START':
        if (this.record === '' && row.appname.toLowerCase() === 'mixmonitor') {
          // MixMonitor(<file>[,options[,command]]): the file is the first argument.
          this.record = row.appdata.split(',')[0]?.trim() ?? '';
        }
        break;
      case 'PARK_START':
        this.park(c);
        break;
      case 'PARK_END':
        for (const p of this.partyList) if (p.parkedChannel === c.uid) p.parkedChannel = '';
        this.dirty = true;
        break;
      case 'LINKEDID_END':
        this.linkedids.set(row.linkedid, true);
        break;
      default:
        break;
    }
    return true;
  }

  /** PARK_START on channel c: the conversation that was talking with it is now holding a parked call. */
  private park(c: ChanState): void {
    const origin = this.originParty();
    const own = this.parties.get(c.partyKey);
    let holder: Party | undefined;
    if (own !== undefined && own !== origin && own.endpoint) {
      holder = own;
    } else {
      for (const p of this.partyList) {
        if (this.isConversation(p, origin) && p.acceptedAt !== '' && !partyEnded(p)) holder = p;
      }
    }
    if (holder !== undefined) holder.parkedChannel = c.uid;
    this.dirty = true;
  }

  /** Moves everything of `other` into this call (linkedids that share a channel, pickup, park retrieval). */
  absorb(other: CallState): void {
    for (const [lid, ended] of other.linkedids) this.linkedids.set(lid, (this.linkedids.get(lid) ?? false) || ended);
    for (const [uid, c] of other.channels) if (!this.channels.has(uid)) this.channels.set(uid, c);
    for (const p of other.partyList) {
      const mine = this.parties.get(p.key);
      if (mine === undefined) {
        this.parties.set(p.key, p);
        this.partyList.push(p);
      } else {
        for (const c of p.channels) if (!mine.channels.includes(c)) mine.channels.push(c);
      }
    }
    this.partyList.sort((a, b) => a.order - b.order);
    this.rows = mergeById(this.rows, other.rows);
    this.channelRows += other.channelRows;
    this.pinned ||= other.pinned;
    if (this.record === '') this.record = other.record;
    if (other.lastEventTime > this.lastEventTime) this.lastEventTime = other.lastEventTime;
    if (this.answeredAt === '' || (other.answeredAt !== '' && other.answeredAt < this.answeredAt)) {
      if (other.answeredAt !== '') this.answeredAt = other.answeredAt;
    }
    this.dirty = true;
  }
}

function mergeById(a: CelRow[], b: CelRow[]): CelRow[] {
  const out: CelRow[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]!.id <= b[j]!.id ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}
