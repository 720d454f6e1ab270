// Retention (http.retention_days): the sweep deletes finished calls whose record last changed before the
// cut-off, with their traces and outbox entries; recent calls and calls with work left stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { StageEvent } from '../../core/cel/assembler/index.js';
import { startRetention } from '../../core/http/attach.js';
import { createConnectorStore, openSqliteDriver } from '../../core/store/index.js';

const DAY = 86_400_000;
const ended = (linkedid: string, row: number): StageEvent =>
  ({ linkedid, stage: 'call_ended', conversationId: '', atRowId: row, callFull: { channel: { start_time: '2026-01-01 10:00:00' }, conversations: {} } }) as unknown as StageEvent;

test('the retention sweep removes calls older than retention_days, keeps newer ones and open work', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-retention-'));
  try {
    let clock = Date.now() - 40 * DAY;
    const store = await createConnectorStore(openSqliteDriver(path.join(dir, 's.sqlite')), { now: () => clock });
    const sink = store.ingestSink('p');
    const finish = async (id: string, row: number, status: 'done' | 'waiting'): Promise<void> => {
      await sink.commit({ cursor: row, state: { cursor: row, pendingRows: [] }, stages: [ended(id, row)], finished: [] });
      const [ev] = await store.pendingEvents('p', id);
      await store.write('p', id, { done: [{ eventId: ev?.id ?? 0, trace: { steps: [] } }], call: { status, ...(status === 'waiting' ? { nextAttemptAt: clock + DAY } : {}) } });
    };
    await finish('old-done', 1, 'done');
    await finish('old-waiting', 2, 'waiting');
    clock = Date.now() - 5 * DAY;
    await finish('recent', 3, 'done');
    clock = Date.now();
    const retention = startRetention(store, 'p', 30, pino({ level: 'silent' }), 60_000);
    try {
      await new Promise((r) => setTimeout(r, 100)); // the first sweep runs at start
      assert.equal(await store.getCall('p', 'old-done'), null);
      assert.deepEqual(await store.events('p', 'old-done'), []);
      assert.equal((await store.getCall('p', 'old-waiting'))?.status, 'waiting');
      assert.equal((await store.getCall('p', 'recent'))?.status, 'done');
      assert.equal(await retention.sweep(), 0, 'nothing else is old enough');
    } finally {
      retention.stop();
    }
    const keepAll = startRetention(store, 'p', 0, pino({ level: 'silent' }));
    assert.equal(await keepAll.sweep(), 0, '0 days = kept forever');
    keepAll.stop();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
