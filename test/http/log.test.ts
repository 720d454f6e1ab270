// Logs: secrets are redacted by pino's redaction wherever they sit (settings echoes, request headers,
// nested CRM answers), a terminal gets pino-pretty lines, and a hook's failure line carries linkedid, hook,
// file and stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../core/log.js';
import { createHookHost, hostOptionsFromSettings } from '../../hooks/index.js';

function capture(): { lines: Array<Record<string, unknown>>; text: () => string; destination: { write(s: string): void } } {
  const raw: string[] = [];
  return {
    destination: { write: (s: string) => void raw.push(s) },
    get lines() { return raw.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>); },
    text: () => raw.join(''),
  };
}

const WEBHOOK = 'https://acme.bitrix24.ru/rest/1/s3cr3tc0de/';

test('tokens, passwords, hashes, cookies and webhook URLs are redacted at any depth', () => {
  const out = capture();
  const log = createLogger({ destination: out.destination as never, pretty: false, level: 'info' });
  log.info({
    password: 'pw1', token: 'tok1',
    settings: { crm: { bitrix24: { webhook_url: WEBHOOK, client_secret: 'cs1' } }, http: { tokens: ['bearer-123456789012345678901234'], users: [{ name: 'ops', password_hash: 'scrypt$16384$8$1$AAAA$BBBB' }] } },
    headers: { authorization: 'Bearer xyz-secret', cookie: 'callhook_session=sess-secret', 'x-csrf-token': 'csrf-secret' },
    answer: { result: { access_token: 'at-secret', refresh_token: 'rt-secret' } },
  }, 'everything secret');
  const text = out.text();
  for (const secret of ['pw1', 'tok1', 's3cr3tc0de', 'cs1', 'bearer-1234', 'scrypt$', 'xyz-secret', 'sess-secret', 'csrf-secret', 'at-secret', 'rt-secret']) {
    assert.ok(!text.includes(secret), `${secret} is not in the log: ${text}`);
  }
  assert.match(text, /\[redacted\]/);
  assert.equal(out.lines[0]?.msg, 'everything secret');
  assert.equal((out.lines[0]?.settings as { http: { users: Array<{ name: string }> } }).http.users[0]?.name, 'ops', 'what is not secret stays');
});

/** stderr of a child that logs one line with CALLHOOK_LOG_FORMAT (what a terminal gets by default). */
function childLogLine(format: string): string {
  const script = "import { createLogger } from './core/log.ts'; createLogger({ level: 'info' }).warn({ linkedid: 'L-1', token: 'tok-secret' }, 'pretty line');";
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, CALLHOOK_LOG_FORMAT: format, NO_COLOR: '1' }, encoding: 'utf8' }).stderr;
}

test('a terminal gets pino-pretty lines (CALLHOOK_LOG_FORMAT forces it here), still redacted', () => {
  const pretty = childLogLine('pretty');
  assert.match(pretty, /WARN/);
  assert.match(pretty, /pretty line/);
  assert.match(pretty, /linkedid: "L-1"/);
  assert.ok(!pretty.includes('tok-secret'));
  assert.throws(() => JSON.parse(pretty.trim().split('\n')[0] ?? ''), 'not JSON');
  const json = JSON.parse(childLogLine('json').trim()) as { linkedid: string; token: string };
  assert.equal(json.linkedid, 'L-1');
  assert.equal(json.token, '[redacted]');
});

test("a hook's failure line names linkedid, hook, file and stage", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callhook-logs-'));
  const out = capture();
  try {
    writeFileSync(path.join(dir, 'need_registration.ts'), "import { defineHook } from 'callhook';\nexport default defineHook('need_registration', () => { throw new Error('boom'); });\n");
    const logger = createLogger({ destination: out.destination as never, pretty: false, level: 'info' });
    const host = await createHookHost(hostOptionsFromSettings({ folder: dir, watch: false }, {}, { logger, watch: false }));
    try {
      await host.whenIdle();
      const input = JSON.parse(execFileSync(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('test/fixtures/hooks/call-incoming.json','utf8'))"], { encoding: 'utf8' })) as object;
      await host.runPoint('need_registration', { call_full: input }, { callId: 'L-42', stage: 'call_ended' });
    } finally {
      await host.close();
    }
    const line = out.lines.find((l) => String(l.msg).startsWith('hook failed'));
    assert.ok(line, out.text());
    assert.equal(line.linkedid, 'L-42');
    assert.equal(line.stage, 'call_ended');
    assert.equal(line.hook, 'need_registration');
    assert.equal(line.file, 'need_registration.ts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
