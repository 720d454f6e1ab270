// What-if over 10,000 recorded calls (npm run bench -- whatif): the demo's 11 calls recorded by the real
// connector, cloned to 10,010 calls in a SQLite store; `callhook whatif`'s path (a candidate host over a copy
// of the hooks folder, loaded, then every recorded need_registration input run again) against the baseline:
// the same recorded inputs replayed through the live hooks (a host over the live folder, already loaded).
// Both in the default process isolation. Targets: ≥ 0.8× the baseline and ≥ 2,000 calls/s.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createLogger } from '../core/log.js';
import { loadSettings } from '../core/settings/index.js';
import { createConnectorStore, openSqliteDriver, pbxKey } from '../core/store/index.js';
import { replayPoint, runWhatIf } from '../core/whatif/index.js';
import { createHookHost, hostOptionsFromSettings } from '../hooks/index.js';

const CALLS = 10_000;
const logger = createLogger({ level: 'silent' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-whatif-bench-'));
try {
  const hooksDir = path.join(dir, 'hooks');
  cpSync(path.resolve('examples/hooks'), hooksDir, { recursive: true });
  const storeFile = path.join(dir, 'store.sqlite');
  const settingsFile = path.join(dir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify({ cel: { source: 'replay', replay: { path: path.resolve('examples/cel/demo.jsonl') } }, hooks: { folder: hooksDir, watch: false }, store: { sqlite: { path: storeFile } } }));
  execFileSync(process.execPath, [path.resolve('bin/callhook.js'), 'run', '--json', '--settings', settingsFile], { env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 26 });

  // Clone the recorded calls (with their stage traces) under new linkedids.
  const db = new Database(storeFile);
  const originals = (db.prepare('SELECT COUNT(*) AS n FROM calls').get() as { n: number }).n;
  const copies = Math.ceil(CALLS / originals) - 1;
  const cloneCalls = db.prepare(`INSERT INTO calls SELECT pbx, linkedid || '-c' || ?, run, status, priority, finished, start_time, memory, call_full, summary, parked_reason, next_attempt_at, created_at, updated_at FROM calls WHERE linkedid NOT LIKE '%-c%'`);
  const cloneEvents = db.prepare(`INSERT INTO call_events (pbx, linkedid, run, stage, conversation_id, at_row_id, call_full, status, progress, trace, created_at, processed_at)
    SELECT pbx, linkedid || '-c' || ?, run, stage, conversation_id, at_row_id, call_full, status, progress, trace, created_at, processed_at FROM call_events WHERE linkedid NOT LIKE '%-c%'`);
  db.transaction(() => { for (let i = 1; i <= copies; i++) { cloneCalls.run(i); cloneEvents.run(i); } })();
  const total = (db.prepare('SELECT COUNT(*) AS n FROM calls').get() as { n: number }).n;
  db.close();

  const settings = await loadSettings({ file: settingsFile });
  const store = await createConnectorStore(openSqliteDriver(storeFile));
  const pbx = pbxKey(settings);
  const source = readFileSync(path.join(hooksDir, 'need_registration.blacklist.ts'), 'utf8').replace("new Set(['204'])", "new Set(['204', '202'])");

  // What reading the recorded traces alone costs (both runs below include it).
  const t0 = performance.now();
  const ids = (await store.listCalls(pbx, { brief: true })).map((c) => c.linkedid);
  let steps = 0;
  for (let i = 0; i < ids.length; i += 200) for (const list of (await store.currentTraces(pbx, ids.slice(i, i + 200))).values()) steps += list.length;
  const readMs = performance.now() - t0;

  // Baseline: the live hooks (loaded before the clock starts) on the same recorded inputs.
  const liveHost = await createHookHost(hostOptionsFromSettings({ ...settings.hooks, watch: false }, settings.sandbox, { logger, watch: false }));
  await liveHost.whenIdle();
  await replayPoint({ host: liveHost, store, pbx, point: 'need_registration', selection: { limit: 50 } }); // warm-up
  let t = performance.now();
  const base = await replayPoint({ host: liveHost, store, pbx, point: 'need_registration', selection: { limit: total } });
  const baseMs = performance.now() - t;
  await liveHost.close();

  t = performance.now();
  const w = await runWhatIf({ settings, store, pbx, name: 'need_registration.blacklist.ts', source, selection: { limit: total }, logger });
  const whatIfMs = performance.now() - t;
  await store.close();

  const baseRate = base.calls / (baseMs / 1000);
  const rate = w.calls / (whatIfMs / 1000);
  console.log(`isolation ${settings.sandbox.isolation}; ${total} recorded calls (${originals} recorded by the connector, cloned), ${w.decisions} need_registration decisions`);
  console.log(`reading the ${steps} stage traces of ${ids.length} calls alone: ${readMs.toFixed(0)} ms (${(ids.length / (readMs / 1000)).toFixed(0)} calls/s)`);
  console.log(`live hooks replay (baseline): ${base.calls} calls in ${baseMs.toFixed(0)} ms = ${baseRate.toFixed(0)} calls/s (${base.differences.length} differences: expected 0)`);
  console.log(`what-if (candidate loaded + replayed): ${w.calls} calls in ${whatIfMs.toFixed(0)} ms = ${rate.toFixed(0)} calls/s; ${w.differences.length} decisions of ${w.changedCalls} calls differ`);
  console.log(`ratio what-if / live replay: ${(rate / baseRate).toFixed(2)}× (target ≥ 0.8×); ≥ 2,000 calls/s: ${rate >= 2000 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
