// telephony.externalcall.* on the local portal, over real HTTP: every documented parameter and error of
// register/finish/attachRecord/show/hide/searchCrmEntities (crm-apis.md §1.3–§1.7), the 30-minute dedup
// rule key by key, finish twice, attach before finish, the three attach modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalBitrix24, NOT_FINISHED, NOT_REGISTERED, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { ok, rest, RECORDING, token } from './kit.js';

const users = [
  { ID: 1, NAME: 'Alice', LAST_NAME: 'Adams', UF_PHONE_INNER: '200', WORK_PHONE: '+7 495 000-00-01' },
  { ID: 2, NAME: 'Bob', LAST_NAME: 'Brown', UF_PHONE_INNER: '201', PERSONAL_MOBILE: '79160000002' },
  { ID: 3, NAME: 'Gone', UF_PHONE_INNER: '209', ACTIVE: false },
];
const contacts = [{ ID: 10, NAME: 'John', LAST_NAME: 'Doe', PHONE: ['+7 (916) 123-45-67'], ASSIGNED_BY_ID: 2 }];
const companies = [{ ID: 20, TITLE: 'Acme', PHONE: ['74950001122'], ASSIGNED_BY_ID: 1 }];
const leads = [{ ID: 30, TITLE: 'Lead from web', NAME: 'Lena', PHONE: ['79990001122'], ASSIGNED_BY_ID: 1 }];

function start(extra: Parameters<typeof startLocalBitrix24>[0] = {}): Promise<LocalBitrix24> {
  return startLocalBitrix24({ users, contacts, companies, leads, timeZone: 'Europe/Moscow', ...extra });
}

interface Registered { CALL_ID: string; CRM_CREATED_LEAD: number | null; CRM_CREATED_ENTITIES: { ENTITY_TYPE: string; ENTITY_ID: number }[]; CRM_ENTITY_TYPE: string | null; CRM_ENTITY_ID: number | null; LEAD_CREATION_ERROR?: string }

const register = (s: LocalBitrix24, params: Record<string, unknown>) => ok<Registered>(s, 'telephony.externalCall.register', params);
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, '+00:00');

async function expectError(s: LocalBitrix24, method: string, params: Record<string, unknown>, status: number, error: string, description: string): Promise<void> {
  const a = await rest(s, method, params);
  assert.equal(a.status, status, `${method} ${JSON.stringify(params)}: ${a.text}`);
  assert.deepEqual(a.json, { error, error_description: description });
}

test('register refuses what the core refuses, with ERROR_CORE and the documented texts, in the core\'s order', async () => {
  const s = await start();
  try {
    const reg = 'telephony.externalcall.register';
    await expectError(s, reg, { PHONE_NUMBER: '555', TYPE: 2 }, 400, 'ERROR_CORE', 'USER_ID or USER_PHONE_INNER should be set');
    await expectError(s, reg, { USER_PHONE_INNER: '999', PHONE_NUMBER: '555', TYPE: 2 }, 400, 'ERROR_CORE', 'USER_ID or USER_PHONE_INNER should be set');
    await expectError(s, reg, { USER_ID: 1, PHONE_NUMBER: '555', TYPE: 9 }, 400, 'ERROR_CORE', 'Unknown TYPE');
    await expectError(s, reg, { USER_ID: 1, PHONE_NUMBER: '555' }, 400, 'ERROR_CORE', 'Unknown TYPE');
    await expectError(s, reg, { USER_ID: 1, PHONE_NUMBER: '555', TYPE: 2, CALL_START_DATE: '07.03.2026 10:20' }, 400, 'ERROR_CORE', 'CALL_START_DATE should be in the ISO-8601 format');
    await expectError(s, reg, { USER_ID: 1, PHONE_NUMBER: 'anonymous', TYPE: 2 }, 400, 'ERROR_CORE', 'Unsupported phone number format');
    await expectError(s, reg, { USER_ID: 3, PHONE_NUMBER: '555', TYPE: 2 }, 400, 'ERROR_CORE', 'User is not found or is not active');
    await expectError(s, reg, { USER_ID: 42, PHONE_NUMBER: '555', TYPE: 2 }, 400, 'ERROR_CORE', 'User is not found or is not active');
    assert.equal(s.state.calls.size, 0);
    // TYPE 1..5 and a numeric string are accepted; USER_PHONE_INNER resolves an active employee.
    for (const TYPE of [1, 2, 3, 4, 5, '2']) await register(s, { USER_ID: 1, PHONE_NUMBER: `55500${String(TYPE)}`, TYPE });
    const byInner = await register(s, { USER_PHONE_INNER: '201', PHONE_NUMBER: '5557777', TYPE: 2 });
    assert.equal(s.state.calls.get(byInner.CALL_ID)!.USER_ID, 2);
  } finally {
    await s.close();
  }
});

test('register strips letters from PHONE_NUMBER, reads CALL_START_DATE with its offset (or in the portal zone without one)', async () => {
  const s = await start();
  try {
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '+7 (916) 123-45-67', TYPE: 2, CALL_START_DATE: '2026-03-07T10:20:30+05:00' });
    const call = s.state.calls.get(a.CALL_ID)!;
    assert.equal(call.PHONE_NUMBER, '79161234567');
    assert.equal(new Date(call.dateCreateMs).toISOString(), '2026-03-07T05:20:30.000Z');
    const b = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550001', TYPE: 2, CALL_START_DATE: '2026-03-07T10:20:30' });
    // No offset: read in the portal's zone (Moscow, +03:00): the distortion the docs warn about.
    assert.equal(new Date(s.state.calls.get(b.CALL_ID)!.dateCreateMs).toISOString(), '2026-03-07T07:20:30.000Z');
    assert.match(a.CALL_ID, /^externalCall\.[0-9a-f]{32}\.\d+$/);
  } finally {
    await s.close();
  }
});

test('the 30-minute dedup: an active call with the same USER_ID, number, TYPE, app, line and EXTERNAL_CALL_ID is answered again', async () => {
  const s = await start();
  try {
    const base = { USER_ID: 1, PHONE_NUMBER: '+1 555 0100', TYPE: 2, LINE_NUMBER: '74950000000', EXTERNAL_CALL_ID: 'pbx-1', CALL_START_DATE: minutesAgo(10) };
    const first = await register(s, base);
    // CRM fields, SHOW and CALL_START_DATE are not keys; a differently formatted number strips to the same.
    const again = await register(s, { ...base, PHONE_NUMBER: '15550100', CRM_CREATE: 1, SHOW: 0, CALL_START_DATE: minutesAgo(1) });
    assert.equal(again.CALL_ID, first.CALL_ID);
    assert.equal(s.state.calls.get(first.CALL_ID)!.registerRepeats.length, 1);
    // Every key changes the answer.
    const variants: Record<string, Record<string, unknown>> = {
      USER_ID: { USER_ID: 2 }, PHONE_NUMBER: { PHONE_NUMBER: '15550101' }, TYPE: { TYPE: 1 }, LINE_NUMBER: { LINE_NUMBER: '74950000001' }, EXTERNAL_CALL_ID: { EXTERNAL_CALL_ID: 'pbx-2' },
    };
    for (const [key, change] of Object.entries(variants)) {
      const other = await register(s, { ...base, ...change });
      assert.notEqual(other.CALL_ID, first.CALL_ID, `${key} is a dedup key`);
    }
    // Without LINE_NUMBER / EXTERNAL_CALL_ID in the new request, those keys do not filter: it joins the first call.
    const { LINE_NUMBER: _l, EXTERNAL_CALL_ID: _e, ...bare } = base;
    assert.equal((await register(s, bare)).CALL_ID, first.CALL_ID, 'no EXTERNAL_CALL_ID → two real calls can share one CALL_ID');
  } finally {
    await s.close();
  }
});

test('the dedup window is the EXISTING call\'s DATE_CREATE (= its CALL_START_DATE) > now − 30 min, and finished calls never match', async () => {
  const s = await start();
  try {
    const old = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550200', TYPE: 2, CALL_START_DATE: minutesAgo(31) });
    const next = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550200', TYPE: 2 });
    assert.notEqual(next.CALL_ID, old.CALL_ID, 'a backdated call older than 30 minutes never matches');
    const recent = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550200', TYPE: 2, CALL_START_DATE: minutesAgo(29) });
    assert.ok([old.CALL_ID, next.CALL_ID].includes(recent.CALL_ID) && recent.CALL_ID === next.CALL_ID);
    await ok(s, 'telephony.externalcall.finish', { CALL_ID: next.CALL_ID, USER_ID: 1, DURATION: 5, ADD_TO_CHAT: 0 });
    const after = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550200', TYPE: 2 });
    assert.ok(![old.CALL_ID, next.CALL_ID].includes(after.CALL_ID), 'a finished call is not in the active table any more');
  } finally {
    await s.close();
  }
});

test('register binds the entity found by number (contact, then company, then lead), or the one named; CRM_CREATE creates a lead only when none is found', async () => {
  const s = await start();
  try {
    const contact = await register(s, { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 2, CRM_CREATE: 1 });
    assert.deepEqual([contact.CRM_ENTITY_TYPE, contact.CRM_ENTITY_ID, contact.CRM_CREATED_LEAD, contact.CRM_CREATED_ENTITIES], ['CONTACT', 10, null, []]);
    const company = await register(s, { USER_ID: 1, PHONE_NUMBER: '+7 495 000 11 22', TYPE: 2 });
    assert.deepEqual([company.CRM_ENTITY_TYPE, company.CRM_ENTITY_ID], ['COMPANY', 20]);
    const lead = await register(s, { USER_ID: 1, PHONE_NUMBER: '79990001122', TYPE: 1 });
    assert.deepEqual([lead.CRM_ENTITY_TYPE, lead.CRM_ENTITY_ID], ['LEAD', 30]);
    const named = await register(s, { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 1, CRM_ENTITY_TYPE: 'COMPANY', CRM_ENTITY_ID: 20 });
    assert.deepEqual([named.CRM_ENTITY_TYPE, named.CRM_ENTITY_ID], ['COMPANY', 20]);
    const unknown = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550300', TYPE: 2 });
    assert.deepEqual([unknown.CRM_ENTITY_TYPE, unknown.CRM_ENTITY_ID, unknown.CRM_CREATED_LEAD], ['', null, null]);
    assert.equal(s.state.createdLeads.length, 0);

    const created = await register(s, { USER_ID: 2, PHONE_NUMBER: '5550301', TYPE: 2, CRM_CREATE: 1, CRM_SOURCE: 'WEB' });
    assert.equal(created.CRM_ENTITY_TYPE, 'LEAD');
    assert.ok(created.CRM_CREATED_LEAD !== null && created.CRM_CREATED_LEAD === created.CRM_ENTITY_ID);
    assert.deepEqual(created.CRM_CREATED_ENTITIES, [{ ENTITY_TYPE: 'LEAD', ENTITY_ID: created.CRM_CREATED_LEAD }]);
    const newLead = s.state.leads.get(created.CRM_CREATED_LEAD!)!;
    assert.deepEqual([newLead['ASSIGNED_BY_ID'], newLead['SOURCE_ID']], ['2', 'WEB'], 'the registering user is the first responsible');
    assert.deepEqual(await ok(s, 'crm.lead.get', { id: created.CRM_CREATED_LEAD }).then((l) => (l as { PHONE: { VALUE: string }[] }).PHONE.map((p) => p.VALUE)), ['5550301']);
  } finally {
    await s.close();
  }
});

test('an internal call (PHONE_NUMBER is an employee\'s UF_PHONE_INNER) gets no entity, no lead, no activity', async () => {
  const s = await start();
  try {
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '201', TYPE: 1, CRM_CREATE: 1 });
    assert.deepEqual([a.CRM_ENTITY_TYPE, a.CRM_ENTITY_ID, a.CRM_CREATED_LEAD], ['', null, null]);
    assert.equal(s.state.calls.get(a.CALL_ID)!.internal, true);
    const fin = await ok<{ CRM_ACTIVITY_ID: number | null }>(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 30 });
    assert.equal(fin.CRM_ACTIVITY_ID, null);
    assert.equal(s.state.activities.size, 0);
  } finally {
    await s.close();
  }
});

test('LINE_NUMBER auto-creates the line for this app; LEAD_CREATION_ERROR is reported when lead creation is disabled', async () => {
  const s = await start({ leadCreationError: 'Lead creation is disabled for local users' });
  try {
    await register(s, { USER_ID: 1, PHONE_NUMBER: '5550400', TYPE: 2, LINE_NUMBER: ' 74951112233 ' });
    await register(s, { USER_ID: 1, PHONE_NUMBER: '5550401', TYPE: 2, LINE_NUMBER: '74951112233' });
    assert.deepEqual([...s.state.lines.values()].map((l) => [l.NUMBER, l.REST_APP_ID]), [['74951112233', 'webHook1']]);
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550402', TYPE: 2, CRM_CREATE: 1 });
    assert.equal(a.LEAD_CREATION_ERROR, 'Lead creation is disabled for local users');
    assert.equal(a.CRM_CREATED_LEAD, null);
  } finally {
    await s.close();
  }
});

test('finish: CALL_ID must be a string, an unknown or finished call is "Call is not found" with an EMPTY code, so a second finish fails', async () => {
  const s = await start();
  try {
    const fin = 'telephony.externalcall.finish';
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550500', TYPE: 2 });
    await expectError(s, fin, { CALL_ID: a.CALL_ID, DURATION: 3 }, 400, 'ERROR_CORE', 'USER_ID or USER_PHONE_INNER should be set');
    await expectError(s, fin, { CALL_ID: 12345, USER_ID: 1 }, 400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
    await expectError(s, fin, { CALL_ID: ['x'], USER_ID: 1 }, 400, 'INVALID_ARGUMENT', 'CALL_ID must be a string');
    await expectError(s, fin, { CALL_ID: 'externalCall.nope.1', USER_ID: 1 }, 400, '', NOT_REGISTERED);
    await expectError(s, fin, { CALL_ID: a.CALL_ID, USER_ID: 3 }, 400, 'ERROR_CORE', 'User is not found or is not active');
    await ok(s, fin, { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 3 });
    await expectError(s, fin, { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 3 }, 400, '', NOT_REGISTERED);
    assert.equal(NOT_REGISTERED, 'Call is not found (call should be registered prior to finishing');
    assert.equal(s.state.activities.size, 0, 'no contact for 5550500: no activity, and the failed finish created none');
  } finally {
    await s.close();
  }
});

test('finish: STATUS_CODE defaults to 200/304 by DURATION, CALL_STATUS = DURATION > 0 whatever the code, omitted ADD_TO_CHAT is false', async () => {
  const s = await start();
  try {
    const finish = async (params: Record<string, unknown>) => {
      const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 2 });
      const row = await ok<Record<string, unknown>>(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 2, ...params });
      return { row, call: s.state.calls.get(a.CALL_ID)! };
    };
    const answered = await finish({ DURATION: 42 });
    assert.deepEqual([answered.row['CALL_FAILED_CODE'], answered.row['CALL_STATUS'], answered.row['CALL_DURATION']], ['200', 1, 42]);
    const missed = await finish({});
    assert.deepEqual([missed.row['CALL_FAILED_CODE'], missed.row['CALL_STATUS']], ['304', 0]);
    const busyButTalked = await finish({ DURATION: 5, STATUS_CODE: '486' });
    assert.deepEqual([busyButTalked.row['CALL_FAILED_CODE'], busyButTalked.row['CALL_STATUS']], ['486', 1], 'CALL_STATUS ignores STATUS_CODE');
    assert.equal(missed.call.finish!['ADD_TO_CHAT_EFFECTIVE'], false, 'omitted ADD_TO_CHAT → false');
    assert.equal((await finish({ ADD_TO_CHAT: 1 })).call.finish!['ADD_TO_CHAT_EFFECTIVE'], true);
    assert.equal((await finish({ ADD_TO_CHAT: '0' })).call.finish!['ADD_TO_CHAT_EFFECTIVE'], false);
    // The statistics row has the documented fields, and the CRM call activity exists.
    for (const key of ['ID', 'CALL_ID', 'EXTERNAL_CALL_ID', 'PORTAL_USER_ID', 'PHONE_NUMBER', 'PORTAL_NUMBER', 'INCOMING', 'CALL_DURATION', 'CALL_START_DATE', 'CALL_STATUS', 'CALL_VOTE', 'COST', 'COST_CURRENCY', 'CALL_FAILED_CODE', 'CALL_FAILED_REASON', 'REST_APP_ID', 'REST_APP_NAME', 'CRM_ACTIVITY_ID', 'COMMENT', 'CRM_ENTITY_TYPE', 'CRM_ENTITY_ID']) {
      assert.ok(key in answered.row, key);
    }
    const activity = await ok<Record<string, unknown>>(s, 'crm.activity.get', { id: answered.row['CRM_ACTIVITY_ID'] });
    assert.deepEqual([activity['OWNER_TYPE_ID'], activity['OWNER_ID'], activity['RESPONSIBLE_ID'], activity['DIRECTION'], activity['COMPLETED']], ['3', '10', '2', '1', 'Y']);
    assert.equal(activity['ORIGIN_ID'], `VI_${answered.row['CALL_ID']}`);
    // A missed incoming call (304) goes into the missed-call table; 486 on an incoming call would not.
    const missedIds = s.state.missed.map((m) => m.CALL_ID);
    assert.ok(missedIds.includes(String(missed.row['CALL_ID'])));
    assert.ok(!missedIds.includes(String(busyButTalked.row['CALL_ID'])) && !missedIds.includes(String(answered.row['CALL_ID'])));
    // finish hides the card for its USER_ID.
    assert.deepEqual(answered.call.hidden.map((h) => [h.userIds, h.by]), [[[2], 'finish']]);
  } finally {
    await s.close();
  }
});

test('finish\'s USER_ID becomes ASSIGNED_BY_ID of entities the call created; an existing entity keeps its responsible', async () => {
  const s = await start();
  try {
    const created = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550600', TYPE: 2, CRM_CREATE: 1 });
    assert.equal(s.state.leads.get(created.CRM_CREATED_LEAD!)!['ASSIGNED_BY_ID'], '1');
    await ok(s, 'telephony.externalcall.finish', { CALL_ID: created.CALL_ID, USER_ID: 2, DURATION: 0 });
    assert.equal(s.state.leads.get(created.CRM_CREATED_LEAD!)!['ASSIGNED_BY_ID'], '2');
    const existing = await register(s, { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 2 });
    await ok(s, 'telephony.externalcall.finish', { CALL_ID: existing.CALL_ID, USER_ID: 1, DURATION: 0 });
    assert.equal(s.state.contacts.get(10)!['ASSIGNED_BY_ID'], '2');
  } finally {
    await s.close();
  }
});

test('show/hide take USER_ID as an int or an array (default: the registering user) and answer false for a call that is not active', async () => {
  const s = await start();
  try {
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '5550700', TYPE: 2, SHOW: 0 });
    assert.equal(await ok(s, 'telephony.externalcall.show', { CALL_ID: a.CALL_ID, USER_ID: [2, 3] }), true);
    assert.equal(await ok(s, 'telephony.externalcall.show', { CALL_ID: a.CALL_ID, USER_ID: 1 }), true);
    assert.equal(await ok(s, 'telephony.externalcall.hide', { CALL_ID: a.CALL_ID }), true);
    assert.equal(await ok(s, 'telephony.externalcall.show', {}, { form: `CALL_ID=${a.CALL_ID}&USER_ID[]=2&USER_ID[]=1` }), true);
    const call = s.state.calls.get(a.CALL_ID)!;
    assert.deepEqual(call.shown.map((x) => x.userIds), [[2, 3], [1], [2, 1]], 'SHOW=0 at register showed nothing');
    assert.deepEqual(call.hidden.map((x) => x.userIds), [[1]]);
    assert.equal(await ok(s, 'telephony.externalcall.show', { CALL_ID: 'externalCall.none.1' }), false);
    await ok(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1 });
    assert.equal(await ok(s, 'telephony.externalcall.hide', { CALL_ID: a.CALL_ID }), false);
    const shown = await register(s, { USER_ID: 2, PHONE_NUMBER: '5550701', TYPE: 2 });
    assert.deepEqual(s.state.calls.get(shown.CALL_ID)!.shown.map((x) => x.userIds), [[2]], 'SHOW defaults to 1');
  } finally {
    await s.close();
  }
});

test('attachRecord: before finish it is refused (EMPTY code); FILENAME must end .wav/.mp3; FILE_CONTENT must be base64; a second attach replaces the first', async () => {
  const s = await start();
  try {
    const att = 'telephony.externalcall.attachRecord';
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 2 });
    await expectError(s, att, { CALL_ID: a.CALL_ID, FILENAME: 'r.mp3', FILE_CONTENT: RECORDING }, 400, '', NOT_FINISHED);
    assert.equal(NOT_FINISHED, 'Call is not found in the statistic table. It looks like it is not finished yet.');
    const row = await ok<{ CRM_ACTIVITY_ID: number }>(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 9 });
    await expectError(s, att, { CALL_ID: a.CALL_ID }, 400, 'ERROR_CORE', 'Required parameters are not set. Request should contain either URL or FILENAME parameter');
    await expectError(s, att, { CALL_ID: a.CALL_ID, FILENAME: '', FILE_CONTENT: RECORDING }, 400, 'ERROR_CORE', 'File name is empty');
    for (const name of ['r.ogg', 'r.WAV', 'r']) await expectError(s, att, { CALL_ID: a.CALL_ID, FILENAME: name, FILE_CONTENT: RECORDING }, 400, 'ERROR_CORE', 'Wrong file extension. Only wav and mp3 are allowed');
    await expectError(s, att, { CALL_ID: a.CALL_ID, FILENAME: 'r.mp3', FILE_CONTENT: '' }, 400, 'ERROR_CORE', 'File content is empty.');
    await expectError(s, att, { CALL_ID: a.CALL_ID, FILENAME: 'r.mp3', FILE_CONTENT: 'not base64!' }, 400, 'ERROR_CORE', 'File content is not properly encoded. Base64 encoding is expected.');
    await expectError(s, att, { CALL_ID: 'externalCall.none.1', FILENAME: 'r.mp3', FILE_CONTENT: RECORDING }, 400, '', NOT_FINISHED);
    const first = await ok<{ FILE_ID: number }>(s, att, { CALL_ID: a.CALL_ID, FILENAME: 'first.wav', FILE_CONTENT: RECORDING });
    const second = await ok<{ FILE_ID: number }>(s, att, { CALL_ID: a.CALL_ID, FILENAME: 'second.mp3', FILE_CONTENT: Buffer.from('mp3 bytes').toString('base64') });
    assert.notEqual(first.FILE_ID, second.FILE_ID);
    assert.equal(s.state.files.get(second.FILE_ID)!.content.toString(), 'mp3 bytes');
    const [summary] = s.summary();
    assert.deepEqual([summary!.record?.filename, summary!.recordsAttached], ['second.mp3', 2]);
    const activity = await ok<{ STORAGE_ELEMENT_IDS: string[] }>(s, 'crm.activity.get', { id: row.CRM_ACTIVITY_ID });
    assert.deepEqual(activity.STORAGE_ELEMENT_IDS, [String(second.FILE_ID)], 'the activity has only the last record');
  } finally {
    await s.close();
  }
});

test('attachRecord with FILENAME and no FILE_CONTENT answers an uploadUrl; a multipart POST of field `file` there attaches it', async () => {
  for (const mode of ['webhook', 'oauth'] as const) {
    const s = await start();
    try {
      const auth = mode === 'webhook' ? 'webhook' as const : { token: String((await token(s)).body['access_token']) };
      const a = await ok<{ CALL_ID: string }>(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5550800', TYPE: 2 }, { auth });
      await ok(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 4 }, { auth });
      const up = await ok<{ uploadUrl: string; fieldName: string }>(s, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, FILENAME: 'r.mp3' }, { auth });
      assert.equal(up.fieldName, 'file');
      assert.ok(up.uploadUrl.startsWith(`${s.url}/rest/`) && up.uploadUrl.includes('upload.json') && up.uploadUrl.includes('token='), up.uploadUrl);
      const form = new FormData();
      form.append('file', new Blob([Buffer.from('uploaded bytes')]), 'upload.mp3');
      const r = await fetch(up.uploadUrl, { method: 'POST', body: form });
      const body = (await r.json()) as { result: { FILE_ID: number } };
      assert.equal(r.status, 200, JSON.stringify(body));
      assert.equal(s.state.files.get(body.result.FILE_ID)!.content.toString(), 'uploaded bytes');
      assert.deepEqual(s.summary()[0]!.record, { filename: 'upload.mp3', bytes: 14, via: 'upload' });
      const noFile = await fetch(up.uploadUrl, { method: 'POST', body: new FormData() });
      assert.equal(((await noFile.json()) as { error_description: string }).error_description, 'Error: required parameter file is not found');
    } finally {
      await s.close();
    }
  }
});

test('attachRecord RECORD_URL to 127.0.0.1 is refused as non-public (as the core does); allowed by option it downloads, non-200 is an error', async () => {
  const files = createServer((req, res) => {
    if (req.url === '/r.mp3') {
      res.writeHead(200, { 'content-type': 'audio/mpeg' });
      res.end('downloaded');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const fileUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  try {
    const strict = await start();
    try {
      const a = await register(strict, { USER_ID: 1, PHONE_NUMBER: '5550900', TYPE: 2 });
      await ok(strict, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1 });
      await expectError(strict, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, RECORD_URL: `${fileUrl}/r.mp3` }, 400, 'ERROR_CORE', 'Record URL resolves to a non-public address and was blocked');
      await expectError(strict, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, RECORD_URL: 'http://localhost/r.mp3' }, 400, 'ERROR_CORE', 'Record URL resolves to a non-public address and was blocked');
    } finally {
      await strict.close();
    }
    const open = await start({ allowPrivateRecordUrls: true });
    try {
      const a = await register(open, { USER_ID: 1, PHONE_NUMBER: '5550901', TYPE: 2 });
      await expectError(open, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, RECORD_URL: `${fileUrl}/r.mp3` }, 400, '', NOT_FINISHED);
      await ok(open, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1 });
      const got = await ok<{ FILE_ID: number }>(open, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, RECORD_URL: `${fileUrl}/r.mp3` });
      assert.equal(open.state.files.get(got.FILE_ID)!.content.toString(), 'downloaded');
      assert.equal(open.summary()[0]!.record?.via, 'url');
      await expectError(open, 'telephony.externalcall.attachRecord', { CALL_ID: a.CALL_ID, RECORD_URL: `${fileUrl}/missing.mp3` }, 400, 'ERROR_CORE', 'Server returns HTTP error code 404');
    } finally {
      await open.close();
    }
  } finally {
    await new Promise<void>((resolve) => files.close(() => resolve()));
  }
});

test('searchCrmEntities answers contacts, leads, companies with ASSIGNED_BY (the responsible\'s phones); an empty PHONE_NUMBER is an error', async () => {
  const s = await start({ leads: [...leads, { ID: 31, TITLE: 'Same number', PHONE: ['79161234567'], ASSIGNED_BY_ID: 1 }] });
  try {
    const found = await ok<Record<string, unknown>[]>(s, 'telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '+7 916 123 45 67' });
    assert.deepEqual(found.map((f) => [f['CRM_ENTITY_TYPE'], f['CRM_ENTITY_ID'], f['ASSIGNED_BY_ID'], f['NAME']]), [['CONTACT', 10, 2, 'John Doe'], ['LEAD', 31, 1, 'Same number']]);
    assert.deepEqual(found[0]!['ASSIGNED_BY'], { ID: '2', TIMEMAN_STATUS: 'NOT_INSTALLED', USER_PHONE_INNER: '201', WORK_PHONE: null, PERSONAL_PHONE: null, PERSONAL_MOBILE: '79160000002' });
    assert.deepEqual(await ok(s, 'telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: '000' }), []);
    await expectError(s, 'telephony.externalcall.searchcrmentities', {}, 400, 'ERROR_CORE', 'PHONE_NUMBER is empty');
  } finally {
    await s.close();
  }
});

test('voximplant.statistic.get finds a finished call by CALL_ID or EXTERNAL_CALL_ID (what a reconciler asks after a lost finish answer)', async () => {
  const s = await start();
  try {
    const a = await register(s, { USER_ID: 1, PHONE_NUMBER: '5551000', TYPE: 2, EXTERNAL_CALL_ID: 'pbx-77' });
    assert.deepEqual(await ok(s, 'voximplant.statistic.get', { FILTER: { CALL_ID: a.CALL_ID } }), []);
    await ok(s, 'telephony.externalcall.finish', { CALL_ID: a.CALL_ID, USER_ID: 1, DURATION: 12 });
    const rows = await ok<Record<string, unknown>[]>(s, 'voximplant.statistic.get', { FILTER: { EXTERNAL_CALL_ID: 'pbx-77' } });
    assert.deepEqual(rows.map((r) => [r['CALL_ID'], r['CALL_DURATION'], r['CALL_TYPE']]), [[a.CALL_ID, 12, '2']]);
  } finally {
    await s.close();
  }
});
