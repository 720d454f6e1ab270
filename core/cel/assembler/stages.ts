// Stage emission: compares each conversation's state with what was already announced and emits
// conversation_requested → conversation_accepted → conversation_ended in that order, then one
// call_ended per call. Each event carries a freshly rendered call_full (a snapshot of that moment).
import type { CallState } from './call.js';
import { partyEnded, type Party } from './channel-model.js';
import type { CallStage, CallFull } from './types.js';

export interface StageEvent {
  stage: CallStage;
  linkedid: string;
  /** uniqueid of the conversation ('' for call_ended). */
  conversationId: string;
  callFull: CallFull;
  atRowId: number;
}

export type Render = (call: CallState) => CallFull;

function connectedAt(p: Party): string {
  let first = '';
  for (const c of p.channels) if (c.connectedAt !== '' && (first === '' || c.connectedAt < first)) first = c.connectedAt;
  return first;
}

function lastEnd(p: Party): string {
  let last = '';
  for (const c of p.channels) if (c.endTime > last) last = c.endTime;
  return last;
}

/** Emits the stages that the rows applied so far imply. `forceEnd` ends every conversation (call over). */
export function syncStages(call: CallState, render: Render, out: StageEvent[], atRowId: number, forceEnd = false): void {
  call.dirty = false;
  const origin = call.originParty();
  for (const p of call.partyList) {
    if (!call.isConversation(p, origin)) continue;
    if (!p.requested) {
      p.requested = true;
      out.push(stageEvent('conversation_requested', call, p, render, atRowId));
    }
    if (p.acceptedAt === '' && p.endedAt === '') {
      const at = connectedAt(p);
      if (at !== '') {
        p.acceptedAt = at;
        if (call.answeredAt === '' || at < call.answeredAt) call.answeredAt = at;
        out.push(stageEvent('conversation_accepted', call, p, render, atRowId));
      }
    }
    if (p.endedAt === '' && (forceEnd || partyEnded(p))) {
      p.endedAt = lastEnd(p) || call.endTime || call.lastEventTime;
      out.push(stageEvent('conversation_ended', call, p, render, atRowId));
    }
  }
}

function stageEvent(stage: CallStage, call: CallState, p: Party, render: Render, atRowId: number): StageEvent {
  return { stage, linkedid: call.id, conversationId: p.face.uid, callFull: render(call), atRowId };
}
