// `callhook run` on a live MariaDB `cel` table: it reports calls as their rows arrive, stops cleanly on
// SIGINT, and a restart resumes where it stopped, with a call that was half-written at the stop: every
// call is reported exactly once across the two runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type mysql from 'mysql2/promise';
import { CallAssembler, assembleAll } from '../../core/cel/assembler/index.js';
import { DEFAULT_NUMBER_SETTINGS, createNumberModel } from '../../core/numbers/index.js';
import type { CallReport } from '../../core/pipeline/index.js';
import { DB, asStoredByFreepbx, connectRoot, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows } from '../cel/assembler-kit.js';

const DEMO = path.resolve('examples/cel/demo.jsonl');
let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];
let dir = '';

before(async () => {
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-live-'));
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

interface LiveRun {
  child: ChildProcessWithoutNullStreams;
  reports: CallReport[];
  waitForCalls(n: number, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>;
}

function startRun(settingsFile: string): LiveRun {
  const child = spawn(process.execPath, [path.resolve('bin/callhook.js'), 'run', '--json', '--settings', settingsFile], {
    env: { ...process.env, CALLHOOK_LOG_LEVEL: 'warn' },
  });
  const reports: CallReport[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => reports.push(JSON.parse(line) as CallReport));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    reports,
    async waitForCalls(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (reports.length < n) {
        if (Date.now() > deadline) throw new Error(`waited for ${n} calls, got ${reports.length}; stderr: ${stderr}`);
        if (child.exitCode !== null) throw new Error(`callhook run exited ${child.exitCode}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGINT') {
      child.kill(signal);
      return { code: await exited, stderr };
    },
  };
}

test('a live run reports calls as rows arrive, stops on SIGINT or SIGTERM and resumes after a restart without losing or repeating a call', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const pbx = uniqueName('runlive');
  const state = uniqueName('runlive_state');
  databases.push(pbx, state);
  await conn.query(`CREATE DATABASE \`${pbx}\``);
  await conn.query(freepbxCelDdl(pbx));

  const rows = loadRows(DEMO).map(asStoredByFreepbx);
  const numbers = createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, prefixes: [...DEFAULT_NUMBER_SETTINGS.prefixes] });
  const everyCall = assembleAll(rows, { calls: {}, numbers }).calls.map((c) => c.linkedid);
  // Cut the table in the middle of a call: the first run sees only part of its rows.
  const cut = Math.floor(rows.length / 2);
  const firstPart = rows.slice(0, cut);
  const partial = new CallAssembler({ calls: {}, numbers });
  for (const row of firstPart) partial.push(row);
  const finishedInFirstPart = partial.drainFinished().map((c) => c.linkedid);
  assert.ok(partial.stats.callsInProgress > 0, 'the cut leaves a call half-written');
  numbers.close();

  const settingsFile = path.join(dir, 'live.json');
  writeFileSync(settingsFile, JSON.stringify({
    cel: { source: 'mariadb', mariadb: { ...DB, database: pbx, table: 'cel', state_database: state, poll_interval_min_ms: 20, poll_interval_max_ms: 100, gap_wait_ms: 0 } },
  }));

  await insertRows(conn, pbx, 'cel', firstPart);
  const first = startRun(settingsFile);
  t.after(() => void first.child.kill('SIGKILL')); // a failed wait must not leave the connector running
  await first.waitForCalls(finishedInFirstPart.length);
  await new Promise((r) => setTimeout(r, 500)); // idle polling: nothing more may come
  const stopped = await first.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /; stopped/);
  assert.deepEqual(first.reports.map((r) => r.linkedid).sort(), [...finishedInFirstPart].sort());

  await insertRows(conn, pbx, 'cel', rows.slice(cut));
  const second = startRun(settingsFile);
  t.after(() => void second.child.kill('SIGKILL'));
  const rest = everyCall.filter((id) => !finishedInFirstPart.includes(id));
  await second.waitForCalls(rest.length);
  await new Promise((r) => setTimeout(r, 500));
  const stopped2 = await second.stop('SIGTERM'); // as a service manager stops it: to the wrapper's pid
  assert.equal(stopped2.code, 0, stopped2.stderr);
  assert.deepEqual(second.reports.map((r) => r.linkedid).sort(), [...rest].sort(), 'the restart delivers exactly the calls the first run did not');
  assert.deepEqual([...first.reports, ...second.reports].map((r) => r.linkedid).sort(), [...everyCall].sort(), 'every call once');
  // The call cut in half is whole: all of its stages made it, across the restart.
  for (const report of second.reports) assert.equal(report.stages.at(-1)?.stage, 'call_ended');
});
