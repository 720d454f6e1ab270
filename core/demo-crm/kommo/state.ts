// What the local Kommo account holds: users, contacts (with the PHONE field), leads, unsorted SIP items,
// the calls POST /api/v4/calls registered and the notes they became. Tests read it directly.
import type { JsonValue } from '../../crm/types.js';

export type Json = { [key: string]: JsonValue };

export interface KommoUser { id: number; name: string; email: string }
export interface KommoContact {
  id: number;
  name: string;
  responsible_user_id: number;
  created_by: number;
  /** Phone values (the PHONE field, enum WORK). */
  phones: string[];
  /** Any other custom-field text (searched by `query` too: Kommo's search is fuzzy). */
  other: string[];
  lead_ids: number[];
  /** Created inside an unsorted item: not visible in lists until the item is accepted. */
  unsorted: boolean;
  created_at: number;
  updated: Json[];
}
export interface KommoLead {
  id: number;
  name: string;
  responsible_user_id: number;
  pipeline_id: number;
  status_id: number;
  contact_ids: number[];
  /** Closed leads (won/lost) are not "active": /calls does not attach to them. */
  closed: boolean;
  unsorted: boolean;
  created_at: number;
  updated: Json[];
}
export interface KommoNote { id: number; entity_type: 'contacts' | 'leads'; entity_id: number; note_type: 'call_in' | 'call_out'; params: Json; responsible_user_id: number; created_by: number; created_at: number }
export interface KommoCall {
  id: number;
  /** The body of the call as received (one element of the POST /api/v4/calls array). */
  body: Json;
  entity_type: 'contacts' | 'leads';
  entity_id: number;
  note_id: number;
  /** 'calls' (POST /api/v4/calls) or 'unsorted' (the call event of an unsorted SIP item). */
  via: 'calls' | 'unsorted';
}
export interface KommoUnsorted { uid: string; source_uid: string; source_name: string; pipeline_id: number; created_at: number; metadata: Json; contact_id: number; lead_id: number; body: Json }

export interface LocalKommoState {
  users: Map<number, KommoUser>;
  contacts: Map<number, KommoContact>;
  leads: Map<number, KommoLead>;
  notes: Map<number, KommoNote>;
  calls: KommoCall[];
  unsorted: KommoUnsorted[];
  nextId: number;
}

export interface KommoSeed {
  users?: ReadonlyArray<{ id: number; name: string; email?: string }>;
  contacts?: ReadonlyArray<{ id: number; name: string; responsible_user_id: number; phones: string[]; other?: string[]; leads?: ReadonlyArray<{ id: number; name: string; closed?: boolean }> }>;
}

/** The demo account: the same people as the demo Bitrix24 (extensions map to these ids in crm.kommo.users). */
export function demoKommoSeed(): KommoSeed {
  return {
    users: [
      { id: 1, name: 'Alice Admin' }, { id: 2, name: 'Bob Sales' }, { id: 3, name: 'Carol Sales' }, { id: 4, name: 'Dave Support' },
      { id: 5, name: 'Erin Support' }, { id: 6, name: 'Frank Queue' }, { id: 7, name: 'Grace Queue' },
    ],
    contacts: [
      { id: 1, name: 'John Doe', responsible_user_id: 2, phones: ['15551234'], leads: [{ id: 1, name: 'Deal with John' }] },
      // Its note holds John's digits: a query for them finds this contact too (the search is fuzzy).
      { id: 2, name: 'Jane Roe', responsible_user_id: 3, phones: ['+44 20 7946 0000'], other: ['referred by 15551234'] },
    ],
  };
}

export function seedState(seed: KommoSeed): LocalKommoState {
  const state: LocalKommoState = { users: new Map(), contacts: new Map(), leads: new Map(), notes: new Map(), calls: [], unsorted: [], nextId: 1000 };
  for (const u of seed.users ?? []) state.users.set(u.id, { id: u.id, name: u.name, email: u.email ?? `user${u.id}@example.com` });
  for (const c of seed.contacts ?? []) {
    const leadIds: number[] = [];
    for (const l of c.leads ?? []) {
      state.leads.set(l.id, { id: l.id, name: l.name, responsible_user_id: c.responsible_user_id, pipeline_id: 1, status_id: 142, contact_ids: [c.id], closed: l.closed ?? false, unsorted: false, created_at: 0, updated: [] });
      leadIds.push(l.id);
    }
    state.contacts.set(c.id, { id: c.id, name: c.name, responsible_user_id: c.responsible_user_id, created_by: 0, phones: [...c.phones], other: [...(c.other ?? [])], lead_ids: leadIds, unsorted: false, created_at: 0, updated: [] });
  }
  return state;
}

export function contactJson(c: KommoContact, state: LocalKommoState, withLeads: boolean): Json {
  const fields: JsonValue[] = [];
  if (c.phones.length > 0) fields.push({ field_id: 100, field_name: 'Phone', field_code: 'PHONE', field_type: 'multitext', values: c.phones.map((value) => ({ value, enum_id: 1, enum_code: 'WORK' })) });
  if (c.other.length > 0) fields.push({ field_id: 200, field_name: 'Note', field_code: null, field_type: 'text', values: c.other.map((value) => ({ value })) });
  const out: Json = {
    id: c.id, name: c.name, responsible_user_id: c.responsible_user_id, created_by: c.created_by, created_at: c.created_at, updated_at: c.created_at,
    custom_fields_values: fields.length > 0 ? fields : null, _links: { self: { href: `/api/v4/contacts/${c.id}` } },
  };
  if (withLeads) out._embedded = { leads: c.lead_ids.filter((id) => state.leads.has(id)).map((id) => ({ id, _links: { self: { href: `/api/v4/leads/${id}` } } })) };
  return out;
}

export function leadJson(l: KommoLead): Json {
  return {
    id: l.id, name: l.name, responsible_user_id: l.responsible_user_id, pipeline_id: l.pipeline_id, status_id: l.status_id, closed_at: l.closed ? 1 : null,
    created_at: l.created_at, _embedded: { contacts: l.contact_ids.map((id) => ({ id })) },
  };
}
