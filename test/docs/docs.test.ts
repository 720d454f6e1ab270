// The docs cite only what a reader of the repository can open, and their hook examples pass the same
// loading the connector does (issue 11 item 18).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DOCS = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];

test('no doc cites a path outside the repository or a reference document that is not in it', () => {
  for (const doc of DOCS) {
    const text = readFileSync(doc, 'utf8');
    assert.doesNotMatch(text, /\/work\/|\/shared\/spec/, `${doc} cites an absolute path of the workplace`);
    assert.doesNotMatch(text, /\b(asterisk-cel|itgrix-customizer|crm-apis|sandbox-and-hook-hosts)\.md\b/, `${doc} cites a spec file the repo does not hold`);
    assert.doesNotMatch(text, /\bthe spec\b/i, `${doc} leans on "the spec" a reader cannot open`);
    for (const m of text.matchAll(/\]\(([^)#\s]+\.md)(#[^)]*)?\)/g)) {
      const target = path.join(path.dirname(doc), m[1] ?? '');
      assert.ok(existsSync(target), `${doc} links to ${m[1]}, which does not exist`);
    }
  }
});

test('the plain-function example in docs/hooks.md passes callhook check as it is written (with its import type)', () => {
  const hooksDoc = readFileSync('docs/hooks.md', 'utf8');
  const writing = hooksDoc.slice(hooksDoc.indexOf('## Writing a hook'), hooksDoc.indexOf('## Order, switches, defaults'));
  const example = /```ts\n([\s\S]*?)```/.exec(writing)?.[1] ?? '';
  assert.match(example, /^import type \{ HookInput \} from 'callhook';/m);
  assert.match(example, /export default function \(input: HookInput<'need_registration'>\): boolean/);
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-docs-'));
  try {
    writeFileSync(path.join(dir, 'need_registration.ts'), example);
    const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), 'check', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/sandbox.md names only status a command shows (no `health` field that nothing prints)', () => {
  const sandboxDoc = readFileSync('docs/sandbox.md', 'utf8');
  assert.doesNotMatch(sandboxDoc, /`health` shows/);
  assert.match(sandboxDoc, /`cooling_down` in the host's status \(`callhook run` prints it\)/);
});
