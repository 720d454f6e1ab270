// The CLI's cached bundle (bin/bundle.js) behaves like the sources it was made from: each module keeps
// its own import.meta.url, packages load from node_modules, a lazily imported module stays lazy, and any
// edit of an input makes the bundle stale so the next start rebuilds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildBundle, validBundle } from '../bin/bundle.js';

test('a bundle keeps every module\'s import.meta.url and lazy imports, and goes stale with any edit of its inputs', async (t) => {
  // Inside the repository, so the entry resolves packages from its node_modules like the CLI does.
  const dir = mkdtempSync(path.join(path.resolve('test'), '.bundle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'lib'));
  writeFileSync(path.join(dir, 'lib', 'where.ts'), 'export const where: string = import.meta.url;\n');
  writeFileSync(path.join(dir, 'lib', 'late.ts'), "import { Ajv } from 'ajv';\n(globalThis as { lateLoaded?: boolean }).lateLoaded = true;\nexport const late = typeof Ajv;\n");
  writeFileSync(path.join(dir, 'main.ts'), `import { where } from './lib/where.js';
const before = (globalThis as { lateLoaded?: boolean }).lateLoaded === true;
const { late } = await import('./lib/late.js');
console.log(JSON.stringify({ where, self: import.meta.url, late, before }));
`);
  const entry = path.join(dir, 'main.ts');
  assert.equal(validBundle(entry), null, 'nothing built yet');
  const bundle = await buildBundle(entry);
  assert.ok(bundle !== null, 'built');
  assert.equal(validBundle(entry), bundle);
  const r = spawnSync(process.execPath, [bundle], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { where: string; self: string; late: string; before: boolean };
  assert.equal(out.before, false, 'a dynamically imported module runs only when imported');
  assert.equal(out.where, pathToFileURL(path.join(dir, 'lib', 'where.ts')).href, 'a module sees its own file, not the bundle');
  assert.equal(out.self, pathToFileURL(entry).href);
  assert.equal(out.late, 'function', 'a package imported from where it is installed');

  writeFileSync(path.join(dir, 'lib', 'where.ts'), "export const where: string = 'edited';\n");
  assert.equal(validBundle(entry), null, 'an edited input makes the bundle stale');
  const rebuilt = await buildBundle(entry);
  assert.ok(rebuilt !== null && rebuilt !== bundle);
  assert.equal((JSON.parse(spawnSync(process.execPath, [rebuilt], { encoding: 'utf8' }).stdout) as { where: string }).where, 'edited');
});
