// runIngest: stopping between any two batches and restarting from the saved state gives exactly the
// calls of one uninterrupted run (replay source, in-memory store; the MariaDB variant is in
// mariadb-ingest.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { assembleAll, CallAssembler, type FinishedCall, type StageEvent } from '../../core/cel/assembler/index.js';
import { runIngest, STAGE_WEIGHT_BUDGET, type IngestSink } from '../../core/cel/ingest.js';
import { createMemoryStateStore, createReplaySource, emptyStats, type CelSource, type CelState, type StateStore } from '../../core/cel/sources/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { testNumbers } from '../fixtures/cel-sources/numbers.js';
import { FIXTURES, RECORDED } from './assembler-kit.js';
import { queueCall } from '../fixtures/cel-sources/huge-call.js';

// Every recorded and public fixture (the recorded Asterisk 22 file is test/fixtures/cel/cel-asterisk22-local.jsonl).
const files = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.jsonl')).sort().map((f) => path.join(FIXTURES, f));
const REPO = path.join(FIXTURES, '..', '..', '..');

const newAssembler = (): CallAssembler => new CallAssembler({ calls: {}, numbers: testNumbers });

async function uninterrupted(file: string, batchSize: number): Promise<{ calls: FinishedCall[]; stages: StageEvent[] }> {
  const calls: FinishedCall[] = [];
  const stages: StageEvent[] = [];
  const result = await runIngest({
    source: createReplaySource({ path: file, batchSize }), assembler: newAssembler(), store: createMemoryStateStore(),
    flushAtEnd: true, onFinished: (c) => void calls.push(...c), onStage: (s) => void stages.push(...s),
  });
  assert.equal(result.stopped, 'end');
  return { calls, stages };
}

for (const file of files) {
  test(`${path.relative(REPO, file)}: a stop after any batch + restart from the store = one uninterrupted run`, async () => {
    let rowCount = 0;
    for await (const batch of createReplaySource({ path: file }).batches()) rowCount += batch.length;
    const batchSize = rowCount < 100 ? 2 : 9; // small files: more places to stop
    const reference = await uninterrupted(file, batchSize);
    assert.ok(reference.calls.length > 0);
    assert.ok(reference.stages.length >= reference.calls.length, 'every call ends with a call_ended stage');
    let restarts = 0;
    const totalBatches = Math.ceil(rowCount / batchSize);
    for (let stopAfter = 1; stopAfter < totalBatches; stopAfter++) {
      const store = createMemoryStateStore();
      const calls: FinishedCall[] = [];
      const stages: StageEvent[] = [];
      const controller = new AbortController();
      let seen = 0;
      const first = await runIngest({
        source: createReplaySource({ path: file, batchSize }), assembler: newAssembler(), store, signal: controller.signal, flushAtEnd: true,
        onFinished: (c) => void calls.push(...c), onStage: (s) => void stages.push(...s),
        onBatch: () => {
          if (++seen === stopAfter) controller.abort();
        },
      });
      assert.equal(first.stopped, 'aborted');
      restarts++;
      const saved = await store.load();
      assert.equal(saved.cursor, first.cursor);
      const second = await runIngest({
        source: createReplaySource({ path: file, batchSize }), assembler: newAssembler(), store, flushAtEnd: true,
        onFinished: (c) => void calls.push(...c), onStage: (s) => void stages.push(...s),
      });
      // The open calls are kept by reference (re-read from the file), not as rows.
      assert.deepEqual(saved.pendingRows, []);
      assert.equal(second.resumedRows > 0, saved.open !== undefined, 'rows re-read exactly when calls were open');
      assert.deepEqual(calls.map((c) => c.linkedid), reference.calls.map((c) => c.linkedid), `stop after batch ${stopAfter}: same calls, none lost or twice`);
      assert.deepEqual(calls.map((c) => c.callFull), reference.calls.map((c) => c.callFull), `stop after batch ${stopAfter}: same call_full`);
      assert.deepEqual(stages.map((s) => [s.stage, s.linkedid, s.atRowId]), reference.stages.map((s) => [s.stage, s.linkedid, s.atRowId]), `stop after batch ${stopAfter}: same stage events`);
    }
    assert.equal(restarts, totalBatches - 1, 'stopped and restarted at every batch boundary');
  });
}

test('a live run finishes a call that never gets LINKEDID_END by the safety timeout while the source is idle, and saves that', async () => {
  const rows = (await collectRows(RECORDED)).filter((r) => r.linkedid === '1795500122.54' && r.eventtype !== 'LINKEDID_END');
  assert.ok(rows.length > 5);
  const controller = new AbortController();
  // A live-like source: one batch, then nothing until stopped (as an idle PBX table).
  const source: CelSource = {
    description: 'test live source',
    stats: emptyStats(),
    async close() {},
    async *batches(signal?: AbortSignal) {
      yield rows;
      // Like the MariaDB source's poll timer, keep the process alive until stopped.
      const poll = setInterval(() => undefined, 50);
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
      clearInterval(poll);
    },
  };
  const store = createMemoryStateStore();
  const lastMs = Date.parse(`${(rows[rows.length - 1] as CelRow).eventtime.replace(' ', 'T')}Z`);
  let clock = lastMs + 1000; // just after the last row: not expired yet
  const finished: FinishedCall[] = [];
  const run = runIngest({
    source, assembler: new CallAssembler({ calls: { safety_timeout_seconds: 60, pbx_time_zone: 'UTC' }, numbers: testNumbers }), store,
    signal: controller.signal, expire: { everyMs: 20, now: () => clock },
    onFinished: (calls) => {
      finished.push(...calls);
      controller.abort();
    },
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(finished.length, 0, 'not expired before the timeout');
  assert.ok((await store.load()).pendingRows.length === rows.length, 'its rows are kept as pending');
  clock = lastMs + 61_000;
  const result = await run;
  assert.equal(result.stopped, 'aborted');
  assert.equal(finished.length, 1);
  assert.equal(finished[0]?.complete, 'timeout');
  assert.deepEqual((await store.load()).pendingRows, [], 'the expired call is no longer pending');
});

test('a backlog read a week late is not cut between batches: while rows flow, their own clock decides the safety timeout', async () => {
  const rows = await collectRows(RECORDED);
  const week = 7 * 24 * 3600 * 1000;
  const lastMs = Date.parse(`${(rows[rows.length - 1] as CelRow).eventtime.replace(' ', 'T')}Z`);
  const finished: FinishedCall[] = [];
  // Batches of 7 rows: almost every call spans several batches.
  const source: CelSource = {
    description: 'test backlog', stats: emptyStats(), async close() {},
    async *batches() {
      for (let i = 0; i < rows.length; i += 7) yield rows.slice(i, i + 7);
    },
  };
  await runIngest({
    source, assembler: new CallAssembler({ calls: { safety_timeout_seconds: 60, pbx_time_zone: 'UTC' }, numbers: testNumbers }),
    store: createMemoryStateStore(), expire: { everyMs: 20, now: () => lastMs + week },
    onFinished: (calls) => void finished.push(...calls),
  });
  const reference = assembleAll(rows, { calls: { pbx_time_zone: 'UTC' }, numbers: testNumbers }).calls;
  assert.deepEqual(finished.map((c) => [c.linkedid, c.complete]), reference.map((c) => [c.linkedid, c.complete]));
  assert.ok(finished.every((c) => c.complete === 'linkedid_end'));
});

async function collectRows(file: string): Promise<CelRow[]> {
  const out: CelRow[] = [];
  for await (const batch of createReplaySource({ path: file }).batches()) out.push(...batch);
  return out;
}

test('a slow store does not slow the batches: saves coalesce, the newest state is saved before runIngest returns', async () => {
  const file = RECORDED;
  const reference = await uninterrupted(file, 9);
  const inner = createMemoryStateStore();
  const saved: number[] = [];
  const slowStore: StateStore = {
    load: () => inner.load(),
    close: () => inner.close(),
    async save(state) {
      await new Promise((r) => setTimeout(r, 30));
      await inner.save(state);
      saved.push(state.cursor);
    },
  };
  const controller = new AbortController();
  const calls: FinishedCall[] = [];
  let batches = 0;
  const first = await runIngest({
    source: createReplaySource({ path: file, batchSize: 9 }), assembler: newAssembler(), store: slowStore, signal: controller.signal,
    onFinished: (c) => void calls.push(...c),
    onBatch: () => {
      if (++batches === 20) controller.abort();
    },
  });
  assert.equal(first.stopped, 'aborted');
  assert.ok(saved.length < batches, `${saved.length} saves for ${batches} batches`);
  assert.deepEqual(saved, [...saved].sort((a, b) => a - b), 'states are saved in order');
  assert.equal(saved[saved.length - 1], first.cursor, 'the newest state was saved before runIngest returned');
  await runIngest({
    source: createReplaySource({ path: file, batchSize: 9 }), assembler: newAssembler(), store: slowStore, flushAtEnd: true,
    onFinished: (c) => void calls.push(...c),
  });
  assert.deepEqual(calls.map((c) => c.callFull), reference.calls.map((c) => c.callFull));
});

test('with a sink, every stage is committed exactly once with the resume point it leads to, whatever batch the run stops after', async () => {
  const file = RECORDED;
  const batchSize = 9;
  const reference = await uninterrupted(file, batchSize);
  let totalBatches = 0;
  for await (const _ of createReplaySource({ path: file, batchSize }).batches()) totalBatches++;
  for (let stopAfter = 1; stopAfter < totalBatches; stopAfter += 3) {
    // The sink's "database": events and the resume point change together or not at all. The state is
    // stored as an opaque JSON value, as a connector store keeps it in one column.
    let committed = { cursor: 0, state: '{"cursor":0,"pendingRows":[]}', stages: [] as StageEvent[], finished: [] as FinishedCall[] };
    const sink: IngestSink = {
      load: async () => JSON.parse(committed.state) as CelState,
      commit: async (c) => {
        await new Promise((resolve) => setTimeout(resolve, 1)); // commits lag behind the batches, so some merge
        assert.equal(c.state.cursor, c.cursor);
        committed = { cursor: c.cursor, state: JSON.stringify(c.state), stages: committed.stages.concat(c.stages), finished: committed.finished.concat(c.finished) };
      },
    };
    const controller = new AbortController();
    let seen = 0;
    const first = await runIngest({
      source: createReplaySource({ path: file, batchSize }), assembler: newAssembler(), sink, signal: controller.signal, flushAtEnd: true,
      onBatch: () => {
        if (++seen === stopAfter) controller.abort();
      },
    });
    assert.equal(first.stopped, 'aborted');
    assert.equal(committed.cursor, first.cursor, 'runIngest returned after its last commit');
    await runIngest({ source: createReplaySource({ path: file, batchSize }), assembler: newAssembler(), sink, flushAtEnd: true });
    assert.deepEqual(committed.finished.map((c) => c.linkedid), reference.calls.map((c) => c.linkedid), `stop after batch ${stopAfter}: same calls`);
    assert.deepEqual(committed.stages.map((s) => [s.stage, s.linkedid, s.conversationId, s.atRowId]), reference.stages.map((s) => [s.stage, s.linkedid, s.conversationId, s.atRowId]), `stop after batch ${stopAfter}: same stages, none lost or twice`);
  }
});

test('a failing save is reported and counted, retried with the NEWEST state (the cursor never stalls), and the last state is saved', async () => {
  const inner = createMemoryStateStore();
  const attempts: Array<{ cursor: number; ok: boolean }> = [];
  let failures = 4;
  const flaky: StateStore = {
    load: () => inner.load(),
    close: () => inner.close(),
    async save(state) {
      await new Promise((r) => setTimeout(r, 5));
      if (failures > 0) {
        failures--;
        attempts.push({ cursor: state.cursor, ok: false });
        throw new Error("Got a packet bigger than 'max_allowed_packet' bytes");
      }
      attempts.push({ cursor: state.cursor, ok: true });
      await inner.save(state);
    },
  };
  const reported: string[] = [];
  // A slow consumer keeps batches coming while the first save is being retried.
  const result = await runIngest({
    source: createReplaySource({ path: RECORDED, batchSize: 9 }), assembler: newAssembler(), store: flaky, flushAtEnd: true,
    onStage: () => new Promise((r) => setTimeout(r, 20)),
    onSaveError: (error) => void reported.push((error as Error).message),
  });
  assert.equal(result.saveErrors, 4);
  assert.equal(reported.length, 4);
  assert.match(reported[0]!, /max_allowed_packet/);
  const firstFailed = attempts[0]!.cursor;
  const firstSaved = attempts.find((a) => a.ok)!.cursor;
  assert.ok(firstSaved > firstFailed, `the retry saved a newer state (cursor ${firstSaved}) than the one that failed (${firstFailed})`);
  assert.equal((await inner.load()).cursor, result.cursor, 'the newest state is saved before runIngest returns');
});

test('a call with 600 legs in one batch is delivered in parts, not held until the batch ends; every event has its own call_full', async () => {
  const rows = queueCall(600, { atOnce: true });
  const source: CelSource = {
    description: 'one batch', stats: emptyStats(), async close() {},
    async *batches() {
      yield rows;
    },
  };
  const deliveries: number[] = [];
  const stages: StageEvent[] = [];
  const result = await runIngest({
    source, assembler: new CallAssembler({ calls: { trunk_channel_patterns: ['^PJSIP/provider-'] }, numbers: testNumbers }),
    store: createMemoryStateStore(), flushAtEnd: true,
    onStage: (s) => {
      let weight = 0;
      for (const e of s) weight += Object.keys(e.callFull.conversations).length + 1;
      deliveries.push(weight);
      // Keep only two snapshots far apart, to check they are independent copies.
      for (const e of s) if (e.conversationId.endsWith('.1') || e.conversationId.endsWith('.600')) stages.push(e);
    },
  });
  assert.equal(result.batches, 1);
  assert.ok(deliveries.length > 50, `${deliveries.length} deliveries within the one batch`);
  assert.ok(Math.max(...deliveries) <= STAGE_WEIGHT_BUDGET + 602, `largest delivery ${Math.max(...deliveries)} rendered conversations`);
  assert.equal(result.finishedCalls, 1);
  const [first, last] = [stages[0]!, stages.at(-1)!];
  assert.equal(Object.keys(first.callFull.conversations).length, 1, 'the first leg saw itself only');
  assert.equal(Object.keys(last.callFull.conversations).length, 600);
  const before = first.callFull.conversations[first.conversationId]!.channel.to.custom;
  last.callFull.conversations[first.conversationId]!.channel.to.custom = 'changed';
  last.callFull.conversations[first.conversationId]!.channel.from.variants.push('changed');
  assert.equal(first.callFull.conversations[first.conversationId]!.channel.to.custom, before, 'snapshots share no objects');
  assert.ok(!first.callFull.conversations[first.conversationId]!.channel.from.variants.includes('changed'));
  assert.ok(!last.callFull.channel.from.variants.includes('changed'), 'nor do two numbers of one snapshot');
});

test('a resume state whose open calls the source no longer has is said, not silently dropped', async () => {
  const warnings: string[] = [];
  const store = createMemoryStateStore({ cursor: 300, pendingRows: [], open: { fromId: 1, linkedids: ['gone.1', '1795500122.54'] } });
  const result = await runIngest({
    source: createReplaySource({ path: RECORDED }), store, flushAtEnd: true,
    assembler: new CallAssembler({ calls: {}, numbers: testNumbers, onWarning: (w) => void warnings.push(w.message) }),
  });
  assert.ok(result.resumedRows > 0, 'the call that is in the file was rebuilt');
  assert.ok(warnings.some((m) => /open calls gone\.1 have no rows in replay .* any more/.test(m)), warnings.join('\n'));
  assert.ok(!warnings.some((m) => m.includes('1795500122.54 have no rows')));
});
