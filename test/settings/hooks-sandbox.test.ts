// One owner per setting: the hook host takes its isolate limits from the `sandbox` section (memory, CPU
// ceiling, http, circuit breaker, isolation) and its per-point wall-clock budgets from `hooks.budgets`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxHost, DEFAULT_SANDBOX_SETTINGS, type SandboxSettings } from '../../sandbox/index.js';
import { getHookPoint } from '../../hooks/catalogue.js';
import type { EngineLoadOptions, HookEngine } from '../../hooks/engine.js';
import { createHookHost } from '../../hooks/host.js';
import { DEFAULT_HOOKS_SETTINGS, hostOptionsFromSettings, type HooksSettings } from '../../hooks/settings.js';
import { phoneInput, removeDir, silent, tempDir, writeHook } from '../hooks/helpers.js';

const sandbox: SandboxSettings = {
  isolation: 'inline',
  memory_mb: 64,
  total_memory_mb: 256,
  cpu_ms_per_call: 20,
  http: { timeout_ms: 700, max_response_bytes: 4096, max_request_bytes: 2048, max_concurrent_requests: 2, max_requests_per_call: 9 },
  circuit_breaker: { failure_threshold: 2, cool_down_ms: 60_000 },
};

/** The real inline sandbox, with every load's options recorded. */
function recordingEngine(): { engine: HookEngine; loads: EngineLoadOptions[] } {
  const real = createSandboxHost({ isolation: 'inline', logger: silent });
  const loads: EngineLoadOptions[] = [];
  const engine: HookEngine = {
    compile: (s) => real.compile(s),
    load: (c, o) => {
      loads.push(o);
      return real.load(c, o as Parameters<typeof real.load>[1]);
    },
    close: () => real.close(),
  };
  return { engine, loads };
}

test('hostOptionsFromSettings maps hooks.* and sandbox.* (snake_case) to the host options', () => {
  const hooks: HooksSettings = {
    ...DEFAULT_HOOKS_SETTINGS,
    folder: '/srv/hooks', recordings_root: '/srv/rec', debounce_ms: 5, drain_deadline_ms: 7, allow_hosts: ['crm.example.com'],
    budgets: { need_registration: 300 }, packs: [{ path: '/srv/pack', enabled: false, settings: { k: 1 }, allow_hosts: ['crm.example.com:443'] }], watch: true,
  };
  const o = hostOptionsFromSettings(hooks, sandbox, { watch: false });
  assert.equal(o.folder, '/srv/hooks');
  assert.equal(o.recordingsRoot, '/srv/rec');
  assert.equal(o.debounceMs, 5);
  assert.equal(o.drainDeadlineMs, 7);
  assert.deepEqual(o.allowHosts, ['crm.example.com']);
  assert.deepEqual(o.budgets, { need_registration: 300 });
  assert.deepEqual(o.packs, [{ path: '/srv/pack', enabled: false, settings: { k: 1 }, allowHosts: ['crm.example.com:443'] }]);
  assert.equal(o.watch, false, 'the runtime may switch watching off');
  assert.equal(o.isolation, 'inline');
  assert.equal(o.memoryMb, 64);
  assert.equal(o.cpuMsPerCall, 20);
  assert.equal(o.httpTimeoutMs, 700);
  assert.equal(o.httpMaxResponseBytes, 4096);
  assert.equal(o.totalMemoryMb, 256);
  assert.equal(o.httpMaxRequestBytes, 2048);
  assert.equal(o.httpMaxConcurrentRequests, 2);
  assert.equal(o.httpMaxRequestsPerCall, 9);
  assert.deepEqual(o.breaker, { failureThreshold: 2, coolDownMs: 60_000 });

  const d = hostOptionsFromSettings(undefined, undefined);
  assert.equal(d.folder, null, 'no hooks.folder: no loose hook files');
  assert.equal(d.isolation, DEFAULT_SANDBOX_SETTINGS.isolation);
  assert.equal(d.memoryMb, DEFAULT_SANDBOX_SETTINGS.memory_mb);
  assert.equal(d.cpuMsPerCall, DEFAULT_SANDBOX_SETTINGS.cpu_ms_per_call);
  assert.equal(d.httpTimeoutMs, DEFAULT_SANDBOX_SETTINGS.http.timeout_ms);
});

test('the host loads every hook with the sandbox section\'s limits; the wall deadline is the point\'s budget, CPU the smaller of the two', async (t) => {
  const dir = await tempDir('owner');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'need_registration.ts', `export default function (): boolean { return true; }`);
  await writeHook(dir, 'process_client_phone.ts', `import { defineHook } from 'callhook';\nexport default defineHook('process_client_phone', ({ number }) => number.custom);`);
  const { engine, loads } = recordingEngine();
  const hooks: HooksSettings = { ...DEFAULT_HOOKS_SETTINGS, folder: dir, watch: false, typecheck: false, budgets: { need_registration: 10 } };
  const host = await createHookHost(hostOptionsFromSettings(hooks, sandbox, { logger: silent, engine }));
  t.after(() => host.close());
  assert.equal(loads.length, 2);
  const byWall = [...loads].sort((a, b) => a.limits.wallMsPerCall - b.limits.wallMsPerCall);
  // need_registration: hooks.budgets says 10 ms, below the CPU ceiling of 20.
  assert.deepEqual(byWall[0]?.limits, { memoryMb: 64, cpuMsPerCall: 10, wallMsPerCall: 10, totalMemoryMb: 256 });
  // process_client_phone: the catalogue's budget, CPU capped by sandbox.cpu_ms_per_call.
  assert.deepEqual(byWall[1]?.limits, { memoryMb: 64, cpuMsPerCall: 20, wallMsPerCall: getHookPoint('process_client_phone').budgetMs, totalMemoryMb: 256 });
  for (const l of loads) {
    assert.equal(l.http.timeoutMs, 700);
    assert.equal(l.http.maxResponseBytes, 4096);
    assert.equal(l.http.maxRequestBytes, 2048);
    assert.equal(l.http.maxConcurrentRequests, 2);
    assert.equal(l.http.maxRequestsPerCall, 9);
    assert.deepEqual(l.breaker, { failureThreshold: 2, coolDownMs: 60_000 });
  }
});

test('without sandbox options the host uses the sandbox section\'s defaults', async (t) => {
  const dir = await tempDir('owner-defaults');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'process_client_phone.ts', `export default function (i: { number: { custom: string } }): string { return i.number.custom; }`);
  const { engine, loads } = recordingEngine();
  const host = await createHookHost({ folder: dir, watch: false, typecheck: false, logger: silent, engine });
  t.after(() => host.close());
  const d = DEFAULT_SANDBOX_SETTINGS;
  assert.deepEqual(loads[0]?.limits, { memoryMb: d.memory_mb, cpuMsPerCall: d.cpu_ms_per_call, wallMsPerCall: getHookPoint('process_client_phone').budgetMs, totalMemoryMb: d.total_memory_mb });
  const { allowHint, ...http } = loads[0]?.http ?? { allowHint: undefined };
  assert.match(String(allowHint), /hooks\.allow_hosts/);
  assert.deepEqual(http, {
    allowHosts: [], timeoutMs: d.http.timeout_ms, maxResponseBytes: d.http.max_response_bytes, maxRequestBytes: d.http.max_request_bytes,
    maxConcurrentRequests: d.http.max_concurrent_requests, maxRequestsPerCall: d.http.max_requests_per_call,
  });
  assert.deepEqual(loads[0]?.breaker, { failureThreshold: d.circuit_breaker.failure_threshold, coolDownMs: d.circuit_breaker.cool_down_ms });
});

test('sandbox.circuit_breaker reaches the running hook: it cools down after failure_threshold failures', async (t) => {
  const dir = await tempDir('owner-breaker');
  t.after(() => removeDir(dir));
  await writeHook(dir, 'process_user_phone.ts', `export default function (): string { throw new Error('always'); }`);
  const hooks: HooksSettings = { ...DEFAULT_HOOKS_SETTINGS, folder: dir, watch: false, typecheck: false };
  const host = await createHookHost(hostOptionsFromSettings(hooks, sandbox, { logger: silent }));
  t.after(() => host.close());
  const outcomes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await host.runPoint('process_user_phone', phoneInput('201'));
    assert.equal(r.value, '201', 'the default applies');
    outcomes.push(r.trace.hooks[0]?.outcome ?? 'none');
  }
  assert.equal(outcomes[2], 'skipped', `after 2 failures the third call is skipped: ${outcomes.join(', ')}`);
});
