// The reference order in which the connector runs hook points at each call stage (itgrix-customizer.md
// §4.3), for the demo replay and as the CRM pipeline's checklist: need_registration first (false stops
// the stage), then the number rewrites (their results fill Number.custom for every later hook), then the
// points in front of each CRM request. A cancelled request skips nothing else: later steps see what the
// CRM did not do, as in the reference connector.
import type { CallStageName, HookPointName } from './catalogue.js';
import type { JsonObject, JsonValue } from './engine.js';
import type { HookHost } from './host.js';
import { buildPointInput, partiesOf } from './inputs.js';
import type { PointResult } from './runner.js';

export type CrmKind = 'bitrix24' | 'kommo';

const AFTER_NUMBERS: Record<CrmKind, Record<CallStageName, HookPointName[]>> = {
  bitrix24: {
    conversation_requested: ['process_registration_params', 'customize_show_call_card'],
    conversation_accepted: ['customize_show_call_card'],
    conversation_ended: [],
    call_ended: [
      'process_final_params',
      'process_record_file_path',
      'customize_attach_record_url',
      'customize_activity',
      'customize_entity',
      'process_task_creation_params',
      'post_registration',
    ],
  },
  kommo: {
    conversation_requested: [],
    conversation_accepted: [],
    conversation_ended: [],
    call_ended: [
      'process_contact_creation_params', 'process_lead_creation_params', 'process_unsorted_creation_params', 'process_contact_update_params',
      'process_lead_update_params', 'process_record_file_path', 'process_call_params', 'post_registration',
    ],
  },
};

export interface StageRun {
  stage: CallStageName;
  registered: boolean;
  /** call_full with the rewritten numbers in `custom`, as later hooks saw it. */
  callFull: JsonObject;
  results: Array<{ point: HookPointName; result: PointResult }>;
}

function isMissed(call: JsonObject): boolean {
  const ch = call.channel as { was_answered?: JsonValue } | undefined;
  return ch?.was_answered !== true;
}

/** A copy of the call where every Number with the same `original` (main channel and conversations) gets `custom`. */
function withCustom(call: JsonObject, number: JsonObject, custom: string): JsonObject {
  const original = number.original;
  const visit = (v: JsonValue): JsonValue => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'custom' in v && 'original' in v && v.original === original) return { ...v, custom };
    if (Array.isArray(v)) return v.map(visit);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x)]));
    return v;
  };
  return visit(call) as JsonObject;
}

export async function runStageFlow(
  host: HookHost,
  callFullObject: object,
  stage: CallStageName,
  options: { callId?: string; crm?: CrmKind; recordingsRoot?: string } = {},
): Promise<StageRun> {
  const callFull = callFullObject as JsonObject;
  const ctx = { stage, ...(options.callId !== undefined ? { callId: options.callId } : {}) };
  const results: StageRun['results'] = [];
  const run = async (point: HookPointName, call: JsonObject): Promise<PointResult> => {
    const input = buildPointInput(point, call, { stage, ...(options.recordingsRoot ? { recordingsRoot: options.recordingsRoot } : {}) });
    const result = await host.runPoint(point, input, ctx);
    results.push({ point, result });
    return result;
  };
  const decision = await run('need_registration', callFull);
  if (decision.value !== true) return { stage, registered: false, callFull, results };

  let call = callFull;
  for (const [point, side] of [['process_client_phone', 'client'], ['process_user_phone', 'employee']] as const) {
    const r = await run(point, call);
    const number = partiesOf(call)[side];
    if (typeof r.value === 'string' && Object.keys(number).length > 0 && r.value !== number.custom) call = withCustom(call, number, r.value);
  }
  for (const point of AFTER_NUMBERS[options.crm ?? 'bitrix24'][stage]) {
    if (point === 'process_task_creation_params' && !isMissed(call)) continue;
    await run(point, call);
  }
  return { stage, registered: true, callFull: call, results };
}
