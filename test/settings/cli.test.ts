// `callhook settings [--settings f]` and `callhook replay --settings f` through bin/callhook.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../core/settings/index.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'callhook-settings-cli-'));
const SECRET = 'Pa55-w0rd-never-shown';

function callhook(args: string[], cwd = tmp): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, 'bin/callhook.js'), ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('settings without a file prints the defaults as JSON, paths inside the installation, from any directory', () => {
  const r = callhook(['settings'], '/');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { cel: { replay: { path: string }; mariadb: { password: string } }; hooks: { folder: string }; log: { level: string } };
  assert.equal(s.cel.replay.path, path.join(PACKAGE_ROOT, 'examples/cel/demo.jsonl'));
  assert.equal(s.hooks.folder, path.join(PACKAGE_ROOT, 'examples/hooks'));
  assert.equal(s.log.level, 'info');
  assert.equal(r.stderr, '');
});

test('settings --settings f prints the effective settings with secrets masked; relative paths against the file', () => {
  mkdirSync(path.join(tmp, 'my-hooks'), { recursive: true });
  mkdirSync(path.join(tmp, 'p'), { recursive: true });
  writeFileSync(path.join(tmp, 'p', 'callhook.pack.json'), JSON.stringify({ name: 'p', version: '1.0.0', hooks: [{ hook: 'need_registration', file: 'nr.ts' }], settings_schema: { type: 'object', properties: { token: { type: 'string' } } } }));
  const file = path.join(tmp, 'good.json');
  writeFileSync(file, JSON.stringify({ cel: { source: 'mariadb', mariadb: { password: SECRET } }, hooks: { folder: 'my-hooks', packs: [{ path: 'p', settings: { token: SECRET } }] } }));
  const r = callhook(['settings', '--settings', 'good.json']);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET));
  const s = JSON.parse(r.stdout) as { cel: { source: string; mariadb: { password: string } }; hooks: { folder: string; packs: Array<{ settings: { token: string } }> } };
  assert.equal(s.cel.source, 'mariadb');
  assert.equal(s.cel.mariadb.password, '***');
  assert.equal(s.hooks.packs[0]?.settings.token, '***');
  assert.equal(s.hooks.folder, path.join(tmp, 'my-hooks'));
});

test('settings with a bad file exits 1 with one line per problem on stderr, the password never shown', () => {
  const file = path.join(tmp, 'bad.json');
  writeFileSync(file, JSON.stringify({ cel: { mariadb: { password: SECRET, prot: 1 } }, hooks: { foldr: 'x' }, numbers: { auto_replace: [{ pattern: '(', replacement: '' }] } }));
  const r = callhook(['settings', '--settings', 'bad.json']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    'bad.json: /cel/mariadb/prot: unknown key (did you mean "port"?)',
    'bad.json: /hooks/foldr: unknown key (did you mean "folder"?)',
    'bad.json: /numbers/auto_replace/0/pattern: must be a valid regular expression (Unterminated group)',
  ]);
  writeFileSync(file, `{\n  "cel": { "mariadb": { "password": "${SECRET}" } },\n}\n`);
  const syntax = callhook(['settings', '--settings', 'bad.json']);
  assert.equal(syntax.status, 1);
  assert.equal(syntax.stderr, 'bad.json:3:1: trailing comma before }\n');
  const missing = callhook(['settings', '--settings', 'missing.json']);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, 'missing.json: settings file not found\n');
  assert.equal(callhook(['settings', '--nope']).status, 2);
  assert.equal(callhook(['settings', 'positional.json']).status, 2);
});

test('replay --settings validates the whole file with the loader and uses its calls section', () => {
  const file = path.join(tmp, 'replay.json');
  writeFileSync(file, JSON.stringify({ hooks: { foldr: 'x' } }));
  const bad = callhook(['replay', path.join(PACKAGE_ROOT, 'examples/cel/demo.jsonl'), '--settings', 'replay.json']);
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, 'replay.json: /hooks/foldr: unknown key (did you mean "folder"?)\n');
  writeFileSync(file, JSON.stringify({ calls: { local_endpoint_patterns: [] } }));
  const out = path.join(tmp, 'calls.jsonl');
  const ok = callhook(['replay', path.join(PACKAGE_ROOT, 'examples/cel/demo.jsonl'), '--settings', 'replay.json', '--out', out]);
  assert.equal(ok.status, 0, ok.stderr);
});

test('item 4: a pack folder that does not exist, or pack settings that fail its settings_schema, are settings errors naming the file and pointer; run stops on them', () => {
  const dir = path.join(tmp, 'packs-bad');
  mkdirSync(path.join(dir, 'acme'), { recursive: true });
  writeFileSync(path.join(dir, 'acme', 'callhook.pack.json'), JSON.stringify({
    name: 'acme', version: '1.0.0', hooks: [{ hook: 'need_registration', file: 'nr.ts' }],
    settings_schema: { type: 'object', required: ['token'], properties: { blocked: { type: 'array', items: { type: 'string' } }, token: { type: 'string' } } },
  }));
  writeFileSync(path.join(dir, 'acme', 'nr.ts'), 'export default function (): boolean { return true; }\n');
  writeFileSync(path.join(dir, 's.json'), JSON.stringify({ hooks: { packs: [{ path: 'nope' }, { path: 'acme', settings: { blocked: 'x', token: SECRET + 'x' } }, { path: 'acme' }] } }));
  const r = callhook(['settings', '--settings', 's.json'], dir);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^s\.json: \/hooks\/packs\/0\/path: PACK_MISSING pack folder .*nope does not exist$/);
  assert.match(lines[1] ?? '', /^s\.json: \/hooks\/packs\/1\/settings\/blocked: PACK_SETTINGS must be array \(the settings_schema of .*acme.callhook\.pack\.json\)$/);
  assert.match(lines[2] ?? '', /^s\.json: \/hooks\/packs\/2\/settings\/token: PACK_SETTINGS is required/);
  assert.ok(!r.stderr.includes(SECRET), 'no settings value in the message');
  const run = callhook(['run', '--settings', 's.json'], dir);
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '', 'nothing ran');
  assert.match(run.stderr, /s\.json: \/hooks\/packs\/0\/path: PACK_MISSING/);
});

test('item 14: a misspelt name in hooks.files or hooks.file_settings is an error with a suggestion', () => {
  const dir = path.join(tmp, 'files-typo');
  mkdirSync(path.join(dir, 'hooks'), { recursive: true });
  writeFileSync(path.join(dir, 'hooks', 'need_registration.ts'), 'export default function (): boolean { return true; }\n');
  writeFileSync(path.join(dir, 's.json'), JSON.stringify({ hooks: { folder: 'hooks', files: { 'need_registraion.ts': false }, file_settings: { 'need_registratio.ts': {} } } }));
  const r = callhook(['settings', '--settings', 's.json'], dir);
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    's.json: /hooks/files/need_registraion.ts: names no hook file of the hooks folder or of a pack (did you mean "need_registration.ts"?)',
    's.json: /hooks/file_settings/need_registratio.ts: names no hook file of the hooks folder (a pack\'s hooks get hooks.packs[i].settings) (did you mean "need_registration.ts"?)',
  ]);
});

test('issue 10 item 5: allow-list entries carry ports', () => {
  const file = path.join(tmp, 'hosts.json');
  writeFileSync(file, JSON.stringify({ hooks: { allow_hosts: ['crm.example.com'], packs: [{ path: 'p', allow_hosts: ['169.254.169.254'] }] } }));
  const r = callhook(['settings', '--settings', 'hosts.json']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /hosts\.json: \/hooks\/allow_hosts\/0: must be host:port/);
  assert.match(r.stderr, /hosts\.json: \/hooks\/packs\/0\/allow_hosts\/0: must be host:port/);
});
