// The store queries behind the operator's API, on both engines: the CEL cursor, the outbox per portal with
// its newest failure, retention (old finished calls go with their traces and outbox entries, a call with
// work left stays), and the hook switches surviving a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StageEvent } from '../../core/cel/assembler/index.js';
import type { ActionRecord } from '../../core/store/index.js';
import { ENGINES } from './kit.js';

const call = (linkedid: string, start: string) => ({ channel: { start_time: start, id: linkedid }, conversations: {} });
const ended = (linkedid: string, row: number): StageEvent =>
  ({ linkedid, stage: 'call_ended', conversationId: '', atRowId: row, callFull: call(linkedid, '2026-03-01 10:00:00') }) as unknown as StageEvent;

for (const engine of ENGINES) {
  test(`${engine.name}: CEL cursor, outbox per portal, retention, hook switches`, async (t) => {
    const opened = await engine.open();
    if ('skip' in opened) return t.skip(opened.skip);
    try {
      const { store } = opened;
      assert.equal(await store.celCheckpoint('p'), null, 'nothing read yet');
      await store.ingestSink('p').commit({ cursor: 42, state: { cursor: 42, pendingRows: [] }, stages: [ended('1.1', 40), ended('2.1', 41), ended('3.1', 42)], finished: [] });
      const cp = await store.celCheckpoint('p');
      assert.equal(cp?.cursor, 42);
      assert.ok(cp !== null && Math.abs(cp.updatedAt - Date.now()) < 60_000);

      const ev = async (id: string): Promise<number> => (await store.pendingEvents('p', id))[0]?.id ?? 0;
      const action = (linkedid: string, key: string, portal: string, status: ActionRecord['status'], lastAt: number, eventId: number): ActionRecord => ({
        linkedid, key, portal, method: 'telephony.externalcall.register', params: {}, status, attempts: 1, outcome: { kind: status, note: key }, eventId, run: 1, firstAt: 1, lastAt,
      });
      await store.write('p', '1.1', { actions: [action('1.1', 'register', 'a.example', 'done', 10, await ev('1.1')), action('1.1', 'finish', 'a.example', 'rejected', 20, await ev('1.1'))], done: [{ eventId: await ev('1.1'), trace: { s: 1 } }], call: { status: 'done' } });
      await store.write('p', '2.1', { actions: [action('2.1', 'register', 'b.example', 'failed', 30, await ev('2.1'))], call: { status: 'waiting', nextAttemptAt: Date.now() + 60_000 } });
      await store.write('p', '3.1', { actions: [action('3.1', 'register', 'a.example', 'in_doubt', 40, await ev('3.1'))], call: { status: 'parked', parkedReason: 'x' } });
      // What-if reads only the current run's traces; listings can skip the big columns.
      const traces = await store.currentTraces('p', ['1.1', '2.1', 'none']);
      assert.deepEqual([...traces.entries()], [['1.1', [{ s: 1 }]]], 'only processed stages of the current run');
      const brief = await store.listCalls('p', { brief: true, newestFirst: true });
      assert.deepEqual(brief.map((c) => [c.linkedid, c.callFull, c.memory]), [['3.1', null, null], ['2.1', null, null], ['1.1', null, null]]);
      const outbox = await store.outboxByPortal('p');
      assert.deepEqual(outbox.map((o) => [o.portal, o.actions.done, o.actions.rejected, o.actions.in_doubt, o.actions.failed]), [['a.example', 1, 1, 1, 0], ['b.example', 0, 0, 0, 1]]);
      assert.deepEqual(outbox[0]?.lastError?.key, 'register', 'the newest failure of the portal (in doubt at 40, not the refusal at 20)');
      assert.equal(outbox[0]?.lastError?.linkedid, '3.1');
      assert.deepEqual(await store.outboxByPortal('other'), []);

      // Retention: everything older than "in a minute" and finished goes; the waiting call stays.
      assert.equal(await store.deleteCallsBefore('p', Date.now() - 3_600_000), 0, 'nothing is an hour old');
      assert.equal(await store.deleteCallsBefore('p', Date.now() + 60_000), 2);
      assert.equal(await store.getCall('p', '1.1'), null);
      assert.deepEqual(await store.events('p', '1.1'), []);
      assert.deepEqual(await store.actions('p', '3.1'), []);
      assert.equal((await store.getCall('p', '2.1'))?.status, 'waiting', 'a call with work left is kept');
      assert.equal((await store.actions('p', '2.1')).length, 1);

      assert.deepEqual(await store.hookSwitches('p'), []);
      await store.setHookSwitch('p', 'need_registration.blacklist.ts', false);
      await store.setHookSwitch('p', 'acme-lists', false);
      await store.setHookSwitch('p', 'acme-lists', false);
      const again = await opened.reopen();
      assert.deepEqual(await again.hookSwitches('p'), ['acme-lists', 'need_registration.blacklist.ts']);
      await again.setHookSwitch('p', 'acme-lists', true);
      assert.deepEqual(await again.hookSwitches('p'), ['need_registration.blacklist.ts']);
      assert.deepEqual(await again.hookSwitches('q'), [], 'per PBX');
    } finally {
      await opened.dispose();
    }
  });
}
