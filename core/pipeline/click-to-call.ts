// What both stage programs know about a call the connector originated for a click in the CRM (its linkedid
// is the ChannelId our Originate set, core/click-to-call): it is an outgoing call of the user who clicked,
// whatever its first leg looks like in CEL (a Local channel, the employee's own phone rung first).
import type { CallFull } from '../../types/call_full.js';
import type { ClickToCallRecord } from '../store/types.js';
import type { CallMemory } from './memory.js';
import { directionOf, type Direction } from './parties.js';
import type { StepContext } from './steps.js';

export type ClickToCallLookup = (linkedid: string) => Promise<ClickToCallRecord | null>;

export function callDirection(memory: CallMemory, snapshot: CallFull): Direction {
  return memory.clickToCall ? 'outgoing' : directionOf(snapshot);
}

/**
 * Once per call: looks the linkedid up among our click-to-call requests and remembers the answer in the
 * call's memory (the client's number too, when CEL gave none yet). Returns the record the one time it is
 * found, so a program can add what its CRM needs; null otherwise (not ours, no lookup, or already recalled).
 */
export async function recallClickToCall(ctx: StepContext, memory: CallMemory, lookup: ClickToCallLookup | undefined, crm: string): Promise<ClickToCallRecord | null> {
  if (memory.clickToCall !== undefined || lookup === undefined) return null;
  const record = await lookup(ctx.event.linkedid);
  memory.clickToCall = record === null ? null : { crmCallId: record.crmCallId, userId: record.userId, phone: record.phone, crmRegistered: record.crmRegistered };
  if (record === null) return null;
  ctx.note(`click-to-call by ${crm} user ${record.userId} to ${record.phone}: an outgoing call of that user`);
  if (memory.clientNumber === null && record.phone !== '') memory.clientNumber = record.phone;
  return record;
}
