// The MariaDB source + assembler give the same calls as the file replay, for every CEL fixture
// loaded into a real FreePBX `cel` table; and a stop/restart through the MariaDB state store loses
// and repeats nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import type { CelRow } from '../../core/cel/row.js';
import { assembleAll, CallAssembler, type FinishedCall } from '../../core/cel/assembler/index.js';
import { runIngest } from '../../core/cel/ingest.js';
import {
  createMariaDbSource, createMariaDbStateStore, createMemoryStateStore, createReplaySource, type StateStore,
} from '../../core/cel/sources/index.js';
import { DB, asStoredByFreepbx, connectRoot, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { testNumbers } from '../fixtures/cel-sources/numbers.js';

const fixtureDir = path.join(import.meta.dirname, '..', 'fixtures', 'cel');
// Every recorded and public fixture (the recorded Asterisk 22 file is test/fixtures/cel/cel-asterisk22-local.jsonl).
const files = readdirSync(fixtureDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl')).sort().map((f) => path.join(fixtureDir, f));
const REPO = path.join(fixtureDir, '..', '..', '..');
const options = { calls: {}, numbers: testNumbers };

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];

before(async () => {
  const result = await connectRoot();
  if ('skip' in result) skip = result.skip;
  else root = result.conn;
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
});

/** What the replay source makes of a file: id order, duplicates dropped, bad lines skipped. */
async function replayRows(file: string): Promise<CelRow[]> {
  const rows: CelRow[] = [];
  for await (const batch of createReplaySource({ path: file }).batches()) rows.push(...batch);
  return rows;
}

/** Reads the table through runIngest until the last id, then finishes what is still open (like flushAtEnd). */
async function ingestFromTable(db: string, lastId: number, store: StateStore, stopAfterBatches?: number): Promise<{ calls: FinishedCall[]; stoppedAt: number; done: boolean }> {
  const assembler = new CallAssembler(options);
  const calls: FinishedCall[] = [];
  const controller = new AbortController();
  let batches = 0;
  let reachedEnd = false;
  const result = await runIngest({
    source: createMariaDbSource({ ...DB, database: db, batchSize: 25, pollMinMs: 10, pollMaxMs: 40, gapWaitMs: 0 }),
    assembler, store, signal: controller.signal,
    onFinished: (c) => void calls.push(...c),
    onBatch: ({ cursor }) => {
      batches++;
      reachedEnd = cursor >= lastId;
      if (reachedEnd || batches === stopAfterBatches) controller.abort();
    },
  });
  if (reachedEnd) {
    assembler.flush();
    calls.push(...assembler.drainFinished());
  }
  return { calls, stoppedAt: result.cursor, done: reachedEnd };
}

for (const file of files) {
  const name = path.relative(REPO, file);

  test(`${name}: the FreePBX table (exact DDL, whole-second eventtime) gives the same calls as the file replay`, async (t) => {
    if (skip) return t.skip(skip);
    const conn = root as mysql.Connection;
    const rows = await replayRows(file);
    const db = uniqueName('celeq');
    databases.push(db);
    await conn.query(`CREATE DATABASE \`${db}\``);
    await conn.query(freepbxCelDdl(db));
    await insertRows(conn, db, 'cel', rows);
    // FreePBX's DATETIME keeps whole seconds and it has no peeraccount/userfield: the replay is
    // given the same rows as stored, so both sides see identical input.
    const expected = assembleAll(rows.map(asStoredByFreepbx), options).calls;
    const { calls } = await ingestFromTable(db, (rows[rows.length - 1] as CelRow).id, createMemoryStateStore());
    assert.ok(expected.length > 0);
    assert.deepEqual(calls.map((c) => c.callFull), expected.map((c) => c.callFull));
  });

  test(`${name}: with eventtime DATETIME(6) (microseconds kept) the table gives exactly the file replay's calls`, async (t) => {
    if (skip) return t.skip(skip);
    // Why DATETIME(6) here: the file has microseconds that a FreePBX DATETIME column drops; with
    // them kept, the calls must equal the untouched replay's call_full field for field.
    const conn = root as mysql.Connection;
    const rows = await replayRows(file);
    const db = uniqueName('celeq6');
    databases.push(db);
    await conn.query(`CREATE DATABASE \`${db}\``);
    await conn.query(freepbxCelDdl(db, 'cel', 'datetime(6)'));
    await conn.query(`ALTER TABLE \`${db}\`.cel ADD peeraccount VARCHAR(80) NOT NULL DEFAULT '', ADD userfield VARCHAR(255) NOT NULL DEFAULT ''`);
    const columns = ['eventtype', 'eventtime', 'cid_name', 'cid_num', 'cid_ani', 'cid_rdnis', 'cid_dnid', 'exten', 'context', 'channame', 'appname', 'appdata', 'amaflags', 'accountcode', 'peeraccount', 'uniqueid', 'linkedid', 'userfield', 'peer', 'userdeftype', 'extra'];
    await insertRows(conn, db, 'cel', rows, { columns });
    const replay = await runReplay(file);
    const { calls } = await ingestFromTable(db, (rows[rows.length - 1] as CelRow).id, createMemoryStateStore());
    assert.deepEqual(calls.map((c) => c.callFull), replay.map((c) => c.callFull));
  });
}

/** The file replay exactly as `callhook replay` runs it. */
async function runReplay(file: string): Promise<FinishedCall[]> {
  const calls: FinishedCall[] = [];
  await runIngest({
    source: createReplaySource({ path: file }), assembler: new CallAssembler(options), store: createMemoryStateStore(),
    flushAtEnd: true, onFinished: (c) => void calls.push(...c),
  });
  return calls;
}

test('MariaDB source + MariaDB state store: stopped and restarted mid-stream, the calls equal one uninterrupted run', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const file = path.join(fixtureDir, 'cel-asterisk22-local.jsonl');
  const rows = await replayRows(file);
  const lastId = (rows[rows.length - 1] as CelRow).id;
  const db = uniqueName('celrestart');
  const stateDb = uniqueName('callhook_st');
  databases.push(db, stateDb);
  await conn.query(`CREATE DATABASE \`${db}\``);
  await conn.query(freepbxCelDdl(db));
  await insertRows(conn, db, 'cel', rows);
  const reference = (await ingestFromTable(db, lastId, createMemoryStateStore())).calls;
  assert.ok(reference.length >= 10);

  for (const stops of [[1], [3, 4], [2, 3, 4]]) {
    const key = `pbx-${stops.join('-')}`;
    const calls: FinishedCall[] = [];
    for (const stopAfter of stops) {
      // Each run is a fresh process as far as state goes: new store object, new source, new assembler.
      const store = await createMariaDbStateStore({ ...DB, database: stateDb, key });
      const run = await ingestFromTable(db, lastId, store, stopAfter);
      await store.close();
      calls.push(...run.calls);
      assert.equal(run.done, false, `stops ${stops.join(',')}: should still be mid-stream`);
    }
    const store = await createMariaDbStateStore({ ...DB, database: stateDb, key });
    const saved = await store.load();
    let last;
    try {
      assert.ok(saved.cursor > 0 && saved.cursor < lastId, 'a mid-stream resume point was persisted');
      // Open calls are kept by reference (re-read from the table on restart), not as rows.
      assert.ok(saved.open !== undefined && saved.open.linkedids.length > 0 && saved.open.fromId <= saved.cursor, 'mid-call');
      assert.deepEqual(saved.pendingRows, []);
      last = await ingestFromTable(db, lastId, store);
    } finally {
      await store.close();
    }
    calls.push(...last.calls);
    assert.deepEqual(calls.map((c) => c.linkedid), reference.map((c) => c.linkedid), `stops after batches ${stops.join(',')}: no call lost or twice`);
    assert.deepEqual(calls.map((c) => c.callFull), reference.map((c) => c.callFull));
  }
});
