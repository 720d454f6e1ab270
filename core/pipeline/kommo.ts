// The Kommo stage program (crm-apis.md §2; itgrix-customizer.md §2.2): Kommo has no call lifecycle to
// follow while a call rings (no register/show/finish), so the stages before call_ended only settle the
// numbers and the employees; at call_ended, in order:
//   need_registration (no = nothing is sent), process_client_phone, process_user_phone
//   contact search: GET /api/v4/contacts?query=<last 10 digits>&with=leads, a hit verified by its PHONE field
//     (the search is fuzzy); the one active lead is call_full.deal
//   unknown number, by crm.kommo.unknown_number: an Unsorted SIP item (process_unsorted_creation_params;
//     incoming only; the item carries the call event, so no /calls), or a contact
//     (process_contact_creation_params) and a lead (process_lead_creation_params), or nothing
//   known contact / lead: process_contact_update_params / process_lead_update_params (only when a hook is active)
//   the recording: process_record_file_path, waited for, MP3, a signed link served by the connector
//   POST /api/v4/calls (process_call_params): direction, duration, call_status, call_result, link,
//     responsible_user_id (missed incoming calls: entity → last_rung → default, as for Bitrix24), created_by
//   post_registration
// Every request goes through StepContext (journal + outbox). Creating requests are not idempotent; each has
// a reconcile rule for a send that may have gone through (see docs/kommo.md, "Exactly once").
import { createHash } from 'node:crypto';
import type { JsonObject } from '../../hooks/engine.js';
import type { HookPointName } from '../../hooks/catalogue.js';
import type { CallFull, CallNumber, Deal, Entity, User } from '../../types/call_full.js';
import type { Settings } from '../../types/settings.js';
import type { CrmOutcome, JsonParams, JsonValue } from '../crm/types.js';
import { contactPhones, lastDigits, phoneMatches } from '../crm/kommo/phones.js';
import type { KommoUsers } from '../crm/kommo/users.js';
import type { Recordings } from '../recordings/index.js';
import type { CallMemory } from './memory.js';
import { enrich } from './memory.js';
import { callDirection, recallClickToCall, type ClickToCallLookup } from './click-to-call.js';
import { answeredConversations, clientNumberOf, conversationsInOrder, effectiveNumber, employeeNumberOf, talkSeconds, wasAnswered, type Direction } from './parties.js';
import { readyRecording } from './recording.js';
import { Blocked, type StepContext } from './steps.js';

export type KommoSettings = Settings['crm']['kommo'];

export const KOMMO_POINTS: readonly HookPointName[] = [
  'need_registration', 'process_client_phone', 'process_user_phone', 'process_contact_creation_params', 'process_lead_creation_params',
  'process_unsorted_creation_params', 'process_contact_update_params', 'process_lead_update_params', 'process_record_file_path', 'process_call_params',
  'post_registration',
];

export interface KommoEnv {
  settings: KommoSettings;
  users: Pick<KommoUsers, 'findByNumber' | 'byId'> | null;
  recordings: Recordings | null;
  pbx: string;
  buildNumber(raw: string): CallNumber;
  /** The click-to-call request whose Originate had this linkedid as its ChannelId (core/click-to-call), if any. */
  clickToCall?: ClickToCallLookup;
}

export interface KommoStageInput {
  ctx: StepContext;
  snapshot: CallFull;
  memory: CallMemory;
  env: KommoEnv;
}

const CALLS = 'POST /api/v4/calls';
const CONTACTS = 'POST /api/v4/contacts';
const LEADS = 'POST /api/v4/leads';
const UNSORTED = 'POST /api/v4/leads/unsorted/sip';

/** The call's `uniq` in Kommo: unique per physical call and PBX (two PBXs may reuse a linkedid). */
export function kommoUniq(pbx: string, linkedid: string): string {
  return `callhook-${createHash('sha256').update(pbx).digest('hex').slice(0, 8)}-${linkedid}`;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const num = (v: JsonValue | undefined): number => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : 0);

function okResult(o: CrmOutcome | null): JsonObject | null {
  if (o === null || o.kind !== 'ok' || !isObject(o.result)) return null;
  return o.result;
}

function embeddedList(result: JsonObject | null, key: string): JsonObject[] {
  if (result === null || !isObject(result._embedded)) return [];
  const list = result._embedded[key];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

const unixOf = (pbxLocal: string): number => {
  const ms = Date.parse(`${pbxLocal.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : Math.floor(Date.now() / 1000);
};

function emptyUser(): User {
  return { email: '', id: '', name: '', phones: [], position: '', raw: {} };
}

export async function runKommoStage(input: KommoStageInput): Promise<void> {
  await recallClickToCall(input.ctx, input.memory, input.env.clickToCall, 'Kommo');
  const { ctx, snapshot, memory } = input;
  const stage = ctx.event.stage;
  const convId = ctx.event.conversationId;
  const client = clientNumberOf(snapshot);
  const view = (): CallFull => enrich(snapshot, memory, client?.original ?? null);

  const verdict = await ctx.hook('need_registration', { call_full: view(), call_stage: stage });
  ctx.trace.registered = verdict.value === true;
  if (verdict.value !== true) {
    ctx.note('need_registration said no: this stage sends nothing to the CRM');
    if (stage === 'call_ended' && memory.registration === null) memory.notRegistered = 'need_registration said no';
    return;
  }
  if (callDirection(input.memory, input.snapshot) === 'local') {
    ctx.note('internal call: Kommo logs calls with clients only, nothing is sent');
    memory.notRegistered = 'internal call';
    return;
  }
  if (convId !== '') await settle(input, view, convId);
  if (stage !== 'call_ended') return;
  await settle(input, view, '');
  if (memory.finished) {
    ctx.note('the call is in Kommo already (an earlier run): not sent again');
    return;
  }
  if (memory.clientNumber === null || lastDigits(memory.clientNumber).length < 5) {
    memory.notRegistered = 'no client number';
    ctx.note(`no usable client number (${memory.clientNumber ?? 'none'}): Kommo finds the contact by the number, nothing is sent`);
    return;
  }
  await findContact(input);
  const recording = await recordingLink(input, view);
  // A contact this call created (is_new) means an earlier attempt stopped part way: the rest of the creation
  // runs again, its done actions answered from the outbox.
  if (memory.entity === null || memory.entity?.is_new === true) {
    const created = await unknownNumber(input, view, recording);
    if (created === 'unsorted' || created === 'none') {
      await ctx.hook('post_registration', { call_full: view() });
      return;
    }
  } else {
    await updateContact(input, view);
  }
  await updateLead(input, view);
  await registerCall(input, view, recording);
  await ctx.hook('post_registration', { call_full: view() });
}

async function settle(input: KommoStageInput, view: () => CallFull, convId: string): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  const stage = ctx.event.stage;
  const client = clientNumberOf(snapshot);
  if (client !== null && memory.clientNumber === null) {
    const r = await ctx.hook('process_client_phone', { number: client, call_full: view(), call_stage: stage });
    memory.clientNumber = typeof r.value === 'string' && r.value !== '' ? r.value : effectiveNumber(client);
  }
  const employee = employeeNumberOf(snapshot, snapshot.conversations[convId]);
  if (employee !== null && memory.userNumbers[convId] === undefined) {
    const r = await ctx.hook('process_user_phone', { number: employee, call_full: view(), call_stage: stage }, `process_user_phone:${convId}`);
    memory.userNumbers[convId] = typeof r.value === 'string' && r.value !== '' ? r.value : effectiveNumber(employee);
  }
  if (memory.users[convId] !== undefined) return;
  const number = memory.userNumbers[convId];
  if (number === undefined) return;
  if (env.users === null) {
    memory.users[convId] = null;
    return;
  }
  const variants = [...new Set([number, ...(employee?.variants ?? []), ...env.buildNumber(number).variants, employee?.original ?? ''].filter((v) => v !== ''))];
  const user = await env.users.findByNumber(variants);
  memory.users[convId] = user;
  ctx.note(user !== null ? `employee ${number} is Kommo user ${user.id}${user.name !== '' ? ` (${user.name})` : ''}` : `employee ${number}: not in crm.kommo.users`);
}

function entityOf(contact: JsonObject, responsible: User | null, isNew: boolean, env: KommoEnv): Entity {
  return {
    id: str(contact.id), is_new: isNew, name: str(contact.name), phones: contactPhones(contact).map((p) => env.buildNumber(p)),
    raw: contact, responsible: responsible ?? emptyUser(), responsible_id: str(contact.responsible_user_id), type: 'contact',
  };
}

function dealOf(lead: JsonObject, isNew: boolean): Deal {
  return { id: str(lead.id), is_new: isNew, name: str(lead.name), pipeline_id: str(lead.pipeline_id), raw: lead, responsible_id: str(lead.responsible_user_id), status_id: str(lead.status_id) };
}

/** The verified contact of a search answer (Kommo's query is fuzzy: its PHONE field must hold the number). */
function verifiedContact(result: JsonObject | null, number: string): JsonObject | null {
  return embeddedList(result, 'contacts').find((c) => contactPhones(c).some((p) => phoneMatches(p, number))) ?? null;
}

async function findContact(input: KommoStageInput): Promise<void> {
  const { ctx, memory, env } = input;
  if (memory.entity !== undefined) return;
  const number = memory.clientNumber ?? '';
  const query = lastDigits(number);
  const found = okResult(await ctx.crm('contact_search', 'GET /api/v4/contacts', { query: { query, with: 'leads', limit: 50 } }));
  const contact = verifiedContact(found, number);
  if (contact === null) {
    const hits = embeddedList(found, 'contacts').length;
    ctx.note(hits > 0 ? `the search for ${query} found ${hits} contact(s), none with this number in its PHONE field (Kommo's search is fuzzy)` : `no Kommo contact has ${number}`);
    memory.entity = null;
    memory.deal = null;
    return;
  }
  const responsible = (await env.users?.byId(num(contact.responsible_user_id))) ?? null;
  memory.entity = entityOf(contact, responsible, false, env);
  ctx.note(`client ${number} is contact ${str(contact.id)}${str(contact.name) !== '' ? ` (${str(contact.name)})` : ''}`);
  await findDeal(input, contact);
}

/** The contact's one active lead is the call's deal (as /calls itself attaches a call to it). */
async function findDeal(input: KommoStageInput, contact: JsonObject): Promise<void> {
  const { ctx, memory } = input;
  const ids = (isObject(contact._embedded) && Array.isArray(contact._embedded.leads) ? contact._embedded.leads : []).filter(isObject).map((l) => str(l.id)).filter((id) => id !== '');
  const active: JsonObject[] = [];
  // At most 5 reads: with more leads the call goes to the contact anyway unless exactly one is active.
  for (const id of ids.slice(0, 5)) {
    const lead = okResult(await ctx.crm(`lead_get:${id}`, `GET /api/v4/leads/${id}`, {}));
    if (lead !== null && (lead.closed_at === null || lead.closed_at === undefined)) active.push(lead);
  }
  memory.deal = active.length === 1 ? dealOf(active[0]!, false) : null;
  if (memory.deal !== null) ctx.note(`the contact's one active lead is ${memory.deal.id}: the call belongs to it`);
}

function defaultUserId(env: KommoEnv): number {
  return env.settings.default_user_id;
}

/** Who the call is put on: who talked last; outgoing: the caller; a missed incoming call by the configured strategy. */
function responsibleOf(input: KommoStageInput): { id: number; why: string } {
  const { snapshot, memory, env } = input;
  // A click-to-call is the clicking user's call, whoever's phone took part.
  const clicked = Number(memory.clickToCall?.userId ?? 0);
  if (clicked > 0) return { id: clicked, why: `Kommo user ${clicked} clicked to call` };
  for (const [id] of [...answeredConversations(snapshot)].reverse()) {
    const u = memory.users[id];
    if (u) return { id: Number(u.id), why: `${u.name || u.id} talked last` };
  }
  const direction = callDirection(input.memory, input.snapshot);
  if (direction === 'outgoing') {
    const u = memory.users[''] ?? Object.values(memory.users).find((x) => x) ?? null;
    if (u) return { id: Number(u.id), why: `${u.name || u.id} called` };
  }
  if (direction === 'incoming' && !wasAnswered(snapshot)) {
    const order = ['entity', 'last_rung', 'default'] as const;
    for (const strategy of order.slice(order.indexOf(env.settings.missed_call.responsible))) {
      if (strategy === 'entity' && memory.entity && num(memory.entity.responsible_id) > 0) return { id: num(memory.entity.responsible_id), why: `missed call: the contact's responsible (${memory.entity.id})` };
      if (strategy === 'last_rung') {
        const rung = conversationsInOrder(snapshot).map(([id]) => memory.users[id]).filter((u): u is User => !!u);
        const last = rung[rung.length - 1];
        if (last) return { id: Number(last.id), why: `missed call: ${last.name || last.id}'s phone rang last` };
      }
      if (strategy === 'default' && defaultUserId(env) > 0) return { id: defaultUserId(env), why: 'missed call: crm.kommo.default_user_id' };
    }
  }
  const any = Object.values(memory.users).find((u) => u);
  if (any) return { id: Number(any.id), why: `${any.name || any.id} took part` };
  if (defaultUserId(env) > 0) return { id: defaultUserId(env), why: 'no mapped employee: crm.kommo.default_user_id' };
  return { id: 0, why: 'no mapped employee and no crm.kommo.default_user_id: no responsible is sent' };
}

/** Kommo call_status: 4 had a conversation, 7 line busy, 6 not reached (missed); call_result in words. */
function statusOf(snapshot: CallFull, direction: Direction): { status: number; result: string } {
  if (wasAnswered(snapshot)) return { status: 4, result: 'Answered' };
  if (/busy/i.test(String(snapshot.result))) return { status: 7, result: 'Line busy' };
  return { status: 6, result: direction === 'incoming' ? 'Missed' : 'Not reached' };
}

async function recordingLink(input: KommoStageInput, view: () => CallFull): Promise<string | null> {
  const { env } = input;
  if (env.recordings === null) return null;
  const ready = await readyRecording({ ...input, recordings: env.recordings }, view, 'kommo', 'recording', 'link');
  if (ready === null) return null;
  const link = env.recordings.link(ready.file);
  if (link === null) input.ctx.note('recording ready, but no link server runs (recordings.link): the call is sent without a link');
  else input.ctx.note(`recording linked: ${ready.file.split('/').pop() ?? ''} (expires in ${env.recordings.settings.link.lifetime_hours} h)`);
  return link;
}

async function unknownNumber(input: KommoStageInput, view: () => CallFull, link: string | null): Promise<'unsorted' | 'contact' | 'none'> {
  const { ctx, snapshot, memory, env } = input;
  const direction = callDirection(input.memory, input.snapshot);
  const policy = direction === 'incoming' ? env.settings.unknown_number.incoming : env.settings.unknown_number.outgoing;
  const number = memory.clientNumber ?? '';
  const who = responsibleOf(input);
  if (policy === 'none') {
    await ctx.skipped('call', CALLS, { phone: number }, `no Kommo contact has ${number} and crm.kommo.unknown_number.${direction} is none: Kommo adds no call without an entity`);
    memory.notRegistered = 'unknown number (crm.kommo.unknown_number: none)';
    return 'none';
  }
  if (policy === 'unsorted') {
    await createUnsorted(input, view, link, who.id);
    return 'unsorted';
  }
  const contactParams: JsonParams = {
    name: number,
    ...(who.id > 0 ? { responsible_user_id: who.id, created_by: who.id } : {}),
    custom_fields_values: [{ field_code: 'PHONE', values: [{ value: number, enum_code: 'WORK' }] }],
  };
  const hooked = await ctx.hook('process_contact_creation_params', { call_full: view(), params: contactParams });
  if (hooked.cancelled) {
    await ctx.cancelled('contact_create', CONTACTS, contactParams, 'process_contact_creation_params');
    await ctx.skipped('call', CALLS, { phone: number }, 'the contact creation was cancelled by customization: Kommo adds no call without an entity');
    memory.notRegistered = 'contact creation cancelled by customization';
    return 'none';
  }
  const sent = (hooked.value ?? contactParams) as JsonParams;
  const outcome = await ctx.crm('contact_create', CONTACTS, { body: [sent] }, {
    // A contact is created for this number only by this call: a contact with it now is the one we made.
    findExisting: async (previous) => {
      const found = okResult(await ctx.crm(`contact_find:${previous.attempts}`, 'GET /api/v4/contacts', { query: { query: lastDigits(number), limit: 50 } }));
      const c = verifiedContact(found, number);
      return c === null ? null : { _embedded: { contacts: [{ id: c.id ?? 0 }] } };
    },
  });
  const id = num(embeddedList(okResult(outcome), 'contacts')[0]?.id);
  if (id === 0) throw rejectedOrPark(outcome, 'the contact creation');
  memory.entity = entityOf({ ...sent, id }, who.id > 0 ? ((await env.users?.byId(who.id)) ?? null) : null, true, env);
  ctx.note(`contact ${id} created for ${number}`);
  if (policy === 'contact_and_lead') await createLead(input, view, id, who.id);
  return 'contact';
}

function rejectedOrPark(outcome: CrmOutcome | null, what: string): Blocked {
  const why = outcome === null ? 'no CRM' : outcome.kind === 'ok' ? `an answer without the created id: ${outcome.snippet.slice(0, 200)}` : `${outcome.kind} ${'code' in outcome ? outcome.code : ''} ${'description' in outcome ? outcome.description : ''}`;
  // Nothing later can be attached without it: the call is parked, visible, reprocessable after the fix.
  return new Blocked(null, `Kommo refused ${what}: ${why.trim()}`);
}

async function createLead(input: KommoStageInput, view: () => CallFull, contactId: number, responsible: number): Promise<void> {
  const { ctx, memory, env } = input;
  const number = memory.clientNumber ?? '';
  const params: JsonParams = {
    name: `Call from ${number}`,
    ...(responsible > 0 ? { responsible_user_id: responsible, created_by: responsible } : {}),
    ...(env.settings.pipeline_id > 0 ? { pipeline_id: env.settings.pipeline_id } : {}),
  };
  const hooked = await ctx.hook('process_lead_creation_params', { call_full: view(), params });
  if (hooked.cancelled) {
    await ctx.cancelled('lead_create', LEADS, params, 'process_lead_creation_params');
    return;
  }
  const sent = { ...((hooked.value ?? params) as JsonParams), _embedded: { contacts: [{ id: contactId }] } };
  const outcome = await ctx.crm('lead_create', LEADS, { body: [sent] }, {
    // The contact is new (made for this call): any lead it has is the one this call created.
    findExisting: async (previous) => {
      const c = okResult(await ctx.crm(`lead_find:${previous.attempts}`, `GET /api/v4/contacts/${contactId}`, { query: { with: 'leads' } }));
      const lead = isObject(c?._embedded) && Array.isArray(c._embedded.leads) ? c._embedded.leads.find(isObject) : undefined;
      return lead === undefined ? null : { _embedded: { leads: [{ id: lead.id ?? 0 }] } };
    },
  });
  const id = num(embeddedList(okResult(outcome), 'leads')[0]?.id);
  if (id === 0) {
    ctx.note(`the lead was not created: ${outcome?.kind === 'rejected' ? outcome.description : 'no id in the answer'}`);
    return;
  }
  memory.deal = dealOf({ ...sent, id, _embedded: { contacts: [{ id: contactId }] } }, true);
  ctx.note(`lead ${id} created`);
}

async function createUnsorted(input: KommoStageInput, view: () => CallFull, link: string | null, responsible: number): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  const number = memory.clientNumber ?? '';
  const uniq = kommoUniq(env.pbx, ctx.event.linkedid);
  const calledAt = unixOf(snapshot.channel.start_time);
  const params: JsonParams = {
    source_uid: env.settings.source,
    source_name: env.settings.source,
    created_at: calledAt,
    ...(env.settings.pipeline_id > 0 ? { pipeline_id: env.settings.pipeline_id } : {}),
    metadata: {
      // Both the caller ID (crm-apis.md §2.3: with is_call_event_needed Kommo swaps phone and from on accepting).
      phone: number, from: number, called_at: calledAt, duration: talkSeconds(snapshot), service_code: env.settings.source, uniq, is_call_event_needed: true,
      ...(link !== null ? { link } : {}),
      ...(responsible > 0 ? { call_responsible: responsible } : {}),
    },
    _embedded: { leads: [{ name: `Call from ${number}` }], contacts: [{ name: number }] },
  };
  const hooked = await ctx.hook('process_unsorted_creation_params', { call_full: view(), params });
  if (hooked.cancelled) {
    await ctx.cancelled('unsorted', UNSORTED, params, 'process_unsorted_creation_params');
    memory.notRegistered = 'unsorted item cancelled by customization';
    return;
  }
  const sent = (hooked.value ?? params) as JsonParams;
  const outcome = await ctx.crm('unsorted', UNSORTED, { body: [sent] }, {
    // The newest SIP items: one with this call's uniq is the one an earlier send created.
    findExisting: async (previous) => {
      const list = okResult(await ctx.crm(`unsorted_find:${previous.attempts}`, 'GET /api/v4/leads/unsorted', { query: { 'filter[category]': 'sip', 'order[created_at]': 'desc', limit: 250 } }));
      const item = embeddedList(list, 'unsorted').find((u) => isObject(u.metadata) && u.metadata.uniq === (isObject(sent.metadata) ? sent.metadata.uniq : uniq));
      return item === undefined ? null : { _embedded: { unsorted: [item] } };
    },
  });
  const item = embeddedList(okResult(outcome), 'unsorted')[0];
  if (item === undefined) throw rejectedOrPark(outcome, 'the unsorted item');
  const contactId = str(embeddedList(isObject(item) ? item : null, 'contacts')[0]?.id);
  const leadId = str(embeddedList(isObject(item) ? item : null, 'leads')[0]?.id);
  memory.entity = { id: contactId, is_new: true, name: number, phones: [env.buildNumber(number)], raw: {}, responsible: emptyUser(), responsible_id: responsible > 0 ? String(responsible) : '', type: 'contact' };
  memory.deal = leadId !== '' ? { id: leadId, is_new: true, name: `Call from ${number}`, pipeline_id: str(sent.pipeline_id), raw: {}, responsible_id: memory.entity.responsible_id, status_id: '' } : null;
  memory.registration = { id: str(item.uid), activity_id: '', created_company_id: '', created_contact_id: contactId, created_deal_id: leadId, created_lead_id: leadId, entity_id: leadId, entity_type: 'lead', responsible_id: memory.entity.responsible_id };
  memory.finished = true;
  ctx.note(`unknown number ${number}: Unsorted SIP item ${str(item.uid)} (with its call event) created`);
}

async function updateContact(input: KommoStageInput, view: () => CallFull): Promise<void> {
  const { ctx, memory } = input;
  const contact = memory.entity;
  if (!contact || contact.id === '' || contact.is_new || !ctx.hasHooks('process_contact_update_params')) return;
  const hooked = await ctx.hook('process_contact_update_params', { call_full: view(), contact, params: {} });
  if (hooked.cancelled) {
    ctx.note('process_contact_update_params: no fields to write');
    return;
  }
  // PATCH sets fields: sending it twice leaves the same contact (no reconcile needed).
  await ctx.crm('contact_update', `PATCH /api/v4/contacts/${contact.id}`, { body: hooked.value as JsonValue });
}

async function updateLead(input: KommoStageInput, view: () => CallFull): Promise<void> {
  const { ctx, memory } = input;
  const deal = memory.deal;
  if (!deal || deal.id === '' || !ctx.hasHooks('process_lead_update_params')) return;
  const hooked = await ctx.hook('process_lead_update_params', { call_full: view(), deal, params: {} });
  if (hooked.cancelled) {
    ctx.note('process_lead_update_params: no fields to write');
    return;
  }
  await ctx.crm('lead_update', `PATCH /api/v4/leads/${deal.id}`, { body: hooked.value as JsonValue });
}

async function registerCall(input: KommoStageInput, view: () => CallFull, link: string | null): Promise<void> {
  const { ctx, snapshot, memory, env } = input;
  const number = memory.clientNumber ?? '';
  const uniq = kommoUniq(env.pbx, ctx.event.linkedid);
  const who = responsibleOf(input);
  const { status, result } = statusOf(snapshot, callDirection(input.memory, input.snapshot));
  const params: JsonParams = {
    direction: callDirection(input.memory, input.snapshot) === 'incoming' ? 'inbound' : 'outbound',
    duration: talkSeconds(snapshot),
    source: env.settings.source,
    phone: number,
    uniq,
    call_status: status,
    call_result: result,
    created_at: unixOf(snapshot.channel.start_time),
    request_id: uniq,
    ...(link !== null ? { link } : {}),
    ...(who.id > 0 ? { responsible_user_id: who.id, created_by: who.id } : {}),
  };
  const hooked = await ctx.hook('process_call_params', { call_full: view(), call_result: result, call_status: status, params });
  if (hooked.cancelled) {
    await ctx.cancelled('call', CALLS, params, 'process_call_params');
    memory.notRegistered = 'call cancelled by customization';
    return;
  }
  const sent = (hooked.value ?? params) as JsonParams;
  ctx.note(`responsible ${who.id > 0 ? who.id : 'none'}: ${who.why}`);
  const outcome = await ctx.crm('call', CALLS, { body: [sent] }, {
    // /calls cannot be read back (405), but each call becomes a call_in/call_out note carrying its uniq on
    // the contact or its lead: finding that note means the earlier send went through.
    findExisting: async (previous) => {
      const targets: string[] = [];
      if (memory.deal) targets.push(`leads/${memory.deal.id}`);
      if (memory.entity) targets.push(`contacts/${memory.entity.id}`);
      for (const t of targets) {
        const notes = okResult(await ctx.crm(`call_find:${previous.attempts}:${t}`, `GET /api/v4/${t}/notes`, { query: { 'filter[note_type][]': ['call_in', 'call_out'] } }));
        const note = embeddedList(notes, 'notes').find((n) => isObject(n.params) && n.params.uniq === (typeof sent.uniq === 'string' ? sent.uniq : uniq));
        if (note !== undefined) return { _embedded: { calls: [{ id: note.id ?? 0, entity_id: note.entity_id ?? 0, entity_type: t.split('/')[0] ?? '', reconciled_from_note: true }] } };
      }
      return null;
    },
  });
  const call = embeddedList(okResult(outcome), 'calls')[0];
  if (call === undefined) {
    if (outcome?.kind === 'rejected' && outcome.code === 'ENTITY_NOT_FOUND') {
      memory.notRegistered = 'Kommo has no entity with this number';
      ctx.note(`Kommo did not add the call: ${outcome.description}`);
      return;
    }
    throw rejectedOrPark(outcome, 'the call');
  }
  const entityType = str(call.entity_type) === 'leads' ? 'lead' : 'contact';
  memory.registration = {
    id: str(call.id), activity_id: '', created_company_id: '', created_contact_id: memory.entity?.is_new ? memory.entity.id : '', created_deal_id: memory.deal?.is_new ? memory.deal.id : '',
    created_lead_id: memory.deal?.is_new ? memory.deal.id : '', entity_id: str(call.entity_id), entity_type: entityType, responsible_id: who.id > 0 ? String(who.id) : '',
  };
  memory.finished = true;
  ctx.note(`call ${str(call.id)} logged on ${entityType} ${str(call.entity_id)}${link !== null ? ' with its recording' : ''}`);
}
