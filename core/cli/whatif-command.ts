// `callhook whatif <hook.ts>`: what a changed hook file would have decided on the calls the connector
// recorded (core/whatif): loaded as the connector loads it, run in the sandbox on the recorded inputs of
// its point, nothing sent to the CRM. Prints the calls where the decision differs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { SettingsError, type Settings } from '../settings/index.js';
import { openStoreFromSettings, pbxKey } from '../store/index.js';
import { runWhatIf, WhatIfError, type WhatIfSelection } from '../whatif/index.js';
import { loadHookSettings } from './hook-settings.js';
import { commands } from './commands.js';

const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

function show(v: unknown): string {
  return JSON.stringify(v) ?? 'undefined';
}

export async function run(argv: string[]): Promise<number> {
  const usage = `usage: ${commands.whatif?.usage ?? 'callhook whatif <hook.ts>'}`;
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: true,
      options: { settings: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, id: { type: 'string', multiple: true }, limit: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
  } catch (error) {
    process.stderr.write(`callhook whatif: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const file = args.positionals[0];
  if (file === undefined || args.positionals.length > 1) {
    process.stderr.write(`callhook whatif: name one hook file\n${usage}\n`);
    return 2;
  }
  const { from, to, id: ids, json } = args.values;
  for (const [name, value] of [['--from', from], ['--to', to]] as const) {
    if (value !== undefined && !TIME.test(value)) {
      process.stderr.write(`callhook whatif: ${name} "${value}" is not YYYY-MM-DD HH:MM:SS (PBX-local time)\n`);
      return 2;
    }
  }
  const limit = args.values.limit !== undefined ? Number(args.values.limit) : 10_000;
  if (!Number.isInteger(limit) || limit < 1) {
    process.stderr.write(`callhook whatif: --limit "${args.values.limit}" is not a positive integer\n`);
    return 2;
  }
  const selection: WhatIfSelection = { ...(ids !== undefined ? { ids } : {}), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), limit };
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    process.stderr.write(`callhook whatif: cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  let settings: Settings;
  try {
    settings = await loadHookSettings(args.values.settings);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (settings.store.sqlite.path === '' && settings.store.kind !== 'mariadb' && settings.cel.source !== 'mariadb') {
    process.stderr.write('callhook whatif: the settings name no connector store with recorded calls (store.sqlite.path or a mariadb store): the demo keeps none\n');
    return 1;
  }
  const logger = createLogger({ level: process.env.CALLHOOK_LOG_LEVEL ?? 'warn' });
  const opened = await openStoreFromSettings(settings);
  try {
    const result = await runWhatIf({ settings, store: opened.store, pbx: pbxKey(settings), name: path.basename(file), source, selection, logger });
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return result.loadError === null ? 0 : 1;
    }
    if (result.loadError !== null) {
      process.stdout.write(`${result.hook} does not load: ${result.loadError}\n`);
      return 1;
    }
    for (const d of result.differences) {
      process.stdout.write(`${d.linkedid} ${d.stage}${d.conversationId ? ` ${d.conversationId}` : ''} ${d.point}: live ${show(d.live.value)}${d.live.cancelled ? ' (cancelled)' : ''} → with ${result.hook} ${show(d.candidate.value)}${d.candidate.cancelled ? ' (cancelled)' : ''}\n`);
      for (const h of d.candidate.hooks) process.stdout.write(`    ${h.hook} ${h.outcome}${h.output !== undefined ? ` → ${show(h.output)}` : ''}${h.error ? ` ${h.error}` : ''}\n`);
    }
    process.stdout.write(`${result.hook} at ${result.point}: ${result.calls} calls, ${result.decisions} recorded decisions run again, ${result.differences.length} differ in ${result.changedCalls} calls (${result.durationMs} ms; nothing sent to the CRM)\n`);
    return 0;
  } catch (error) {
    if (error instanceof WhatIfError) {
      process.stderr.write(`callhook whatif: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await opened.cleanup();
  }
}
