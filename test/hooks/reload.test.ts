// Hot reload driven through the folder while calls stream through the host: add, edit, break, fix,
// rename, delete, atomic and vim-style saves, partial writes and a 1,000-save storm. Every call must get
// a consistent, valid decision (only working versions ever answer; what each hook saw is what the
// previous one returned) and the status must say what happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HookEngine } from '../../hooks/engine.js';
import type { HookHost } from '../../hooks/host.js';
import type { PointResult } from '../../hooks/runner.js';
import { atomicSave, phoneInput, removeDir, sampleCall, silent, startHost, statusOf, tempDir, vimSave, waitForStatus, writeHook } from './helpers.js';

/** A process_client_phone hook that appends "-<tag>". */
const tagHook = (tag: string) => `import { defineHook } from 'callhook';
// version ${tag}
export default defineHook('process_client_phone', ({ number }) => number.custom + '-${tag}');
`;
const syntaxError = `import { defineHook } from 'callhook';\nexport default defineHook('process_client_phone', ({ number }) => {{ number.custom + ;\n`;
const typeError = `import { defineHook } from 'callhook';\nexport default defineHook('process_client_phone', ({ number }) => number.custom * 2);\n`;

/** Checks one result: only ok outcomes, each output = what it saw + its tag, the value = last output. */
function assertConsistent(r: PointResult, validTags: ReadonlySet<string>): void {
  let expected = '100';
  for (const h of r.trace.hooks) {
    assert.equal(h.outcome, 'ok', `${h.hook}: ${JSON.stringify(h.error)}`);
    assert.equal(h.saw, expected);
    assert.equal(typeof h.output, 'string');
    const tag = String(h.output).slice(expected.length + 1);
    assert.ok(String(h.output).startsWith(expected + '-') && validTags.has(tag), `unexpected output ${String(h.output)} after ${expected}`);
    expected = String(h.output);
  }
  assert.equal(r.value, expected);
}

const STAGES = ['conversation_requested', 'conversation_accepted', 'conversation_ended', 'call_ended'] as const;

/**
 * Runs calls back to back (two concurrent streams) until stopped: each call passes the four stages,
 * with need_registration and the client number rewrite at each. Returns the rewrite results; the
 * need_registration results are checked on the spot (the decision must match the trace and be a
 * boolean from working hooks only).
 */
function callStream(host: HookHost): { stop(): Promise<PointResult[]> } {
  let running = true;
  const results: PointResult[] = [];
  const loop = async () => {
    for (let n = 0; running; n++) {
      const stage = STAGES[n % STAGES.length] ?? 'call_ended';
      const nr = await host.runPoint('need_registration', { call_full: sampleCall, call_stage: stage }, { stage, callId: `c${n >> 2}` });
      assert.equal(typeof nr.value, 'boolean');
      assert.ok(nr.trace.hooks.every((h) => h.outcome === 'ok'), JSON.stringify(nr.trace.hooks));
      assert.equal(nr.value, !nr.trace.hooks.some((h) => h.output === false));
      results.push(await host.runPoint('process_client_phone', phoneInput('100'), { stage }));
      await new Promise((r) => setImmediate(r));
    }
  };
  const loops = [loop(), loop()];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return results;
    },
  };
}

async function valueNow(host: HookHost): Promise<unknown> {
  return (await host.runPoint('process_client_phone', phoneInput('100'))).value;
}

test('add, edit, break, fix, rename, delete and editor saves while calls stream through', async (t) => {
  const dir = await tempDir('reload');
  t.after(() => removeDir(dir));
  // The production isolation: hooks in a supervised child process.
  const host = await startHost(dir, { isolation: 'process' });
  t.after(() => host.close());
  const stream = callStream(host);
  const tags = new Set(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
  const A = 'process_client_phone.a.ts';

  await writeHook(dir, 'need_registration.ts', `export default function (i: { call_stage: string }) { return i.call_stage !== 'call_ended'; }`);
  await writeHook(dir, A, tagHook('a1'));
  await waitForStatus(host, () => statusOf(host, A).state === 'active', 'a1 active');
  assert.equal(await valueNow(host), '100-a1');

  const hashA1 = statusOf(host, A).contentHash;
  await writeHook(dir, A, tagHook('a2'));
  await waitForStatus(host, (s) => s.some((x) => x.hook === A && x.contentHash !== hashA1), 'a2 active');
  assert.equal(await valueNow(host), '100-a2');
  const genBefore = host.generation();

  await writeHook(dir, A, syntaxError);
  let st = await waitForStatus(host, () => statusOf(host, A).lastError !== null, 'syntax error reported');
  let a = st.find((x) => x.hook === A);
  assert.equal(a?.state, 'active', 'the working version stays active');
  assert.equal(a?.staleOnDisk, true);
  assert.equal(a?.lastError?.code, 'HOOK_COMPILE', 'a syntax error is HOOK_COMPILE, in run as in try');
  assert.equal(a?.lastError?.line, 2);
  assert.equal(await valueNow(host), '100-a2');

  await writeHook(dir, A, typeError);
  st = await waitForStatus(host, () => /arithmetic|TS2362|TS2322/.test(statusOf(host, A).lastError?.message ?? ''), 'type error reported');
  a = st.find((x) => x.hook === A);
  assert.deepEqual([a?.lastError?.code, a?.lastError?.file, a?.lastError?.line], ['HOOK_TYPECHECK', 'process_client_phone.a.ts', 2]);
  assert.match(a?.lastError?.message ?? '', /^TS\d+: /);
  assert.equal(host.generation(), genBefore, 'a failed version never swaps the generation');
  assert.equal(await valueNow(host), '100-a2');

  await writeHook(dir, A, tagHook('a3'));
  await waitForStatus(host, () => statusOf(host, A).lastError === null && statusOf(host, A).staleOnDisk === false, 'a3 fixed');
  assert.equal(await valueNow(host), '100-a3');

  await writeHook(dir, 'process_client_phone.b.ts', tagHook('b1'));
  await waitForStatus(host, (s) => s.some((x) => x.hook === 'process_client_phone.b.ts' && x.state === 'active'), 'b active');
  assert.equal(await valueNow(host), '100-a3-b1');

  // rename b → 0b: same content, now sorted first
  await rename(path.join(dir, 'process_client_phone.b.ts'), path.join(dir, 'process_client_phone.0b.ts'));
  await waitForStatus(
    host,
    (s) => !s.some((x) => x.hook === 'process_client_phone.b.ts') && s.some((x) => x.hook === 'process_client_phone.0b.ts' && x.state === 'active'),
    'rename applied',
  );
  assert.equal(await valueNow(host), '100-b1-a3');

  await atomicSave(dir, 'process_client_phone.0b.ts', tagHook('b2'));
  for (let i = 0; i < 100 && (await valueNow(host)) !== '100-b2-a3'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await valueNow(host), '100-b2-a3');

  await vimSave(dir, 'process_client_phone.0b.ts', tagHook('b3'));
  for (let i = 0; i < 100 && (await valueNow(host)) !== '100-b3-a3'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await valueNow(host), '100-b3-a3');
  assert.ok(!host.status().some((x) => x.hook.endsWith('~')), 'the vim backup file is never loaded');

  await writeHook(dir, 'need_registration.ts', `export default function () { return true; }`);
  await writeHook(dir, 'need_registration.ts', `export default function ( { return true; }`);
  await unlink(path.join(dir, A));
  await waitForStatus(host, (s) => !s.some((x) => x.hook === A), 'a unloaded');
  assert.equal(await valueNow(host), '100-b3');

  const results = await stream.stop();
  assert.ok(results.length > 50, `only ${results.length} calls ran`);
  for (const r of results) assertConsistent(r, tags);
  const versionsSeen = new Set(results.map((r) => r.value));
  assert.ok(versionsSeen.size >= 4, `the stream saw the changes: ${[...versionsSeen].join(', ')}`);
  const nrStatus = await waitForStatus(host, () => statusOf(host, 'need_registration.ts').staleOnDisk, 'broken need_registration reported');
  assert.equal(nrStatus.find((x) => x.hook === 'need_registration.ts')?.state, 'active');
  assert.ok((statusOf(host, 'need_registration.ts').lastError?.line ?? 0) >= 1);
  const b = statusOf(host, 'process_client_phone.0b.ts');
  assert.ok(b.calls > 0 && b.failures === 0 && b.p50Ms !== null && b.p99Ms !== null);
});

test('a storm of 1,000 saves (plain, atomic, partial, broken) ends with the last version active', async (t) => {
  const dir = await tempDir('storm');
  t.after(() => removeDir(dir));
  const host = await startHost(dir);
  t.after(() => host.close());
  const name = 'process_client_phone.s.ts';
  await writeHook(dir, name, tagHook('s0'));
  await waitForStatus(host, () => statusOf(host, name).state === 'active', 's0 active');
  const stream = callStream(host);
  const tags = new Set<string>();
  for (let i = 0; i <= 1000; i++) tags.add(`s${i}`);

  for (let i = 1; i <= 1000; i++) {
    const src = tagHook(`s${i}`);
    if (i % 97 === 0) await writeHook(dir, name, syntaxError);
    else if (i % 13 === 0) await atomicSave(dir, name, src);
    else if (i % 29 === 0) {
      // partial write: half the file, a pause, then the rest
      const fh = await open(path.join(dir, name), 'w');
      await fh.write(src.slice(0, src.length >> 1));
      await new Promise((r) => setTimeout(r, 5));
      await fh.write(src.slice(src.length >> 1));
      await fh.close();
    } else await writeHook(dir, name, src);
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 40)); // let some reloads land mid-storm
  }
  const st = await waitForStatus(host, () => statusOf(host, name).staleOnDisk === false && statusOf(host, name).state === 'active', 'storm settled', 20000);
  assert.equal(st.find((x) => x.hook === name)?.lastError, null);
  assert.equal(await valueNow(host), '100-s1000');

  // A storm whose last save is broken leaves the working version active and reports the error.
  for (let i = 0; i < 50; i++) await writeHook(dir, name, i === 49 ? syntaxError : tagHook(`s${i}`));
  await waitForStatus(host, () => statusOf(host, name).staleOnDisk, 'broken last save reported', 20000);
  const last = statusOf(host, name);
  assert.equal(last.state, 'active');
  assert.equal(last.lastError?.code, 'HOOK_COMPILE');
  assert.match(String(await valueNow(host)), /^100-s\d+$/);

  const results = await stream.stop();
  for (const r of results) assertConsistent(r, tags);
});

test('an in-flight call finishes on the version it started with; the old isolate is disposed after it drains', async (t) => {
  const { createServer } = await import('node:http');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const server = createServer((_req, res) => {
    void gate.then(() => res.end('{"ok":true}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  t.after(() => server.close());
  const dir = await tempDir('inflight');
  t.after(() => removeDir(dir));
  const slow = (tag: string) => `import { defineHook, http } from 'callhook';
export default defineHook('process_client_phone', async ({ number }) => {
  await http.get('http://127.0.0.1:${port}/slow');
  return number.custom + '-${tag}';
});`;
  const name = 'process_client_phone.slow.ts';
  await writeHook(dir, name, slow('v1'));
  // The real sandbox, with disposals counted, to see when the replaced isolate goes away.
  const { createSandboxHost } = await import('../../sandbox/index.js');
  const real = createSandboxHost({ isolation: 'inline', logger: silent });
  let disposed = 0;
  const engine: HookEngine = {
    compile: (s) => real.compile(s),
    async load(c, o) {
      const h = await real.load(c, o as Parameters<typeof real.load>[1]);
      const dispose = h.dispose.bind(h);
      return Object.assign(h, { dispose: async () => { disposed++; await dispose(); } });
    },
    close: () => real.close(),
  };
  // The request is held until v2 is active: give it the point's whole budget, not the default http timeout.
  const host = await startHost(dir, { engine, allowHosts: [`127.0.0.1:${port}`], budgets: { process_client_phone: 10000 }, httpTimeoutMs: 10000 });
  t.after(() => host.close());
  await waitForStatus(host, () => statusOf(host, name).state === 'active', 'v1 active');
  const hashV1 = statusOf(host, name).contentHash;

  const inFlight = host.runPoint('process_client_phone', phoneInput('100'));
  await waitForStatus(host, () => statusOf(host, name).inFlight === 1, 'call in flight');
  await writeHook(dir, name, slow('v2'));
  await waitForStatus(host, () => statusOf(host, name).contentHash !== hashV1, 'v2 swapped in while v1 is busy');
  const next = host.runPoint('process_client_phone', phoneInput('100'));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(disposed, 0, 'v1 is not disposed while a call still runs on it');
  release();
  const [old, fresh] = await Promise.all([inFlight, next]);
  assert.equal(old.value, '100-v1', JSON.stringify(old.trace.hooks));
  assert.equal(old.trace.hooks[0]?.contentHash, hashV1);
  assert.equal(fresh.value, '100-v2');
  assert.ok(fresh.trace.generation > old.trace.generation);
  for (let i = 0; i < 100 && disposed === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(disposed, 1, 'v1 is disposed once its call drained');
});

test('saving a helper module reloads the hooks that import it; saving a pack file reloads that hook', async (t) => {
  const dir = await tempDir('helpers');
  t.after(() => removeDir(dir));
  const loose = path.join(dir, 'hooks');
  const pack = path.join(dir, 'pack');
  const { mkdir } = await import('node:fs/promises');
  await Promise.all([mkdir(loose), mkdir(pack)]);
  await writeHook(loose, '_suffix.ts', `export const SUFFIX = '-h1';\n`);
  await writeHook(loose, 'process_client_phone.ts', `import { defineHook } from 'callhook';
import { SUFFIX } from './_suffix.js';
export default defineHook('process_client_phone', ({ number }) => number.custom + SUFFIX);
`);
  await writeFile(path.join(pack, 'callhook.pack.json'), JSON.stringify({ name: 'p', version: '1.0.0', hooks: [{ hook: 'process_client_phone', file: 'p.ts' }] }));
  await writeHook(pack, 'p.ts', tagHook('p1'));
  const host = await startHost(loose, { packs: [{ path: pack }] });
  t.after(() => host.close());
  assert.equal(await valueNow(host), '100-p1-h1');
  assert.ok(!host.status().some((s) => s.hook === '_suffix.ts'), 'a helper is not a hook');

  await writeHook(loose, '_suffix.ts', `export const SUFFIX = '-h2';\n`);
  for (let i = 0; i < 200 && (await valueNow(host)) !== '100-p1-h2'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await valueNow(host), '100-p1-h2');

  await writeHook(pack, 'p.ts', tagHook('p2'));
  for (let i = 0; i < 200 && (await valueNow(host)) !== '100-p2-h2'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await valueNow(host), '100-p2-h2');
  assert.equal(statusOf(host, 'p@1.0.0/p.ts').source, 'p@1.0.0');
});

test('a recorded trace replays against the hooks active now ("what if")', async (t) => {
  const { replayTrace } = await import('../../hooks/replay.js');
  const dir = await tempDir('whatif');
  t.after(() => removeDir(dir));
  const name = 'process_client_phone.ts';
  await writeHook(dir, name, tagHook('old'));
  const host = await startHost(dir);
  t.after(() => host.close());
  const recorded = await host.runPoint('process_client_phone', phoneInput('100'), { stage: 'call_ended', callId: 'c-7' });
  const serialised = JSON.parse(JSON.stringify(recorded.trace)) as typeof recorded.trace;
  assert.equal(serialised.inputDigest.length, 16);
  const same = await replayTrace(host, serialised);
  assert.equal(same.changed, false);
  const hash = statusOf(host, name).contentHash;
  await writeHook(dir, name, tagHook('new'));
  await waitForStatus(host, () => statusOf(host, name).contentHash !== hash, 'new version active');
  const diff = await replayTrace(host, serialised);
  assert.equal(diff.changed, true);
  assert.equal(diff.before.value, '100-old');
  assert.equal(diff.after.value, '100-new');
  assert.equal(diff.after.trace.callId, 'c-7');
  assert.equal(diff.after.trace.stage, 'call_ended');
});
