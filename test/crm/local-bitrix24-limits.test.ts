// The local portal's two limits with real timing (measured loosely: the machine is shared): the leaky
// bucket (503 QUERY_LIMIT_EXCEEDED above the burst, recovery at the drain rate, a batch counts once) and the
// per-method operating budget (429 OPERATION_TIME_LIMIT, other methods unaffected, released with the window).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { rest, sleep } from './kit.js';

const users = [{ ID: 1, UF_PHONE_INNER: '200' }];

test('above the burst the portal answers 503 QUERY_LIMIT_EXCEEDED; it drains at requestsPerSecond; refused requests do not count', async () => {
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: 5, burst: 10 } });
  try {
    const burst = await Promise.all(Array.from({ length: 14 }, () => rest(s, 'user.get', {})));
    const statuses = burst.map((a) => a.status);
    assert.equal(statuses.filter((x) => x === 200).length, 10, statuses.join(','));
    const refused = burst.filter((a) => a.status === 503);
    assert.equal(refused.length, 4);
    assert.deepEqual(refused[0]!.json, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    // After ~1 s about 5 slots have drained (loosely: between 3 and 8 on a busy machine).
    await sleep(1000);
    const after = await Promise.all(Array.from({ length: 10 }, () => rest(s, 'user.get', {})));
    const passed = after.filter((a) => a.status === 200).length;
    assert.ok(passed >= 3 && passed <= 8, `passed after 1 s: ${passed}`);
    assert.ok(s.queryLimitLevel() <= 10);
  } finally {
    await s.close();
  }
});

test('a client that keeps to the drain rate never sees a 503 (12 requests at ≤ 4/s against 5/s, burst 2)', async () => {
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: 5, burst: 2 } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await rest(s, 'user.get', {})).status);
      await sleep(250);
    }
    assert.deepEqual([...new Set(statuses)], [200]);
  } finally {
    await s.close();
  }
});

test('a batch is one request for the bucket, however many commands it carries', async () => {
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: 1, burst: 3 } });
  try {
    const cmd = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`u${i}`, 'user.get']));
    for (let i = 0; i < 3; i++) assert.equal((await rest(s, 'batch', { cmd })).status, 200);
    assert.equal((await rest(s, 'user.get', {})).status, 503);
  } finally {
    await s.close();
  }
});

test('every answer reports time.operating / operating_reset_at; over the budget a method answers 429 OPERATION_TIME_LIMIT, others still work, and the window releases it', async () => {
  const s = await startLocalBitrix24({ users, operating: { enabled: true, budgetSeconds: 1, windowMs: 1500, costSeconds: { 'user.get': 0.4, default: 0.01 } } });
  try {
    const first = await rest(s, 'user.get', {});
    const time = first.json!['time'] as Record<string, number>;
    for (const key of ['start', 'finish', 'duration', 'processing', 'date_start', 'date_finish', 'operating_reset_at', 'operating']) assert.ok(key in time, key);
    assert.ok(Math.abs(time['operating']! - 0.4) < 1e-9);
    assert.ok(time['operating_reset_at']! >= Math.floor(Date.now() / 1000));
    assert.equal((await rest(s, 'user.get', {})).status, 200);
    assert.equal((await rest(s, 'user.get', {})).status, 200); // 1.2 s used now
    const blocked = await rest(s, 'user.get', {});
    assert.equal(blocked.status, 429);
    assert.deepEqual(blocked.json, { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked due to operation time limit.' });
    assert.equal((await rest(s, 'crm.duplicate.findbycomm', { type: 'PHONE', values: ['1'] })).status, 200, 'the budget is per method');
    // Inside a batch the inner user.get is refused too (inner calls count for the budget), the batch itself is not.
    const batch = await rest(s, 'batch', { cmd: { a: 'user.get' } });
    assert.equal(batch.status, 200);
    assert.equal(((batch.json!['result'] as Record<string, Record<string, Record<string, string>>>)['result_error']!)['a']!['error'], 'OPERATION_TIME_LIMIT');
    await sleep(1700);
    assert.equal((await rest(s, 'user.get', {})).status, 200, 'released when the window moved on');
  } finally {
    await s.close();
  }
});

test('limits can be switched off (the demo keeps them on: 2 req/s, burst 50)', async () => {
  const s = await startLocalBitrix24({ users, limits: { enabled: false, burst: 1 } });
  try {
    const all = await Promise.all(Array.from({ length: 5 }, () => rest(s, 'user.get', {})));
    assert.deepEqual([...new Set(all.map((a) => a.status))], [200]);
  } finally {
    await s.close();
  }
});
