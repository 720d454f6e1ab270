// The Bitrix24 stage program: at each stage event, the hook points in the reference order and the CRM
// actions they gate (itgrix-customizer.md §4.3; crm-apis.md §1.2):
//   every stage          need_registration (no = this stage sends nothing)
//   first need           process_client_phone (once per call), process_user_phone (once per conversation),
//                        employee lookup (directory), entity search by every number variant
//   registration         process_registration_params → telephony.externalcall.register (once per call)
//   ringing / answer     customize_show_call_card → show / hide for the employees whose phones rang
//   call_ended           process_final_params → finish (exactly once), process_record_file_path →
//                        customize_attach_record_url → attachRecord (after finish), customize_activity,
//                        customize_entity, process_task_creation_params (missed calls), post_registration
// Hook outputs change the requests; an empty output at a cancellable point cancels that request and
// the trace says so. Every step goes through StepContext (journal + outbox).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { JsonObject } from '../../hooks/engine.js';
import type { HookPointName } from '../../hooks/catalogue.js';
import type { CallFull, CallNumber, Entity, Registration, User } from '../../types/call_full.js';
import type { Settings } from '../../types/settings.js';
import type { CrmOutcome, JsonParams, JsonValue } from '../crm/types.js';
import { callDirection, recallClickToCall, type ClickToCallLookup } from './click-to-call.js';
import { entityFromRecord, finishStatusCode, registrationAfterFinish, registrationFromRegister } from '../crm/bitrix24/mapping.js';
import type { UserDirectory } from '../crm/bitrix24/users.js';
import type { CallMemory } from './memory.js';
import { enrich } from './memory.js';
import {
  answeredConversations, clientNumberOf, conversationsInOrder, effectiveNumber, employeeNumberOf, talkSeconds, wasAnswered,
  type Direction,
} from './parties.js';
import { Blocked, type StepContext } from './steps.js';
import { readyRecording } from './recording.js';
import type { Recordings } from '../recordings/index.js';

export type Bitrix24Settings = Settings['crm']['bitrix24'];

/** The hook points this program runs; the others are not driven by a Bitrix24 pipeline (yet). */
export const BITRIX24_POINTS: readonly HookPointName[] = [
  'need_registration', 'process_client_phone', 'process_user_phone', 'process_registration_params', 'customize_show_call_card',
  'process_final_params', 'process_record_file_path', 'customize_attach_record_url', 'customize_activity', 'customize_entity',
  'process_task_creation_params', 'post_registration',
];

/** What the program needs from the Bitrix24 adapter that depends on the deployment (core/crm/index.ts). */
export interface Bitrix24Kit {
  /** The employee directory; null when there is no CRM to ask. */
  users: Pick<UserDirectory, 'findByNumber' | 'byId'> | null;
  /** PBX-local 'YYYY-MM-DD HH:MM:SS' → ISO 8601 with the PBX zone's offset at that moment. */
  dateTime(pbxLocal: string): string;
}

export interface Bitrix24Env {
  settings: Bitrix24Settings;
  kit: Bitrix24Kit;
  recordingsRoot: string;
  /** Recording delivery (wait, MP3); null/absent: recordings are not sent. */
  recordings?: Recordings | null;
  /** Distinguishes this PBX's calls in EXTERNAL_CALL_ID (two PBXs may reuse a linkedid). */
  pbx: string;
  /** Number model: variants of a rewritten number. */
  buildNumber(raw: string): CallNumber;
  /** The click-to-call request whose Originate gave this linkedid (its ChannelId), or null. */
  clickToCall?: ClickToCallLookup;
}

export interface StageInput {
  ctx: StepContext;
  snapshot: CallFull;
  memory: CallMemory;
  env: Bitrix24Env;
}

const REGISTER = 'telephony.externalcall.register';
const FINISH = 'telephony.externalcall.finish';
const ATTACH = 'telephony.externalcall.attachRecord';

/** EXTERNAL_CALL_ID: unique per physical call, so Bitrix24's 30-minute dedup never merges two calls. */
export function externalCallId(pbx: string, linkedid: string): string {
  return `callhook-${createHash('sha256').update(pbx).digest('hex').slice(0, 8)}-${linkedid}`;
}

/** A Bitrix24 "call is not found" answer (the error code is an empty string there: match the text). */
const isCallNotFound = (o: CrmOutcome): boolean => o.kind === 'rejected' && /call is not found/i.test(o.description);

function okResult(o: CrmOutcome | null): JsonObject | null {
  if (o === null || o.kind !== 'ok') return null;
  const r = o.result;
  return r !== null && typeof r === 'object' && !Array.isArray(r) ? r : null;
}

const str = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function whyNot(o: CrmOutcome | null): string {
  if (o === null) return 'no CRM (crm.type none)';
  return o.kind === 'ok' ? 'ok' : `${o.kind} ${'code' in o ? o.code : ''} ${'description' in o ? o.description : ''}`.trim();
}

/** Once per call: is it one of our click-to-call Originates, and did Bitrix24 register it itself? */
async function recallBitrix24ClickToCall(input: StageInput): Promise<void> {
  const { ctx, memory, env } = input;
  const record = await recallClickToCall(ctx, memory, env.clickToCall, 'CRM');
  if (record === null) return;
  if (record.crmRegistered && record.crmCallId !== '' && memory.registration === null) {
    // Bitrix24 registered it when the user clicked (ONEXTERNALCALLSTART): registering again would make a second call.
    memory.registration = registrationFromRegister({ CALL_ID: record.crmCallId }, record.userId);
    ctx.note(`Bitrix24 registered this call itself (CALL_ID ${record.crmCallId}): it is only finished`);
  }
  if ((record.status === 'failed' || record.status === 'cancelled') && memory.registration !== null) {
    // The click-to-call service already finished the CRM's call with the failure; CEL rows of the failed leg change nothing.
    memory.finished = true;
    ctx.note(`the click-to-call ${record.status === 'failed' ? 'failed' : 'was cancelled'} and its CRM call was finished then: not finished again`);
  }
}

export async function runBitrix24Stage(input: StageInput): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  const stage = ctx.event.stage;
  await recallBitrix24ClickToCall(input);
  const convId = ctx.event.conversationId;
  const client = clientNumberOf(snapshot);
  const view = (): CallFull => enrich(snapshot, memory, client?.original ?? null);

  const verdict = await ctx.hook('need_registration', { call_full: view(), call_stage: stage });
  ctx.trace.registered = verdict.value === true;
  if (verdict.value !== true) {
    if (stage !== 'call_ended' || memory.registration === null || memory.finished) {
      ctx.note('need_registration said no: this stage sends nothing to the CRM');
      if (memory.registration === null) memory.notRegistered = 'need_registration said no';
      return;
    }
    ctx.note('need_registration said no at call_ended, but the call was registered earlier: it is still finished, so it does not stay open in the CRM');
  }
  const direction = callDirection(input.memory, input.snapshot);
  if (direction === 'local' && !env.settings.register_local_calls) {
    ctx.note('internal call: not registered (crm.bitrix24.register_local_calls is off)');
    memory.notRegistered = 'internal call';
    return;
  }
  if (memory.notRegistered === 'need_registration said no') memory.notRegistered = null;

  // The call's own employee ('' = no conversation: the caller of an internal call, the extension of an
  // IVR-only call) only matters while the call still needs registering.
  if (convId !== '') {
    await settleNumbers(input, client, view, convId);
    await lookUpUser(input, convId);
  }
  if (memory.registration === null && (convId === '' || direction === 'local')) {
    await settleNumbers(input, client, view, '');
    await lookUpUser(input, '');
  }

  switch (stage) {
    case 'conversation_requested':
      await ensureRegistered(input, convId, view);
      await showCard(input, convId, view);
      return;
    case 'conversation_accepted':
      await ensureRegistered(input, convId, view);
      await onAnswer(input, convId, view);
      return;
    case 'conversation_ended':
      await hideCard(input, convId, view, `hide:${convId}`, 'the conversation ended');
      return;
    case 'call_ended':
      await ensureRegistered(input, '', view);
      await endCall(input, view);
      return;
  }
}

/** process_client_phone once per call, process_user_phone once per conversation: later stages reuse them. */
async function settleNumbers(input: StageInput, client: CallNumber | null, view: () => CallFull, convId: string): Promise<void> {
  const { ctx, snapshot, memory } = input;
  const stage = ctx.event.stage;
  if (client !== null && memory.clientNumber === null) {
    const r = await ctx.hook('process_client_phone', { number: client, call_full: view(), call_stage: stage });
    memory.clientNumber = typeof r.value === 'string' && r.value !== '' ? r.value : effectiveNumber(client);
  }
  const employee = employeeNumberOf(snapshot, snapshot.conversations[convId]);
  if (employee !== null && memory.userNumbers[convId] === undefined) {
    const r = await ctx.hook('process_user_phone', { number: employee, call_full: view(), call_stage: stage }, `process_user_phone:${convId}`);
    memory.userNumbers[convId] = typeof r.value === 'string' && r.value !== '' ? r.value : effectiveNumber(employee);
  }
}

function variantsOf(input: StageInput, effective: string, n: CallNumber | null): string[] {
  const out = [effective, ...(n?.variants ?? []), ...(effective !== '' ? input.env.buildNumber(effective).variants : []), n?.original ?? ''];
  return [...new Set(out.filter((v) => v !== ''))];
}

async function lookUpUser(input: StageInput, convId: string): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  if (memory.users[convId] !== undefined) return;
  const number = memory.userNumbers[convId];
  if (number === undefined) return;
  if (env.kit.users === null) {
    memory.users[convId] = null;
    return;
  }
  const employee = employeeNumberOf(snapshot, snapshot.conversations[convId]);
  const user = await env.kit.users.findByNumber(variantsOf(input, number, employee));
  memory.users[convId] = user;
  ctx.note(user !== null ? `employee ${number} is CRM user ${user.id} (${user.name})` : `employee ${number}: no CRM user has this number`);
}

/** Once per call, before the registration: the client's entity by every variant of their number. */
async function searchEntity(input: StageInput): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  if (memory.entity !== undefined) return;
  const number = memory.clientNumber;
  if (number === null || !ctx.crmEnabled) {
    memory.entity = null;
    return;
  }
  const values = variantsOf(input, number, clientNumberOf(snapshot)).slice(0, 20);
  const found = okResult(await ctx.crm('entity_search', 'crm.duplicate.findbycomm', { type: 'PHONE', values }));
  const pick = (['CONTACT', 'COMPANY', 'LEAD'] as const).map((t) => [t, found?.[t]] as const).find(([, ids]) => Array.isArray(ids) && ids.length > 0);
  if (pick === undefined) {
    memory.entity = null;
    ctx.note(`no CRM entity has ${values.join(', ')}`);
    return;
  }
  const [type, ids] = pick;
  const id = str((ids as JsonValue[])[0]);
  const raw = okResult(await ctx.crm('entity_get', `crm.${type.toLowerCase()}.get`, { id }));
  if (raw === null) {
    memory.entity = null;
    return;
  }
  const responsible = (await env.kit.users?.byId(str(raw.ASSIGNED_BY_ID))) ?? null;
  memory.entity = entityFromRecord({ type, record: raw, responsible, isNew: false, toNumber: env.buildNumber });
}

function defaultUserId(input: StageInput): number {
  const { settings } = input.env;
  const trunk = effectiveNumber(input.snapshot.channel.trunk);
  const byTrunk = settings.missed_call.default_user_by_trunk as Record<string, number>;
  return byTrunk[trunk] ?? byTrunk[input.snapshot.channel.trunk.original] ?? settings.default_user_id;
}

async function ensureRegistered(input: StageInput, convId: string, view: () => CallFull): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  if (memory.registration !== null || memory.notRegistered !== null) return;
  await searchEntity(input);
  const direction = callDirection(input.memory, input.snapshot);
  // An internal call is registered on its caller, with the called extension as the number (Bitrix24 then
  // files it as a portal call); a customer call on the employee whose phone rings.
  const who = direction === 'local' ? '' : convId;
  const user = memory.users[who] ?? firstKnownUser(memory);
  const fallbackId = defaultUserId(input);
  const params: JsonParams = {};
  const clicked = memory.clickToCall?.userId ?? '';
  if (clicked !== '') params.USER_ID = Number(clicked);
  else if (user) params.USER_ID = Number(user.id);
  else if (fallbackId > 0) params.USER_ID = fallbackId;
  else params.USER_PHONE_INNER = memory.userNumbers[who] ?? '';
  params.PHONE_NUMBER = memory.clientNumber ?? (direction === 'local' ? effectiveNumber(snapshot.channel.to) : '');
  params.TYPE = direction === 'incoming' ? 2 : 1;
  params.CALL_START_DATE = env.kit.dateTime(snapshot.channel.start_time);
  const create = direction === 'incoming' ? env.settings.create_entity.incoming : env.settings.create_entity.outgoing;
  params.CRM_CREATE = create && memory.entity === null ? 1 : 0;
  if (env.settings.crm_source !== '') params.CRM_SOURCE = env.settings.crm_source;
  if (memory.entity) {
    params.CRM_ENTITY_TYPE = memory.entity.type.toUpperCase();
    params.CRM_ENTITY_ID = Number(memory.entity.id);
  }
  // Cards are for customer calls: an internal call shows none.
  params.SHOW = direction !== 'local' && env.settings.show_card === 'ringing' && ctx.event.stage === 'conversation_requested' && user ? 1 : 0;
  const line = effectiveNumber(snapshot.channel.trunk);
  if (line !== '') params.LINE_NUMBER = line;
  params.EXTERNAL_CALL_ID = externalCallId(env.pbx, ctx.event.linkedid);

  const hooked = await ctx.hook('process_registration_params', { call_full: view(), params });
  if (hooked.cancelled) {
    await ctx.cancelled('register', REGISTER, params, 'process_registration_params');
    memory.notRegistered = 'registration cancelled by customization';
    return;
  }
  const sent = (hooked.value ?? params) as JsonParams;
  const outcome = await ctx.crm('register', REGISTER, sent);
  const result = okResult(outcome);
  if (result === null) {
    if (outcome !== null && outcome.kind === 'rejected') {
      // Nothing later can reach the CRM without a CALL_ID: the call is parked, visible, reprocessable.
      throw new Blocked(null, `the CRM refused the registration: ${outcome.code ? `${outcome.code} ` : ''}${outcome.description}`);
    }
    memory.notRegistered = `registration ${whyNot(outcome)}`;
    return;
  }
  memory.registration = registrationFromRegister(result, str(sent.USER_ID));
  if (memory.registration === null) throw new Blocked(null, `register answered without a CALL_ID: ${JSON.stringify(result).slice(0, 200)}`);
  const created = result.CRM_CREATED_ENTITIES;
  if (memory.entity === null && Array.isArray(created) && created.length > 0) {
    const first = created[0] as JsonObject;
    memory.entity = {
      id: str(first.ENTITY_ID), is_new: true, name: '', phones: memory.clientNumber ? [env.buildNumber(memory.clientNumber)] : [], raw: {},
      responsible: user ?? emptyUser(), responsible_id: user?.id ?? str(sent.USER_ID), type: str(first.ENTITY_TYPE).toLowerCase(),
    };
  }
  if (sent.SHOW === 1 && sent.USER_ID !== undefined) addShown(memory, str(sent.USER_ID));
  if (typeof result.LEAD_CREATION_ERROR === 'string' && result.LEAD_CREATION_ERROR !== '') ctx.note(`Bitrix24: ${result.LEAD_CREATION_ERROR}`);
}

function emptyUser(): User {
  return { email: '', id: '', name: '', phones: [], position: '', raw: {} };
}

function firstKnownUser(memory: CallMemory): User | null {
  for (const u of Object.values(memory.users)) if (u) return u;
  return null;
}

function addShown(memory: CallMemory, id: string): void {
  if (id !== '' && !memory.shown.includes(id)) memory.shown.push(id);
}

async function cardRequest(
  input: StageInput, view: () => CallFull, key: string, method: 'show' | 'hide', users: string[], why: string,
): Promise<string[]> {
  const { ctx, memory } = input;
  const callId = memory.registration?.id ?? '';
  const params: JsonParams = { CALL_ID: callId, USER_ID: users.map(Number) };
  const hooked = await ctx.hook('customize_show_call_card', { call_full: view(), call_stage: ctx.event.stage, params }, `customize_show_call_card:${key}`);
  const full = `telephony.externalcall.${method}`;
  if (hooked.cancelled) {
    await ctx.cancelled(key, full, params, 'customize_show_call_card');
    return [];
  }
  const sent = (hooked.value ?? params) as JsonParams;
  const outcome = await ctx.crm(key, full, sent);
  if (outcome?.kind !== 'ok') return [];
  ctx.note(`card ${method === 'show' ? 'shown to' : 'hidden for'} ${users.join(', ')} (${why})`);
  const sentUsers = Array.isArray(sent.USER_ID) ? sent.USER_ID.map(str) : [str(sent.USER_ID)];
  return sentUsers.filter((u) => u !== '');
}

async function showCard(input: StageInput, convId: string, view: () => CallFull): Promise<void> {
  const { memory, env } = input;
  // After finish Bitrix24 hides every card itself; a reprocess must not show one again.
  if (memory.registration === null || memory.finished || env.settings.show_card !== 'ringing' || callDirection(input.memory, input.snapshot) === 'local') return;
  const user = memory.users[convId];
  if (!user || memory.shown.includes(user.id)) return;
  for (const id of await cardRequest(input, view, `show:${convId}`, 'show', [user.id], 'their phone rings')) addShown(memory, id);
}

async function onAnswer(input: StageInput, convId: string, view: () => CallFull): Promise<void> {
  const { memory, env } = input;
  if (memory.registration === null || memory.finished || env.settings.show_card === 'never' || callDirection(input.memory, input.snapshot) === 'local') return;
  const user = memory.users[convId];
  if (env.settings.show_card === 'answered' && user && !memory.shown.includes(user.id)) {
    for (const id of await cardRequest(input, view, `show:${convId}`, 'show', [user.id], 'they answered')) addShown(memory, id);
  }
  const others = memory.shown.filter((id) => id !== user?.id);
  if (others.length === 0) return;
  const hidden = await cardRequest(input, view, `hide:answered:${convId}`, 'hide', others, `${user?.name || 'someone else'} answered`);
  memory.shown = memory.shown.filter((id) => !hidden.includes(id));
}

async function hideCard(input: StageInput, convId: string, view: () => CallFull, key: string, why: string): Promise<void> {
  const { memory } = input;
  const user = memory.users[convId];
  if (memory.registration === null || memory.finished || !user || !memory.shown.includes(user.id)) return;
  const hidden = await cardRequest(input, view, key, 'hide', [user.id], why);
  memory.shown = memory.shown.filter((id) => !hidden.includes(id));
}

/** Who the call is finished on: who talked last; for a missed incoming call the configured strategy. */
function finishUser(input: StageInput): { id: number; why: string } {
  const { snapshot, memory, env } = input;
  const answered = answeredConversations(snapshot);
  const registered = Number(memory.registration?.responsible_id ?? 0);
  if (callDirection(input.memory, input.snapshot) === 'local') return { id: registered, why: 'internal call: its caller' };
  for (const [id] of [...answered].reverse()) {
    const u = memory.users[id];
    if (u) return { id: Number(u.id), why: `${u.name || u.id} talked last` };
  }
  if (callDirection(input.memory, input.snapshot) !== 'incoming' || answered.length > 0) return { id: registered, why: 'the user the call was registered on' };
  const order = ['entity', 'last_rung', 'default'] as const;
  const start = order.indexOf(env.settings.missed_call.responsible);
  for (const strategy of order.slice(start)) {
    if (strategy === 'entity' && memory.entity?.responsible_id) {
      return { id: Number(memory.entity.responsible_id), why: `missed call: the client's responsible (${memory.entity.type} ${memory.entity.id})` };
    }
    if (strategy === 'last_rung') {
      const rung = conversationsInOrder(snapshot).map(([id]) => memory.users[id]).filter((u): u is User => !!u);
      const last = rung[rung.length - 1];
      if (last) return { id: Number(last.id), why: `missed call: ${last.name || last.id}'s phone rang last` };
    }
    if (strategy === 'default') {
      const id = defaultUserId(input);
      if (id > 0) return { id, why: 'missed call: the default user (crm.bitrix24.default_user_id / missed_call.default_user_by_trunk)' };
    }
  }
  return { id: registered, why: 'missed call: no strategy found a user; the user the call was registered on' };
}

async function endCall(input: StageInput, view: () => CallFull): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  const registration = memory.registration;
  if (registration === null) {
    ctx.note(`not registered (${memory.notRegistered ?? 'no registration'}): nothing to finish`);
    return;
  }
  const direction = callDirection(input.memory, input.snapshot);
  const answered = wasAnswered(snapshot);
  const who = finishUser(input);
  const params: JsonParams = {
    CALL_ID: registration.id,
    USER_ID: who.id,
    DURATION: talkSeconds(snapshot),
    STATUS_CODE: finishStatusCode(snapshot.result, snapshot.channel.type, answered),
    ADD_TO_CHAT: env.settings.add_to_chat ? 1 : 0,
  };
  if (!memory.finished) {
    const hooked = await ctx.hook('process_final_params', { call_full: view(), params });
    if (hooked.cancelled) {
      await ctx.cancelled('finish', FINISH, params, 'process_final_params');
      ctx.note('finish cancelled by customization: the call stays open in Bitrix24');
      return;
    }
    const sent = (hooked.value ?? params) as JsonParams;
    ctx.note(`finishing on user ${str(sent.USER_ID)}: ${who.why}`);
    const outcome = await ctx.crm('finish', FINISH, sent, {
      // A resend after a lost answer: "Call is not found" means the first finish went through.
      afterDoubt: (o) => (isCallNotFound(o) ? { kind: 'ok', result: { reconciled: true }, status: o.status, snippet: o.snippet, durationMs: o.durationMs } : o),
    });
    const result = okResult(outcome);
    if (result === null) {
      ctx.note(`the CRM did not finish the call: ${whyNot(outcome)}`);
      return;
    }
    memory.finished = true;
    memory.shown = [];
    memory.registration = registrationAfterFinish(registration, result);
  }
  await attachRecording(input, view);
  await customizeActivity(input, view);
  await customizeEntity(input, view);
  await missedCallTask(input, view, direction, answered);
  await ctx.hook('post_registration', { call_full: view() });
}

async function attachRecording(input: StageInput, view: () => CallFull): Promise<void> {
  const { ctx, memory, env } = input;
  const recordings = env.recordings ?? null;
  if (recordings === null) return;
  const ready = await readyRecording({ ...input, recordings }, view, 'bitrix24', 'attach', ATTACH);
  if (ready === null) return;
  const params: JsonParams = { CALL_ID: memory.registration?.id ?? '', FILENAME: path.basename(ready.file) };
  const hooked = await ctx.hook('customize_attach_record_url', { call_full: view(), params });
  if (hooked.cancelled) {
    await ctx.cancelled('attach', ATTACH, params, 'customize_attach_record_url');
    return;
  }
  const sent = { ...((hooked.value ?? params) as JsonParams) };
  // The content is added after the hook: hooks see the request, not megabytes of base64.
  if (typeof sent.RECORD_URL !== 'string' || sent.RECORD_URL === '') {
    try {
      sent.FILE_CONTENT = (await readFile(ready.file)).toString('base64');
    } catch (error) {
      await ctx.skipped('attach', ATTACH, params, `recording ${ready.file}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
  }
  const outcome = await ctx.crm('attach', ATTACH, sent);
  if (outcome?.kind === 'ok') ctx.note(`recording ${path.basename(ready.file)} attached`);
}

async function customizeActivity(input: StageInput, view: () => CallFull): Promise<void> {
  const { ctx, memory } = input;
  const id = memory.registration?.activity_id ?? '';
  if (id === '' || !ctx.hasHooks('customize_activity')) return;
  const raw = okResult(await ctx.crm('activity_get', 'crm.activity.get', { id }));
  if (raw === null) return;
  const activity = {
    id, name: str(raw.SUBJECT), raw, responsible_id: str(raw.RESPONSIBLE_ID), type: 'activity', is_new: false, phones: [],
  };
  const hooked = await ctx.hook('customize_activity', { call_full: view(), activity, fields: {} });
  if (hooked.cancelled) {
    ctx.note('customize_activity: no fields to write');
    return;
  }
  await ctx.crm('activity_update', 'crm.activity.update', { id, fields: hooked.value as JsonValue });
}

async function customizeEntity(input: StageInput, view: () => CallFull): Promise<void> {
  const { ctx, memory } = input;
  const entity = memory.entity;
  if (!entity || entity.id === '' || !ctx.hasHooks('customize_entity')) return;
  const hooked = await ctx.hook('customize_entity', { call_full: view(), entity, fields: {} });
  if (hooked.cancelled) {
    ctx.note('customize_entity: no fields to write');
    return;
  }
  await ctx.crm('entity_update', `crm.${entity.type}.update`, { id: entity.id, fields: hooked.value as JsonValue });
}

async function missedCallTask(input: StageInput, view: () => CallFull, direction: Direction, answered: boolean): Promise<void> {
  const { ctx, memory, env } = input;
  const settings = env.settings.missed_call;
  if (!settings.create_task || direction !== 'incoming' || answered) return;
  const responsible = memory.registration?.responsible_id ?? '';
  const deadline = env.kit.dateTime(addMinutes(input.snapshot.channel.end_time, settings.task_deadline_minutes));
  const params: JsonParams = {
    TITLE: `Missed call from ${memory.clientNumber ?? ''}`,
    RESPONSIBLE_ID: Number(responsible),
    DEADLINE: deadline,
    DESCRIPTION: `Missed incoming call from ${memory.clientNumber ?? ''} at ${input.snapshot.channel.start_time}.`,
  };
  const hooked = await ctx.hook('process_task_creation_params', { call_full: view(), params });
  if (hooked.cancelled) {
    await ctx.cancelled('task', 'tasks.task.add', params, 'process_task_creation_params');
    return;
  }
  // A unique tag finds the task again if its creation answer was lost (tasks.task.add is not idempotent).
  const tag = externalCallId(env.pbx, ctx.event.linkedid);
  const fields: JsonParams = { ...((hooked.value ?? params) as JsonParams), TAGS: [tag] };
  if (memory.entity) fields.UF_CRM_TASK = [`${memory.entity.type === 'contact' ? 'C' : memory.entity.type === 'company' ? 'CO' : 'L'}_${memory.entity.id}`];
  await ctx.crm('task', 'tasks.task.add', { fields }, {
    // One search per doubt: a recorded "not found" of an earlier doubt must not answer this one.
    findExisting: async (previous) => {
      const found = okResult(await ctx.crm(`task_find:${previous.attempts}`, 'tasks.task.list', { filter: { TAG: tag }, select: ['ID'] }));
      const tasks = found?.tasks;
      return Array.isArray(tasks) && tasks.length > 0 ? { task: tasks[0] as JsonValue } : null;
    },
  });
}

function addMinutes(pbxLocal: string, minutes: number): string {
  const ms = Date.parse(`${pbxLocal.replace(' ', 'T')}Z`);
  if (!Number.isFinite(ms)) return pbxLocal;
  return new Date(ms + minutes * 60_000).toISOString().slice(0, 19).replace('T', ' ');
}
