// What the local portal holds: the seeded employees and CRM entities, and everything the connector made
// it do (calls with their register/show/hide/finish/attach history, the leads it created, activities,
// tasks). Tests and the demo read it to show "what the CRM received".
import { randomBytes } from 'node:crypto';
import type { JsonValue } from '../../crm/types.js';
import type { Params } from './params.js';

export type Scope = 'telephony' | 'crm' | 'user' | 'user_basic' | 'task';
export const ALL_SCOPES: readonly Scope[] = ['telephony', 'crm', 'user', 'task'];

export type EntityType = 'CONTACT' | 'COMPANY' | 'LEAD';
export type JsonRecord = { [key: string]: JsonValue };

export interface SeedUser {
  ID: number;
  NAME?: string;
  LAST_NAME?: string;
  EMAIL?: string;
  WORK_POSITION?: string;
  UF_PHONE_INNER?: string;
  PERSONAL_MOBILE?: string;
  WORK_PHONE?: string;
  PERSONAL_PHONE?: string;
  /** Default true. */
  ACTIVE?: boolean;
  /** Default 'employee'. */
  USER_TYPE?: 'employee' | 'extranet' | 'email';
}

export interface SeedEntity {
  ID: number;
  /** Contact/lead person name. */
  NAME?: string;
  LAST_NAME?: string;
  /** Company/lead title. */
  TITLE?: string;
  PHONE?: string[];
  EMAIL?: string[];
  ASSIGNED_BY_ID: number;
  COMPANY_ID?: number;
}

export interface LocalCall {
  CALL_ID: string;
  /** The register parameters that created the call (auth removed). */
  register: Params;
  /** Later register requests answered with this CALL_ID by the 30-minute dedup rule. */
  registerRepeats: Params[];
  USER_ID: number;
  /** PHONE_NUMBER after stripLetters (the CALLER_ID of the core). */
  PHONE_NUMBER: string;
  TYPE: number;
  EXTERNAL_CALL_ID: string | null;
  LINE_NUMBER: string | null;
  lineId: number | null;
  /** DATE_CREATE: CALL_START_DATE, or the time of registration. */
  dateCreateMs: number;
  restAppId: string;
  /** PHONE_NUMBER is an employee's UF_PHONE_INNER: CRM='N', no entity, no lead, no activity. */
  internal: boolean;
  entity: { type: EntityType; id: number } | null;
  created: { ENTITY_TYPE: EntityType; ENTITY_ID: number }[];
  createdLeadId: number | null;
  leadCreationError: string | null;
  /** In the active-call table (false after finish: a second finish fails). */
  active: boolean;
  shown: { userIds: number[]; at: string }[];
  hidden: { userIds: number[]; at: string; by: 'hide' | 'finish' }[];
  /** The finish parameters (auth removed), null until finished. */
  finish: Params | null;
  /** The statistics row finish returned, null until finished. */
  statistic: JsonRecord | null;
  /** Every attachRecord that succeeded, in order; the last one is the call's record. */
  records: { fileId: number; filename: string; bytes: number; via: 'content' | 'upload' | 'url'; at: string }[];
}

export interface LocalTask {
  ID: number;
  TITLE: string;
  RESPONSIBLE_ID: number;
  CREATED_BY: number;
  DEADLINE: string | null;
  DESCRIPTION: string;
  TAGS: string[];
  UF_CRM_TASK: string[];
  CREATED_DATE: string;
  STATUS: number;
}

export interface LocalFile {
  id: number;
  name: string;
  bytes: number;
  content: Buffer;
}

/** The portal's data, live (tests read it while the server runs). */
export interface LocalBitrix24State {
  users: Map<number, SeedUser>;
  contacts: Map<number, JsonRecord>;
  companies: Map<number, JsonRecord>;
  leads: Map<number, JsonRecord>;
  /** By CALL_ID, in registration order. */
  calls: Map<string, LocalCall>;
  activities: Map<number, JsonRecord>;
  tasks: Map<number, LocalTask>;
  files: Map<number, LocalFile>;
  /** External lines (auto-created by LINE_NUMBER), by `${restAppId}|${number}`. */
  lines: Map<string, { ID: number; NUMBER: string; NAME: string; REST_APP_ID: string }>;
  /** The missed-call table (finish with 304 on an incoming call), with the callback that answered it. */
  missed: { statisticId: number; CALL_ID: string; PHONE_NUMBER: string; PORTAL_USER_ID: number; callbackCallId: string | null }[];
  /** crm.*.update and crm.activity.update calls, in order. */
  updates: { method: string; id: number; fields: JsonRecord; at: string }[];
  /** Leads the portal created itself (CRM_CREATE), in order. */
  createdLeads: number[];
  oauth: { refreshes: number; accessTokensIssued: number };
}

export function newState(): LocalBitrix24State {
  return {
    users: new Map(), contacts: new Map(), companies: new Map(), leads: new Map(), calls: new Map(),
    activities: new Map(), tasks: new Map(), files: new Map(), lines: new Map(), missed: [], updates: [],
    createdLeads: [], oauth: { refreshes: 0, accessTokensIssued: 0 },
  };
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** CVoxImplantPhone::stripLetters: only digits and the dialling symbols # * , ; remain. */
export function stripLetters(number: string): string {
  return number.replace(/[^0-9#*,;]/g, '');
}

/** Digits only: how the double compares a call's number with CRM phone fields (see docs/bitrix24.md). */
export function digits(number: string): string {
  return number.replace(/\D/g, '');
}

export function multifield(values: readonly string[] | undefined, type: 'PHONE' | 'EMAIL', startId: number): JsonRecord[] {
  return (values ?? []).map((value, i) => ({ ID: String(startId + i), VALUE_TYPE: 'WORK', VALUE: value, TYPE_ID: type }));
}

/** The phone values of an entity record's PHONE multifield. */
export function phonesOf(record: JsonRecord): string[] {
  const list = record['PHONE'];
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => (typeof item === 'object' && item !== null && !Array.isArray(item) && typeof item['VALUE'] === 'string' ? [item['VALUE']] : []));
}

/** The seed data of the demo: the bundled sample's extensions (200–212) and its client number. */
export function demoSeed(): { users: SeedUser[]; contacts: SeedEntity[]; companies: SeedEntity[]; leads: SeedEntity[] } {
  const names: [number, string, string, string][] = [
    [1, 'Alice', 'Adams', '200'], [2, 'Bob', 'Brown', '201'], [3, 'Carol', 'Clark', '202'], [4, 'Dave', 'Davis', '203'],
    [5, 'Erin', 'Evans', '204'], [6, 'Frank', 'Fisher', '211'], [7, 'Grace', 'Green', '212'],
  ];
  return {
    users: names.map(([ID, NAME, LAST_NAME, UF_PHONE_INNER]) => ({
      ID, NAME, LAST_NAME, UF_PHONE_INNER, EMAIL: `${NAME.toLowerCase()}@example.com`, WORK_POSITION: 'Sales',
    })),
    contacts: [{ ID: 1, NAME: 'John', LAST_NAME: 'Doe', PHONE: ['15551234'], ASSIGNED_BY_ID: 2 }],
    companies: [],
    leads: [],
  };
}
