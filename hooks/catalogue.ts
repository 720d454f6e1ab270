// The hook catalogue: the ONE place each lifecycle hook's contract lives. Types for hook authors
// (types/hooks.d.ts), the docs (docs/hooks.md), input/output validation, the runners' composition and
// defaults all derive from the entries below; nothing else restates a hook's contract.
//
// Schemas reference the call object by `$ref` into types/call_full.schema.json (owned by the contract
// area) instead of copying it, so a change to call_full reaches every hook's types at once.

/** The four call stages of the reference connector: each conversation goes requested → (accepted) → ended; the call ends once. */
import type { CallStage } from '../types/call_full.js';

export const CALL_STAGES = ['conversation_requested', 'conversation_accepted', 'conversation_ended', 'call_ended'] as const satisfies readonly CallStage[];
// Every stage of the contract has a place here: a stage added to the schema fails the typecheck.
const everyStageListed: Exclude<CallStage, (typeof CALL_STAGES)[number]> extends never ? true : false = true;
void everyStageListed;
export type CallStageName = (typeof CALL_STAGES)[number];

/**
 * Points that are not call stages: a click-to-call request from the CRM (before AMI Originate) and an
 * auto-distribution request from the dialplan (an incoming call asks which extension to ring).
 */
export const EXTRA_STAGES = ['click_to_call', 'autodistribution'] as const;
export type HookStage = CallStageName | (typeof EXTRA_STAGES)[number];

/**
 * How several hooks at one point compose (the Rollup "hook kind" idea):
 * - `all`: every hook must say yes; the first "no" decides and the rest are not asked.
 * - `waterfall`: each hook sees the previous hook's result in the threaded field and returns the next one.
 * - `parallel`: every hook runs independently with the same input; results are ignored, a failure affects nothing else.
 */
export type CompositionKind = 'all' | 'waterfall' | 'parallel';

export type JsonSchema = { [key: string]: unknown };

export type CrmFlavour = 'any' | 'bitrix24' | 'kommo';

export interface HookPointSpec {
  readonly name: string;
  readonly summary: string;
  readonly crm: CrmFlavour;
  readonly stages: readonly HookStage[];
  readonly kind: CompositionKind;
  /**
   * For `waterfall`: where in the input the running value lives (property path; empty = the whole input).
   * The first hook sees the default there; each next hook sees the previous hook's output there.
   */
  readonly thread?: readonly string[];
  readonly input: JsonSchema;
  readonly output: JsonSchema;
  /** Human description of what applies when no hook is present, a hook fails, or the point is disabled. */
  readonly defaultDoc: string;
  /** True when the point sits right before a CRM (or PBX) request: an empty output (null, {}, []) cancels that request. */
  readonly cancellable: boolean;
  /** Per-invocation wall-clock budget in milliseconds (CPU budget is the same figure). Settings may override it. */
  readonly budgetMs: number;
}

const CALL_FULL_REF = 'call_full.schema.json#/$defs/CallFull';
const NUMBER_REF = 'call_full.schema.json#/$defs/CallNumber';
const ENTITY_REF = 'call_full.schema.json#/$defs/Entity';

const callFull = { $ref: CALL_FULL_REF, description: 'The call as the connector sees it now (see call_full.md).' };
const callStage = {
  type: 'string',
  enum: [...CALL_STAGES],
  description: 'The stage at which the hook runs.',
};

/** A map of CRM request parameters: known keys are typed, others pass through unchanged. */
function crmParams(description: string, known: Record<string, JsonSchema>): JsonSchema {
  return { type: 'object', description, properties: known, additionalProperties: true };
}

const str = (description: string): JsonSchema => ({ type: 'string', description });
const int = (description: string): JsonSchema => ({ type: 'integer', description });
const strOrInt = (description: string): JsonSchema => ({ type: ['string', 'integer'], description });

const bitrixRegisterParams = crmParams('Parameters of telephony.externalcall.register (Bitrix24 REST names).', {
  USER_PHONE_INNER: str('Internal number of the employee the call is registered on.'),
  USER_ID: strOrInt('CRM id of that employee.'),
  PHONE_NUMBER: str("Client's number (after process_client_phone)."),
  TYPE: int('1 = outgoing, 2 = incoming.'),
  CALL_START_DATE: str('Call start, ISO 8601 with offset.'),
  CRM_CREATE: int('1 = create a lead/contact when none is found, 0 = do not.'),
  CRM_SOURCE: str('Source of a created lead.'),
  CRM_ENTITY_TYPE: str('CONTACT, COMPANY or LEAD.'),
  CRM_ENTITY_ID: strOrInt('Id of the entity to bind the call to.'),
  SHOW: int('1 = show the call card to the employee.'),
  LINE_NUMBER: str('Trunk (line) number.'),
});

const bitrixFinishParams = crmParams('Parameters of telephony.externalcall.finish (Bitrix24 REST names).', {
  CALL_ID: str('Call id returned by the registration.'),
  USER_ID: strOrInt('CRM id of the user the call is finished on (e.g. the responsible for a missed call).'),
  USER_PHONE_INNER: str('Internal number of that user.'),
  DURATION: int('Talk time in seconds.'),
  STATUS_CODE: str('Call result code: 200 answered, 304 missed, 486 busy, ...'),
  FAILED_REASON: str('Text of a failure.'),
  COST: { type: 'number', description: 'Call cost.' },
  COST_CURRENCY: str('Currency of COST.'),
  VOTE: int('Rating 1-5.'),
  ADD_TO_CHAT: int('1 = post the call to the chat.'),
});

const nonEmptyString = (description: string): JsonSchema => ({ type: 'string', minLength: 1, maxLength: 4096, description });

function phoneHook<N extends string>(name: N, who: string): HookPointSpec & { name: N } {
  return {
    name,
    summary: `Rewrite the ${who} number before the CRM sees it (format +7 / 8, prefixes). The result fills the Number's \`custom\`.`,
    crm: 'any',
    stages: CALL_STAGES,
    kind: 'waterfall',
    thread: ['number', 'custom'],
    input: {
      type: 'object',
      required: ['number', 'call_full', 'call_stage'],
      additionalProperties: false,
      properties: {
        number: {
          $ref: NUMBER_REF,
          description:
            'The Number being rewritten. `custom` holds the number currently in effect: the auto-replaced number (or `original` when there is none), or the previous hook\'s result.',
        },
        call_full: callFull,
        call_stage: callStage,
      },
    },
    output: nonEmptyString('The number to use; it becomes the Number\'s `custom`.'),
    defaultDoc: 'The auto-replaced number (`custom`, or `original` when no auto-replacement applied).',
    cancellable: false,
    budgetMs: 200,
  };
}

function paramsHook<N extends string>(
  name: N,
  crm: CrmFlavour,
  stages: readonly HookStage[],
  summary: string,
  params: JsonSchema,
  extra: Record<string, JsonSchema> = {},
): HookPointSpec & { name: N } {
  return {
    name,
    summary,
    crm,
    stages,
    kind: 'waterfall',
    thread: ['params'],
    input: {
      type: 'object',
      required: ['call_full', 'params', ...Object.keys(extra)],
      additionalProperties: false,
      properties: { call_full: callFull, ...extra, params },
    },
    output: { ...params, description: 'The parameters to send. Return null, {} or [] to cancel the request.' },
    defaultDoc: 'The parameters the connector built (unchanged).',
    cancellable: true,
    budgetMs: 1000,
  };
}

function fieldsHook<N extends string>(name: N, target: 'entity' | 'activity', summary: string, targetSchema: JsonSchema): HookPointSpec & { name: N } {
  const fields: JsonSchema = {
    type: 'object',
    description: 'CRM fields the connector will write (CRM REST names); only non-empty fields are written.',
    additionalProperties: true,
  };
  return {
    name,
    summary,
    crm: 'bitrix24',
    stages: ['call_ended'],
    kind: 'waterfall',
    thread: ['fields'],
    input: {
      type: 'object',
      required: ['call_full', target, 'fields'],
      additionalProperties: false,
      properties: { call_full: callFull, [target]: targetSchema, fields },
    },
    output: { ...fields, description: 'The fields to write. Return null, {} or [] to cancel the update request.' },
    defaultDoc: 'The fields the connector built (unchanged).',
    cancellable: true,
    budgetMs: 1000,
  };
}

const activitySchema: JsonSchema = {
  type: 'object',
  description: 'The CRM activity (case) of the call.',
  required: ['id', 'name', 'raw', 'responsible_id', 'type'],
  properties: {
    id: str('Activity id.'),
    name: str('Subject.'),
    raw: { type: 'object', additionalProperties: true, description: 'The activity as the CRM returns it.' },
    responsible_id: str('Responsible user id.'),
    type: { const: 'activity' },
  },
  additionalProperties: true,
};

export const HOOK_POINTS = [
  {
    name: 'need_registration',
    summary: 'Decide whether the call is registered in the CRM at all (black / white lists). Runs at every stage.',
    crm: 'any',
    stages: CALL_STAGES,
    kind: 'all',
    input: {
      type: 'object',
      required: ['call_full', 'call_stage'],
      additionalProperties: false,
      properties: { call_full: callFull, call_stage: callStage },
    },
    output: { type: 'boolean', description: 'true = register, false = ignore the call.' },
    defaultDoc: 'true (register). A failing hook counts as yes, so a broken list never drops calls silently; the failure is in the trace and status.',
    cancellable: false,
    budgetMs: 200,
  },
  phoneHook('process_client_phone', "client's"),
  phoneHook('process_user_phone', "employee's internal"),
  {
    name: 'process_originate_params',
    summary: 'Change a click-to-call (AMI Originate) request: dial prefix, context, caller id.',
    crm: 'any',
    stages: ['click_to_call'],
    kind: 'waterfall',
    thread: [],
    input: {
      type: 'object',
      required: ['caller_id', 'channel', 'context', 'extension', 'priority', 'request_data'],
      additionalProperties: false,
      properties: {
        caller_id: str('CallerID of the originated call.'),
        channel: str("The employee's channel to ring first, e.g. PJSIP/201."),
        context: str('Dialplan context the client number is dialed in.'),
        extension: str('The number to dial (as the CRM sent it).'),
        priority: str('Dialplan priority, usually "1".'),
        request_data: str('The raw click-to-call request from the CRM (JSON text).'),
      },
    },
    output: {
      type: 'object',
      required: ['caller_id', 'channel', 'context', 'extension', 'priority', 'request_data'],
      additionalProperties: false,
      properties: {
        caller_id: str('CallerID of the originated call.'),
        channel: nonEmptyString('Channel to ring first.'),
        context: nonEmptyString('Dialplan context.'),
        extension: nonEmptyString('The number to dial.'),
        priority: nonEmptyString('Dialplan priority.'),
        request_data: str('Passed through.'),
      },
      description: 'The Originate parameters to use. Return null, {} or [] to cancel the click-to-call.',
    },
    defaultDoc: 'The parameters built from the CRM request (unchanged).',
    cancellable: true,
    budgetMs: 1000,
  },
  {
    name: 'process_record_file_path',
    summary: 'Choose the recording file path (naming, dated folders). The host confines the result to the recordings root.',
    crm: 'any',
    stages: ['call_ended'],
    kind: 'waterfall',
    thread: ['path'],
    input: {
      type: 'object',
      required: ['call_full', 'default_path', 'path', 'recordings_root'],
      additionalProperties: false,
      properties: {
        call_full: callFull,
        default_path: str('The path the connector would use, absolute, inside the recordings root.'),
        path: str('The path currently in effect: default_path, or the previous hook\'s result.'),
        recordings_root: str('The configured recordings root; results must stay inside it.'),
      },
    },
    output: nonEmptyString(
      'The recording path: relative to the recordings root, or absolute inside it. `..` escapes, absolute paths elsewhere and symlinks out of the root are refused.',
    ),
    defaultDoc: 'The default path the connector computed.',
    cancellable: false,
    budgetMs: 10000,
  },
  paramsHook(
    'process_registration_params',
    'bitrix24',
    CALL_STAGES,
    'Change the call registration request (telephony.externalcall.register) before it is sent. Runs once per call, at the first stage that registers it: usually conversation_requested; conversation_accepted or call_ended when an earlier stage said no or no employee was rung (an IVR-only call).',
    bitrixRegisterParams,
  ),
  paramsHook(
    'customize_show_call_card',
    'bitrix24',
    ['conversation_requested', 'conversation_accepted', 'conversation_ended'],
    'Change whether and to whom the call card is shown or hidden (telephony.externalcall.show / hide): shown when an employee\'s phone rings (or when they answer, by crm.bitrix24.show_card), hidden for the others when someone answers and for an employee whose conversation ended. Runs once per request.',
    crmParams('Parameters of the show/hide request.', {
      CALL_ID: str('Call id.'),
      USER_ID: { type: 'array', items: { type: ['string', 'integer'] }, description: 'Users the card is shown to (show) or hidden for (hide).' },
    }),
    { call_stage: callStage },
  ),
  paramsHook(
    'process_final_params',
    'bitrix24',
    ['call_ended'],
    'Change the call finish request (telephony.externalcall.finish): result, responsible user for a missed call, duration.',
    bitrixFinishParams,
  ),
  paramsHook(
    'customize_attach_record_url',
    'bitrix24',
    ['call_ended'],
    'Change how the recording is attached (telephony.externalCall.attachRecord).',
    crmParams('Parameters of the attach request.', {
      CALL_ID: str('Call id.'),
      FILENAME: str('File name shown in the CRM.'),
      RECORD_URL: str('Where the CRM downloads the recording from.'),
    }),
  ),
  fieldsHook('customize_entity', 'entity', 'Change the fields written to the contact / lead / company at the end of the call.', {
    $ref: ENTITY_REF,
    description: 'The entity the call is bound to.',
  }),
  fieldsHook('customize_activity', 'activity', 'Change the fields written to the call activity (case) at the end of the call.', activitySchema),
  paramsHook(
    'process_task_creation_params',
    'any',
    ['call_ended'],
    'Change the missed-call task before it is created (title, responsible, deadline).',
    crmParams('Task fields (CRM REST names).', {
      TITLE: str('Task title. On Kommo, renaming can break automatic task completion.'),
      RESPONSIBLE_ID: strOrInt('Responsible user id.'),
      DEADLINE: str('Deadline, ISO 8601.'),
      DESCRIPTION: str('Task text.'),
    }),
  ),
  {
    name: 'customize_autodistribution',
    summary: 'Change the extension an incoming call is routed to by auto-distribution (the responsible employee).',
    crm: 'any',
    stages: ['autodistribution'],
    kind: 'waterfall',
    thread: ['extension'],
    input: {
      type: 'object',
      required: ['client_phone', 'extension', 'call_full'],
      additionalProperties: false,
      properties: {
        client_phone: str("The caller's number as the dialplan sent it."),
        extension: str('The extension found (the responsible employee\'s), or the previous hook\'s result; "" when none.'),
        call_full: { anyOf: [callFull, { type: 'null' }], description: 'The call so far, or null when the connector has not seen it yet.' },
      },
    },
    output: { type: 'string', maxLength: 32, description: 'The extension to ring; "" lets the dialplan fall through to its default.' },
    defaultDoc: 'The extension found from the CRM responsible.',
    cancellable: false,
    budgetMs: 500,
  },
  {
    name: 'post_registration',
    summary: 'Act after the call has been registered in the CRM (notify, webhook, follow-up). Results are ignored.',
    crm: 'any',
    stages: ['call_ended'],
    kind: 'parallel',
    input: {
      type: 'object',
      required: ['call_full'],
      additionalProperties: false,
      properties: { call_full: { ...callFull, description: 'The call, with `registration` filled (Bitrix24).' } },
    },
    output: { type: 'null', description: 'Return null (the result is ignored; returning nothing counts as a failure in the sandbox).' },
    defaultDoc: 'Nothing happens. Each hook runs independently; one failing affects no other.',
    cancellable: false,
    budgetMs: 5000,
  },
  paramsHook(
    'process_call_params',
    'kommo',
    ['call_ended'],
    'Change the call note / call registration request sent to Kommo.',
    crmParams('Kommo call parameters.', {
      phone: str("Client's number (after process_client_phone)."),
      direction: { type: 'string', enum: ['inbound', 'outbound'] },
      duration: int('Talk time in seconds.'),
      link: str('Recording link.'),
      responsible_user_id: int('Responsible user id.'),
      created_by: int('Creator user id.'),
      call_status: int('Kommo call status: 4 answered, 6 missed, ...'),
      call_result: str('Result text.'),
    }),
    { call_result: str('Kommo call result text.'), call_status: int('Kommo call status.') },
  ),
  paramsHook(
    'process_contact_creation_params',
    'kommo',
    ['conversation_requested', 'call_ended'],
    'Change the contact Kommo creates for an unknown number.',
    crmParams('Kommo contact fields.', {
      name: str('Contact name.'),
      responsible_user_id: int('Responsible user id.'),
      custom_fields_values: { type: 'array', description: 'Custom fields (PHONE/WORK holds the number).' },
    }),
  ),
  paramsHook(
    'process_lead_creation_params',
    'kommo',
    ['conversation_requested', 'call_ended'],
    'Change the lead (deal) Kommo creates for a call.',
    crmParams('Kommo lead fields.', {
      name: str('Lead name.'),
      responsible_user_id: int('Responsible user id.'),
      pipeline_id: int('Pipeline.'),
      status_id: int('Pipeline stage.'),
    }),
  ),
  paramsHook(
    'process_contact_update_params',
    'kommo',
    ['call_ended'],
    'Write fields to the client\'s existing Kommo contact at the end of the call (PATCH /api/v4/contacts/{id}): e.g. a "last call" field, the responsible. Runs only when a hook is active; the default writes nothing.',
    crmParams('Kommo contact fields to write (API v4 names); {} writes nothing.', {
      name: str('Contact name.'),
      responsible_user_id: int('Responsible user id.'),
      custom_fields_values: { type: 'array', description: 'Custom fields to set.' },
    }),
    { contact: { $ref: ENTITY_REF, description: 'The contact the call was found or created for.' } },
  ),
  paramsHook(
    'process_lead_update_params',
    'kommo',
    ['call_ended'],
    'Write fields to the call\'s Kommo lead (call_full.deal) at the end of the call (PATCH /api/v4/leads/{id}): move it to a stage, change the responsible. Runs only when a hook is active; the default writes nothing.',
    crmParams('Kommo lead fields to write (API v4 names); {} writes nothing.', {
      name: str('Lead name.'),
      responsible_user_id: int('Responsible user id.'),
      status_id: int('Pipeline stage.'),
      pipeline_id: int('Pipeline.'),
      custom_fields_values: { type: 'array', description: 'Custom fields to set.' },
    }),
    { deal: { $ref: 'call_full.schema.json#/$defs/Deal', description: 'The lead the call belongs to.' } },
  ),
  paramsHook(
    'process_unsorted_creation_params',
    'kommo',
    ['call_ended'],
    'Change the Unsorted SIP item created for an incoming call from an unknown number (POST /api/v4/leads/unsorted/sip), including the contact and lead fields inside it (_embedded.contacts / _embedded.leads).',
    crmParams('One unsorted SIP item (API v4 names).', {
      source_uid: str('Source id.'),
      source_name: str('Source name shown in Unsorted.'),
      pipeline_id: int('Pipeline (0 or absent: the main one).'),
      created_at: int('Unix time of the call.'),
      metadata: {
        type: 'object',
        description: 'The call: phone, from, called_at, duration, link, service_code, uniq, is_call_event_needed, call_responsible.',
        additionalProperties: true,
      },
      _embedded: { type: 'object', description: 'contacts: [{ name, … }], leads: [{ name, … }] created with the item.', additionalProperties: true },
    }),
  ),
] as const satisfies readonly HookPointSpec[];

export type HookPointName = (typeof HOOK_POINTS)[number]['name'];

export const HOOK_POINT_NAMES: readonly HookPointName[] = HOOK_POINTS.map((p) => p.name);

const byName = new Map<string, HookPointSpec>(HOOK_POINTS.map((p) => [p.name, p]));

export function isHookPointName(name: string): name is HookPointName {
  return byName.has(name);
}

export function getHookPoint(name: HookPointName): HookPointSpec;
export function getHookPoint(name: string): HookPointSpec | undefined;
export function getHookPoint(name: string): HookPointSpec | undefined {
  return byName.get(name);
}

/** The reference connector's "empty data" rule: null, {} and [] (and an absent value) cancel a request. */
export function isEmptyData(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}
