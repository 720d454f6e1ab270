// File sources: JSON Lines and CSV replay, parse errors, odd rows. No database needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CEL_COLUMNS, type CelRow } from '../../core/cel/row.js';
import {
  CelParseError, createReplaySource, emptyStats, parseCelJsonLine, parseCsv, readCelFile, CsvParser, type CelSourceEvent,
  createCelSource, DEFAULT_CEL_SETTINGS,
} from '../../core/cel/sources/index.js';
import { RECORDED } from './assembler-kit.js';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures', 'cel-sources');
const recorded = RECORDED;

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

test('parseCelJsonLine gives exactly the CelRow shape, ignoring extra keys like scenario/seq', () => {
  const line = '{"scenario":"x","seq":4,"id":17,"eventtype":"BRIDGE_ENTER","eventtime":"2026-11-24 06:02:02.142554","amaflags":3,"channame":"PJSIP/200-1","extra":"{\\"bridge_id\\":\\"b1\\"}"}';
  const row = parseCelJsonLine(line, 9);
  assert.deepEqual(Object.keys(row).sort(), ['id', ...CEL_COLUMNS].sort());
  assert.equal(row.id, 17);
  assert.equal(row.eventtype, 'BRIDGE_ENTER');
  assert.equal(row.extra, '{"bridge_id":"b1"}', 'extra stays the raw JSON text');
  assert.equal(row.cid_num, '', 'missing text column becomes empty');
  assert.equal(row.amaflags, 3);
  const noId = parseCelJsonLine('{"eventtype":"CHAN_START"}', 42);
  assert.equal(noId.id, 42, 'a row without id gets its line number');
  assert.equal(noId.amaflags, 0, 'missing amaflags becomes 0');
});

test('parseCelJsonLine errors name the line and the field', () => {
  const cases: Array<[string, RegExp]> = [
    ['{"eventtype":"ANSWER",', /^line 5: not valid JSON/],
    ['[1,2]', /^line 5: expected a JSON object/],
    ['{"eventtype":"ANSWER","eventtime":"tomorrow"}', /^line 5: field 'eventtime': must look like/],
    ['{"eventtype":"ANSWER","amaflags":"DOCUMENTATION"}', /^line 5: field 'amaflags': must be an integer/],
    ['{"eventtype":"ANSWER","peer":["a"]}', /^line 5: field 'peer': must be a string, got an array/],
    ['{"eventtype":"ANSWER","id":-3}', /^line 5: field 'id': must be a non-negative integer/],
    ['{"eventtime":"2026-11-24 06:02:02"}', /^line 5: field 'eventtype': is missing/],
    ['{"eventtype":"","eventtime":"2026-11-24 06:02:02"}', /^line 5: field 'eventtype': is empty/],
    ['{"eventtype":null}', /^line 5: field 'eventtype': is null/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseCelJsonLine(text, 5), (error: unknown) => {
      assert.ok(error instanceof CelParseError, text);
      assert.match(error.message, message);
      assert.equal(error.line, 5);
      return true;
    });
  }
});

test('the recorded Asterisk 22 file replays as 300 rows in id order with nothing lost', async () => {
  const source = createReplaySource({ path: recorded, batchSize: 64 });
  const batches = await collect(source.batches());
  const rows = batches.flat();
  assert.equal(rows.length, 300);
  assert.ok(batches.every((b) => b.length <= 64));
  assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 300 }, (_, i) => i + 1));
  assert.deepEqual({ ...source.stats }, { ...source.stats, rowsRead: 300, badLines: 0, duplicates: 0, outOfOrder: 0, missingFields: 0 });
  const userDefined = rows.filter((r) => r.userdeftype !== '' && r.eventtype === r.userdeftype && !['DTMF', 'STREAM_BEGIN', 'STREAM_END'].includes(r.eventtype));
  assert.ok(userDefined.length > 0, 'USER_DEFINED rows keep the user name in eventtype');
  // Field for field the same as the file (minus the recording's own keys scenario/seq).
  const lines = (await readFile(recorded, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const [i, original] of lines.entries()) {
    const { scenario: _s, seq: _q, ...columns } = original;
    assert.deepEqual(rows[i], columns);
  }
});

test('noisy JSON Lines: bad lines are reported with file:line:field and skipped, order and duplicates fixed, never fatal', async () => {
  const events: CelSourceEvent[] = [];
  const source = createReplaySource({ path: path.join(fixtures, 'noisy.jsonl'), onEvent: (e) => events.push(e) });
  const rows = (await collect(source.batches())).flat();
  assert.deepEqual(rows.map((r) => r.id), [1, 2, 3, 4, 10]);
  assert.equal(rows[0]?.cid_name, 'Alice', 'the first copy of a duplicated id wins');
  assert.equal(rows[1]?.eventtime, '2026-11-24 06:02:02.200000', 'ISO T separator normalised');
  assert.equal(rows[1]?.cid_num, '201', 'numeric cid_num read as text');
  assert.equal(rows[3]?.extra, '{"hangupcause":16,"hangupsource":"","dialstatus":', 'broken extra JSON is passed on raw for the assembler to count');
  assert.equal(rows[4]?.extra, '{"inline":"object"}');
  assert.equal(source.stats.badLines, 7);
  assert.equal(source.stats.duplicates, 1);
  assert.equal(source.stats.outOfOrder, 3);
  assert.ok(source.stats.missingFields > 0);
  // Messages name the file as it was given (here an absolute path): one path style everywhere.
  const messages = events.filter((e) => e.code === 'CEL_BAD_LINE').map((e) => e.message.replace(`${fixtures}${path.sep}`, ''));
  assert.ok(events.filter((e) => e.code === 'CEL_BAD_LINE').every((e) => e.message.startsWith(path.join(fixtures, 'noisy.jsonl'))));
  assert.equal(messages.length, 7);
  assert.match(messages[0] ?? '', /^noisy\.jsonl:line 7: not valid JSON/);
  assert.ok(messages.some((m) => /^noisy\.jsonl:line 10: field 'eventtime'/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /^noisy\.jsonl:line 11: field 'amaflags'/.test(m)));
  assert.ok(messages.some((m) => /^noisy\.jsonl:line 12: field 'channame'/.test(m)));
});

test('resuming a replay after a cursor skips the rows already handed over', async () => {
  const source = createReplaySource({ path: recorded, batchSize: 50 });
  const rows = (await collect(source.batches(undefined, { afterId: 120 }))).flat();
  assert.equal(rows.length, 180);
  assert.equal(rows[0]?.id, 121);
});

test('RFC 4180 CSV: quotes, commas and line breaks inside fields, CRLF, chunk boundaries anywhere', () => {
  const text = 'a,b,c\r\n"x, y","say ""hi""","two\r\nlines"\n,,\nlast,"",end';
  const expected = [
    { line: 1, fields: ['a', 'b', 'c'] },
    { line: 2, fields: ['x, y', 'say "hi"', 'two\r\nlines'], endLine: 3 },
    { line: 4, fields: ['', '', ''] },
    { line: 5, fields: ['last', '', 'end'] },
  ];
  assert.deepEqual(parseCsv(text), expected);
  for (let size = 1; size <= 7; size++) {
    const parser = new CsvParser();
    const records = [];
    for (let i = 0; i < text.length; i += size) records.push(...parser.push(text.slice(i, i + size)));
    records.push(...parser.end());
    assert.deepEqual(records, expected, `chunk size ${size}`);
  }
  assert.deepEqual(parseCsv('a\r\n\r\nb\r\n'), [{ line: 1, fields: ['a'] }, { line: 3, fields: ['b'] }], 'blank lines skipped');
});

test('CSV quoting errors are reported on the record where they start and parsing continues', () => {
  const records = parseCsv('ok,1\nba"d,2\n"closed"x,3\n"never closed,4\n');
  assert.deepEqual(records[0], { line: 1, fields: ['ok', '1'] });
  assert.equal(records[1]?.line, 2);
  assert.match(records[1]?.error ?? '', /inside an unquoted field/);
  assert.equal(records[2]?.line, 3);
  assert.match(records[2]?.error ?? '', /after the closing quote/);
  assert.equal(records[3]?.line, 4);
  assert.match(records[3]?.error ?? '', /unterminated quoted field/);
});

test('CSV replay file: header names the columns, bad records counted and named, ids = line numbers', async () => {
  const bad: string[] = [];
  const stats = emptyStats();
  const rows = await collect(readCelFile(path.join(fixtures, 'quoting.csv'), { stats, onBadLine: (i) => bad.push(i.message) }));
  assert.deepEqual(rows.map((r) => [r.id, r.eventtype]), [[2, 'CHAN_START'], [3, 'USER_DEFINED_NOTE'], [8, 'HANGUP']]);
  assert.equal(rows[0]?.cid_name, 'Smith, John');
  assert.equal(rows[0]?.appdata, 'Dial(PJSIP/201,30,"tT")');
  assert.equal(rows[1]?.cid_name, 'multi\nline name');
  assert.equal(rows[1]?.extra, '{"extra":"a,b"}');
  assert.equal(rows[2]?.extra, '{"hangupcause":16}');
  assert.equal(stats.badLines, 2);
  assert.match(bad[0] ?? '', /\/quoting\.csv:line 5: .*unquoted field/);
  assert.match(bad[1] ?? '', /\/quoting\.csv:line 6: has 4 fields, the header has 9/);
});

test('the recorded file written as CSV replays to exactly the same rows as the JSON Lines', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cel-sources-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const jsonRows = await collect(readCelFile(recorded));
  const header = ['id', ...CEL_COLUMNS];
  const quote = (v: unknown): string => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const csv = [header.join(','), ...jsonRows.map((r) => header.map((h) => quote(r[h as keyof CelRow])).join(','))].join('\r\n');
  // No extension: the format must be sniffed from the content.
  const file = path.join(dir, 'cel-export');
  await writeFile(file, `\ufeff${csv}\r\n`);
  const csvRows = await collect(readCelFile(file));
  assert.equal(csvRows.length, 300);
  assert.deepEqual(csvRows, jsonRows);
});

test('a missing file is an error the caller sees (not a silent empty replay)', async () => {
  await assert.rejects(collect(readCelFile('/nonexistent/cel.jsonl')), /ENOENT/);
});

test('cel settings: the schema defaults equal DEFAULT_CEL_SETTINGS, and the defaults give a replay source', async () => {
  const schema = JSON.parse(await readFile(path.join(import.meta.dirname, '..', '..', 'types', 'settings', 'cel.schema.json'), 'utf8')) as SchemaNode;
  assert.deepEqual(defaultsOf(schema), DEFAULT_CEL_SETTINGS);
  const source = createCelSource(DEFAULT_CEL_SETTINGS);
  assert.equal(source.description, 'replay examples/cel/demo.jsonl');
  const live = createCelSource({ ...DEFAULT_CEL_SETTINGS, source: 'mariadb', mariadb: { ...DEFAULT_CEL_SETTINGS.mariadb, password: 'pw-should-not-show' } });
  assert.equal(live.description, 'mariadb 127.0.0.1:3306 asteriskcdrdb.cel');
  await live.close();
});

interface SchemaNode { type?: string; default?: unknown; properties?: Record<string, SchemaNode> }
/** Builds the value the settings loader would produce from an empty section: every key's default. */
function defaultsOf(node: SchemaNode): unknown {
  if (node.type === 'object' && node.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node.properties)) out[key] = defaultsOf(child);
    return out;
  }
  return node.default;
}
