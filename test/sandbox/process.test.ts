// 'process' isolation: isolates in a supervised child process. The hostile cases here are the ones that
// may take a whole process down (OOM inside V8, a hung last-resort GC, the child being killed): the test
// runner and the connector side survive, in-flight calls fail with a typed code, the child is restarted
// and its hooks reloaded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSandboxHost, HookError, type LoadedHook, type SandboxHost } from '../../sandbox/index.js';
import { ProcessSupervisor } from '../../sandbox/supervisor.js';
import { compileSource, loadOptions, memoryLogger } from './kit.js';

const { logger, lines } = memoryLogger();
let host: SandboxHost;
let canary: LoadedHook;

before(async () => {
  host = createSandboxHost({ isolation: 'process', logger });
  canary = await host.load(await compileSource(`import { defineHook, log } from 'callhook';\nexport default defineHook('canary', (i: { a: number }) => { log.info('canary ran', { a: i.a }); return i.a * 2; });`), loadOptions({ logger, limits: { cpuMsPerCall: 2000, wallMsPerCall: 5000 } }));
});

after(async () => {
  await host.close();
});

async function canaryStillServes(): Promise<void> {
  const r = await canary.invoke({ a: 21 }, { hook: 'canary', callId: 'k' });
  assert.ok(r.ok, r.ok ? '' : r.error.format());
  assert.equal(r.value, 42);
}

test('a hook runs in the child; its logs reach the supervisor logger tagged with hook, file and call id', async () => {
  assert.equal(canary.declaredHook, 'canary');
  await canaryStillServes();
  const line = lines.find((l) => l.msg === 'canary ran');
  assert.ok(line);
  assert.equal(line.hook, 'canary');
  assert.equal(line.callId, 'k');
  assert.equal(line.file, 'hook.ts');
});

test('load errors cross the process boundary with their code and line', async () => {
  await assert.rejects(host.load(await compileSource(`const a = 1;\nthrow new Error('boom ' + a);\nexport default () => 1;`), loadOptions({ logger })),
    (e: unknown) => e instanceof HookError && e.code === 'HOOK_LOAD' && e.line === 2);
});

test('output schema and errors are mapped the same way as inline', async () => {
  const hook = await host.load(await compileSource(`export default (i: { v: unknown }) => {\n  if (i.v === 'x') throw new TypeError('no x');\n  return { v: i.v };\n};`), loadOptions({ logger }));
  const schema = { type: 'object', properties: { v: { type: 'number' } } };
  const bad = await hook.invoke({ v: 'str' }, { hook: 'h', outputSchema: schema });
  assert.equal(bad.ok ? 'ok' : bad.error.code, 'HOOK_BAD_RESULT');
  const thrown = await hook.invoke({ v: 'x' }, { hook: 'h', outputSchema: schema });
  assert.equal(thrown.ok ? 'ok' : thrown.error.format(), 'hook.ts:2:26 HOOK_THROW TypeError: no x');
  assert.match(thrown.ok ? '' : String(thrown.error.stack), /^HOOK_THROW: TypeError: no x\n\s+at hook\.ts:2:26/);
  await hook.dispose();
});

for (const [name, body] of [
  ['arrays', `const k: number[][] = []; for (;;) k.push(new Array(1e6).fill(1));`],
  ['many small Map entries (V8 may hang in last-resort GC)', `const m = new Map(); for (let n = 0; ; n++) m.set(n, { n, s: 'v' + n });`],
] as const) {
  test(`memory bomb in the child (${name}): contained, typed, and the other hooks keep working`, { timeout: 60_000 }, async () => {
    const bomb = await host.load(await compileSource(`export default () => { ${body} };`), loadOptions({ logger, limits: { cpuMsPerCall: 8000, wallMsPerCall: 9000 } }));
    const r = await bomb.invoke(null, { hook: 'h' });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(['HOOK_OOM', 'HOOK_CRASHED', 'HOOK_TIMEOUT'].includes(r.error.code), r.error.format());
    await bomb.dispose();
    await canaryStillServes();
  });
}

test('the child is killed mid-call: HOOK_CRASHED, restarted, hooks reloaded', async () => {
  const sup = new ProcessSupervisor(logger);
  try {
    const slow = await sup.load(await compileSource(`export default () => new Promise(() => {});`), loadOptions({ logger, limits: { wallMsPerCall: 10_000 } }));
    const fine = await sup.load(await compileSource(`let n = 0; export default () => ++n;`), loadOptions({ logger }));
    assert.equal((await fine.invoke(null, { hook: 'f' })).ok, true);
    const pid = sup.pid;
    assert.ok(pid);
    const pending = slow.invoke(null, { hook: 's' });
    await new Promise((r) => setTimeout(r, 100));
    process.kill(pid, 'SIGKILL');
    const r = await pending;
    assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_CRASHED');
    // The restarted child reloads every hook (module state starts afresh).
    let again = await fine.invoke(null, { hook: 'f' });
    for (let i = 0; i < 50 && !again.ok; i++) { await new Promise((res) => setTimeout(res, 100)); again = await fine.invoke(null, { hook: 'f' }); }
    assert.ok(again.ok, again.ok ? '' : again.error.format());
    assert.equal(again.value, 1);
    assert.notEqual(sup.pid, pid);
    // The only call in flight was the slow hook's: it is named as the one that crashed the process.
    assert.ok(lines.some((l) => /hook\.ts crashed its sandbox process/.test(String(l.msg))), JSON.stringify(lines.slice(-5)));
  } finally {
    await sup.close();
  }
});
