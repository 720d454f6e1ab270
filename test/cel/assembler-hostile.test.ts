// The assembler never invents or merges calls from bad rows (issue 16 items 4–7): rows after a call's end,
// blank ids, unknown event types, calls of user-defined rows only, time going backwards, a lost HANGUP;
// and a flood of bad rows is a few warning lines per batch, not one per row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assembleAll, CallAssembler, WARNINGS_PER_WINDOW, type AssemblerWarning } from '../../core/cel/assembler/index.js';
import type { CelRow } from '../../core/cel/row.js';
import { RECORDED, loadRows, testNumbers } from './assembler-kit.js';

const rows = loadRows(RECORDED);
const reference = assembleAll(rows, { calls: {}, numbers: testNumbers }).calls;
const BUSY = '1795500142.62';
const NOANSWER = '1795500129.58';

function run(input: readonly CelRow[]) {
  const warnings: AssemblerWarning[] = [];
  const a = new CallAssembler({ calls: {}, numbers: testNumbers, onWarning: (w) => warnings.push(w) });
  for (const r of input) a.push(r);
  a.flush();
  return { calls: a.drainFinished(), stages: a.drainStages(), warnings, stats: a.stats };
}

test('a table logged twice (every row again with a higher id) gives the 11 calls once, not 22; the copies are late rows', () => {
  const twice = [...rows, ...rows.map((r) => ({ ...r, id: r.id + 1000 }))];
  const { calls, stats, warnings } = run(twice);
  console.log(`calls delivered ${calls.length}, duplicated ${calls.length - new Set(calls.map((c) => c.linkedid)).size}, lost ${reference.filter((r) => !calls.some((c) => c.linkedid === r.linkedid)).length}`);
  assert.deepEqual(calls.map((c) => c.linkedid), reference.map((c) => c.linkedid));
  assert.deepEqual(calls.map((c) => c.callFull), reference.map((c) => c.callFull));
  assert.equal(stats.late, rows.length, 'every copied row is a late row of a finished call');
  assert.ok(warnings.some((w) => w.code === 'late_row' && w.rowId === 1001 && /belongs to call 1795500122\.54, already finished/.test(w.message)));
});

test('blank or whitespace linkedids/uniqueids are rejected with the row id, never merging unrelated calls', () => {
  // Two unrelated calls whose rows carry linkedid " " (and one uniqueid "\t"): they must not become one.
  const blanked = rows.map((r) => {
    if (r.linkedid === BUSY) return { ...r, linkedid: ' ' };
    if (r.linkedid === NOANSWER) return { ...r, linkedid: ' ', uniqueid: r.uniqueid === NOANSWER ? '\t' : r.uniqueid };
    return r;
  });
  const { calls, warnings, stats } = run(blanked);
  assert.deepEqual(calls.map((c) => c.linkedid), reference.map((c) => c.linkedid).filter((id) => id !== BUSY && id !== NOANSWER));
  assert.ok(calls.every((c) => c.linkedid.trim() !== ''), 'no call under a blank id');
  const blankedCount = blanked.filter((r) => r.linkedid === ' ').length;
  assert.equal(stats.missingFields, blankedCount);
  const first = blanked.find((r) => r.linkedid === ' ')!;
  assert.ok(warnings.some((w) => w.code === 'missing_field' && w.rowId === first.id && w.message.startsWith(`CEL row ${first.id} has no `) && w.message.includes('linkedid (blank: " ")')), JSON.stringify(warnings.slice(0, 3)));
});

test('unknown event types (lowercase, trailing space, garbage with its own linkedid) are counted and warned, and make no call', () => {
  const garbage: CelRow[] = [];
  const base = rows[0]!;
  const names = ['hangup', 'HANGUP ', 'CHAN_START\u0000', '¿¿¿', 'xyz'];
  for (let i = 0; i < 30; i++) {
    garbage.push({ ...base, id: 10_000 + i, eventtype: names[i % names.length]!, userdeftype: '', uniqueid: `9.${i}`, linkedid: `9.${i}` });
  }
  // 10 % garbage, each row with its own linkedid, spread through the file.
  const mixed = [...rows];
  garbage.forEach((g, i) => mixed.splice(i * 10, 0, g));
  const { calls, stats, warnings } = run(mixed);
  assert.deepEqual(calls.map((c) => c.linkedid), reference.map((c) => c.linkedid), 'the same 11 calls, not 41');
  assert.equal(stats.unknownEvents, garbage.length);
  assert.ok(warnings.some((w) => w.code === 'unknown_event' && w.rowId === 10_000 && /unknown eventtype "hangup"/.test(w.message)));
  // A user-defined row (eventtype = userdeftype, as cel_odbc writes them) is still a known event.
  assert.equal(calls.find((c) => c.linkedid === '1795500326.108')?.callFull.channel.extra['CRM_TAG'], reference.find((c) => c.linkedid === '1795500326.108')?.callFull.channel.extra['CRM_TAG']);
});

test('a "call" of user-defined rows only (no channel event) is dropped with a warning, not reported', () => {
  const base = rows[0]!;
  const tags: CelRow[] = [1, 2, 3].map((k) => ({ ...base, id: 5000 + k, eventtype: 'MY_TAG', userdeftype: 'MY_TAG', uniqueid: `7.${k}`, linkedid: '7.1', extra: '{"extra":"x"}' }));
  tags.push({ ...base, id: 5004, eventtype: 'LINKEDID_END', userdeftype: '', uniqueid: '7.1', linkedid: '7.1' });
  const { calls, stages, stats, warnings } = run([...rows, ...tags]);
  assert.deepEqual(calls.map((c) => c.linkedid), reference.map((c) => c.linkedid));
  assert.ok(!stages.some((s) => s.linkedid === '7.1'), 'no stage events for it either');
  assert.equal(stats.droppedCalls, 1);
  assert.ok(warnings.some((w) => w.code === 'no_channel_event' && /call 7\.1 .*not reported/.test(w.message)));
});

test('eventtime going backwards is warned with the row id and never makes end_time earlier than start_time', () => {
  const lid = '1795500122.54';
  const last = rows.filter((r) => r.linkedid === lid).at(-1)!;
  // The call's last rows (HANGUP/CHAN_END/LINKEDID_END of the caller) carry a time an hour before its start.
  const skewed = rows.map((r) => (r.linkedid === lid && r.id >= last.id - 3 ? { ...r, eventtime: '2026-11-24 05:00:00.000000' } : r));
  const { calls, warnings, stats } = run(skewed);
  const call = calls.find((c) => c.linkedid === lid)!;
  assert.ok(call.callFull.channel.end_time >= call.callFull.channel.start_time, `${call.callFull.channel.start_time} → ${call.callFull.channel.end_time}`);
  for (const conv of Object.values(call.callFull.conversations)) assert.ok(conv.channel.end_time >= conv.channel.start_time);
  assert.equal(stats.badTimes, 4);
  assert.ok(warnings.some((w) => w.code === 'bad_time' && w.rowId === last.id - 3 && /is before its call's last time/.test(w.message)));
  // A second of disorder is what MySQL's DATETIME rounding does: clamped, not warned.
  const rounded = rows.map((r) => (r.id === 10 ? { ...r, eventtime: '2026-11-24 06:02:03.500000' } : r)); // row 9 is at 06:02:04.14
  assert.equal(run(rounded).stats.badTimes, 0);
});

test('a lost HANGUP of the caller is warned, and a busy callee still gives 486, not 487', () => {
  const callerHangup = (lid: string) => rows.find((r) => r.linkedid === lid && r.uniqueid === lid && r.eventtype === 'HANGUP')!;
  const busyHangup = callerHangup(BUSY);
  const { calls, warnings } = run(rows.filter((r) => r !== busyHangup));
  assert.equal(calls.find((c) => c.linkedid === BUSY)?.callFull.result, 486, 'the callee hung up with cause 17 (busy)');
  assert.ok(warnings.some((w) => w.code === 'no_hangup' && /call 1795500142\.62 .*has no HANGUP row/.test(w.message) && typeof w.rowId === 'number'));
  // No answer: the callee legs say nothing (cause 0), so the result is a guess; the warning says so.
  const quiet = run(rows.filter((r) => r !== callerHangup(NOANSWER)));
  assert.ok(quiet.warnings.some((w) => w.code === 'no_hangup' && w.message.includes(NOANSWER)));
  // Calls whose caller did hang up get no such warning.
  assert.ok(!run(rows).warnings.some((w) => w.code === 'no_hangup'));
});

test('a flood of bad rows is a few lines per batch: the first warnings of each code, then one summary with the count', () => {
  const warnings: AssemblerWarning[] = [];
  const a = new CallAssembler({ calls: {}, numbers: testNumbers, onWarning: (w) => warnings.push(w) });
  const base = rows[0]!;
  for (let batch = 0; batch < 2; batch++) {
    for (let i = 0; i < 500; i++) a.push({ ...base, id: batch * 1000 + i + 1, eventtype: 'garbage', userdeftype: '', linkedid: `g${i}`, uniqueid: `g${i}` });
    a.drainFinished(); // the end of a batch
  }
  assert.equal(a.stats.unknownEvents, 1000);
  const single = warnings.filter((w) => w.count === undefined);
  const summaries = warnings.filter((w) => w.count !== undefined);
  assert.equal(single.length, 2 * WARNINGS_PER_WINDOW);
  assert.deepEqual(summaries.map((w) => [w.code, w.count, w.rowId]), [['unknown_event', 490, 11], ['unknown_event', 490, 1011]]);
  assert.match(summaries[0]!.message, /… and 490 more unknown_event warnings \(rows 11–500\)/);
});
