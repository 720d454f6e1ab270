// Builds a hook point's catalogue input from a call_full, the way the connector does at that point.
// Used by `callhook try`, the demo replay and the benchmarks; the CRM pipeline builds its own params
// from real CRM answers and uses this only as the reference shape.
import path from 'node:path';
import { CALL_STAGES, getHookPoint, type HookPointName, type HookStage } from './catalogue.js';
import type { JsonObject, JsonValue } from './engine.js';

function obj(v: JsonValue | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : '';
}

const EMPTY_NUMBER: JsonObject = { base: '', custom: '', is_local: false, original: '', variants: [] };

/** The client's and the employee's Number of the call's main channel, by call type. */
export function partiesOf(call: JsonObject): { client: JsonObject; employee: JsonObject } {
  const ch = obj(call.channel);
  const from = obj(ch.from);
  const to = obj(ch.to);
  const type = str(ch.type);
  if (type === 'outgoing') return { client: to, employee: from };
  if (type === 'incoming') return { client: from, employee: to };
  // local / unknown: whichever side is not internal is the client (none for internal calls)
  if (from.is_local === false) return { client: from, employee: to };
  if (to.is_local === false) return { client: to, employee: from };
  return { client: Object.keys(to).length > 0 ? to : EMPTY_NUMBER, employee: from };
}

function effective(n: JsonObject): string {
  return str(n.custom) || str(n.original);
}

export interface InputOptions {
  stage?: HookStage;
  recordingsRoot?: string;
}

/** The input `point` receives for this call at `stage` (default: the point's first stage). */
export function buildPointInput(point: HookPointName, callObject: object, options: InputOptions = {}): JsonObject {
  const call = callObject as JsonObject;
  const spec = getHookPoint(point);
  const stage = options.stage ?? spec.stages[0] ?? 'call_ended';
  const callStage = (CALL_STAGES as readonly string[]).includes(stage) ? stage : 'call_ended';
  const ch = obj(call.channel);
  const { client, employee } = partiesOf(call);
  const clientNumber = effective(client);
  const employeeNumber = effective(employee);
  const type = str(ch.type) === 'outgoing' ? 1 : 2;
  const root = path.resolve(options.recordingsRoot ?? '/var/spool/asterisk/monitor');
  const registration = obj(call.registration);
  const entityType = obj(call.entity).type;
  switch (point) {
    case 'need_registration':
      return { call_full: call, call_stage: callStage };
    case 'process_client_phone':
      return { number: client, call_full: call, call_stage: callStage };
    case 'process_user_phone':
      return { number: employee, call_full: call, call_stage: callStage };
    case 'process_originate_params':
      return {
        caller_id: employeeNumber,
        channel: `PJSIP/${employeeNumber}`,
        context: 'from-internal',
        extension: clientNumber,
        priority: '1',
        request_data: JSON.stringify({ USER_PHONE_INNER: employeeNumber, PHONE_NUMBER: clientNumber }),
      };
    case 'process_record_file_path': {
      const def = path.join(root, `${str(ch.id) || 'call'}.wav`);
      return { call_full: call, default_path: def, path: def, recordings_root: root };
    }
    case 'process_registration_params':
      return {
        call_full: call,
        params: {
          USER_PHONE_INNER: employeeNumber,
          PHONE_NUMBER: clientNumber,
          TYPE: type,
          CALL_START_DATE: str(ch.start_time),
          CRM_CREATE: 1,
          SHOW: 1,
          LINE_NUMBER: effective(obj(ch.trunk)),
        },
      };
    case 'customize_show_call_card':
      return { call_full: call, call_stage: callStage, params: { CALL_ID: str(registration.id), USER_ID: [] } };
    case 'process_final_params': {
      const answer = str(ch.answer_time);
      const end = str(ch.end_time);
      const duration = answer.startsWith('0001') || end.startsWith('0001') ? 0 : Math.max(0, Math.round((Date.parse(end) - Date.parse(answer)) / 1000)) || 0;
      return {
        call_full: call,
        params: { CALL_ID: str(registration.id), USER_PHONE_INNER: employeeNumber, DURATION: duration, STATUS_CODE: String(call.result ?? 200) },
      };
    }
    case 'customize_attach_record_url':
      return { call_full: call, params: { CALL_ID: str(registration.id), FILENAME: `${str(ch.id)}.wav`, RECORD_URL: str(call.record) } };
    case 'customize_entity':
      return {
        call_full: call,
        entity: Object.keys(obj(call.entity)).length > 0 ? obj(call.entity) : { id: '', is_new: false, name: '', phones: [client], raw: {}, responsible: { email: '', id: '', name: '', phones: [], position: '', raw: {} }, responsible_id: '', type: typeof entityType === 'string' ? entityType : 'contact' },
        fields: {},
      };
    case 'customize_activity':
      return {
        call_full: call,
        activity: { id: str(registration.activity_id), name: `${type === 2 ? 'Incoming' : 'Outgoing'} call ${clientNumber}`, raw: {}, responsible_id: str(registration.responsible_id), type: 'activity' },
        fields: {},
      };
    case 'process_task_creation_params':
      return { call_full: call, params: { TITLE: `Missed call from ${clientNumber}`, RESPONSIBLE_ID: str(registration.responsible_id) } };
    case 'customize_autodistribution':
      return { client_phone: clientNumber, extension: employeeNumber, call_full: call };
    case 'post_registration':
      return { call_full: call };
    case 'process_call_params':
      return {
        call_full: call,
        call_result: '',
        call_status: call.result === 200 ? 4 : 6,
        params: { phone: clientNumber, direction: type === 2 ? 'inbound' : 'outbound', duration: 0, link: str(call.record) },
      };
    case 'process_contact_creation_params':
      return { call_full: call, params: { name: clientNumber } };
    case 'process_lead_creation_params':
      return { call_full: call, params: { name: `Call from ${clientNumber}` } };
    case 'process_contact_update_params':
      return {
        call_full: call,
        contact: Object.keys(obj(call.entity)).length > 0 ? obj(call.entity) : { id: '', is_new: false, name: clientNumber, phones: [client], raw: {}, responsible: { email: '', id: '', name: '', phones: [], position: '', raw: {} }, responsible_id: '', type: 'contact' },
        params: {},
      };
    case 'process_lead_update_params':
      return {
        call_full: call,
        deal: Object.keys(obj(call.deal)).length > 0 ? obj(call.deal) : { id: '', is_new: false, name: `Call from ${clientNumber}`, pipeline_id: '', raw: {}, responsible_id: '', status_id: '' },
        params: {},
      };
    case 'process_unsorted_creation_params':
      return {
        call_full: call,
        params: {
          source_uid: 'callhook', source_name: 'callhook', created_at: 0,
          metadata: { phone: clientNumber, from: clientNumber, called_at: 0, duration: 0, link: '', service_code: 'callhook', uniq: str(ch.id), is_call_event_needed: true },
        },
      };
  }
}
