import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('callhook version prints the package version', () => {
  const out = spawnSync(process.execPath, ['bin/callhook.js', 'version'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /^callhook \d+\.\d+\.\d+/);
});

test('callhook with an unknown command exits 2 and names it', () => {
  const out = spawnSync(process.execPath, ['bin/callhook.js', 'frobnicate'], { encoding: 'utf8' });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /unknown command 'frobnicate'/);
});
