// Memory of one huge call: a queue call whose n legs all ring at once and are never answered (issue 16
// item 8: every stage event carries the whole call, so ~2n events of up to n conversations). Each size runs
// in its own process through runIngest (batches of 1000 rows → CallAssembler → every stage delivered to a
// consumer that reads it), and prints the peak heap per leg against the heap of the call's raw rows alone
// (baseline, same process; the rows are also written to a file the replay source reads). Target: memory linear in rows, a 10,000-leg call in < 500 MB. Then, for the
// smallest size, the old way (stage events held until the call ends) as a second baseline.
// Sizes: CEL_HUGE_LEGS (default 1000,2000,5000,10000). Time grows with n² (the output does: n events of n
// conversations). The children run with --max-semi-space-size=64 (CEL_HUGE_SEMI): each snapshot of such a
// call is megabytes, and with V8's default young generation they are promoted and collected as old objects,
// which made a 2,000-leg call ~6× slower (36 s instead of 6 s here); the second size is also run with the
// default, as a baseline of that.
import { spawnSync } from 'node:child_process';
import { getHeapStatistics } from 'node:v8';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CallAssembler } from '../core/cel/assembler/index.js';
import { runIngest } from '../core/cel/ingest.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMemoryStateStore, createReplaySource } from '../core/cel/sources/index.js';
import type { CelRow } from '../core/cel/row.js';
import { queueCall } from '../test/fixtures/cel-sources/huge-call.js';
import { testNumbers } from '../test/fixtures/cel-sources/numbers.js';

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
const MB = 1024 * 1024;
const calls = { trunk_channel_patterns: ['^PJSIP/provider-'] };

interface Measured { legs: number; rows: number; stages: number; seconds: number; rowsMb: number; peakMb: number; rssMb: number }

async function measure(legs: number, holdUntilEnd: boolean): Promise<Measured> {
  gc();
  const before = getHeapStatistics().used_heap_size;
  const rows = queueCall(legs, { atOnce: true });
  gc();
  const rowsHeap = getHeapStatistics().used_heap_size - before;
  let peak = 0;
  let stages = 0;
  let seen = 0;
  const sample = (): void => {
    const used = getHeapStatistics().used_heap_size - before;
    if (used > peak) peak = used;
  };
  const t0 = performance.now();
  if (holdUntilEnd) {
    // What `callhook replay` did before: drain the stage events only when the call finishes.
    const a = new CallAssembler({ calls, numbers: testNumbers });
    for (let i = 0; i < rows.length; i++) {
      a.push(rows[i] as CelRow);
      if ((i & 255) === 0) sample();
    }
    sample();
    for (const s of a.drainStages()) {
      stages++;
      if (s.callFull.active_conversation_id !== '') seen++;
    }
  } else {
    // The call as a JSON Lines file read by the replay source (which, like the MariaDB one, can re-read rows,
    // so the resume state refers to the open call instead of holding its rows).
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cel-huge-')), 'call.jsonl');
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const source = createReplaySource({ path: file, batchSize: 1000 });
    await runIngest({
      source, assembler: new CallAssembler({ calls, numbers: testNumbers }), store: createMemoryStateStore(), flushAtEnd: true,
      onStage: (events) => {
        sample();
        for (const s of events) {
          stages++;
          // Reading one field of the snapshot is enough to keep the consumer honest (the snapshot is not optimised away).
          if (s.callFull.active_conversation_id !== '') seen++;
        }
      },
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  if (seen < 0) throw new Error('unreachable');
  return { legs, rows: rows.length, stages, seconds, rowsMb: rowsHeap / MB, peakMb: peak / MB, rssMb: process.resourceUsage().maxRSS / 1024 };
}

const child = process.argv[2];
if (child !== undefined) {
  const [legs, mode] = child.split(':');
  process.stdout.write(JSON.stringify(await measure(Number(legs), mode === 'hold')));
} else {
  const require = createRequire(import.meta.url);
  const self = fileURLToPath(import.meta.url);
  const semi = process.env.CEL_HUGE_SEMI ?? '64';
  const run = (arg: string, flags = [`--max-semi-space-size=${semi}`]): Measured | string => {
    const r = spawnSync(process.execPath, ['--no-node-snapshot', '--expose-gc', '--max-old-space-size=3072', ...flags, '--import', require.resolve('tsx'), self, arg], { encoding: 'utf8' });
    if (r.status !== 0) return `failed (${r.status ?? r.signal}): ${(r.stderr || '').split('\n').find((l) => /Error|heap/i.test(l)) ?? ''}`;
    return JSON.parse(r.stdout) as Measured;
  };
  const sizes = (process.env.CEL_HUGE_LEGS ?? '1000,2000,5000,10000').split(',').map(Number);
  console.log(`one queue call, all legs ringing at once, never answered; stage events streamed by runIngest to a consumer (node --max-semi-space-size=${semi})`);
  for (const legs of sizes) {
    const m = run(String(legs));
    if (typeof m === 'string') {
      console.log(`${legs} legs: ${m}`);
      continue;
    }
    const rendered = (legs * legs * 1.5) / 1e6; // n requested events of 1..n conversations, then n ended events of n
    console.log(`${String(legs).padStart(6)} legs, ${m.rows} rows: ${m.stages} stage events (~${rendered.toFixed(1)} M conversations rendered) in ${m.seconds.toFixed(1)} s; ` +
      `peak heap (garbage included) ${m.peakMb.toFixed(0)} MB = ${Math.round((m.peakMb * MB) / legs).toLocaleString('en-US')} bytes/leg (baseline: the raw rows ${m.rowsMb.toFixed(1)} MB = ${Math.round((m.rowsMb * MB) / legs)} bytes/leg; ratio ${(m.peakMb / m.rowsMb).toFixed(1)}×); max RSS ${m.rssMb.toFixed(0)} MB (target < 500 MB at 10,000 legs)`);
  }
  const plain = run(String(sizes[1] ?? sizes[0]), []);
  if (typeof plain !== 'string') console.log(`baseline, V8's default young generation: ${plain.legs} legs in ${plain.seconds.toFixed(1)} s, peak heap ${plain.peakMb.toFixed(0)} MB, max RSS ${plain.rssMb.toFixed(0)} MB`);
  const old = run(`${sizes[0]}:hold`);
  if (typeof old === 'string') console.log(`held until the call ends (before): ${old}`);
  else console.log(`baseline, events held until the call ends (before): ${old.legs} legs peak heap ${old.peakMb.toFixed(0)} MB = ${Math.round((old.peakMb * MB) / old.legs).toLocaleString('en-US')} bytes/leg, max RSS ${old.rssMb.toFixed(0)} MB`);
}
