// "What the CRM received", per call, for the demo's output and for tests' failure messages.
import type { LocalBitrix24State } from './state.js';

export interface CallSummary {
  externalCallId: string | null;
  callId: string;
  registeredOn: number;
  type: number;
  number: string;
  line: string | null;
  startedAt: string;
  /** `CONTACT 1`, `LEAD 1000 (created)`, or null (internal call, nothing found). */
  entity: string | null;
  /** register requests answered with this CALL_ID (more than 1: the 30-minute dedup joined them). */
  registerRequests: number;
  shownTo: number[];
  hiddenFor: number[];
  finished: { status: string; duration: number; userId: number; addToChat: boolean } | null;
  /** The record the call has (the last attach), null when none. */
  record: { filename: string; bytes: number; via: string } | null;
  recordsAttached: number;
  activityId: number | null;
}

export function summarizeCalls(state: LocalBitrix24State): CallSummary[] {
  return [...state.calls.values()].map((c) => {
    const last = c.records[c.records.length - 1];
    const created = c.entity !== null && c.created.some((e) => e.ENTITY_TYPE === c.entity!.type && e.ENTITY_ID === c.entity!.id);
    const activity = c.statistic?.['CRM_ACTIVITY_ID'];
    return {
      externalCallId: c.EXTERNAL_CALL_ID, callId: c.CALL_ID, registeredOn: c.USER_ID, type: c.TYPE, number: c.PHONE_NUMBER, line: c.LINE_NUMBER,
      startedAt: typeof c.statistic?.['CALL_START_DATE'] === 'string' ? c.statistic['CALL_START_DATE'] : new Date(c.dateCreateMs).toISOString(),
      entity: c.entity === null ? null : `${c.entity.type} ${c.entity.id}${created ? ' (created)' : ''}`,
      registerRequests: 1 + c.registerRepeats.length,
      shownTo: [...new Set(c.shown.flatMap((s) => s.userIds))],
      hiddenFor: [...new Set(c.hidden.flatMap((s) => s.userIds))],
      finished: c.statistic === null ? null : {
        status: String(c.statistic['CALL_FAILED_CODE']), duration: Number(c.statistic['CALL_DURATION']), userId: Number(c.statistic['PORTAL_USER_ID']),
        addToChat: c.finish?.['ADD_TO_CHAT_EFFECTIVE'] === true,
      },
      record: last === undefined ? null : { filename: last.filename, bytes: last.bytes, via: last.via },
      recordsAttached: c.records.length,
      activityId: typeof activity === 'number' ? activity : null,
    };
  });
}

const TYPE_NAMES: Record<number, string> = { 1: 'outgoing', 2: 'incoming', 3: 'incoming (redirected)', 4: 'callback', 5: 'informational' };

/** One line per call (and per task), in registration order. */
export function formatSummary(state: LocalBitrix24State): string {
  const lines = summarizeCalls(state).map((s) => {
    const parts = [
      `${s.externalCallId ?? s.callId}: registered on user ${s.registeredOn}, ${TYPE_NAMES[s.type] ?? `type ${s.type}`} ${s.number}${s.line === null ? '' : ` via line ${s.line}`}`,
      s.entity ?? 'no CRM entity',
    ];
    if (s.registerRequests > 1) parts.push(`registered ${s.registerRequests} times (one CALL_ID)`);
    if (s.shownTo.length > 0) parts.push(`card shown to ${s.shownTo.join(',')}`);
    parts.push(s.finished === null ? 'NOT finished' : `finished ${s.finished.status} by user ${s.finished.userId}, ${s.finished.duration} s`);
    parts.push(s.record === null ? 'no record' : `record ${s.record.filename} (${s.record.bytes} bytes)${s.recordsAttached > 1 ? `, attached ${s.recordsAttached} times` : ''}`);
    return parts.join('; ');
  });
  for (const t of state.tasks.values()) {
    lines.push(`task ${t.ID} for user ${t.RESPONSIBLE_ID}: ${JSON.stringify(t.TITLE)}${t.TAGS.length > 0 ? ` [${t.TAGS.join(', ')}]` : ''}${t.DEADLINE === null ? '' : `, deadline ${t.DEADLINE}`}`);
  }
  return lines.join('\n');
}
