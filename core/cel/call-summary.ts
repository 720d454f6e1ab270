// One line's worth of facts about a call (time, type, from, to, who answered, result, duration), shared
// by `callhook replay`'s table and `callhook run`'s report so both describe a call the same way.
import type { CallFull } from '../../types/call_full.js';
import { NO_TIME } from '../contract/schema.js';

export interface CallSummary {
  time: string;
  type: string;
  from: string;
  to: string;
  answeredBy: string;
  result: string;
  duration: string;
}

/** Whole seconds between two call_full times, or undefined when either did not happen. */
export function secondsBetween(from: string, to: string): number | undefined {
  if (from === NO_TIME || to === NO_TIME) return undefined;
  const a = Date.parse(`${from.replace(' ', 'T')}Z`);
  const b = Date.parse(`${to.replace(' ', 'T')}Z`);
  return Number.isFinite(a) && Number.isFinite(b) ? Math.max(0, Math.round((b - a) / 1000)) : undefined;
}

/** Who picked up: the first answered conversation, and the last one when the call moved on (transfer, park, pickup). */
export function whoAnswered(call: CallFull): string {
  const answered = Object.values(call.conversations).filter((c) => c.channel.was_answered)
    .sort((a, b) => a.channel.answer_time.localeCompare(b.channel.answer_time));
  if (answered.length === 0) return call.is_ivr ? '(IVR)' : '-';
  const names = answered.map((c) => c.channel.to.original || c.channel.name);
  return names.length > 1 ? `${names[0]!} → ${names[names.length - 1]!}` : names[0]!;
}

export function summarizeCall(call: CallFull, complete: 'linkedid_end' | 'timeout' = 'linkedid_end'): CallSummary {
  const ch = call.channel;
  const total = secondsBetween(ch.start_time, ch.end_time);
  const talk = secondsBetween(ch.answer_time, ch.end_time);
  return {
    time: ch.start_time,
    type: ch.type,
    from: ch.from.original || '-',
    to: ch.to.original || '-',
    answeredBy: whoAnswered(call),
    result: String(call.result) + (complete === 'timeout' ? ' (timeout)' : ''),
    duration: total === undefined ? '-' : talk === undefined ? `${total}s` : `${total}s (talk ${talk}s)`,
  };
}
