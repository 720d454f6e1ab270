// Bitrix24 answers → the call_full pieces hooks see (types/call_full.schema.json $defs User, Entity,
// Registration), and call_full facts → Bitrix24 parameters (STATUS_CODE, TYPE). Pure functions: the
// pipeline calls them with the CRM's `result` payloads.
import type { CallNumber, CallType, Entity, Registration, User } from '../../../types/call_full.js';
import type { JsonValue } from '../types.js';

export type BitrixEntityType = 'CONTACT' | 'COMPANY' | 'LEAD';
type JsonObject = { [key: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: JsonValue | undefined): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function isEmpty(v: JsonValue | undefined): boolean {
  return v === undefined || v === null || v === '' || v === 0 || v === '0' || v === false || (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** `raw` of call_full: the record with only non-empty, non-zero fields (null, '', 0, '0', false, [], {} dropped). */
export function compactRaw(record: JsonObject): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(record)) if (!isEmpty(v)) out[k] = v;
  return out;
}

/** The four user fields that hold phone numbers, in the order `phones` lists them. */
export const USER_PHONE_FIELDS = ['UF_PHONE_INNER', 'PERSONAL_MOBILE', 'WORK_PHONE', 'PERSONAL_PHONE'] as const;

/** A user.get record → call_full User. */
export function userFromBitrix(record: JsonObject): User {
  return {
    email: str(record['EMAIL']),
    id: str(record['ID']),
    name: [str(record['NAME']), str(record['LAST_NAME'])].filter((s) => s !== '').join(' '),
    phones: USER_PHONE_FIELDS.map((f) => str(record[f]).trim()).filter((s) => s !== ''),
    position: str(record['WORK_POSITION']),
    raw: compactRaw(record),
  };
}

/** A User known only by its id (the directory does not have them: fired, or not an employee). */
export function unknownUser(id: string): User {
  return { email: '', id, name: '', phones: [], position: '', raw: id === '' ? {} : { ID: id } };
}

function entityName(type: BitrixEntityType, record: JsonObject): string {
  const person = [str(record['NAME']), str(record['SECOND_NAME']), str(record['LAST_NAME'])].filter((s) => s !== '').join(' ');
  const title = str(record['TITLE']);
  if (type === 'COMPANY') return title || str(record['NAME']);
  return person || title;
}

/** The values of a PHONE multifield ([{VALUE, VALUE_TYPE, …}]). */
export function multifieldValues(v: JsonValue | undefined): string[] {
  return Array.isArray(v) ? v.flatMap((item) => (isObject(item) && str(item['VALUE']).trim() !== '' ? [str(item['VALUE']).trim()] : [])) : [];
}

/**
 * A crm.contact/company/lead.get record → call_full Entity. `toNumber` builds a Number object from a raw
 * phone as the connector's number settings do (core/numbers); `responsible` comes from the user directory.
 */
export function entityFromRecord(input: {
  type: BitrixEntityType;
  record: JsonObject;
  responsible: User | null;
  isNew: boolean;
  toNumber: (raw: string) => CallNumber;
}): Entity {
  const responsibleId = str(input.record['ASSIGNED_BY_ID']);
  return {
    id: str(input.record['ID']),
    is_new: input.isNew,
    name: entityName(input.type, input.record),
    phones: multifieldValues(input.record['PHONE']).map(input.toNumber),
    raw: compactRaw(input.record),
    responsible: input.responsible ?? unknownUser(responsibleId),
    responsible_id: responsibleId,
    type: input.type.toLowerCase(),
  };
}

/** One item of telephony.externalcall.searchCrmEntities (§1.7). */
export interface SearchItem {
  type: BitrixEntityType;
  id: string;
  name: string;
  responsibleId: string;
  /** ASSIGNED_BY as the search returns it: the responsible's phone fields (USER_PHONE_INNER = their extension). */
  responsible: { id: string; innerPhone: string; workPhone: string; personalPhone: string; personalMobile: string; timemanStatus: string };
  raw: JsonObject;
}

/** searchCrmEntities' result → typed items, in the portal's order (contacts, leads, companies); malformed items are skipped. */
export function parseSearchResult(result: JsonValue): SearchItem[] {
  if (!Array.isArray(result)) return [];
  return result.flatMap((item): SearchItem[] => {
    if (!isObject(item)) return [];
    const type = str(item['CRM_ENTITY_TYPE']).toUpperCase();
    const id = str(item['CRM_ENTITY_ID']);
    if ((type !== 'CONTACT' && type !== 'COMPANY' && type !== 'LEAD') || id === '') return [];
    const a = isObject(item['ASSIGNED_BY']) ? item['ASSIGNED_BY'] : {};
    return [{
      type, id, name: str(item['NAME']), responsibleId: str(item['ASSIGNED_BY_ID']) || str(a['ID']),
      responsible: {
        id: str(a['ID']) || str(item['ASSIGNED_BY_ID']), innerPhone: str(a['USER_PHONE_INNER']), workPhone: str(a['WORK_PHONE']),
        personalPhone: str(a['PERSONAL_PHONE']), personalMobile: str(a['PERSONAL_MOBILE']), timemanStatus: str(a['TIMEMAN_STATUS']),
      },
      raw: item,
    }];
  });
}

/** A search item → call_full Entity (the search has no phones: use entityFromRecord after crm.*.get for them). */
export function entityFromSearchItem(item: SearchItem, responsible: User | null): Entity {
  const r = item.responsible;
  const fallback: User = {
    ...unknownUser(item.responsibleId),
    phones: [r.innerPhone, r.personalMobile, r.workPhone, r.personalPhone].filter((p) => p !== ''),
  };
  return {
    id: item.id, is_new: false, name: item.name, phones: [], raw: compactRaw(item.raw),
    responsible: responsible ?? fallback, responsible_id: item.responsibleId, type: item.type.toLowerCase(),
  };
}

/**
 * register's result → call_full Registration (activity_id stays '' until finish). `responsibleId` is the
 * USER_ID the call was registered on. Null when the answer has no CALL_ID (not what the docs say).
 */
export function registrationFromRegister(result: JsonValue, responsibleId: string | number): Registration | null {
  if (!isObject(result) || str(result['CALL_ID']) === '') return null;
  const created: Record<string, string> = {};
  if (Array.isArray(result['CRM_CREATED_ENTITIES'])) {
    for (const e of result['CRM_CREATED_ENTITIES']) {
      if (isObject(e) && str(e['ENTITY_ID']) !== '') created[str(e['ENTITY_TYPE']).toUpperCase()] ??= str(e['ENTITY_ID']);
    }
  }
  return {
    activity_id: '',
    created_company_id: created['COMPANY'] ?? '',
    created_contact_id: created['CONTACT'] ?? '',
    created_deal_id: created['DEAL'] ?? '',
    created_lead_id: str(result['CRM_CREATED_LEAD']) || created['LEAD'] || '',
    // The dedup branch of the core answers null where the other answers '' / null: both mean "none".
    entity_id: str(result['CRM_ENTITY_ID']),
    entity_type: str(result['CRM_ENTITY_TYPE']).toLowerCase(),
    id: str(result['CALL_ID']),
    responsible_id: String(responsibleId),
  };
}

/** The Registration after finish: its CRM_ACTIVITY_ID, and the finishing user as the call's responsible. */
export function registrationAfterFinish(registration: Registration, finishResult: JsonValue): Registration {
  if (!isObject(finishResult)) return registration;
  return {
    ...registration,
    activity_id: str(finishResult['CRM_ACTIVITY_ID']) || registration.activity_id,
    responsible_id: str(finishResult['PORTAL_USER_ID']) || registration.responsible_id,
  };
}

/** register's TYPE (§1.3). */
export const REGISTER_TYPE = { outgoing: 1, incoming: 2, incomingRedirected: 3, callback: 4, informational: 5 } as const;

/** call_full.result (SIP) of an unanswered call → finish STATUS_CODE (§1.4, §1.13). */
const UNANSWERED_STATUS: Readonly<Record<number, string>> = {
  402: '402', 403: '403', 404: '404', 410: '404', 423: '423', 480: '480', 408: '480', 484: '484', 486: '486', 600: '486',
  487: '603-S', 603: '603', 502: '503', 503: '503', 504: '503',
};

/**
 * finish's STATUS_CODE: '200' when a person answered; '304' for every unanswered INCOMING call (Bitrix24's
 * missed-call robots, report and callback tracking run only for 304 on an incoming call); otherwise
 * call_full.result mapped to Bitrix24's codes (486 busy, 480 no answer, 603-S cancelled, 603 declined,
 * 404 invalid number, 484, 503 unavailable, …; 'OTHER' for what Bitrix24 has no code for).
 */
export function finishStatusCode(result: number, direction: CallType, answered: boolean): string {
  if (answered) return '200';
  if (direction === 'incoming') return '304';
  return UNANSWERED_STATUS[result] ?? (result === 200 ? '603-S' : 'OTHER');
}
