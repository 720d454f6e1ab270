// SLOW (about a minute with a warm npm cache; the first run fetches the dependencies from the registry):
// `npm pack` → install the tarball in an empty folder → `npx callhook --help`, `callhook doctor` and the
// demo run there, as a user installs it. The native modules (isolated-vm, better-sqlite3) compile from
// source on install (≈5 min on this 2-core machine, measured by hand: docs/operators.md); the test installs
// with --ignore-scripts and copies this checkout's compiled builds into the installation instead (same node,
// same ABI), which is what a prebuilt binary does. CALLHOOK_PACK_COMPILE=1 runs the full install.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../core/settings/index.js';

const repo = path.resolve('.');
const dir = mkdtempSync(path.join(tmpdir(), 'callhook-pack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, timeoutMs: number): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test('npm pack → install in an empty folder → npx callhook --help, doctor and the demo run', { timeout: 900_000 }, () => {
  const pack = sh('npm', ['pack', '--json', '--pack-destination', dir], repo, 120_000);
  assert.equal(pack.status, 0, pack.out);
  const [info] = JSON.parse(pack.out.slice(pack.out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info!.files.map((f) => f.path);
  for (const needed of ['bin/callhook.js', 'core/cli/main.ts', 'core/cli/doctor-command.ts', 'types/settings/leadership.schema.json', 'examples/cel/demo.jsonl', 'examples/callhook.service', 'docs/operators.md']) {
    assert.ok(files.includes(needed), `the package holds ${needed}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('bench/')), 'no tests or benchmarks in the package');

  const app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'callhook-install-test', private: true }));
  const compile = process.env.CALLHOOK_PACK_COMPILE === '1';
  const started = Date.now();
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...(compile ? [] : ['--ignore-scripts']), path.join(dir, info!.filename)], app, 840_000);
  assert.equal(install.status, 0, install.out);
  const installed = path.join(app, 'node_modules');
  if (!compile) {
    cpSync(path.join(repo, 'node_modules/better-sqlite3/build'), path.join(installed, 'better-sqlite3/build'), { recursive: true });
    cpSync(path.join(repo, 'node_modules/isolated-vm/out'), path.join(installed, 'isolated-vm/out'), { recursive: true });
  }
  console.log(`# install of the tarball: ${((Date.now() - started) / 1000).toFixed(0)} s (${compile ? 'native modules compiled' : 'native builds copied'})`);
  assert.ok(existsSync(path.join(installed, '.bin', 'callhook')), 'node_modules/.bin/callhook is there');
  assert.ok(!readdirSync(installed).includes('playwright-core'), 'dev dependencies are not installed');

  const help = sh('npx', ['--no-install', 'callhook', '--help'], app, 60_000);
  assert.equal(help.status, 0, help.out);
  assert.match(help.out, /doctor/);
  assert.match(help.out, /\brun\b/);

  // The demo settings (no file): replay + demo CRM + temporary store: nothing FAILs, the notes are WARNs.
  const doctor = sh(path.join(installed, '.bin', 'callhook'), ['doctor'], app, 60_000);
  assert.equal(doctor.status, 0, doctor.out);
  assert.match(doctor.out, /^OK {3}settings valid/m);
  assert.match(doctor.out, /^OK {3}CEL source: replay .*node_modules\/callhook\/examples\/cel\/demo\.jsonl/m);

  const demo = sh(path.join(installed, '.bin', 'callhook'), ['run'], app, 180_000);
  assert.equal(demo.status, 0, demo.out);
  assert.match(demo.out, /What the demo CRM received:/);
  assert.match(demo.out, /^11 calls, \d+ stages, 300 CEL rows; \d+ hooks$/m);
});

test('examples/production.settings.json is valid against the settings schema', async () => {
  const settings = await loadSettings({ file: path.join(repo, 'examples/production.settings.json') });
  assert.equal(settings.cel.source, 'mariadb');
  assert.equal(settings.store.kind, 'mariadb');
  assert.equal(settings.leadership.lease_ms, 6000);
  assert.equal(settings.crm.type, 'bitrix24');
});
