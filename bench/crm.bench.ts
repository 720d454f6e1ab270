// CRM delivery, the whole path: a CEL row committed into a MariaDB `cel` table → `callhook run` (live,
// the example hooks in process isolation) → the register request arriving at the local Bitrix24.
//   1. Latency, commit → register received, p50/p95 (target p95 ≤ 500 ms), against an in-run baseline: a
//      bare loop that polls the same table at the same interval and POSTs register (no assembler, hooks,
//      store or outbox).
//   2. Backlog drain against the portal's real limit (2 req/s, burst 50): the request rate after the
//      burst, as a share of the limit (target ≥ 95 %).
// CRM_BENCH_CALLS (default 40) calls for the latency part, CRM_BENCH_BACKLOG (default 30) for the drain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import axios from 'axios';
import mysql from 'mysql2/promise';
import type { CelRow } from '../core/cel/row.js';
import { startLocalBitrix24, type LocalBitrix24 } from '../core/demo-crm/bitrix24/index.js';
import { externalCallId } from '../core/pipeline/index.js';
import { asStoredByFreepbx, DB, freepbxCelDdl, insertRows, uniqueName } from '../test/fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../test/cel/assembler-kit.js';
import { cloneCalls, type ClonedCall } from '../test/pipeline/corpus.js';
import { liveSettings, startConnector, waitUntil } from '../test/pipeline/kit.js';

const CALLS = Number(process.env.CRM_BENCH_CALLS ?? 40);
const BACKLOG = Number(process.env.CRM_BENCH_BACKLOG ?? 30);
const POLL_MS = 50;
const EXAMPLE_HOOKS = path.resolve('examples/hooks');

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (v: number): string => `${v.toFixed(0)} ms`;

/** Copies of the recorded blind-transfer call (incoming, a customer's number, registered by the example hooks). */
function incomingCalls(count: number, firstId: number): ClonedCall[] {
  return cloneCalls(loadRows(RECORDED), count, { firstId, startMs: Date.now() - 60_000, spacingMs: 1000, idSeconds: 1_950_000_000 + firstId, only: (id) => id === '1795500158.66' });
}

async function insertCall(conn: mysql.Connection, db: string, rows: readonly CelRow[]): Promise<number> {
  await insertRows(conn, db, 'cel', rows.map(asStoredByFreepbx));
  return performance.timeOrigin + performance.now(); // committed (autocommit) when the insert returns
}

function registerArrival(crm: LocalBitrix24, externalId: string): number | null {
  const r = crm.received.find((x) => x.method === 'telephony.externalcall.register' && x.params.EXTERNAL_CALL_ID === externalId);
  return r === undefined ? null : r.atMs;
}

/** The baseline: poll for new rows, POST a register for each new linkedid. Nothing else. */
async function bareLoop(conn: mysql.Connection, db: string, crm: LocalBitrix24, calls: ClonedCall[]): Promise<number[]> {
  let cursor = 0;
  const seen = new Set<string>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const [rows] = await conn.query(`SELECT id, linkedid FROM \`${db}\`.cel WHERE id > ? ORDER BY id LIMIT 1000`, [cursor]);
      for (const r of rows as Array<{ id: number; linkedid: string }>) {
        cursor = r.id;
        if (seen.has(r.linkedid)) continue;
        seen.add(r.linkedid);
        await axios.post(`${crm.webhookUrl}telephony.externalcall.register.json`, {
          USER_ID: 2, PHONE_NUMBER: '15551234', TYPE: 2, EXTERNAL_CALL_ID: `bare-${r.linkedid}`,
        }, { validateStatus: () => true });
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  const latencies: number[] = [];
  for (const call of calls) {
    const committed = await insertCall(conn, db, call.rows);
    await waitUntil('bare register', () => crm.received.some((x) => x.params.EXTERNAL_CALL_ID === `bare-${call.linkedid}`), 30_000);
    const r = crm.received.find((x) => x.params.EXTERNAL_CALL_ID === `bare-${call.linkedid}`);
    latencies.push((r?.atMs ?? NaN) - committed);
  }
  stop = true;
  await loop;
  return latencies;
}

async function main(): Promise<void> {
  const root = await mysql.createConnection({ ...DB, multipleStatements: false });
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-crm-bench-'));
  const dbs: string[] = [];
  const newTable = async (): Promise<string> => {
    const db = uniqueName('crm_bench');
    dbs.push(db);
    await root.query(`CREATE DATABASE \`${db}\``);
    await root.query(freepbxCelDdl(db));
    return db;
  };
  try {
    // 1. Latency.
    const fast = await startLocalBitrix24({ limits: { requestsPerSecond: 100, burst: 400 } });
    const bareDb = await newTable();
    const bare = await bareLoop(root, bareDb, fast, incomingCalls(CALLS, 1));
    const cel = await newTable();
    const state = uniqueName('crm_bench_state');
    dbs.push(state);
    const settings = liveSettings({
      file: path.join(dir, 'latency.json'), celDatabase: cel, stateDatabase: state, webhookUrl: fast.webhookUrl, hooksFolder: EXAMPLE_HOOKS,
      bitrix24: { requests_per_second: 100, burst: 400 },
      sandbox: { isolation: 'process' },
      poll: { minMs: POLL_MS, maxMs: POLL_MS }, // the same polling as the baseline
    });
    const run = startConnector(settings);
    const ours: number[] = [];
    try {
      await waitUntil('the connector to load the directory', () => fast.received.some((x) => x.method === 'user.get'), 60_000, run.stderr);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
      for (const call of incomingCalls(CALLS, 100_000)) {
        const committed = await insertCall(root, cel, call.rows);
        const id = externalCallId(pbx, call.linkedid);
        await waitUntil('register', () => registerArrival(fast, id) !== null, 30_000, run.stderr);
        ours.push((registerArrival(fast, id) as number) - committed);
      }
    } finally {
      await run.stop('SIGTERM');
      await fast.close();
    }
    const p50 = percentile(ours, 50);
    const p95 = percentile(ours, 95);
    const b50 = percentile(bare, 50);
    const b95 = percentile(bare, 95);
    console.log(`latency, CEL row committed -> register received (${CALLS} calls, example hooks in process isolation, both polling every ${POLL_MS} ms):`);
    console.log(`  callhook run: p50 ${ms(p50)}, p95 ${ms(p95)} (target p95 <= 500 ms: ${p95 <= 500 ? 'met' : 'NOT met'})`);
    console.log(`  baseline (bare poll + POST): p50 ${ms(b50)}, p95 ${ms(b95)}; ratio p50 ${(p50 / b50).toFixed(2)}x, p95 ${(p95 / b95).toFixed(2)}x`);

    // 2. Drain a backlog against the portal's real limit.
    const limited = await startLocalBitrix24({});
    const backlogDb = await newTable();
    const backlogState = uniqueName('crm_bench_state');
    dbs.push(backlogState);
    const calls = incomingCalls(BACKLOG, 1);
    await insertRows(root, backlogDb, 'cel', calls.flatMap((c) => c.rows).map(asStoredByFreepbx));
    const drainSettings = liveSettings({
      file: path.join(dir, 'drain.json'), celDatabase: backlogDb, stateDatabase: backlogState, webhookUrl: limited.webhookUrl, hooksFolder: EXAMPLE_HOOKS,
    });
    const drain = startConnector(drainSettings);
    try {
      await waitUntil(`${BACKLOG} calls finished`, () => [...limited.state.calls.values()].filter((c) => c.finish !== null).length >= BACKLOG, 900_000, drain.stderr);
    } finally {
      await drain.stop('SIGTERM');
      await limited.close();
    }
    const times = limited.received.filter((r) => r.via === 'http').map((r) => r.atMs).sort((a, b) => a - b);
    const refused = limited.received.filter((r) => r.status === 503).length;
    const burst = 50;
    const after = times.slice(burst);
    const steady = after.length > 1 ? (after.length - 1) / (((after[after.length - 1] as number) - (after[0] as number)) / 1000) : NaN;
    console.log(`backlog drain: ${BACKLOG} calls, ${times.length} requests in ${(((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000).toFixed(1)} s, ${refused} answered 503`);
    console.log(`  after the burst: ${steady.toFixed(3)} req/s against the portal's 2 req/s = ${((steady / 2) * 100).toFixed(1)} % (target >= 95 %)`);
  } finally {
    for (const db of dbs) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
