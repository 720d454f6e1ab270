// `callhook try` end to end, through bin/callhook.js as a support engineer would run it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const repo = path.resolve(import.meta.dirname, '..', '..');
const fixtures = path.join(repo, 'test', 'fixtures', 'sandbox');
const hook = path.join(fixtures, 'hooks', 'need_registration.ts');

function tryCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'callhook.js'), 'try', ...args], { encoding: 'utf8', cwd: repo });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('prints the result, the logs and the timing', () => {
  const r = tryCli(hook, '--input', path.join(fixtures, 'input-ok.json'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), true);
  assert.match(r.stderr, /\[info\] deciding \{"caller":"\+79001234567"\}/);
  assert.match(r.stderr, /hook need_registration\.ts: ready in \d+ ms \(type check \d+ ms, compile [\d.]+ ms, load [\d.]+ ms, side by side\), call [\d.]+ ms \(process isolation\)/);
});

test('prints the mapped error as file:line:col CODE message and exits 1', () => {
  const r = tryCli(hook, '--input', path.join(fixtures, 'input-bad.json'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^need_registration\.ts:7:\d+ HOOK_THROW no caller number$/m);
  assert.match(r.stderr, /FAILED with HOOK_THROW; the connector applies the point's default: true \(register\)/);
  assert.ok(!r.stderr.includes(repo), 'no host path');
});

test('--json gives one machine-readable document', () => {
  const r = tryCli(hook, '--input', path.join(fixtures, 'input-bad.json'), '--json');
  const doc = JSON.parse(r.stdout) as { ok: boolean; hook: string; point: string; error: { code: string; line: number }; logs: unknown[] };
  assert.equal(doc.ok, false);
  assert.equal(doc.hook, 'need_registration.ts');
  assert.equal(doc.point, 'need_registration');
  assert.equal(doc.error.code, 'HOOK_THROW');
  assert.equal(doc.error.line, 7);
  assert.equal(doc.logs.length, 1);
});

test('bad usage exits 2', () => {
  assert.equal(tryCli(hook).status, 2);
  assert.equal(tryCli().status, 2);
});
