// Kommo misbehaves: 429 storms, the account down (5xx, then dropped connections), answers slower than the
// timeout and answers lost after Kommo acted. Every call still reaches Kommo exactly once: each test prints
// its figures (requests, faults answered, reconciled, duplicates, lost).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalKommo, demoKommoSeed, type LocalKommo } from '../../core/demo-crm/kommo/index.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../cel/assembler-kit.js';
import { cloneCalls, type ClonedCall } from './corpus.js';
import { createCelTable, startConnector, waitUntil, type ConnectorChild } from './kit.js';
import { kommoDelivery, kommoLiveSettings, kommoSeedUsers, type KommoDelivery } from './kommo-kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-kommo-faults-'));
  mkdirSync(path.join(dir, 'hooks'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Copies of the recorded inbound calls from John Doe (contact 1, one active lead). */
function customerCalls(count: number, idSeconds: number): ClonedCall[] {
  const inbound = new Set(['1795500158.66', '1795500170.72', '1795500185.80', '1795500212.86']);
  return cloneCalls(loadRows(RECORDED), count, { firstId: 1, startMs: Date.now() - 5 * 60_000, spacingMs: 500, idSeconds, only: (id) => inbound.has(id) });
}

async function scenario(
  name: string,
  calls: ClonedCall[],
  act: (kommo: LocalKommo, run: ConnectorChild) => Promise<void>,
  settings: { kommo?: object; delivery?: object } = {},
): Promise<{ kommo: LocalKommo; result: KommoDelivery; seconds: number }> {
  const cel = uniqueName(`kommo_${name}_cel`);
  const state = uniqueName(`kommo_${name}_state`);
  databases.push(cel, state);
  await createCelTable(root!, cel, calls.flatMap((c) => c.rows));
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: demoKommoSeed().contacts ?? [] } });
  const file = kommoLiveSettings({ file: path.join(dir, `${name}.json`), celDatabase: cel, stateDatabase: state, kommo, hooksFolder: path.join(dir, 'hooks'), settings: settings.kommo ?? {}, delivery: settings.delivery ?? {} });
  const started = Date.now();
  const run = startConnector(file);
  const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
  try {
    await act(kommo, run);
    await waitUntil(`${calls.length} calls reported`, () => run.reports.length >= calls.length || run.child.exitCode !== null, 200_000, () => `${run.reports.length} reported; ${run.stderr().slice(-1500)}`);
    const exit = await run.stop('SIGTERM');
    assert.equal(exit.code, 0, run.stderr().slice(-2000));
  } finally {
    await run.stop('SIGKILL');
    await kommo.close();
  }
  assert.ok(run.reports.every((r) => r.status === 'done'), `every call done: ${run.reports.filter((r) => r.status !== 'done').map((r) => `${r.linkedid} ${r.status} ${r.parkedReason}`).join('; ')}`);
  return { kommo, result: kommoDelivery(kommo, pbx, calls.map((c) => c.linkedid)), seconds: (Date.now() - started) / 1000 };
}

const statusCount = (k: LocalKommo, status: number): number => k.received.filter((r) => r.status === status).length;
const none: KommoDelivery = { duplicates: 0, lost: 0, duplicateContacts: 0 };

test('429 storms (another integration fills the account\'s 7 req/s): paused and retried, each call logged once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(24, 1_960_000_000);
  const { kommo, result, seconds } = await scenario('storm', calls, async (k) => {
    await waitUntil('the first call', () => k.state.calls.length > 0, 60_000);
    // Every request answered 429 for 4 s, twice.
    for (let i = 0; i < 2; i++) {
      k.faults.set({ kind: 'status', status: 429 });
      await new Promise((r) => setTimeout(r, 4000));
      k.faults.clear();
      await new Promise((r) => setTimeout(r, 1000));
    }
  });
  console.log(`429 storms: ${calls.length} calls in ${seconds.toFixed(1)} s, ${kommo.received.length} requests, ${statusCount(kommo, 429)} × 429; duplicates ${result.duplicates}, lost ${result.lost}`);
  assert.ok(statusCount(kommo, 429) >= 6, 'the storms were hit');
  assert.deepEqual(result, none);
});

test('Kommo down for a while (503, then dropped connections): calls wait, then drain; each logged once', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(24, 1_961_000_000);
  let downMs = 0;
  const { kommo, result, seconds } = await scenario('down', calls, async (k) => {
    await waitUntil('the first call', () => k.state.calls.length > 0, 60_000);
    const down = Date.now();
    k.faults.set({ kind: 'status', status: 503, error: 'Service Unavailable', description: 'maintenance' });
    await new Promise((r) => setTimeout(r, 2000));
    k.faults.set({ kind: 'drop' });
    await new Promise((r) => setTimeout(r, 2000));
    k.faults.clear();
    downMs = Date.now() - down;
  }, { delivery: { in_doubt_wait_ms: 2000 } });
  const faulted = kommo.received.filter((r) => r.fault !== undefined).length;
  console.log(`Kommo down ${downMs} ms: ${calls.length} calls in ${seconds.toFixed(1)} s, ${kommo.received.length} requests, ${faulted} refused or dropped while down; duplicates ${result.duplicates}, lost ${result.lost}`);
  assert.ok(faulted > 0, 'the outage was hit');
  assert.deepEqual(result, none);
});

test('answers slower than the timeout and lost after Kommo logged the call: reconciled by the call note, never logged twice', { timeout: 240_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const calls = customerCalls(24, 1_962_000_000);
  const { kommo, result, seconds } = await scenario('lost', calls, async (k) => {
    k.faults.set({ kind: 'slow', method: 'POST /api/v4/calls', delayMs: 1500, times: 4 });
    k.faults.add({ kind: 'execute-then-drop', method: 'POST /api/v4/calls', times: 6 });
    k.faults.add({ kind: 'status', status: 502, execute: true, method: 'POST /api/v4/calls', times: 3 });
    k.faults.add({ kind: 'slow', method: 'GET /api/v4/contacts', delayMs: 1500, times: 3 });
  }, { kommo: { request_timeout_ms: 800 }, delivery: { in_doubt_wait_ms: 2500 } });
  const lost = kommo.received.filter((r) => r.method === 'POST /api/v4/calls' && r.fault !== undefined).length;
  const noteLookups = kommo.received.filter((r) => r.method.endsWith('/notes')).length;
  const posts = kommo.received.filter((r) => r.method === 'POST /api/v4/calls').length;
  console.log(`lost answers: ${calls.length} calls in ${seconds.toFixed(1)} s, ${lost} /calls answers lost, late or 5xx after logging; ${noteLookups} note look-ups before a resend; ${posts} POST /calls for ${calls.length} calls; duplicates ${result.duplicates}, lost ${result.lost}`);
  assert.ok(lost >= 8, `the faults were hit (${lost})`);
  assert.ok(noteLookups > 0, 'in-doubt calls were looked up before any resend');
  assert.deepEqual(result, none);
});
