// The hook author's path through the real `callhook` binary: what `check` and `try` accept is what the
// connector loads and runs (issue 11). Each test is one finding of the issue, as a new user would meet it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeDir, tempDir } from './helpers.js';

const BIN = path.resolve('bin/callhook.js');
const CALL = path.resolve('test/fixtures/hooks/call-incoming.json');
const DEMO_CEL = path.resolve('examples/cel/demo.jsonl');

function cli(args: string[], cwd = process.cwd()): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function folder(t: { after(fn: () => Promise<void>): void }, files: Record<string, string>, prefix = 'author'): Promise<string> {
  const dir = await tempDir(prefix);
  t.after(() => removeDir(dir));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const BLACKLIST_WITH_HELPER = {
  '_lists.ts': 'export const BLOCKED = new Set<string>([204]);\n',
  'need_registration.ts': `import { defineHook } from 'callhook';
import { BLOCKED } from './_lists.ts';
export default defineHook('need_registration', ({ call_full }) => !BLOCKED.has(call_full.channel.to.original));
`,
};

test('item 1: a helper module that does not type-check fails check and try at its own file:line:col', async (t) => {
  const dir = await folder(t, BLACKLIST_WITH_HELPER);
  const check = cli(['check', dir]);
  assert.equal(check.status, 1, check.stdout + check.stderr);
  assert.match(check.stdout, /_lists\.ts:1:\d+: HOOK_TYPECHECK TS2769: /);
  assert.match(check.stderr, /1 hook file\(s\) checked, 1 with errors/);
  const tried = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL]);
  assert.equal(tried.status, 1, tried.stderr);
  assert.match(tried.stderr, /^_lists\.ts:1:\d+ HOOK_TYPECHECK TS2769: /m);
  assert.equal(tried.stdout, '', 'a hook the connector refuses gives no result');
});

test('item 2: try type-checks like the connector; --no-typecheck skips it and says so', async (t) => {
  const dir = await folder(t, {
    'need_registration.ts': `import { defineHook } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => call_full.channel.tipe !== 'local');
`,
  });
  const r = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /need_registration\.ts:2:\d+ HOOK_TYPECHECK TS\d+: Property 'tipe' does not exist/);
  const skipped = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL, '--no-typecheck']);
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /note: type check SKIPPED \(--no-typecheck\)/);
});

test('item 8: a syntax error is HOOK_COMPILE in check and try alike, the position printed once', async (t) => {
  const dir = await folder(t, { 'need_registration.ts': "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', () => {\n  return (true;\n});\n" });
  const check = cli(['check', dir]);
  assert.equal(check.status, 1);
  const line = check.stdout.trim().split('\n')[0] ?? '';
  assert.match(line, /(^|\/)need_registration\.ts:3:\d+: HOOK_COMPILE TS1005: /);
  assert.equal(line.match(/need_registration\.ts:\d+:\d+/g)?.length, 1, line);
  const tried = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL]);
  assert.match(tried.stderr, /^need_registration\.ts:3:\d+ HOOK_COMPILE /m);
});

test('item 10: importing node:fs is HOOK_IMPORT_REFUSED with what a hook may import, never "install @types/node"', async (t) => {
  const dir = await folder(t, {
    'need_registration.ts': `import { readFileSync } from 'node:fs';
import { defineHook } from 'callhook';
export default defineHook('need_registration', () => readFileSync('/etc/hostname', 'utf8') !== '' && typeof process === 'object');
`,
  });
  const r = cli(['check', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /need_registration\.ts:1:\d+: HOOK_IMPORT_REFUSED import of 'node:fs' is not allowed in a hook: only 'callhook' and relative files inside the hook's folder or pack can be imported/);
  assert.match(r.stdout, /'process'.*sandbox without Node APIs/);
  assert.doesNotMatch(r.stdout, /@types\/node|npm i/);
});

test('item 11: try --call takes the calls.jsonl replay --out writes, with --linkedid; --json includes the input; a bad --input blames the input', async (t) => {
  const dir = await folder(t, {});
  const calls = path.join(dir, 'calls.jsonl');
  const replay = cli(['replay', DEMO_CEL, '--out', calls, '--stages']);
  assert.equal(replay.status, 0, replay.stderr);
  const lines = readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { linkedid: string; stage?: string });
  const second = [...new Set(lines.map((l) => l.linkedid))][1] ?? '';
  const hook = path.resolve('examples/hooks/process_client_phone.ts');
  const first = cli(['try', hook, '--call', calls, '--json']);
  assert.equal(first.status, 0, first.stderr);
  const doc = JSON.parse(first.stdout) as { linkedid: string; input: { call_stage: string; number: { original: string } }; stage: string; output: unknown };
  assert.equal(doc.linkedid, lines[0]?.linkedid, 'without --linkedid: the first call');
  assert.equal(doc.input.call_stage, 'conversation_requested', 'the point\'s first stage');
  assert.equal(typeof doc.input.number.original, 'string', 'the input it built is in the document');
  const picked = JSON.parse(cli(['try', hook, '--call', calls, '--linkedid', second, '--stage', 'call_ended', '--json']).stdout) as { linkedid: string; stage: string };
  assert.deepEqual([picked.linkedid, picked.stage], [second, 'call_ended']);
  const missing = cli(['try', hook, '--call', calls, '--linkedid', 'nope.1']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--linkedid nope\.1: not in .*calls\.jsonl/);

  // init's starter says where such a file comes from.
  const init = cli(['init', path.join(dir, 'starter')]);
  assert.equal(init.status, 0, init.stderr);
  const starter = readFileSync(path.join(dir, 'starter', 'need_registration.ts'), 'utf8');
  assert.match(starter, /callhook replay cel\.jsonl --out calls\.jsonl/);
  assert.match(starter, /--linkedid/);

  const badInput = path.join(dir, 'input.json');
  writeFileSync(badInput, JSON.stringify({ number: { original: '+79001234567' } }));
  const bad = cli(['try', hook, '--input', badInput]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /input\.json: not a valid process_client_phone input: /);
});

test('item 12: try on a pack hook applies the manifest (settings_schema defaults) like run; a bad --settings-json names the option', async (t) => {
  const dir = await folder(t, {
    'callhook.pack.json': JSON.stringify({
      name: 'acme-lists', version: '1.2.0', hooks: [{ hook: 'need_registration', file: 'blacklist.ts' }],
      settings_schema: { type: 'object', properties: { blocked: { type: 'array', items: { type: 'string' }, default: ['201'] } } },
    }),
    'blacklist.ts': `import { defineHook, settings } from 'callhook';
const blocked = settings.blocked as string[];
export default defineHook('need_registration', ({ call_full }) => !blocked.includes(call_full.channel.to.original));
`,
  });
  const r = cli(['try', path.join(dir, 'blacklist.ts'), '--call', CALL]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), false, 'the default list blocks 201, the call\'s employee');
  const other = cli(['try', path.join(dir, 'blacklist.ts'), '--call', CALL, '--settings-json', '{"blocked": ["999"]}']);
  assert.equal(JSON.parse(other.stdout), true);
  const bad = cli(['try', path.join(dir, 'blacklist.ts'), '--call', CALL, '--settings-json', '{blocked: 1}']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^callhook try: --settings-json: not valid JSON/m);
  const wrong = cli(['try', path.join(dir, 'blacklist.ts'), '--call', CALL, '--settings-json', '{"blocked": 5}']);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /PACK_SETTINGS .*\/blocked must be array/);
});

test('item 14: a hook file named after no point gets a "did you mean"', async (t) => {
  const dir = await folder(t, { 'need_registraton.ts': 'export default function (): boolean { return true; }\n' });
  const r = cli(['check', dir]);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /need_registraton\.ts:1:1: HOOK_UNKNOWN_POINT 'need_registraton' is not a hook point \(did you mean need_registration\?\)/);
});

test('item 15: one rule for the default folder: the dir, else the settings\' hooks.folder (relative to that file), else ./hooks; each --help says it', async (t) => {
  const dir = await folder(t, {});
  const init = cli(['init'], dir);
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, new RegExp(`created  ${path.join(dir, 'hooks', 'need_registration.ts').replace(/[.\\/]/g, '\\$&')}`));
  const check = cli(['check'], dir);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stderr, /1 hook file\(s\) checked, 0 with errors/);
  // A settings file elsewhere: its hooks.folder is relative to it, not to the working directory.
  mkdirSync(path.join(dir, 'etc', 'my-hooks'), { recursive: true });
  writeFileSync(path.join(dir, 'etc', 'settings.json'), JSON.stringify({ hooks: { folder: 'my-hooks' } }));
  const initInto = cli(['init', '--settings', 'etc/settings.json'], dir);
  assert.match(initInto.stdout, /etc[\\/]my-hooks[\\/]need_registration\.ts/);
  const checkSettings = cli(['check', '--settings', path.join(dir, 'etc', 'settings.json')], '/');
  assert.equal(checkSettings.status, 0, checkSettings.stdout + checkSettings.stderr);
  assert.match(checkSettings.stderr, /1 hook file\(s\) checked/);
  for (const command of ['init', 'check', 'try', 'run']) {
    const help = cli([command, '--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /hooks folder: the \[dir\] argument if given; else hooks\.folder of the --settings file/, command);
  }
});

test('item 16: try says what a decision means at its point; --help shows stages, defaults and an example; missing input is named', async (t) => {
  const dir = await folder(t, { 'need_registration.ts': "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', () => false);\n" });
  const no = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL]);
  assert.equal(no.status, 0, no.stderr);
  assert.match(no.stderr, /need_registration at conversation_requested: false: NO, this hook decides; the call is not registered/);
  assert.doesNotMatch(no.stderr, /accepted/);
  const help = cli(['try', '--help']);
  assert.match(help.stdout, /stages: conversation_requested, conversation_accepted, conversation_ended, call_ended, click_to_call, autodistribution/);
  assert.match(help.stdout, /--stage STAGE\s+the stage the hook runs at \(default: the point's first stage\)/);
  assert.match(help.stdout, /^example: callhook replay .* && callhook try /m);
  const missing = cli(['try', path.join(dir, 'need_registration.ts')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /callhook try: say what to run the hook on: --input <input\.json> .* or --call <call file>/);
  const strict = cli(['check', '--strict']);
  assert.equal(strict.status, 2);
  assert.match(strict.stderr, /^callhook check: Unknown option '--strict'/);
});

test('issue 10 item 1: try runs the hook in the settings\' isolation (a child process by default); --inline says it', async (t) => {
  const dir = await folder(t, { 'need_registration.ts': "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', () => true);\n" });
  const r = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { isolation: string }).isolation, 'process');
  const inline = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL]);
  assert.match(inline.stderr, /\(process isolation\)/);
  const asked = cli(['try', path.join(dir, 'need_registration.ts'), '--call', CALL, '--inline']);
  assert.match(asked.stderr, /note: INLINE isolation \(--inline\): the connector runs hooks in a supervised child process/);
  assert.match(asked.stderr, /\(inline isolation\)/);
});
