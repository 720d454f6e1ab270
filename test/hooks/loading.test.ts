// The hook host's loading, as `run` does it (issue 11): helpers are type-checked with the hook, a failed
// hook keeps its point in the status, results the host refuses open the breaker, a pack's manifest reloads
// like a hook file (a broken one keeps the previous version), loose files get their settings; and the
// type checker never reads outside the hook's root (issue 10 item 8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HookTypeChecker } from '../../hooks/typecheck.js';
import { phoneInput, removeDir, sampleCall, startHost, statusOf, tempDir, waitForStatus, writeHook } from './helpers.js';

const nrInput = { call_full: sampleCall, call_stage: 'conversation_requested' };

test('item 1 in run: a helper that stops type-checking fails the hook at the helper\'s line; the previous version stays active', async (t) => {
  const dir = await tempDir('helper-tc');
  t.after(() => removeDir(dir));
  await writeHook(dir, '_lists.ts', "export const BLOCKED = new Set<string>(['201']);\n");
  await writeHook(dir, 'need_registration.ts', `import { defineHook } from 'callhook';
import { BLOCKED } from './_lists.ts';
export default defineHook('need_registration', ({ call_full }) => !BLOCKED.has(call_full.channel.to.original));
`);
  const host = await startHost(dir);
  t.after(() => host.close());
  await waitForStatus(host, () => statusOf(host, 'need_registration.ts').state === 'active', 'active');
  assert.equal((await host.runPoint('need_registration', nrInput)).value, false, '201 is blocked');
  await writeHook(dir, '_lists.ts', 'export const BLOCKED = new Set<string>([201]);\n');
  const s = await waitForStatus(host, () => statusOf(host, 'need_registration.ts').lastError !== null, 'helper error reported');
  const entry = s.find((x) => x.hook === 'need_registration.ts');
  assert.equal(entry?.state, 'active', 'the working version stays');
  assert.equal(entry?.staleOnDisk, true);
  assert.equal(entry?.lastError?.code, 'HOOK_TYPECHECK');
  assert.equal(entry?.lastError?.file, '_lists.ts');
  assert.equal(entry?.lastError?.line, 1);
  assert.match(entry?.lastError?.message ?? '', /^TS2769: /);
  assert.equal((await host.runPoint('need_registration', nrInput)).value, false, 'still the old list');
});

test('item 8: a hook that never loaded shows the point its name gives, not "?"', async (t) => {
  const dir = await tempDir('point-of-failed');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.broken.ts', "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', ({ call_full }) => call_full.nope);\n");
  const host = await startHost(dir, { watch: false });
  t.after(() => host.close());
  const entry = statusOf(host, 'need_registration.broken.ts');
  assert.equal(entry.state, 'failed');
  assert.equal(entry.point, 'need_registration');
});

test('item 7: a hook whose results keep failing the output schema cools down after failure_threshold calls, like one that throws', async (t) => {
  const dir = await tempDir('bad-result-breaker');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'process_client_phone.ts', "import { defineHook } from 'callhook';\nexport default defineHook('process_client_phone', () => '');\n");
  const host = await startHost(dir, { watch: false, breaker: { failureThreshold: 3, coolDownMs: 60_000 } });
  t.after(() => host.close());
  const outcomes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await host.runPoint('process_client_phone', phoneInput('+79001234567'));
    assert.equal(r.value, '+79001234567', 'the default applies');
    outcomes.push(`${r.trace.hooks[0]?.outcome}:${r.trace.hooks[0]?.error?.code ?? ''}`);
  }
  assert.deepEqual(outcomes, ['failed:HOOK_BAD_RESULT', 'failed:HOOK_BAD_RESULT', 'failed:HOOK_BAD_RESULT', 'skipped:', 'skipped:']);
  assert.equal(statusOf(host, 'process_client_phone.ts').state, 'cooling_down');
});

test('item 4: a pack whose manifest breaks on a hot reload keeps its previous version active and reports PACK_MANIFEST; a good manifest reloads its hooks with the new settings', async (t) => {
  const dir = await tempDir('pack-reload');
  t.after(() => removeDir(dir));
  const pack = path.join(dir, 'acme');
  await mkdir(pack);
  const manifest = (blocked: string[]) => JSON.stringify({
    name: 'acme', version: '1.0.0', hooks: [{ hook: 'need_registration', file: 'blacklist.ts' }],
    settings_schema: { type: 'object', properties: { blocked: { type: 'array', items: { type: 'string' }, default: blocked } } },
  });
  await writeFile(path.join(pack, 'callhook.pack.json'), manifest(['201']));
  await writeHook(pack, 'blacklist.ts', `import { defineHook, settings } from 'callhook';
export default defineHook('need_registration', ({ call_full }) => !(settings.blocked as string[]).includes(call_full.channel.to.original));
`);
  const host = await startHost(path.join(dir, 'no-loose-files'), { packs: [{ path: pack }] });
  t.after(() => host.close());
  const name = 'acme@1.0.0/blacklist.ts';
  await waitForStatus(host, () => statusOf(host, name).state === 'active', 'pack active');
  assert.equal((await host.runPoint('need_registration', nrInput)).value, false);

  await writeFile(path.join(pack, 'callhook.pack.json'), '{ "name": "acme", "version": "1.0.0",\n  "hooks": [ }');
  const broken = await waitForStatus(host, (s) => s.some((x) => x.source === 'pack' && x.lastError?.code === 'PACK_MANIFEST'), 'manifest error reported');
  const err = broken.find((x) => x.source === 'pack');
  assert.equal(err?.lastError?.line, 2);
  assert.equal(err?.staleOnDisk, true, 'the disk differs from what runs');
  assert.equal(statusOf(host, name).state, 'active', 'the previous version stays active');
  assert.equal((await host.runPoint('need_registration', nrInput)).value, false);

  await writeFile(path.join(pack, 'callhook.pack.json'), manifest(['999']));
  await waitForStatus(host, (s) => !s.some((x) => x.source === 'pack'), 'manifest error cleared');
  for (let i = 0; i < 200 && (await host.runPoint('need_registration', nrInput)).value !== true; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await host.runPoint('need_registration', nrInput)).value, true, 'reloaded with the new default settings');
});

test('item 13: a loose hook file gets its settings from hooks.file_settings (read-only), others get {}', async (t) => {
  const dir = await tempDir('file-settings');
  t.after(() => removeDir(dir));
  const reader = (point: string) => `import { defineHook, settings } from 'callhook';
export default defineHook('${point}', ({ number }) => String(settings.prefix ?? 'none') + number.original);
`;
  await writeHook(dir, 'process_client_phone.ts', reader('process_client_phone'));
  await writeHook(dir, 'process_user_phone.ts', reader('process_user_phone'));
  const host = await startHost(dir, { watch: false, fileSettings: { 'process_client_phone.ts': { prefix: '9-' } } });
  t.after(() => host.close());
  assert.equal((await host.runPoint('process_client_phone', phoneInput('5551234'))).value, '9-5551234');
  assert.equal((await host.runPoint('process_user_phone', phoneInput('201'))).value, 'none201');
});

test('issue 10 item 8: the type checker never shows a file outside the hook\'s root, nor tells whether one exists', async (t) => {
  const dir = await tempDir('tc-outside');
  t.after(() => removeDir(dir));
  const hooks = path.join(dir, 'hooks');
  await mkdir(hooks);
  const SECRET = 'hunter2-db-password';
  await writeFile(path.join(dir, 'secret.ts'), `export type Password = '${SECRET}';\n`);
  await writeFile(path.join(dir, 'settings.json'), JSON.stringify({ cel: { mariadb: { password: SECRET } } }));
  const checker = new HookTypeChecker();
  t.after(() => checker.dispose());
  const check = (name: string, text: string) => checker.check(path.join(hooks, name), text, 'need_registration', { root: hooks, display: (f) => path.relative(hooks, f) });
  const typeImport = check('need_registration.a.ts', `import type { Password } from '../secret.ts';
import settings from '../settings.json';
const p: Password = 'x';
export default function (): boolean { return p === settings.cel.mariadb.password; }
`);
  assert.ok(typeImport.length > 0);
  assert.ok(typeImport.every((d) => !d.message.includes(SECRET) && !d.message.includes('mariadb')), JSON.stringify(typeImport));
  assert.ok(typeImport.some((d) => d.hookCode === 'HOOK_IMPORT_REFUSED' && /leaves the hook's folder or pack/.test(d.message)));

  const reference = (target: string) => check('need_registration.b.ts', `/// <reference path="${target}" />\nexport default function (): boolean { return true; }\n`)
    .map((d) => `${d.hookCode} ${d.line}:${d.column} ${d.message.split(target).join('<target>')}`);
  const existing = reference(path.join(dir, 'secret.ts'));
  const missing = reference(path.join(dir, 'no-such-file.ts'));
  assert.ok(existing.length > 0 && existing.some((l) => l.startsWith('HOOK_IMPORT_REFUSED')), existing.join('\n'));
  assert.deepEqual(existing, missing, 'the same answer whether the file exists or not');
});
