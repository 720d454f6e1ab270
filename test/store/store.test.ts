// The connector store's contract, run against both engines (embedded SQLite and MariaDB): the CEL
// hand-off is one transaction, a call's status never strands an event, outbox records and runs survive
// a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StageEvent } from '../../core/cel/assembler/index.js';
import type { CelRow } from '../../core/cel/row.js';
import type { ActionRecord } from '../../core/store/index.js';
import { ENGINES } from './kit.js';

const call = (linkedid: string, start: string) => ({ channel: { start_time: start, id: linkedid }, conversations: {} });
const stage = (linkedid: string, s: StageEvent['stage'], conv: string, row: number, start: string): StageEvent =>
  ({ linkedid, stage: s, conversationId: conv, atRowId: row, callFull: call(linkedid, start) }) as unknown as StageEvent;
const row = (id: number): CelRow => ({ id, eventtype: 'CHAN_START', linkedid: 'x', uniqueid: 'x' }) as unknown as CelRow;

for (const engine of ENGINES) {
  test(`${engine.name}: the CEL hand-off commits events and the resume point together; reloading gives both back`, async (t) => {
    const opened = await engine.open();
    if ('skip' in opened) return t.skip(opened.skip);
    try {
      const sink = opened.store.ingestSink('pbx-a');
      assert.deepEqual(await sink.load(), { cursor: 0, pendingRows: [] });
      await sink.commit({
        cursor: 17, state: { cursor: 17, pendingRows: [row(15), row(16)] },
        stages: [stage('2.1', 'conversation_requested', '2.2', 12, '2026-01-01 10:00:05'), stage('1.1', 'conversation_requested', '1.2', 14, '2026-01-01 10:00:00')],
        finished: [],
      });
      const again = await opened.reopen();
      assert.deepEqual(await again.ingestSink('pbx-a').load(), { cursor: 17, pendingRows: [row(15), row(16)] });
      assert.deepEqual(await again.ingestSink('pbx-b').load(), { cursor: 0, pendingRows: [] }, 'another PBX has its own resume point');
      assert.deepEqual((await again.runnableCalls('pbx-a', Date.now(), 10)).map((c) => c.linkedid), ['1.1', '2.1'], 'oldest call first');
      const events = await again.pendingEvents('pbx-a', '2.1');
      assert.equal(events.length, 1);
      assert.equal(events[0]?.stage, 'conversation_requested');
      assert.deepEqual(events[0]?.callFull, call('2.1', '2026-01-01 10:00:05'));
      // The same stage committed twice (a batch re-read after a crash) is stored once.
      await sink.commit({ cursor: 18, state: { cursor: 18, pendingRows: [] }, stages: [stage('2.1', 'conversation_requested', '2.2', 12, '2026-01-01 10:00:05')], finished: [] });
      assert.equal((await again.events('pbx-a', '2.1')).length, 1);
    } finally {
      await opened.dispose();
    }
  });

  test(`${engine.name}: marking a call done never strands an event that arrived meanwhile`, async (t) => {
    const opened = await engine.open();
    if ('skip' in opened) return t.skip(opened.skip);
    try {
      const { store } = opened;
      const sink = store.ingestSink('p');
      await sink.commit({ cursor: 1, state: { cursor: 1, pendingRows: [] }, stages: [stage('9.1', 'conversation_requested', '9.2', 1, '2026-01-01 10:00:00')], finished: [] });
      const [first] = await store.pendingEvents('p', '9.1');
      assert.ok(first);
      // A second stage arrives before the pipeline writes "done" for the first.
      await sink.commit({ cursor: 2, state: { cursor: 2, pendingRows: [] }, stages: [stage('9.1', 'call_ended', '', 2, '2026-01-01 10:00:00')], finished: [] });
      await store.write('p', '9.1', { done: [{ eventId: first.id, trace: { ok: true } }], call: { status: 'done' } });
      assert.equal((await store.getCall('p', '9.1'))?.status, 'open', 'still runnable: call_ended is pending');
      const [second] = await store.pendingEvents('p', '9.1');
      assert.equal(second?.stage, 'call_ended');
      await store.write('p', '9.1', { done: [{ eventId: (second as { id: number }).id, trace: null }], call: { status: 'done' } });
      const record = await store.getCall('p', '9.1');
      assert.equal(record?.status, 'done');
      assert.equal(record?.finished, true);
      assert.deepEqual((await store.events('p', '9.1'))[0]?.trace, { ok: true });
    } finally {
      await opened.dispose();
    }
  });

  test(`${engine.name}: outbox actions, waiting calls, runs and tokens`, async (t) => {
    const opened = await engine.open();
    if ('skip' in opened) return t.skip(opened.skip);
    try {
      const { store } = opened;
      await store.ingestSink('p').commit({ cursor: 1, state: { cursor: 1, pendingRows: [] }, stages: [stage('5.1', 'call_ended', '', 1, '2026-02-02 09:00:00')], finished: [] });
      const [ev] = await store.pendingEvents('p', '5.1');
      const action: ActionRecord = {
        linkedid: '5.1', key: 'register', portal: 'example.bitrix24.ru', method: 'telephony.externalcall.register',
        params: { PHONE_NUMBER: '79001234567' }, status: 'sending', attempts: 1, outcome: null, eventId: ev?.id ?? 0, run: 1, firstAt: 1000, lastAt: 1000,
      };
      await store.write('p', '5.1', { actions: [action], progress: [{ eventId: ev?.id ?? 0, progress: { steps: 2 } }], call: { status: 'waiting', nextAttemptAt: 5000, memory: { a: 1 } } });
      const reopened = await opened.reopen();
      assert.deepEqual((await reopened.actions('p', '5.1')).map((a) => [a.key, a.status, a.attempts]), [['register', 'sending', 1]]);
      assert.deepEqual((await reopened.pendingEvents('p', '5.1'))[0]?.progress, { steps: 2 });
      assert.deepEqual(await reopened.runnableCalls('p', 4999, 10), [], 'waiting until its retry time');
      assert.equal((await reopened.runnableCalls('p', 5000, 10)).length, 1);
      assert.equal(await reopened.nextWakeUp('p'), 5000);
      await reopened.write('p', '5.1', { actions: [{ ...action, status: 'done', outcome: { kind: 'ok' }, lastAt: 2000 }], call: { status: 'open', nextAttemptAt: null } });
      assert.equal((await reopened.actions('p', '5.1'))[0]?.status, 'done');
      const counts = await reopened.counts('p');
      assert.equal(counts.actions.done, 1);
      assert.equal(counts.calls.open, 1);

      const run = await reopened.startRun('p', '5.1', [{ stage: 'call_ended', conversationId: '', atRowId: 1, callFull: call('5.1', '2026-02-02 09:00:00') }], 7, '2026-02-02 09:00:00');
      assert.equal(run, 2);
      const pending = await reopened.pendingEvents('p', '5.1');
      assert.deepEqual(pending.map((e) => e.run), [2], 'only the new run is pending');
      assert.equal((await reopened.actions('p', '5.1')).length, 1, 'the outbox keeps what the CRM already has');
      assert.deepEqual((await reopened.listCalls('p', { from: '2026-02-02 00:00:00', to: '2026-02-02 23:59:59' })).map((c) => c.linkedid), ['5.1']);
      assert.deepEqual(await reopened.listCalls('p', { from: '2026-02-03 00:00:00' }), []);

      assert.equal(await reopened.tokens.load('portal'), null);
      await reopened.tokens.save('portal', { accessToken: 'a1', refreshToken: 'r1', expiresAt: 99 });
      await reopened.tokens.save('portal', { accessToken: 'a2', refreshToken: 'r2', expiresAt: 100 });
      assert.deepEqual(await (await opened.reopen()).tokens.load('portal'), { accessToken: 'a2', refreshToken: 'r2', expiresAt: 100 });
    } finally {
      await opened.dispose();
    }
  });
}
