// Per-channel state (one CEL uniqueid) and per-party state. A party is what a person or a line is:
// one technology channel, or both halves of a Local pair (collapsed by pairKey). Parties that are
// "endpoints" (phones, trunks) can be conversations; Local pairs that are dialplan plumbing never are.
import type { CelRow } from '../row.js';
import { parseChannelName, type ChannelName } from './channel-names.js';
import type { ExtraObject } from '../parse-extra.js';

export interface ChanState {
  uid: string;
  name: string;
  parsed: ChannelName;
  partyKey: string;
  /** eventtime of CHAN_START (or of the first row seen when CHAN_START was missed). */
  startTime: string;
  startExten: string;
  startContext: string;
  /** First non-empty cid_num seen on this channel. */
  cidNum: string;
  /** Exten of the first row whose context differs from startContext (what the channel went on to dial). */
  movedExten: string;
  /** appname of the first ANSWER row ('' = not answered yet). */
  answerApp: string | undefined;
  /** true once the channel entered a bridge (before its first ANSWER = not an originate). */
  bridgedOnce: boolean;
  /** A HANGUP row was seen (its extra may still have been unreadable). */
  hangupRow: boolean;
  dialstatus: string;
  hangupcause: number | undefined;
  /** eventtime when the channel was first in a non-holding bridge together with another channel. */
  connectedAt: string;
  ended: boolean;
  endTime: string;
  passedOutbound: boolean;
  extra: ExtraObject;
}

export function newChannel(row: CelRow, partyKeyFor: (p: ChannelName) => string): ChanState {
  const parsed = parseChannelName(row.channame);
  return {
    uid: row.uniqueid,
    name: row.channame,
    parsed,
    partyKey: partyKeyFor(parsed),
    startTime: row.eventtime,
    startExten: row.exten,
    startContext: row.context,
    cidNum: row.cid_num,
    movedExten: '',
    answerApp: undefined,
    bridgedOnce: false,
    hangupRow: false,
    dialstatus: '',
    hangupcause: undefined,
    connectedAt: '',
    ended: false,
    endTime: '',
    passedOutbound: false,
    extra: {},
  };
}

export interface Party {
  key: string;
  /** Row id that created the party: orders conversations. */
  order: number;
  channels: ChanState[];
  endpoint: boolean;
  trunk: boolean;
  /** The channel that faces the PBX: the technology channel, or the `;1` half of a Local pair. */
  face: ChanState;
  requested: boolean;
  acceptedAt: string;
  endedAt: string;
  /** uniqueid of the parked channel this party is holding (is_parked), '' when none. */
  parkedChannel: string;
}

export function partyEnded(p: Party): boolean {
  for (const c of p.channels) if (!c.ended) return false;
  return true;
}
