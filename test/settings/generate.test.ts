// types/settings.d.ts and docs/settings.md are generated from types/settings/*.schema.json: a schema
// change without `npm run types` fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSettingsTypesAndDocs, renderSettingsDoc, renderSettingsDts } from '../../core/settings/generate.js';
import { PACKAGE_ROOT, readSectionSchemas } from '../../core/settings/schema.js';

test('types/settings.d.ts and docs/settings.md are what the generator makes of the schemas (run `npm run types`)', async () => {
  assert.equal(readFileSync(path.join(PACKAGE_ROOT, 'types/settings.d.ts'), 'utf8'), await renderSettingsDts(), 'types/settings.d.ts is stale');
  assert.equal(readFileSync(path.join(PACKAGE_ROOT, 'docs/settings.md'), 'utf8'), renderSettingsDoc(), 'docs/settings.md is stale');
});

test('generateSettingsTypesAndDocs writes both files under the given root from its schemas', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'callhook-settings-gen-'));
  cpSync(path.join(PACKAGE_ROOT, 'types/settings'), path.join(root, 'types/settings'), { recursive: true });
  const written = await generateSettingsTypesAndDocs(root);
  assert.deepEqual(written, [path.join(root, 'types/settings.d.ts'), path.join(root, 'docs/settings.md')]);
  assert.equal(readFileSync(written[0]!, 'utf8'), readFileSync(path.join(PACKAGE_ROOT, 'types/settings.d.ts'), 'utf8'));
});

test('one exported interface per section plus Settings; every key of every section is in the types and the docs', async () => {
  const dts = await renderSettingsDts();
  const doc = renderSettingsDoc();
  assert.match(dts, /export interface Settings \{/);
  for (const { name, schema } of readSectionSchemas()) {
    // snake_case sections (click_to_call) become PascalCase interfaces (ClickToCallSettings).
    const iface = `${name.split('_').map((w) => `${w.charAt(0).toUpperCase()}${w.slice(1)}`).join('')}Settings`;
    assert.match(dts, new RegExp(`export interface ${iface} \\{`), iface);
    assert.match(dts, new RegExp(`\\n  ${name}: ${iface};`));
    assert.match(doc, new RegExp(`\\n## ${name}\\n`));
    for (const key of Object.keys(schema.properties as object)) {
      assert.ok(doc.includes(`| \`${name}.${key}\` |`), `docs/settings.md lists ${name}.${key}`);
    }
  }
  // Descriptions become doc comments; a key with a default is required in the type (the loader fills it).
  assert.match(dts, /Heap limit of each hook's isolate[^]*?@default 32\n\s+\*\/\n\s+memory_mb: number;/);
  assert.match(doc, /\| `sandbox\.memory_mb` \| integer 8–1024 \| `32` \|/);
  assert.match(doc, /\| `hooks\.packs\[\]\.path` \| path \| \(required\) \|/);
});
