// `callhook run` on its embedded demo defaults and on a settings file: every call of the CEL sample is
// reported once, with what each hook decided at each stage; broken hooks and bad settings are reported
// by file and line, and never stop the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assembleAll } from '../../core/cel/assembler/index.js';
import { DEFAULT_NUMBER_SETTINGS, createNumberModel } from '../../core/numbers/index.js';
import { validateCallFull } from '../../core/contract/validate.js';
import type { CallReport } from '../../core/run/connector.js';
import { loadRows } from '../cel/assembler-kit.js';

const DEMO = path.resolve('examples/cel/demo.jsonl');
const HEADER = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}(local|incoming|outgoing|unknown) {2}.+ → .+ {2}answered by .+ {2}result \d{3}.* {2}\[(.+)\]$/;

function callhook(args: string[], cwd = process.cwd()): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CALLHOOK_LOG_LEVEL: 'warn' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The demo sample assembled without hooks: what the run must report, call for call. */
function expectedDemo(): { linkedids: string[]; stages: number } {
  const numbers = createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, prefixes: [...DEFAULT_NUMBER_SETTINGS.prefixes] });
  const { calls, stages } = assembleAll(loadRows(DEMO), { calls: {}, numbers });
  numbers.close();
  return { linkedids: calls.map((c) => c.linkedid), stages: stages.length };
}

test('`callhook run` with no settings replays the bundled sample through the example hooks and reports every call', () => {
  const r = callhook(['run'], tmpdir()); // from any directory: the demo defaults resolve against the package
  assert.equal(r.status, 0, r.stderr);
  const expected = expectedDemo();
  const headers = r.stdout.split('\n').map((l) => HEADER.exec(l)).filter((m) => m !== null);
  assert.deepEqual(headers.map((m) => m[2]), expected.linkedids, 'each call once, in the order calls finish');
  assert.match(r.stdout, new RegExp(`^${expected.linkedids.length} calls, ${expected.stages} stages, 300 CEL rows; 6 hooks$`, 'm'));
  for (const hook of ['need_registration.blacklist.ts', 'need_registration.whitelist.ts', 'process_client_phone.ts', 'process_record_file_path.ts', 'post_registration.ts', 'process_originate_params.ts']) {
    assert.match(r.stdout, new RegExp(`^  \\S+  ${hook.replace(/\./g, '\\.')}  file  active$`, 'm'), `${hook} is listed as active`);
  }
  // The example blacklist blocks extension 204: that call's stages stop at need_registration.
  const blocked = r.stdout.split('\n\n').find((block) => / → 204 {2}/.test(block));
  assert.ok(blocked, 'the demo has a call to 204');
  assert.match(blocked, /conversation_requested 204 \(row \d+\): not registered/);
  assert.match(blocked, /need_registration\.blacklist\.ts → false/);
  assert.doesNotMatch(blocked, /process_client_phone/, 'nothing runs after a "no"');
  // A registered incoming call reaches the recording-path hook, which names a dated file in the root.
  assert.match(r.stdout, /process_record_file_path\.ts → "\/var\/spool\/asterisk\/monitor\/\d{4}\/\d\d\/\d\d\//);
});

test('`callhook run --json` writes one valid call_full per call with the stage decisions and their full traces', () => {
  const r = callhook(['run', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const reports = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as CallReport);
  assert.deepEqual(reports.map((x) => x.linkedid), expectedDemo().linkedids);
  for (const report of reports) {
    assert.deepEqual(validateCallFull(report.call_full), [], report.linkedid);
    assert.equal(report.stages.filter((s) => s.stage === 'call_ended').length, 1, 'one call_ended per call');
    assert.equal(report.stages.at(-1)?.stage, 'call_ended', 'and it comes last');
    for (const stage of report.stages) {
      assert.equal(stage.points[0]?.point, 'need_registration', 'need_registration decides first');
      assert.equal(stage.registered, stage.points[0]?.value === true);
      if (!stage.registered) assert.equal(stage.points.length, 1, 'a "no" stops the stage');
      assert.equal(stage.traces.length, stage.points.length);
      for (const t of stage.traces) assert.equal(t.callId, report.linkedid);
    }
  }
  assert.match(r.stderr, /calls, \d+ stages, 300 CEL rows/);
});

test('a hook that throws or loops is reported with its file:line and the default, and every call is still reported', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-run-'));
  try {
    mkdirSync(path.join(dir, 'hooks'));
    writeFileSync(path.join(dir, 'hooks', 'need_registration.ts'), `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => {
  if (call_full.channel.to.original === '201') throw new Error('no lists today');
  return true;
});
`);
    writeFileSync(path.join(dir, 'hooks', 'process_client_phone.ts'), `import { defineHook } from 'callhook';
export default defineHook('process_client_phone', ({ number }) => {
  for (;;) {}
  return number.original;
});
`);
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ cel: { replay: { path: DEMO } }, hooks: { folder: 'hooks' }, sandbox: { isolation: 'process' } }, null, 2));
    const r = callhook(['run', '--settings', 'settings.json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const expected = expectedDemo();
    assert.equal(r.stdout.split('\n').filter((l) => HEADER.test(l)).length, expected.linkedids.length);
    assert.match(r.stdout, /need_registration\.ts → FAILED need_registration\.ts:3:\d+ HOOK_THROW no lists today; failed/);
    assert.match(r.stdout, /process_client_phone\.ts → (FAILED process_client_phone\.ts(:\d+:\d+)? HOOK_TIMEOUT|skipped: cooling_down)/);
    assert.doesNotMatch(r.stdout + r.stderr, /node_modules|sandbox\/|at async/, 'no host paths or stacks');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad settings stop `callhook run` with the file and the key, before anything runs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-run-'));
  try {
    writeFileSync(path.join(dir, 'typo.json'), JSON.stringify({ hooks: { foldr: 'x' } }));
    let r = callhook(['run', '--settings', 'typo.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /typo\.json: \/hooks\/foldr: unknown key/);
    assert.equal(r.stdout, '');
    writeFileSync(path.join(dir, 'regex.json'), JSON.stringify({ numbers: { auto_replace: [{ pattern: '^(\\d+', replacement: '$1' }] } }));
    r = callhook(['run', '--settings', 'regex.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /regex\.json: \/numbers\/auto_replace\/0\/pattern/);
    r = callhook(['run', '--settings', 'missing.json'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
