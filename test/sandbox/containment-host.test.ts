// The second probe's classes as they reach the hook host (both isolations): a hook whose point is computed
// at run time (a decoy defineHook in a comment), one log line per hook log entry with distinct keys, a hook
// file that is a symbolic link out of the folder, and shutdown. Beside each, the canary blacklist keeps
// deciding as before.
import assert from 'node:assert/strict';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createHookHost, type HookHost } from '../../hooks/host.js';
import { sampleCall } from '../hooks/helpers.js';
import { memoryLogger } from './kit.js';

const BLOCKED = '+79001112233';
// The canary blacklist, typed against need_registration's real input (the host type-checks it).
const CANARY_SOURCE = `import { defineHook } from 'callhook';
const BLOCKED = new Set(['${BLOCKED}']);
export default defineHook('need_registration', (i) => !BLOCKED.has(i.call_full.channel.from.original));`;

/** need_registration's input for a call from `number` (the sample call with its caller replaced). */
const nr = (number: string): object => {
  const channel = sampleCall.channel as Record<string, unknown>;
  const from = channel.from as Record<string, unknown>;
  return { call_full: { ...sampleCall, channel: { ...channel, from: { ...from, original: number } } }, call_stage: 'conversation_requested' };
};

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'callhook-containment-host-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** The canary in the host: its point's decision for the blocked number stays false. */
async function canaryDecides(host: HookHost): Promise<void> {
  const r = await host.runPoint('need_registration', nr(BLOCKED));
  const mine = r.trace.hooks.find((h) => h.hook === 'need_registration.canary.ts');
  assert.ok(mine, JSON.stringify(r.trace.hooks));
  assert.equal(mine.outcome, 'ok', JSON.stringify(mine));
  assert.equal(mine.output, false);
}

for (const isolation of ['inline', 'process'] as const) {
  describe(`the hook host under hostile hooks (${isolation} isolation)`, () => {
    test("a hook whose point is chosen at run time gets that point's budget, not a decoy's; calls do not pile up; close() finishes", async () => {
      const dir = await folder({
        'need_registration.canary.ts': CANARY_SOURCE,
        'sneaky.ts': `// export default defineHook('process_record_file_path', ...) - a decoy: the real point comes later
import { defineHook } from 'callhook';
const point = ['need', 'registration'].join('_') as 'need_registration';
export default defineHook(point, (() => new Promise(() => {})) as never);`,
      });
      const host = await createHookHost({ folder: dir, isolation, typecheck: false, watch: false, logger: memoryLogger().logger });
      try {
        const st = host.status().find((s) => s.hook === 'sneaky.ts');
        assert.equal(st?.point, 'need_registration', 'the point is what the hook exports');
        for (let i = 0; i < 3; i++) {
          const r = await host.runPoint('need_registration', nr('+79005550000'));
          const sneaky = r.trace.hooks.find((h) => h.hook === 'sneaky.ts');
          assert.equal(sneaky?.error?.code, 'HOOK_TIMEOUT', JSON.stringify(r.trace.hooks));
          // need_registration's budget is 200 ms; process_record_file_path's is 10 s.
          // The sandbox's own deadline (not the hook host's net, "no answer within …"), at the point's budget.
          assert.match(String(sneaky?.error?.message), /did not finish within 200 ms/, 'the sandbox stopped it at its own point\'s budget');
          await canaryDecides(host);
        }
      } finally {
        const t0 = Date.now();
        await host.close();
        assert.ok(Date.now() - t0 < 8000, 'close() finished');
      }
    });

    test('one log line per hook log entry, with hook = the point and file = the file, through runPoint', async () => {
      const { logger, lines } = memoryLogger();
      const dir = await folder({
        'need_registration.canary.ts': CANARY_SOURCE,
        'need_registration.talker.ts': `import { defineHook, log } from 'callhook';
export default defineHook('need_registration', () => { log.info('checked', { n: 1 }); for (let i = 0; i < 120; i++) log.debug('more ' + i); return true; });`,
      });
      const host = await createHookHost({ folder: dir, isolation, typecheck: false, watch: false, logger });
      try {
        await host.runPoint('need_registration', nr('+79005550000'), { callId: 'call-1' });
        const entries = lines.filter((l) => l.msg === 'checked');
        assert.equal(entries.length, 1, `one line, not ${entries.length}`);
        assert.equal(entries[0]?.hook, 'need_registration');
        assert.equal(entries[0]?.file, 'need_registration.talker.ts');
        assert.equal(entries[0]?.callId, 'call-1');
        assert.deepEqual(entries[0]?.data, { n: 1 });
        const dropped = lines.filter((l) => /21 more log entries of this call were dropped/.test(String(l.msg)));
        assert.equal(dropped.length, 1, 'the dropped-entries warning, once');
        assert.equal(dropped[0]?.file, 'need_registration.talker.ts');
        await canaryDecides(host);
      } finally {
        await host.close();
      }
    });

    test('a hook file that is a symbolic link out of the folder is refused and never read', async () => {
      const outside = await folder({ 'secret.ts': `export default () => true; // password=hunter2 is not a hook` });
      const dir = await folder({ 'need_registration.canary.ts': CANARY_SOURCE });
      await symlink(path.join(outside, 'secret.ts'), path.join(dir, 'need_registration.linked.ts'));
      const { logger, lines } = memoryLogger();
      const host = await createHookHost({ folder: dir, isolation, watch: false, logger });
      try {
        const st = host.status().find((s) => s.hook === 'need_registration.linked.ts');
        assert.equal(st?.state, 'failed');
        assert.equal(st?.lastError?.code, 'HOOK_IMPORT_REFUSED');
        assert.doesNotMatch(JSON.stringify([host.status(), lines]), /hunter2/);
        await canaryDecides(host);
      } finally {
        await host.close();
      }
    });

    test('runPoints gives what consecutive runPoint calls give, in one batch; stopIfFalse ends it on "no"', async () => {
      const dir = await folder({
        'need_registration.canary.ts': CANARY_SOURCE,
        'process_client_phone.ts': `import { defineHook, log } from 'callhook';\nexport default defineHook('process_client_phone', (i) => { log.info('client rewrite'); return i.number.custom.replace(/^\\+7/, '8'); });`,
        'process_user_phone.ts': `import { defineHook } from 'callhook';\nexport default defineHook('process_user_phone', async (i) => { await null; return i.number.custom.trim(); });`,
      });
      const { logger, lines } = memoryLogger();
      const host = await createHookHost({ folder: dir, isolation, typecheck: false, watch: false, logger });
      const phone = (original: string): object => ({ number: { original, custom: '', base: original, is_local: false, variants: [] }, call_full: sampleCall, call_stage: 'conversation_requested' });
      try {
        const steps = (caller: string) => [
          { point: 'need_registration' as const, input: nr(caller), stopIfFalse: true },
          { point: 'process_client_phone' as const, input: phone('+79001234567') },
          { point: 'process_user_phone' as const, input: phone(' 201 ') },
        ];
        const ctx = { stage: 'conversation_requested' as const, callId: 'b-1' };
        const batch = await host.runPoints(steps('+79005550000'), ctx);
        const one = [];
        for (const s of steps('+79005550000')) one.push(await host.runPoint(s.point, s.input, ctx));
        assert.deepEqual(batch.map((r) => r?.value), [true, '89001234567', '201']);
        assert.deepEqual(batch.map((r) => r?.value), one.map((r) => r.value));
        assert.deepEqual(batch.map((r) => r?.trace.hooks.map((h) => [h.hook, h.outcome, h.output])), one.map((r) => r.trace.hooks.map((h) => [h.hook, h.outcome, h.output])));
        const rewrites = lines.filter((l) => l.msg === 'client rewrite').length;
        const stopped = await host.runPoints(steps(BLOCKED), ctx);
        assert.equal(stopped[0]?.value, false, 'the blacklist said no');
        assert.deepEqual(stopped.slice(1), [null, null], 'the steps after it did not run');
        assert.equal(lines.filter((l) => l.msg === 'client rewrite').length, rewrites, 'their hooks were not called');
      } finally {
        await host.close();
      }
    });
  });
}
