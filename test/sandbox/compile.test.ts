// Compiling customer TypeScript: bundling inside the root, 'callhook' virtual module, refused imports with
// file:line:col, syntax errors mapped, content hash over the bundled inputs.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { compileHook, HookError, loadHook } from '../../sandbox/index.js';
import { loadOptions, writeHooks } from './kit.js';

async function compileError(files: Record<string, string>, entry = 'hook.ts', displayName = entry): Promise<HookError> {
  const root = await writeHooks(files);
  try {
    await compileHook({ file: path.join(root, entry), root, displayName });
  } catch (error) {
    assert.ok(error instanceof HookError, String(error));
    assert.ok(!error.message.includes(root), `host path leaked: ${error.message}`);
    return error;
  }
  assert.fail('compile should have failed');
}

test('a syntax error is HOOK_COMPILE with the .ts line and column', async () => {
  const e = await compileError({ 'hook.ts': 'export default (i: number) => {\n  return i +;\n};\n' });
  assert.equal(e.code, 'HOOK_COMPILE');
  assert.equal(e.file, 'hook.ts');
  assert.equal(e.line, 2);
  assert.equal(e.column, 13);
  assert.match(e.format(), /^hook\.ts:2:13 HOOK_COMPILE /);
});

for (const [what, spec] of [['a node built-in', 'node:fs'], ['a bare built-in', 'child_process'], ['an npm package', 'axios'], ['an absolute path', '/etc/passwd']] as const) {
  test(`importing ${what} is HOOK_IMPORT_REFUSED at the import line`, async () => {
    const e = await compileError({ 'hook.ts': `import type { CallFull } from 'callhook';\n\nimport x from '${spec}';\nexport default () => String(x);\n` });
    assert.equal(e.code, 'HOOK_IMPORT_REFUSED');
    assert.equal(e.line, 3);
    assert.ok(e.message.includes(spec));
  });
}

test('require() and literal import() of a built-in are refused too', async () => {
  const e1 = await compileError({ 'hook.ts': `declare const require: (m: string) => unknown;\nexport default () => require('fs');\n` });
  assert.equal(e1.code, 'HOOK_IMPORT_REFUSED');
  assert.equal(e1.line, 2);
  const e2 = await compileError({ 'hook.ts': `export default async () => {\n  return import('node:child_process');\n};\n` });
  assert.equal(e2.code, 'HOOK_IMPORT_REFUSED');
  assert.equal(e2.line, 2);
});

test('a relative import that leaves the root is refused, naming the importing pack file', async () => {
  const root = await writeHooks({ 'secret.ts': 'export const s = 1;', 'pack/hooks/x.ts': `import { y } from '../lib/y.js';\nexport default () => y;`, 'pack/lib/y.ts': `\nexport { s as y } from '../../secret.js';` });
  try {
    await compileHook({ file: path.join(root, 'pack/hooks/x.ts'), root: path.join(root, 'pack'), displayName: 'acme@1.0.0/hooks/x.ts' });
    assert.fail('should be refused');
  } catch (error) {
    assert.ok(error instanceof HookError);
    assert.equal(error.code, 'HOOK_IMPORT_REFUSED');
    assert.equal(error.file, 'acme@1.0.0/lib/y.ts');
    assert.equal(error.line, 2);
  }
});

test('relative imports inside a pack are bundled; errors in a helper map to the helper file', async () => {
  const root = await writeHooks({
    'hooks/main.ts': `import { defineHook, type CallFull } from 'callhook';\nimport { check } from '../lib/check.js';\nimport data from '../lib/data.json';\nexport default defineHook('pre_registration', (i: { n: number }) => ({ ok: check(i.n), size: data.size }));\n`,
    'lib/check.ts': `export function check(n: number): boolean {\n  if (n < 0) {\n    throw new RangeError('negative');\n  }\n  return n > 1;\n}\n`,
    'lib/data.json': '{"size": 3}',
  });
  const compiled = await compileHook({ file: path.join(root, 'hooks/main.ts'), root, displayName: 'acme@1.2.0/hooks/main.ts' });
  assert.match(compiled.contentHash, /^[0-9a-f]{64}$/);
  assert.ok(!compiled.code.includes(root), 'no host path in the bundle');
  const hook = await loadHook(compiled, loadOptions());
  try {
    assert.equal(hook.declaredHook, 'pre_registration');
    const ok = await hook.invoke({ n: 2 }, { hook: 'pre_registration' });
    assert.deepEqual(ok.ok && ok.value, { ok: true, size: 3 });
    const bad = await hook.invoke({ n: -1 }, { hook: 'pre_registration' });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.equal(bad.error.code, 'HOOK_THROW');
      assert.equal(bad.error.file, 'acme@1.2.0/lib/check.ts');
      assert.equal(bad.error.line, 3);
      assert.equal(bad.error.column, 11);
      assert.match(String(bad.error.stack), /at check \(acme@1\.2\.0\/lib\/check\.ts:3:11\)\n\s+at acme@1\.2\.0\/hooks\/main\.ts:4:/);
    }
  } finally {
    await hook.dispose();
  }
});

test('content hash changes with any bundled input, not with unrelated files', async () => {
  const root = await writeHooks({ 'h.ts': `import { v } from './v.js'; export default () => v;`, 'v.ts': 'export const v = 1;', 'other.ts': 'x' });
  const src = { file: path.join(root, 'h.ts'), root, displayName: 'h.ts' };
  const a = await compileHook(src);
  await writeHooks({ 'other.ts': 'y' }, root);
  assert.equal((await compileHook(src)).contentHash, a.contentHash);
  await writeHooks({ 'v.ts': 'export const v = 2;' }, root);
  assert.notEqual((await compileHook(src)).contentHash, a.contentHash);
});

test('a file without a default export fails to load with HOOK_LOAD', async () => {
  const root = await writeHooks({ 'h.ts': 'export const x = 1;' });
  const compiled = await compileHook({ file: path.join(root, 'h.ts'), root, displayName: 'h.ts' });
  await assert.rejects(loadHook(compiled, loadOptions()), (e: unknown) => e instanceof HookError && e.code === 'HOOK_LOAD' && /export default/.test(e.message));
});
