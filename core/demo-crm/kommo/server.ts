// The local Kommo account: a real HTTP server on 127.0.0.1 answering the API v4 requests the connector
// makes, with Kommo's documented bodies (crm-apis.md §2): Bearer auth (401 problem+json), 400 with
// `validation-errors`, 400 "Entity not found" for a call to an unknown number, 204 for an empty search,
// 405 for GET /api/v4/calls, 429 over 7 requests in any one-second window, and the fault switches of the
// local Bitrix24 (core/demo-crm/bitrix24/faults.ts: 5xx, stalls, drops, lost answers, slow answers, HTML,
// truncated JSON). Rules name a request as "POST /api/v4/calls" (or '*').
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JsonValue } from '../../crm/types.js';
import { FaultBoard, type FaultKind, type FaultSwitches } from '../bitrix24/faults.js';
import { readBody } from '../bitrix24/body.js';
import { contactJson, leadJson, seedState, demoKommoSeed, type Json, type KommoContact, type KommoSeed, type LocalKommoState } from './state.js';

export interface LocalKommoOptions {
  /** The long-lived token the account accepts (default: random). */
  token?: string;
  seed?: KommoSeed;
  /** Requests per any one-second window before 429 (7); `enabled: false` turns the limit off. */
  limits?: { enabled?: boolean; perSecond?: number };
  maxBodyBytes?: number;
}

export interface KommoReceived {
  atMs: number;
  /** "POST /api/v4/calls" (path without the query). */
  method: string;
  query: Record<string, string[]>;
  body: JsonValue | null;
  status: number | null;
  answer?: JsonValue;
  fault?: FaultKind;
}

export interface LocalKommo {
  /** http://127.0.0.1:<port> (crm.kommo.base_url). */
  url: string;
  token: string;
  state: LocalKommoState;
  received: KommoReceived[];
  faults: FaultSwitches;
  /** The token stops working (401), as when it expires or is revoked. */
  revokeToken(): void;
  /** One line per call: what the account registered (tests, the demo's summary). */
  summary(): string;
  close(): Promise<void>;
}

interface Answer { status: number; body: JsonValue | null }

const PROBLEM = 'application/problem+json';
const HAL = 'application/hal+json';
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const digits = (s: string): string => s.replace(/\D+/g, '');
const last10 = (s: string): string => digits(s).slice(-10);

function problem(status: number, title: string, detail: string, extra: Json = {}): Answer {
  return { status, body: { title, type: `https://httpstatus.es/${status}`, status, detail, ...extra } };
}

interface FieldError { request_id: string; path: string; code: string; detail: string }

function validation(errors: FieldError[]): Answer {
  const byRequest = new Map<string, JsonValue[]>();
  for (const e of errors) byRequest.set(e.request_id, [...(byRequest.get(e.request_id) ?? []), { code: e.code, path: e.path, detail: e.detail }]);
  return problem(400, 'Bad Request', 'Request validation failed', { 'validation-errors': [...byRequest].map(([request_id, errs]) => ({ request_id, errors: errs })) });
}

export async function startLocalKommo(options: LocalKommoOptions = {}): Promise<LocalKommo> {
  const state = seedState(options.seed ?? demoKommoSeed());
  let token = options.token ?? randomBytes(24).toString('hex');
  let revoked = false;
  const perSecond = options.limits?.perSecond ?? 7;
  const limited = options.limits?.enabled ?? true;
  const windowTimes: number[] = [];
  const faults = new FaultBoard();
  const received: KommoReceived[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const now = (): number => Math.floor(Date.now() / 1000);
  const nextId = (): number => state.nextId++;
  const delay = (ms: number): Promise<void> => new Promise((resolve) => {
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });

  /** Contacts a `query` finds: a substring of the name, of any custom-field text, or of a phone's digits. */
  function search(query: string): KommoContact[] {
    const q = query.trim().toLowerCase();
    if (q === '') return [...state.contacts.values()].filter((c) => !c.unsorted);
    const qd = digits(q);
    return [...state.contacts.values()].filter((c) => !c.unsorted && (
      c.name.toLowerCase().includes(q) || c.other.some((o) => o.toLowerCase().includes(q) || (qd !== '' && digits(o).includes(qd))) ||
      c.phones.some((p) => p.includes(q) || (qd !== '' && digits(p).includes(qd)))));
  }

  /** The entity a call to `phone` is attached to: the contact by its PHONE field (last 10 digits); one active lead → the lead. */
  function attachTarget(phone: string): { type: 'contacts' | 'leads'; id: number } | null {
    const want = last10(phone);
    if (want.length < 5) return null;
    const contact = [...state.contacts.values()].find((c) => !c.unsorted && c.phones.some((p) => last10(p) === want));
    if (contact === undefined) return null;
    const active = contact.lead_ids.map((id) => state.leads.get(id)).filter((l) => l !== undefined && !l.closed);
    return active.length === 1 ? { type: 'leads', id: active[0]!.id } : { type: 'contacts', id: contact.id };
  }

  function phonesOf(fields: JsonValue | undefined, requestId: string, path: string, errors: FieldError[]): { phones: string[]; other: string[] } {
    const phones: string[] = [];
    const other: string[] = [];
    if (fields === undefined || fields === null) return { phones, other };
    if (!Array.isArray(fields)) {
      errors.push({ request_id: requestId, path, code: 'NotSupportedType', detail: 'This value should be of type array.' });
      return { phones, other };
    }
    fields.forEach((f, i) => {
      if (!isObject(f) || !Array.isArray(f.values)) {
        errors.push({ request_id: requestId, path: `${path}.${i}.values`, code: 'NotSupportedType', detail: 'This value should be of type array.' });
        return;
      }
      const isPhone = f.field_code === 'PHONE' || f.field_id === 100;
      if (!isPhone && f.field_id !== 200) {
        errors.push({ request_id: requestId, path: `${path}.${i}.field_id`, code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
        return;
      }
      f.values.forEach((v, j) => {
        if (!isObject(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
          errors.push({ request_id: requestId, path: `${path}.${i}.values.${j}.value`, code: 'NotBlank', detail: 'This value should not be blank.' });
          return;
        }
        if (isPhone && v.enum_code !== undefined && !['WORK', 'WORKDD', 'MOB', 'FAX', 'HOME', 'OTHER'].includes(String(v.enum_code))) {
          errors.push({ request_id: requestId, path: `${path}.${i}.values.${j}.enum_code`, code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
          return;
        }
        (isPhone ? phones : other).push(String(v.value));
      });
    });
    return { phones, other };
  }

  const userOk = (v: JsonValue | undefined): boolean => v === undefined || (typeof v === 'number' && (v === 0 || state.users.has(v)));

  function arrayBody(body: JsonValue | null): Json[] | Answer {
    if (!Array.isArray(body) || body.length === 0 || !body.every(isObject)) return validation([{ request_id: '0', path: '', code: 'NotSupportedType', detail: 'The request body must be a non-empty array of objects.' }]);
    if (body.length > 250) return validation([{ request_id: '0', path: '', code: 'TooManyItems', detail: 'At most 250 items per request.' }]);
    return body as Json[];
  }

  function createContacts(body: JsonValue | null): Answer {
    const items = arrayBody(body);
    if (!Array.isArray(items)) return items;
    const errors: FieldError[] = [];
    const parsed = items.map((item, i) => {
      const rid = String(item.request_id ?? i);
      if (!userOk(item.responsible_user_id)) errors.push({ request_id: rid, path: 'responsible_user_id', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
      if (item.name !== undefined && typeof item.name !== 'string') errors.push({ request_id: rid, path: 'name', code: 'NotSupportedType', detail: 'This value should be of type string.' });
      return { rid, item, ...phonesOf(item.custom_fields_values, rid, 'custom_fields_values', errors) };
    });
    if (errors.length > 0) return validation(errors);
    const out = parsed.map(({ rid, item, phones, other }) => {
      const c: KommoContact = {
        id: nextId(), name: typeof item.name === 'string' ? item.name : '', responsible_user_id: typeof item.responsible_user_id === 'number' ? item.responsible_user_id : 0,
        created_by: typeof item.created_by === 'number' ? item.created_by : 0, phones, other, lead_ids: [], unsorted: false, created_at: now(), updated: [],
      };
      state.contacts.set(c.id, c);
      return { id: c.id, request_id: rid, is_deleted: false, _links: { self: { href: `/api/v4/contacts/${c.id}` } } };
    });
    return { status: 200, body: { _links: { self: { href: '/api/v4/contacts' } }, _embedded: { contacts: out } } };
  }

  function createLeads(body: JsonValue | null): Answer {
    const items = arrayBody(body);
    if (!Array.isArray(items)) return items;
    const errors: FieldError[] = [];
    items.forEach((item, i) => {
      const rid = String(item.request_id ?? i);
      if (!userOk(item.responsible_user_id)) errors.push({ request_id: rid, path: 'responsible_user_id', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
      const contacts = isObject(item._embedded) ? item._embedded.contacts : undefined;
      if (Array.isArray(contacts)) contacts.forEach((c, j) => {
        if (!isObject(c) || typeof c.id !== 'number' || !state.contacts.has(c.id)) errors.push({ request_id: rid, path: `_embedded.contacts.${j}.id`, code: 'NotFound', detail: 'Contact not found.' });
      });
    });
    if (errors.length > 0) return validation(errors);
    const out = items.map((item, i) => {
      const contacts = isObject(item._embedded) && Array.isArray(item._embedded.contacts) ? item._embedded.contacts.filter(isObject).map((c) => Number(c.id)) : [];
      const id = nextId();
      state.leads.set(id, {
        id, name: typeof item.name === 'string' ? item.name : `Lead #${id}`, responsible_user_id: typeof item.responsible_user_id === 'number' ? item.responsible_user_id : 0,
        pipeline_id: typeof item.pipeline_id === 'number' && item.pipeline_id > 0 ? item.pipeline_id : 1, status_id: typeof item.status_id === 'number' ? item.status_id : 142,
        contact_ids: contacts, closed: false, unsorted: false, created_at: now(), updated: [],
      });
      for (const c of contacts) state.contacts.get(c)?.lead_ids.push(id);
      return { id, request_id: String(item.request_id ?? i), _links: { self: { href: `/api/v4/leads/${id}` } } };
    });
    return { status: 200, body: { _embedded: { leads: out } } };
  }

  function update(kind: 'contacts' | 'leads', id: number, body: JsonValue | null): Answer {
    if (!isObject(body)) return validation([{ request_id: '0', path: '', code: 'NotSupportedType', detail: 'The request body must be an object.' }]);
    const target = kind === 'contacts' ? state.contacts.get(id) : state.leads.get(id);
    if (target === undefined || target.unsorted) return problem(404, 'Not Found', `${kind === 'contacts' ? 'Contact' : 'Lead'} ${id} not found`);
    const errors: FieldError[] = [];
    if (!userOk(body.responsible_user_id)) errors.push({ request_id: '0', path: 'responsible_user_id', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
    const fields = kind === 'contacts' ? phonesOf(body.custom_fields_values, '0', 'custom_fields_values', errors) : null;
    if (errors.length > 0) return validation(errors);
    if (typeof body.name === 'string') target.name = body.name;
    if (typeof body.responsible_user_id === 'number') target.responsible_user_id = body.responsible_user_id;
    if (kind === 'contacts' && fields !== null && body.custom_fields_values !== undefined) {
      const c = target as KommoContact;
      if (fields.phones.length > 0) c.phones = fields.phones;
      if (fields.other.length > 0) c.other = fields.other;
    }
    if (kind === 'leads' && typeof body.status_id === 'number') (target as { status_id: number }).status_id = body.status_id;
    target.updated.push(body);
    return { status: 200, body: { id, updated_at: now(), _links: { self: { href: `/api/v4/${kind}/${id}` } } } };
  }

  function addNote(entity: { type: 'contacts' | 'leads'; id: number }, inbound: boolean, params: Json, item: Json): number {
    const id = nextId();
    state.notes.set(id, {
      id, entity_type: entity.type, entity_id: entity.id, note_type: inbound ? 'call_in' : 'call_out', params,
      responsible_user_id: typeof item.responsible_user_id === 'number' ? item.responsible_user_id : 0, created_by: typeof item.created_by === 'number' ? item.created_by : 0,
      created_at: typeof item.created_at === 'number' ? item.created_at : now(),
    });
    return id;
  }

  function registerCalls(body: JsonValue | null): Answer {
    const items = arrayBody(body);
    if (!Array.isArray(items)) return items;
    const errors: FieldError[] = [];
    items.forEach((item, i) => {
      const rid = String(item.request_id ?? i);
      if (item.direction !== 'inbound' && item.direction !== 'outbound') errors.push({ request_id: rid, path: 'direction', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
      if (typeof item.duration !== 'number' || !Number.isInteger(item.duration) || item.duration < 0) errors.push({ request_id: rid, path: 'duration', code: 'NotSupportedType', detail: 'This value should be of type int.' });
      if (typeof item.source !== 'string' || item.source === '') errors.push({ request_id: rid, path: 'source', code: 'NotBlank', detail: 'This value should not be blank.' });
      if (typeof item.phone !== 'string' || item.phone === '') errors.push({ request_id: rid, path: 'phone', code: 'NotBlank', detail: 'This value should not be blank.' });
      if (item.call_status !== undefined && (typeof item.call_status !== 'number' || item.call_status < 1 || item.call_status > 7)) errors.push({ request_id: rid, path: 'call_status', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
      if (item.link !== undefined && (typeof item.link !== 'string' || !/^https?:\/\//.test(item.link))) errors.push({ request_id: rid, path: 'link', code: 'InvalidUrl', detail: 'This value is not a valid URL.' });
      if (!userOk(item.responsible_user_id) || !userOk(item.created_by)) errors.push({ request_id: rid, path: 'responsible_user_id', code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' });
    });
    if (errors.length > 0) return validation(errors);
    const targets = items.map((item) => attachTarget(String(item.phone)));
    if (targets.some((t) => t === null)) {
      // As observed (crm-apis.md §2.2): no entity has the number, the call is not added.
      return { status: 400, body: { _total_items: 0, errors: items.map((item, i) => targets[i] === null ? { request_id: String(item.request_id ?? i), title: 'Entity not found', detail: `No contact or company with the phone ${String(item.phone)}` } : null).filter((e) => e !== null) } };
    }
    const out = items.map((item, i) => {
      const target = targets[i]!;
      const params: Json = {};
      for (const k of ['uniq', 'duration', 'source', 'link', 'phone', 'call_status', 'call_result', 'call_responsible'] as const) if (item[k] !== undefined) params[k] = item[k]!;
      const noteId = addNote(target, item.direction === 'inbound', params, item);
      const id = nextId();
      state.calls.push({ id, body: item, entity_type: target.type, entity_id: target.id, note_id: noteId, via: 'calls' });
      return { id, request_id: String(item.request_id ?? i), entity_id: target.id, entity_type: target.type, _embedded: { entity: { id: target.id } } };
    });
    return { status: 200, body: { _total_items: out.length, _embedded: { calls: out } } };
  }

  function createUnsorted(body: JsonValue | null): Answer {
    const items = arrayBody(body);
    if (!Array.isArray(items)) return items;
    const errors: FieldError[] = [];
    items.forEach((item, i) => {
      const rid = String(item.request_id ?? i);
      for (const k of ['source_uid', 'source_name'] as const) if (typeof item[k] !== 'string' || item[k] === '') errors.push({ request_id: rid, path: k, code: 'NotBlank', detail: 'This value should not be blank.' });
      const m = item.metadata;
      if (!isObject(m)) {
        errors.push({ request_id: rid, path: 'metadata', code: 'NotBlank', detail: 'This value should not be blank.' });
        return;
      }
      for (const k of ['phone', 'from', 'uniq', 'service_code'] as const) if (typeof m[k] !== 'string' && typeof m[k] !== 'number') errors.push({ request_id: rid, path: `metadata.${k}`, code: 'NotBlank', detail: 'This value should not be blank.' });
      for (const k of ['called_at', 'duration'] as const) if (typeof m[k] !== 'number') errors.push({ request_id: rid, path: `metadata.${k}`, code: 'NotSupportedType', detail: 'This value should be of type int.' });
      if (state.unsorted.some((u) => u.metadata.uniq === m.uniq)) errors.push({ request_id: rid, path: 'metadata.uniq', code: 'Duplicate', detail: 'The same data cannot be added twice.' });
    });
    if (errors.length > 0) return validation(errors);
    const out = items.map((item, i) => {
      const m = item.metadata as Json;
      const embedded = isObject(item._embedded) ? item._embedded : {};
      const contactIn = Array.isArray(embedded.contacts) && isObject(embedded.contacts[0]) ? embedded.contacts[0] : {};
      const leadIn = Array.isArray(embedded.leads) && isObject(embedded.leads[0]) ? embedded.leads[0] : {};
      const contact: KommoContact = {
        id: nextId(), name: typeof contactIn.name === 'string' ? contactIn.name : String(m.phone), responsible_user_id: typeof m.call_responsible === 'number' ? m.call_responsible : 0, created_by: 0,
        phones: [String(m.phone)], other: [], lead_ids: [], unsorted: true, created_at: now(), updated: [],
      };
      state.contacts.set(contact.id, contact);
      const leadId = nextId();
      state.leads.set(leadId, {
        id: leadId, name: typeof leadIn.name === 'string' ? leadIn.name : `Call from ${String(m.phone)}`, responsible_user_id: contact.responsible_user_id,
        pipeline_id: typeof item.pipeline_id === 'number' && item.pipeline_id > 0 ? item.pipeline_id : 1, status_id: 0, contact_ids: [contact.id], closed: false, unsorted: true, created_at: now(), updated: [],
      });
      contact.lead_ids.push(leadId);
      const uid = randomBytes(16).toString('hex');
      state.unsorted.push({ uid, source_uid: String(item.source_uid), source_name: String(item.source_name), pipeline_id: Number(item.pipeline_id ?? 1), created_at: typeof item.created_at === 'number' ? item.created_at : now(), metadata: m, contact_id: contact.id, lead_id: leadId, body: item });
      if (m.is_call_event_needed !== false) {
        const params: Json = { uniq: m.uniq!, duration: m.duration!, source: String(item.source_name), phone: m.phone!, ...(m.link !== undefined ? { link: m.link } : {}) };
        const noteId = addNote({ type: 'leads', id: leadId }, true, params, {});
        state.calls.push({ id: nextId(), body: { ...params, direction: 'inbound' }, entity_type: 'leads', entity_id: leadId, note_id: noteId, via: 'unsorted' });
      }
      return { uid, account_id: 1, request_id: String(item.request_id ?? i), _embedded: { contacts: [{ id: contact.id }], leads: [{ id: leadId }] } };
    });
    return { status: 200, body: { _total_items: out.length, _embedded: { unsorted: out } } };
  }

  function listUnsorted(query: Record<string, string[]>): Answer {
    const category = query['filter[category]']?.[0] ?? query['filter[category][]']?.[0];
    const limit = Math.min(250, Number(query.limit?.[0] ?? 50) || 50);
    let items = state.unsorted.filter(() => category === undefined || category === 'sip');
    if (query['order[created_at]']?.[0] === 'desc') items = [...items].reverse();
    items = items.slice(0, limit);
    if (items.length === 0) return { status: 204, body: null };
    return { status: 200, body: { _embedded: { unsorted: items.map((u) => ({ uid: u.uid, source_uid: u.source_uid, source_name: u.source_name, category: 'sip', pipeline_id: u.pipeline_id, created_at: u.created_at, metadata: u.metadata, _embedded: { contacts: [{ id: u.contact_id }], leads: [{ id: u.lead_id }] } })) } } };
  }

  function listNotes(kind: 'contacts' | 'leads', id: number, query: Record<string, string[]>): Answer {
    const types = [...(query['filter[note_type]'] ?? []), ...(query['filter[note_type][]'] ?? [])].flatMap((t) => t.split(','));
    const notes = [...state.notes.values()].filter((n) => n.entity_type === kind && n.entity_id === id && (types.length === 0 || types.includes(n.note_type)));
    if (notes.length === 0) return { status: 204, body: null };
    return { status: 200, body: { _embedded: { notes: notes.map((n) => ({ id: n.id, entity_id: n.entity_id, note_type: n.note_type, params: n.params, responsible_user_id: n.responsible_user_id, created_by: n.created_by, created_at: n.created_at })) } } };
  }

  function route(verb: string, path: string, query: Record<string, string[]>, body: JsonValue | null): Answer {
    const m = /^\/api\/v4\/(contacts|leads)\/(\d+)(\/notes)?$/.exec(path);
    if (m !== null) {
      const kind = m[1] as 'contacts' | 'leads';
      const id = Number(m[2]);
      if (m[3] !== undefined) return verb === 'GET' ? listNotes(kind, id, query) : problem(405, 'Method Not Allowed', `${verb} is not allowed here`);
      if (verb === 'PATCH') return update(kind, id, body);
      if (verb !== 'GET') return problem(405, 'Method Not Allowed', `${verb} is not allowed here`);
      const withLeads = (query.with?.[0] ?? '').split(',').includes('leads');
      if (kind === 'contacts') {
        const c = state.contacts.get(id);
        return c === undefined || c.unsorted ? problem(404, 'Not Found', `Contact ${id} not found`) : { status: 200, body: contactJson(c, state, withLeads) };
      }
      const l = state.leads.get(id);
      return l === undefined || l.unsorted ? problem(404, 'Not Found', `Lead ${id} not found`) : { status: 200, body: leadJson(l) };
    }
    switch (`${verb} ${path}`) {
      case 'GET /api/v4/users':
        return { status: 200, body: { _total_items: state.users.size, _embedded: { users: [...state.users.values()].map((u) => ({ id: u.id, name: u.name, email: u.email })) } } };
      case 'GET /api/v4/contacts': {
        const limit = Number(query.limit?.[0] ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 250) return validation([{ request_id: '0', path: 'limit', code: 'LessThanOrEqual', detail: 'This value should be less than or equal to 250.' }]);
        const found = search(query.query?.[0] ?? '').slice(0, limit);
        if (found.length === 0) return { status: 204, body: null };
        const withLeads = (query.with?.[0] ?? '').split(',').includes('leads');
        return { status: 200, body: { _page: 1, _embedded: { contacts: found.map((c) => contactJson(c, state, withLeads)) } } };
      }
      case 'POST /api/v4/contacts': return createContacts(body);
      case 'POST /api/v4/leads': return createLeads(body);
      case 'POST /api/v4/calls': return registerCalls(body);
      case 'GET /api/v4/calls': return problem(405, 'Method Not Allowed', 'Calls cannot be read');
      case 'POST /api/v4/leads/unsorted/sip': return createUnsorted(body);
      case 'GET /api/v4/leads/unsorted': return listUnsorted(query);
      default: return problem(404, 'Not Found', `No such endpoint: ${verb} ${path}`);
    }
  }

  function overLimit(atMs: number): boolean {
    if (!limited) return false;
    while (windowTimes.length > 0 && windowTimes[0]! <= atMs - 1000) windowTimes.shift();
    if (windowTimes.length >= perSecond) return true;
    windowTimes.push(atMs);
    return false;
  }

  function send(res: ServerResponse, a: Answer): void {
    if (a.status === 204) {
      res.writeHead(204).end();
      return;
    }
    const problemish = a.status >= 400;
    res.writeHead(a.status, { 'Content-Type': problemish ? PROBLEM : HAL }).end(a.body === null ? '' : JSON.stringify(a.body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const atMs = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const verb = (req.method ?? 'GET').toUpperCase();
    const method = `${verb} ${url.pathname}`;
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const raw = await readBody(req, maxBody);
    const entry: KommoReceived = { atMs, method, query, body: null, status: null };
    received.push(entry);
    if (raw === null) {
      entry.status = 413;
      send(res, problem(413, 'Payload Too Large', 'The request body is too large'));
      return;
    }
    if (raw.length > 0) {
      try {
        entry.body = JSON.parse(raw.toString('utf8')) as JsonValue;
      } catch {
        entry.status = 400;
        send(res, problem(400, 'Bad Request', 'The request body is not valid JSON'));
        return;
      }
    }
    const auth = req.headers.authorization ?? '';
    if (revoked || auth !== `Bearer ${token}`) {
      entry.status = 401;
      send(res, problem(401, 'Unauthorized', auth === '' ? 'Authorization header is missing' : 'The access token is invalid or expired'));
      return;
    }
    if (overLimit(atMs)) {
      entry.status = 429;
      res.writeHead(429, { 'Content-Type': 'text/html' }).end('<html><body>429 Too Many Requests</body></html>');
      return;
    }
    const fault = faults.take(method, 'rest');
    if (fault !== null) entry.fault = fault.kind;
    const execute = (): Answer => {
      const a = route(verb, url.pathname, query, entry.body);
      entry.answer = a.body;
      return a;
    };
    switch (fault?.kind) {
      case undefined:
        break;
      case 'slow':
        await delay(fault.delayMs ?? 1000);
        break;
      case 'stall':
        if (fault.execute) execute();
        return; // the socket stays open
      case 'drop':
        req.socket.destroy();
        return;
      case 'execute-then-drop':
        execute();
        req.socket.destroy();
        return;
      case 'status': {
        if (fault.execute) execute();
        const status = fault.status ?? 500;
        entry.status = status;
        send(res, status === 429 ? { status, body: null } : problem(status, fault.error ?? 'Internal Server Error', fault.description ?? 'Internal error'));
        return;
      }
      case 'html': {
        if (fault.execute) execute();
        entry.status = fault.status ?? 502;
        res.writeHead(entry.status, { 'Content-Type': 'text/html' }).end('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>');
        return;
      }
      case 'truncated': {
        const a = execute();
        entry.status = a.status;
        const text = JSON.stringify(a.body ?? {});
        res.writeHead(a.status, { 'Content-Type': HAL }).end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
        return;
      }
      case 'error-in-200': {
        if (fault.execute) execute();
        entry.status = 200;
        res.writeHead(200, { 'Content-Type': HAL }).end('');
        return;
      }
    }
    const a = execute();
    entry.status = a.status;
    send(res, a);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, problem(500, 'Internal Server Error', error instanceof Error ? error.message : String(error)));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    get token() {
      return token;
    },
    state,
    received,
    faults,
    revokeToken() {
      revoked = true;
      token = randomBytes(24).toString('hex');
    },
    summary: () => formatKommoSummary(state),
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One line per registered call, in registration order. */
export function formatKommoSummary(state: LocalKommoState): string {
  return state.calls.map((c) => {
    const b = c.body;
    const entity = c.entity_type === 'leads' ? `lead ${c.entity_id}` : `contact ${c.entity_id}`;
    return `${String(b.direction ?? '')} ${String(b.phone ?? '')} ${Number(b.duration ?? 0)} s status ${String(b.call_status ?? '-')} → ${entity}${c.via === 'unsorted' ? ' (unsorted)' : ''}, responsible ${String(b.responsible_user_id ?? '-')}${b.link ? ', recording' : ''}`;
  }).join('\n');
}
