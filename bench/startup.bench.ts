// Start-up of the authoring commands and the demo (npm run bench -- startup), through the real
// bin/callhook.js as a user runs them, against `callhook version` measured in the same run (the floor:
// two node processes and the CLI's entry, nothing else). Runs alternate between the commands so machine
// load hits them alike; each figure is the median of its runs.
//
// Figures: `try` on an example hook (process isolation, the default), with a warm cache and right after
// the hook was edited (a new type check); `try --inline`; `check` on the example hooks; `run` (the demo)
// until its first call is printed and until it exits. Where the time goes inside `try` comes from its own
// timing line (hook ready; type check, compile and load side by side; call).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const BIN = path.join(ROOT, 'bin', 'callhook.js');
const ROUNDS = Number(process.env.CALLHOOK_BENCH_ROUNDS ?? 7);
const CALL = path.join(ROOT, 'test', 'fixtures', 'hooks', 'call-incoming.json');

interface Timed {
  totalMs: number;
  /** Time until the first line matching `until` (when asked). */
  firstMs: number | null;
  stderr: string;
}

function time(args: string[], until?: RegExp): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CALLHOOK_LOG_LEVEL: 'silent' } });
    let firstMs: number | null = null;
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (firstMs === null && until && until.test(out)) firstMs = performance.now() - t0;
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`callhook ${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve({ totalMs: performance.now() - t0, firstMs, stderr });
    });
  });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** The step times `try` prints: ready, type check, compile, load (the last three side by side), call. */
function trySteps(stderr: string): number[] | null {
  const m = /: ready in (\d+) ms \(type check (\d+) ms, compile ([\d.]+) ms, load ([\d.]+) ms, side by side\), call ([\d.]+) ms/.exec(stderr);
  return m ? m.slice(1).map(Number) : null;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'callhook-bench-startup-'));
// A copy of an example hook that each "edited" round changes, so its type check cannot come from a cache.
const edited = path.join(work, 'process_client_phone.ts');
copyFileSync(path.join(ROOT, 'examples', 'hooks', 'process_client_phone.ts'), edited);
const original = readFileSync(edited, 'utf8');

const CASES: Array<{ name: string; args: () => string[]; until?: RegExp; before?: (round: number) => void }> = [
  { name: 'callhook version (floor)', args: () => ['version'] },
  { name: 'try, process isolation, cache warm', args: () => ['try', 'examples/hooks/process_client_phone.ts', '--call', CALL] },
  { name: 'try, process isolation, hook just edited', args: () => ['try', edited, '--call', CALL], before: (round) => writeFileSync(edited, `${original}// edit ${round} ${Date.now()}\n`) },
  { name: 'try --inline, cache warm', args: () => ['try', 'examples/hooks/process_client_phone.ts', '--call', CALL, '--inline'] },
  { name: 'check examples/hooks (6 hooks)', args: () => ['check', 'examples/hooks'] },
  { name: 'run (demo): first call printed', args: () => ['run'], until: /\[\d+\.\d+\]\n/ },
];

try {
  // One untimed round: the transform and type-check caches are what a second start finds.
  for (const c of CASES) {
    c.before?.(-1);
    await time(c.args(), c.until);
  }
  const totals = new Map<string, number[]>();
  const firsts = new Map<string, number[]>();
  const steps = new Map<string, number[][]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of CASES) {
      c.before?.(round);
      const r = await time(c.args(), c.until);
      totals.set(c.name, [...(totals.get(c.name) ?? []), r.totalMs]);
      if (r.firstMs !== null) firsts.set(c.name, [...(firsts.get(c.name) ?? []), r.firstMs]);
      const s = trySteps(r.stderr);
      if (s) steps.set(c.name, [...(steps.get(c.name) ?? []), s]);
    }
  }
  const floor = median(totals.get(CASES[0]?.name ?? '') ?? []);
  process.stdout.write(`start-up, median of ${ROUNDS} runs each, load average ${os.loadavg()[0]?.toFixed(2)} (2 shared vCPUs)\n`);
  for (const c of CASES) {
    const total = median(totals.get(c.name) ?? []);
    const first = firsts.has(c.name) ? median(firsts.get(c.name) ?? []) : null;
    const stepRuns = steps.get(c.name);
    const stepText = stepRuns
      ? `  [hook ready ${median(stepRuns.map((s) => s[0] ?? 0)).toFixed(0)} (type check ${median(stepRuns.map((s) => s[1] ?? 0)).toFixed(0)}, compile ${median(stepRuns.map((s) => s[2] ?? 0)).toFixed(0)}, load ${median(stepRuns.map((s) => s[3] ?? 0)).toFixed(0)} side by side), call ${median(stepRuns.map((s) => s[4] ?? 0)).toFixed(1)} ms]`
      : '';
    const shown = first ?? total;
    process.stdout.write(`  ${c.name.padEnd(42)} ${shown.toFixed(0).padStart(6)} ms  ${(shown / floor).toFixed(2)}× version${first !== null ? `  (exit ${total.toFixed(0)} ms)` : ''}${stepText}\n`);
  }
  process.stdout.write('targets: try ≤ 1000 ms, demo (run) ≤ 3000 ms\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
