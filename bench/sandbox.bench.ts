// Sandbox benchmark. Per-call overhead of a hook given a realistic ~5 KB call_full, against the raw
// isolated-vm floor measured in the same run: the same function in a bare isolate with the same copy mode
// (JSON string in, JSON string out, one applySync with a timeout). Then isolate creation (load) time,
// calls/s on one core, resident memory per loaded hook with 200 hooks loaded, and the 'process' isolation
// round trip for reference. Targets: overhead ≤ 1.3× the floor, p99 ≤ 3× p50, ≤ 3 MB RSS per loaded hook.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ivm from 'isolated-vm';
import { pino } from 'pino';
import { compileSource, loadOptions } from '../test/sandbox/kit.js';
import { createSandboxHost, loadHook, type JsonValue, type LoadedHook } from '../sandbox/index.js';

const logger = pino({ level: 'silent' });
// Same timeout on both paths; generous so a descheduled process on the shared machine does not abort the run.
const BUDGET_MS = 1000;
const benchLimits = { cpuMsPerCall: BUDGET_MS, wallMsPerCall: 5000 };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** A ~5 KB call_full: the sample incoming call with its conversation repeated as in a call that went round a queue. */
function callFull(): JsonValue {
  const base = JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'test', 'fixtures', 'hooks', 'call-incoming.json'), 'utf8')) as Record<string, JsonValue>;
  const convs = base.conversations as Record<string, JsonValue>;
  const first = Object.values(convs)[0];
  for (let i = 0; JSON.stringify(base).length < 5000; i++) convs[`1732437000.${20 + i}`] = JSON.parse(JSON.stringify(first)) as JsonValue;
  return base;
}

// The customer function, identical in both measurements: a need_registration-style decision.
const HOOK_FN = `(call) => {
  const from = call.channel.from;
  const internal = from.is_local || /^\\d{2,4}$/.test(from.base);
  let talked = 0;
  for (const c of Object.values(call.conversations)) if (c && c.answer_time) talked++;
  return { register: !internal && call.result !== 2, talked, number: from.variants[0] };
}`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Stats { p50: number; p99: number; mean: number; callsPerSec: number }

async function measure(n: number, once: () => unknown): Promise<Stats> {
  for (let i = 0; i < Math.min(2000, n); i++) await once(); // warm-up (JIT on both sides)
  const times: number[] = new Array<number>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await once();
    times[i] = performance.now() - s;
  }
  const total = performance.now() - t0;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50) * 1000, p99: percentile(times, 99) * 1000, mean: (total / n) * 1000, callsPerSec: n / (total / 1000) };
}

const us = (v: number): string => `${v.toFixed(1)} µs`;

async function main(): Promise<void> {
  const input = callFull();
  const inputBytes = JSON.stringify(input).length;
  const N = Number(process.env.SANDBOX_BENCH_CALLS ?? 20_000);
  console.log(`input: call_full of ${inputBytes} bytes; ${N} calls per measurement; node ${process.version}, isolated-vm 5`);

  // --- raw floor: bare isolate, same function, same copy mode (JSON in, JSON out), applySync + timeout ---
  const iso = new ivm.Isolate({ memoryLimit: 32 });
  const ctx = iso.createContextSync();
  const raw = ctx.evalSync(`(() => { const f = ${HOOK_FN}; return (s) => JSON.stringify(f(JSON.parse(s))); })()`, { reference: true }) as ivm.Reference<(s: string) => string>;
  const rawCall = (): unknown => JSON.parse(raw.applySync(undefined, [JSON.stringify(input)], { timeout: BUDGET_MS, result: { copy: true } }) as string);

  // --- the sandbox: compiled TypeScript hook, full per-call path (breaker, envelope, logs, result checks) ---
  const hook = await loadHook(await compileSource(`import { defineHook } from 'callhook';\nexport default defineHook('need_registration', ${HOOK_FN});`), { ...loadOptions({ logger, limits: benchLimits }), logger });
  const ctxInvoke = { hook: 'need_registration', callId: 'bench' };
  const sandboxCall = async (): Promise<unknown> => {
    const o = await hook.invoke(input, ctxInvoke);
    if (!o.ok) throw o.error;
    return o.value;
  };
  const check = await sandboxCall();
  if (JSON.stringify(check) !== JSON.stringify(rawCall())) throw new Error('the two paths disagree');

  // Interleave rounds so drift (other processes on the 2 shared cores) hits both alike; keep the best round.
  let floor: Stats | null = null;
  let ours: Stats | null = null;
  for (let round = 0; round < 3; round++) {
    const f = await measure(Math.floor(N / 3), rawCall);
    const o = await measure(Math.floor(N / 3), sandboxCall);
    if (!floor || f.p50 < floor.p50) floor = f;
    if (!ours || o.p50 < ours.p50) ours = o;
  }
  if (!floor || !ours) return;
  console.log('\nper call (5 KB call_full in, small decision out)');
  console.log(`  raw isolated-vm floor : p50 ${us(floor.p50)}  p99 ${us(floor.p99)}  mean ${us(floor.mean)}  ${Math.round(floor.callsPerSec)} calls/s`);
  console.log(`  sandbox invoke()      : p50 ${us(ours.p50)}  p99 ${us(ours.p99)}  mean ${us(ours.mean)}  ${Math.round(ours.callsPerSec)} calls/s (one core)`);
  const ratio = ours.p50 / floor.p50;
  const tail = ours.p99 / ours.p50;
  console.log(`  ratio sandbox/floor (p50): ${ratio.toFixed(2)}×  (target ≤ 1.3×) ${ratio <= 1.3 ? 'OK' : 'MISSED'}`);
  console.log(`  ratio sandbox/floor (mean): ${(ours.mean / floor.mean).toFixed(2)}×`);
  console.log(`  sandbox p99/p50: ${tail.toFixed(2)}×  (target ≤ 3×) ${tail <= 3 ? 'OK' : 'MISSED'}; the floor's own p99/p50 in this run: ${(floor.p99 / floor.p50).toFixed(2)}× (machine noise + GC)`);
  raw.release();
  iso.dispose();

  // --- isolate creation: load = new isolate + context + runtime + the hook's top level ---
  const compiled = await compileSource(`import { defineHook, log } from 'callhook';\nexport default defineHook('need_registration', ${HOOK_FN});`);
  const loadTimes: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const h = await loadHook(compiled, { ...loadOptions({ logger, limits: benchLimits }), logger });
    loadTimes.push(performance.now() - t);
    await h.dispose();
  }
  loadTimes.sort((a, b) => a - b);
  const bareTimes: number[] = [];
  for (let i = 0; i < 60; i++) {
    const t = performance.now();
    const b = new ivm.Isolate({ memoryLimit: 32 });
    b.createContextSync();
    bareTimes.push(performance.now() - t);
    b.dispose();
  }
  bareTimes.sort((a, b) => a - b);
  console.log('\nisolate creation');
  console.log(`  loadHook (isolate + context + runtime + hook top level): p50 ${percentile(loadTimes, 50).toFixed(2)} ms  p99 ${percentile(loadTimes, 99).toFixed(2)} ms`);
  console.log(`  bare new Isolate + createContext (baseline): p50 ${percentile(bareTimes, 50).toFixed(2)} ms  → ratio ${(percentile(loadTimes, 50) / percentile(bareTimes, 50)).toFixed(2)}×`);

  // --- resident memory per loaded hook, 200 hooks loaded (and called once each) ---
  gc();
  await new Promise((r) => setTimeout(r, 200));
  const rss0 = process.memoryUsage().rss;
  const hooks: LoadedHook[] = [];
  for (let i = 0; i < 200; i++) {
    const h = await loadHook(compiled, { ...loadOptions({ logger, limits: benchLimits }), logger });
    await h.invoke(input, ctxInvoke);
    hooks.push(h);
  }
  gc();
  await new Promise((r) => setTimeout(r, 200));
  const perHook = (process.memoryUsage().rss - rss0) / 200 / (1024 * 1024);
  console.log('\nmemory');
  console.log(`  RSS per loaded hook (200 loaded): ${perHook.toFixed(2)} MB  (target ≤ 3 MB) ${perHook <= 3 ? 'OK' : 'MISSED'}`);
  await Promise.all(hooks.map((h) => h.dispose()));
  await hook.dispose();

  // --- 'process' isolation: the same call across the IPC boundary (for reference) ---
  const host = createSandboxHost({ isolation: 'process', logger });
  const ph = await host.load(compiled, { ...loadOptions({ logger, limits: benchLimits }), logger });
  const pStats = await measure(3000, async () => { const o = await ph.invoke(input, ctxInvoke); if (!o.ok) throw o.error; });
  console.log('\nprocess isolation (child process + IPC, same hook)');
  console.log(`  p50 ${us(pStats.p50)}  p99 ${us(pStats.p99)}  ${Math.round(pStats.callsPerSec)} calls/s  → ratio to the inline floor ${(pStats.p50 / floor.p50).toFixed(2)}×`);
  await host.close();
}

await main();
