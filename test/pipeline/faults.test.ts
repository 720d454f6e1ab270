// The CRM misbehaves and the database drops connections; every call still reaches the CRM exactly once,
// in its final state. Each test prints its figures (requests, faults answered, retries, duplicates, lost).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalBitrix24, type LocalBitrix24 } from '../../core/demo-crm/bitrix24/index.js';
import { externalCallId } from '../../core/pipeline/index.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../cel/assembler-kit.js';
import { cloneCalls, type ClonedCall } from './corpus.js';
import { createCelTable, liveSettings, startConnector, waitUntil, type ConnectorChild } from './kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-faults-'));
  mkdirSync(path.join(dir, 'hooks'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Copies of the recorded customer calls (incoming and outgoing), started in the last minutes. */
function customerCalls(count: number, idSeconds: number): ClonedCall[] {
  const customer = new Set(['1795500158.66', '1795500170.72', '1795500185.80', '1795500212.86', '1795500230.98']);
  return cloneCalls(loadRows(RECORDED), count, { firstId: 1, startMs: Date.now() - 5 * 60_000, spacingMs: 500, idSeconds, only: (id) => customer.has(id) });
}

interface Delivery {
  duplicates: number;
  lost: number;
  unfinished: number;
}

/** From the portal's own state: a call registered more than once, not at all, or never finished. */
function delivery(crm: LocalBitrix24, pbx: string, calls: readonly ClonedCall[]): Delivery {
  const byExternal = new Map<string, number>();
  for (const c of crm.state.calls.values()) byExternal.set(c.EXTERNAL_CALL_ID ?? '', (byExternal.get(c.EXTERNAL_CALL_ID ?? '') ?? 0) + 1);
  let duplicates = 0;
  let lost = 0;
  for (const call of calls) {
    const n = byExternal.get(externalCallId(pbx, call.linkedid)) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicates += n - 1;
  }
  // A second finish of one CALL_ID is refused by the portal (the call left the active table), so
  // "finished twice" cannot happen there; "never finished" can.
  const unfinished = [...crm.state.calls.values()].filter((c) => c.finish === null).length;
  return { duplicates, lost, unfinished };
}

async function scenario(
  name: string,
  calls: ClonedCall[],
  crmOptions: Parameters<typeof startLocalBitrix24>[0],
  act: (crm: LocalBitrix24, run: ConnectorChild, cel: string) => Promise<void>,
  settings: { bitrix24?: object; delivery?: object } = {},
): Promise<{ crm: LocalBitrix24; run: ConnectorChild; pbx: string; result: Delivery; seconds: number }> {
  const conn = root!;
  const cel = uniqueName('faults_cel');
  const state = uniqueName('faults_state');
  databases.push(cel, state);
  await createCelTable(conn, cel, calls.flatMap((c) => c.rows));
  const crm = await startLocalBitrix24(crmOptions);
  const file = liveSettings({
    file: path.join(dir, `${name}.json`), celDatabase: cel, stateDatabase: state, webhookUrl: crm.webhookUrl, hooksFolder: path.join(dir, 'hooks'),
    bitrix24: { requests_per_second: 100, burst: 200, ...(settings.bitrix24 ?? {}) },
    delivery: settings.delivery ?? {},
  });
  const started = Date.now();
  const run = startConnector(file);
  try {
    await act(crm, run, cel);
    await waitUntil(`${calls.length} calls finished in the CRM`, () => [...crm.state.calls.values()].filter((c) => c.finish !== null).length >= calls.length || run.child.exitCode !== null, 180_000,
      () => `${[...crm.state.calls.values()].filter((c) => c.finish !== null).length} finished; ${run.stderr().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 300));
    const exit = await run.stop('SIGTERM');
    assert.equal(exit.code, 0, run.stderr().slice(-2000));
  } finally {
    await run.stop('SIGKILL');
    await crm.close();
  }
  const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
  return { crm, run, pbx, result: delivery(crm, pbx, calls), seconds: (Date.now() - started) / 1000 };
}

const statusCount = (crm: LocalBitrix24, status: number): number => crm.received.filter((r) => r.status === status).length;

test('the CRM down for a while (503s, then dropped connections): calls wait, then drain; each delivered once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(40, 1_910_000_000);
  let downMs = 0;
  const { crm, result, seconds } = await scenario('down', calls, { limits: { requestsPerSecond: 100, burst: 200 } }, async (crm) => {
    await waitUntil('the first registration', () => crm.state.calls.size > 0, 60_000);
    const down = Date.now();
    crm.faults.set({ kind: 'status', status: 503, error: 'INTERNAL_SERVER_ERROR', description: 'down for maintenance' });
    await new Promise((r) => setTimeout(r, 1500));
    crm.faults.set({ kind: 'drop' });
    await new Promise((r) => setTimeout(r, 1500));
    crm.faults.clear();
    downMs = Date.now() - down;
  }, { delivery: { in_doubt_wait_ms: 2000 } });
  const faulted = crm.received.filter((r) => r.fault !== undefined).length;
  console.log(`CRM down ${downMs} ms: ${calls.length} calls in ${seconds.toFixed(1)} s, ${crm.received.length} requests, ${faulted} refused or dropped while down; duplicates ${result.duplicates}, lost ${result.lost}, unfinished ${result.unfinished}`);
  assert.ok(faulted > 0, 'the outage was hit');
  assert.deepEqual(result, { duplicates: 0, lost: 0, unfinished: 0 });
});

test('503 QUERY_LIMIT_EXCEEDED and 429 OPERATION_TIME_LIMIT storms: retried with backoff, each call delivered once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(30, 1_920_000_000);
  const { crm, result, seconds } = await scenario('storm', calls, { limits: { requestsPerSecond: 100, burst: 200 } }, async (crm) => {
    await waitUntil('the first registration', () => crm.state.calls.size > 0, 60_000);
    for (let i = 0; i < 6; i++) {
      crm.faults.set({ kind: 'status', status: 503, error: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests', times: 20 });
      await new Promise((r) => setTimeout(r, 300));
      crm.faults.set({ kind: 'status', status: 429, error: 'OPERATION_TIME_LIMIT', description: 'Method is blocked due to operation time limit.', times: 20 });
      await new Promise((r) => setTimeout(r, 300));
    }
    crm.faults.clear();
  });
  console.log(`storms: ${calls.length} calls in ${seconds.toFixed(1)} s, ${crm.received.length} requests, ${statusCount(crm, 503)} × 503, ${statusCount(crm, 429)} × 429; duplicates ${result.duplicates}, lost ${result.lost}, unfinished ${result.unfinished}`);
  assert.ok(statusCount(crm, 503) > 0 && statusCount(crm, 429) > 0, 'both storms were hit');
  assert.deepEqual(result, { duplicates: 0, lost: 0, unfinished: 0 });
});

test('answers slower than the timeout and answers lost after the CRM acted: reconciled, never registered or finished twice', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(30, 1_930_000_000);
  const { crm, result, seconds } = await scenario('lost', calls, { limits: { requestsPerSecond: 100, burst: 200 } }, async (crm) => {
    crm.faults.set({ kind: 'slow', method: 'telephony.externalcall.register', delayMs: 1500, times: 6 });
    crm.faults.add({ kind: 'execute-then-drop', method: 'telephony.externalcall.register', times: 6 });
    crm.faults.add({ kind: 'execute-then-drop', method: 'telephony.externalcall.finish', times: 8 });
    crm.faults.add({ kind: 'execute-then-drop', method: 'telephony.externalcall.show', times: 4 });
  }, { bitrix24: { request_timeout_ms: 800 }, delivery: { in_doubt_wait_ms: 2500 } });
  const repeats = [...crm.state.calls.values()].reduce((n, c) => n + c.registerRepeats.length, 0);
  const refusedFinishes = crm.received.filter((r) => r.method === 'telephony.externalcall.finish' && r.status === 400).length;
  const lostAnswers = crm.received.filter((r) => r.fault === 'execute-then-drop' || r.fault === 'slow').length;
  console.log(`lost answers: ${calls.length} calls in ${seconds.toFixed(1)} s, ${lostAnswers} answers lost or too late; registers resent and answered with the same CALL_ID ${repeats}, finishes resent and refused as already finished ${refusedFinishes}; duplicates ${result.duplicates}, lost ${result.lost}, unfinished ${result.unfinished}`);
  assert.ok(lostAnswers >= 10, `the faults were hit (${lostAnswers})`);
  assert.ok(repeats > 0 && refusedFinishes > 0, 'in-doubt actions were resent and reconciled');
  assert.deepEqual(result, { duplicates: 0, lost: 0, unfinished: 0 });
});

test('undocumented answers (HTML, truncated JSON, an error inside a 200) are retried and recorded; each call delivered once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(10, 1_940_000_000);
  const { crm, result } = await scenario('garbage', calls, { limits: { requestsPerSecond: 100, burst: 200 } }, async (crm) => {
    crm.faults.set({ kind: 'html', method: 'telephony.externalcall.register', times: 3 });
    crm.faults.add({ kind: 'truncated', method: 'crm.duplicate.findbycomm', times: 3 });
    crm.faults.add({ kind: 'error-in-200', method: 'telephony.externalcall.finish', times: 3 });
  }, { delivery: { bad_answer_attempts: 5 } });
  const count = (kind: string): number => crm.received.filter((r) => r.fault === kind).length;
  console.log(`undocumented answers: ${count('html')} HTML pages, ${count('truncated')} truncated, ${count('error-in-200')} errors in a 200; duplicates ${result.duplicates}, lost ${result.lost}, unfinished ${result.unfinished}`);
  assert.ok(count('html') > 0 && count('truncated') > 0 && count('error-in-200') > 0);
  assert.deepEqual(result, { duplicates: 0, lost: 0, unfinished: 0 });
});

/** MariaDB connections of a process and its descendants (the connector runs in a re-executed child). */
function mariadbPortsOf(pid: number): number[] {
  const pids = new Set<number>([pid]);
  for (let grew = true; grew;) {
    grew = false;
    const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
    for (const line of out.split('\n')) {
      const [p, pp] = line.trim().split(/\s+/).map(Number);
      if (p !== undefined && pp !== undefined && pids.has(pp) && !pids.has(p)) {
        pids.add(p);
        grew = true;
      }
    }
  }
  const ports: number[] = [];
  const out = spawnSync('ss', ['-Htnp', 'dst', `${DB.host}:${DB.port}`], { encoding: 'utf8' }).stdout;
  for (const line of out.split('\n')) {
    const owner = /pid=(\d+)/.exec(line);
    const local = /^\S+\s+\d+\s+\d+\s+[\d.]+:(\d+)/.exec(line);
    if (owner && local && pids.has(Number(owner[1]))) ports.push(Number(local[1]));
  }
  return ports;
}

test('the MariaDB connections killed again and again mid-stream: every call delivered once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(60, 1_950_000_000);
  let kills = 0;
  const { crm, result, seconds } = await scenario('dbkill', calls, { limits: { requestsPerSecond: 100, burst: 200 } }, async (crm, run) => {
    const conn = root!;
    const until = Date.now() + 8000;
    while (Date.now() < until && run.child.exitCode === null && run.child.pid !== undefined) {
      // Only this connector's connections (the CEL source's and the store's), found by their client ports.
      const ports = new Set(mariadbPortsOf(run.child.pid).map((p) => `${DB.host}:${p}`));
      const [rows] = await conn.query('SELECT ID AS id, HOST AS host FROM information_schema.processlist');
      for (const r of rows as Array<{ id: number; host: string }>) {
        if (ports.has(r.host)) await conn.query(`KILL ${Number(r.id)}`).then(() => kills++, () => undefined);
      }
      await new Promise((r) => setTimeout(r, 400));
      if ([...crm.state.calls.values()].filter((c) => c.finish !== null).length >= calls.length) break;
    }
  });
  console.log(`database connections killed ${kills} times: ${calls.length} calls in ${seconds.toFixed(1)} s; duplicates ${result.duplicates}, lost ${result.lost}, unfinished ${result.unfinished}`);
  assert.ok(kills > 0, 'connections were killed');
  assert.deepEqual(result, { duplicates: 0, lost: 0, unfinished: 0 });
});

