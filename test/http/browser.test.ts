// The admin page in headless Chromium against a connector runtime in this process (the demo's calls
// recorded by the real connector, hooks hot-reloaded from their folder): sign in; a broken save shows the
// hook failed with file:line and a fix brings it back; a call's timeline; a what-if with a changed
// decision; hooks switched off and their default applying on the call's next run; a reprocess with its
// progress bar. Screenshots: test-artifacts/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pino } from 'pino';
import { hashPassword } from '../../core/http/auth.js';
import { startAdminServer, type AdminServer } from '../../core/http/server.js';
import { readCallReport } from '../../core/pipeline/index.js';
import { reprocessInRuntime } from '../../core/run/reprocess.js';
import { openRuntime, type ConnectorRuntime } from '../../core/run/runtime.js';
import { whatIfFromSettings } from '../../core/whatif/index.js';
import { recordDemoCalls, type Recorded } from './kit.js';

const SHOTS = path.resolve('test-artifacts/screenshots');
const PASSWORD = 'browser-test-password';
let rec: Recorded;
let runtime: ConnectorRuntime;
let server: AdminServer;
let stopPipeline: () => Promise<void>;
let browser: Browser;
let page: Page;
const logger = pino({ level: 'silent' });

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  rec = await recordDemoCalls();
  runtime = await openRuntime({ ...rec.settings, hooks: { ...rec.settings.hooks, watch: true, debounce_ms: 50 } }, { logger, watchHooks: true });
  const pipeline = runtime.pipeline(() => undefined);
  pipeline.start();
  stopPipeline = () => pipeline.stop();
  server = await startAdminServer({
    settings: { ...rec.settings, http: { ...rec.settings.http, port: 0, users: [{ name: 'ops', password_hash: await hashPassword(PASSWORD) }] } },
    store: runtime.store, pbx: runtime.pbx, host: runtime.host, logger, version: 'browser-test',
    jobs: {
      whatIf: (request, signal) => whatIfFromSettings(rec.settings, runtime, request, { logger, signal }),
      reprocess: (selection, progress) => reprocessInRuntime(rec.settings, runtime, selection, { logger, progress }),
    },
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await stopPipeline?.();
  await runtime?.close();
  rec?.cleanup();
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test('sign in: a wrong password is refused, the right one opens the overview', async () => {
  await page.goto(server.url);
  assert.match(page.url(), /\/login$/);
  await page.fill('#name', 'ops');
  await page.fill('#password', 'wrong');
  await page.click('#submit');
  await page.waitForSelector('#error:has-text("wrong user name or password")');
  await page.fill('#password', PASSWORD);
  await page.click('#submit');
  await page.waitForSelector('#app-status.Ok');
  assert.equal(await page.textContent('#who'), 'ops');
  assert.equal(await page.textContent('#calls-count'), '11');
  await page.waitForSelector('#chart-calls svg rect');
  await shot('1-overview');
});

test('hooks: a broken save shows the hook failed with file:line; the fix brings it back', async () => {
  await page.click('a[data-tab="hooks"]');
  const row = 'tr[data-hook="process_client_phone.ts"]';
  await page.waitForSelector(`${row} .state-active`);
  const file = path.join(rec.hooksDir, 'process_client_phone.ts');
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, `${good}\nconst broken: number = 'text';\n`);
  await page.waitForSelector(`${row} .state:has-text("edit on disk failed")`, { timeout: 60_000 });
  const error = await page.textContent(`${row} .last-error`);
  assert.match(error ?? '', /process_client_phone\.ts:\d+:\d+ HOOK_TYPE/);
  await shot('2-hook-broken');
  writeFileSync(file, good);
  // (A string: this project's TypeScript has no DOM library; the expression runs in the page.)
  await page.waitForFunction(`(() => { const e = document.querySelector('${row} .state'); return e !== null && e.classList.contains('state-active') && !e.textContent.includes('edit on disk failed'); })()`, undefined, { timeout: 60_000 });
  await page.click(`${row} a.hook-name`);
  await page.waitForSelector('#hook-source-text');
  assert.equal(await page.textContent('#hook-source-text'), good, "the hook's source as on disk");
  await shot('3-hook-fixed');
});

test("calls: a call's timeline shows each stage's hooks and CRM requests", async () => {
  await page.click('a[data-tab="calls"]');
  await page.waitForSelector('#calls-table tbody tr');
  assert.equal(await page.locator('#calls-table tbody tr').count(), 11);
  const registered = page.locator('#calls-table tbody tr', { hasText: 'registered ' }).first();
  await registered.click();
  await page.waitForSelector('#timeline .stage');
  assert.ok(await page.locator('#timeline .hook-step').count() > 0);
  assert.ok(await page.locator('#timeline .crm-step', { hasText: 'telephony.externalcall.register' }).count() > 0);
  await page.locator('#timeline .hook-step details').first().click();
  await shot('4-call-timeline');
});

test('what-if: a stricter blacklist pasted into the form shows the calls whose decision changes', async () => {
  await page.click('a[data-tab="whatif"]');
  await page.waitForSelector('#whatif-file option[value="need_registration.blacklist.ts"]', { state: 'attached' });
  await page.selectOption('#whatif-file', 'need_registration.blacklist.ts');
  const current = readFileSync(path.join(rec.hooksDir, 'need_registration.blacklist.ts'), 'utf8');
  await page.waitForFunction(`document.querySelector('#whatif-source').value === ${JSON.stringify(current)}`);
  await page.fill('#whatif-source', current.replace("new Set(['204'])", "new Set(['204', '202'])"));
  await page.click('#whatif-run');
  await page.waitForSelector('#whatif-summary', { timeout: 60_000 });
  const summary = await page.textContent('#whatif-summary');
  const m = /(\d+) differ in (\d+) calls/.exec(summary ?? '');
  assert.ok(m && Number(m[2]) > 0, summary ?? '');
  assert.equal(await page.locator('#whatif-result .diff').count(), Number(m[1]));
  assert.match(await page.locator('#whatif-result .diff').first().textContent() ?? '', /live true.*with the change false/s);
  await shot('5-whatif');
});

test("hooks switched off on the page: the point's default applies on the call's next run; reprocess shows progress", async () => {
  await page.click('a[data-tab="hooks"]');
  for (const hook of ['need_registration.blacklist.ts', 'need_registration.whitelist.ts']) {
    await page.click(`input[data-hook="${hook}"]`);
    await page.waitForSelector(`tr[data-hook="${hook}"] .state-disabled`);
  }
  await shot('6-hooks-off');
  let blocked = '';
  for (const c of await runtime.store.listCalls(runtime.pbx)) {
    const r = await readCallReport(runtime.store, runtime.pbx, c.linkedid);
    if (r?.summary?.not_registered === 'need_registration said no') blocked = c.linkedid;
  }
  assert.ok(blocked !== '');
  await page.click('a[data-tab="reprocess"]');
  await page.fill('#reprocess-form input[name="ids"]', blocked);
  await page.click('#reprocess-run');
  await page.waitForSelector('#reprocess-state:has-text("done: 1 / 1")', { timeout: 60_000 });
  await page.click('a[data-tab="calls"]');
  await page.locator(`#calls-table tbody tr[data-linkedid="${blocked}"]`).click();
  await page.waitForSelector('#timeline .default-applied');
  assert.match(await page.locator('#timeline .default-applied').first().textContent() ?? '', /default applied/);
  await shot('7-default-applied');

  // A period: the bar fills as the calls finish.
  await page.click('a[data-tab="reprocess"]');
  await page.fill('#reprocess-form input[name="ids"]', '');
  await page.fill('#reprocess-form input[name="from"]', '2000-01-01 00:00:00');
  await page.click('#reprocess-run');
  const seen = new Set<string>();
  const deadline = Date.now() + 120_000;
  for (;;) {
    const text = (await page.textContent('#reprocess-state')) ?? '';
    seen.add(text.split(';')[0] ?? '');
    if (text.startsWith('done') || text.startsWith('failed') || Date.now() > deadline) break;
    await page.waitForTimeout(100);
  }
  assert.match(await page.textContent('#reprocess-state') ?? '', /^done: 11 \/ 11 calls/);
  assert.deepEqual(await page.evaluate("(() => { const p = document.querySelector('#reprocess-progress'); return [p.value, p.max, p.hidden]; })()"), [11, 11, false], 'the bar is full');
  await shot('8-reprocess-done');
  assert.ok([...seen].some((s) => /^\d+ \/ 11 calls$/.test(s) || s === 'reading CEL…'), `progress was shown while it ran: ${[...seen].join(' | ')}`);
});
