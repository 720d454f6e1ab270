// The MariaDB source against the real local server: FreePBX schema, polling and backoff, a
// SELECT-only user, killed connections, dropped and recreated tables, column variants, id gaps
// from uncommitted inserts, and the state store. Every test uses its own database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type mysql from 'mysql2/promise';
import type { CelRow } from '../../core/cel/row.js';
import {
  CelStateError, createMariaDbSource, createMariaDbStateStore, readCelFile, type CelSource, type CelSourceEvent,
} from '../../core/cel/sources/index.js';
import { DB, asStoredByFreepbx, connectRoot, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { RECORDED } from './assembler-kit.js';

const recorded = RECORDED;
let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let recordedRows: CelRow[] = [];

before(async () => {
  const result = await connectRoot();
  if ('skip' in result) skip = result.skip;
  else root = result.conn;
  for await (const row of readCelFile(recorded)) recordedRows.push(row);
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
});

async function freshDatabase(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  databases.push(name);
  await (root as mysql.Connection).query(`CREATE DATABASE \`${name}\``);
  return name;
}

/** Reads in the background until stopped; rows and events accumulate for the test to inspect. */
function startReading(source: CelSource, afterId?: number) {
  const controller = new AbortController();
  const rows: CelRow[] = [];
  const batchSizes: number[] = [];
  const done = (async () => {
    for await (const batch of source.batches(controller.signal, afterId === undefined ? {} : { afterId })) {
      batchSizes.push(batch.length);
      rows.push(...batch);
    }
  })();
  return {
    rows, batchSizes, done,
    async stop() {
      controller.abort();
      await done;
      await source.close();
    },
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('FreePBX cel table: all recorded rows in id order, batched, polled with backoff, new rows picked up', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_freepbx');
  await conn.query(freepbxCelDdl(db));
  await insertRows(conn, db, 'cel', recordedRows);
  const events: CelSourceEvent[] = [];
  const source = createMariaDbSource({ ...DB, database: db, batchSize: 64, pollMinMs: 20, pollMaxMs: 160, onEvent: (e) => events.push(e) });
  assert.equal(source.description, `mariadb 127.0.0.1:3306 ${db}.cel`);
  const reader = startReading(source);
  try {
    await waitFor('300 rows', () => reader.rows.length >= 300);
    assert.deepEqual(reader.rows, recordedRows.map(asStoredByFreepbx), 'same rows as the file, as FreePBX stores them');
    assert.ok(reader.batchSizes.every((n) => n <= 64));
    assert.deepEqual([...source.missingColumns].sort(), ['peeraccount', 'userfield']);
    assert.ok(events.some((e) => e.code === 'CEL_MISSING_COLUMNS' && /peeraccount, userfield/.test(e.message)));
    assert.ok(!events.some((e) => e.code === 'CEL_NO_EXTRA'));

    // Idle: polls back off 20 → 40 → 80 → 160 ms, so about 9 polls in 1.2 s instead of 60.
    const before = source.stats.emptyPolls;
    await new Promise((r) => setTimeout(r, 1200));
    const idlePolls = source.stats.emptyPolls - before;
    assert.ok(idlePolls >= 3 && idlePolls <= 16, `expected backoff, saw ${idlePolls} empty polls in 1.2 s`);

    // cel_odbc keeps inserting (auto_increment ids): the new rows arrive in the next poll.
    await insertRows(conn, db, 'cel', recordedRows.slice(0, 5), { withIds: false });
    await waitFor('5 new rows', () => reader.rows.length >= 305);
    assert.deepEqual(reader.rows.slice(300).map((r) => r.id), [301, 302, 303, 304, 305]);
    assert.equal(reader.rows.length, 305);
    assert.equal(source.stats.rowsRead, 305);
    assert.equal(source.stats.retries, 0);
  } finally {
    await reader.stop();
  }
});

test('read-only user: survives a KILLed connection and a dropped-then-recreated table, loses and repeats nothing', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_ro');
  const user = uniqueName('celro').slice(0, 32);
  await conn.query(freepbxCelDdl(db));
  await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'ro-secret'`);
  t.after(() => conn.query(`DROP USER IF EXISTS '${user}'@'%'`));
  await conn.query(`GRANT SELECT ON \`${db}\`.\`cel\` TO '${user}'@'%'`);
  await insertRows(conn, db, 'cel', recordedRows.slice(0, 100));

  const events: CelSourceEvent[] = [];
  const source = createMariaDbSource({
    host: DB.host, port: DB.port, user, password: 'ro-secret', database: db,
    batchSize: 40, pollMinMs: 20, pollMaxMs: 100, retryMinMs: 50, retryMaxMs: 200, onEvent: (e) => events.push(e),
  });
  const reader = startReading(source);
  try {
    await waitFor('first 100 rows', () => reader.rows.length >= 100);
    assert.deepEqual(events.filter((e) => e.level === 'error'), [], 'a SELECT-only user is enough: the source never writes');

    // Another session kills the source's connection.
    const [processes] = await conn.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
    const ids = (processes as Array<{ id: number }>).map((p) => p.id);
    assert.equal(ids.length, 1);
    assert.equal(ids[0], source.connectionId);
    await conn.query(`KILL CONNECTION ${ids[0]}`);
    await insertRows(conn, db, 'cel', recordedRows.slice(100, 200));
    await waitFor('rows after the kill', () => reader.rows.length >= 200);
    assert.ok(events.some((e) => e.code === 'CEL_CONNECTION_LOST'), 'the lost connection is reported');
    assert.notEqual(source.connectionId, ids[0], 'reconnected');
    assert.deepEqual(reader.rows.map((r) => r.id), recordedRows.slice(0, 200).map((r) => r.id), 'nothing lost, nothing twice');

    // The table is dropped: reported and retried, not fatal.
    await conn.query(`DROP TABLE \`${db}\`.\`cel\``);
    await waitFor('table missing reported', () => events.some((e) => e.code === 'CEL_TABLE_MISSING'));
    const missing = events.find((e) => e.code === 'CEL_TABLE_MISSING');
    assert.ok(missing?.retryInMs !== undefined && missing.retryInMs > 0);
    assert.doesNotMatch(JSON.stringify(events), /ro-secret/, 'the password never appears in events');
    // It comes back empty (ids restart at 1): the source notices and reads the new rows from the start.
    await conn.query(freepbxCelDdl(db));
    await insertRows(conn, db, 'cel', recordedRows.slice(200, 230), { withIds: false });
    await waitFor('rows of the recreated table', () => reader.rows.length >= 230);
    assert.ok(events.some((e) => e.code === 'CEL_CURSOR_RESET'));
    assert.deepEqual(reader.rows.slice(200).map((r) => r.uniqueid), recordedRows.slice(200, 230).map((r) => r.uniqueid));
    assert.deepEqual(reader.rows.slice(200).map((r) => r.id), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(reader.rows.length, 230);
  } finally {
    await reader.stop();
  }
});

test('column variants: Issabel eventextra, an aliased extra column, no extra at all, integer eventtype', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_cols');
  const sample = recordedRows.slice(0, 40);
  const withExtra = sample.find((r) => r.extra !== '');
  assert.ok(withExtra);
  const variants = [
    { table: 'issabel', extraColumn: 'eventextra', aliases: {} },
    { table: 'aliased', extraColumn: 'my_extra', aliases: { extra: 'my_extra' } },
    { table: 'noextra', extraColumn: undefined, aliases: {} },
  ];
  for (const variant of variants) {
    await conn.query(`CREATE TABLE \`${db}\`.\`${variant.table}\` (
      id INT AUTO_INCREMENT PRIMARY KEY, eventtype VARCHAR(30) NOT NULL DEFAULT '', eventtime DATETIME NOT NULL,
      cid_num VARCHAR(80) NULL DEFAULT '', channame VARCHAR(80) NOT NULL DEFAULT '', uniqueid VARCHAR(150) NOT NULL DEFAULT '',
      linkedid VARCHAR(150) NOT NULL DEFAULT '', userfield VARCHAR(255) NOT NULL DEFAULT ''
      ${variant.extraColumn ? `, \`${variant.extraColumn}\` VARCHAR(255) NOT NULL DEFAULT ''` : ''})`);
    const columns = ['eventtype', 'eventtime', 'channame', 'uniqueid', 'linkedid', ...(variant.extraColumn ? ['extra'] : [])];
    const rows = sample.map((r) => ({ ...r, [variant.extraColumn ?? 'extra']: r.extra }));
    await insertRows(conn, db, variant.table, rows, { withIds: false, columns: columns.map((c) => (c === 'extra' ? (variant.extraColumn as string) : c)) });
    await conn.query(`UPDATE \`${db}\`.\`${variant.table}\` SET cid_num = NULL WHERE id = 1`);
    // Spaces are a value (PAD SPACE collations compare '  ' equal to ''; the source must not).
    await conn.query(`UPDATE \`${db}\`.\`${variant.table}\` SET cid_num = '  ' WHERE id = 3`);
    const events: CelSourceEvent[] = [];
    const source = createMariaDbSource({ ...DB, database: db, table: variant.table, columnAliases: variant.aliases, pollMinMs: 20, onEvent: (e) => events.push(e) });
    const reader = startReading(source);
    try {
      await waitFor(`${variant.table} rows`, () => reader.rows.length >= 40);
      await new Promise((r) => setTimeout(r, 100)); // a few more (empty) polls: the warning must stay single
      const got: CelRow | undefined = reader.rows.find((r) => r.uniqueid === withExtra.uniqueid && r.eventtype === withExtra.eventtype);
      const noExtra = events.filter((e) => e.code === 'CEL_NO_EXTRA');
      if (variant.extraColumn) {
        assert.equal(got?.extra, withExtra.extra, `${variant.table}: extra read from ${variant.extraColumn}`);
        assert.equal(noExtra.length, 0);
      } else {
        assert.ok(reader.rows.every((r) => r.extra === ''));
        assert.equal(noExtra.length, 1, 'warned exactly once');
        assert.equal(noExtra[0]?.level, 'warn');
        assert.match(noExtra[0]?.message ?? '', /^CEL_NO_EXTRA: .*detailed call statuses degrade to answered\/missed/);
      }
      assert.equal(reader.rows[0]?.cid_num, '', 'NULL reads as empty');
      assert.equal(reader.rows[1]?.cid_num, '', 'a column with no value reads as empty');
      assert.equal(reader.rows[2]?.cid_num, '  ', 'a value of spaces stays as it is');
      assert.equal(reader.rows[0]?.amaflags, 0, 'absent amaflags column reads as 0');
    } finally {
      await reader.stop();
    }
  }

  // A table where cel_odbc wrote numeric event codes: names come back; USER_DEFINED takes the user's name.
  await conn.query(`CREATE TABLE \`${db}\`.numeric_cel (id INT AUTO_INCREMENT PRIMARY KEY, eventtype INT NOT NULL, eventtime DATETIME(6) NOT NULL, userdeftype VARCHAR(255) NOT NULL DEFAULT '', extra VARCHAR(512) NOT NULL DEFAULT '')`);
  await conn.query(`INSERT INTO \`${db}\`.numeric_cel (eventtype, eventtime, userdeftype) VALUES (1, '2026-11-24 06:02:02.142554', ''), (13, '2026-11-24 06:02:03', 'CRM_TAG'), (99, '2026-11-24 06:02:04', '')`);
  const source = createMariaDbSource({ ...DB, database: db, table: 'numeric_cel', pollMinMs: 20 });
  const reader = startReading(source);
  try {
    await waitFor('numeric rows', () => reader.rows.length >= 3);
    assert.deepEqual(reader.rows.map((r) => [r.eventtype, r.eventtime]), [
      ['CHAN_START', '2026-11-24 06:02:02.142554'], ['CRM_TAG', '2026-11-24 06:02:03.000000'], ['99', '2026-11-24 06:02:04.000000'],
    ]);
  } finally {
    await reader.stop();
  }
});

test('an id gap at the tail (insert not committed yet) is waited for, so the late row is not skipped', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_gap');
  await conn.query(freepbxCelDdl(db));
  await insertRows(conn, db, 'cel', recordedRows.slice(0, 10), { withIds: false });
  const events: CelSourceEvent[] = [];
  const source = createMariaDbSource({ ...DB, database: db, pollMinMs: 20, pollMaxMs: 40, gapWaitMs: 5000, onEvent: (e) => events.push(e) });
  const reader = startReading(source);
  const slow = (await connectRoot()) as { conn: mysql.Connection };
  try {
    await waitFor('first rows', () => reader.rows.length >= 10);
    // A slow writer takes id 11 inside an open transaction; a fast one commits id 12.
    await slow.conn.beginTransaction();
    await insertRows(slow.conn, db, 'cel', recordedRows.slice(10, 11), { withIds: false });
    await insertRows(conn, db, 'cel', recordedRows.slice(11, 12), { withIds: false });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(reader.rows.length, 10, 'row 12 is held back while 11 is missing');
    await slow.conn.commit();
    await waitFor('rows 11 and 12', () => reader.rows.length >= 12);
    assert.deepEqual(reader.rows.map((r) => r.id), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.equal(source.stats.gapsSkipped, 0);

    // A rolled-back insert leaves a gap for good: it is accepted after gapWaitMs... here a short one.
    await reader.stop();
    const events2: CelSourceEvent[] = [];
    const quick = createMariaDbSource({ ...DB, database: db, pollMinMs: 20, pollMaxMs: 40, gapWaitMs: 300, startAfterId: 12, onEvent: (e) => events2.push(e) });
    const reader2 = startReading(quick);
    try {
      await slow.conn.beginTransaction();
      await insertRows(slow.conn, db, 'cel', recordedRows.slice(12, 13), { withIds: false });
      await slow.conn.rollback();
      await insertRows(conn, db, 'cel', recordedRows.slice(13, 14), { withIds: false });
      await waitFor('row after the rolled-back id', () => reader2.rows.length >= 1);
      assert.deepEqual(reader2.rows.map((r) => r.id), [14]);
      assert.equal(quick.stats.gapsSkipped, 1);
      assert.ok(events2.some((e) => e.code === 'CEL_ID_GAP_SKIPPED'));
    } finally {
      await reader2.stop();
    }
  } finally {
    await reader.stop();
    await slow.conn.end();
  }
});

test('unreachable server or missing database: reported and retried until aborted, never thrown', async (t) => {
  if (skip) return t.skip(skip);
  const events: CelSourceEvent[] = [];
  const badPassword = createMariaDbSource({ ...DB, user: 'root', password: 'wrong-password-xyz', port: 1, retryMinMs: 20, retryMaxMs: 40, onEvent: (e) => events.push(e) });
  const reader = startReading(badPassword);
  await waitFor('three retries', () => badPassword.stats.retries >= 3);
  await reader.stop();
  assert.ok(events.every((e) => e.code === 'CEL_CONNECTION_LOST'));
  assert.doesNotMatch(JSON.stringify(events), /wrong-password-xyz/);

  // The database appears later (FreePBX installed after the connector): reading starts by itself.
  const conn = root as mysql.Connection;
  const db = uniqueName('celsrc_late');
  databases.push(db);
  const lateEvents: CelSourceEvent[] = [];
  const late = createMariaDbSource({ ...DB, database: db, pollMinMs: 20, retryMinMs: 20, retryMaxMs: 50, onEvent: (e) => lateEvents.push(e) });
  const lateReader = startReading(late);
  try {
    await waitFor('table missing', () => lateEvents.some((e) => e.code === 'CEL_TABLE_MISSING'));
    await conn.query(`CREATE DATABASE \`${db}\``);
    await conn.query(freepbxCelDdl(db));
    await insertRows(conn, db, 'cel', recordedRows.slice(0, 20));
    await waitFor('rows', () => lateReader.rows.length >= 20);
    assert.equal(lateReader.rows.length, 20);
  } finally {
    await lateReader.stop();
  }
});

test('state store: creates its own database, saves cursor and pending rows atomically, reloads them, rejects corruption', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const database = uniqueName('callhook_state');
  databases.push(database);
  const store = await createMariaDbStateStore({ ...DB, database, key: 'pbx-1' });
  const other = await createMariaDbStateStore({ ...DB, database, key: 'pbx-2' });
  try {
    assert.deepEqual(await store.load(), { cursor: 0, pendingRows: [] }, 'nothing saved yet');
    const pending = recordedRows.slice(5, 12);
    await store.save({ cursor: 12, pendingRows: pending });
    await other.save({ cursor: 99, pendingRows: [] });
    assert.deepEqual(await store.load(), { cursor: 12, pendingRows: pending });
    await store.save({ cursor: 40, pendingRows: recordedRows.slice(30, 31) });
    assert.deepEqual(await store.load(), { cursor: 40, pendingRows: recordedRows.slice(30, 31) });
    assert.deepEqual(await other.load(), { cursor: 99, pendingRows: [] }, 'keys are independent');
    // A store created again (restart) sees the same state.
    const again = await createMariaDbStateStore({ ...DB, database, key: 'pbx-1' });
    assert.equal((await again.load()).cursor, 40);
    await again.close();

    await conn.query(`UPDATE \`${database}\`.cel_source_state SET pending_rows = '[{"id":1,"eventtype":"ANSWER","amaflags":"x"}]' WHERE source_key = 'pbx-1'`);
    await assert.rejects(store.load(), (error: unknown) => error instanceof CelStateError && /cel_source_state key 'pbx-1': pending_rows\[0\]: .*field 'amaflags'/.test(error.message));
  } finally {
    await store.close();
    await other.close();
  }
});

test('a large backlog is streamed; a connection killed mid-stream resumes after the last row handed over', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_backlog');
  await conn.query(freepbxCelDdl(db));
  const total = 60_000;
  await conn.query(`INSERT INTO \`${db}\`.cel (id, eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame, appname, appdata, amaflags, accountcode, uniqueid, linkedid, peer, userdeftype, extra)
    SELECT seq, 'CHAN_START', '2026-11-24 06:00:00', 'Alice', '200', '', '', '', '201', 'from-internal', CONCAT('PJSIP/200-', seq), '', '', 3, '', CONCAT('1795500000.', seq), CONCAT('1795500000.', seq), '', '', '' FROM test.seq_1_to_${total}`);
  const events: CelSourceEvent[] = [];
  const source = createMariaDbSource({ ...DB, database: db, batchSize: 500, pollMinMs: 20, retryMinMs: 20, onEvent: (e) => events.push(e) });
  const controller = new AbortController();
  const ids: number[] = [];
  let killed = false;
  for await (const batch of source.batches(controller.signal)) {
    for (const row of batch) ids.push(row.id);
    if (!killed && ids.length >= 5000) {
      killed = true;
      await conn.query(`KILL CONNECTION ${source.connectionId}`);
    }
    if (ids.length >= total) break;
  }
  await source.close();
  assert.ok(killed);
  assert.equal(ids.length, total, 'every row exactly once');
  assert.ok(ids.every((id, i) => id === i + 1), 'in id order, no gap, no repeat');
  assert.ok(events.some((e) => e.code === 'CEL_CONNECTION_LOST'), 'the kill was noticed and reported');
  assert.equal(source.stats.rowsRead, total);
});

test('close() ends a reader that is waiting between polls at once', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root as mysql.Connection;
  const db = await freshDatabase('celsrc_close');
  await conn.query(freepbxCelDdl(db));
  const source = createMariaDbSource({ ...DB, database: db, pollMinMs: 30_000, pollMaxMs: 30_000 });
  const done = (async () => {
    for await (const _ of source.batches()) { /* the table is empty */ }
  })();
  await waitFor('the first (empty) poll', () => source.stats.emptyPolls >= 1);
  const started = Date.now();
  await source.close();
  await done;
  assert.ok(Date.now() - started < 2000, `ended ${Date.now() - started} ms after close(), not after the 30 s poll wait`);
});
