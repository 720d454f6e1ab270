// loadSettings: one JSON file, validated against types/settings/*.schema.json, defaults filled in,
// relative paths resolved, every problem reported as `<file>: <pointer>: <message>`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CALLS_SETTINGS } from '../../core/cel/assembler/index.js';
import { DEFAULT_CEL_SETTINGS } from '../../core/cel/sources/from-settings.js';
import { DEFAULT_NUMBER_SETTINGS } from '../../core/numbers/settings.js';
import { EXAMPLE_SETTINGS } from '../../core/settings/generate.js';
import { PACKAGE_ROOT, SECTION_SCHEMA_DIR, SettingsError, loadSettings, maskSecrets, suggestKey, type Settings } from '../../core/settings/index.js';
import { DEFAULT_HOOKS_SETTINGS } from '../../hooks/settings.js';
import { DEFAULT_SANDBOX_SETTINGS } from '../../sandbox/settings.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'callhook-settings-'));
let n = 0;

/** Writes `content` (an object is JSON-encoded) to a fresh settings file; returns its path. */
function settingsFile(content: unknown, name = 'settings.json'): string {
  const dir = path.join(tmp, String(n++));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The SettingsError a load throws (fails the test when it loads). */
async function problems(options: Parameters<typeof loadSettings>[0]): Promise<SettingsError> {
  try {
    await loadSettings(options);
  } catch (error) {
    assert.ok(error instanceof SettingsError, String(error));
    return error;
  }
  assert.fail('the settings loaded');
}

const fromRoot = (p: string): string => path.join(PACKAGE_ROOT, p);

test('no file: the demo, every section is its defaults (the DEFAULT_* constants of each area) plus the example hooks, default paths inside the installation', async () => {
  const s = await loadSettings();
  assert.deepEqual(Object.keys(s).sort(), ['ami', 'calls', 'cel', 'click_to_call', 'crm', 'hooks', 'http', 'leadership', 'log', 'numbers', 'recordings', 'sandbox', 'store']);
  // Click-to-call is off until configured: no AMI connection, no endpoint, no token.
  assert.equal(s.click_to_call.enabled, false);
  assert.equal(s.click_to_call.token, '');
  assert.equal(s.ami.secret, '');
  assert.deepEqual(s.leadership, { lease_ms: 6000, renew_ms: 1500, instance: '' });
  // The demo: a local Bitrix24 started by the connector, a temporary embedded store.
  assert.equal(s.crm.type, 'demo');
  assert.equal(s.crm.bitrix24.requests_per_second, 2);
  assert.equal(s.crm.delivery.park_after_hours, 0);
  assert.deepEqual(s.store, { kind: 'auto', sqlite: { path: '' }, mariadb: { host: '', port: 0, user: '', password: '', database: '' } });
  assert.deepEqual(s.calls, { ...DEFAULT_CALLS_SETTINGS });
  assert.deepEqual(s.cel, { ...DEFAULT_CEL_SETTINGS, replay: { ...DEFAULT_CEL_SETTINGS.replay, path: fromRoot(DEFAULT_CEL_SETTINGS.replay.path) } });
  assert.deepEqual(s.hooks, { ...DEFAULT_HOOKS_SETTINGS, folder: fromRoot('examples/hooks') });
  assert.deepEqual(s.sandbox, DEFAULT_SANDBOX_SETTINGS);
  assert.deepEqual(s.numbers, { ...DEFAULT_NUMBER_SETTINGS });
  assert.deepEqual(s.log, { level: 'info' });
  // An empty object is the same as no file except for the example hooks (only the demo runs them), and each load is a fresh object.
  const empty = await loadSettings({ file: settingsFile({}) });
  assert.deepEqual(empty, { ...s, hooks: { ...s.hooks, folder: '' } });
  empty.calls.trunk_contexts.push('x');
  assert.deepEqual((await loadSettings()).calls, { ...DEFAULT_CALLS_SETTINGS });
});

test('a full valid file: given values are kept, missing keys take defaults', async () => {
  const file = settingsFile({
    cel: { source: 'mariadb', replay: { path: 'cel/today.csv', batch_size: 50 }, mariadb: { host: 'pbx', port: 3307, user: 'ro', password: 'pw', column_aliases: { extra: 'eventextra' }, gap_wait_ms: 0 } },
    calls: { trunk_channel_patterns: ['^PJSIP/provider-'], trunk_contexts: [], outbound_contexts: ['^outrt-'], local_endpoint_patterns: [], detect_originate: false, safety_timeout_seconds: 600, pbx_time_zone: 'Europe/Moscow' },
    numbers: { prefixes: ['+7495', '8495', '+7', '8'], internal_max_length: 3, fmc_numbers: ['+79001234567'], fmc_patterns_file: '/etc/callhook/fmc.txt', auto_replace: [{ pattern: '^\\+?7(\\d{10})$', replacement: '8$1' }] },
    hooks: {
      enabled: true, folder: 'my-hooks', points: { process_client_phone: false }, files: { 'blacklist.ts': false },
      packs: [{ path: 'packs/acme', settings: { token: 't0ken' } }], budgets: { need_registration: 300 }, recordings_root: '/srv/rec',
      debounce_ms: 50, typecheck: false, watch: false, drain_deadline_ms: 1000, allow_hosts: ['crm.example.com:443'],
    },
    sandbox: { isolation: 'inline', memory_mb: 64, cpu_ms_per_call: 100, http: { timeout_ms: 3000 }, circuit_breaker: { failure_threshold: 3 } },
    log: { level: 'debug' },
  });
  const dir = path.dirname(file);
  const s: Settings = await loadSettings({ file });
  assert.equal(s.cel.source, 'mariadb');
  assert.equal(s.cel.replay.path, path.join(dir, 'cel/today.csv'));
  assert.equal(s.cel.mariadb.port, 3307);
  assert.equal(s.cel.mariadb.database, 'asteriskcdrdb', 'a missing key takes its default');
  assert.deepEqual(s.cel.mariadb.column_aliases, { extra: 'eventextra' });
  assert.equal(s.calls.pbx_time_zone, 'Europe/Moscow');
  assert.equal(s.calls.detect_originate, false);
  assert.deepEqual(s.numbers.auto_replace, [{ pattern: '^\\+?7(\\d{10})$', replacement: '8$1' }]);
  assert.equal(s.numbers.internal_max_length, 3);
  assert.equal(s.hooks.folder, path.join(dir, 'my-hooks'));
  assert.deepEqual(s.hooks.packs, [{ path: path.join(dir, 'packs/acme'), enabled: true, settings: { token: 't0ken' }, allow_hosts: [] }], 'pack defaults are filled in too');
  assert.equal(s.hooks.recordings_root, '/srv/rec');
  assert.deepEqual(s.sandbox, {
    isolation: 'inline', memory_mb: 64, total_memory_mb: 512, cpu_ms_per_call: 100,
    http: { timeout_ms: 3000, max_response_bytes: 1048576, max_request_bytes: 262144, max_concurrent_requests: 4, max_requests_per_call: 20 },
    circuit_breaker: { failure_threshold: 3, cool_down_ms: 30000 },
  });
  assert.equal(s.log.level, 'debug');
});

test('the example in docs/settings.md is a valid settings file', async () => {
  const s = await loadSettings({ file: settingsFile(EXAMPLE_SETTINGS) });
  assert.equal(s.cel.source, 'mariadb');
  assert.equal(s.numbers.auto_replace[0]?.replacement, '8$1');
});

test('unknown keys are named, at the top level and nested, with a suggestion', async () => {
  const file = settingsFile({ hokos: {}, hooks: { foldr: 'x', recordingsRoot: '/r', points: { need_registraton: true } }, cel: { mariadb: { hots: 'x', column_aliases: { extar: 'e' } } }, sandbox: { wall_ms_per_call: 1, http: { timeout: 5 } } });
  const e = await problems({ file });
  const lines = e.message.split('\n');
  const label = file;
  for (const expected of [
    `${label}: /hokos: unknown key (did you mean "hooks"?)`,
    `${label}: /hooks/foldr: unknown key (did you mean "folder"?)`,
    `${label}: /hooks/recordingsRoot: unknown key (did you mean "recordings_root"?)`,
    `${label}: /hooks/points/need_registraton: unknown key (did you mean "need_registration"?)`,
    `${label}: /cel/mariadb/hots: unknown key (did you mean "host"?)`,
    `${label}: /cel/mariadb/column_aliases/extar: unknown key (did you mean "extra"?)`,
    `${label}: /sandbox/http/timeout: unknown key (did you mean "timeout_ms"?)`,
  ]) assert.ok(lines.includes(expected), `${expected}\nin:\n${e.message}`);
  assert.ok(lines.some((l) => l.startsWith(`${label}: /sandbox/wall_ms_per_call: unknown key`)), e.message);
  assert.equal(lines.length, 8, 'one line per problem');
  assert.equal(e.problems.length, 8);
  assert.deepEqual(e.problems[0], { file: label, pointer: '/hokos', message: 'unknown key (did you mean "hooks"?)' });
});

test('the old camelCase keys point at their snake_case names', async () => {
  const e = await problems({ file: settingsFile({ calls: { trunkChannelPatterns: [], safetyTimeoutSeconds: 5 }, hooks: { debounceMs: 1, allowHosts: [] } }, 'old.json') });
  assert.match(e.message, /\/calls\/trunkChannelPatterns: unknown key \(did you mean "trunk_channel_patterns"\?\)/);
  assert.match(e.message, /\/calls\/safetyTimeoutSeconds: unknown key \(did you mean "safety_timeout_seconds"\?\)/);
  assert.match(e.message, /\/hooks\/debounceMs: unknown key \(did you mean "debounce_ms"\?\)/);
  assert.match(e.message, /\/hooks\/allowHosts: unknown key \(did you mean "allow_hosts"\?\)/);
  assert.equal(suggestKey('zzzzzz', ['folder', 'files']), null, 'no far-fetched suggestion');
});

test('wrong types, values out of range and bad enum values are named with what was expected', async () => {
  const file = settingsFile({
    cel: { source: 'postgres', mariadb: { port: '3306', batch_size: 0 } },
    calls: { detect_originate: 'yes', safety_timeout_seconds: 1.5, trunk_contexts: 'from-pstn' },
    hooks: { packs: [{ enabled: true }], budgets: { need_registration: 0 } },
    sandbox: { memory_mb: 4 },
    log: { level: 'loud' },
    numbers: { prefixes: ['+7', '+7'], internal_max_length: 'four' },
  });
  const text = (await problems({ file })).message;
  for (const expected of [
    '/cel/source: must be one of "replay", "mariadb"',
    '/cel/mariadb/port: must be an integer (found a string)',
    '/cel/mariadb/batch_size: must be >= 1',
    '/calls/detect_originate: must be true or false (found a string)',
    '/calls/safety_timeout_seconds: must be an integer (found a number)',
    '/calls/trunk_contexts: must be an array (found a string)',
    '/hooks/packs/0/path: is required',
    '/hooks/budgets/need_registration: must be >= 1',
    '/sandbox/memory_mb: must be >= 8',
    '/log/level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
    '/numbers/prefixes: must not repeat an item (items 0 and 1 are equal)',
    '/numbers/internal_max_length: must be an integer (found a string)',
  ]) assert.ok(text.includes(`${file}: ${expected}`), `${expected}\nin:\n${text}`);
  const whole = await problems({ file: settingsFile('[]') });
  assert.match(whole.message, /: must be an object \(found an array\)$/);
});

test('a regular expression that does not compile is a settings error, in calls and in numbers.auto_replace', async () => {
  const file = settingsFile({
    calls: { trunk_channel_patterns: ['^PJSIP/ok-', '(unclosed'], outbound_contexts: ['*bad'] },
    numbers: { auto_replace: [{ pattern: '^7(\\d+)$', replacement: '8$1' }, { pattern: '[0-9', replacement: '' }] },
  }, 'regex.json');
  const e = await problems({ file, cwd: tmp });
  const lines = e.message.split('\n');
  assert.ok(lines.includes(`${file}: /calls/trunk_channel_patterns/1: must be a valid regular expression (Unterminated group)`), e.message);
  assert.ok(lines.includes(`${file}: /calls/outbound_contexts/0: must be a valid regular expression (Nothing to repeat)`), e.message);
  assert.ok(lines.includes(`${file}: /numbers/auto_replace/1/pattern: must be a valid regular expression (Unterminated character class)`), e.message);
  assert.equal(lines.length, 3);
  // Patterns are checked as the code compiles them (no flags): an escape the 'u' flag would refuse is fine.
  const ok = await loadSettings({ file: settingsFile({ calls: { trunk_channel_patterns: ['^PJSIP\\/trunk\\-1'] } }) });
  assert.deepEqual(ok.calls.trunk_channel_patterns, ['^PJSIP\\/trunk\\-1']);
  const tz = await problems({ file: settingsFile({ calls: { pbx_time_zone: 'Mars/Olympus' } }) });
  assert.match(tz.message, /\/calls\/pbx_time_zone: must be an IANA time zone/);
});

test('a JSON syntax error is <file>:<line>:<col>: <message>; duplicate keys and empty files are refused', async () => {
  const text = '{\n  "hooks": {\n    "folder": "x",\n  }\n}\n';
  const file = settingsFile(text);
  const e = await problems({ file });
  assert.equal(e.message, `${file}:4:3: trailing comma before }`);
  assert.deepEqual(e.problems, [{ file, line: 4, column: 3, message: 'trailing comma before }' }]);

  const missingComma = settingsFile('{\r\n  "log": { "level": "info" }\r\n  "hooks": {}\r\n}');
  assert.equal((await problems({ file: missingComma })).message, `${missingComma}:3:3: expected ',' or '}' after a value, found '"'`);
  const single = settingsFile("{ 'log': {} }");
  assert.equal((await problems({ file: single })).message, `${single}:1:3: expected a double-quoted key, found '''`);
  const cut = settingsFile('{ "hooks": { "folder": "x"');
  assert.equal((await problems({ file: cut })).message, `${cut}:1:27: unexpected end of file: '}' is missing`);
  const dup = settingsFile('{\n  "log": {},\n  "log": { "level": "warn" }\n}');
  assert.equal((await problems({ file: dup })).message, `${dup}:3:3: duplicate key "log" (the later value would silently win)`);
  const empty = settingsFile('  \n');
  assert.match((await problems({ file: empty })).message, /:2:1: the file is empty/);
  const backslash = settingsFile('{ "calls": { "trunk_contexts": ["^from\\-trunk"] } }');
  assert.match((await problems({ file: backslash })).message, /:1:39: bad escape in a string/);
  // A byte order mark is fine.
  assert.equal((await loadSettings({ file: settingsFile('\ufeff{ "log": { "level": "warn" } }') })).log.level, 'warn');
});

test('a missing file or a folder is an error naming it', async () => {
  const e = await problems({ file: 'nope/settings.json', cwd: tmp });
  assert.equal(e.message, 'nope/settings.json: settings file not found');
  assert.equal((await problems({ file: tmp })).message, `${tmp}: is a folder, not a settings file`);
});

test('relative paths resolve against the settings file\'s folder (also with a relative file name); defaults against the installation', async () => {
  const file = settingsFile({ cel: { replay: { path: '../cel.jsonl' } }, hooks: { folder: 'hooks', recordings_root: 'rec', packs: [{ path: './packs/a' }, { path: '/abs/pack' }] } });
  const dir = path.dirname(file);
  const relative = path.relative(tmp, file);
  const s = await loadSettings({ file: relative, cwd: tmp });
  assert.equal(s.cel.replay.path, path.resolve(dir, '../cel.jsonl'));
  assert.equal(s.hooks.folder, path.join(dir, 'hooks'));
  assert.equal(s.hooks.recordings_root, path.join(dir, 'rec'));
  assert.deepEqual(s.hooks.packs.map((p) => p.path), [path.join(dir, 'packs/a'), '/abs/pack']);
  // Keys the file does not set are defaults: resolved against the installation, whatever the cwd.
  const partial = await loadSettings({ file: settingsFile({ hooks: { watch: false } }), cwd: '/' });
  assert.equal(partial.hooks.folder, '', 'a settings file without hooks.folder has no loose hooks (never the demo\'s)');
  assert.equal(partial.cel.replay.path, fromRoot('examples/cel/demo.jsonl'));
  assert.equal(partial.hooks.recordings_root, '/var/spool/asterisk/monitor');
});

test('numbers.fmc_patterns_file resolves against the settings file\'s folder', async () => {
  const file = settingsFile({ numbers: { fmc_patterns_file: 'fmc.txt' } });
  assert.equal((await loadSettings({ file })).numbers.fmc_patterns_file, path.join(path.dirname(file), 'fmc.txt'));
  assert.equal((await loadSettings()).numbers.fmc_patterns_file, '', 'empty = no file');
});

test('secrets never appear in error messages or in masked settings', async () => {
  const secret = 'hunter2-S3cret';
  // A syntax error right after the password, a wrong type, an unknown key next to it: the value is never quoted.
  const broken = settingsFile(`{ "cel": { "mariadb": { "password": "${secret}" "user": "x" } } }`);
  assert.ok(!(await problems({ file: broken })).message.includes(secret));
  const invalid = settingsFile({ cel: { mariadb: { password: secret, port: secret, pasword: secret } }, hooks: { packs: [{ path: 'p', settings: { token: secret } }], folder: 5 } });
  const e = await problems({ file: invalid });
  assert.ok(!e.message.includes(secret), e.message);
  assert.ok(!JSON.stringify(e.problems).includes(secret));
  assert.match(e.message, /\/cel\/mariadb\/pasword: unknown key \(did you mean "password"\?\)/);

  const s = await loadSettings({ file: settingsFile({ cel: { mariadb: { password: secret } }, hooks: { packs: [{ path: 'p', settings: { api_token: secret, nested: { client_secret: secret }, plain: 'visible' } }] } }) });
  assert.equal(s.cel.mariadb.password, secret, 'the loaded settings keep the real value');
  const masked = maskSecrets(s);
  const printed = JSON.stringify(masked);
  assert.ok(!printed.includes(secret), printed);
  assert.equal(masked.cel.mariadb.password, '***');
  assert.deepEqual(masked.hooks.packs[0]?.settings, { api_token: '***', nested: { client_secret: '***' }, plain: 'visible' });
  assert.equal(maskSecrets(await loadSettings()).cel.mariadb.password, '', 'an empty password stays visibly empty');
  assert.equal(s.cel.mariadb.password, secret, 'masking copies');
});

test('a new section is a new schema file: discovered, validated and defaulted without code changes', async () => {
  const dir = path.join(tmp, 'schemas');
  mkdirSync(dir);
  for (const f of readdirSync(SECTION_SCHEMA_DIR)) copyFileSync(path.join(SECTION_SCHEMA_DIR, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'crm.schema.json'), JSON.stringify({
    $schema: 'http://json-schema.org/draft-07/schema#', title: 'crm', type: 'object', additionalProperties: false,
    properties: { kind: { type: 'string', enum: ['bitrix24', 'kommo'], default: 'bitrix24' }, export_dir: { type: 'string', format: 'path', default: 'out' } },
  }));
  const s = (await loadSettings({ schemaDir: dir })) as Settings & { crm: { kind: string; export_dir: string } };
  assert.deepEqual(s.crm, { kind: 'bitrix24', export_dir: fromRoot('out') });
  const file = settingsFile({ crm: { kind: 'amo', export_dir: 'x' } });
  const e = await problems({ file, schemaDir: dir });
  assert.equal(e.message, `${file}: /crm/kind: must be one of "bitrix24", "kommo"`);
});
