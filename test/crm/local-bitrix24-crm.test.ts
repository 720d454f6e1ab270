// The local portal's user.get (filters, paging of 50), crm.* get/update, crm.duplicate.findbycomm,
// tasks.task.add/list and batch (§1.10–§1.12), over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalBitrix24, type SeedUser } from '../../core/demo-crm/bitrix24/index.js';
import { ok, rest } from './kit.js';

type Row = Record<string, unknown>;

test('user.get pages by 50 with total and next, filters ACTIVE, USER_TYPE, UF_PHONE_INNER and the phone fields, and honours select', async () => {
  const users: SeedUser[] = Array.from({ length: 120 }, (_, i) => ({ ID: i + 1, NAME: `U${i + 1}`, UF_PHONE_INNER: String(100 + i), ACTIVE: i % 10 !== 0 }));
  users.push({ ID: 500, NAME: 'Mobile', PERSONAL_MOBILE: '+7 916 000-00-00', WORK_PHONE: '84951112233', PERSONAL_PHONE: '5551234' });
  users.push({ ID: 501, NAME: 'Ext', USER_TYPE: 'extranet', UF_PHONE_INNER: '999' });
  const s = await startLocalBitrix24({ users });
  try {
    const pages: Row[][] = [];
    let start: number | undefined = 0;
    let total = 0;
    while (start !== undefined) {
      const a = await rest(s, 'user.get', { FILTER: { ACTIVE: true, USER_TYPE: 'employee' }, start });
      assert.equal(a.status, 200, a.text);
      pages.push(a.json!['result'] as Row[]);
      total = a.json!['total'] as number;
      start = a.json!['next'] as number | undefined;
    }
    assert.deepEqual(pages.map((p) => p.length), [50, 50, 9]);
    assert.equal(total, 109, '108 active employees + the mobile one; inactive and extranet users excluded');
    assert.ok(pages.flat().every((u) => u['ACTIVE'] === true && u['USER_TYPE'] === 'employee'));
    assert.deepEqual(pages.flat().slice(0, 3).map((u) => u['ID']), ['2', '3', '4'], 'sorted by ID, ids are strings');

    const byInner = await ok<Row[]>(s, 'user.get', { FILTER: { UF_PHONE_INNER: '105' } });
    assert.deepEqual(byInner.map((u) => u['ID']), ['6']);
    for (const [field, value] of [['PERSONAL_MOBILE', '+7 916 000-00-00'], ['WORK_PHONE', '84951112233'], ['PERSONAL_PHONE', '5551234']]) {
      assert.deepEqual((await ok<Row[]>(s, 'user.get', { filter: { [field!]: value } })).map((u) => u['ID']), ['500'], field);
    }
    assert.deepEqual((await ok<Row[]>(s, 'user.get', { FILTER: { ACTIVE: 'N' } })).length, 12);
    assert.deepEqual((await ok<Row[]>(s, 'user.get', { FILTER: { '>=ID': 119, '<ID': 200 } })).map((u) => u['ID']), ['119', '120']);
    const selected = await ok<Row[]>(s, 'user.get', { FILTER: { ID: 500 }, select: ['NAME', 'PERSONAL_MOBILE'] });
    assert.deepEqual(selected, [{ ID: '500', NAME: 'Mobile', PERSONAL_MOBILE: '+7 916 000-00-00' }]);
    const full = (await ok<Row[]>(s, 'user.get', { FILTER: { ID: 500 } }))[0]!;
    assert.deepEqual(Object.keys(full).sort(), ['ACTIVE', 'EMAIL', 'ID', 'LAST_NAME', 'NAME', 'PERSONAL_MOBILE', 'PERSONAL_PHONE', 'UF_PHONE_INNER', 'USER_TYPE', 'WORK_PHONE', 'WORK_POSITION']);
    assert.equal(full['UF_PHONE_INNER'], null, 'an unset UF field is null');
  } finally {
    await s.close();
  }
});

test('crm.contact/lead/company.get and .update, crm.activity.get/update: EMPTY-code errors for a bad or unknown id', async () => {
  const s = await startLocalBitrix24({
    users: [{ ID: 1 }, { ID: 2 }],
    contacts: [{ ID: 10, NAME: 'John', LAST_NAME: 'Doe', PHONE: ['79161234567'], EMAIL: ['j@example.com'], ASSIGNED_BY_ID: 2 }],
    companies: [{ ID: 20, TITLE: 'Acme', PHONE: ['74950001122'], ASSIGNED_BY_ID: 1 }],
    leads: [{ ID: 30, TITLE: 'Web lead', ASSIGNED_BY_ID: 1 }],
  });
  try {
    const contact = await ok<Row>(s, 'crm.contact.get', { id: 10 });
    assert.deepEqual([contact['ID'], contact['NAME'], contact['ASSIGNED_BY_ID'], contact['HAS_PHONE']], ['10', 'John', '2', 'Y']);
    assert.deepEqual(contact['PHONE'], [{ ID: '1', VALUE_TYPE: 'WORK', VALUE: '79161234567', TYPE_ID: 'PHONE' }]);
    assert.equal((await ok<Row>(s, 'crm.company.get', { ID: 20 }))['TITLE'], 'Acme');
    assert.equal((await ok<Row>(s, 'crm.lead.get', { id: '30' }))['TITLE'], 'Web lead');
    for (const [params, description] of [[{}, 'ID is not defined or invalid.'], [{ id: 'x' }, 'ID is not defined or invalid.'], [{ id: 99 }, 'Not found']] as const) {
      const a = await rest(s, 'crm.contact.get', params);
      assert.equal(a.status, 400);
      assert.deepEqual(a.json, { error: '', error_description: description });
    }
    assert.equal(await ok(s, 'crm.contact.update', { id: 10, fields: { COMMENTS: 'called', PHONE: [{ ID: '1', VALUE: '+79161234567' }, { VALUE: '5550000', VALUE_TYPE: 'MOBILE' }] } }), true);
    const updated = await ok<Row>(s, 'crm.contact.get', { id: 10 });
    assert.equal(updated['COMMENTS'], 'called');
    assert.deepEqual((updated['PHONE'] as Row[]).map((p) => p['VALUE']), ['+79161234567', '5550000']);
    assert.equal(await ok(s, 'crm.lead.update', { id: 30, fields: { ASSIGNED_BY_ID: 2 } }), true);
    assert.equal(s.state.leads.get(30)!['ASSIGNED_BY_ID'], 2);
    assert.equal((await rest(s, 'crm.company.update', { id: 20, fields: {} })).json!['error'], '');
    assert.deepEqual(s.state.updates.map((u) => [u.method, u.id]), [['crm.contact.update', 10], ['crm.lead.update', 30]]);

    const reg = await ok<{ CALL_ID: string }>(s, 'telephony.externalcall.register', { USER_ID: 1, PHONE_NUMBER: '79161234567', TYPE: 2 });
    const fin = await ok<{ CRM_ACTIVITY_ID: number }>(s, 'telephony.externalcall.finish', { CALL_ID: reg.CALL_ID, USER_ID: 1, DURATION: 3 });
    assert.equal(await ok(s, 'crm.activity.update', { id: fin.CRM_ACTIVITY_ID, fields: { SUBJECT: 'Customized', DESCRIPTION: 'by a hook' } }), true);
    const activity = await ok<Row>(s, 'crm.activity.get', { id: fin.CRM_ACTIVITY_ID });
    assert.deepEqual([activity['SUBJECT'], activity['DESCRIPTION'], activity['TYPE_ID']], ['Customized', 'by a hook', '2']);
    assert.equal((await rest(s, 'crm.activity.get', { id: 999 })).json!['error_description'], 'Not found');
  } finally {
    await s.close();
  }
});

test('crm.duplicate.findbycomm: IDs by type, extension ignored, max 20 values, empty result is [], and a GET with a JSON body loses its parameters', async () => {
  const contacts = Array.from({ length: 21 }, (_, i) => ({ ID: 100 + i, PHONE: ['5550000'], ASSIGNED_BY_ID: 1 }));
  const s = await startLocalBitrix24({
    users: [{ ID: 1 }],
    contacts: [{ ID: 10, PHONE: ['+7 916 123-45-67'], EMAIL: ['John@Example.com'], ASSIGNED_BY_ID: 1 }, ...contacts],
    companies: [{ ID: 20, PHONE: ['79161234567'], ASSIGNED_BY_ID: 1 }, { ID: 21, PHONE: ['5550000'], ASSIGNED_BY_ID: 1 }],
    leads: [{ ID: 30, PHONE: ['79161234567 ext 12'], ASSIGNED_BY_ID: 1 }],
  });
  try {
    assert.deepEqual(await ok(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['79161234567'] }), { LEAD: [30], CONTACT: [10], COMPANY: [20] });
    assert.deepEqual(await ok(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['79161234567'], entity_type: 'CONTACT' }), { CONTACT: [10] });
    assert.deepEqual(await ok(s, 'crm.duplicate.findbycomm', { type: 'EMAIL', values: ['john@example.com'] }), { CONTACT: [10] });
    assert.deepEqual(await ok(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['000'] }), []);
    const many = await ok<Record<string, number[]>>(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['5550000'] });
    assert.deepEqual(Object.keys(many), ['CONTACT'], '20 or more of one type: the other types are not returned');
    assert.equal(many['CONTACT']!.length, 20);
    const tooMany = await rest(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: Array.from({ length: 21 }, (_, i) => String(i)) });
    assert.equal(tooMany.status, 400);
    const noType = await rest(s, 'crm.duplicate.findbycomm', { values: ['1'] });
    assert.deepEqual(noType.json, { error: '', error_description: 'Communication type is not defined.' });
    assert.equal((await rest(s, 'crm.duplicate.findbycomm', { type: 'PHONE' })).json!['error_description'], 'Communication values is not defined.');
    // b24-rest-docs #223: GET with a JSON body → the body is not read.
    const r = await fetch(`${s.webhookUrl}crm.duplicate.findbycomm`, { method: 'GET', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(await r.json(), { error: '', error_description: 'Communication type is not defined.' });
  } finally {
    await s.close();
  }
});

test('tasks.task.add takes TITLE, RESPONSIBLE_ID, DEADLINE, DESCRIPTION, TAGS, UF_CRM_TASK; tasks.task.list finds it by ID, RESPONSIBLE_ID, TAG, TITLE', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1, NAME: 'Alice' }, { ID: 2, NAME: 'Bob' }], timeZone: 'Europe/Moscow' });
  try {
    const added = await ok<{ task: Row }>(s, 'tasks.task.add', {
      fields: { TITLE: 'Call back 79161234567', RESPONSIBLE_ID: 2, DEADLINE: '2026-03-07T12:00:00+03:00', DESCRIPTION: 'Missed call', TAGS: ['callhook', 'missed-abc123'], UF_CRM_TASK: ['C_10'] },
    });
    assert.deepEqual([added.task['title'], added.task['responsibleId'], added.task['deadline'], added.task['ufCrmTask']], ['Call back 79161234567', '2', '2026-03-07T12:00:00+03:00', ['C_10']]);
    await ok(s, 'tasks.task.add', { fields: { TITLE: 'Other', RESPONSIBLE_ID: 1, TAGS: 'callhook, missed-zzz' } });
    const list = async (filter: Row, select?: string[]) => (await ok<{ tasks: Row[] }>(s, 'tasks.task.list', { filter, ...(select ? { select } : {}) })).tasks.map((t) => t['title']);
    assert.deepEqual(await list({ TAG: 'missed-abc123' }), ['Call back 79161234567']);
    assert.deepEqual(await list({ TAG: 'callhook' }), ['Call back 79161234567', 'Other']);
    assert.deepEqual(await list({ RESPONSIBLE_ID: 1 }), ['Other']);
    assert.deepEqual(await list({ ID: added.task['id'] as string }), ['Call back 79161234567']);
    assert.deepEqual(await list({ TITLE: 'Call back%' }), ['Call back 79161234567']);
    assert.deepEqual(await list({ '!TAG': 'missed-zzz' }), ['Call back 79161234567']);
    const withTags = (await ok<{ tasks: Row[] }>(s, 'tasks.task.list', { filter: { TAG: 'missed-abc123' }, select: ['ID', 'TITLE', 'TAGS'] })).tasks[0]!;
    assert.deepEqual(Object.values(withTags['tags'] as Record<string, { title: string }>).map((t) => t.title), ['callhook', 'missed-abc123']);

    const errors: [Row, string, string][] = [
      [{}, '100', 'Could not find value for parameter {fields} (internal error)'],
      [{ fields: { RESPONSIBLE_ID: 1 } }, 'ERROR_CORE', 'Task title not specified<br>'],
      [{ fields: { TITLE: 'x' } }, 'ERROR_CORE', 'Assignee not specified<br>'],
      [{ fields: { TITLE: 'x', RESPONSIBLE_ID: 9 } }, 'ERROR_CORE', 'User specified in the "Assignee" field not found<br>'],
    ];
    for (const [params, code, description] of errors) {
      const a = await rest(s, 'tasks.task.add', params);
      assert.equal(a.status, 400);
      assert.deepEqual(a.json, { error: code, error_description: description });
    }
    assert.equal(s.state.tasks.size, 2);
  } finally {
    await s.close();
  }
});

test('batch: a cmd map of "method?query", $result[key][FIELD] references, result_error for a failed command, halt, ≤ 50 commands, no nesting', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1, UF_PHONE_INNER: '200' }, { ID: 2, UF_PHONE_INNER: '201' }] });
  try {
    const a = await ok<Row>(s, 'batch', {
      halt: 0,
      cmd: {
        reg: 'telephony.externalcall.register?USER_ID=1&PHONE_NUMBER=5551234&TYPE=2&EXTERNAL_CALL_ID=b-1',
        fin: 'telephony.externalcall.finish?CALL_ID=$result[reg][CALL_ID]&USER_ID=$result[user][0][ID]&DURATION=7',
        bad: 'telephony.externalcall.finish?CALL_ID=nope&USER_ID=1',
        users: 'user.get?FILTER[UF_PHONE_INNER]=201',
        nested: 'batch?cmd[x]=user.get',
      },
    });
    const result = a['result'] as Record<string, unknown>;
    const errors = a['result_error'] as Record<string, Row>;
    // A reference to a key with no result (here: a typo, `user`) is empty: that finish has no USER_ID and fails.
    assert.deepEqual(Object.keys(result).sort(), ['reg', 'users']);
    assert.deepEqual(errors['fin'], { error: 'ERROR_CORE', error_description: 'USER_ID or USER_PHONE_INNER should be set' });
    assert.deepEqual(errors['bad'], { error: '', error_description: 'Call is not found (call should be registered prior to finishing' });
    assert.equal(errors['nested']!['error'], 'ERROR_BATCH_METHOD_NOT_ALLOWED');
    assert.deepEqual(a['result_total'], { users: 1 });

    const chained = await ok<Row>(s, 'batch', {
      cmd: {
        reg: 'telephony.externalcall.register?USER_ID=1&PHONE_NUMBER=5559999&TYPE=2&EXTERNAL_CALL_ID=b-2',
        fin: 'telephony.externalcall.finish?CALL_ID=$result[reg][CALL_ID]&USER_ID=1&DURATION=7',
      },
    });
    assert.deepEqual(chained['result_error'], [], 'no errors: PHP prints an empty array');
    const row = (chained['result'] as Record<string, Row>)['fin']!;
    assert.equal(row['CALL_DURATION'], 7);
    assert.equal(s.state.calls.get(row['CALL_ID'] as string)!.EXTERNAL_CALL_ID, 'b-2');

    const halted = await ok<Row>(s, 'batch', { halt: 1, cmd: ['crm.contact.get?id=1', 'user.get'] });
    assert.deepEqual([Object.keys(halted['result_error'] as Row), halted['result']], [['0'], []]);

    const long = await rest(s, 'batch', { cmd: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`c${i}`, 'user.get'])) });
    assert.equal(long.status, 400);
    assert.equal(long.json!['error'], 'ERROR_BATCH_LENGTH_EXCEEDED');
    const inner = s.received.filter((r) => r.via === 'batch').map((r) => r.method);
    assert.ok(inner.includes('telephony.externalcall.register') && inner.includes('user.get'), 'inner commands are recorded');
  } finally {
    await s.close();
  }
});
