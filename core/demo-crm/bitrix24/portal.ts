// The portal behind the HTTP layer: state, id counters and the lookups the methods share.
import { isoWithOffset } from '../../crm/bitrix24/time.js';
import type { JsonValue } from '../../crm/types.js';
import type { Params } from './params.js';
import {
  digits, multifield, newState, phonesOf,
  type EntityType, type JsonRecord, type LocalBitrix24State, type SeedEntity, type SeedUser,
} from './state.js';

export interface MethodContext {
  auth: 'webhook' | 'oauth';
  /** REST_APP_ID of the core: `webHook<id>` for an incoming webhook, the application's client id for OAuth. */
  restAppId: string;
  /** The user whose permissions the call runs with (the webhook's creator, the app's installer). */
  actingUserId: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** How an uploadUrl authenticates: the webhook path prefix or `auth=<token>`. */
  uploadAuth: { pathPrefix: string; query: string };
  nowMs: number;
}

export interface MethodAnswer {
  result: JsonValue;
  /** List methods: the total count and the next page's `start`, beside `result` in the envelope. */
  total?: number;
  next?: number;
}

export type MethodRun = (portal: Portal, p: Params, ctx: MethodContext) => MethodAnswer | Promise<MethodAnswer>;

export interface PortalOptions {
  /** The portal's own zone: dates it prints, and CALL_START_DATE values that carry no offset. */
  timeZone: string;
  /** When set, CRM_CREATE creates nothing and register answers LEAD_CREATION_ERROR with this text. */
  leadCreationError: string | null;
  /** attachRecord RECORD_URL to a loopback/private address: refused like the core does (false) or fetched (true). */
  allowPrivateRecordUrls: boolean;
}

type IdKind = 'entity' | 'multifield' | 'activity' | 'statistic' | 'task' | 'file' | 'line';

const ENTITY_MAPS = { CONTACT: 'contacts', COMPANY: 'companies', LEAD: 'leads' } as const;
export const OWNER_TYPE_ID: Record<EntityType, number> = { LEAD: 1, CONTACT: 3, COMPANY: 4 };

export class Portal {
  readonly state: LocalBitrix24State = newState();
  /** uploadUrl tokens (attachRecord without FILE_CONTENT) → CALL_ID. */
  readonly uploads = new Map<string, string>();
  private readonly ids: Record<IdKind, number> = { entity: 1000, multifield: 1, activity: 1, statistic: 1, task: 1, file: 1, line: 1 };

  constructor(
    readonly options: PortalOptions,
    seed: { users?: readonly SeedUser[]; contacts?: readonly SeedEntity[]; companies?: readonly SeedEntity[]; leads?: readonly SeedEntity[] },
  ) {
    for (const u of seed.users ?? []) this.state.users.set(u.ID, { ...u });
    for (const [type, list] of [['CONTACT', seed.contacts], ['COMPANY', seed.companies], ['LEAD', seed.leads]] as const) {
      for (const e of list ?? []) this.entities(type).set(e.ID, this.entityRecord(type, e, this.options.timeZone));
      for (const e of list ?? []) this.ids.entity = Math.max(this.ids.entity, e.ID + 1);
    }
  }

  next(kind: IdKind): number {
    return this.ids[kind]++;
  }

  date(ms: number): string {
    return isoWithOffset(ms, this.options.timeZone);
  }

  entities(type: EntityType): Map<number, JsonRecord> {
    return this.state[ENTITY_MAPS[type]];
  }

  private entityRecord(type: EntityType, e: SeedEntity, zone: string): JsonRecord {
    const phones = multifield(e.PHONE, 'PHONE', this.ids.multifield);
    this.ids.multifield += phones.length;
    const emails = multifield(e.EMAIL, 'EMAIL', this.ids.multifield);
    this.ids.multifield += emails.length;
    const record: JsonRecord = { ID: String(e.ID) };
    if (type !== 'COMPANY') Object.assign(record, { NAME: e.NAME ?? '', LAST_NAME: e.LAST_NAME ?? '', SECOND_NAME: '' });
    if (type !== 'CONTACT') record['TITLE'] = e.TITLE ?? '';
    if (type === 'LEAD') Object.assign(record, { STATUS_ID: 'NEW', SOURCE_ID: 'CALL' });
    if (type === 'CONTACT') record['COMPANY_ID'] = e.COMPANY_ID === undefined ? null : String(e.COMPANY_ID);
    Object.assign(record, {
      ASSIGNED_BY_ID: String(e.ASSIGNED_BY_ID), OPENED: 'Y', HAS_PHONE: phones.length > 0 ? 'Y' : 'N', HAS_EMAIL: emails.length > 0 ? 'Y' : 'N',
      DATE_CREATE: isoWithOffset(Date.now(), zone), PHONE: phones, EMAIL: emails,
    });
    return record;
  }

  /** The core's phone index for users (helper.php getUserByPhone): active, real, by UF_PHONE_INNER. */
  userByInnerPhone(phone: string): SeedUser | undefined {
    if (phone === '') return undefined;
    for (const u of this.state.users.values()) if (isActive(u) && u.UF_PHONE_INNER === phone && (u.USER_TYPE ?? 'employee') === 'employee') return u;
    return undefined;
  }

  activeUser(id: number): SeedUser | undefined {
    const u = this.state.users.get(id);
    return u !== undefined && isActive(u) ? u : undefined;
  }

  /** Entities whose PHONE has the same digits, by type, lowest id first. */
  findByPhone(number: string): Record<EntityType, JsonRecord[]> {
    const wanted = digits(number);
    const out: Record<EntityType, JsonRecord[]> = { CONTACT: [], COMPANY: [], LEAD: [] };
    if (wanted === '') return out;
    for (const type of ['CONTACT', 'COMPANY', 'LEAD'] as const) {
      for (const record of this.entities(type).values()) if (phonesOf(record).some((p) => digits(p) === wanted)) out[type].push(record);
    }
    return out;
  }

  createLead(phone: string, incoming: boolean, assignedBy: number, source: string, nowMs: number): number {
    const id = this.next('entity');
    const record = this.entityRecord('LEAD', { ID: id, TITLE: `${phone} - ${incoming ? 'Incoming' : 'Outgoing'} call`, PHONE: [phone], ASSIGNED_BY_ID: assignedBy }, this.options.timeZone);
    record['SOURCE_ID'] = source === '' ? 'CALL' : source;
    record['DATE_CREATE'] = this.date(nowMs);
    this.state.leads.set(id, record);
    this.state.createdLeads.push(id);
    return id;
  }

  /** Display name as the core resolves it for the call card and searchCrmEntities. */
  entityName(type: EntityType, record: JsonRecord): string {
    const person = [record['NAME'], record['LAST_NAME']].filter((v): v is string => typeof v === 'string' && v !== '').join(' ');
    const title = typeof record['TITLE'] === 'string' ? record['TITLE'] : '';
    return type === 'COMPANY' ? title : person !== '' ? person : title;
  }
}

export function isActive(u: SeedUser): boolean {
  return u.ACTIVE !== false;
}
