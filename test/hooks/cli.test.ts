// The hook author's CLI: init scaffolds a typed folder, check reports file:line:col, try --call runs a
// hook at its point with the catalogue input built from a call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { removeDir, tempDir } from './helpers.js';

const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/callhook.js', ...args], { encoding: 'utf8' });
const CALL = 'test/fixtures/hooks/call-incoming.json';

test('init scaffolds a folder whose starter hook passes check; a second init keeps existing files', async (t) => {
  const dir = await tempDir('init');
  t.after(() => removeDir(dir));
  const target = path.join(dir, 'hooks');
  const first = cli('init', target);
  assert.equal(first.status, 0, first.stderr);
  const tsconfig = JSON.parse(readFileSync(path.join(target, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: { callhook: string[] } } };
  assert.match(tsconfig.compilerOptions.paths.callhook[0] ?? '', /types[\\/]index\.d\.ts$/);
  const check = cli('check', target);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stderr, /1 hook file\(s\) checked, 0 with errors/);
  await writeFile(path.join(target, 'need_registration.ts'), 'export default function () { return true; }\n');
  const again = cli('init', target);
  assert.match(again.stdout, /kept .*need_registration\.ts/);
  assert.equal(readFileSync(path.join(target, 'need_registration.ts'), 'utf8'), 'export default function () { return true; }\n');
});

test('check: the example hooks are clean; broken hooks give file:line:col lines and exit 1', async (t) => {
  const ok = cli('check', 'examples/hooks');
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stderr, /6 hook file\(s\) checked, 0 with errors/);

  const dir = await tempDir('check');
  t.after(() => removeDir(dir));
  await writeFile(path.join(dir, 'need_registration.ts'), "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', ({ call_full }) => call_full.is_ivr === 'yes');\n");
  await writeFile(path.join(dir, 'process_originate_params.ts'), 'export default function (p: { extension: string }) { return { extension: p.extension }; }\n');
  await writeFile(path.join(dir, 'notes.ts'), 'export const x = 1;\n');
  const bad = cli('check', dir);
  assert.equal(bad.status, 1);
  const lines = bad.stdout.trim().split('\n').filter((l) => /^\S+:\d+:\d+: HOOK_[A-Z_]+ /.test(l));
  assert.ok(lines.some((l) => /need_registration\.ts:2:\d+: HOOK_TYPECHECK TS2367/.test(l)), bad.stdout);
  assert.ok(lines.some((l) => /process_originate_params\.ts:1:1: HOOK_TYPECHECK TS\d+: default export does not match hook 'process_originate_params'/.test(l)), bad.stdout);
  assert.ok(lines.some((l) => /notes\.ts:1:1: HOOK_UNKNOWN_POINT 'notes' is not a hook point/.test(l)), bad.stdout);
  assert.equal(cli('check', path.join(dir, 'nope')).status, 2);
});

test('try --call builds the point input from a call and judges the result like the host', () => {
  const phone = cli('try', 'examples/hooks/process_client_phone.ts', '--call', CALL, '--stage', 'conversation_requested');
  assert.equal(phone.status, 0, phone.stderr);
  assert.equal(JSON.parse(phone.stdout), '89001234567');
  assert.match(phone.stderr, /process_client_phone at conversation_requested: accepted: number\.custom becomes "89001234567"/);

  const originate = cli('try', 'examples/hooks/process_originate_params.ts', '--call', CALL);
  assert.equal(originate.status, 0, originate.stderr);
  assert.equal((JSON.parse(originate.stdout) as { extension: string }).extension, '079001234567');

  const wrongStage = cli('try', 'examples/hooks/need_registration.blacklist.ts', '--call', CALL, '--stage', 'click_to_call');
  assert.equal(wrongStage.status, 2);
  assert.match(wrongStage.stderr, /runs at conversation_requested/);
});

test('check on a pack folder checks the manifest files against the points the manifest names', async (t) => {
  const dir = await tempDir('check-pack');
  t.after(() => removeDir(dir));
  await writeFile(path.join(dir, 'callhook.pack.json'), JSON.stringify({ name: 'acme', version: '1.0.0', hooks: [{ hook: 'process_client_phone', file: 'rewrite.ts' }] }));
  // A perfectly good need_registration hook, listed for the wrong point.
  await writeFile(path.join(dir, 'rewrite.ts'), 'export default function (i: { call_stage: string }): boolean { return i.call_stage !== "x"; }\n');
  await writeFile(path.join(dir, 'unlisted.ts'), 'this is not even TypeScript\n');
  const r = cli('check', dir);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /rewrite\.ts:1:1: HOOK_TYPECHECK TS\d+: default export does not match hook 'process_client_phone'/);
  assert.doesNotMatch(r.stdout, /unlisted\.ts/, 'only the manifest files belong to the pack');
});
