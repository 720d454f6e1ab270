// `callhook run` with the http section: the server starts with the run (its address on stderr) and a replay
// still ends by itself; a non-loopback bind without credentials stops the start naming the settings field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CALLHOOK } from './kit.js';

function runWith(http: object): { status: number | null; stderr: string; stdout: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-run-http-'));
  try {
    cpSync(path.resolve('examples/hooks'), path.join(dir, 'hooks'), { recursive: true });
    const file = path.join(dir, 'settings.json');
    writeFileSync(file, JSON.stringify({ cel: { source: 'replay', replay: { path: path.resolve('examples/cel/demo.jsonl') } }, hooks: { folder: path.join(dir, 'hooks'), watch: false }, http }));
    const r = spawnSync(process.execPath, [CALLHOOK, 'run', '--settings', file], { env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' }, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('callhook run starts the admin server with http.port and a replay still finishes by itself', () => {
  const r = runWith({ port: 0, tokens: ['a-token-of-at-least-24-characters'] });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /^admin server http:\/\/127\.0\.0\.1:\d+$/m);
  assert.match(r.stdout, /11 calls, \d+ stages/);
  assert.ok(!r.stderr.includes('a-token-of-at-least'), 'the token is never printed');
});

test('a non-loopback bind without users or tokens stops the start, naming http.bind', () => {
  const r = runWith({ port: 0, bind: '0.0.0.0' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /settings\.json: HTTP_OPEN_BIND: http\.bind is '0\.0\.0\.0'.*http\.users and http\.tokens are empty/);
  assert.doesNotMatch(r.stdout, /11 calls/, 'nothing ran');
});
