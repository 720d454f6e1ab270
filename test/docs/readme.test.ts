// README.md stays true to the code: its generated sections are current, its sample output is what
// `callhook run` prints, and its hook example type-checks against the published types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyReadmeSections } from '../../core/docs/readme.js';
import { HOOK_ERROR_CODES } from '../../sandbox/errors.js';

const readme = readFileSync('README.md', 'utf8');

function blocks(lang: string): string[] {
  return [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
}

function block(lang: string): string {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme);
  assert.ok(m, `README has a ${lang} block`);
  return m[1]!;
}

function callhook(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.resolve('bin/callhook.js'), ...args], { encoding: 'utf8', cwd, env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the README opens with the install-and-run and the test commands', () => {
  const first = block('sh').split('\n');
  assert.match(first[0]!, /^npm ci && npx callhook run\b/);
  assert.match(first[1]!, /^npm test\b/);
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  assert.ok(pkg.scripts.test && pkg.bin.callhook);
});

test('the generated README sections (commands, sandbox limits, error codes) are current: run npm run types', () => {
  assert.equal(applyReadmeSections(readme), readme);
  for (const code of HOOK_ERROR_CODES) assert.match(readme, new RegExp(`\\| \`${code}\` \\|`));
});

test('the sample output in the README is what `callhook run` prints (timings and CRM call ids aside)', () => {
  const r = callhook(['run']);
  assert.equal(r.status, 0, r.stderr);
  // Bitrix24 makes up a new CALL_ID for every registration; hooks take a few ms more or less.
  const stable = (text: string) => text.replace(/\(\d+(\.\d+)? ms\)/g, '(… ms)').replace(/externalCall\.[0-9a-f]+\.\d+/g, 'externalCall.…');
  for (const excerpt of blocks('text')) assert.ok(stable(r.stdout).includes(stable(excerpt)), `README excerpt not found in the run output:\n${excerpt}`);
});

test('the README hook example passes `callhook check`', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'callhook-readme-'));
  try {
    writeFileSync(path.join(dir, 'need_registration.blacklist.ts'), block('ts'));
    const r = callhook(['check', dir]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
