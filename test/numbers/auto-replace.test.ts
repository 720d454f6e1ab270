import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS, type NumberSettings } from '../../core/numbers/index.js';
import { captureLogger, SPEC_RULE } from './kit.js';

function model(auto_replace: NumberSettings['auto_replace'], overrides: Partial<NumberSettings> = {}) {
  return createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, ...overrides, auto_replace }, { logger: captureLogger().logger });
}

test('a matching rule fills custom with $1 groups', () => {
  const m = model([SPEC_RULE]);
  assert.equal(m.build('+79001234567').custom, '89001234567');
  assert.equal(m.autoReplace('+79001234567'), '89001234567');
});

test('no rule matches: custom stays empty', () => {
  const m = model([SPEC_RULE]);
  assert.equal(m.build('89001234567').custom, '');
  assert.equal(m.autoReplace('89001234567'), '');
  assert.equal(model([]).build('+79001234567').custom, '');
});

test('the first matching rule wins; later rules are not applied on top', () => {
  const m = model([
    { pattern: '^8(\\d{10})$', replacement: '+7$1' },
    { pattern: '^\\+7(\\d{10})$', replacement: '8$1' },
    { pattern: '^(\\d{10})$', replacement: '+7$1' },
    { pattern: '\\d', replacement: 'never' },
  ]);
  assert.equal(m.autoReplace('89001234567'), '+79001234567');
  assert.equal(m.autoReplace('+79001234567'), '89001234567');
  assert.equal(m.autoReplace('9001234567'), '+79001234567');
  assert.equal(m.autoReplace('12345678'), 'never2345678', 'unanchored: the first match only is replaced');
});

test('rules see the cleaned number and support $2, $&, $$ and named groups', () => {
  const m = model([
    { pattern: '^\\+7(\\d{3})(\\d{7})$', replacement: '8 ($1) $2' },
    { pattern: '^8(?<rest>\\d{10})$', replacement: '$$:$<rest>' },
    { pattern: '^\\d{5}$', replacement: '[$&]' },
  ]);
  assert.equal(m.build('+7 (900) 123-45-67').custom, '8 (900) 1234567');
  assert.equal(m.autoReplace('8-900-123-45-67'), '$:9001234567');
  assert.equal(m.autoReplace('12345'), '[12345]');
});

test('rules also apply to extensions and FMC numbers, and do not change base, variants or is_local', () => {
  const m = model([{ pattern: '^(\\d{3})$', replacement: '7$1' }, SPEC_RULE], { fmc_numbers: ['+79001112233'], internal_max_length: 3 });
  assert.deepEqual(m.build('101'), { base: '101', custom: '7101', is_local: true, original: '101', variants: ['101'] });
  const fmc = m.build('+79001112233');
  assert.equal(fmc.custom, '89001112233');
  assert.equal(fmc.is_local, true);
  assert.equal(fmc.base, '9001112233');
  assert.equal(m.isInternal('7101'), false, 'custom does not feed back into internal detection');
});

test('a rule whose result is empty leaves custom empty', () => {
  const m = model([{ pattern: '^\\d+$', replacement: '' }]);
  assert.equal(m.build('89001234567').custom, '');
});

test('garbage input never reaches the rules', () => {
  const m = model([{ pattern: '.*', replacement: 'caught' }]);
  assert.equal(m.autoReplace('anonymous'), '');
  assert.equal(m.build('anonymous').custom, '');
  assert.equal(m.build('').custom, '');
  assert.equal(m.build('9'.repeat(21)).custom, '');
  assert.equal(m.build('101').custom, 'caught');
});
