// The two `extra` texts of most CEL rows, read without JSON.parse: BRIDGE_ENTER/BRIDGE_EXIT
// `{"bridge_id":"…","bridge_technology":"…"}` and HANGUP `{"hangupcause":N,"hangupsource":"…","dialstatus":"…"}`,
// exactly as Asterisk ≥ 12 writes them (compact, this key order). Only text whose JSON.parse result is
// certain is accepted (string values without `"`, `\` or control characters, cause a plain integer);
// anything else returns undefined and goes through parseExtra, so results and warnings do not change.
import type { ExtraObject } from '../parse-extra.js';

/** Index of the `"` that closes a string value starting at `from`, or -1 when the value needs JSON.parse. */
function plainStringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) return i;
    if (c === 92 /* \ */ || c < 32) return -1;
  }
  return -1;
}

const BRIDGE_ID = '{"bridge_id":"';
const BRIDGE_TECH = '","bridge_technology":"';

function bridgeExtra(text: string): ExtraObject | undefined {
  if (!text.startsWith(BRIDGE_ID)) return undefined;
  const idEnd = plainStringEnd(text, BRIDGE_ID.length);
  if (idEnd < 0 || !text.startsWith(BRIDGE_TECH, idEnd)) return undefined;
  const techStart = idEnd + BRIDGE_TECH.length;
  const techEnd = plainStringEnd(text, techStart);
  if (techEnd < 0 || techEnd !== text.length - 2 || text.charCodeAt(techEnd + 1) !== 125 /* } */) return undefined;
  return { bridge_id: text.slice(BRIDGE_ID.length, idEnd), bridge_technology: text.slice(techStart, techEnd) };
}

const CAUSE = '{"hangupcause":';
const SOURCE = ',"hangupsource":"';
const STATUS = '","dialstatus":"';

function hangupExtra(text: string): ExtraObject | undefined {
  if (!text.startsWith(CAUSE)) return undefined;
  // hangupcause: 0 or an integer without leading zeros, at most 9 digits (what JSON.parse reads exactly).
  let i = CAUSE.length;
  let cause = 0;
  const first = text.charCodeAt(i);
  if (first === 48 /* 0 */) {
    i++;
  } else {
    while (i < text.length && i - CAUSE.length < 9) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      cause = cause * 10 + (c - 48);
      i++;
    }
    if (i === CAUSE.length) return undefined;
  }
  if (!text.startsWith(SOURCE, i)) return undefined;
  const sourceStart = i + SOURCE.length;
  const sourceEnd = plainStringEnd(text, sourceStart);
  if (sourceEnd < 0 || !text.startsWith(STATUS, sourceEnd)) return undefined;
  const statusStart = sourceEnd + STATUS.length;
  const statusEnd = plainStringEnd(text, statusStart);
  if (statusEnd < 0 || statusEnd !== text.length - 2 || text.charCodeAt(statusEnd + 1) !== 125 /* } */) return undefined;
  return { hangupcause: cause, hangupsource: text.slice(sourceStart, sourceEnd), dialstatus: text.slice(statusStart, statusEnd) };
}

/** The parsed `extra` of a BRIDGE_ENTER/BRIDGE_EXIT/HANGUP row in Asterisk's usual form, else undefined. */
export function fastExtra(type: string, text: string): ExtraObject | undefined {
  if (type === 'BRIDGE_ENTER' || type === 'BRIDGE_EXIT') return bridgeExtra(text);
  if (type === 'HANGUP') return hangupExtra(text);
  return undefined;
}
