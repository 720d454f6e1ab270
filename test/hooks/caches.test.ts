// The start-up caches (issue 11 item 19: transformed TypeScript, type checks that passed, compiled hooks)
// never change what runs: an edit anywhere in a hook's folder is seen by the next command, a failure is
// never remembered, and a cache folder other users could write to is not used at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeDir, tempDir } from './helpers.js';

const BIN = path.resolve('bin/callhook.js');
const CALL = path.resolve('test/fixtures/hooks/call-incoming.json');

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent', ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an edit to a helper is seen by the next check and try: not served from a cache', async (t) => {
  const dir = await tempDir('caches');
  t.after(() => removeDir(dir));
  writeFileSync(path.join(dir, '_suffix.ts'), "export const SUFFIX: string = '-a';\n");
  writeFileSync(path.join(dir, '_side.ts'), '');
  writeFileSync(path.join(dir, 'process_client_phone.ts'), `import { defineHook } from 'callhook';
import { SUFFIX } from './_suffix.ts';
import './_side.ts';
export default defineHook('process_client_phone', ({ number }) => number.original + SUFFIX + String((globalThis as { side?: string }).side ?? ''));
`);
  const hook = path.join(dir, 'process_client_phone.ts');
  for (let i = 0; i < 2; i++) {
    assert.equal(cli(['check', dir]).status, 0);
    assert.equal(JSON.parse(cli(['try', hook, '--call', CALL]).stdout), '+79001234567-a');
  }
  writeFileSync(path.join(dir, '_suffix.ts'), "export const SUFFIX: string = '-b';\n");
  assert.equal(JSON.parse(cli(['try', hook, '--call', CALL]).stdout), '+79001234567-b', 'the new helper is bundled');
  writeFileSync(path.join(dir, '_side.ts'), "(globalThis as { side?: string }).side = '+side';\n");
  assert.equal(JSON.parse(cli(['try', hook, '--call', CALL]).stdout), '+79001234567-b+side', 'even a file that contributed no code before');
  writeFileSync(path.join(dir, '_suffix.ts'), 'export const SUFFIX: number = 1;\nexport const BAD: string = 2;\n');
  const broken = cli(['check', dir]);
  assert.equal(broken.status, 1, 'a type error in a helper is found although the hook passed before');
  assert.match(broken.stdout, /_suffix\.ts:2:\d+: HOOK_TYPECHECK TS2322/);
  assert.equal(cli(['check', dir]).status, 1, 'and a failure is never remembered as a pass');
});

test('a cache folder that other users may write to is not used; the commands work the same without it', async (t) => {
  const shared = mkdtempSync(path.join(tmpdir(), 'callhook-shared-cache-'));
  t.after(() => rmSync(shared, { recursive: true, force: true }));
  chmodSync(shared, 0o777);
  const r = cli(['try', path.resolve('examples/hooks/process_client_phone.ts'), '--call', CALL], { CALLHOOK_CACHE_DIR: shared });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), '89001234567');
  assert.deepEqual(readdirSync(shared), [], 'nothing was written to (or read from) a folder others can plant files in');
});
