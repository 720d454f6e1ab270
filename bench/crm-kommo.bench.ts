// Kommo backlog drain: KOMMO_BENCH_BACKLOG (default 40) calls already in a MariaDB `cel` table →
// `callhook run` → the local Kommo account with its real limit (7 requests in any one-second window,
// 429 above). The request rate after the first window, as a share of the 7 req/s limit (target ≥ 95 %),
// and the 429s the account answered (the connector should cause none). Run with `npm run bench -- crm`.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startLocalKommo, demoKommoSeed } from '../core/demo-crm/kommo/index.js';
import { asStoredByFreepbx, DB, freepbxCelDdl, insertRows, uniqueName } from '../test/fixtures/cel-sources/db.js';
import { loadRows, RECORDED } from '../test/cel/assembler-kit.js';
import { cloneCalls } from '../test/pipeline/corpus.js';
import { startConnector, waitUntil } from '../test/pipeline/kit.js';
import { kommoLiveSettings, kommoSeedUsers } from '../test/pipeline/kommo-kit.js';

const BACKLOG = Number(process.env.KOMMO_BENCH_BACKLOG ?? 40);
const LIMIT = 7;

async function main(): Promise<void> {
  const root = await mysql.createConnection({ ...DB });
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-kommo-bench-'));
  mkdirSync(path.join(dir, 'hooks'));
  const cel = uniqueName('kommo_bench_cel');
  const state = uniqueName('kommo_bench_state');
  const kommo = await startLocalKommo({ seed: { users: kommoSeedUsers(), contacts: demoKommoSeed().contacts ?? [] } });
  try {
    await root.query(`CREATE DATABASE \`${cel}\``);
    await root.query(freepbxCelDdl(cel));
    const calls = cloneCalls(loadRows(RECORDED), BACKLOG, { firstId: 1, startMs: Date.now() - 60_000, spacingMs: 500, idSeconds: 1_980_000_000, only: (id) => id === '1795500158.66' });
    await insertRows(root, cel, 'cel', calls.flatMap((c) => c.rows).map(asStoredByFreepbx));
    const file = kommoLiveSettings({ file: path.join(dir, 'drain.json'), celDatabase: cel, stateDatabase: state, kommo, hooksFolder: path.join(dir, 'hooks') });
    const run = startConnector(file);
    try {
      await waitUntil(`${BACKLOG} calls logged`, () => kommo.state.calls.length >= BACKLOG, 900_000, run.stderr);
    } finally {
      await run.stop('SIGTERM');
    }
    const times = kommo.received.map((r) => r.atMs).sort((a, b) => a - b);
    const tooMany = kommo.received.filter((r) => r.status === 429).length;
    // The first LIMIT requests go at once (the window is empty): the rate is measured after them.
    const after = times.slice(LIMIT);
    const steady = after.length > 1 ? (after.length - 1) / (((after.at(-1) as number) - (after[0] as number)) / 1000) : NaN;
    // Requests the account accepted in any one-second window (a 429 is not counted by the account either).
    const accepted = kommo.received.filter((r) => r.status !== 429).map((r) => r.atMs).sort((a, b) => a - b);
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < accepted.length; i++) {
      while ((accepted[i] as number) - (accepted[j] as number) >= 1000) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    console.log(`kommo backlog drain: ${BACKLOG} calls, ${times.length} requests in ${(((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000).toFixed(1)} s (${(times.length / BACKLOG).toFixed(2)} per call), ${tooMany} answered 429, at most ${maxInWindow} accepted in any second`);
    console.log(`  after the first window: ${steady.toFixed(3)} req/s against Kommo's ${LIMIT} req/s = ${((steady / LIMIT) * 100).toFixed(1)} % (target >= 95 %: ${steady / LIMIT >= 0.95 ? 'met' : 'NOT met'})`);
  } finally {
    await kommo.close();
    for (const db of [cel, state]) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
