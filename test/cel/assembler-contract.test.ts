// One place per concept: the result table (code ↔ docs/cel.md), the calls settings (schema defaults ↔
// DEFAULT_CALLS_SETTINGS) and the result rules themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_CALLS_SETTINGS } from '../../core/cel/assembler/index.js';
import { renderResultTablesMarkdown, resultCode } from '../../core/cel/result-codes.js';

test('docs/cel.md shows exactly the result table of core/cel/result-codes.ts', () => {
  const doc = readFileSync('docs/cel.md', 'utf8');
  const between = /<!-- result-tables:start -->\n([\s\S]*?)\n<!-- result-tables:end -->/.exec(doc);
  assert.ok(between, 'docs/cel.md has the result-tables markers');
  assert.equal(between[1], renderResultTablesMarkdown());
});

test('the calls schema defaults are the assembler defaults', () => {
  const schema = JSON.parse(readFileSync('types/settings/calls.schema.json', 'utf8')) as { properties: Record<string, { default: unknown }> };
  const fromSchema = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, v.default]));
  assert.deepEqual(fromSchema, { ...DEFAULT_CALLS_SETTINGS });
});

test('result: dialstatus first, then the Q.850 cause as RFC 3398, normal clearing by answer', () => {
  const r = (dialstatus: string, hangupcause: number | undefined, answered = false): number => resultCode({ dialstatus, hangupcause, answered });
  assert.equal(r('ANSWER', 16, true), 200);
  assert.equal(r('BUSY', 16), 486);
  assert.equal(r('NOANSWER', 16), 480);
  assert.equal(r('CANCEL', 0), 487);
  assert.equal(r('CONGESTION', 34), 503);
  assert.equal(r('CHANUNAVAIL', 3), 404, 'unavailable because the number does not exist');
  assert.equal(r('CHANUNAVAIL', 1), 404);
  assert.equal(r('CHANUNAVAIL', 20), 503);
  assert.equal(r('answer', 16, true), 200, 'case-insensitive');
  assert.equal(r('', 17), 486);
  assert.equal(r('', 19), 480);
  assert.equal(r('', 21), 403);
  assert.equal(r('', 1), 404);
  assert.equal(r('', 34), 503);
  assert.equal(r('', 127), 500);
  assert.equal(r('', 99), 480, 'unknown causes are treated as 31');
  assert.equal(r('', 16, true), 200);
  assert.equal(r('', 16, false), 487);
  assert.equal(r('', undefined, false), 487);
  assert.equal(r('WHATEVER', 17), 486, 'an unknown dialstatus falls through to the cause');
});
