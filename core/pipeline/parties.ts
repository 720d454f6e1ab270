// Who is who in a call_full, for the CRM side: the client's Number, the employee of each conversation,
// who answered, talk time. Pure functions over the contract's types; the assembler decided the facts,
// this only reads them the way a CRM request needs them.
import type { CallFull, CallNumber, Channel, Conversation } from '../../types/call_full.js';

export const ZERO_TIME = '0001-01-01 00:00:00';

const isSet = (t: string): boolean => t !== '' && t !== ZERO_TIME;

/** The client's Number of the call (the external side of the main channel); null for internal calls. */
export function clientNumberOf(call: CallFull): CallNumber | null {
  const { from, to, type } = call.channel;
  if (type === 'outgoing') return to;
  if (type === 'incoming') return from;
  if (!from.is_local && from.original !== '') return from;
  if (!to.is_local && to.original !== '') return to;
  return null;
}

/** The employee on a conversation: its internal side (the called extension; for outgoing calls the caller). */
export function employeeNumberOf(call: CallFull, conv: Conversation | undefined): CallNumber | null {
  if (conv !== undefined) {
    const { from, to } = conv.channel;
    if (to.is_local && to.original !== '') return to;
    if (from.is_local && from.original !== '') return from;
  }
  const { from, to } = call.channel;
  if (call.channel.type === 'outgoing' && from.original !== '') return from;
  if (conv === undefined && from.is_local && from.original !== '') return from;
  if (to.is_local && to.original !== '') return to;
  return null;
}

/** The number in effect: `custom` when set (auto-replacement or a hook), `original` otherwise. */
export function effectiveNumber(n: CallNumber | null | undefined): string {
  if (n === null || n === undefined) return '';
  return n.custom !== '' ? n.custom : n.original;
}

export function conversationsInOrder(call: CallFull): Array<[string, Conversation]> {
  return Object.entries(call.conversations).sort(([a, x], [b, y]) => {
    const ta = x.channel.start_time;
    const tb = y.channel.start_time;
    return ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  });
}

/** Conversations that were answered, by answer time. */
export function answeredConversations(call: CallFull): Array<[string, Conversation]> {
  return conversationsInOrder(call)
    .filter(([, c]) => c.channel.was_answered && isSet(c.channel.answer_time))
    .sort(([, x], [, y]) => (x.channel.answer_time < y.channel.answer_time ? -1 : x.channel.answer_time > y.channel.answer_time ? 1 : 0));
}

function seconds(from: string, to: string): number {
  if (!isSet(from) || !isSet(to)) return 0;
  const ms = Date.parse(`${to.replace(' ', 'T')}Z`) - Date.parse(`${from.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms / 1000) : 0;
}

/**
 * Talk time in seconds: from the first answer by a person (an answered conversation) to the end of the
 * call. The main channel's own answer does not count: an IVR or a queue answers the trunk before anyone
 * talks. Bitrix24 marks a call successful only when DURATION > 0, so this must be 0 for unanswered calls.
 */
export function talkSeconds(call: CallFull): number {
  const answered = answeredConversations(call);
  const first = answered[0];
  if (first === undefined) return 0;
  let end = call.channel.end_time;
  for (const [, c] of answered) if (isSet(c.channel.end_time) && (!isSet(end) || c.channel.end_time > end)) end = c.channel.end_time;
  return seconds(first[1].channel.answer_time, end);
}

export function wasAnswered(call: CallFull): boolean {
  return answeredConversations(call).length > 0;
}

export type Direction = 'incoming' | 'outgoing' | 'local';

export function directionOf(call: CallFull): Direction {
  const t = call.channel.type;
  return t === 'incoming' || t === 'outgoing' ? t : 'local';
}

export function channelOf(call: CallFull, conversationId: string): Channel | null {
  return call.conversations[conversationId]?.channel ?? null;
}
