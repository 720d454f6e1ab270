// `npm run types`: regenerates every file derived from a schema. Each generator owns its outputs;
// tests compare the committed files with a fresh render, so a stale file fails CI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCallFullDoc, renderCallFullDts } from '../core/contract/render.js';
import { generateHookTypesAndDocs } from '../hooks/generate-types.js';
import { generateSettingsTypesAndDocs } from '../core/settings/generate.js';
import { applyReadmeSections } from '../core/docs/readme.js';

const root = fileURLToPath(new URL('..', import.meta.url));

async function generateContract(): Promise<string[]> {
  const dts = path.join(root, 'types', 'call_full.d.ts');
  const md = path.join(root, 'docs', 'call_full.md');
  mkdirSync(path.dirname(md), { recursive: true });
  writeFileSync(dts, await renderCallFullDts());
  writeFileSync(md, renderCallFullDoc());
  return [dts, md];
}

function generateReadmeSections(): string[] {
  const readme = path.join(root, 'README.md');
  writeFileSync(readme, applyReadmeSections(readFileSync(readme, 'utf8')));
  return [readme];
}

const written = [
  ...(await generateContract()),
  ...generateHookTypesAndDocs(root),
  ...(await generateSettingsTypesAndDocs(root)),
  ...generateReadmeSections(),
];
for (const file of written) process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
