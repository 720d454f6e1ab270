// Active/standby failover with two real `callhook run` processes for one PBX (a MariaDB CEL table fed
// while they run) and the local Bitrix24: the leader is SIGKILLed, frozen (SIGSTOP, SIGCONT after the
// takeover) and cut from its database (its account locked, its connections killed), twice each. Prints
// each takeover time; asserts every call in the CRM once (0 lost, 0 sent twice) and 0 writes by a deposed
// leader — counted by triggers in the connector's database that note, for every outbox/cursor/call write,
// which account wrote and which instance held the lease at that moment.
// Long (about two minutes): it needs real lease expiries with the default lease_ms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { externalCallId } from '../../core/pipeline/index.js';
import { createConnectorStore, createLeaseTable, openMariaDbDriver } from '../../core/store/index.js';
import { connectRoot, DB, insertRows, asStoredByFreepbx, freepbxCelDdl, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../cel/assembler-kit.js';
import { cloneCalls } from './corpus.js';
import { liveSettings, startConnector, waitUntil, type ConnectorChild } from './kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
const users: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-failover-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    for (const u of users) {
      await root.query(`DROP USER IF EXISTS '${u}'@'%'`);
      await root.query(`DROP USER IF EXISTS '${u}'@'localhost'`);
    }
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

const CALLS = 500;
type Fault = 'SIGKILL' | 'SIGSTOP' | 'disconnect';
const FAULTS: Fault[] = ['SIGKILL', 'SIGSTOP', 'disconnect', 'SIGKILL', 'SIGSTOP', 'disconnect'];

function signalGroup(child: ConnectorChild, signal: NodeJS.Signals): void {
  if (child.child.pid !== undefined) {
    try {
      process.kill(-child.child.pid, signal);
    } catch {
      // gone
    }
  }
}

test(`failover over ${CALLS} calls: leader killed, frozen and cut off twice each; every call once, no write by a deposed leader`, { timeout: 400_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const cel = uniqueName('prod_fo_cel');
  const state = uniqueName('prod_fo_state');
  databases.push(cel, state);
  const pbx = `${DB.host}:${DB.port}/${cel}.cel`;

  // Two accounts, one per instance: a cut is "this instance's account is locked and its connections killed".
  const accounts = ['a', 'b'].map((x) => uniqueName(`prodfo${x}`).slice(0, 40));
  for (const u of accounts) {
    users.push(u);
    for (const host of ['%', 'localhost']) {
      await conn.query(`CREATE USER '${u}'@'${host}' IDENTIFIED BY 'pw'`);
    }
  }
  await conn.query(`CREATE DATABASE \`${cel}\``);
  await conn.query(freepbxCelDdl(cel));
  await conn.query(`CREATE DATABASE \`${state}\``);
  for (const u of accounts) {
    for (const host of ['%', 'localhost']) {
      await conn.query(`GRANT SELECT ON \`${cel}\`.* TO '${u}'@'${host}'`);
      await conn.query(`GRANT ALL ON \`${state}\`.* TO '${u}'@'${host}'`);
    }
  }
  // The connector's tables exist before the instances start, so the audit triggers can sit on them.
  const setup = await openMariaDbDriver({ ...DB, database: state, connections: 1 });
  await createLeaseTable(setup);
  await (await createConnectorStore(setup)).close();
  await conn.query(`CREATE TABLE \`${state}\`.write_audit (id BIGINT AUTO_INCREMENT PRIMARY KEY, tbl VARCHAR(32), writer VARCHAR(80), holder VARCHAR(191))`);
  for (const table of ['crm_actions', 'cel_checkpoints', 'calls']) {
    for (const op of ['INSERT', 'UPDATE']) {
      await conn.query(`CREATE TRIGGER \`${state}\`.audit_${table}_${op.toLowerCase()} BEFORE ${op} ON \`${state}\`.${table} FOR EACH ROW
        INSERT INTO \`${state}\`.write_audit (tbl, writer, holder) VALUES ('${table}', SUBSTRING_INDEX(USER(), '@', 1),
          (SELECT SUBSTRING_INDEX(holder, '/', 1) FROM \`${state}\`.leader_leases WHERE pbx = NEW.pbx))`);
    }
  }

  const clones = cloneCalls(loadRows(RECORDED), CALLS, { firstId: 1, startMs: Date.now() - 10 * 60_000, spacingMs: 200, idSeconds: 1_910_000_000 });
  const crm = await startLocalBitrix24({ limits: { requestsPerSecond: 100, burst: 400 } });
  const procs = new Map<string, ConnectorChild>();
  const generation = new Map<string, number>();
  const start = (account: string): ConnectorChild => {
    const gen = (generation.get(account) ?? 0) + 1;
    generation.set(account, gen);
    const file = liveSettings({
      file: path.join(dir, `${account}-${gen}.json`), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl,
      db: { user: account, password: 'pw' },
      bitrix24: { register_local_calls: true, default_user_id: 1, requests_per_second: 100, burst: 400 },
      delivery: { concurrency: 16, in_doubt_wait_ms: 1000 },
      // The defaults (lease_ms 6000, renew_ms 1500): the takeover figures are the ones operators get.
      leadership: { instance: `${account}/${gen}` },
    });
    const child = startConnector(file);
    procs.set(account, child);
    return child;
  };
  const leaseRow = async (): Promise<{ holder: string; token: number } | null> => {
    const [rows] = await conn.query(`SELECT holder, token, expires_at FROM \`${state}\`.leader_leases WHERE pbx = ?`, [pbx]);
    const r = (rows as Array<{ holder: string; token: number | string }>)[0];
    return r === undefined || r.holder === '' ? null : { holder: r.holder, token: Number(r.token) };
  };
  const accountOf = (holder: string): string => holder.split('/')[0]!;
  const finished = (): number => [...crm.state.calls.values()].filter((c) => c.finish !== null).length;

  let feeding: Promise<void> = Promise.resolve();
  try {
    for (const a of accounts) start(a);
    await waitUntil('a leader', async () => (await leaseRow()) !== null, 30_000, () => [...procs.values()].map((p) => p.stderr().slice(-800)).join('\n'));
    // The PBX keeps making calls while the instances fail: 4 calls every 400 ms.
    feeding = (async () => {
      for (let i = 0; i < clones.length; i += 4) {
        await insertRows(conn, cel, 'cel', clones.slice(i, i + 4).flatMap((c) => c.rows).map(asStoredByFreepbx));
        await new Promise((r) => setTimeout(r, 400));
      }
    })();
    await waitUntil('the first calls delivered', () => finished() > 5, 60_000, () => [...procs.values()].map((p) => p.stderr().slice(-800)).join('\n'));

    const takeovers: Array<{ fault: Fault; ms: number }> = [];
    for (const fault of FAULTS) {
      const lease = await leaseRow();
      assert.ok(lease !== null);
      const victim = accountOf(lease.holder);
      const child = procs.get(victim)!;
      const before = crm.received.length;
      const at = Date.now();
      if (fault === 'SIGKILL') child.kill();
      else if (fault === 'SIGSTOP') signalGroup(child, 'SIGSTOP');
      else {
        for (const host of ['%', 'localhost']) await conn.query(`ALTER USER '${victim}'@'${host}' ACCOUNT LOCK`);
        const [ps] = await conn.query('SELECT id FROM information_schema.PROCESSLIST WHERE user = ?', [victim]);
        for (const p of ps as Array<{ id: number }>) await conn.query(`KILL CONNECTION ${p.id}`).catch(() => undefined);
      }
      await waitUntil(`a takeover after ${fault}`, async () => {
        const now = await leaseRow();
        return now !== null && now.token > lease.token && accountOf(now.holder) !== victim;
      }, 60_000);
      const ms = Date.now() - at;
      takeovers.push({ fault, ms });
      console.log(`# ${fault} of the leader (${lease.holder}, token ${lease.token}): the standby took over in ${ms} ms`);
      // The new leader delivers (when there is anything left to deliver).
      await waitUntil('the new leader delivering', () => crm.received.length > before + 5 || finished() >= CALLS, 60_000);
      if (fault === 'SIGKILL') {
        await child.exited;
        start(victim);
      } else {
        if (fault === 'SIGSTOP') signalGroup(child, 'SIGCONT');
        else for (const host of ['%', 'localhost']) await conn.query(`ALTER USER '${victim}'@'${host}' ACCOUNT UNLOCK`);
        // It finds it lost the lease and stands down (a frozen process only learns it now).
        await waitUntil(`the deposed leader standing down after ${fault}`, () => /"code":"LEASE_LOST"/.test(child.stderr()), 30_000, () => child.stderr().slice(-1500));
        assert.equal(child.child.exitCode, null, `the deposed leader keeps running as standby: ${child.stderr().slice(-1500)}`);
      }
      await new Promise((r) => setTimeout(r, 1500));
    }
    await feeding;
    await waitUntil(`${CALLS} calls finished in the CRM`, () => finished() >= CALLS, 120_000, () => `${finished()} finished; ${[...procs.values()].map((p) => p.stderr().slice(-1000)).join('\n')}`);
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of procs.values()) {
      const exit = await p.stop('SIGTERM');
      assert.equal(exit.code, 0, p.stderr().slice(-2000));
    }

    const byExternal = new Map<string, string[]>();
    for (const call of crm.state.calls.values()) byExternal.set(call.EXTERNAL_CALL_ID ?? '', [...(byExternal.get(call.EXTERNAL_CALL_ID ?? '') ?? []), call.CALL_ID]);
    const finishOk = new Map<string, number>();
    for (const r of crm.received) {
      if (r.method === 'telephony.externalcall.finish' && r.status === 200) finishOk.set(String(r.params.CALL_ID), (finishOk.get(String(r.params.CALL_ID)) ?? 0) + 1);
    }
    let lost = 0;
    let twice = 0;
    for (const clone of clones) {
      const ids = byExternal.get(externalCallId(pbx, clone.linkedid)) ?? [];
      if (ids.length === 0) lost++;
      if (ids.length > 1) twice += ids.length - 1;
      const id = ids[0];
      if (id !== undefined && (finishOk.get(id) ?? 0) !== 1) twice++;
    }
    const [audit] = await conn.query(`SELECT COUNT(*) AS total, SUM(writer <> IFNULL(holder, '')) AS deposed FROM \`${state}\`.write_audit`);
    const { total, deposed } = (audit as Array<{ total: number; deposed: string | null }>)[0]!;
    const refused = [...procs.values()].reduce((n, p) => n + (p.stderr().match(/LEASE_LOST/g)?.length ?? 0), 0);
    const worst = Math.max(...takeovers.map((x) => x.ms));
    console.log(`# failover: ${CALLS} calls, ${takeovers.length} takeovers (${takeovers.map((x) => `${x.fault} ${(x.ms / 1000).toFixed(1)} s`).join(', ')}; worst ${(worst / 1000).toFixed(1)} s, target ≤ 10 s); ` +
      `${crm.received.length} CRM requests; lost ${lost}, sent twice ${twice}; ${total} audited writes, ${Number(deposed ?? 0)} by an instance not holding the lease; ${refused} LEASE_LOST lines logged`);
    assert.equal(lost, 0, 'no call lost');
    assert.equal(twice, 0, 'no call registered or finished twice');
    assert.equal(Number(deposed ?? 0), 0, 'no write by an instance that did not hold the lease');
    assert.ok(Number(total) > CALLS, 'the audit saw the writes');
    // Generous (a loaded CI machine); the figures above are what is compared with the target.
    for (const x of takeovers) assert.ok(x.ms < 25_000, `${x.fault}: takeover took ${x.ms} ms`);
  } finally {
    for (const p of procs.values()) {
      signalGroup(p, 'SIGCONT');
      p.kill();
    }
    await feeding.catch(() => undefined);
    await crm.close();
  }
});
