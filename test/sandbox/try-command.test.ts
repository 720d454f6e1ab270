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
  assert.deepEqual(JSON.parse(r.stdout), { register: true });
  assert.match(r.stderr, /\[info\] deciding \{"caller":"\+4930123456"\}/);
  assert.match(r.stderr, /hook need_registration: compile [\d.]+ ms, load [\d.]+ ms, call [\d.]+ ms/);
});

test('prints the mapped error as file:line:col CODE message and exits 1', () => {
  const r = tryCli(hook, '--input', path.join(fixtures, 'input-bad.json'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^need_registration\.ts:8:32 HOOK_THROW negative duration$/m);
  assert.ok(!r.stderr.includes(repo), 'no host path');
});

test('--json gives one machine-readable document', () => {
  const r = tryCli(hook, '--input', path.join(fixtures, 'input-bad.json'), '--json', '--hook', 'custom_name');
  const doc = JSON.parse(r.stdout) as { ok: boolean; hook: string; error: { code: string; line: number }; logs: unknown[] };
  assert.equal(doc.ok, false);
  assert.equal(doc.hook, 'custom_name');
  assert.equal(doc.error.code, 'HOOK_THROW');
  assert.equal(doc.error.line, 8);
  assert.equal(doc.logs.length, 1);
});

test('bad usage exits 2', () => {
  assert.equal(tryCli(hook).status, 2);
  assert.equal(tryCli().status, 2);
});
