// Faults on a live MariaDB `cel` table that used to lose, repeat or invent calls (issue 16): OPTIMIZE
// TABLE / a rebuilding ALTER + a reconnect, rows committed late (within and beyond the gap hold), an
// unfinished call far bigger than max_allowed_packet, NULL fields, and a table recreated with old rows.
// Each test runs the real pipeline (MariaDB source → runIngest → CallAssembler → MariaDB state store)
// and prints calls delivered, duplicated and lost against the file replay of the same rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { CelRow } from '../../core/cel/row.js';
import { assembleAll, CallAssembler, type AssemblerWarning, type FinishedCall } from '../../core/cel/assembler/index.js';
import { runIngest, type IngestResult } from '../../core/cel/ingest.js';
import {
  createMariaDbSource, createMariaDbStateStore, createMemoryStateStore, type CelSourceEvent, type MariaDbSourceOptions, type StateStore,
} from '../../core/cel/sources/index.js';
import { DB, asStoredByFreepbx, connectRoot, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { copiesOf } from '../fixtures/cel-sources/copies.js';
import { RECORDED, loadRows, testNumbers } from './assembler-kit.js';

const recorded = loadRows(RECORDED).map(asStoredByFreepbx);
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

async function freshTable(prefix: string): Promise<string> {
  const db = uniqueName(prefix);
  databases.push(db);
  await (root as mysql.Connection).query(`CREATE DATABASE \`${db}\``);
  await (root as mysql.Connection).query(freepbxCelDdl(db));
  return db;
}

async function stateStore(db: string): Promise<StateStore> {
  return createMariaDbStateStore({ ...DB, database: `${db}_state`, key: 'pbx' });
}

/** One live run in the background: the real pipeline until stop(). */
function startRun(db: string, store: StateStore, sourceOptions: Partial<MariaDbSourceOptions> = {}) {
  const controller = new AbortController();
  const calls: FinishedCall[] = [];
  const events: CelSourceEvent[] = [];
  const warnings: AssemblerWarning[] = [];
  const saveErrors: unknown[] = [];
  const perBatch: number[] = [];
  let logLines = 0;
  let cursor = 0;
  let batches = 0;
  const source = createMariaDbSource({
    ...DB, database: db, batchSize: 200, pollMinMs: 20, pollMaxMs: 60, retryMinMs: 20, retryMaxMs: 100, ...sourceOptions,
    onEvent: (e) => {
      events.push(e);
      logLines++;
    },
  });
  const assembler = new CallAssembler({ calls: {}, numbers: testNumbers, onWarning: (w) => {
    warnings.push(w);
    logLines++;
  } });
  const done: Promise<IngestResult> = runIngest({
    source, assembler, store, signal: controller.signal,
    onFinished: (c) => void calls.push(...c),
    onSaveError: (error) => void saveErrors.push(error),
    onBatch: (info) => {
      cursor = info.cursor;
      batches++;
      perBatch.push(logLines);
      logLines = 0;
    },
  });
  return {
    calls, events, warnings, saveErrors, perBatch, source,
    get cursor() { return cursor; },
    get batches() { return batches; },
    async until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
      const end = Date.now() + timeoutMs;
      while (!condition()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what} (cursor ${cursor}, ${calls.length} calls)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(): Promise<IngestResult> {
      controller.abort();
      const result = await done;
      await source.close();
      return result;
    },
  };
}

/** Prints and returns how the delivered calls compare with the calls of the same rows replayed. */
function tally(name: string, delivered: readonly FinishedCall[], reference: readonly FinishedCall[]) {
  const seen = new Map<string, number>();
  for (const c of delivered) seen.set(c.linkedid, (seen.get(c.linkedid) ?? 0) + 1);
  const duplicated = [...seen.values()].reduce((n, k) => n + (k - 1), 0);
  const lost = reference.filter((c) => !seen.has(c.linkedid)).length;
  const invented = [...seen.keys()].filter((id) => !reference.some((c) => c.linkedid === id)).length;
  console.log(`${name}: calls delivered ${delivered.length} (expected ${reference.length}), duplicated ${duplicated}, lost ${lost}, invented ${invented}`);
  return { duplicated, lost, invented };
}

function byLinkedid(calls: readonly FinishedCall[]): Map<string, FinishedCall> {
  return new Map(calls.map((c) => [c.linkedid, c]));
}

test('OPTIMIZE TABLE and a rebuilding ALTER, then a reconnect and a restart: no call delivered twice', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('celopt');
  const rows = copiesOf(recorded, 100); // 30,000 rows, 1,100 calls
  const reference = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
  await insertRows(conn, db, 'cel', rows.slice(0, 15_000));
  const store = await stateStore(db);
  databases.push(`${db}_state`);
  try {
    const first = startRun(db, store);
    await first.until('the first half', () => first.cursor >= 15_000);
    // Routine maintenance: both rebuild the table (CREATE_TIME changes), ids and rows stay.
    await conn.query(`OPTIMIZE TABLE \`${db}\`.cel`);
    await conn.query(`ALTER TABLE \`${db}\`.cel ENGINE=InnoDB`);
    const connectedBefore = first.events.filter((e) => e.code === 'CEL_CONNECTED').length;
    await conn.query(`KILL CONNECTION ${first.source.connectionId as number}`);
    await insertRows(conn, db, 'cel', rows.slice(15_000, 15_500));
    await first.until('a batch after the reconnect', () => first.events.filter((e) => e.code === 'CEL_CONNECTED').length > connectedBefore && first.batches > 0 && first.cursor !== 15_000);
    const firstBatches = first.batches;
    await first.until('one more batch', () => first.batches > firstBatches, 2_000).catch(() => undefined);
    await first.stop(); // the process stops here and starts again from the saved state
    await insertRows(conn, db, 'cel', rows.slice(15_500));
    const second = startRun(db, store);
    await second.until('the end of the table', () => second.cursor >= rows.length);
    await second.stop();
    const all = [...first.calls, ...second.calls];
    const { duplicated, lost, invented } = tally('OPTIMIZE + ALTER + reconnect + restart', all, reference);
    assert.equal(duplicated, 0);
    assert.equal(lost, 0);
    assert.equal(invented, 0);
    assert.deepEqual([...first.events, ...second.events].filter((e) => e.code === 'CEL_CURSOR_RESET'), [], 'maintenance is not a recreated table');
    assert.equal(first.source.stats.rowsRead + second.source.stats.rowsRead, rows.length, 'every row read once');
  } finally {
    await store.close();
  }
});

/** `2026-11-24 06:00:00` + ms, as MariaDB DATETIME keeps it (whole seconds). */
function atMs(ms: number): string {
  return new Date(Date.UTC(2026, 10, 24, 6, 0, 0) + ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The rows around one row X committed late: before it, X in an open transaction, after it. */
async function withLateCommit(db: string, rows: readonly CelRow[], xId: number, afterUpTo: number, lagMs: number, whileHeld: () => Promise<void>): Promise<void> {
  const conn = root as mysql.Connection;
  const slow = (await connectRoot()) as { conn: mysql.Connection };
  try {
    await slow.conn.beginTransaction();
    await insertRows(slow.conn, db, 'cel', rows.filter((r) => r.id === xId));
    await insertRows(conn, db, 'cel', rows.filter((r) => r.id > xId && r.id <= afterUpTo));
    await new Promise((r) => setTimeout(r, lagMs));
    await whileHeld();
    await slow.conn.commit();
  } finally {
    await slow.conn.end();
  }
}

test('a row committed 2.5 s after the rows after it (a full page of them) is waited for, within gap_wait_ms', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('cellate');
  // 3,000 rows, 110 calls, written as a busy PBX writes them: 2 ms apart (the rows' times say the gap is
  // fresh, so only the wall clock decides how long it is held).
  const rows = copiesOf(recorded, 10).map((r) => ({ ...r, eventtime: atMs(r.id * 2) }));
  const reference = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
  // Row X: the caller's HANGUP of the busy call in copy 4 (without it that call's result is not 486).
  const x = rows.find((r) => r.linkedid === '4x1795500142.62' && r.uniqueid === '4x1795500142.62' && r.eventtype === 'HANGUP')!;
  await insertRows(conn, db, 'cel', rows.filter((r) => r.id < x.id));
  const run = startRun(db, createMemoryStateStore(), { gapWaitMs: 3000 });
  try {
    await run.until('the rows before X', () => run.cursor >= x.id - 1);
    // 600 rows (three full pages of 200) committed while X is not.
    await withLateCommit(db, rows, x.id, x.id + 600, 2500, async () => {
      assert.ok(run.cursor < x.id, `nothing after X handed over while X is missing (cursor ${run.cursor})`);
    });
    await insertRows(conn, db, 'cel', rows.filter((r) => r.id > x.id + 600));
    await run.until('every row', () => run.cursor >= rows.length);
  } finally {
    await run.stop();
  }
  const { duplicated, lost, invented } = tally('late commit within the hold', run.calls, reference);
  assert.deepEqual([duplicated, lost, invented], [0, 0, 0]);
  assert.equal(byLinkedid(run.calls).get('4x1795500142.62')?.callFull.result, 486, 'the late HANGUP was applied');
  assert.deepEqual(run.calls.map((c) => c.callFull), reference.map((c) => c.callFull), 'every call exactly as the replay');
  assert.equal(run.source.stats.gapsSkipped, 0);
});

test('a row committed after gap_wait_ms is still handed over (late, warned) and its call is right', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('cellate2');
  const rows = copiesOf(recorded, 3);
  const reference = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
  const busy = '2x1795500142.62';
  const x = rows.find((r) => r.linkedid === busy && r.uniqueid === busy && r.eventtype === 'HANGUP')!;
  const end = rows.find((r) => r.linkedid === busy && r.eventtype === 'LINKEDID_END')!;
  await insertRows(conn, db, 'cel', rows.filter((r) => r.id < x.id));
  const run = startRun(db, createMemoryStateStore(), { gapWaitMs: 500 });
  try {
    await run.until('the rows before X', () => run.cursor >= x.id - 1);
    // The rows after X, up to its call's end (exclusive), commit at once; X 2.5 s later (hold: 0.5 s).
    await withLateCommit(db, rows, x.id, end.id - 1, 2500, async () => {
      await run.until('the gap skipped', () => run.events.some((e) => e.code === 'CEL_ID_GAP_SKIPPED'));
    });
    await run.until('the late row', () => run.events.some((e) => e.code === 'CEL_LATE_ROW'));
    await insertRows(conn, db, 'cel', rows.filter((r) => r.id >= end.id));
    await run.until('every row', () => run.cursor >= rows.length);
  } finally {
    await run.stop();
  }
  const { duplicated, lost, invented } = tally('late commit beyond the hold', run.calls, reference);
  assert.deepEqual([duplicated, lost, invented], [0, 0, 0]);
  assert.match(run.events.find((e) => e.code === 'CEL_LATE_ROW')?.message ?? '', new RegExp(`row ${x.id} \\(HANGUP\\) appeared after its id had been skipped`));
  assert.equal(run.source.stats.lateRows, 1);
  assert.equal(byLinkedid(run.calls).get(busy)?.callFull.result, 486, 'the late HANGUP was applied to its call');
});

test('an unfinished call of 40,000 rows (more than max_allowed_packet as rows): the state stays small, saves succeed, the cursor moves', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('celhuge');
  const base = recorded[0]!; // CHAN_START of the caller of the first call
  const lid = 'huge.1';
  const big: CelRow[] = [{ ...base, id: 1, uniqueid: lid, linkedid: lid }];
  const padding = 'x'.repeat(300); // appdata: each row ~500 bytes of JSON, 20 MB in all
  for (let i = 2; i <= 40_000; i++) big.push({ ...base, id: i, eventtype: 'DTMF', uniqueid: lid, linkedid: lid, appdata: padding, extra: '{"digit":"5","duration_ms":120}' });
  const tail: CelRow[] = [
    { ...base, id: 40_001, eventtype: 'HANGUP', uniqueid: lid, linkedid: lid, extra: '{"hangupcause":16,"hangupsource":"","dialstatus":""}' },
    { ...base, id: 40_002, eventtype: 'CHAN_END', uniqueid: lid, linkedid: lid },
    { ...base, id: 40_003, eventtype: 'LINKEDID_END', uniqueid: lid, linkedid: lid },
  ];
  const [packet] = await conn.query('SELECT @@max_allowed_packet AS n');
  const maxPacket = Number((packet as Array<{ n: unknown }>)[0]?.n);
  assert.ok(JSON.stringify(big).length > maxPacket, 'the call as rows is bigger than one packet');
  await insertRows(conn, db, 'cel', big);
  const store = await stateStore(db);
  databases.push(`${db}_state`);
  try {
    const first = startRun(db, store, { batchSize: 1000 });
    await first.until('all 40,000 rows', () => first.cursor >= 40_000);
    const r1 = await first.stop();
    assert.deepEqual(first.saveErrors, [], 'no save failed');
    assert.equal(r1.saveErrors, 0);
    const [stored] = await conn.query(`SELECT cursor_id AS c, LENGTH(pending_rows) + LENGTH(resume) AS bytes FROM \`${db}_state\`.cel_source_state`);
    const saved = (stored as Array<{ c: unknown; bytes: unknown }>)[0]!;
    console.log(`stored state for a 40,000-row open call: ${String(saved.bytes)} bytes, cursor ${String(saved.c)}`);
    assert.equal(Number(saved.c), 40_000, 'the saved cursor is the last row read');
    assert.ok(Number(saved.bytes) < 4096, `state of ${String(saved.bytes)} bytes`);
    // Restart: the call is rebuilt from the table, then ends.
    await insertRows(conn, db, 'cel', tail);
    const second = startRun(db, store, { batchSize: 1000 });
    await second.until('the call ends', () => second.calls.length > 0);
    const r2 = await second.stop();
    const reference = assembleAll([...big, ...tail], { calls: {}, numbers: testNumbers }).calls;
    const { duplicated, lost } = tally('40,000-row call across a restart', [...first.calls, ...second.calls], reference);
    assert.deepEqual([duplicated, lost], [0, 0]);
    assert.equal(r2.resumedRows, 40_000, 'rebuilt from its rows in the table');
    assert.equal(second.calls[0]?.rowCount, 40_003);
    assert.deepEqual(second.calls[0]?.callFull, reference[0]?.callFull);
  } finally {
    await store.close();
  }
});

test('NULL in a nullable column, and bytes that are not UTF-8 in a binary one, are warned with the row id, not silently', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('celnull');
  await conn.query(`ALTER TABLE \`${db}\`.cel MODIFY channame VARCHAR(80) NULL, MODIFY exten VARCHAR(80) NULL`);
  await insertRows(conn, db, 'cel', recorded.slice(0, 30));
  await conn.query(`UPDATE \`${db}\`.cel SET channame = NULL, exten = NULL WHERE id = 6`);
  await conn.query(`UPDATE \`${db}\`.cel SET exten = NULL WHERE id = 9`);
  // A binary caller-name column holding Latin-1 bytes.
  await conn.query(`ALTER TABLE \`${db}\`.cel MODIFY cid_name VARBINARY(80) NOT NULL`);
  await conn.query(`UPDATE \`${db}\`.cel SET cid_name = X'4a6f73e9' WHERE id = 12`);
  const run = startRun(db, createMemoryStateStore());
  try {
    await run.until('30 rows', () => run.cursor >= 30);
  } finally {
    await run.stop();
  }
  const nulls = run.events.filter((e) => e.code === 'CEL_NULL_FIELDS').map((e) => e.message);
  assert.equal(nulls.length, 2, nulls.join('\n'));
  assert.match(nulls[0]!, /row 6 \(CHAN_START\): exten, channame are NULL; read as ''/);
  assert.match(nulls[1]!, /row 9 \(BRIDGE_ENTER\): exten is NULL/);
  assert.equal(run.source.stats.nullFields, 2);
  const encoding = run.events.filter((e) => e.code === 'CEL_BAD_ENCODING').map((e) => e.message);
  assert.equal(encoding.length, 1, encoding.join('\n'));
  assert.match(encoding[0]!, /row 12: cid_name has bytes that are not UTF-8/);
  assert.equal(run.source.stats.badEncoding, 1);
});

test('a table recreated with its old rows under new ids: one summary line per batch, not a warning per row, and no call twice', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshTable('celflood');
  const rows = copiesOf(recorded, 10); // 3,000 rows
  const reference = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
  await insertRows(conn, db, 'cel', rows.map((r) => ({ ...r, id: r.id + 5000 })));
  const run = startRun(db, createMemoryStateStore());
  try {
    await run.until('every row', () => run.cursor >= 8000);
    // A restore into a new table: the same rows, ids from 1.
    const batches = run.batches;
    await conn.query(`DROP TABLE \`${db}\`.cel`);
    await conn.query(freepbxCelDdl(db));
    await insertRows(conn, db, 'cel', rows, { withIds: false });
    await run.until('the recreated table read', () => run.cursor === rows.length && run.batches > batches);
  } finally {
    await run.stop();
  }
  const { duplicated, lost, invented } = tally('table recreated with its old rows', run.calls, reference);
  assert.deepEqual([duplicated, lost, invented], [0, 0, 0]);
  assert.ok(run.events.some((e) => e.code === 'CEL_CURSOR_RESET'));
  const late = run.warnings.filter((w) => w.code === 'late_row');
  assert.equal(late.reduce((n, w) => n + (w.count ?? 1), 0), rows.length, 'every old row is counted as late');
  const worst = Math.max(...run.perBatch);
  console.log(`log lines per batch after the reset: at most ${worst} (batches of 200 rows)`);
  assert.ok(worst <= 15, `at most a few lines per batch, saw ${worst}`);
});
