import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { confineToRoot } from '../../hooks/confine.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'callhook-confine-'));
const root = path.join(base, 'monitor');
mkdirSync(path.join(root, '2026'), { recursive: true });
mkdirSync(path.join(base, 'outside'));
symlinkSync(path.join(base, 'outside'), path.join(root, 'escape'));
symlinkSync(path.join(root, '2026'), path.join(root, 'inside-link'));

test('relative and absolute paths inside the recordings root are accepted and made absolute', () => {
  assert.deepEqual(confineToRoot(root, '2026/11/24/a.wav'), { ok: true, path: path.join(root, '2026/11/24/a.wav') });
  assert.deepEqual(confineToRoot(root, path.join(root, 'x.wav')), { ok: true, path: path.join(root, 'x.wav') });
  assert.equal(confineToRoot(root, 'inside-link/b.wav').ok, true);
});

test('.. segments, absolute escapes, the root itself and symlinks out are refused', () => {
  for (const bad of ['../x.wav', '2026/../../x.wav', '/etc/passwd', path.join(base, 'outside', 'x.wav'), root, 'escape/x.wav', 'escape', 'a\0b']) {
    const r = confineToRoot(root, bad);
    assert.equal(r.ok, false, bad);
  }
  const r = confineToRoot(root, 'escape/x.wav');
  assert.ok(!r.ok && /symlink/.test(r.reason));
});

test('the recordings root itself, however it is written or linked, is refused', () => {
  symlinkSync(root, path.join(root, '2026', 'back-to-root'));
  for (const bad of [root + '/', root + '/.', root + '//', '.', './', '', '2026/back-to-root', '2026/back-to-root/']) {
    const r = confineToRoot(root, bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.ok(!r.ok && /recordings root itself/.test(r.reason), `${JSON.stringify(bad)}: ${r.ok ? '' : r.reason}`);
  }
});

test('paths with control or bidi characters are refused, and the reason shows them escaped', () => {
  for (const bad of ['2026/a\nb.wav', '2026/\u001b]0;x\u0007.wav', '2026/\u202egnp.wav', '2026/a\u0085.wav', '2026/\u2066x.wav', 'tab\there.wav']) {
    const r = confineToRoot(root, bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.ok(!r.ok && /control or bidi/.test(r.reason), JSON.stringify(bad));
    assert.doesNotMatch(r.ok ? '' : r.reason, /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  }
  assert.equal(confineToRoot(root, '2026/запись звонка.wav').ok, true, 'ordinary non-ASCII names stay allowed');
});
