// Odd input must be handled and counted, never fatal: duplicates, rows out of id order, broken extra,
// missing fields, rows of calls already finished, calls that never get LINKEDID_END, and a restart
// that re-pushes pendingRows() into a fresh assembler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallAssembler, assembleAll, type AssemblerOptions } from '../../core/cel/assembler/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { RECORDED, loadRows, testNumbers } from './assembler-kit.js';

const rows = loadRows(RECORDED);
const options = (warnings: string[] = []): AssemblerOptions => ({ calls: {}, numbers: testNumbers, onWarning: (w) => warnings.push(w.code) });
const reference = assembleAll(rows, options());
const summary = (calls: { linkedid: string; callFull: unknown }[]): string =>
  JSON.stringify(calls.map((c) => [c.linkedid, c.callFull]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));

test('every row pushed twice: duplicates are counted and the calls are unchanged', () => {
  const warnings: string[] = [];
  const a = new CallAssembler(options(warnings));
  for (const r of rows) {
    a.push(r);
    a.push({ ...r });
  }
  // A duplicate of the row that finished a call arrives after the call is gone: a late row.
  assert.equal(a.stats.duplicates + a.stats.late, rows.length);
  assert.equal(a.stats.rows, rows.length * 2);
  assert.equal(summary(a.drainFinished()), summary(reference.calls));
  assert.ok(warnings.includes('duplicate_row'));
});

test('neighbouring rows swapped: counted as out of order, same calls', () => {
  const swapped = [...rows];
  // Swap rows inside the ringing phase of several calls (CHAN_START pairs), as a MySQL id race would.
  for (const i of [1, 25, 40, 90, 150, 190, 219]) [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
  const a = new CallAssembler(options());
  for (const r of swapped) a.push(r);
  assert.equal(a.stats.outOfOrder, 7);
  const calls = a.drainFinished();
  assert.equal(calls.length, 11);
  for (const c of calls) {
    const ref = reference.calls.find((x) => x.linkedid === c.linkedid)!;
    assert.equal(c.callFull.channel.was_answered, ref.callFull.channel.was_answered, c.linkedid);
    assert.equal(c.callFull.result, ref.callFull.result, c.linkedid);
    assert.deepEqual(Object.keys(c.callFull.conversations).sort(), Object.keys(ref.callFull.conversations).sort(), c.linkedid);
  }
});

test('broken extra JSON and rows missing fields are counted, named in warnings, and not fatal', () => {
  const warnings: string[] = [];
  const bad: CelRow[] = rows.map((r) => (r.id === 17 ? { ...r, extra: '{"hangupcause":16,"hangupsou' } : r));
  bad.splice(5, 0, { ...rows[5]!, id: 5.5, uniqueid: '' });
  bad.splice(9, 0, { ...rows[9]!, id: 9.5, eventtype: '', linkedid: '' });
  const a = new CallAssembler(options(warnings));
  for (const r of bad) a.push(r);
  assert.equal(a.stats.badExtra, 1);
  assert.equal(a.stats.missingFields, 2);
  assert.ok(warnings.includes('bad_extra') && warnings.includes('missing_field'));
  const calls = a.drainFinished();
  assert.equal(calls.length, 11);
  // Row 17 was the caller's HANGUP (dialstatus ANSWER): without it the result falls back to "answered → 200".
  const first = calls.find((c) => c.linkedid === '1795500122.54')!;
  assert.equal(first.callFull.result, 200);
  assert.equal(first.callFull.channel.was_answered, true);
});

test('noise (DTMF, STREAM_*, LOCAL_OPTIMIZE, user events) is counted as ignored', () => {
  const a = new CallAssembler(options());
  for (const r of rows) a.push(r);
  const noise = rows.filter((r) => ['DTMF', 'STREAM_BEGIN', 'STREAM_END', 'LOCAL_OPTIMIZE', 'LOCAL_OPTIMIZE_BEGIN', 'CRM_TAG'].includes(r.eventtype)).length;
  assert.ok(noise > 5);
  assert.equal(a.stats.ignored, noise);
});

test('restart mid-stream: pendingRows() re-pushed into a fresh assembler gives identical calls', () => {
  for (const cut of [10, 60, 120, 168, 175, 270, 285]) {
    const first = new CallAssembler(options());
    for (const r of rows.slice(0, cut)) first.push(r);
    const done = first.drainFinished();
    const pending = first.pendingRows();
    assert.ok(pending.every((r, i) => i === 0 || pending[i - 1]!.id < r.id), 'pending rows in id order');
    const second = new CallAssembler(options());
    for (const r of pending) second.push(r);
    second.drainStages();
    for (const r of rows.slice(cut)) second.push(r);
    assert.equal(summary([...done, ...second.drainFinished()]), summary(reference.calls), `cut at row ${cut}`);
  }
});

test('a call without LINKEDID_END is finished by the safety timeout, measured on eventtime', () => {
  const truncated = rows.filter((r) => r.id <= 20); // first call, without its LINKEDID_END (row 21)
  const warnings: string[] = [];
  const a = new CallAssembler({ ...options(warnings), calls: { safety_timeout_seconds: 60, pbx_time_zone: 'UTC' } });
  for (const r of truncated) a.push(r);
  const last = Date.parse('2026-11-24T06:02:07Z');
  a.expire(last + 30_000);
  assert.equal(a.stats.callsInProgress, 1, 'not idle long enough yet');
  a.expire(last + 61_000);
  const [call] = a.drainFinished();
  assert.equal(call?.complete, 'timeout');
  assert.equal(call?.callFull.channel.state, 'ended');
  assert.equal(call?.callFull.channel.was_answered, true);
  assert.equal(call?.callFull.channel.end_time, '2026-11-24 06:02:07');
  assert.ok(warnings.includes('timeout'));
  assert.deepEqual(a.drainStages().map((s) => s.stage).slice(-1), ['call_ended']);
});

test('pbx_time_zone shifts the timeout clock', () => {
  const a = new CallAssembler({ ...options(), calls: { safety_timeout_seconds: 60, pbx_time_zone: 'Europe/Moscow' } });
  for (const r of rows.filter((r) => r.id <= 20)) a.push(r);
  // 06:02:07 in Moscow (UTC+3) is 03:02:07 UTC; an hour after that in UTC is long past the timeout.
  a.expire(Date.parse('2026-11-24T04:02:07Z'));
  assert.equal(a.stats.callsInProgress, 0);
});

test('invalid settings are reported with the key', () => {
  assert.throws(() => new CallAssembler({ ...options(), calls: { trunk_channel_patterns: ['(unclosed'] } }), /calls\.trunk_channel_patterns\[0\]/);
  assert.throws(() => new CallAssembler({ ...options(), calls: { pbx_time_zone: 'Mars/Olympus' } }), /calls\.pbx_time_zone/);
});
