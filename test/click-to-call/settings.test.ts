// `callhook run` with click-to-call on but unusable settings stops before anything runs, naming the key,
// and never printing the (secret) value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function run(settings: object): { status: number | null; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-ami-settings-'));
  try {
    const file = path.join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify(settings));
    const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), 'run', '--settings', file], { encoding: 'utf8', env: { ...process.env, CALLHOOK_LOG_LEVEL: 'warn' }, timeout: 60_000 });
    return { status: r.status, stderr: r.stderr.replaceAll(file, '<file>') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('click-to-call on with a short token, or without AMI credentials: exit 1 naming the key, no value printed', () => {
  const short = run({ click_to_call: { enabled: true, token: 'tiny-secret' }, ami: { username: 'callhook', secret: 'amisecret-xyz' } });
  assert.equal(short.status, 1, short.stderr);
  assert.match(short.stderr, /^<file>: click_to_call\.token: .*at least 16 characters/m);
  assert.doesNotMatch(short.stderr, /tiny-secret|amisecret-xyz/);
  const noAmi = run({ click_to_call: { enabled: true, token: 'a-long-enough-token-1234' } });
  assert.equal(noAmi.status, 1, noAmi.stderr);
  assert.match(noAmi.stderr, /^<file>: ami\.username: .*manager\.conf/m);
  const bad = run({ ami: { port: 0 } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /\/ami\/port/, 'the schema names a bad AMI port');
});
