// Hostile hooks: each one tries to stop, slow down, corrupt, read or escape the connector. Every case
// asserts the exact error code (or that the attempt had no effect), and after every case a well-behaved
// hook in another isolate still answers correctly. The suite runs in both isolations
// (hostile.test.ts: inline, hostile-process.test.ts: supervised child process).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LoadedHook, HookErrorCode, InvokeOutcome, JsonValue } from '../../sandbox/index.js';
import { createSandboxHost, type SandboxHost } from '../../sandbox/index.js';
import { compileSource, loadOptions, startServer, type LoadExtras, type TestServer } from './kit.js';

let canary: LoadedHook;
let host: SandboxHost;
let isolation: 'inline' | 'process' = 'inline';

async function loadSource(source: string, extra: LoadExtras = {}): Promise<LoadedHook> {
  return host.load(await compileSource(source), loadOptions(extra));
}

/** An OOM in the child process may also end in V8 aborting it: then the call is HOOK_CRASHED. */
function oomCodes(): string[] {
  return isolation === 'process' ? ['HOOK_OOM', 'HOOK_CRASHED'] : ['HOOK_OOM'];
}
let server: TestServer; // allow-listed for the http cases
let other: TestServer; // never allow-listed

async function canaryStillServes(): Promise<void> {
  const r = await canary.invoke({ a: 2, b: 3 }, { hook: 'canary' });
  assert.ok(r.ok, `canary failed: ${r.ok ? '' : r.error.format()}`);
  assert.deepEqual(r.value, { sum: 5 });
}

interface Case {
  name: string;
  source: string | (() => string);
  input?: JsonValue;
  extra?: LoadExtras | (() => LoadExtras);
  outputSchema?: object;
  code?: HookErrorCode;
  line?: number;
  message?: RegExp;
  check?: (outcome: InvokeOutcome, hook: LoadedHook) => void | Promise<void>;
}

const cases: Case[] = [
  // --- CPU ---
  { name: 'sync busy loop', source: `export default () => { while (true) {} };`, code: 'HOOK_TIMEOUT' },
  { name: 'busy loop at the start of an async hook', source: `export default async () => { for (;;) {} };`, code: 'HOOK_TIMEOUT' },
  { name: 'busy loop after await (microtask)', source: `export default async () => { await null; await Promise.resolve(1); while (true) {} };`, code: 'HOOK_TIMEOUT' },
  {
    name: 'busy loop after awaiting http (runs outside the CPU budget → wall deadline, isolate re-created)',
    source: () => `import { http } from 'callhook'; export default async () => { await http.get('${server.url}/ping'); while (true) {} };`,
    extra: () => ({ http: { allowHosts: [server.host] }, limits: { wallMsPerCall: 300 } }),
    code: 'HOOK_TIMEOUT',
    check: async (_o, hook) => {
      // The isolate was still executing at the deadline: its thread may never stop. Inline, the hook is held
      // (not run again until reloaded); in process isolation its process was killed and the hook now runs in
      // a process of its own, where it spins again, contained.
      const again = await hook.invoke(null, { hook: 'h' });
      if (isolation === 'inline') {
        assert.equal(again.ok ? 'ok' : again.error.code, 'HOOK_CRASHED');
        assert.match(again.ok ? '' : again.error.message, /could not be stopped/);
      } else assert.equal(again.ok ? 'ok' : again.error.code, 'HOOK_TIMEOUT');
    },
  },
  { name: 'promise that never settles', source: `export default () => new Promise(() => {});`, extra: { limits: { wallMsPerCall: 200 } }, code: 'HOOK_TIMEOUT' },
  { name: 'thenable whose then never calls back', source: `export default () => ({ then() {} });`, extra: { limits: { wallMsPerCall: 200 } }, code: 'HOOK_TIMEOUT' },
  { name: 'toJSON that loops while the result is serialised', source: `export default () => ({ toJSON() { for (;;) {} } });`, code: 'HOOK_TIMEOUT' },
  { name: 'top-level busy loop', source: `while (true) {} export default () => 1;`, code: 'HOOK_LOAD' },
  // --- memory ---
  {
    name: 'memory bomb: arrays',
    source: `export default () => { const keep: number[][] = []; for (;;) keep.push(new Array(1e6).fill(1)); };`,
    extra: { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } }, code: 'HOOK_OOM',
    check: async (_o, hook) => {
      // The isolate died with the OOM; the hook gets a fresh one and fails the same way, contained.
      const again = await hook.invoke(null, { hook: 'h' });
      assert.ok(oomCodes().includes(again.ok ? 'ok' : again.error.code));
    },
  },
  {
    name: 'memory bomb: strings',
    source: `export default () => { const keep: string[] = []; for (let i = 0; ; i++) keep.push('x'.repeat(4e6) + i); };`,
    extra: { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } }, code: 'HOOK_OOM',
  },
  {
    name: 'memory bomb: Map',
    source: `export default () => { const m = new Map(); for (let i = 0; ; i++) m.set(i, new Array(5e5).fill(i)); };`,
    extra: { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } }, code: 'HOOK_OOM',
  },
  { name: 'string doubling hits the engine limit', source: `export default () => { let s = 'x'; for (;;) s += s; };`, extra: { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } }, code: 'HOOK_THROW', message: /Invalid string length/ },
  {
    name: 'OOM once, then healthy: isolate is re-created before the next call',
    source: `let n = 0; export default () => { if (n++ === 0) { const k: number[][] = []; for (;;) k.push(new Array(1e6).fill(1)); } return 'recovered'; };`,
    extra: { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } }, code: 'HOOK_OOM',
    check: async (_o, hook) => {
      const again = await hook.invoke(null, { hook: 'h' });
      // Fresh isolate → fresh module state → n is 0 again → it bombs again; containment is what matters.
      assert.ok(oomCodes().includes(again.ok ? 'ok' : again.error.code));
    },
  },
  // isolated-vm's timeout runs on the wall clock: a generous budget so a loaded machine does not turn it into HOOK_TIMEOUT.
  { name: 'deep recursion', source: `const f = (n: number): number => f(n + 1) + 1;\nexport default () => f(0);`, extra: { limits: { cpuMsPerCall: 2000, wallMsPerCall: 2000 } }, code: 'HOOK_STACK_OVERFLOW', line: 1 },
  // --- throws ---
  { name: 'throws a string', source: `export default () => { throw 'nope'; };`, code: 'HOOK_THROW', message: /string "nope"/ },
  { name: 'throws undefined', source: `export default () => { throw undefined; };`, code: 'HOOK_THROW', message: /undefined/ },
  {
    name: 'throws an object with poisoned getters',
    source: `export default () => { throw { get message(): string { throw new Error('gotcha'); }, get stack(): string { for (;;) {} }, toString() { for (;;) {} } }; };`,
    code: 'HOOK_THROW',
  },
  {
    name: 'throws a Proxy whose traps throw',
    source: `export default () => { throw new Proxy({}, { get() { throw 1; }, getOwnPropertyDescriptor() { throw 2; }, getPrototypeOf() { throw 3; } }); };`,
    code: 'HOOK_THROW',
  },
  { name: 'throws an Error subclass: line mapped to the .ts source', source: `class Nope extends Error {}\n\n\nexport default () => {\n  throw new Nope('custom');\n};`, code: 'HOOK_THROW', line: 5, message: /custom/ },
  { name: 'async rejection', source: `export default async () => { await null; throw new RangeError('later'); };`, code: 'HOOK_THROW', message: /RangeError: later/ },
  { name: 'forges an http error code', source: `export default () => { const e = new Error('x') as Error & { code: string }; e.code = 'HOOK_HTTP_REFUSED'; throw e; };`, code: 'HOOK_THROW' },
  { name: 'top-level throw', source: `const x: number = 1;\nthrow new Error('at load ' + x);\nexport default () => 1;`, code: 'HOOK_LOAD', line: 2 },
  // --- results ---
  { name: 'returns a cyclic object', source: `export default () => { const a: Record<string, unknown> = {}; a.self = a; return a; };`, code: 'HOOK_BAD_RESULT', message: /not JSON/ },
  { name: 'returns a huge result', source: `export default () => ({ big: 'x'.repeat(2_000_000) });`, extra: { limits: { cpuMsPerCall: 2000, wallMsPerCall: 2000 } }, code: 'HOOK_BAD_RESULT', message: /limit/ },
  { name: 'returns a function', source: `export default () => () => 1;`, code: 'HOOK_BAD_RESULT' },
  { name: 'returns undefined', source: `export default () => {};`, code: 'HOOK_BAD_RESULT', message: /undefined/ },
  {
    name: 'returns a wrong-typed result for its output schema',
    source: `export default () => ({ action: 'explode' });`,
    outputSchema: { type: 'object', required: ['action'], properties: { action: { enum: ['skip', 'register'] } } },
    code: 'HOOK_BAD_RESULT', message: /action/,
  },
  { name: 'returns a BigInt', source: `export default () => ({ n: 10n });`, code: 'HOOK_BAD_RESULT' },
  {
    name: 'mutates its input expecting the host to see it',
    source: `export default (i: { list: number[]; nested: { v: number } }) => { i.list.push(99); i.nested.v = -1; Object.freeze(i); return 'done'; };`,
    input: { list: [1], nested: { v: 1 } },
    check: (o) => { assert.ok(o.ok); },
  },
  {
    name: 'pollutes Object.prototype inside its isolate',
    source: `export default () => { (Object.prototype as Record<string, unknown>).polluted = 'yes'; (Array.prototype as unknown as Record<string, unknown>).polluted = 'yes'; return {}; };`,
    check: async (o) => {
      assert.ok(o.ok);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      const c = await canary.invoke({ a: 1, b: 1 }, { hook: 'canary' });
      assert.ok(c.ok);
      assert.equal((c.value as Record<string, unknown>).polluted, undefined);
    },
  },
  {
    name: 'returns __proto__ keys',
    source: `export default () => JSON.parse('{"__proto__": {"isAdmin": true}, "nested": {"__proto__": {"x": 1}}, "ok": 1}');`,
    check: (o) => {
      assert.ok(o.ok);
      const v = o.value as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.deepEqual(Object.keys(v).sort(), ['nested', 'ok']);
      const target: Record<string, unknown> = {};
      Object.assign(target, v);
      assert.equal(target.isAdmin, undefined);
      assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
    },
  },
  {
    name: 'patches JSON and Promise to corrupt the runtime',
    source: `JSON.stringify = () => '"hacked"'; JSON.parse = () => ({ hacked: true }); Promise.prototype.then = function () { return this; };\nexport default async (i: { v: number }) => ({ v: i.v });`,
    input: { v: 7 },
    check: (o) => { assert.ok(o.ok, o.ok ? '' : o.error.format()); assert.deepEqual(o.value, { v: 7 }); },
  },
  // --- escapes ---
  { name: 'reaches for require at run time', source: `export default () => (globalThis as unknown as { require: (m: string) => unknown }).require('fs');`, code: 'HOOK_THROW', message: /require/ },
  { name: 'reaches for process', source: `declare const process: { exit(): void }; export default () => { process.exit(); return 1; };`, code: 'HOOK_THROW', message: /process is not defined/ },
  {
    name: "globalThis.constructor.constructor('return process')()",
    source: `export default () => { const p = (globalThis.constructor.constructor as FunctionConstructor)('return typeof process === "undefined" ? undefined : process')(); return (p as { env: unknown }).env; };`,
    code: 'HOOK_THROW', message: /TypeError/,
  },
  {
    name: 'Function/eval tricks see only the guest realm',
    source: `export default () => { const g = Function('return this')() as Record<string, unknown>; const e = (0, eval)('globalThis') as Record<string, unknown>; return { same: g === e, names: Object.getOwnPropertyNames(g).filter((n) => /^(process|require|ivm|module|Buffer|fetch|setTimeout)$|callhook/i.test(n)) }; };`,
    check: (o) => { assert.ok(o.ok); assert.deepEqual(o.value, { same: true, names: [] }); },
  },
  { name: 'dynamic import() of a computed specifier', source: `export default async (i: { m: string }) => { await import(i.m); return 1; };`, input: { m: 'node:fs' }, code: 'HOOK_THROW' },
  { name: 'SharedArrayBuffer + Atomics.wait', source: `export default () => { const sab = new SharedArrayBuffer(16); Atomics.wait(new Int32Array(sab), 0, 0); return 1; };`, code: 'HOOK_THROW', message: /SharedArrayBuffer is not defined/ },
  { name: 'WebAssembly memory outside the heap', source: `declare const WebAssembly: { Memory: new (o: object) => unknown }; export default () => new WebAssembly.Memory({ initial: 1000 }) && 1;`, code: 'HOOK_THROW', message: /WebAssembly is not defined/ },
  {
    name: 'log bomb is capped',
    source: `import { log } from 'callhook'; export default () => { for (let i = 0; i < 100000; i++) log.info('spam ' + i, { i }); return 'ok'; };`,
    extra: { limits: { cpuMsPerCall: 3000, wallMsPerCall: 3000 } },
    check: (o) => { assert.ok(o.ok); assert.equal(o.logs.length, 100); assert.equal(o.droppedLogs, 99_900); },
  },
  { name: 'settings are read-only', source: `import { settings } from 'callhook'; export default () => { (settings as Record<string, unknown>).x = 1; return 1; };`, extra: { hookSettings: { x: 0 } }, code: 'HOOK_THROW', message: /read only|not extensible|Cannot assign/ },
  // --- http ---
  { name: 'http to a host not on the allow list', source: `import { http } from 'callhook'; export default async () => (await http.get('http://crm.example.com/api')).status;`, extra: { http: { allowHosts: [] } }, code: 'HOOK_HTTP_REFUSED' },
  {
    name: 'http to 127.0.0.1 when not allowed',
    source: () => `import { http } from 'callhook'; export default async () => (await http.get('${other.url}/x')).status;`,
    extra: { http: { allowHosts: ['crm.example.com'] } }, code: 'HOOK_HTTP_REFUSED',
    check: () => { assert.deepEqual(other.hits, []); },
  },
  {
    name: 'http to localhost by another name or port',
    source: () => `import { http } from 'callhook'; export default async () => { for (const u of ['http://localhost:${other.url.split(':')[2]}/', 'http://[::1]/', 'http://2130706433/', 'file:///etc/passwd']) { try { await http.get(u); return 'reached ' + u; } catch (e) { if ((e as { code?: string }).code !== 'HOOK_HTTP_REFUSED') return 'other ' + u; } } return 'all refused'; };`,
    extra: () => ({ http: { allowHosts: [server.host] } }),
    check: (o) => { assert.ok(o.ok); assert.equal(o.value, 'all refused'); assert.deepEqual(other.hits, []); },
  },
  {
    name: 'http redirect to another host is not followed',
    source: () => `import { http } from 'callhook'; export default async () => { const r = await http.get('${server.url}/redirect'); return { status: r.status, location: r.headers.location ?? null }; };`,
    extra: () => ({ http: { allowHosts: [server.host] } }),
    check: (o) => { assert.ok(o.ok); assert.equal((o.value as { status: number }).status, 302); assert.deepEqual(other.hits, []); },
  },
  {
    name: 'http: the hook follows the redirect itself → refused',
    source: () => `import { http } from 'callhook'; export default async () => { const r = await http.get('${server.url}/redirect'); return (await http.get(String(r.headers.location))).status; };`,
    extra: () => ({ http: { allowHosts: [server.host] } }),
    code: 'HOOK_HTTP_REFUSED', check: () => { assert.deepEqual(other.hits, []); },
  },
  {
    name: 'http with a 1 GB streamed response is cut at the cap',
    source: () => `import { http } from 'callhook'; export default async () => (await http.get('${server.url}/huge')).body.length;`,
    extra: () => ({ http: { allowHosts: [server.host], maxResponseBytes: 256 * 1024 }, limits: { wallMsPerCall: 5000 } }),
    code: 'HOOK_HTTP_FAILED', message: /limit/,
    check: () => { assert.ok(process.memoryUsage().rss < 1024 * 1024 * 1024); },
  },
  {
    name: 'http with a declared 1 GB response is refused before reading',
    source: () => `import { http } from 'callhook'; export default async () => (await http.get('${server.url}/huge-declared')).status;`,
    extra: () => ({ http: { allowHosts: [server.host] } }), code: 'HOOK_HTTP_FAILED', message: /exceeds/,
  },
  {
    name: 'http to a server that never answers times out',
    source: () => `import { http } from 'callhook'; export default async () => (await http.get('${server.url}/hang')).status;`,
    extra: () => ({ http: { allowHosts: [server.host], timeoutMs: 150 } }), code: 'HOOK_HTTP_FAILED', message: /150 ms/,
  },
  {
    name: 'fire-and-forget http whose continuation would spin after the call returned',
    source: () => `import { http } from 'callhook';\nlet calls = 0;\nexport default () => { calls++; void http.get('${server.url}/slow').then(() => { for (;;) {} }); return calls; };`,
    extra: () => ({ http: { allowHosts: [server.host] } }),
    check: async (o, hook) => {
      assert.ok(o.ok);
      await new Promise((r) => setTimeout(r, 150)); // the response arrives; its continuation must never run
      const next = await hook.invoke(null, { hook: 'h' });
      assert.ok(next.ok, next.ok ? '' : next.error.format());
      assert.equal(next.value, 2);
    },
  },
  { name: 'timers do not exist', source: `export default () => new Promise((r) => setTimeout(r, 10));`, code: 'HOOK_THROW', message: /setTimeout is not defined/ },
  {
    name: 'http refusal can be caught by the hook (it then decides)',
    source: `import { http } from 'callhook'; export default async () => { try { await http.get('http://evil.example/'); return 'no'; } catch (e) { return (e as { code: string }).code; } };`,
    check: (o) => { assert.ok(o.ok); assert.equal(o.value, 'HOOK_HTTP_REFUSED'); },
  },
];

export function hostileSuite(mode: 'inline' | 'process'): void {
  isolation = mode;
  before(async () => {
    host = createSandboxHost({ isolation, logger: loadOptions().logger });
    // Generous budget: the canary proves service continues; a loaded CI machine must not make it flaky.
    canary = await loadSource(`export default (i: { a: number; b: number }) => ({ sum: i.a + i.b });`, { limits: { cpuMsPerCall: 2000, wallMsPerCall: 5000 } });
    server = await startServer((req, res) => {
      if (req.url === '/redirect') { res.writeHead(302, { location: `${other.url}/stolen` }); res.end(); return; }
      if (req.url === '/huge') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        let sent = 0;
        const pump = (): void => {
          while (sent < 1024 * 1024 * 1024) { sent += chunk.length; if (!res.write(chunk)) { res.once('drain', pump); return; } }
          res.end();
        };
        res.on('close', () => { sent = Infinity; });
        pump();
        return;
      }
      if (req.url === '/huge-declared') { res.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) }); res.write('x'); return; }
      if (req.url === '/hang') return; // never answers
      if (req.url === '/slow') { setTimeout(() => { res.end('late'); }, 50); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ pong: true }));
    });
    other = await startServer((_req, res) => { res.end('should never be reached'); });
  });

  after(async () => {
    await canary.dispose();
    await host.close();
    await server.close();
    await other.close();
  });

  describe(`hostile hooks are contained (${mode} isolation)`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const source = typeof c.source === 'function' ? c.source() : c.source;
        const extra = typeof c.extra === 'function' ? c.extra() : c.extra ?? {};
        let hook: LoadedHook;
        try {
          hook = await loadSource(source, extra);
        } catch (error) {
          // Load-time hostility: the load is refused with a typed error.
          const e = error as { code?: string; line?: number; message?: string };
          assert.equal(e.code, c.code, `load failed with ${e.code}: ${e.message}`);
          assert.ok(!/\/(work|tmp|home|usr|node_modules)\/|isolated-vm|node:internal/.test(`${e.message}\n${(error as Error).stack}`), `host detail in ${(error as Error).stack}`);
          if (c.line !== undefined) assert.equal(e.line, c.line);
          await canaryStillServes();
          return;
        }
        try {
          const input = c.input ?? { a: 1 };
          const inputCopy = JSON.parse(JSON.stringify(input)) as JsonValue;
          const outcome = await hook.invoke(input, { hook: 'h', callId: 'call-1', ...(c.outputSchema ? { outputSchema: c.outputSchema } : {}) });
          if (c.code) {
            assert.equal(outcome.ok, false, `expected ${c.code}, got ok ${JSON.stringify(outcome.ok ? outcome.value : null)?.slice(0, 200)}`);
            if (!outcome.ok) {
              if (c.code === 'HOOK_OOM') assert.ok(oomCodes().includes(outcome.error.code), outcome.error.format());
              else assert.equal(outcome.error.code, c.code, outcome.error.format());
              assert.equal(outcome.error.hook, 'h');
              assert.ok(!/\/(work|tmp|home|usr|node_modules)\//.test(String(outcome.error.stack)), `host path in ${outcome.error.stack}`);
              assert.ok(!/node:internal|isolated-vm/.test(String(outcome.error.stack)), `host frame in ${outcome.error.stack}`);
              if (c.line !== undefined) assert.equal(outcome.error.line, c.line, outcome.error.format());
              if (c.message) assert.match(outcome.error.message, c.message);
            }
          }
          assert.deepEqual(input, inputCopy, 'the host-side input must not change');
          await c.check?.(outcome, hook);
        } finally {
          await hook.dispose();
        }
        await canaryStillServes();
      });
    }

    test('the suite has at least 30 hostile hooks', () => {
      assert.ok(cases.length >= 30, `${cases.length}`);
    });
  });
}
