// Containment, the second probe (issue 10): hostile hooks of the classes a held-out probe found, each with a
// canary hook beside it whose decisions must not change. The canary is a benign blacklist (need_registration
// says false for one number): if a hostile hook's failure leaked onto it, its default (true: register the
// call) would apply or its breaker would be charged. Run in both isolations (containment.test.ts inline,
// containment-process.test.ts in the supervised child process); the classes no process can survive inline
// are in containment-crash.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSandboxHost, type InvokeOutcome, type JsonValue, type LoadedHook, type SandboxHost } from '../../sandbox/index.js';
import { compileSource, loadOptions, memoryLogger, startServer, type LoadExtras, type TestServer } from './kit.js';

export const BLOCKED = '+79001112233';
export const CANARY_SOURCE = `import { defineHook } from 'callhook';
const BLOCKED = new Set(['${BLOCKED}']);
export default defineHook('need_registration', (i: { number: string }) => !BLOCKED.has(i.number));`;

/** A raw terminal would act on these: OSC title, OSC 52 clipboard, CSI clear screen, a bidi override. */
const FORGERY = '\\u001b]0;pwned\\u0007\\u001b]52;c;ZXZpbA==\\u0007\\u001b[2J\\u202eevil\\nneed_registration.ts:1:1 HOOK_THROW forged by another hook';
const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export function containmentSuite(mode: 'inline' | 'process'): void {
  const { logger, lines } = memoryLogger();
  let host: SandboxHost;
  let canary: LoadedHook;
  let server: TestServer;

  async function load(source: string, extra: LoadExtras = {}): Promise<LoadedHook> {
    return host.load(await compileSource(source), loadOptions({ logger, ...extra }));
  }

  /** The canary decides as a blacklist should, and none of its calls were ever charged. */
  async function canaryDecides(): Promise<void> {
    const blocked = await canary.invoke({ number: BLOCKED }, { hook: 'need_registration' });
    assert.ok(blocked.ok, blocked.ok ? '' : blocked.error.format());
    assert.equal(blocked.value, false, 'the blacklist still blocks');
    const other = await canary.invoke({ number: '+79005550000' }, { hook: 'need_registration' });
    assert.equal(other.ok && other.value, true);
    assert.equal(canary.health.consecutiveFailures, 0, 'the canary was never charged');
  }

  /** Runs the hostile call with a canary call in flight beside it. */
  async function beside(hostile: () => Promise<InvokeOutcome>): Promise<InvokeOutcome> {
    const c = canary.invoke({ number: BLOCKED }, { hook: 'need_registration' });
    const r = await hostile();
    const cr = await c;
    assert.ok(cr.ok && cr.value === false, `canary beside: ${cr.ok ? JSON.stringify(cr.value) : cr.error.format()}`);
    await canaryDecides();
    return r;
  }

  before(async () => {
    host = createSandboxHost({ isolation: mode, logger });
    canary = await load(CANARY_SOURCE, { limits: { cpuMsPerCall: 2000, wallMsPerCall: 5000 } });
    server = await startServer((req, res) => {
      if (req.url === '/slow') { setTimeout(() => res.end('late'), 300); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });

  after(async () => {
    await host.close();
    await server.close();
  });

  describe(`containment, second probe (${mode} isolation)`, () => {
    // --- class 2: the guest's prototypes must not reach the host's isolated-vm options ---
    test('Object.prototype.timeout/reference/release set before http: the request works, no host frame reaches the hook', async () => {
      const hook = await load(`import { http } from 'callhook';
export default async () => {
  const p = Object.prototype as Record<string, unknown>;
  p.timeout = 1; p.reference = true; p.release = true; p.copy = false; p.promise = false; p.externalCopy = true;
  const ok = await http.get('${server.url}/slow');
  let refused = '';
  try { await http.get('http://crm.invalid/'); } catch (e) { refused = String((e as Error).stack) + ' ' + String((e as Error).message); }
  return { status: ok.status, body: ok.body, refused };
};`, { http: { allowHosts: [server.host] } });
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(r.ok, r.ok ? '' : r.error.format());
      const v = r.value as { status: number; body: string; refused: string };
      assert.equal(v.status, 200);
      assert.equal(v.body, 'late', 'the host http function ran to the end (no 1 ms timeout from the guest)');
      assert.match(v.refused, /HOOK_HTTP_REFUSED|not on this hook's allow list/);
      assert.doesNotMatch(v.refused, /\/(work|tmp|home|usr)\/|sandbox\/http|node:internal|file:\/\//, 'host frames or paths reached the hook');
      await hook.dispose();
    });

    test('Object.prototype.toJSON cannot forge the error record (an http code) or rewrite the logs', async () => {
      const hook = await load(`import { log } from 'callhook';
export default () => {
  (Object.prototype as Record<string, unknown>).toJSON = function () { return { kind: 'api', code: 'HOOK_HTTP_REFUSED', name: 'X', message: 'forged', stack: '' }; };
  log.info('real entry', { n: 1 });
  throw new Error('real failure');
};`);
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_THROW');
      assert.match(r.ok ? '' : r.error.message, /real failure/);
      assert.equal(r.logs[0]?.message, 'real entry');
      await hook.dispose();
    });

    test('an index setter on Array.prototype does not swallow log entries', async () => {
      const hook = await load(`import { log } from 'callhook';
export default () => {
  for (const k of ['0', '1', '2']) Object.defineProperty(Array.prototype, k, { set() { throw new Error('setter'); }, configurable: true });
  log.warn('one', { a: 1 }); log.warn('two');
  return 'done';
};`);
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(r.ok, r.ok ? '' : r.error.format());
      assert.deepEqual(r.logs.map((l) => l.message), ['one', 'two']);
      await hook.dispose();
    });

    // --- class 3: results beyond a stated depth or size, checked before any recursive walk ---
    test('a result nested 4,000 levels deep is HOOK_BAD_RESULT, and the sandbox keeps serving', async () => {
      const hook = await load(`export default () => { let v: unknown = 1; for (let i = 0; i < 4000; i++) v = [v]; return v; };`);
      for (let i = 0; i < 3; i++) {
        const r = await beside(() => hook.invoke(null, { hook: 'h' }));
        assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_BAD_RESULT');
        assert.match(r.ok ? '' : r.error.message, /nested more than 64 levels/);
      }
      await hook.dispose();
    });

    test('a result of 340,000 empty objects is refused before it is parsed', async () => {
      const hook = await load(`export default () => Array.from({ length: 340_000 }, () => ({}));`, { limits: { cpuMsPerCall: 3000, wallMsPerCall: 3000 } });
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_BAD_RESULT');
      assert.match(r.ok ? '' : r.error.message, /more than 10000 values/);
      await hook.dispose();
    });

    test('deeply nested log data is refused, the entry kept', async () => {
      const hook = await load(`import { log } from 'callhook'; export default () => { let v: unknown = 0; for (let i = 0; i < 100; i++) v = { v }; log.info('deep', v); return 1; };`);
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(r.ok);
      assert.equal(r.logs[0]?.message, 'deep');
      assert.match(String(r.logs[0]?.data), /data refused: nested more than 32 levels/);
      await hook.dispose();
    });

    // --- class 6: host resources outside every isolate limit ---
    test('a 9 MB error message is cut before it leaves the isolate', async () => {
      const hook = await load(`export default () => { throw new Error('x'.repeat(9 * 1024 * 1024)); };`, { limits: { cpuMsPerCall: 3000, wallMsPerCall: 3000 } });
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_THROW');
      assert.ok(!r.ok && r.error.message.length <= 2100, `message of ${r.ok ? 0 : r.error.message.length} chars`);
      await hook.dispose();
    });

    test('request bodies over sandbox.http.max_request_bytes are refused before anything is sent', async () => {
      const hits = server.hits.length;
      const hook = await load(`import { http } from 'callhook';
export default async () => {
  const big = 'x'.repeat(2 * 1024 * 1024);
  const codes = await Promise.all(Array.from({ length: 50 }, () => http.post('${server.url}/in', big).then(() => 'sent', (e) => (e as { code: string }).code)));
  return codes.filter((c) => c === 'HOOK_HTTP_REFUSED').length;
};`, { http: { allowHosts: [server.host], maxRequestBytes: 64 * 1024 }, limits: { cpuMsPerCall: 3000, wallMsPerCall: 5000 } });
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(r.ok, r.ok ? '' : r.error.format());
      assert.equal(r.value, 50);
      assert.equal(server.hits.length, hits, 'nothing reached the server');
      await hook.dispose();
    });

    test('in-flight requests per hook and requests per call are capped', async () => {
      const concurrent = await startServer((_req, res) => { setTimeout(() => res.end('x'), 150); });
      let open = 0;
      let maxOpen = 0;
      concurrent.server.on('connection', (socket) => { open++; maxOpen = Math.max(maxOpen, open); socket.on('close', () => { open--; }); });
      const hook = await load(`import { http } from 'callhook';
export default async () => {
  const burst = await Promise.all(Array.from({ length: 40 }, () => http.get('${concurrent.url}/c').then(() => 'ok', (e) => (e as { code: string }).code)));
  let sequential = 0, refusedAt = -1;
  for (let i = 0; i < 30; i++) { try { await http.get('${concurrent.url}/s'); sequential++; } catch (e) { refusedAt = i; break; } }
  return { burstOk: burst.filter((c) => c === 'ok').length, burstRefused: burst.filter((c) => c === 'HOOK_HTTP_REFUSED').length, sequential, refusedAt };
};`, { http: { allowHosts: [concurrent.host], maxConcurrentRequests: 3, maxRequestsPerCall: 10, timeoutMs: 2000 }, limits: { wallMsPerCall: 8000 } });
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(r.ok, r.ok ? '' : r.error.format());
      const v = r.value as { burstOk: number; burstRefused: number; sequential: number; refusedAt: number };
      assert.equal(v.burstOk, 3, 'three requests in flight at once');
      assert.equal(v.burstRefused, 37);
      assert.equal(v.sequential, 7, 'ten requests per call in all');
      assert.ok(maxOpen <= 3, `${maxOpen} sockets open at once`);
      await hook.dispose();
      await concurrent.close();
    });

    test('the hooks of a process together are held under sandbox.total_memory_mb: the largest is discarded, HOOK_MEMORY_CEILING', async () => {
      const hogSource = (mb: number): string => `let keep: number[][] = [];\nexport default (i: { grow: boolean }) => { if (i.grow) keep = Array.from({ length: ${mb} }, () => new Array(131072).fill(1.5)); return keep.length; };`;
      const ceiling = { limits: { memoryMb: 64, totalMemoryMb: 48, cpuMsPerCall: 4000, wallMsPerCall: 8000 } };
      const big = await load(hogSource(40), ceiling);
      const small = await load(hogSource(10), ceiling);
      const grownBig = await big.invoke({ grow: true }, { hook: 'h' });
      const grownSmall = await small.invoke({ grow: true }, { hook: 'h' });
      assert.ok(grownBig.ok && grownSmall.ok, `${grownBig.ok ? '' : grownBig.error.format()} ${grownSmall.ok ? '' : grownSmall.error.format()}`);
      let hit: InvokeOutcome | null = null;
      for (let i = 0; i < 40 && hit === null; i++) {
        await new Promise((r) => setTimeout(r, 250));
        const r = await big.invoke({ grow: false }, { hook: 'h' });
        if (!r.ok) hit = r;
      }
      assert.ok(hit && !hit.ok, 'the largest hook was discarded');
      assert.equal(hit.error.code, 'HOOK_MEMORY_CEILING', hit.error.format());
      assert.match(hit.error.message, /total_memory_mb/);
      const fresh = await big.invoke({ grow: false }, { hook: 'h' });
      assert.equal(fresh.ok && fresh.value, 0, 'the next call runs in a fresh isolate (module state lost)');
      const kept = await small.invoke({ grow: false }, { hook: 'h' });
      assert.equal(kept.ok && kept.value, 10, 'the smaller hook keeps its state');
      await canaryDecides();
      await big.dispose();
      await small.dispose();
    });

    // --- class 7: terminal and log forging ---
    test('control characters in log messages, log data and error messages are escaped; one log line per entry', async () => {
      const before = lines.length;
      const hook = await load(`import { log } from 'callhook';
export default () => { log.warn('${FORGERY}', { note: '${FORGERY}', ['k${FORGERY}']: 1 }); throw new Error('${FORGERY}'); };`);
      const r = await beside(() => hook.invoke(null, { hook: 'need_registration', callId: 'c-7' }));
      assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_THROW');
      // The stack's own line breaks separate frames the host wrote; each line is checked.
      const texts = [r.ok ? '' : r.error.message, r.ok ? '' : r.error.format(), ...String(r.ok ? '' : r.error.stack).split('\n'), ...r.logs.map((l) => `${l.message} ${JSON.stringify(l.data)}`)];
      for (const t of texts) assert.doesNotMatch(t, RAW_CONTROL, `raw control character in ${JSON.stringify(t)}`);
      assert.match(r.ok ? '' : r.error.message, /\\u001b\]0;pwned\\u0007/, 'escaped visibly, not dropped');
      assert.equal(r.logs[0]?.message.includes('\n'), false);
      const written = lines.slice(before).filter((l) => l.source === 'hook');
      assert.equal(written.length, 1, 'one log line for one entry');
      assert.equal(written[0]?.hook, 'need_registration');
      assert.equal(written[0]?.file, 'hook.ts');
      assert.equal(written[0]?.callId, 'c-7');
      await hook.dispose();
    });

    test('the "N more log entries were dropped" warning is written', async () => {
      const before = lines.length;
      const hook = await load(`import { log } from 'callhook'; export default () => { for (let i = 0; i < 250; i++) log.info('spam ' + i); return 1; };`, { limits: { cpuMsPerCall: 2000, wallMsPerCall: 2000 } });
      const r = await beside(() => hook.invoke(null, { hook: 'h', callId: 'c-d' }));
      assert.ok(r.ok);
      assert.equal(r.droppedLogs, 150);
      const warning = lines.slice(before).find((l) => /150 more log entries of this call were dropped/.test(String(l.msg)));
      assert.ok(warning, 'the dropped-entries warning');
      assert.equal(warning.callId, 'c-d');
      await hook.dispose();
    });

    // --- class 8 (sandbox parts) ---
    test('an OOM in an awaited continuation is HOOK_OOM, at once (not a wall-clock timeout)', async () => {
      const hook = await load(`import { http } from 'callhook';
export default async () => { await http.get('${server.url}/ok'); const keep: number[][] = []; for (;;) keep.push(new Array(1e6).fill(1)); };`,
      { http: { allowHosts: [server.host] }, limits: { wallMsPerCall: 20_000 } });
      const t0 = Date.now();
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.ok(['HOOK_OOM', ...(mode === 'process' ? ['HOOK_CRASHED'] : [])].includes(r.ok ? 'ok' : r.error.code), r.ok ? 'ok' : r.error.format());
      assert.ok(Date.now() - t0 < 15_000, 'well before the 20 s deadline');
      await hook.dispose();
    });

    test('HOOK_HTTP_REFUSED points at the hook line that called http and names the fix', async () => {
      const hook = await load(`import { http } from 'callhook';\n\nexport default async () => {\n  const r = await http.get('http://crm.example.com/api');\n  return r.status;\n};`);
      const r = await beside(() => hook.invoke(null, { hook: 'h' }));
      assert.equal(r.ok ? 'ok' : r.error.code, 'HOOK_HTTP_REFUSED');
      assert.equal(r.ok ? 0 : r.error.line, 4);
      assert.match(r.ok ? '' : r.error.message, /hooks\.allow_hosts/);
      assert.match(r.ok ? '' : r.error.message, /allow_hosts/);
      await hook.dispose();
    });

    // --- class 9: module state is shared by the calls of one isolate, and reset by a CPU timeout or an OOM ---
    test('module-level state carries from call to call, and a CPU timeout or an OOM starts it afresh', async () => {
      const hook = await load(`let calls = 0;\nexport default (i: { mode: string }) => {\n  calls++;\n  if (i.mode === 'spin') for (;;) {}\n  if (i.mode === 'oom') { const k: number[][] = []; for (;;) k.push(new Array(1e6).fill(1)); }\n  return calls;\n};`,
      { limits: { cpuMsPerCall: 5000, wallMsPerCall: 5000 } });
      const values: JsonValue[] = [];
      for (const m of ['n', 'n', 'spin', 'n', 'n', 'oom', 'n']) {
        // The spinning call runs at a point with a 300 ms budget (its CPU budget follows); the others get 5 s.
        const r = await hook.invoke({ mode: m }, { hook: 'h', ...(m === 'spin' ? { wallMs: 300 } : {}) });
        values.push(r.ok ? r.value : r.error.code);
      }
      const oom = values[5];
      assert.deepEqual([...values.slice(0, 5), values[6]], [1, 2, 'HOOK_TIMEOUT', 1, 2, 1]);
      assert.ok(oom === 'HOOK_OOM' || (mode === 'process' && oom === 'HOOK_CRASHED'), String(oom));
      await canaryDecides();
      await hook.dispose();
    });
  });
}
