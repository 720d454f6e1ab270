// The employee directory over the real client and the local portal: every page of user.get, all four
// phone fields indexed by digits, the call_full User shape, refresh on a miss (at most once per window),
// a failed refresh keeping the previous directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBitrix24Client, createUserDirectory } from '../../core/crm/bitrix24/index.js';
import { startLocalBitrix24, type SeedUser } from '../../core/demo-crm/bitrix24/index.js';
import { bitrixSettings, bufferLogger, sleep } from './kit.js';

const { logger } = bufferLogger('silent');
const userGets = (s: { received: { method: string }[] }) => s.received.filter((r) => r.method === 'user.get').length;

function seed(): SeedUser[] {
  const users: SeedUser[] = Array.from({ length: 118 }, (_, i) => ({ ID: i + 10, NAME: `N${i}`, UF_PHONE_INNER: String(1000 + i) }));
  users.push(
    { ID: 1, NAME: 'Alice', LAST_NAME: 'Adams', EMAIL: 'alice@example.com', WORK_POSITION: 'Sales', UF_PHONE_INNER: '201', PERSONAL_MOBILE: '+7 (916) 000-00-01', WORK_PHONE: '8 495 111-22-33', PERSONAL_PHONE: '5550001' },
    { ID: 2, NAME: 'Bob', UF_PHONE_INNER: '5550001' }, // the same digits as Alice's PERSONAL_PHONE: the extension wins
    { ID: 3, NAME: 'Gone', UF_PHONE_INNER: '209', ACTIVE: false },
    { ID: 4, NAME: 'Guest', UF_PHONE_INNER: '210', USER_TYPE: 'extranet' },
  );
  return users;
}

test('loads every active employee through paged user.get and finds them by any of the four phone fields, by digits', async () => {
  const s = await startLocalBitrix24({ users: seed(), limits: { enabled: false } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook'), { logger });
  const dir = createUserDirectory(client, { refreshMs: 60_000, logger, missRefreshMs: 60_000 });
  try {
    await dir.ready();
    assert.equal(dir.status().users, 120, '118 + Alice + Bob; inactive and extranet users excluded');
    assert.equal(userGets(s), 3, 'pages of 50: 50 + 50 + 20');
    const gets = s.received.filter((r) => r.method === 'user.get');
    assert.deepEqual(gets.map((r) => r.params['start']), [0, 50, 100]);
    assert.deepEqual(gets[0]!.params['FILTER'], { ACTIVE: true, USER_TYPE: 'employee' });

    const alice = await dir.findByNumber(['201']);
    assert.deepEqual(alice, {
      email: 'alice@example.com', id: '1', name: 'Alice Adams', phones: ['201', '+7 (916) 000-00-01', '8 495 111-22-33', '5550001'], position: 'Sales',
      raw: { ID: '1', NAME: 'Alice', LAST_NAME: 'Adams', EMAIL: 'alice@example.com', WORK_POSITION: 'Sales', UF_PHONE_INNER: '201', PERSONAL_MOBILE: '+7 (916) 000-00-01', WORK_PHONE: '8 495 111-22-33', PERSONAL_PHONE: '5550001' },
    });
    assert.equal((await dir.findByNumber(['79160000001']))?.id, '1', 'PERSONAL_MOBILE by digits');
    assert.equal((await dir.findByNumber(['84951112233']))?.id, '1', 'WORK_PHONE by digits');
    assert.equal((await dir.findByNumber(['5550001']))?.id, '2', 'an extension wins over a personal phone');
    assert.equal((await dir.findByNumber(['nope', '', '+1117']))?.id, '127', 'the first variant that matches');
    assert.deepEqual((await dir.findByNumber(['1117']))?.raw, { ID: '127', NAME: 'N117', UF_PHONE_INNER: '1117' }, 'raw: the selected fields, non-empty ones only');
    assert.equal((await dir.byId(2))?.name, 'Bob');
    assert.equal(await dir.findByNumber(['209']), null, 'inactive');
    assert.equal(await dir.findByNumber(['210']), null, 'extranet');
    assert.equal(userGets(s), 3, 'the misses did not reload (window not elapsed since the load)');
  } finally {
    dir.close();
    await client.close();
    await s.close();
  }
});

test('a miss reloads the directory at most once per missRefreshMs (a new employee is found without waiting for refreshMs)', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1, UF_PHONE_INNER: '201' }], limits: { enabled: false } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook'), { logger });
  const dir = createUserDirectory(client, { refreshMs: 600_000, logger, missRefreshMs: 300 });
  try {
    await dir.ready();
    s.state.users.set(2, { ID: 2, NAME: 'New', UF_PHONE_INNER: '202' });
    assert.equal(await dir.findByNumber(['202']), null, 'within the window after the load: no reload');
    await sleep(350);
    const [a, b] = await Promise.all([dir.findByNumber(['202']), dir.findByNumber(['299'])]);
    assert.equal(a?.name, 'New');
    assert.equal(b, null);
    assert.equal(userGets(s), 2, 'two misses at once share one reload');
    assert.equal(await dir.findByNumber(['299']), null);
    assert.equal(userGets(s), 2);
  } finally {
    dir.close();
    await client.close();
    await s.close();
  }
});

test('refreshes every refreshMs; a failed refresh keeps the previous directory and reports it in status()', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1, UF_PHONE_INNER: '201' }], limits: { enabled: false } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook'), { logger });
  const dir = createUserDirectory(client, { refreshMs: 200, logger, missRefreshMs: 60_000 });
  try {
    await dir.ready();
    assert.equal(dir.status().lastError, null);
    s.faults.set({ kind: 'html', method: 'user.get' });
    await sleep(500);
    const status = dir.status();
    assert.equal(status.users, 1);
    assert.equal(status.lastError?.code, 'HTTP_502');
    assert.equal((await dir.findByNumber(['201']))?.id, '1', 'the previous directory is still used');
    s.faults.clear();
    s.state.users.set(2, { ID: 2, UF_PHONE_INNER: '202' });
    await sleep(500);
    assert.deepEqual([dir.status().users, dir.status().lastError], [2, null]);
    assert.ok(userGets(s) >= 4);
  } finally {
    dir.close();
    await client.close();
    await s.close();
  }
  const after = userGets(s);
  await sleep(300);
  assert.equal(userGets(s), after, 'close() stops the refresh timer');
});
