import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS, type NumberSettings } from '../../core/numbers/index.js';
import { captureLogger, tempDir, until } from './kit.js';

function model(overrides: Partial<NumberSettings>, baseDir?: string) {
  const log = captureLogger();
  const options = baseDir === undefined ? { logger: log.logger } : { logger: log.logger, baseDir };
  return { m: createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, ...overrides }, options), log };
}

test('fmc_numbers are internal by full match (prefix included) and keep prefix stripping', () => {
  const { m } = model({ fmc_numbers: ['+7 (900) 111-22-33', '89002223344'] });
  assert.deepEqual(m.build('+79001112233'), {
    base: '9001112233', custom: '', is_local: true, original: '+79001112233',
    variants: ['9001112233', '+79001112233', '89001112233', '79001112233'],
  });
  assert.equal(m.isInternal('+79001112233'), true);
  assert.equal(m.isInternal('+7 900 111 22 33'), true, 'the same cleanup applies to the call side');
  assert.equal(m.isInternal('89001112233'), false, 'full match: another prefix is another number');
  assert.equal(m.isInternal('9001112233'), false);
  assert.equal(m.isInternal('89002223344'), true);
  assert.equal(m.isInternal('+79002223344'), false);
  assert.equal(m.isInternal('+79005556677'), false);
  m.close();
});

test('patterns file: X is one digit, plain numbers, comments, blank lines; FMC numbers keep base/variants', () => {
  const dir = tempDir();
  const file = path.join(dir, 'fmc_patterns.txt');
  writeFileSync(file, '# corporate SIMs\n8123456XXXX\n\n  +7 900 XXX-XX-01   # sales\r\n79991234567\n7000000xxxx\n');
  const { m, log } = model({ fmc_patterns_file: file });
  assert.equal(m.isInternal('81234560000'), true);
  assert.equal(m.isInternal('81234569999'), true);
  assert.equal(m.isInternal('8123456999'), false, 'shorter: no match');
  assert.equal(m.isInternal('812345699990'), false, 'longer: no match');
  assert.equal(m.isInternal('81234570000'), false);
  assert.equal(m.isInternal('+79005550001'), true);
  assert.equal(m.isInternal('+79005550002'), false);
  assert.equal(m.isInternal('79991234567'), true);
  assert.equal(m.isInternal('+79991234567'), false);
  assert.equal(m.isInternal('70000001234'), true, 'lower-case x works too');
  const n = m.build('8 123 456 78 90');
  assert.equal(n.is_local, true);
  assert.equal(n.base, '1234567890');
  assert.equal(n.variants.length, 4);
  assert.deepEqual(log.warnings(), []);
  m.close();
  rmSync(dir, { recursive: true });
});

test('patterns file: editing it takes effect without a restart', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'fmc.txt');
  writeFileSync(file, '8123456XXXX\n');
  const { m } = model({ fmc_patterns_file: file });
  assert.equal(m.isInternal('81234560000'), true);
  assert.equal(m.isInternal('81234570000'), false);
  writeFileSync(file, '8123457XXXX\n'); // same size, in place
  await until(() => m.isInternal('81234570000'));
  assert.equal(m.isInternal('81234560000'), false, 'the old pattern is gone');
  // Automation replacing the file atomically (write + rename) works too.
  writeFileSync(path.join(dir, 'fmc.tmp'), '8123457XXXX\n9000000XXXX\n');
  renameSync(path.join(dir, 'fmc.tmp'), file);
  await until(() => m.isInternal('90000001234'));
  m.close();
  rmSync(dir, { recursive: true });
});

test('patterns file: missing is a warning (once) and no patterns; it works when it appears', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'later.txt');
  const { m, log } = model({ fmc_patterns_file: file });
  assert.equal(m.isInternal('81234560000'), false);
  assert.equal(m.build('81234560000').is_local, false);
  const warnings = log.warnings();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /later\.txt.*not found/);
  writeFileSync(file, '8123456XXXX\n');
  await until(() => m.isInternal('81234560000'));
  rmSync(file);
  await until(() => !m.isInternal('81234560000'));
  assert.equal(log.warnings().filter((w) => w.includes('not found')).length, 2, 'warned again only when it went missing again');
  m.close();
  rmSync(dir, { recursive: true });
});

test('patterns file: a bad line is warned about with file:line and skipped', () => {
  const dir = tempDir();
  const file = path.join(dir, 'fmc.txt');
  writeFileSync(file, '8123456XXXX\nabc\n# fine\n81X*\n+7900+XXXXXXX\n' + '9'.repeat(21) + '\n79001234567\n');
  const { m, log } = model({ fmc_patterns_file: file });
  assert.equal(m.isInternal('81234560000'), true);
  assert.equal(m.isInternal('79001234567'), true, 'lines after bad ones still load');
  assert.equal(m.isInternal('abc'), false);
  const warnings = log.warnings();
  assert.deepEqual(warnings.map((w) => /:(\d+): /.exec(w)?.[1]), ['2', '4', '5', '6']);
  for (const w of warnings) assert.ok(w.startsWith(`${file}:`), w);
  m.close();
  rmSync(dir, { recursive: true });
});

test('patterns file: a relative path resolves against baseDir', () => {
  const dir = tempDir();
  mkdirSync(path.join(dir, 'etc'));
  writeFileSync(path.join(dir, 'etc', 'fmc.txt'), '8123456XXXX\n');
  const { m, log } = model({ fmc_patterns_file: 'etc/fmc.txt' }, dir);
  assert.equal(m.isInternal('81234560000'), true);
  assert.deepEqual(log.warnings(), []);
  m.close();
  rmSync(dir, { recursive: true });
});

test('patterns file: a directory or an unreadable file is a warning and no patterns, never a throw', () => {
  const dir = tempDir();
  const { m, log } = model({ fmc_patterns_file: dir });
  assert.equal(m.isInternal('81234560000'), false);
  assert.equal(m.build('81234560000').base, '1234560000');
  assert.equal(log.warnings().length, 1);
  m.close();
  if (process.getuid?.() !== 0) {
    const file = path.join(dir, 'locked.txt');
    writeFileSync(file, '8123456XXXX\n');
    chmodSync(file, 0o000);
    const locked = model({ fmc_patterns_file: file });
    assert.equal(locked.m.isInternal('81234560000'), false);
    assert.match(locked.log.warnings()[0] ?? '', /EACCES/);
    locked.m.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

test('an empty fmc_patterns_file means no file and no warning', () => {
  const { m, log } = model({ fmc_patterns_file: '' });
  assert.equal(m.isInternal('81234560000'), false);
  assert.deepEqual(log.warnings(), []);
  m.close();
  m.close();
  assert.equal(m.isInternal('101'), true, 'still answers after close');
});
