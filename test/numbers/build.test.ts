import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS, type NumberSettings } from '../../core/numbers/index.js';
import { captureLogger, SPEC_PREFIXES, SPEC_RULE } from './kit.js';

function model(overrides: Partial<NumberSettings> = {}) {
  return createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, ...overrides }, { logger: captureLogger().logger });
}

const spec = () => model({ prefixes: SPEC_PREFIXES, auto_replace: [SPEC_RULE] });

test('the spec example builds exactly', () => {
  assert.deepEqual(spec().build('+79001234567'), JSON.parse(
    '{"base":"9001234567","custom":"89001234567","is_local":false,"original":"+79001234567","variants":["9001234567","+74959001234567","84959001234567","+79001234567","79001234567","89001234567"]}',
  ));
});

test('the longest matching prefix is stripped; variants follow the configured order', () => {
  const m = spec();
  assert.equal(m.build('+74951234567').base, '1234567');
  assert.deepEqual(m.build('+74951234567').variants, ['1234567', '+74951234567', '84951234567', '+71234567', '71234567', '81234567']);
  assert.equal(m.build('84951234567').base, '1234567');
  assert.equal(m.build('89001234567').base, '9001234567');
  assert.equal(m.build('79001234567').base, '9001234567');
  assert.equal(m.build('+79001234567').base, '9001234567');
});

test('every prefixed form of a number shares base and variants', () => {
  const m = spec();
  const expected = m.build('9001234567');
  assert.equal(expected.base, '9001234567');
  for (const raw of ['+79001234567', '79001234567', '89001234567']) {
    const n = m.build(raw);
    assert.equal(n.base, expected.base, raw);
    assert.deepEqual(n.variants, expected.variants, raw);
    assert.equal(n.original, raw);
  }
});

test('a number without a configured prefix is its own base and still gets prefix variants', () => {
  const n = model().build('4951234567');
  assert.equal(n.base, '4951234567');
  assert.deepEqual(n.variants, ['4951234567', '+74951234567', '84951234567', '74951234567']);
  assert.equal(n.is_local, false);
  assert.equal(n.custom, '');
});

test('default prefixes are +7, 8, 7', () => {
  const n = model().build('+79001234567');
  assert.equal(n.base, '9001234567');
  assert.deepEqual(n.variants, ['9001234567', '+79001234567', '89001234567', '79001234567']);
});

test('an international number no prefix matches keeps its "+" and has only itself as variant', () => {
  assert.deepEqual(model().build('+442079460958'), {
    base: '+442079460958', custom: '', is_local: false, original: '+442079460958', variants: ['+442079460958'],
  });
});

test('a prefix is only stripped when digits remain', () => {
  const m = model({ prefixes: ['8', '88005'], internal_max_length: 3 });
  assert.equal(m.build('88005').base, '8005', 'the whole number is no prefix of itself: the next longest applies');
  assert.equal(m.build('880055').base, '5');
  assert.equal(m.build('8800').base, '800');
});

test('no prefixes configured: base is the cleaned number, variants just the base', () => {
  const n = model({ prefixes: [] }).build('+79001234567');
  assert.equal(n.base, '+79001234567');
  assert.deepEqual(n.variants, ['+79001234567']);
});

test('extensions (1..internal_max_length digits) are local, unstripped, variants = [base]', () => {
  const m = spec();
  for (const raw of ['1', '101', '7001', '8495']) {
    assert.deepEqual(m.build(raw), { base: raw, custom: '', is_local: true, original: raw, variants: [raw] }, raw);
    assert.equal(m.isInternal(raw), true, raw);
  }
  assert.equal(m.isInternal('70012'), false);
  assert.equal(m.build('70012').is_local, false);
  assert.equal(m.isInternal('+101'), false, 'a "+" number is never an extension');
});

test('internal_max_length changes what counts as an extension', () => {
  const m = model({ internal_max_length: 6 });
  assert.equal(m.isInternal('123456'), true);
  assert.equal(m.build('123456').is_local, true);
  assert.equal(m.isInternal('1234567'), false);
  const short = model({ internal_max_length: 2 });
  assert.equal(short.isInternal('101'), false);
});

test('separators are cleaned for matching and base; original stays raw', () => {
  const m = spec();
  for (const raw of ['+7 (900) 123-45-67', ' +7 900 123 45 67 ', '+7.900.123.45.67', '8\u00a0900\u00a0123\u201145\u201367', '+7(900)1234567\n']) {
    const n = m.build(raw);
    assert.equal(n.base, '9001234567', JSON.stringify(raw));
    assert.equal(n.original, raw);
    assert.equal(n.is_local, false);
  }
  assert.equal(m.build('+7 (900) 123-45-67').custom, '89001234567');
  assert.deepEqual(m.build(' 1 01 '), { base: '101', custom: '', is_local: true, original: ' 1 01 ', variants: ['101'] });
});

const NO_NUMBER = { base: '', custom: '', is_local: false, variants: [] };

test('empty string builds the empty Number', () => {
  assert.deepEqual(spec().build(''), { ...NO_NUMBER, original: '' });
  assert.equal(spec().isInternal(''), false);
});

test('text that is not a phone number: no base, no variants, not local, original kept', () => {
  const m = spec();
  const garbage = ['anonymous', 'Unknown', '<unknown>', 'asterisk', 's', '*97', '101#', '+', '++79001234567', '79001+234567',
    '\u0000101', '10\u00071', 'sip:101@pbx', '٣٠١', '１０１', 'x'.repeat(200), '   ', '()-.'];
  for (const raw of garbage) {
    assert.deepEqual(m.build(raw), { ...NO_NUMBER, original: raw }, JSON.stringify(raw));
    assert.equal(m.isInternal(raw), false, JSON.stringify(raw));
    assert.equal(m.autoReplace(raw), '', JSON.stringify(raw));
  }
});

test('numbers longer than 20 characters after cleanup are not numbers', () => {
  const m = spec();
  assert.equal(m.build('7'.repeat(20)).base, '7'.repeat(19));
  assert.deepEqual(m.build('7'.repeat(21)), { ...NO_NUMBER, original: '7'.repeat(21) });
  assert.equal(m.build('+' + '7'.repeat(19)).base, '7'.repeat(18));
  assert.equal(m.build('+' + '7'.repeat(20)).base, '');
  const spaced = '+7 900 123 45 67'.padEnd(200, ' ');
  assert.equal(m.build(spaced).base, '9001234567', 'only the cleaned length counts');
});

test('200-character and 5,000-digit input: defined result, fast, even with a backtracking rule', () => {
  const m = model({ auto_replace: [{ pattern: '^(\\d+)+x$', replacement: 'never' }, { pattern: '^(\\d|\\d)+$', replacement: 'all-digits' }] });
  for (const raw of ['9'.repeat(200), '1'.repeat(5000), 'a1'.repeat(100), '+7'.repeat(2500)]) {
    const started = performance.now();
    assert.deepEqual(m.build(raw), { ...NO_NUMBER, original: raw });
    assert.equal(m.isInternal(raw), false);
    assert.equal(m.autoReplace(raw), '');
    assert.ok(performance.now() - started < 100, `took ${performance.now() - started} ms`);
  }
  const started = performance.now();
  assert.equal(m.build('9'.repeat(20)).custom, 'all-digits');
  assert.ok(performance.now() - started < 2000, 'the cap bounds the worst rule on the longest accepted number');
});

test('non-string values from untyped callers never throw', () => {
  const m = spec();
  const loose = m as unknown as { build(raw: unknown): unknown; isInternal(raw: unknown): boolean };
  assert.deepEqual(loose.build(undefined), { ...NO_NUMBER, original: '' });
  assert.deepEqual(loose.build(null), { ...NO_NUMBER, original: '' });
  assert.deepEqual(loose.build({ toString: () => { throw new Error('boom'); } }), { ...NO_NUMBER, original: '' });
  assert.equal((loose.build(101) as { is_local: boolean }).is_local, true);
  assert.equal((loose.build(79001234567) as { base: string }).base, '9001234567');
  assert.equal(loose.isInternal(Symbol('x')), false);
});

test('build returns fresh objects (callers may mutate them)', () => {
  const m = spec();
  const a = m.build('+79001234567');
  a.variants.push('mutated');
  a.custom = 'hook';
  const b = m.build('+79001234567');
  assert.equal(b.variants.length, 6);
  assert.equal(b.custom, '89001234567');
  assert.deepEqual(m.build(''), { ...NO_NUMBER, original: '' });
});

test('a model without settings keys uses the defaults', () => {
  const m = createNumberModel({} as NumberSettings, { logger: captureLogger().logger });
  assert.equal(m.build('89001234567').base, '9001234567');
  assert.equal(m.isInternal('1234'), true);
  assert.equal(m.isInternal('12345'), false);
  m.close();
});
