// `callhook replay` end to end through bin/callhook.js: JSONL and CSV input, --out, --stages, the
// table, messy files and bad usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CEL_COLUMNS } from '../../core/cel/row.js';

const DEMO = 'examples/cel/demo.jsonl';
const tmp = mkdtempSync(path.join(tmpdir(), 'callhook-replay-'));

function replay(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/callhook.js', 'replay', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface CallLine { linkedid: string; call_full: { channel: { type: string; from: { original: string }; was_answered: boolean }; result: number; conversations: Record<string, unknown> } }

function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('replay --out writes one {linkedid, call_full} line per finished call', () => {
  const out = path.join(tmp, 'calls.jsonl');
  const r = replay(DEMO, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = readJsonl(out) as unknown as CallLine[];
  assert.equal(lines.length, 11);
  for (const l of lines) assert.deepEqual(Object.keys(l), ['linkedid', 'call_full']);
  const queue = lines.find((l) => l.linkedid === '1795500212.86')!;
  assert.equal(queue.call_full.channel.type, 'incoming');
  assert.equal(queue.call_full.channel.from.original, '15551234');
  assert.equal(queue.call_full.channel.was_answered, true);
  assert.equal(Object.keys(queue.call_full.conversations).length, 2);
  assert.deepEqual(lines.map((l) => l.call_full.result), [200, 480, 486, 200, 200, 200, 200, 200, 200, 200, 487]);
  assert.match(r.stderr, /replayed 300 rows .*: 11 calls/);
});

test('replay --stages also writes every stage event, each call line after its call_ended', () => {
  const out = path.join(tmp, 'stages.jsonl');
  const r = replay(DEMO, '--out', out, '--stages');
  assert.equal(r.status, 0, r.stderr);
  const lines = readJsonl(out);
  const stages = lines.filter((l) => 'stage' in l);
  const calls = lines.filter((l) => !('stage' in l));
  assert.equal(calls.length, 11);
  assert.equal(stages.filter((s) => s['stage'] === 'call_ended').length, 11);
  for (const [i, l] of lines.entries()) {
    if ('stage' in l) continue;
    assert.equal(lines[i - 1]?.['stage'], 'call_ended');
    assert.equal(lines[i - 1]?.['linkedid'], l['linkedid']);
  }
  const rowIds = stages.map((s) => s['row_id'] as number);
  assert.deepEqual(rowIds, [...rowIds].sort((a, b) => a - b), 'stage events in row order');
});

test('replay without --out prints the table: time, type, from, to, answered by, result, duration', () => {
  const r = replay(DEMO);
  assert.equal(r.status, 0, r.stderr);
  const [header, , ...rows] = r.stdout.trimEnd().split('\n');
  assert.match(header!, /^time\s+type\s+from\s+to\s+answered by\s+result\s+duration$/);
  assert.equal(rows.length, 11);
  assert.match(rows[3]!, /^2026-11-24 06:02:38\s+incoming\s+15551234\s+201\s+201 → 202\s+200\s+10s \(talk 8s\)$/);
  assert.match(rows[2]!, /local\s+200\s+203\s+-\s+486/);
});

test('a CSV export of the same rows replays to the same calls', () => {
  const csv = path.join(tmp, 'demo.csv');
  const header = ['id', ...CEL_COLUMNS];
  const quote = (v: unknown): string => { const s = String(v ?? ''); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  const rows = readJsonl(DEMO);
  writeFileSync(csv, [header.join(','), ...rows.map((r) => header.map((h) => quote(r[h])).join(','))].join('\n') + '\n');
  const a = path.join(tmp, 'a.jsonl');
  const b = path.join(tmp, 'b.jsonl');
  assert.equal(replay(DEMO, '--out', a).status, 0);
  const r = replay(csv, '--out', b);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readJsonl(b), readJsonl(a));
});

test('a messy file (duplicates, shuffled ids, a broken line, broken extra) still gives the 11 calls', () => {
  const lines = readFileSync(DEMO, 'utf8').split('\n').filter((l) => l !== '');
  const messy = [...lines];
  messy.splice(40, 0, lines[39]!, '{"this is": not json');
  [messy[100], messy[101]] = [messy[101]!, messy[100]!];
  const hangup = messy[16]!;
  messy[16] = hangup.replace('\\"dialstatus\\":\\"ANSWER\\"}', '\\"dialstatus\\":\\"ANS');
  assert.notEqual(messy[16], hangup, 'row 17 (the caller HANGUP) got a truncated extra');
  const file = path.join(tmp, 'messy.jsonl');
  writeFileSync(file, messy.join('\n') + '\n');
  const out = path.join(tmp, 'messy-calls.jsonl');
  const r = replay(file, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readJsonl(out).length, 11);
  assert.match(r.stderr, /messy\.jsonl:line 42/, 'the broken line is named');
  assert.match(r.stderr, /duplicates 1/);
  assert.match(r.stderr, /bad lines 1/);
  assert.match(r.stderr, /bad extra 1/);
  assert.match(r.stderr, /CEL row 17 \(HANGUP\): extra is not valid JSON/);
});

test('bad usage exits 2; unreadable file and bad settings exit 1 naming the problem', () => {
  assert.equal(replay().status, 2);
  assert.equal(replay('a.jsonl', 'b.jsonl').status, 2);
  assert.equal(replay(DEMO, '--nope').status, 2);
  const missing = replay(path.join(tmp, 'nope.jsonl'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope\.jsonl/);
  const settings = path.join(tmp, 'settings.json');
  writeFileSync(settings, JSON.stringify({ calls: { trunk_channel_patterns: ['(unclosed'] } }));
  const bad = replay(DEMO, '--settings', settings);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /settings\.json: \/calls\/trunk_channel_patterns\/0: must be a valid regular expression/);
  writeFileSync(settings, JSON.stringify({ calls: { trunk_contexts: 'from-pstn' } }));
  assert.match(replay(DEMO, '--settings', settings).stderr, /settings\.json: \/calls\/trunk_contexts: must be an array/);
});

test('--settings is applied: without Local endpoint patterns the emulated phones are plumbing, so nobody answers', () => {
  const settings = path.join(tmp, 'no-local-phones.json');
  writeFileSync(settings, JSON.stringify({ calls: { local_endpoint_patterns: [] } }));
  const out = path.join(tmp, 'no-local-phones.jsonl');
  const r = replay(DEMO, '--settings', settings, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const first = (readJsonl(out) as unknown as CallLine[]).find((c) => c.linkedid === '1795500122.54')!;
  assert.equal(first.call_full.channel.was_answered, false);
  assert.deepEqual(first.call_full.conversations, {});
});
