// Internal call state → a fresh call_full document. Called only when a stage event or a finished call
// is emitted (never per row), and every call builds new objects, so snapshots never share state.
import { legFailureCause, resultCode } from '../result-codes.js';
import type { CallState } from './call.js';
import type { Party } from './channel-model.js';
import { identify, partyNumber } from './classify.js';
import { DEVICE_ANSWER_APPS } from './events.js';
import type { CompiledCallsSettings } from './settings.js';
import { NO_TIME, type CallFull, type CallNumber, type Channel, type ChannelState, type Conversation, type NumberModel } from './types.js';

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` → call_full's `YYYY-MM-DD HH:MM:SS` ('' → the "never" value). */
export function callTime(eventtime: string): string {
  return eventtime === '' ? NO_TIME : eventtime.slice(0, 19);
}

function stateOf(answeredAt: string, ended: boolean): ChannelState {
  return ended ? 'ended' : answeredAt !== '' ? 'talking' : 'ringing';
}

/**
 * An empty plain object in V8's dictionary mode, for the conversations map. Its keys are uniqueids, new
 * in every call: adding such a key to `{}` makes V8 create a hidden class for it (about 1 µs, the most
 * expensive line of a render, and garbage for the GC). A dictionary-mode object skips that and is still
 * an ordinary object: Object.prototype, keys in insertion order, the same JSON.
 */
function dictionaryObject<T>(): Record<string, T> {
  const o: Record<string, unknown> = { a: 0, b: 0 };
  delete o['a']; // deleting a property other than the last one added switches V8 to dictionary mode
  delete o['b'];
  return o as Record<string, T>;
}

/**
 * numbers.build once per distinct number in a render, a fresh copy for every use: in a call with n legs
 * every conversation repeats the caller's and the trunk's numbers, and building one (normalisation, prefix
 * variants) costs more than copying it. Copies, because no two places in call_full may share an object.
 */
function numberCopies(numbers: NumberModel): (raw: string) => CallNumber {
  const built = new Map<string, CallNumber>();
  return (raw) => {
    let n = built.get(raw);
    if (n === undefined) {
      n = numbers.build(raw);
      built.set(raw, n);
    }
    return { base: n.base, custom: n.custom, is_local: n.is_local, original: n.original, variants: n.variants.slice() };
  };
}

export function renderCall(call: CallState, numbers: NumberModel, settings: CompiledCallsSettings): CallFull {
  const id = identify(call, numbers, settings);
  const number = numberCopies(numbers);
  const primary = call.primary();
  const origin = call.originParty();
  const answered = call.answeredAt !== '';

  const conversations = dictionaryObject<Conversation>();
  let active = '';
  let ringing = '';
  let anyConversation = false;
  for (const p of call.partyList) {
    if (!p.requested || !call.isConversation(p, origin)) continue;
    anyConversation = true;
    const ended = p.endedAt !== '';
    if (!ended && p.acceptedAt !== '') active = p.face.uid;
    else if (!ended) ringing = p.face.uid;
    conversations[p.face.uid] = {
      channel: conversationChannel(p, id.from, p.trunk ? id.to : partyNumber(p), id, number, ended),
      is_parked: p.parkedChannel !== '',
      user: null,
    };
  }

  const hungUp = primary !== undefined && (primary.hangupcause !== undefined || primary.dialstatus !== '');
  // A finished call whose main channel never had a HANGUP row: the other legs' causes are the evidence left.
  const cause = call.finished && !answered && primary !== undefined && !primary.hangupRow ? legFailureCause(otherCauses(call, origin)) : primary?.hangupcause;
  const result = call.finished || hungUp
    ? resultCode({ dialstatus: primary?.dialstatus ?? '', hangupcause: cause, answered })
    : answered ? 200 : 180; // in progress: SIP 180 Ringing until someone answers
  const face = origin?.face;
  const dialplanAnswered = face?.answerApp !== undefined && !DEVICE_ANSWER_APPS.has(face.answerApp);

  const channel: Channel = {
    answer_time: callTime(call.answeredAt),
    end_time: call.finished ? callTime(call.endTime) : NO_TIME,
    extra: { ...(primary?.extra ?? {}) },
    from: number(id.from),
    id: primary?.uid ?? call.id,
    is_primary: true,
    name: primary?.name ?? '',
    start_time: callTime(primary?.startTime ?? ''),
    state: stateOf(call.answeredAt, call.finished),
    to: number(id.to),
    trunk: number(id.trunk),
    type: id.type,
    was_answered: answered,
  };
  return {
    active_conversation_id: active !== '' ? active : ringing,
    channel,
    conversations,
    deal: null,
    entity: null,
    is_ivr: !answered && !anyConversation && dialplanAnswered,
    record: call.record,
    registration: null,
    result,
  };
}

function* otherCauses(call: CallState, origin: Party | undefined): Generator<number | undefined> {
  for (const c of call.channels.values()) if (origin === undefined || c.partyKey !== origin.key) yield c.hangupcause;
}

function conversationChannel(
  p: Party, from: string, to: string, id: { trunk: string; type: Channel['type'] }, number: (raw: string) => CallNumber, ended: boolean,
): Channel {
  return {
    answer_time: callTime(p.acceptedAt),
    end_time: callTime(p.endedAt),
    extra: { ...p.face.extra },
    from: number(from),
    id: p.face.uid,
    is_primary: false,
    name: p.face.name,
    start_time: callTime(p.channels[0]?.startTime ?? ''),
    state: stateOf(p.acceptedAt, ended),
    to: number(to),
    trunk: number(id.trunk),
    type: id.type,
    was_answered: p.acceptedAt !== '',
  };
}
