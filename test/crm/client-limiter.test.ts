// The client's per-portal token bucket against the local portal's leaky bucket, with real timing
// (asserted loosely: the machine is shared): waiting requests go smallest priority first, the sustained
// rate reaches the limit without a single 503, a 503 makes the client pause instead of hammering, and
// status().queued / close() behave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capacityFor, createBitrix24Client } from '../../core/crm/bitrix24/index.js';
import { startLocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { bitrixSettings, bufferLogger, sleep } from './kit.js';

const { logger } = bufferLogger('silent');
const users = [{ ID: 1 }];

test('the local capacity stays a margin below the portal burst (at least one request)', () => {
  assert.deepEqual([1, 2, 5, 10, 50, 250].map(capacityFor), [1, 1, 4, 8, 40, 200]);
});

test('waiting requests are sent smallest priority first (the oldest call drains first), equal ones in arrival order; status().queued counts them', async () => {
  const s = await startLocalBitrix24({ users, limits: { enabled: false } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { requests_per_second: 20, burst: 1 }), { logger });
  try {
    const priorities = [50, 10, 40, 10, 30, 20, 5, 45, 15, 25];
    const first = client.call('user.get', { FILTER: { ID: -1 } }, { priority: 1000 }); // takes the only token
    const rest = priorities.map((p, i) => client.call('user.get', { FILTER: { ID: p * 100 + i } }, { priority: p }));
    assert.equal(client.status().queued, priorities.length);
    await Promise.all([first, ...rest]);
    assert.equal(client.status().queued, 0);
    const order = s.received.map((r) => Number((r.params['FILTER'] as { ID: number }).ID)).slice(1);
    const expected = priorities.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i).map(({ p, i }) => p * 100 + i);
    assert.deepEqual(order, expected);
  } finally {
    await client.close();
    await s.close();
  }
});

test('60 requests at 10 req/s with burst 10: no 503, and after the burst the measured rate is ≥ 95 % of the limit (never above it)', async () => {
  const rate = 10;
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: rate, burst: 10 } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { requests_per_second: rate, burst: 10 }), { logger });
  try {
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => client.call('user.get', { start: i })));
    assert.deepEqual([...new Set(outcomes.map((o) => o.kind))], ['ok'], 'no 503 from the portal');
    assert.equal(s.received.filter((r) => r.status === 503).length, 0);
    const times = s.received.map((r) => r.atMs);
    const burst = capacityFor(10);
    // After the burst the bucket releases one request every 1/rate s: the span of the other requests.
    const afterBurst = times.slice(burst);
    const measured = (afterBurst.length - 1) / ((afterBurst[afterBurst.length - 1]! - afterBurst[0]!) / 1000);
    process.stdout.write(`# sustained rate ${measured.toFixed(2)} req/s against the limit ${rate} (${((measured / rate) * 100).toFixed(1)} %)\n`);
    assert.ok(measured >= 0.95 * rate, `rate ${measured.toFixed(2)}`);
    assert.ok(measured <= rate * 1.1, `rate ${measured.toFixed(2)} above the limit`);
  } finally {
    await client.close();
    await s.close();
  }
});

test('after a 503 the client drains into debt instead of hammering: the portal sees no further 503 and every call is answered once', async () => {
  // The portal's real burst (5) is below what the settings claim (20): the first burst overflows once.
  const s = await startLocalBitrix24({ users, limits: { requestsPerSecond: 10, burst: 5 } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { requests_per_second: 10, burst: 20 }), { logger });
  try {
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => client.call('user.get', { start: i })));
    const limited = outcomes.filter((o) => o.kind === 'transient' && o.code === 'QUERY_LIMIT_EXCEEDED');
    assert.ok(limited.length > 0, 'the overflow was answered 503');
    for (const o of limited) assert.ok(o.kind === 'transient' && (o.retryAfterMs ?? 0) >= 400, JSON.stringify(o));
    assert.equal(s.received.length, 30, 'no request is retried by the client itself');
    const first503 = s.received.findIndex((r) => r.status === 503);
    const firstBurstEnd = capacityFor(20);
    const lateRefusals = s.received.slice(firstBurstEnd).filter((r) => r.status === 503).length;
    assert.ok(first503 < firstBurstEnd);
    assert.equal(lateRefusals, 0, 'after the first burst the client waits its debt out: no more 503');
    const gap = s.received[firstBurstEnd]!.atMs - s.received[firstBurstEnd - 1]!.atMs;
    assert.ok(gap >= 400, `paused ${gap} ms after the 503s`);
  } finally {
    await client.close();
    await s.close();
  }
});

test('a request aborted while queued is never sent; close() answers the queued ones CLIENT_CLOSED and waits for those in flight', async () => {
  const s = await startLocalBitrix24({ users, limits: { enabled: false } });
  const client = createBitrix24Client(await bitrixSettings(s, 'webhook', { requests_per_second: 2, burst: 1 }), { logger });
  try {
    s.faults.set({ kind: 'slow', method: 'user.get', delayMs: 300, times: 1 });
    const inFlight = client.call('user.get', { start: 0 });
    const ac = new AbortController();
    const aborted = client.call('user.get', { start: 1 }, { signal: ac.signal });
    const queued = [client.call('user.get', { start: 2 }), client.call('user.get', { start: 3 })];
    await sleep(20);
    ac.abort();
    const a = await aborted;
    assert.deepEqual([a.kind, a.kind === 'transient' && a.code, a.kind === 'transient' && a.maybeDelivered], ['transient', 'ABORTED', false]);
    assert.equal(client.status().queued, 2);
    await client.close();
    assert.equal((await inFlight).kind, 'ok', 'the request in flight finished');
    for (const o of await Promise.all(queued)) assert.deepEqual([o.kind, o.kind === 'transient' && o.code], ['transient', 'CLIENT_CLOSED']);
    assert.deepEqual(s.received.map((r) => r.params['start']), [0]);
    const after = await client.call('user.get', {});
    assert.equal(after.kind === 'transient' && after.code, 'CLIENT_CLOSED');
  } finally {
    await s.close();
  }
});
