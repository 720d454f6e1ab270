// Every class of answer, produced by the local portal over real HTTP, classified by the client as
// core/crm/types.ts says: ok / rejected / transient (badAnswer, maybeDelivered, retryAfterMs) / stopped.
// maybeDelivered is true exactly when the request may have run: execute-then-drop, a timeout after the
// body was sent, a 5xx, a bad answer; false for 503/429 refusals and a refused connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createBitrix24Client, type Bitrix24Client } from '../../core/crm/bitrix24/index.js';
import { classifyHttpAnswer } from '../../core/crm/bitrix24/classify.js';
import { ANSWER_SNIPPET_BYTES, type CrmOutcome } from '../../core/crm/types.js';
import { startLocalBitrix24, NOT_FINISHED, NOT_REGISTERED, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { bitrixSettings, bufferLogger } from './kit.js';

const { logger } = bufferLogger('silent');
const REG = 'telephony.externalcall.register';
const reg = (n: number) => ({ USER_ID: 1, PHONE_NUMBER: `555${n}`, TYPE: 2, EXTERNAL_CALL_ID: `c-${n}` });

async function withClient(fn: (s: LocalBitrix24, c: Bitrix24Client) => Promise<void>, patch = {}): Promise<void> {
  const s = await startLocalBitrix24({ users: [{ ID: 1, UF_PHONE_INNER: '200' }], limits: { enabled: false } });
  const c = createBitrix24Client(await bitrixSettings(s, 'webhook', { request_timeout_ms: 400, ...patch }), { logger });
  try {
    await fn(s, c);
  } finally {
    await c.close();
    await s.close();
  }
}

function expectTransient(o: CrmOutcome, want: { code?: string | RegExp; badAnswer: boolean; maybeDelivered: boolean }): asserts o is Extract<CrmOutcome, { kind: 'transient' }> {
  assert.equal(o.kind, 'transient', JSON.stringify(o));
  if (o.kind !== 'transient') return;
  if (typeof want.code === 'string') assert.equal(o.code, want.code);
  else if (want.code !== undefined) assert.match(o.code, want.code);
  assert.equal(o.badAnswer, want.badAnswer, `badAnswer ${JSON.stringify(o)}`);
  assert.equal(o.maybeDelivered, want.maybeDelivered, `maybeDelivered ${JSON.stringify(o)}`);
}

test('ok and rejected: ERROR_CORE and the EMPTY-code "Call is not found" are rejected with their description', () =>
  withClient(async (s, c) => {
    const ok = await c.call(REG, reg(1));
    assert.equal(ok.kind, 'ok');
    const callId = ok.kind === 'ok' ? (ok.result as { CALL_ID: string }).CALL_ID : '';
    const bad = await c.call(REG, { USER_ID: 1, PHONE_NUMBER: 'x', TYPE: 2 });
    assert.deepEqual(bad.kind === 'rejected' && [bad.status, bad.code, bad.description], [400, 'ERROR_CORE', 'Unsupported phone number format']);
    const early = await c.call('telephony.externalcall.attachRecord', { CALL_ID: callId, FILENAME: 'a.mp3', FILE_CONTENT: 'AAAA' });
    assert.deepEqual(early.kind === 'rejected' && [early.code, early.description], ['', NOT_FINISHED]);
    assert.equal((await c.call('telephony.externalcall.finish', { CALL_ID: callId, USER_ID: 1, DURATION: 1 })).kind, 'ok');
    const twice = await c.call('telephony.externalcall.finish', { CALL_ID: callId, USER_ID: 1, DURATION: 1 });
    assert.deepEqual(twice.kind === 'rejected' && [twice.code, twice.description], ['', NOT_REGISTERED]);
    const unknown = await c.call('crm.nothing.here', {});
    assert.deepEqual(unknown.kind === 'rejected' && unknown.code, 'ERROR_METHOD_NOT_FOUND');
    assert.equal(c.status().state, 'ok', 'a rejection is not a portal problem');
    assert.equal((await c.call('../../etc', {})).kind, 'rejected', 'a method name that is not one is refused locally');
    assert.equal(s.received.filter((r) => r.method.includes('etc')).length, 0);
  }));

test('503 QUERY_LIMIT_EXCEEDED and 429 OPERATION_TIME_LIMIT: transient, not delivered, with a retryAfterMs', () =>
  withClient(async (s, c) => {
    s.faults.set({ kind: 'status', method: REG, status: 503, error: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests', times: 1 });
    const limited = await c.call(REG, reg(1));
    expectTransient(limited, { code: 'QUERY_LIMIT_EXCEEDED', badAnswer: false, maybeDelivered: false });
    assert.ok((limited.retryAfterMs ?? 0) > 0);
    s.faults.set({ kind: 'status', method: REG, status: 429, error: 'OPERATION_TIME_LIMIT', description: 'Method is blocked due to operation time limit.', times: 1 });
    const blocked = await c.call(REG, reg(2));
    expectTransient(blocked, { code: 'OPERATION_TIME_LIMIT', badAnswer: false, maybeDelivered: false });
    assert.ok((blocked.retryAfterMs ?? 0) >= 1000);
    assert.equal(c.status().state, 'failing');
    assert.equal(c.status().lastError?.code, 'OPERATION_TIME_LIMIT');
    assert.equal((await c.call(REG, reg(3))).kind, 'ok');
    assert.deepEqual([c.status().state, c.status().lastError], ['ok', null]);
  }));

test('5xx with a documented code: transient, maybe delivered, not a bad answer; an unknown code is a bad answer', () =>
  withClient(async (s, c) => {
    s.faults.set({ kind: 'status', method: REG, status: 500, times: 1 });
    expectTransient(await c.call(REG, reg(1)), { code: 'INTERNAL_SERVER_ERROR', badAnswer: false, maybeDelivered: true });
    s.faults.set({ kind: 'status', method: REG, status: 400, error: 'SOMETHING_NEW', description: 'never documented', times: 1 });
    const odd = await c.call(REG, reg(2));
    expectTransient(odd, { code: 'SOMETHING_NEW', badAnswer: true, maybeDelivered: true });
    assert.equal(odd.snippet, '{"error":"SOMETHING_NEW","error_description":"never documented"}');
  }));

test('an HTML page, truncated JSON and a 200 with an error inside are transient bad answers with their first bytes', () =>
  withClient(async (s, c) => {
    s.faults.set({ kind: 'html', method: REG, times: 1 });
    const html = await c.call(REG, reg(1));
    expectTransient(html, { code: 'HTTP_502', badAnswer: true, maybeDelivered: true });
    assert.ok(html.snippet.startsWith('<html>') && html.snippet.length <= ANSWER_SNIPPET_BYTES);
    assert.equal(html.status, 502);
    s.faults.set({ kind: 'truncated', method: REG, times: 1 });
    const cut = await c.call(REG, reg(2));
    expectTransient(cut, { code: 'HTTP_200', badAnswer: true, maybeDelivered: true });
    assert.match(cut.description, /truncated or malformed/);
    assert.ok(cut.snippet.startsWith('{"result":{"CALL_ID":"externalCall.'));
    assert.equal(s.state.calls.size, 1, 'the truncated one did run: maybeDelivered is right');
    s.faults.set({ kind: 'error-in-200', method: REG, error: 'ERROR_CORE', description: 'odd', times: 1 });
    expectTransient(await c.call(REG, reg(3)), { code: 'ERROR_CORE', badAnswer: true, maybeDelivered: true });
  }));

test('execute-then-drop and a reset: maybe delivered; a stall ends in TIMEOUT, maybe delivered (the body was sent)', () =>
  withClient(async (s, c) => {
    s.faults.set({ kind: 'execute-then-drop', method: REG, times: 1 });
    const lost = await c.call(REG, reg(1));
    expectTransient(lost, { code: 'ECONNRESET', badAnswer: false, maybeDelivered: true });
    assert.equal(lost.status, null);
    assert.equal(s.state.calls.size, 1, 'it did run');
    s.faults.set({ kind: 'drop', method: REG, times: 1 });
    expectTransient(await c.call(REG, reg(2)), { code: 'ECONNRESET', badAnswer: false, maybeDelivered: true });
    s.faults.set({ kind: 'stall', method: REG, times: 1 });
    const t0 = performance.now();
    const stalled = await c.call(REG, reg(3));
    expectTransient(stalled, { code: 'TIMEOUT', badAnswer: false, maybeDelivered: true });
    assert.ok(performance.now() - t0 >= 380, 'after request_timeout_ms');
    assert.match(stalled.description, /no answer in time \(the request was sent: it may have been executed\)/);
    s.faults.set({ kind: 'slow', method: REG, delayMs: 800, times: 1 });
    expectTransient(await c.call(REG, reg(4)), { code: 'TIMEOUT', badAnswer: false, maybeDelivered: true });
  }));

test('a refused connection (the portal is down): transient, NOT delivered', async () => {
  const s = await startLocalBitrix24({ users: [{ ID: 1 }] });
  const settings = await bitrixSettings(s, 'webhook');
  await s.close();
  // Make sure nothing listens on that port any more.
  await new Promise<void>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve());
    probe.listen(Number(new URL(s.url).port), '127.0.0.1', () => probe.close(() => resolve()));
  });
  const c = createBitrix24Client(settings, { logger });
  try {
    const o = await c.call(REG, reg(1));
    expectTransient(o, { code: 'ECONNREFUSED', badAnswer: false, maybeDelivered: false });
    assert.match(o.description, /could not connect \(the request was not sent\)/);
    assert.equal(c.status().state, 'failing');
  } finally {
    await c.close();
  }
});

test('an already aborted signal answers ABORTED at once, nothing sent', () =>
  withClient(async (s, c) => {
    const ac = new AbortController();
    ac.abort();
    expectTransient(await c.call(REG, reg(1), { signal: ac.signal }), { code: 'ABORTED', badAnswer: false, maybeDelivered: false });
    assert.equal(s.state.calls.size, 0);
  }));

test('the classification table for answers the portal does not produce by itself', () => {
  const redact = (x: string) => x;
  const c = (status: number, body: unknown, mode: 'webhook' | 'oauth' = 'webhook') =>
    classifyHttpAnswer({ status, body: typeof body === 'string' ? body : JSON.stringify(body), durationMs: 1 }, { mode, redact });
  const kindCode = (o: CrmOutcome) => [o.kind, 'code' in o ? o.code : null];
  for (const code of ['NO_AUTH_FOUND', 'insufficient_scope', 'WRONG_AUTH_TYPE', 'ACCESS_DENIED', 'PORTAL_DELETED', 'INVALID_CREDENTIALS', 'user_access_error', 'OVERLOAD_LIMIT']) {
    assert.deepEqual(kindCode(c(401, { error: code, error_description: 'x' })), ['stopped', code]);
  }
  assert.deepEqual(kindCode(c(401, { error: 'expired_token' })), ['stopped', 'expired_token'], 'webhook: nothing to refresh');
  assert.deepEqual(kindCode(c(401, { error: 'expired_token' }, 'oauth')), ['transient', 'expired_token'], 'OAuth: refreshed by the client');
  assert.deepEqual(kindCode(c(400, { error: 'ERROR_CORE', error_description: 'Unexpected database error' })), ['transient', 'ERROR_CORE'], 'finish failed after it started');
  assert.deepEqual(kindCode(c(500, { error: 'ERROR_CORE', error_description: 'x' })), ['transient', 'ERROR_CORE']);
  assert.deepEqual(kindCode(c(400, { error: '0', error_description: 'Invalid sorting key (internal error)' })), ['rejected', '0']);
  assert.deepEqual(kindCode(c(200, { result: false })), ['ok', null]);
  assert.deepEqual(kindCode(c(200, { time: {} })), ['transient', 'HTTP_200']);
  assert.deepEqual(kindCode(c(200, [1, 2])), ['transient', 'HTTP_200']);
  assert.deepEqual(kindCode(c(302, '')), ['transient', 'HTTP_302']);
  assert.deepEqual(kindCode(c(404, { result: 1 })), ['transient', 'HTTP_404']);
  const long = c(502, `<html>${'x'.repeat(2000)}</html>`);
  assert.equal(long.snippet.length, ANSWER_SNIPPET_BYTES);
});
