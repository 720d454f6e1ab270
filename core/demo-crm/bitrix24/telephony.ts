// telephony.externalcall.* as the Bitrix24 core implements them (modules/voximplant: vi_rest.php is the
// REST wrapper, lib/rest/helper.php the logic; crm-apis.md §1.3–§1.7 lists what matters). The checks
// run in the core's order, so a request with several problems gets the same error as on a real portal.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseIsoDateTime } from '../../crm/bitrix24/time.js';
import type { JsonValue } from '../../crm/types.js';
import { coreError, emptyCodeError, RestError } from './errors.js';
import { isset, phpBool, phpInt, phpString, type Params } from './params.js';
import { OWNER_TYPE_ID, type MethodAnswer, type MethodContext, type Portal } from './portal.js';
import { randomHex, stripLetters, type EntityType, type JsonRecord, type LocalCall } from './state.js';

const DEDUP_WINDOW_MS = 30 * 60_000;
const CALL_TYPES = [1, 2, 3, 4, 5];
/** CVoxImplantMain::CALL_INCOMING and CALL_INCOMING_REDIRECT: the only types the missed-call machinery treats as incoming. */
const INCOMING_TYPES = [2, 3];
export const NOT_FINISHED = 'Call is not found in the statistic table. It looks like it is not finished yet.';
export const NOT_REGISTERED = 'Call is not found (call should be registered prior to finishing';

function withoutAuth(p: Params): Params {
  const { auth: _auth, ...rest } = p;
  return rest;
}

/** TYPE as PHP's in_array(…, getCallTypes()) accepts it: an integer or a numeric string 1..5. */
function callType(v: JsonValue | undefined): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return CALL_TYPES.includes(v) ? v : null;
  if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) return CALL_TYPES.includes(Number(v)) ? Number(v) : null;
  if (v === true) return 1;
  return null;
}

/** USER_ID, else the active employee with USER_PHONE_INNER; 0 when neither gives one. */
function resolveUserId(portal: Portal, p: Params): number {
  const id = phpInt(p['USER_ID']);
  if (id !== 0) return id;
  return portal.userByInnerPhone(phpString(p['USER_PHONE_INNER']))?.ID ?? 0;
}

function userIds(v: JsonValue | undefined, fallback: number): number[] {
  if (!isset(v)) return [fallback];
  return Array.isArray(v) ? v.map(phpInt) : [phpInt(v)];
}

export function register(portal: Portal, p: Params, ctx: MethodContext): MethodAnswer {
  const { state, options } = portal;
  const userId = resolveUserId(portal, p);
  if (userId === 0) throw coreError('USER_ID or USER_PHONE_INNER should be set');
  const type = callType(p['TYPE']);
  if (type === null) throw coreError('Unknown TYPE');
  let dateCreateMs = ctx.nowMs;
  if (isset(p['CALL_START_DATE']) && p['CALL_START_DATE'] !== '') {
    const parsed = parseIsoDateTime(phpString(p['CALL_START_DATE']), options.timeZone);
    if (parsed === null) throw coreError('CALL_START_DATE should be in the ISO-8601 format');
    dateCreateMs = parsed;
  }
  const phone = stripLetters(phpString(p['PHONE_NUMBER']));
  if (phone === '' || phone === '0') throw coreError('Unsupported phone number format');
  if (portal.activeUser(userId) === undefined) throw coreError('User is not found or is not active');

  let lineId: number | null = null;
  let lineNumber: string | null = null;
  if (isset(p['LINE_NUMBER']) && phpString(p['LINE_NUMBER']).trim() !== '') {
    lineNumber = phpString(p['LINE_NUMBER']).trim();
    const key = `${ctx.restAppId}|${lineNumber}`;
    let line = state.lines.get(key);
    if (line === undefined) {
      line = { ID: portal.next('line'), NUMBER: lineNumber, NAME: '', REST_APP_ID: ctx.restAppId };
      state.lines.set(key, line);
    }
    lineId = line.ID;
  }
  const internal = portal.userByInnerPhone(phone) !== undefined;
  const externalCallId = isset(p['EXTERNAL_CALL_ID']) ? phpString(p['EXTERNAL_CALL_ID']) : null;
  const show = isset(p['SHOW']) ? phpBool(p['SHOW']) : true;
  const at = portal.date(ctx.nowMs);

  // The 30-minute dedup (helper.php $duplicateFilter): an ACTIVE call with these keys is answered again.
  for (const call of state.calls.values()) {
    if (
      call.active && call.USER_ID === userId && call.PHONE_NUMBER === phone && call.TYPE === type &&
      call.dateCreateMs > ctx.nowMs - DEDUP_WINDOW_MS && call.restAppId === ctx.restAppId &&
      (lineId === null || call.lineId === lineId) && (externalCallId === null || call.EXTERNAL_CALL_ID === externalCallId)
    ) {
      call.registerRepeats.push(withoutAuth(p));
      if (show) call.shown.push({ userIds: [call.USER_ID], at });
      return {
        result: {
          CALL_ID: call.CALL_ID,
          CRM_CREATED_LEAD: call.createdLeadId,
          CRM_CREATED_ENTITIES: call.created.map((e) => ({ ...e })),
          // This branch of the core does not cast: no entity is null here, '' in the other branch.
          CRM_ENTITY_TYPE: call.entity?.type ?? null,
          CRM_ENTITY_ID: call.entity?.id ?? null,
        },
      };
    }
  }

  let entity: LocalCall['entity'] = null;
  const boundType = phpString(p['CRM_ENTITY_TYPE']).toUpperCase();
  if (isset(p['CRM_ENTITY_TYPE']) && isset(p['CRM_ENTITY_ID'])) {
    if ((boundType === 'CONTACT' || boundType === 'COMPANY' || boundType === 'LEAD') && phpInt(p['CRM_ENTITY_ID']) > 0) {
      entity = { type: boundType, id: phpInt(p['CRM_ENTITY_ID']) };
    }
  } else if (!internal) {
    const found = portal.findByPhone(phone);
    const first = found.CONTACT[0] ?? found.COMPANY[0] ?? found.LEAD[0];
    if (first !== undefined) entity = { type: found.CONTACT[0] ? 'CONTACT' : found.COMPANY[0] ? 'COMPANY' : 'LEAD', id: Number(first['ID']) };
  }
  const created: LocalCall['created'] = [];
  let createdLeadId: number | null = null;
  let leadCreationError: string | null = null;
  const crmCreate = (phpBool(p['CRM']) || phpBool(p['CRM_CREATE'])) && !internal;
  if (crmCreate && entity === null) {
    if (options.leadCreationError !== null) {
      leadCreationError = options.leadCreationError;
    } else {
      createdLeadId = portal.createLead(phone, INCOMING_TYPES.includes(type), userId, phpString(p['CRM_SOURCE']), ctx.nowMs);
      created.push({ ENTITY_TYPE: 'LEAD', ENTITY_ID: createdLeadId });
      entity = { type: 'LEAD', id: createdLeadId };
    }
  }
  const callId = `externalCall.${randomHex(16)}.${Math.floor(ctx.nowMs / 1000)}`;
  const call: LocalCall = {
    CALL_ID: callId, register: withoutAuth(p), registerRepeats: [], USER_ID: userId, PHONE_NUMBER: phone, TYPE: type,
    EXTERNAL_CALL_ID: externalCallId, LINE_NUMBER: lineNumber, lineId, dateCreateMs, restAppId: ctx.restAppId, internal,
    entity, created, createdLeadId, leadCreationError, active: true, shown: [], hidden: [], finish: null, statistic: null, records: [],
  };
  if (show) call.shown.push({ userIds: [userId], at });
  state.calls.set(callId, call);
  const result: JsonRecord = {
    CALL_ID: callId,
    CRM_CREATED_LEAD: createdLeadId,
    CRM_CREATED_ENTITIES: created.map((e) => ({ ...e })),
    CRM_ENTITY_TYPE: entity?.type ?? '',
    CRM_ENTITY_ID: entity?.id ?? null,
  };
  if (leadCreationError !== null) result['LEAD_CREATION_ERROR'] = leadCreationError;
  return { result };
}

export function finish(portal: Portal, p: Params, ctx: MethodContext): MethodAnswer {
  const { state } = portal;
  const userId = resolveUserId(portal, p);
  if (userId === 0) throw coreError('USER_ID or USER_PHONE_INNER should be set');
  const callId = p['CALL_ID'];
  if (typeof callId !== 'string') throw new RestError(400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
  const call = state.calls.get(callId);
  // After finish the core deletes the active-call row: a second finish lands here too.
  if (call === undefined || !call.active) throw emptyCodeError(NOT_REGISTERED);
  if (portal.activeUser(userId) === undefined) throw coreError('User is not found or is not active');
  const at = portal.date(ctx.nowMs);
  call.hidden.push({ userIds: [userId], at, by: 'finish' });

  const duration = phpInt(p['DURATION']);
  const statusCode = phpString(p['STATUS_CODE']) || (duration > 0 ? '200' : '304');
  const incoming = INCOMING_TYPES.includes(call.TYPE);
  const statisticId = portal.next('statistic');
  // The finish's user becomes responsible for what the call created (existing entities keep theirs).
  for (const e of call.created) {
    const record = portal.entities(e.ENTITY_TYPE).get(e.ENTITY_ID);
    if (record !== undefined) record['ASSIGNED_BY_ID'] = String(userId);
  }
  let activityId: number | null = null;
  if (!call.internal && call.entity !== null) {
    activityId = portal.next('activity');
    const start = call.dateCreateMs;
    state.activities.set(activityId, {
      ID: String(activityId), OWNER_TYPE_ID: String(OWNER_TYPE_ID[call.entity.type]), OWNER_ID: String(call.entity.id),
      TYPE_ID: '2', PROVIDER_ID: 'VOXIMPLANT_CALL', PROVIDER_TYPE_ID: 'CALL', ORIGIN_ID: `VI_${call.CALL_ID}`,
      SUBJECT: `${incoming ? 'Incoming call from' : 'Outgoing call to'} ${call.PHONE_NUMBER}`,
      DIRECTION: incoming ? '1' : '2', RESPONSIBLE_ID: String(userId), COMPLETED: duration > 0 ? 'Y' : 'N',
      START_TIME: portal.date(start), END_TIME: portal.date(start + duration * 1000), DESCRIPTION: '',
      COMMUNICATIONS: [{ VALUE: call.PHONE_NUMBER, TYPE: 'PHONE', ENTITY_TYPE_ID: String(OWNER_TYPE_ID[call.entity.type]), ENTITY_ID: String(call.entity.id) }],
      STORAGE_ELEMENT_IDS: [],
    });
  }
  const row: JsonRecord = {
    CALL_ID: call.CALL_ID, EXTERNAL_CALL_ID: call.EXTERNAL_CALL_ID, PORTAL_USER_ID: userId, PHONE_NUMBER: call.PHONE_NUMBER,
    PORTAL_NUMBER: call.LINE_NUMBER ?? `REST_APP:${call.restAppId}`, INCOMING: String(call.TYPE), CALL_DURATION: duration,
    CALL_START_DATE: portal.date(call.dateCreateMs), CALL_STATUS: duration > 0 ? 1 : 0, CALL_VOTE: phpInt(p['VOTE']),
    COST: Number(phpString(p['COST'])) || 0, COST_CURRENCY: phpString(p['COST_CURRENCY']), CALL_FAILED_CODE: statusCode,
    CALL_FAILED_REASON: phpString(p['FAILED_REASON']), REST_APP_ID: call.restAppId,
    REST_APP_NAME: ctx.auth === 'oauth' ? 'callhook local application' : false, CRM_ACTIVITY_ID: activityId, COMMENT: null,
  };
  if (call.entity !== null) Object.assign(row, { CRM_ENTITY_TYPE: call.entity.type, CRM_ENTITY_ID: call.entity.id });
  row['ID'] = statisticId;

  if (statusCode === '304' && incoming) {
    state.missed.push({ statisticId, CALL_ID: call.CALL_ID, PHONE_NUMBER: call.PHONE_NUMBER, PORTAL_USER_ID: userId, callbackCallId: null });
  } else if (statusCode === '200' && call.TYPE === 1) {
    for (const m of state.missed) if (m.PHONE_NUMBER === call.PHONE_NUMBER && m.callbackCallId === null) m.callbackCallId = call.CALL_ID;
  }
  call.active = false;
  call.finish = { ...withoutAuth(p), ADD_TO_CHAT_EFFECTIVE: phpBool(p['ADD_TO_CHAT']) };
  call.statistic = row;
  return { result: { ...row } };
}

export function show(portal: Portal, p: Params, ctx: MethodContext): MethodAnswer {
  const call = portal.state.calls.get(phpString(p['CALL_ID']));
  if (call === undefined || !call.active) return { result: false };
  call.shown.push({ userIds: userIds(p['USER_ID'], call.USER_ID), at: portal.date(ctx.nowMs) });
  return { result: true };
}

export function hide(portal: Portal, p: Params, ctx: MethodContext): MethodAnswer {
  const call = portal.state.calls.get(phpString(p['CALL_ID']));
  if (call === undefined || !call.active) return { result: false };
  call.hidden.push({ userIds: userIds(p['USER_ID'], call.USER_ID), at: portal.date(ctx.nowMs), by: 'hide' });
  return { result: true };
}

function finishedCall(portal: Portal, callId: JsonValue | undefined): LocalCall {
  const call = portal.state.calls.get(phpString(callId));
  if (call === undefined || call.statistic === null) throw emptyCodeError(NOT_FINISHED);
  return call;
}

function extensionAllowed(filename: string): boolean {
  // GetFileExtension + a case-sensitive in_array: `.WAV` is refused too, as on a real portal.
  const dot = filename.lastIndexOf('.');
  const ext = dot < 0 ? '' : filename.slice(dot + 1);
  return ext === 'wav' || ext === 'mp3';
}

function attach(portal: Portal, call: LocalCall, filename: string, content: Buffer, via: 'content' | 'upload' | 'url', nowMs: number): MethodAnswer {
  const fileId = portal.next('file');
  portal.state.files.set(fileId, { id: fileId, name: filename, bytes: content.length, content });
  call.records.push({ fileId, filename, bytes: content.length, via, at: portal.date(nowMs) });
  if (call.statistic !== null) call.statistic['RECORD_FILE_ID'] = fileId;
  const activityId = call.statistic?.['CRM_ACTIVITY_ID'];
  if (typeof activityId === 'number') {
    const activity = portal.state.activities.get(activityId);
    if (activity !== undefined) activity['STORAGE_ELEMENT_IDS'] = [String(fileId)];
  }
  return { result: { FILE_ID: fileId } };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export async function attachRecord(portal: Portal, p: Params, ctx: MethodContext): Promise<MethodAnswer> {
  if (isset(p['RECORD_URL'])) return attachFromUrl(portal, p, ctx);
  if (!isset(p['FILENAME'])) throw coreError('Required parameters are not set. Request should contain either URL or FILENAME parameter');
  const call = finishedCall(portal, p['CALL_ID']);
  if (!isset(p['FILE_CONTENT'])) {
    const token = randomHex(12);
    portal.uploads.set(token, call.CALL_ID);
    const { pathPrefix, query } = ctx.uploadAuth;
    return { result: { uploadUrl: `${ctx.baseUrl}/rest/${pathPrefix}upload.json?${query}${query === '' ? '' : '&'}token=${token}`, fieldName: 'file' } };
  }
  const filename = phpString(p['FILENAME']);
  if (filename === '') throw coreError('File name is empty');
  if (!extensionAllowed(filename)) throw coreError('Wrong file extension. Only wav and mp3 are allowed');
  const text = phpString(p['FILE_CONTENT']).replace(/\s+/g, '');
  if (text === '') throw coreError('File content is empty.');
  if (!BASE64.test(text)) throw coreError('File content is not properly encoded. Base64 encoding is expected.');
  return attach(portal, call, filename, Buffer.from(text, 'base64'), 'content', ctx.nowMs);
}

/** The upload endpoint behind an uploadUrl: multipart field `file`. */
export function uploadRecord(portal: Portal, token: string, file: { filename: string; content: Buffer } | null, nowMs: number): MethodAnswer {
  const callId = portal.uploads.get(token);
  if (callId === undefined) throw new RestError(401, 'NO_AUTH_FOUND', 'Wrong authorization data');
  if (file === null) throw coreError('Error: required parameter file is not found');
  if (!extensionAllowed(file.filename)) throw coreError('Wrong file extension. Only wav and mp3 are allowed');
  const call = finishedCall(portal, callId);
  return attach(portal, call, file.filename, file.content, 'upload', nowMs);
}

async function attachFromUrl(portal: Portal, p: Params, ctx: MethodContext): Promise<MethodAnswer> {
  const call = finishedCall(portal, p['CALL_ID']);
  const url = phpString(p['RECORD_URL']);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RestError(400, 'SERVER_NOT_AVAILABLE', '0: Invalid URL');
  }
  if (!portal.options.allowPrivateRecordUrls && (await resolvesPrivate(parsed.hostname))) {
    throw coreError('Record URL resolves to a non-public address and was blocked');
  }
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new RestError(400, 'SERVER_NOT_AVAILABLE', `${cause?.code ?? 'ERROR'}: ${cause?.message ?? String(error)}`);
  }
  if (response.status !== 200) throw coreError(`Server returns HTTP error code ${response.status}`);
  const content = Buffer.from(await response.arrayBuffer());
  const disposition = /filename="?([^";]+)"?/i.exec(response.headers.get('content-disposition') ?? '');
  const filename = phpString(p['FILENAME']) || disposition?.[1] || decodeURIComponent(parsed.pathname.split('/').pop() ?? '') || 'record';
  return attach(portal, call, filename, content, 'url', ctx.nowMs);
}

async function resolvesPrivate(hostname: string): Promise<boolean> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [host] : await lookup(host, { all: true }).then((list) => list.map((a) => a.address), () => []);
  return addresses.length === 0 || addresses.some(isPrivateAddress);
}

export function isPrivateAddress(ip: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/i.exec(ip);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  const v6 = ip.toLowerCase();
  return v6 === '::1' || v6 === '::' || v6.startsWith('fc') || v6.startsWith('fd') || v6.startsWith('fe8') || v6.startsWith('fe9') || v6.startsWith('fea') || v6.startsWith('feb');
}

export function searchCrmEntities(portal: Portal, p: Params): MethodAnswer {
  const phone = phpString(p['PHONE_NUMBER']);
  if (phone === '') throw coreError('PHONE_NUMBER is empty');
  const found = portal.findByPhone(phone);
  const result: JsonRecord[] = [];
  // helper.php iterates contacts, then leads, then companies.
  for (const type of ['CONTACT', 'LEAD', 'COMPANY'] as const satisfies readonly EntityType[]) {
    for (const record of found[type]) {
      const assigned = Number(record['ASSIGNED_BY_ID']);
      const user = portal.state.users.get(assigned);
      result.push({
        CRM_ENTITY_TYPE: type, CRM_ENTITY_ID: Number(record['ID']), ASSIGNED_BY_ID: assigned, NAME: portal.entityName(type, record),
        ASSIGNED_BY: {
          ID: String(assigned), TIMEMAN_STATUS: 'NOT_INSTALLED', USER_PHONE_INNER: user?.UF_PHONE_INNER || null,
          WORK_PHONE: user?.WORK_PHONE || null, PERSONAL_PHONE: user?.PERSONAL_PHONE || null, PERSONAL_MOBILE: user?.PERSONAL_MOBILE || null,
        },
      });
    }
  }
  return { result };
}

/** voximplant.statistic.get: the finished calls (what a reconciler asks after a lost finish answer). */
export function statisticGet(portal: Portal, p: Params): MethodAnswer {
  const filter = typeof p['FILTER'] === 'object' && p['FILTER'] !== null && !Array.isArray(p['FILTER']) ? p['FILTER'] : {};
  const rows: JsonRecord[] = [];
  for (const call of portal.state.calls.values()) {
    if (call.statistic === null) continue;
    const row: JsonRecord = { ...call.statistic, CALL_TYPE: call.statistic['INCOMING'] ?? null };
    delete row['INCOMING'];
    delete row['CALL_STATUS'];
    const matches = Object.entries(filter).every(([key, want]) => {
      const field = key.replace(/^=/, '').toUpperCase();
      const have = row[field];
      const wanted = Array.isArray(want) ? want.map(phpString) : [phpString(want)];
      return wanted.includes(phpString(have));
    });
    if (matches) rows.push(row);
  }
  const start = Math.max(0, phpInt(p['start'] ?? p['START']));
  const page = rows.slice(start, start + 50);
  const answer: MethodAnswer = { result: page, total: rows.length };
  if (start + 50 < rows.length) answer.next = start + 50;
  return answer;
}
