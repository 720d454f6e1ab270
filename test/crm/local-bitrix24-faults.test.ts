// Every fault switch of the local portal, over real HTTP: what the client sees and whether the method ran
// (the difference the outbox must reconcile: "request reached the CRM, answer lost").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLocalBitrix24, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { rest, token } from './kit.js';

const users = [{ ID: 1, UF_PHONE_INNER: '200' }];
const REG = 'telephony.externalcall.register';
const params = (n: number) => ({ USER_ID: 1, PHONE_NUMBER: `555${n}`, TYPE: 2, EXTERNAL_CALL_ID: `f-${n}` });

async function withServer(fn: (s: LocalBitrix24) => Promise<void>): Promise<void> {
  const s = await startLocalBitrix24({ users });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const calls = (s: LocalBitrix24) => [...s.state.calls.values()].map((c) => c.EXTERNAL_CALL_ID);

test('status: the given HTTP status and error body, the method not run; `times` limits it to the next N requests', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'status', method: REG, status: 503, error: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests', times: 2 });
    for (const n of [1, 2]) {
      const a = await rest(s, 'telephony.externalCall.register', params(n));
      assert.equal(a.status, 503);
      assert.deepEqual(a.json, { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' });
    }
    assert.equal((await rest(s, REG, params(3))).status, 200, 'the rule is used up');
    assert.deepEqual(calls(s), ['f-3']);
    assert.deepEqual(s.faults.list(), []);
    s.faults.set({ kind: 'status' });
    const dflt = await rest(s, 'user.get', {});
    assert.deepEqual([dflt.status, dflt.json], [500, { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' }]);
    s.faults.set({ kind: 'status', status: 500, execute: true });
    assert.equal((await rest(s, REG, params(4))).status, 500);
    assert.deepEqual(calls(s), ['f-3', 'f-4'], 'execute: true runs it before the error answer');
  }));

test('a rule for one method leaves the others alone; "*" (or no method) matches every REST method', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'status', method: 'user.get', status: 502 });
    assert.equal((await rest(s, 'user.get', {})).status, 502);
    assert.equal((await rest(s, REG, params(1))).status, 200);
    s.faults.set({ kind: 'status', method: '*', status: 500 });
    assert.equal((await rest(s, REG, params(2))).status, 500);
    assert.equal((await token(s)).status, 200, 'the token endpoint only by its own name');
    s.faults.set({ kind: 'status', method: 'oauth/token', status: 500 });
    assert.equal((await token(s)).status, 500);
    s.faults.clear();
    assert.equal((await rest(s, REG, params(3))).status, 200);
  }));

test('stall: no answer ever (the client gives up), the method not run; with execute: true it ran', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'stall', method: REG, times: 1 });
    await assert.rejects(rest(s, REG, params(1), { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    assert.deepEqual(calls(s), []);
    s.faults.set({ kind: 'stall', method: REG, times: 1, execute: true });
    await assert.rejects(rest(s, REG, params(2), { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
    assert.deepEqual(calls(s), ['f-2']);
    const stalled = s.received.filter((r) => r.fault === 'stall');
    assert.deepEqual(stalled.map((r) => r.status), [null, null]);
  }));

test('drop: the connection is destroyed before the method runs; execute-then-drop: it ran, then the answer was lost', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'drop', method: REG, times: 1 });
    await assert.rejects(rest(s, REG, params(1)), /fetch failed|socket|other side closed/i);
    assert.deepEqual(calls(s), []);
    s.faults.set({ kind: 'execute-then-drop', method: REG, times: 1 });
    await assert.rejects(rest(s, REG, params(2)), /fetch failed|socket|other side closed/i);
    assert.deepEqual(calls(s), ['f-2'], 'registered although the client got no answer');
    // Asking again finds it: the same EXTERNAL_CALL_ID within 30 minutes returns the existing CALL_ID.
    const again = await rest(s, REG, params(2));
    assert.equal((again.json!['result'] as { CALL_ID: string }).CALL_ID, [...s.state.calls.keys()][0]);
    const entry = s.received.find((r) => r.fault === 'execute-then-drop')!;
    assert.equal(entry.status, null);
    assert.ok(entry.result, 'the result the client never saw is recorded');
  }));

test('slow: answered normally after delayMs', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'slow', method: 'user.get', delayMs: 400 });
    const t0 = performance.now();
    const a = await rest(s, 'user.get', {});
    const took = performance.now() - t0;
    assert.equal(a.status, 200);
    assert.ok(took >= 380, `took ${took.toFixed(0)} ms`);
  }));

test('html: a proxy\'s HTML error page (502 by default, text/html), the method not run', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'html', method: REG });
    const a = await rest(s, REG, params(1));
    assert.equal(a.status, 502);
    assert.match(a.contentType, /text\/html/);
    assert.match(a.text, /^<html>/);
    assert.equal(a.json, null);
    assert.deepEqual(calls(s), []);
  }));

test('truncated: the method ran and its JSON arrives cut in half as a complete HTTP answer', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'truncated', method: REG });
    const a = await rest(s, REG, params(1));
    assert.equal(a.status, 200);
    assert.equal(a.json, null);
    assert.ok(a.text.startsWith('{"result":{"CALL_ID":"externalCall.'), a.text);
    assert.throws(() => JSON.parse(a.text));
    assert.deepEqual(calls(s), ['f-1']);
  }));

test('error-in-200: HTTP 200 with an error body', () =>
  withServer(async (s) => {
    s.faults.set({ kind: 'error-in-200', method: REG, error: 'ERROR_CORE', description: 'Something odd' });
    const a = await rest(s, REG, params(1));
    assert.deepEqual([a.status, a.json], [200, { error: 'ERROR_CORE', error_description: 'Something odd' }]);
    assert.deepEqual(calls(s), []);
  }));

test('the demo summary says per call what the CRM received', () =>
  withServer(async (s) => {
    const a = await rest(s, REG, { ...params(1), CRM_CREATE: 1, LINE_NUMBER: '74950000000' });
    const id = (a.json!['result'] as { CALL_ID: string }).CALL_ID;
    await rest(s, 'telephony.externalcall.show', { CALL_ID: id, USER_ID: [1] });
    await rest(s, 'telephony.externalcall.finish', { CALL_ID: id, USER_ID: 1, DURATION: 0, STATUS_CODE: '304' });
    await rest(s, REG, params(2));
    assert.deepEqual(s.formatSummary().split('\n'), [
      `f-1: registered on user 1, incoming 5551 via line 74950000000; LEAD ${s.state.createdLeads[0]} (created); card shown to 1; finished 304 by user 1, 0 s; no record`,
      'f-2: registered on user 1, incoming 5552; no CRM entity; card shown to 1; NOT finished; no record',
    ]);
  }));
