// Call assembly throughput: CEL rows/s through CallAssembler over a large generated mix of every
// recorded and hand-converted scenario (11 real Asterisk 22 calls + 8 public sequences), with many
// calls interleaved as on a busy PBX. Baseline in the same run: only parsing the same JSON lines into
// CelRow (what any source must do anyway). Target: assembly ≥ 200,000 rows/s on one core.
// Then memory: heap held by 10,000 calls in progress (each cut before its end), against the heap of
// the same raw rows alone.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CallAssembler, type AssemblerOptions, type CallsSettings } from '../core/cel/assembler/index.js';
import type { CelRow } from '../core/cel/row.js';
import { parseCelJsonLine } from '../core/cel/sources/index.js';
import { instantiate } from '../test/fixtures/cel-sources/copies.js';

const ROWS_TARGET = Number(process.env.CEL_ASSEMBLY_ROWS ?? 400_000);
const CONCURRENT = 200; // calls interleaved at any moment
const fixtures = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'cel');

const numbers: AssemblerOptions['numbers'] = {
  build: (raw) => ({ base: raw, custom: '', is_local: raw.length <= 4, original: raw, variants: [raw] }),
  isInternal: (raw) => /^\d{2,4}$/.test(raw),
};
const calls: Partial<CallsSettings> = { trunk_channel_patterns: ['^Local/[^@;]+@pstn(-in)?-', '^PJSIP/provider-'] };

/** Template calls: the recorded file's rows grouped by its `scenario` column; one call per public file. */
function templates(): CelRow[][] {
  const files = [path.join(fixtures, 'cel-asterisk22-local.jsonl'),
    ...readdirSync(path.join(fixtures, 'public')).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(fixtures, 'public', f))];
  const byScenario = new Map<string, CelRow[]>();
  for (const file of files) {
    readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').forEach((line, i) => {
      const scenario = (JSON.parse(line) as { scenario?: string }).scenario ?? file;
      const list = byScenario.get(scenario) ?? [];
      list.push(parseCelJsonLine(line, i + 1));
      byScenario.set(scenario, list);
    });
  }
  return [...byScenario.values()];
}

/** The mix as JSON lines, calls interleaved CONCURRENT at a time, ids in write order. */
function generate(): { lines: string[]; calls: number } {
  const tpl = templates();
  const lines: string[] = [];
  const active: { rows: CelRow[]; next: number }[] = [];
  let k = 0;
  let id = 0;
  let callCount = 0;
  while (lines.length < ROWS_TARGET || active.length > 0) {
    while (active.length < CONCURRENT && lines.length < ROWS_TARGET) {
      active.push({ rows: instantiate(tpl[k % tpl.length]!, Math.floor(k / tpl.length) + 1), next: 0 });
      k++;
      callCount++;
    }
    const pick = (id * 7919) % active.length; // deterministic pseudo-random interleaving
    const call = active[pick]!;
    const row = call.rows[call.next++]!;
    lines.push(JSON.stringify({ ...row, id: ++id }));
    if (call.next === call.rows.length) active.splice(pick, 1);
  }
  return { lines, calls: callCount };
}

function parseAll(lines: string[]): CelRow[] {
  const rows = new Array<CelRow>(lines.length);
  for (let i = 0; i < lines.length; i++) rows[i] = parseCelJsonLine(lines[i]!, i + 1);
  return rows;
}

function assemble(rows: CelRow[]): { finished: number; stages: number; warnings: number } {
  let warnings = 0;
  const a = new CallAssembler({ calls, numbers, onWarning: (w) => { warnings++; if (process.env.CEL_BENCH_DEBUG && warnings < 8) console.log(w); } });
  let finished = 0;
  let stages = 0;
  for (let i = 0; i < rows.length; i++) {
    a.push(rows[i]!);
    if ((i & 1023) === 0) {
      finished += a.drainFinished().length;
      stages += a.drainStages().length;
    }
  }
  a.flush();
  finished += a.drainFinished().length;
  stages += a.drainStages().length;
  return { finished, stages, warnings };
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => {});
let { lines, calls: callCount } = generate();
const rowCount = lines.length;
console.log(`mix: ${fmt(rowCount)} CEL rows, ${fmt(callCount)} calls (${CONCURRENT} interleaved), from 19 scenario templates`);

let rows: CelRow[] = [];
const parseMs = best(3, () => { rows = parseAll(lines); });
lines = []; // the text is not needed any more: do not let its heap slow the assembly runs' GC
gc();
let result = { finished: 0, stages: 0, warnings: 0 };
const t0 = performance.now();
result = assemble(rows);
const coldMs = performance.now() - t0;
const assembleMs = best(4, () => { result = assemble(rows); });
const bothMs = parseMs + assembleMs;
console.log(`calls finished: ${fmt(result.finished)}, stage events: ${fmt(result.stages)}, warnings: ${result.warnings}`);
console.log(`baseline  parse only (JSON line → CelRow): ${fmt(rowCount / (parseMs / 1000))} rows/s (${parseMs.toFixed(0)} ms)`);
console.log(`assembly  CallAssembler.push on parsed rows: ${fmt(rowCount / (assembleMs / 1000))} rows/s (${assembleMs.toFixed(0)} ms, best of 4 after a cold run at ${fmt(rowCount / (coldMs / 1000))} rows/s)  target ≥ 200,000 rows/s`);
console.log(`parse + assembly: ${fmt(rowCount / (bothMs / 1000))} rows/s; assembly takes ${(assembleMs / parseMs).toFixed(2)}× the time of the parse baseline`);
rows = [];

// Memory: 10,000 calls in progress.
if ((globalThis as { gc?: () => void }).gc === undefined) {
  console.log('memory: skipped (run through `npm run bench`, which passes --expose-gc)');
} else {
  const tpl = templates();
  const inProgress: CelRow[] = [];
  let id = 0;
  for (let k = 0; k < 10_000; k++) {
    const rowsOfCall = instantiate(tpl[k % tpl.length]!, Math.floor(k / tpl.length) + 1);
    // Keep the first 60% of each call: it has started ringing/talking but not ended.
    for (const r of rowsOfCall.slice(0, Math.max(1, Math.floor(rowsOfCall.length * 0.6)))) inProgress.push({ ...r, id: ++id });
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const a = new CallAssembler({ calls, numbers });
  for (const r of inProgress) a.push(r);
  a.drainStages();
  a.drainFinished();
  gc();
  const after = process.memoryUsage().heapUsed;
  const held = after - before;
  // Baseline: the raw rows themselves (which pendingRows() must keep anyway), measured as the heap of a copy.
  gc();
  const b0 = process.memoryUsage().heapUsed;
  const copy = inProgress.map((r) => ({ ...r, eventtype: `${r.eventtype}` }));
  gc();
  const rowsHeap = process.memoryUsage().heapUsed - b0;
  if (copy.length !== inProgress.length || a.stats.rows !== inProgress.length) throw new Error('memory baseline lost rows');
  console.log(`memory: ${fmt(a.stats.callsInProgress)} calls in progress (${fmt(inProgress.length)} rows) hold ${(held / 1048576).toFixed(1)} MiB ` +
    `= ${fmt(held / a.stats.callsInProgress)} bytes/call; the raw rows alone: ${(rowsHeap / 1048576).toFixed(1)} MiB; ratio ${(held / rowsHeap).toFixed(2)}×`);

}
