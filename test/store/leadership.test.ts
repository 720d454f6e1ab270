// The lease on the real MariaDB: acquire, renew, expiry by the database's clock, a takeover with a new
// fencing token, and a deposed leader's writes (outbox, CEL cursor) refused by the database itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type mysql from 'mysql2/promise';
import {
  checkFence, createConnectorStore, createLeaseTable, openLeadership, openMariaDbDriver, tryLease, LeaseLostError, type Leadership,
} from '../../core/store/index.js';
import type { SqlExecutor } from '../../core/store/sql.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';
import { waitUntil } from '../pipeline/kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
const logger = pino({ level: 'silent' });

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
});

async function driverFor(database: string, connections = 2) {
  return openMariaDbDriver({ ...DB, database, connections });
}

test('tryLease: first comer gets token 1, renews it, a second instance waits until it expires by the DB clock, then takes token 2', async (t) => {
  if (skip) return t.skip(skip);
  const db = uniqueName('prod_lease');
  databases.push(db);
  const d = await driverFor(db);
  try {
    await createLeaseTable(d);
    const a1 = await tryLease(d, 'pbx1', 'A', null, 800);
    assert.equal(a1.held, true);
    assert.equal(a1.held && a1.token, 1);
    const b1 = await tryLease(d, 'pbx1', 'B', null, 800);
    assert.equal(b1.held, false, 'B must not get a lease A holds');
    assert.equal(!b1.held && b1.holder, 'A');
    const a2 = await tryLease(d, 'pbx1', 'A', 1, 800);
    assert.ok(a2.held && a2.token === 1 && !a2.acquired, 'A renews its own term with the same token');
    // Another PBX is another lease.
    const other = await tryLease(d, 'pbx2', 'B', null, 800);
    assert.ok(other.held && other.token === 1);
    await new Promise((r) => setTimeout(r, 1000));
    const b2 = await tryLease(d, 'pbx1', 'B', null, 800);
    assert.ok(b2.held && b2.token === 2 && b2.acquired, 'B takes the expired lease with a new token');
    const a3 = await tryLease(d, 'pbx1', 'A', 1, 800);
    assert.equal(a3.held, false, 'A cannot renew a term that was taken over');
  } finally {
    await d.close();
  }
});

test('a deposed leader\'s outbox and cursor writes are refused by the database; the new leader\'s go through', async (t) => {
  if (skip) return t.skip(skip);
  const db = uniqueName('prod_fence');
  databases.push(db);
  const opened: Array<{ close(): Promise<void> }> = [];
  try {
    // A: a leader frozen right after it took the lease (token 1, never renewed). Its fence asks the
    // database only, so what is refused below is refused by the database, not by A's own bookkeeping.
    const leaseA = await driverFor(db, 1);
    opened.push(leaseA);
    await createLeaseTable(leaseA);
    const a = await tryLease(leaseA, 'p', 'A', null, 1500);
    assert.ok(a.held && a.token === 1);
    const fenceA = {
      async check(tx: SqlExecutor) {
        if (!(await checkFence(tx, 'p', 'A', 1))) throw new LeaseLostError('A no longer holds the lease');
      },
    };
    const storeA = await createConnectorStore(await driverFor(db), { fence: fenceA });
    opened.push(storeA);
    const b = await openLeadership({ driver: await driverFor(db, 1), pbx: 'p', settings: { lease_ms: 1500, renew_ms: 300, instance: 'B' }, logger });
    opened.push(b);
    const storeB = await createConnectorStore(await driverFor(db), { fence: b.fence });
    opened.push(storeB);

    const action = (key: string) => ({
      linkedid: 'L1', key, portal: 'x', method: 'm', params: {}, status: 'sending' as const, attempts: 1, outcome: null, eventId: 1, run: 1, firstAt: 1, lastAt: 1,
    });
    await storeA.write('p', 'L1', { actions: [action('register')] });
    assert.equal(b.role(), 'standby', 'B waits while the lease runs');
    // B (standby) cannot write either: only the holder may.
    await assert.rejects(storeB.write('p', 'L1', { actions: [action('b-early')] }), LeaseLostError);

    await waitUntil('B takes over', () => b.role() === 'leader', 6000);
    assert.equal(b.snapshot().token, 2);
    await assert.rejects(storeA.write('p', 'L1', { actions: [action('late')] }), LeaseLostError);
    await assert.rejects(storeA.ingestSink('p').commit({ cursor: 99, state: { cursor: 99, pendingRows: [] }, stages: [], finished: [] }), LeaseLostError);
    await storeB.write('p', 'L1', { actions: [action('finish')] });
    await storeB.ingestSink('p').commit({ cursor: 7, state: { cursor: 7, pendingRows: [] }, stages: [], finished: [] });
    const keys = (await storeB.actions('p', 'L1')).map((r) => r.key).sort();
    assert.deepEqual(keys, ['finish', 'register'], 'nothing the deposed leader wrote after the takeover landed');
    assert.equal((await storeB.ingestSink('p').load()).cursor, 7, "the cursor is the new leader's");
    assert.equal((await tryLease(leaseA, 'p', 'A', 1, 1500)).held, false, 'A cannot renew a term that was taken over');
  } finally {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
  }
});

test('a leader that cannot reach the database stands down before its lease runs out; a graceful stop hands over at once', async (t) => {
  if (skip) return t.skip(skip);
  const db = uniqueName('prod_standdown');
  databases.push(db);
  const user = uniqueName('prod_u').slice(0, 32);
  const conn = root!;
  await conn.query(`CREATE DATABASE \`${db}\``);
  await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
  await conn.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY 'pw'`);
  await conn.query(`GRANT ALL ON \`${db}\`.* TO '${user}'@'%'`);
  await conn.query(`GRANT ALL ON \`${db}\`.* TO '${user}'@'localhost'`);
  const settings = { lease_ms: 2000, renew_ms: 300, instance: '' };
  let a: Leadership | undefined;
  let b: Leadership | undefined;
  try {
    a = await openLeadership({ driver: await openMariaDbDriver({ ...DB, user, password: 'pw', database: db, connections: 1 }), pbx: 'p', settings: { ...settings, instance: 'A' }, logger });
    await waitUntil('A leads', () => a!.role() === 'leader', 5000);
    b = await openLeadership({ driver: await driverFor(db, 1), pbx: 'p', settings: { ...settings, instance: 'B' }, logger });
    // A's account is locked and its connections killed: it can neither renew nor reconnect.
    const cutAt = Date.now();
    await conn.query(`ALTER USER '${user}'@'%' ACCOUNT LOCK`);
    await conn.query(`ALTER USER '${user}'@'localhost' ACCOUNT LOCK`);
    const [procs] = await conn.query(`SELECT id FROM information_schema.PROCESSLIST WHERE user = ?`, [user]);
    for (const p of procs as Array<{ id: number }>) await conn.query(`KILL CONNECTION ${p.id}`).catch(() => undefined);
    await waitUntil('A stands down', () => a!.role() !== 'leader', 5000);
    const aDown = Date.now() - cutAt;
    await waitUntil('B takes over', () => b!.role() === 'leader', 8000);
    const bUp = Date.now() - cutAt;
    console.log(`# database cut: A stood down after ${aDown} ms, B leads after ${bUp} ms (lease 2000 ms)`);
    assert.ok(aDown <= bUp, 'the old leader stands down before the new one starts');
    // A graceful stop releases at once: A (reconnected) gets it back without waiting for a lease to run out.
    await conn.query(`ALTER USER '${user}'@'%' ACCOUNT UNLOCK`);
    await conn.query(`ALTER USER '${user}'@'localhost' ACCOUNT UNLOCK`);
    const stopAt = Date.now();
    await b.close();
    await waitUntil('A leads again', () => a!.role() === 'leader', 5000);
    const handover = Date.now() - stopAt;
    console.log(`# graceful stop: handed over in ${handover} ms`);
    assert.ok(a.snapshot().token === 3, 'a new term, a new token');
  } finally {
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
    await conn.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await conn.query(`DROP USER IF EXISTS '${user}'@'localhost'`);
  }
});

