// Hostile files (issue 16 items 7, 10, 11): bytes that are not UTF-8, ids that are no ids, nulls, a number
// for extra, an unterminated CSV quote, a flood of bad lines, and files that are no CEL text at all, both
// through the replay source and through `callhook replay` (exit code and what it says).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assembleAll } from '../../core/cel/assembler/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { createReplaySource, type CelSourceEvent } from '../../core/cel/sources/index.js';
import { CEL_COLUMNS } from '../../core/cel/row.js';
import { RECORDED, loadRows, testNumbers } from './assembler-kit.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'cel-hostile-'));
const lines = readFileSync(RECORDED, 'utf8').split('\n').filter((l) => l !== '');
const reference = assembleAll(loadRows(RECORDED), { calls: {}, numbers: testNumbers }).calls;

function file(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
}

async function replay(p: string, batchSize = 500): Promise<{ rows: CelRow[]; events: CelSourceEvent[]; batches: number }> {
  const events: CelSourceEvent[] = [];
  const source = createReplaySource({ path: p, batchSize, onEvent: (e) => events.push(e) });
  const rows: CelRow[] = [];
  let batches = 0;
  for await (const b of source.batches()) {
    rows.push(...b);
    batches++;
  }
  return { rows, events, batches };
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/callhook.js', 'replay', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('bytes that are not UTF-8 keep their row and are warned with the line, not silently replaced', async () => {
  const bytes = lines.map((l) => Buffer.from(`${l}\n`));
  // Line 3's caller name in Latin-1 ("Jos\xe9"): invalid UTF-8.
  bytes[2] = Buffer.from(lines[2]!.replace('"cid_name": "', '"cid_name": "Jos\u00e9 ').replace('"cid_name":"', '"cid_name":"Jos\u00e9 ') + '\n', 'latin1');
  const p = file('latin1.jsonl', Buffer.concat(bytes));
  const { rows, events } = await replay(p);
  assert.equal(rows.length, 300, 'the row is kept');
  assert.ok(rows[2]!.cid_name.includes('\ufffd'));
  const bad = events.filter((e) => e.code === 'CEL_BAD_ENCODING');
  assert.equal(bad.length, 1);
  assert.match(bad[0]!.message, /latin1\.jsonl:line 3: bytes that are not UTF-8/);
});

test('id 0 on every row: the ids are no ids, rows are read in file order (line numbers), none dropped as duplicates', async () => {
  const p = file('id0.jsonl', lines.map((l) => l.replace(/"id": ?\d+/, '"id": 0')).join('\n'));
  const { rows, events } = await replay(p);
  assert.equal(rows.length, 300);
  assert.deepEqual(rows.map((r) => r.id), Array.from({ length: 300 }, (_, i) => i + 1));
  const conflict = events.filter((e) => e.code === 'CEL_ID_CONFLICT');
  assert.equal(conflict.length, 1, 'said once');
  assert.match(conflict[0]!.message, /ids are not unique .*lines 1 and 2 both have id 0.*line numbers as ids/);
  const calls = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
  assert.deepEqual(calls.map((c) => c.callFull), reference.map((c) => c.callFull));
});

test('a null field is warned with its line; a numeric extra keeps the row, warned like broken extra text; an absent key is "missing"', async () => {
  const nulled = lines.map((l, i) => (i === 4 ? l.replace(/"exten": ?"[^"]*"/, '"exten": null') : i === 9 ? l.replace(/"extra": ?"(\\.|[^"\\])*"/, '"extra": 5') : l));
  nulled.push('{"id": 999, "eventtime": "2026-11-24 06:10:00"}');
  const p = file('odd.jsonl', nulled.join('\n'));
  const { rows, events } = await replay(p);
  assert.equal(rows.length, 300, 'the null and numeric-extra rows are kept; the row without eventtype is not');
  assert.equal(rows[4]!.exten, '');
  assert.equal(rows[9]!.extra, '5');
  assert.match(events.find((e) => e.code === 'CEL_NULL_FIELDS')?.message ?? '', /odd\.jsonl:line 5: exten is null; read as ''/);
  assert.match(events.find((e) => e.code === 'CEL_ODD_VALUE')?.message ?? '', /odd\.jsonl:line 10: field 'extra' is a number \(5\), not JSON text; kept/);
  assert.match(events.find((e) => e.code === 'CEL_BAD_LINE')?.message ?? '', /odd\.jsonl:line 301: field 'eventtype': is missing/);
});

test('an unterminated CSV quote does not swallow the lines after it: they are read again, and the broken record is named', async () => {
  const header = ['id', ...CEL_COLUMNS];
  const quote = (v: unknown): string => { const s = String(v ?? ''); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  const records = loadRows(RECORDED).map((r) => header.map((h) => quote(r[h as keyof CelRow])).join(','));
  // An opening quote that never closes, in a record without other quotes: the quoted field runs into the next lines.
  const broken = records.findIndex((r, i) => i >= 10 && !r.includes('"'));
  records[broken] = records[broken]!.replace(',Local/', ',"Local/');
  const p = file('quote.csv', [header.join(','), ...records].join('\n') + '\n');
  const { rows, events } = await replay(p);
  assert.equal(rows.length, 299, 'only the broken record is lost');
  const bad = events.filter((e) => e.code === 'CEL_BAD_LINE');
  assert.equal(bad.length, 1);
  assert.match(bad[0]!.message, new RegExp(`quote\\.csv:line ${broken + 2}: a quoted field opened on line ${broken + 2} runs into line \\d+ .*line ${broken + 3} is read again`));
});

test('a flood of bad lines is at most 10 messages and one summary per batch', async () => {
  const garbage = Array.from({ length: 1000 }, (_, i) => `garbage ${i} {`);
  const p = file('flood.jsonl', [...lines.slice(0, 100), ...garbage, ...lines.slice(100)].join('\n'));
  const { rows, events, batches } = await replay(p, 100);
  assert.equal(rows.length, 300);
  const bad = events.filter((e) => e.code === 'CEL_BAD_LINE');
  assert.ok(bad.length <= 11 * batches, `${bad.length} messages for ${batches} batches`);
  const summary = bad.find((e) => /more bad lines/.test(e.message));
  assert.match(summary?.message ?? '', /flood\.jsonl: … and 990 more bad lines in this batch: line 111, line 112, line 113, line 114, line 115, and 985 more up to line 1100/);
});

test('callhook replay: files that are not CEL text exit 1 and say what they look like, never echoing binary', () => {
  const cases: Array<[string, string | Buffer, RegExp]> = [
    ['empty.jsonl', '', /nothing to replay: .*empty\.jsonl: the file is empty/],
    ['calls.jsonl.gz', gzipSync(lines.join('\n')), /gzip-compressed: decompress it first \(gunzip\)/],
    ['array.json', JSON.stringify(lines.slice(0, 5).map((l) => JSON.parse(l) as unknown), null, 2), /a JSON array, not JSON Lines/],
    ['pretty.jsonl', JSON.stringify(JSON.parse(lines[0]!) as unknown, null, 2), /pretty-printed JSON .*not JSON Lines/],
    ['utf16.jsonl', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.slice(0, 3).join('\n'), 'utf16le')]), /UTF-16 text: convert it to UTF-8/],
    ['random.bin', Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919 + 13) % 256)), /binary data, not CEL text/],
    ['noheader.csv', 'CHAN_START,2026-11-24 06:02:02,Alice,200\nANSWER,2026-11-24 06:02:03,Alice,200\n', /noheader\.csv:line 1: the first line must be the CSV header .*found "CHAN_START,2026-11-24 06:02:02,Alice,200"/],
    ['text.jsonl', 'hello\nworld\n', /none of its 2 lines is a CEL row/],
  ];
  for (const [name, content, message] of cases) {
    const r = cli(file(name, content));
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.doesNotMatch(r.stderr, /[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/, `${name}: no raw control bytes on the terminal`);
    assert.ok(r.stderr.split('\n').length < 6, `${name}: one message, not one per line:\n${r.stderr}`);
  }
  // A header problem is said once, however many records follow.
  const many = cli(file('noheader-long.csv', Array.from({ length: 500 }, () => 'CHAN_START,2026-11-24 06:02:02').join('\n')));
  assert.equal(many.status, 1);
  assert.equal((many.stderr.match(/CSV header/g) ?? []).length, 1);
});
