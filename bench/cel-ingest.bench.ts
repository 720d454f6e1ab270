// MariaDB ingest: rows/s from a large FreePBX-schema `cel` table through the MariaDB source (batched
// `WHERE id > ? ORDER BY id LIMIT n`, row normalisation) into a consumer, against a plain streaming
// `SELECT` of the same rows with mysql2 in the same run. Target: runIngest (source → CallAssembler) ≥ 0.7× the plain read.
// Rows: CEL_BENCH_ROWS (default 1,000,000), generated server-side from MariaDB's sequence engine.
// The scratch database is dropped at the end.
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import { createConnection as createStreamingConnection } from 'mysql2';
import type { CelRow } from '../core/cel/row.js';
import { createMariaDbSource, createMariaDbStateStore, type StateStore } from '../core/cel/sources/index.js';
import { runIngest } from '../core/cel/ingest.js';
import { CallAssembler } from '../core/cel/assembler/index.js';
import { testNumbers } from '../test/fixtures/cel-sources/numbers.js';
import { DB, freepbxCelDdl, uniqueName } from '../test/fixtures/cel-sources/db.js';

const ROWS = Number(process.env.CEL_BENCH_ROWS ?? 1_000_000);
const ROWS_PER_CALL = 13;
const COLUMNS = 'id, eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame, appname, appdata, amaflags, accountcode, uniqueid, linkedid, peer, userdeftype, extra';

/** One answered internal call = 13 rows; k = row within the call, c = call number. */
function generateSql(db: string, from: number, to: number): string {
  const k = '((seq - 1) % 13)';
  const c = '((seq - 1) DIV 13)';
  const a = `CONCAT('1795500000.', ${c} * 2)`;
  const b = `CONCAT('1795500000.', ${c} * 2 + 1)`;
  const onB = `${k} IN (1, 2, 5, 6, 8, 9)`;
  const ev = `ELT(${k} + 1, 'CHAN_START','CHAN_START','ANSWER','ANSWER','BRIDGE_ENTER','BRIDGE_ENTER','BRIDGE_EXIT','BRIDGE_EXIT','HANGUP','CHAN_END','HANGUP','CHAN_END','LINKEDID_END')`;
  const bridge = `CONCAT('{"bridge_id":"b', ${c}, '","bridge_technology":"simple_bridge"}')`;
  const extra = `CASE WHEN ${k} BETWEEN 4 AND 7 THEN ${bridge} WHEN ${k} = 8 THEN '{"hangupcause":16,"hangupsource":"","dialstatus":""}' WHEN ${k} = 10 THEN '{"hangupcause":16,"hangupsource":"PJSIP/201","dialstatus":"ANSWER"}' ELSE '' END`;
  return `INSERT INTO \`${db}\`.cel (${COLUMNS})
    SELECT seq, ${ev}, TIMESTAMPADD(SECOND, ${c} * 20 + ${k}, '2026-11-24 06:00:00'),
      IF(${onB}, 'Bob', 'Alice'), IF(${onB}, '201', '200'), '', '', '201', IF(${onB}, 's', '201'),
      IF(${onB}, 'from-internal', 'from-internal'),
      IF(${onB}, CONCAT('PJSIP/201-', LPAD(HEX(${c} * 2 + 1), 8, '0')), CONCAT('PJSIP/200-', LPAD(HEX(${c} * 2), 8, '0'))),
      IF(${k} >= 2 AND ${k} <= 10, 'Dial', ''), IF(${k} >= 2 AND ${k} <= 10, 'PJSIP/201,30,tT', ''), 3, '',
      IF(${onB}, ${b}, ${a}), ${a},
      CASE ${k} WHEN 5 THEN CONCAT('PJSIP/200-', LPAD(HEX(${c} * 2), 8, '0')) WHEN 6 THEN CONCAT('PJSIP/200-', LPAD(HEX(${c} * 2), 8, '0')) ELSE '' END,
      '', ${extra}
    FROM seq_${from}_to_${to}`;
}

function rate(rows: number, ms: number): string {
  return `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
}

async function plainStreamingRead(db: string): Promise<{ rows: number; ms: number }> {
  const conn = createStreamingConnection({ ...DB, dateStrings: true });
  const start = performance.now();
  let rows = 0;
  await new Promise<void>((resolve, reject) => {
    const stream = conn.query(`SELECT ${COLUMNS} FROM \`${db}\`.cel ORDER BY id`).stream();
    stream.on('data', () => {
      rows++;
    });
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const ms = performance.now() - start;
  await conn.promise().end();
  return { rows, ms };
}

async function sourceRead(db: string, batchSize: number, consume: (batch: CelRow[]) => void, limit = ROWS): Promise<{ rows: number; ms: number }> {
  const source = createMariaDbSource({ ...DB, database: db, batchSize, pollMinMs: 1, onEvent: (e) => { if (e.level === 'error') console.error(e.message); } });
  const controller = new AbortController();
  const start = performance.now();
  let rows = 0;
  for await (const batch of source.batches(controller.signal)) {
    consume(batch);
    rows += batch.length;
    if (rows >= limit) break;
  }
  const ms = performance.now() - start;
  await source.close();
  return { rows, ms };
}

/**
 * The real pipeline: runIngest = source → CallAssembler → finished calls/stages delivered → cursor +
 * pending rows saved in the connector's own database after every batch.
 */
async function ingestRun(root: mysql.Connection, db: string): Promise<{ rows: number; ms: number; finished: number; batches: number; saves: number; saveMs: number }> {
  const stateDb = uniqueName('callhook_bench');
  const store = await createMariaDbStateStore({ ...DB, database: stateDb, key: 'bench' });
  try {
    const assembler = new CallAssembler({ calls: {}, numbers: testNumbers });
    const controller = new AbortController();
    let finished = 0;
    let saves = 0;
    let saveMs = 0;
    const timedStore: StateStore = {
      load: () => store.load(),
      close: () => store.close(),
      async save(state) {
        const s0 = performance.now();
        await store.save(state);
        saves++;
        saveMs += performance.now() - s0;
      },
    };
    const t0 = performance.now();
    const result = await runIngest({
      source: createMariaDbSource({ ...DB, database: db, batchSize: 1000, pollMinMs: 1 }),
      assembler, store: timedStore, signal: controller.signal,
      onFinished: (calls) => {
        finished += calls.length;
      },
      onBatch: ({ cursor }) => {
        if (cursor >= ROWS) controller.abort();
      },
    });
    const ms = performance.now() - t0;
    if (finished < Math.floor(ROWS / ROWS_PER_CALL)) throw new Error(`only ${finished} calls finished`);
    return { rows: result.rows, ms, finished, batches: result.batches, saves, saveMs };
  } finally {
    await store.close();
    await root.query(`DROP DATABASE IF EXISTS \`${stateDb}\``);
  }
}

async function main(): Promise<void> {
  const root = await mysql.createConnection({ ...DB });
  const db = uniqueName('celbench');
  try {
    const setupStart = performance.now();
    await root.query(`CREATE DATABASE \`${db}\``);
    await root.query(freepbxCelDdl(db));
    await root.query(`USE \`${db}\``);
    const chunk = 200_000;
    for (let from = 1; from <= ROWS; from += chunk) {
      await root.query(generateSql(db, from, Math.min(ROWS, from + chunk - 1)));
    }
    const setupMs = performance.now() - setupStart;
    console.log(`setup: ${ROWS.toLocaleString('en-US')} FreePBX cel rows (${Math.floor(ROWS / ROWS_PER_CALL).toLocaleString('en-US')} calls) generated in ${(setupMs / 1000).toFixed(1)} s`);

    // The machine is shared: plain read, source and runIngest alternate, three times, and the best of
    // each counts (alternating also gives all the same buffer-pool/page-cache conditions).
    const secs = (ms: number): string => (ms / 1000).toFixed(2);
    let plainMs = Infinity;
    let sourceMs = Infinity;
    let ingest: Awaited<ReturnType<typeof ingestRun>> | undefined;
    for (let round = 0; round < 3; round++) {
      const plain = await plainStreamingRead(db);
      if (plain.rows !== ROWS) throw new Error(`plain read gave ${plain.rows} rows`);
      plainMs = Math.min(plainMs, plain.ms);
      const run = await sourceRead(db, 1000, () => undefined);
      if (run.rows !== ROWS) throw new Error(`source gave ${run.rows} rows`);
      sourceMs = Math.min(sourceMs, run.ms);
      const full = await ingestRun(root, db);
      if (ingest === undefined || full.ms < ingest.ms) ingest = full;
    }
    console.log(`plain streaming SELECT (mysql2, baseline):       ${ROWS} rows in ${secs(plainMs)} s = ${rate(ROWS, plainMs)}`);
    console.log(`MariaDB source (batch 1000), no-op consumer:     ${ROWS} rows in ${secs(sourceMs)} s = ${rate(ROWS, sourceMs)}  ratio ${(plainMs / sourceMs).toFixed(2)}x of plain (target >= 0.70x)`);
    const big = await sourceRead(db, 5000, () => undefined);
    console.log(`MariaDB source (batch 5000), no-op consumer:     ${big.rows} rows in ${secs(big.ms)} s = ${rate(big.rows, big.ms)}  ratio ${(plainMs / big.ms).toFixed(2)}x of plain`);
    if (ingest !== undefined) {
      const { rows, ms, finished, batches, saves, saveMs } = ingest;
      console.log(`runIngest: source (batch 1000) -> CallAssembler -> state saved (best of 3): ${rows} rows in ${secs(ms)} s = ${rate(rows, ms)}  ratio ${(plainMs / ms).toFixed(2)}x of plain (target >= 0.70x); ${finished.toLocaleString('en-US')} calls, ${batches} batches, ${saves} saves (${secs(saveMs)} s, overlapped with reading)`);
    }

    // Where the time goes: the first 100,000 rows pushed into a CallAssembler from memory (no database).
    const inMemory: CelRow[] = [];
    const memoryRows = Math.min(ROWS, 100_000);
    await sourceRead(db, 5000, (batch) => {
      for (const row of batch) inMemory.push(row);
    }, memoryRows);
    const alone = new CallAssembler({ calls: {}, numbers: testNumbers });
    const t0 = performance.now();
    for (const row of inMemory) alone.push(row);
    alone.drainFinished();
    alone.drainStages();
    const aloneMs = performance.now() - t0;
    console.log(`CallAssembler alone (rows already in memory):    ${inMemory.length} rows in ${secs(aloneMs)} s = ${rate(inMemory.length, aloneMs)} (the ceiling for source + assembler)`);
  } finally {
    await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
}

await main();
