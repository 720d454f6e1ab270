// The pure helpers the pipeline calls: CALL_START_DATE with the zone's real offset (DST both ways),
// STATUS_CODE from call_full.result, and the portal's answers → call_full User / Entity / Registration
// (the answers taken from the local portal, the Number objects from the real number model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bitrixDateTime, entityFromRecord, entityFromSearchItem, finishStatusCode, parseSearchResult, registrationAfterFinish, registrationFromRegister,
  REGISTER_TYPE, userFromBitrix,
} from '../../core/crm/bitrix24/index.js';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS } from '../../core/numbers/index.js';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import type { JsonValue } from '../../core/crm/types.js';
import { bufferLogger, ok } from './kit.js';

test('bitrixDateTime: the explicit offset of the zone at that moment, across DST in both directions', () => {
  const cases: [string, string, string][] = [
    ['2026-03-07 10:20:30', 'Europe/Moscow', '2026-03-07T10:20:30+03:00'],
    ['2026-01-15 09:00:00', 'America/New_York', '2026-01-15T09:00:00-05:00'],
    ['2026-07-15 09:00:00', 'America/New_York', '2026-07-15T09:00:00-04:00'],
    ['2026-03-07 10:20:30', 'Asia/Kathmandu', '2026-03-07T10:20:30+05:45'],
    ['2026-03-07 10:20:30', 'UTC', '2026-03-07T10:20:30+00:00'],
    // Just before Europe's spring jump (01:00 UTC): still +01:00 (a one-pass conversion gets +02:00 here).
    ['2026-03-29 01:30:00', 'Europe/Berlin', '2026-03-29T01:30:00+01:00'],
    ['2026-03-29 03:30:00', 'Europe/Berlin', '2026-03-29T03:30:00+02:00'],
    // A skipped wall time (02:00 → 03:00) is read with the offset before the jump.
    ['2026-03-08 02:30:00', 'America/New_York', '2026-03-08T03:30:00-04:00'],
    // A repeated wall time is its first occurrence (still summer time).
    ['2026-11-01 01:30:00', 'America/New_York', '2026-11-01T01:30:00-04:00'],
    ['2026-10-25 02:30:00', 'Europe/Berlin', '2026-10-25T02:30:00+02:00'],
  ];
  for (const [local, zone, want] of cases) assert.equal(bitrixDateTime(local, zone), want, `${local} ${zone}`);
  const host = Intl.DateTimeFormat().resolvedOptions().timeZone;
  assert.equal(bitrixDateTime('2026-07-01 12:00:00', ''), bitrixDateTime('2026-07-01 12:00:00', host), "'' is the host's zone");
  assert.throws(() => bitrixDateTime('2026-07-01 12:00:00', 'Mars/Olympus'), /unknown time zone "Mars\/Olympus"/);
  assert.throws(() => bitrixDateTime('2026-02-30 12:00:00', 'UTC'), /not a valid date/);
  assert.throws(() => bitrixDateTime('2026-07-01T12:00:00', 'UTC'), /not YYYY-MM-DD HH:MM:SS/);
});

test('a time sent with bitrixDateTime is the instant the portal stores (round trip through the local portal)', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1 }], timeZone: 'Asia/Tokyo' });
  try {
    const start = bitrixDateTime('2026-03-29 01:30:00', 'Europe/Berlin');
    const reg = await ok<{ CALL_ID: string }>(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5551', TYPE: REGISTER_TYPE.incoming, CALL_START_DATE: start });
    assert.equal(new Date(s.state.calls.get(reg.CALL_ID)!.dateCreateMs).toISOString(), '2026-03-29T00:30:00.000Z');
    const row = await ok<{ CALL_START_DATE: string }>(s, 'telephony.externalcall.finish', { CALL_ID: reg.CALL_ID, USER_ID: 1 });
    assert.equal(row.CALL_START_DATE, '2026-03-29T09:30:00+09:00', 'the portal prints it in its own zone');
  } finally {
    await s.close();
  }
});

test('finishStatusCode: 200 answered, 304 for every unanswered incoming call, the SIP result mapped otherwise', () => {
  assert.equal(finishStatusCode(200, 'incoming', true), '200');
  assert.equal(finishStatusCode(486, 'outgoing', true), '200', 'answered wins: a person talked');
  for (const result of [480, 486, 487, 404, 503, 603, 200]) assert.equal(finishStatusCode(result, 'incoming', false), '304', String(result));
  const table: [number, string][] = [
    [486, '486'], [600, '486'], [480, '480'], [408, '480'], [487, '603-S'], [603, '603'], [404, '404'], [410, '404'], [484, '484'],
    [503, '503'], [502, '503'], [504, '503'], [403, '403'], [402, '402'], [423, '423'], [500, 'OTHER'], [488, 'OTHER'], [501, 'OTHER'],
  ];
  for (const [result, code] of table) {
    assert.equal(finishStatusCode(result, 'outgoing', false), code, `outgoing ${result}`);
    assert.equal(finishStatusCode(result, 'local', false), code, `local ${result}`);
  }
  assert.equal(finishStatusCode(200, 'outgoing', false), '603-S', 'not answered after all: cancelled');
});

test('register/finish answers → Registration: created lead, entity, the dedup branch\'s nulls, activity after finish', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1 }, { ID: 2 }], contacts: [{ ID: 10, NAME: 'John', PHONE: ['5551'], ASSIGNED_BY_ID: 2 }] });
  try {
    const created = await ok(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5559', TYPE: 2, CRM_CREATE: 1, EXTERNAL_CALL_ID: 'x' });
    const reg = registrationFromRegister(created, 1)!;
    const lead = String(s.state.createdLeads[0]);
    assert.deepEqual(reg, {
      activity_id: '', created_company_id: '', created_contact_id: '', created_deal_id: '', created_lead_id: lead,
      entity_id: lead, entity_type: 'lead', id: (created as { CALL_ID: string }).CALL_ID, responsible_id: '1',
    });
    const fin = await ok(s, 'telephony.externalcall.finish', { CALL_ID: reg.id, USER_ID: 2, DURATION: 4 });
    const after = registrationAfterFinish(reg, fin);
    assert.deepEqual([after.activity_id, after.responsible_id], [String((fin as { CRM_ACTIVITY_ID: number }).CRM_ACTIVITY_ID), '2']);

    const first = await ok(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5558', TYPE: 2 });
    const dedup = await ok(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '5558', TYPE: 2 });
    assert.equal((dedup as { CRM_ENTITY_TYPE: unknown }).CRM_ENTITY_TYPE, null, 'the dedup branch answers null');
    assert.deepEqual(registrationFromRegister(dedup, 1), registrationFromRegister(first, 1));
    assert.equal(registrationFromRegister(first, 1)!.entity_type, '');
    assert.equal(registrationFromRegister({ CALL_ID: '' }, 1), null);
    assert.equal(registrationFromRegister([], 1), null);
  } finally {
    await s.close();
  }
});

test('searchCrmEntities / crm.contact.get answers → Entity with Number phones, responsible from the directory, raw without empty fields', async () => {
  const { logger } = bufferLogger('silent');
  const numbers = createNumberModel(DEFAULT_NUMBER_SETTINGS, { logger });
  const s = await startLocalBitrix24({
    users: [{ ID: 2, NAME: 'Bob', LAST_NAME: 'Brown', UF_PHONE_INNER: '201', PERSONAL_MOBILE: '79160000002' }],
    contacts: [{ ID: 10, NAME: 'John', LAST_NAME: 'Doe', PHONE: ['+7 916 123-45-67', '84950000000'], ASSIGNED_BY_ID: 2 }],
    companies: [{ ID: 20, TITLE: 'Acme', PHONE: ['79161234567'], ASSIGNED_BY_ID: 2 }],
  });
  try {
    const items = parseSearchResult(await ok(s, 'telephony.externalcall.searchCrmEntities', { PHONE_NUMBER: '79161234567' }));
    assert.deepEqual(items.map((i) => [i.type, i.id, i.name, i.responsibleId, i.responsible.innerPhone]), [['CONTACT', '10', 'John Doe', '2', '201'], ['COMPANY', '20', 'Acme', '2', '201']]);
    const bob = userFromBitrix((await ok<Record<string, never>[]>(s, 'user.get', { FILTER: { ID: 2 } }))[0]!);
    const fromSearch = entityFromSearchItem(items[0]!, null);
    assert.deepEqual([fromSearch.type, fromSearch.id, fromSearch.responsible.id, fromSearch.responsible.phones, fromSearch.phones], ['contact', '10', '2', ['201', '79160000002'], []]);
    assert.equal(entityFromSearchItem(items[0]!, bob).responsible.name, 'Bob Brown');

    const record = await ok<Record<string, never>>(s, 'crm.contact.get', { id: 10 });
    const entity = entityFromRecord({ type: 'CONTACT', record, responsible: bob, isNew: false, toNumber: (raw) => numbers.build(raw) });
    assert.deepEqual([entity.id, entity.name, entity.type, entity.responsible_id, entity.is_new], ['10', 'John Doe', 'contact', '2', false]);
    assert.deepEqual(entity.phones.map((p) => p.original), ['+7 916 123-45-67', '84950000000']);
    assert.deepEqual(entity.phones[1], numbers.build('84950000000'));
    assert.ok(!('SECOND_NAME' in entity.raw) && !('COMPANY_ID' in entity.raw) && !('EMAIL' in entity.raw), 'empty fields dropped');
    assert.equal(entity.raw['NAME'], 'John');
    const orphan = entityFromRecord({ type: 'COMPANY', record: await ok<{ [key: string]: JsonValue }>(s, 'crm.company.get', { id: 20 }), responsible: null, isNew: true, toNumber: (raw) => numbers.build(raw) });
    assert.deepEqual([orphan.name, orphan.is_new, orphan.responsible], ['Acme', true, { email: '', id: '2', name: '', phones: [], position: '', raw: { ID: '2' } }]);
    assert.deepEqual(parseSearchResult([{ CRM_ENTITY_TYPE: 'DEAL', CRM_ENTITY_ID: 1 }, 'x', null]), []);
    numbers.close();
  } finally {
    await s.close();
  }
});
