// Exactly once for Kommo under the worst case: calls read from a real MariaDB CEL table, the connector
// SIGKILLed at random moments (mid-hook, between a POST /api/v4/calls and its record) and restarted each
// time. At the end every call is in Kommo exactly once: a /calls or an unsorted item that may have gone
// through is looked up (the call note's uniq, the unsorted item's uniq) before anything is resent.
// Kommo's 7 req/s make this slow (about 3 requests per call): 120 calls and 6 kills by default (about a minute);
// CALLHOOK_KOMMO_KILL_CALLS=500 for the full figure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startLocalKommo, demoKommoSeed } from '../../core/demo-crm/kommo/index.js';
import { connectRoot, DB, uniqueName } from '../fixtures/cel-sources/db.js';
import { FIXTURES, loadRows, RECORDED } from '../cel/assembler-kit.js';
import { cloneCalls } from './corpus.js';
import { createCelTable, killAtRandomMoments, startConnector, waitUntil } from './kit.js';
import { kommoDelivery, kommoLiveSettings, kommoSeedUsers } from './kommo-kit.js';

let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-kommo-kill-'));
  mkdirSync(path.join(dir, 'hooks'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

const CALLS = Number(process.env.CALLHOOK_KOMMO_KILL_CALLS ?? 120);
const KILLS = Number(process.env.CALLHOOK_KILLS ?? 6);
/** Inbound from John Doe (→ his lead), and the IVR-only call from an unknown number (→ an Unsorted item). */
const ORIGINALS = new Set(['1795500158.66', '1795500170.72', '1795500185.80', '1795500212.86', '1795600300.14']);

test(`SIGKILL at random moments over ${CALLS} calls to Kommo: every call logged exactly once, none lost`, { timeout: 900_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const cel = uniqueName('kommo_kill_cel');
  const state = uniqueName('kommo_kill_state');
  databases.push(cel, state);
  const recorded = [...loadRows(RECORDED), ...loadRows(path.join(FIXTURES, 'public', 'ivr-hangup-pjsip.jsonl'))];
  const clones = cloneCalls(recorded, CALLS, { firstId: 1, startMs: Date.now() - 10 * 60_000, spacingMs: 200, idSeconds: 1_970_000_000, only: (id) => ORIGINALS.has(id) });
  await createCelTable(root!, cel, clones.flatMap((c) => c.rows));
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: demoKommoSeed().contacts ?? [] } });
  const pbx = `${DB.host}:${DB.port}/${cel}.cel`;
  try {
    const settings = kommoLiveSettings({
      file: path.join(dir, 'settings.json'), celDatabase: cel, stateDatabase: state, kommo, hooksFolder: path.join(dir, 'hooks'),
      // After a kill, a request that was in flight is not resent before this (the local account answers at once).
      delivery: { concurrency: 16, in_doubt_wait_ms: 1000 },
    });
    const loggedAll = (): boolean => kommo.state.calls.length >= CALLS;
    const started = Date.now();
    const kills = await killAtRandomMoments({
      settingsFile: settings, kills: KILLS, seed: 11, done: loggedAll, pause: { minMs: 300, spreadMs: 4000 },
      working: () => {
        const before = kommo.received.length;
        return () => kommo.received.slice(before).some((r) => r.method.startsWith('POST '));
      },
    });
    const last = startConnector(settings);
    await waitUntil(`${CALLS} calls logged in Kommo`, () => loggedAll() || last.child.exitCode !== null, 600_000, () => `${kommo.state.calls.length} logged; ${last.stderr().slice(-1500)}`);
    assert.equal(last.child.exitCode, null, `the last run is still running: ${last.stderr().slice(-2000)}`);
    // Anything still in flight lands (a duplicate would show up here).
    await new Promise((r) => setTimeout(r, 1500));
    const exit = await last.stop('SIGTERM');
    assert.equal(exit.code, 0, last.stderr().slice(-2000));
    const result = kommoDelivery(kommo, pbx, clones.map((c) => c.linkedid));
    const lookups = kommo.received.filter((r) => r.method.endsWith('/notes') || r.method === 'GET /api/v4/leads/unsorted').length;
    const posts = kommo.received.filter((r) => (r.method === 'POST /api/v4/calls' || r.method === 'POST /api/v4/leads/unsorted/sip') && r.status === 200).length;
    const unsorted = kommo.state.calls.filter((c) => c.via === 'unsorted').length;
    console.log(`kommo kill test: ${CALLS} calls (${unsorted} as Unsorted items), ${kills} SIGKILLs, ${((Date.now() - started) / 1000).toFixed(0)} s; ${kommo.received.length} requests, ` +
      `${kommo.received.filter((r) => r.status === 429).length} × 429; ${lookups} in-doubt look-ups, ${posts} accepted creating requests; duplicates ${result.duplicates}, lost ${result.lost}`);
    assert.ok(kills >= Math.min(5, KILLS), `killed ${kills} times`);
    assert.equal(result.duplicates, 0, 'no call logged twice');
    assert.equal(result.lost, 0, 'no call lost');
    assert.equal(kommo.state.calls.length, CALLS, 'one Kommo call per call');
    assert.equal(posts, CALLS, 'each call created by exactly one accepted request');
  } finally {
    await kommo.close();
  }
});
