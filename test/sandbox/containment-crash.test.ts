// Class 1 of the second probe: code V8 cannot interrupt. A synchronous builtin over a huge array length
// (indexOf on an array of length 2^32-1 runs ~50 s and ignores every timeout) wedges the thread that runs it;
// isolated-vm then gives up on the isolate and the process segfaults. No process survives that, so these
// run in process isolation only (docs/sandbox.md says what inline isolation cannot survive): the hook that
// did it costs only itself. Beside every culprit, canary calls are in flight in the same sandbox process -
// one queued behind it, one waiting for http - and their decisions and breakers must not change.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LoadedHook } from '../../sandbox/index.js';
import { HookError } from '../../sandbox/index.js';
import { ProcessSupervisor } from '../../sandbox/supervisor.js';
import { BLOCKED, CANARY_SOURCE } from './containment-suite.js';
import { compileSource, loadOptions, memoryLogger, startServer, type TestServer } from './kit.js';

const UNINTERRUPTIBLE = `const a: number[] = []; a.length = 2 ** 32 - 1; return a.indexOf(1);`;
const { logger, lines } = memoryLogger();
let server: TestServer;

before(async () => {
  server = await startServer((req, res) => {
    if (req.url === '/slow') { setTimeout(() => res.end('late'), 400); return; }
    res.end('ok');
  });
});

after(async () => {
  await server.close();
});

function asyncCanarySource(): string {
  return `import { defineHook, http } from 'callhook';
export default defineHook('need_registration', async (i: { number: string }) => {
  await http.get('${server.url}/slow');
  return i.number !== '${BLOCKED}';
});`;
}

async function setup(): Promise<{ sup: ProcessSupervisor; canary: LoadedHook; waiting: LoadedHook }> {
  const sup = new ProcessSupervisor(logger);
  const opts = loadOptions({ logger, limits: { cpuMsPerCall: 2000, wallMsPerCall: 8000 }, http: { allowHosts: [server.host] } });
  const canary = await sup.load(await compileSource(CANARY_SOURCE), opts);
  const waiting = await sup.load(await compileSource(asyncCanarySource()), opts);
  return { sup, canary, waiting };
}

async function decides(hook: LoadedHook, label: string): Promise<void> {
  const r = await hook.invoke({ number: BLOCKED }, { hook: 'need_registration' });
  assert.ok(r.ok, `${label}: ${r.ok ? '' : r.error.format()}`);
  assert.equal(r.value, false, `${label}: the blacklist still blocks`);
  assert.equal(hook.health.consecutiveFailures, 0, `${label} was charged`);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('an uninterruptible builtin at call time costs only its hook: the calls beside it are re-run, the culprit is quarantined', { timeout: 60_000 }, async () => {
  const { sup, canary, waiting } = await setup();
  try {
    const bomb = await sup.load(await compileSource(`export default () => { ${UNINTERRUPTIBLE} };`), loadOptions({ logger, limits: { cpuMsPerCall: 50, wallMsPerCall: 200 } }));
    const second = await sup.load(await compileSource(CANARY_SOURCE), loadOptions({ logger }));
    const shared = sup.pidOf(canary);
    assert.ok(shared);
    // All four leave in one write: the child runs them in this order, the answers of the first would go
    // back with the batch's (lost when the bomb wedges the process).
    const done = canary.invoke({ number: BLOCKED }, { hook: 'need_registration' }); // finished before the bomb
    const inHttp = waiting.invoke({ number: BLOCKED }, { hook: 'need_registration' }); // pending in the child
    const crashing = bomb.invoke(null, { hook: 'h' });
    const queued = second.invoke({ number: BLOCKED }, { hook: 'need_registration' }); // behind the bomb
    const [b, d, w, q] = await Promise.all([crashing, done, inHttp, queued]);
    assert.equal(b.ok ? 'ok' : b.error.code, 'HOOK_CRASHED', b.ok ? '' : b.error.format());
    assert.match(b.ok ? '' : b.error.message, /could not be stopped/);
    for (const [r, label] of [[d, 'the call that ran before it'], [w, 'the hook waiting for http'], [q, 'the call queued behind']] as const) {
      assert.ok(r.ok, `${label}: ${r.ok ? '' : r.error.format()}`);
      assert.equal(r.value, false, `${label}: its decision did not change`);
    }
    await decides(canary, 'the canary');
    await decides(waiting, 'the http canary');
    await decides(second, 'the canary behind it');
    assert.equal(bomb.health.consecutiveFailures, 1, 'the culprit is charged');
    await until('the wedged process to be gone', () => !alive(shared));
    // The culprit runs in a process of its own from now on: it crashes that one, and only that one.
    const again = await bomb.invoke(null, { hook: 'h' });
    assert.equal(again.ok ? 'ok' : again.error.code, 'HOOK_CRASHED');
    assert.notEqual(sup.pidOf(canary), undefined);
    await decides(canary, 'the canary after the second crash');
    assert.ok(lines.some((l) => /hook\.ts now runs in a sandbox process of its own/.test(String(l.msg))));
  } finally {
    await sup.close();
  }
});

test('an uninterruptible builtin at load time fails that load only; a load queued behind it is done again', { timeout: 60_000 }, async () => {
  const { sup, canary } = await setup();
  try {
    const culprit = sup.load(await compileSource(`${UNINTERRUPTIBLE.replace('return ', 'export const n = ')}\nexport default () => n;`), loadOptions({ logger }));
    const innocent = sup.load(await compileSource(CANARY_SOURCE), loadOptions({ logger }));
    await assert.rejects(culprit, (e: unknown) => e instanceof HookError && e.code === 'HOOK_LOAD' && /crashed the sandbox process/.test(e.message));
    await decides(await innocent, 'the hook loaded behind it');
    await decides(canary, 'a hook loaded earlier');
  } finally {
    await sup.close();
  }
});

test('an isolate still running an uninterruptible builtin after its deadline is killed with its process, not abandoned', { timeout: 60_000 }, async () => {
  const { sup, canary, waiting } = await setup();
  try {
    const bomb = await sup.load(await compileSource(`import { http } from 'callhook';\nexport default async () => { await http.get('${server.url}/ok'); ${UNINTERRUPTIBLE} };`),
      loadOptions({ logger, limits: { wallMsPerCall: 300 }, http: { allowHosts: [server.host] } }));
    const shared = sup.pidOf(canary);
    assert.ok(shared);
    const inHttp = waiting.invoke({ number: BLOCKED }, { hook: 'need_registration' });
    const b = await bomb.invoke(null, { hook: 'h' });
    assert.equal(b.ok ? 'ok' : b.error.code, 'HOOK_TIMEOUT');
    const w = await inHttp;
    assert.ok(w.ok && w.value === false, `the hook beside it: ${w.ok ? JSON.stringify(w.value) : w.error.format()}`);
    await until('the process holding the runaway thread to be killed', () => !alive(shared));
    await decides(canary, 'the canary');
    await decides(waiting, 'the http canary');
    // The next call runs in the culprit's own process, which goes the same way; the shared one is untouched.
    const next = sup.pidOf(canary);
    const again = await bomb.invoke(null, { hook: 'h' });
    assert.equal(again.ok ? 'ok' : again.error.code, 'HOOK_TIMEOUT');
    assert.equal(sup.pidOf(canary), next, 'the shared process was not touched by the quarantined hook');
  } finally {
    await sup.close();
  }
});

test('when the process dies with several calls running, none is blamed: each is re-run alone and decides as before', { timeout: 60_000 }, async () => {
  const { sup, canary, waiting } = await setup();
  try {
    const second = await sup.load(await compileSource(asyncCanarySource()), loadOptions({ logger, limits: { wallMsPerCall: 8000 }, http: { allowHosts: [server.host] } }));
    const pid = sup.pidOf(canary);
    assert.ok(pid);
    const a = waiting.invoke({ number: BLOCKED }, { hook: 'need_registration' });
    const b = second.invoke({ number: BLOCKED }, { hook: 'need_registration' });
    await new Promise((r) => setTimeout(r, 150));
    process.kill(pid, 'SIGKILL'); // from outside: nobody's fault
    for (const [r, label] of [[await a, 'first'], [await b, 'second']] as const) {
      assert.ok(r.ok && r.value === false, `${label}: ${r.ok ? JSON.stringify(r.value) : r.error.format()}`);
    }
    await decides(waiting, 'first');
    await decides(second, 'second');
    await decides(canary, 'the canary');
  } finally {
    await sup.close();
  }
});

test('close() with calls in flight (one wedged) finishes, answers them HOOK_DISPOSED and never starts a process again', { timeout: 60_000 }, async () => {
  const { sup, canary, waiting } = await setup();
  const hang = await sup.load(await compileSource(`export default () => new Promise(() => {});`), loadOptions({ logger, limits: { wallMsPerCall: 60_000 } }));
  const bomb = await sup.load(await compileSource(`export default () => { ${UNINTERRUPTIBLE} };`), loadOptions({ logger }));
  const pid = sup.pidOf(canary);
  assert.ok(pid);
  const inFlight = [hang.invoke(null, { hook: 'h' }), waiting.invoke({ number: BLOCKED }, { hook: 'need_registration' }), bomb.invoke(null, { hook: 'h' })];
  await new Promise((r) => setTimeout(r, 100));
  const t0 = Date.now();
  await sup.close();
  assert.ok(Date.now() - t0 < 10_000, 'close() finished');
  for (const r of await Promise.all(inFlight)) assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_DISPOSED');
  const later = await canary.invoke({ number: BLOCKED }, { hook: 'need_registration' });
  assert.equal(later.ok ? 'ok' : later.error.code, 'HOOK_DISPOSED');
  assert.equal(sup.pidOf(canary), undefined, 'no process after close()');
  await until('the sandbox process to be gone', () => !alive(pid));
});

test("the sandbox process's own stdout/stderr become log entries, never raw lines in the connector's output", { timeout: 30_000 }, async () => {
  // NODE_DEBUG makes node itself write to the child's stderr (net debug lines), the way V8 fatal messages would.
  const previous = process.env.NODE_DEBUG;
  process.env.NODE_DEBUG = 'net';
  const sup = new ProcessSupervisor(logger);
  try {
    const hook = await sup.load(await compileSource(CANARY_SOURCE), loadOptions({ logger }));
    process.env.NODE_DEBUG = previous ?? '';
    if (previous === undefined) delete process.env.NODE_DEBUG;
    await decides(hook, 'the hook');
    await until('the child output to be logged', () => lines.some((l) => l.msg === 'sandbox: output of the sandbox process'));
    const entry = lines.find((l) => l.msg === 'sandbox: output of the sandbox process');
    assert.equal(entry?.stream, 'stderr');
    assert.match(String(entry?.text), /NET \d+/);
  } finally {
    if (previous === undefined) delete process.env.NODE_DEBUG; else process.env.NODE_DEBUG = previous;
    await sup.close();
  }
});

/** Starts the connector-like fixture; resolves with it and the pid of its sandbox process. */
async function heldHost(...args: string[]): Promise<{ exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; pid: number; kill(s: NodeJS.Signals): void }> {
  const require = createRequire(import.meta.url);
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', require.resolve('tsx'), path.resolve('test/fixtures/sandbox/held-host.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(Number(out.trim())); });
    void exited.then(() => reject(new Error('the fixture exited before it was ready')));
  });
  return { exited, pid, kill: (s) => child.kill(s) };
}

test('SIGTERM: a process with a wedged hook and a call that never settles still closes its sandbox and exits 0', { timeout: 60_000 }, async () => {
  const host = await heldHost('--wedged');
  assert.ok(host.pid > 0 && alive(host.pid));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  host.kill('SIGTERM');
  const { code } = await host.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 15_000, 'it exited');
  await until('the sandbox process to be gone', () => !alive(host.pid));
});

test('a connector killed outright leaves no sandbox process behind (it exits when its pipe closes)', { timeout: 60_000 }, async () => {
  const host = await heldHost();
  host.kill('SIGKILL');
  await host.exited;
  await until('the orphaned sandbox process to exit on its own', () => !alive(host.pid));
});
