// Issue 11 item 3: the demo's example hooks are the default only for the demo. A settings file without
// hooks.folder runs no hooks (every point's default), on a replayed file and on a live MariaDB table, and
// the start-up banner says so. Item 8: a hook that failed to load is listed under its point, the position
// printed once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { DB, asStoredByFreepbx, connectRoot, freepbxCelDdl, insertRows, uniqueName } from '../fixtures/cel-sources/db.js';
import { loadRows } from '../cel/assembler-kit.js';

const DEMO = path.resolve('examples/cel/demo.jsonl');
const BIN = path.resolve('bin/callhook.js');
let dir = '';
let root: mysql.Connection | undefined;
let skip: string | undefined;
const databases: string[] = [];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'callhook-run-folder-'));
  const r = await connectRoot();
  if ('skip' in r) skip = r.skip;
  else root = r.conn;
});

after(async () => {
  if (root) {
    for (const db of databases) await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await root.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'run', ...args], { cwd, encoding: 'utf8', env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the demo (no settings file) runs the example hooks; a settings file without hooks.folder runs none and says so', () => {
  const demo = run([]);
  assert.equal(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, /need_registration\.blacklist\.ts  file  active/);

  writeFileSync(path.join(dir, 'replay.json'), JSON.stringify({ cel: { replay: { path: DEMO } } }));
  const r = run(['--settings', 'replay.json']);
  assert.equal(r.status, 0, r.stderr);
  const banner = r.stdout.split('\n')[0] ?? '';
  assert.match(banner, /hooks: none \(hooks\.folder is not set in replay\.json: every point uses its default\)/);
  assert.match(r.stdout, /^hooks: none loaded \(every point uses its default\)$/m);
  assert.doesNotMatch(r.stdout, /blacklist|whitelist|\.ts →/, 'no example hook ran');
  // The call the demo's blacklist stops (extension 204) is registered now: nothing stops it.
  const call204 = r.stdout.split('\n\n').find((block) => / → 204 {2}/.test(block)) ?? '';
  assert.doesNotMatch(call204, /need_registration said no/);
  assert.match(r.stdout, /; 0 hooks$/m);
});

test('a live MariaDB settings file without hooks.folder runs with no hooks: the banner says so and every point takes its default', async (t) => {
  if (skip) return t.skip(skip);
  const conn = root!;
  const pbx = uniqueName('runfolder');
  const state = uniqueName('runfolder_state');
  databases.push(pbx, state);
  await conn.query(`CREATE DATABASE \`${pbx}\``);
  await conn.query(freepbxCelDdl(pbx));
  await insertRows(conn, pbx, 'cel', loadRows(DEMO).map(asStoredByFreepbx));
  const settings = path.join(dir, 'live.json');
  writeFileSync(settings, JSON.stringify({ cel: { source: 'mariadb', mariadb: { ...DB, database: pbx, table: 'cel', state_database: state, poll_interval_min_ms: 20, poll_interval_max_ms: 100, gap_wait_ms: 0 } } }));
  const child = spawn(process.execPath, [BIN, 'run', '--settings', settings], { env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent' } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  // The demo recording has a call to 204: wait until it is reported, then stop the live run.
  while (!/ → 204 {2}/.test(stdout) || !/\n\n/.test(stdout.slice(stdout.search(/ → 204 {2}/)))) {
    if (Date.now() > deadline || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 0, stdout);
  assert.match(stdout.split('\n')[0] ?? '', /CEL mariadb .*; hooks: none \(hooks\.folder is not set in .*live\.json: every point uses its default\)/);
  assert.match(stdout, /^hooks: none loaded/m);
  assert.doesNotMatch(stdout, /blacklist|whitelist|\.ts →/, 'the demo\'s hooks never run against a real PBX');
});

test('item 8: a hook that failed to load is listed under its point in run\'s status, its position printed once', () => {
  const hooks = path.join(dir, 'broken-hooks');
  mkdirSync(hooks, { recursive: true });
  writeFileSync(path.join(hooks, 'process_client_phone.ts'), "import { defineHook } from 'callhook';\nexport default defineHook('process_client_phone', ({ number }) => {\n  const n: number = number.original;\n  return String(n);\n});\n");
  writeFileSync(path.join(dir, 'broken.json'), JSON.stringify({ cel: { replay: { path: DEMO } }, hooks: { folder: 'broken-hooks' } }));
  const r = run(['--settings', 'broken.json']);
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.includes('process_client_phone.ts  file  failed')) ?? '';
  assert.match(line, /^ {2}process_client_phone {2}process_client_phone\.ts {2}file {2}failed {2}last error: process_client_phone\.ts:3:\d+ HOOK_TYPECHECK TS2322: /);
  assert.equal(line.match(/process_client_phone\.ts:\d+:\d+/g)?.length, 1, line);
});

test("a hook's output with terminal control and bidi characters is shown escaped in the run report, never raw", () => {
  const hooks = path.join(dir, 'hooks-control');
  mkdirSync(hooks, { recursive: true });
  // U+202E reverses the rest of the line on a terminal; U+009B is a one-byte CSI (ESC [) to many terminals.
  writeFileSync(path.join(hooks, 'process_client_phone.ts'), [
    "import { defineHook } from 'callhook';",
    "export default defineHook('process_client_phone', ({ number }) => '\\u202e' + (number.custom || number.original) + '\\u009b2J');",
    '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'control.json'), JSON.stringify({ cel: { replay: { path: DEMO } }, hooks: { folder: 'hooks-control' } }));
  const r = run(['--settings', 'control.json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /process_client_phone\.ts → "\\u202e[^"]*\\u009b2J"/, 'the output is shown, escaped');
  assert.doesNotMatch(r.stdout, /[\u202e\u009b]/, 'no raw control or bidi character reaches the terminal');
});
