// `callhook replay --out` and `callhook run` on a 500,000-row CEL file (issue 16 item 9): rows/s and peak
// memory of the real commands (child processes: bin/callhook.js, measured with /usr/bin/time), against
// baselines measured in the same run: the assembler alone (CallAssembler.push on rows already in memory)
// and the file path's own floor (readCelFile parse + CallAssembler, in one process, nothing else).
// Target: both commands stream in bounded memory at ≥ 0.5× the assembler's own rate.
// The file: the 11 recorded calls copied with unique ids, 200 calls interleaved at any moment
// (CEL_REPLAY_ROWS, default 500,000); then the same file with 10 % garbage rows (an unknown eventtype and a
// linkedid of their own each), which used to make every garbage row an open call. `run` uses an empty hooks
// folder: what is measured is the connector's path, not the hooks (bench/hooks measures those).
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CallAssembler } from '../core/cel/assembler/index.js';
import type { CelRow } from '../core/cel/row.js';
import { readCelFile } from '../core/cel/sources/index.js';
import { instantiate } from '../test/fixtures/cel-sources/copies.js';
import { loadRows, RECORDED } from '../test/cel/assembler-kit.js';
import { createNumberModel, DEFAULT_NUMBER_SETTINGS } from '../core/numbers/index.js';

const ROWS = Number(process.env.CEL_REPLAY_ROWS ?? 500_000);
const CONCURRENT = 200;
const root = path.join(import.meta.dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'cel-replay-bench-'));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The recorded calls, one template each (grouped by linkedid of their first row). */
function templates(): CelRow[][] {
  const byCall = new Map<string, CelRow[]>();
  const callOf = new Map<string, string>();
  for (const r of loadRows(RECORDED)) {
    const call = callOf.get(r.linkedid) ?? callOf.get(r.uniqueid) ?? r.linkedid;
    callOf.set(r.linkedid, call);
    callOf.set(r.uniqueid, call);
    const list = byCall.get(call) ?? [];
    list.push(r);
    byCall.set(call, list);
  }
  return [...byCall.values()];
}

async function writeMix(file: string, garbageEvery: number): Promise<number> {
  const tpl = templates();
  const out = createWriteStream(file);
  const active: { rows: CelRow[]; next: number }[] = [];
  let k = 0;
  let id = 0;
  const write = async (row: CelRow): Promise<void> => {
    if (!out.write(`${JSON.stringify({ ...row, id: ++id })}\n`)) await once(out, 'drain');
  };
  while (id < ROWS || active.length > 0) {
    while (active.length < CONCURRENT && id < ROWS) {
      active.push({ rows: instantiate(tpl[k % tpl.length]!, Math.floor(k / tpl.length) + 1), next: 0 });
      k++;
    }
    const pick = (id * 7919) % active.length;
    const call = active[pick]!;
    await write(call.rows[call.next++]!);
    if (call.next === call.rows.length) active.splice(pick, 1);
    if (garbageEvery > 0 && id % garbageEvery === 0) {
      const g = call.rows[0]!;
      await write({ ...g, eventtype: 'GARBAGE', userdeftype: '', uniqueid: `g${id}`, linkedid: `g${id}` });
    }
  }
  out.end();
  await once(out, 'finish');
  return id;
}

function time(args: string[]): { seconds: number; rssMb: number; stderr: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, path.join(root, 'bin/callhook.js'), ...args], {
    encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CALLHOOK_LOG_LEVEL: 'error' }, maxBuffer: 64 * 1024 * 1024,
  });
  const lines = r.stderr.trim().split('\n');
  const [seconds, kb] = (lines.pop() ?? '0 0').split(' ').map(Number) as [number, number];
  if (r.status !== 0) throw new Error(`callhook ${args.join(' ')} exited ${r.status}: ${lines.slice(-3).join('\n')}`);
  return { seconds, rssMb: kb / 1024, stderr: lines.join('\n') };
}

async function floors(file: string): Promise<{ rows: number; parseAssembleS: number; aloneS: number; calls: number }> {
  const numbers = createNumberModel({ ...DEFAULT_NUMBER_SETTINGS, prefixes: [...DEFAULT_NUMBER_SETTINGS.prefixes] });
  // The file path's floor: parse + assemble, streamed, nothing else.
  let t0 = performance.now();
  let a = new CallAssembler({ calls: {}, numbers });
  let rows = 0;
  for await (const row of readCelFile(file)) {
    a.push(row);
    if ((++rows & 1023) === 0) {
      a.drainStages();
      a.drainFinished();
    }
  }
  a.flush();
  const calls = a.stats.callsFinished;
  const parseAssembleS = (performance.now() - t0) / 1000;
  // The assembler alone: the same rows already in memory.
  const parsed: CelRow[] = [];
  for await (const row of readCelFile(file)) parsed.push(row);
  (globalThis as { gc?: () => void }).gc?.();
  let best = Infinity;
  for (let round = 0; round < 2; round++) {
    a = new CallAssembler({ calls: {}, numbers });
    t0 = performance.now();
    for (let i = 0; i < parsed.length; i++) {
      a.push(parsed[i]!);
      if ((i & 1023) === 0) {
        a.drainStages();
        a.drainFinished();
      }
    }
    a.flush();
    a.drainStages();
    a.drainFinished();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  numbers.close();
  return { rows, parseAssembleS, aloneS: best, calls };
}

try {
  const hooks = path.join(dir, 'no-hooks');
  mkdirSync(hooks);
  for (const [name, garbage] of [['clean', 0], ['10 % garbage', 10]] as const) {
    const file = path.join(dir, `cel-${garbage}.jsonl`);
    const rows = await writeMix(file, garbage);
    const settings = path.join(dir, `settings-${garbage}.json`);
    writeFileSync(settings, JSON.stringify({ cel: { source: 'replay', replay: { path: file, batch_size: 500 } }, hooks: { folder: hooks } }));
    const f = await floors(file);
    const replay = time(['replay', file, '--out', '/dev/null']);
    const run = time(['run', '--json', '--settings', settings]);
    const alone = rows / f.aloneS;
    const floor = rows / f.parseAssembleS;
    console.log(`${name}: ${fmt(rows)} rows, ${fmt(f.calls)} calls`);
    console.log(`  baseline  assembler alone (rows in memory):        ${fmt(alone)} rows/s`);
    console.log(`  baseline  parse + assembler (readCelFile, 1 process): ${fmt(floor)} rows/s = ${(floor / alone).toFixed(2)}× the assembler alone`);
    console.log(`  callhook replay --out /dev/null: ${fmt(rows / replay.seconds)} rows/s (${replay.seconds.toFixed(1)} s, max RSS ${replay.rssMb.toFixed(0)} MB) = ${(rows / replay.seconds / alone).toFixed(2)}× the assembler alone, ${(rows / replay.seconds / floor).toFixed(2)}× parse + assembler (target ≥ 0.5× the assembler)`);
    console.log(`  callhook run --json (no hooks):  ${fmt(rows / run.seconds)} rows/s (${run.seconds.toFixed(1)} s, max RSS ${run.rssMb.toFixed(0)} MB) = ${(rows / run.seconds / alone).toFixed(2)}× the assembler alone, ${(rows / run.seconds / floor).toFixed(2)}× parse + assembler`);
    rmSync(file);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
