// "What if": re-runs a recorded point invocation (its trace holds the exact input) against the hooks
// active now, and says whether the decision changes. For the admin page and for checking an edited
// hook against real past calls before trusting it.
import type { HookHost } from './host.js';
import type { PointResult, PointTrace } from './runner.js';

export interface WhatIf {
  point: PointTrace['point'];
  before: { value: PointTrace['value']; cancelled: boolean; generation: number };
  after: PointResult;
  changed: boolean;
}

export async function replayTrace(host: HookHost, trace: PointTrace): Promise<WhatIf> {
  const input = trace.input !== null && typeof trace.input === 'object' && !Array.isArray(trace.input) ? trace.input : {};
  const after = await host.runPoint(trace.point, input, {
    ...(trace.stage !== null ? { stage: trace.stage } : {}),
    ...(trace.callId !== null ? { callId: trace.callId } : {}),
  });
  const changed = decisionChanged(trace, after);
  return { point: trace.point, before: { value: trace.value, cancelled: trace.cancelled, generation: trace.generation }, after, changed };
}

/** Whether a re-run decided otherwise than the recorded invocation (value or cancellation). */
export function decisionChanged(recorded: Pick<PointTrace, 'value' | 'cancelled'>, after: Pick<PointResult, 'value' | 'cancelled'>): boolean {
  return after.cancelled !== recorded.cancelled || JSON.stringify(after.value) !== JSON.stringify(recorded.value);
}
