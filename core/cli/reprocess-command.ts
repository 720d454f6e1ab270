// `callhook reprocess`: runs calls of a period, or given by id, through the hooks and the CRM pipeline
// again (core/run/reprocess.ts). Prints each call as `callhook run` does, then what was sent and what
// the outbox already had.
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { loadSettings, SettingsError, type Settings } from '../settings/index.js';
import { reprocess, type ReprocessSelection } from '../run/reprocess.js';
import { renderCallReport } from '../run/report.js';
import { commands } from './commands.js';
import { Bitrix24SettingsError } from '../crm/bitrix24/settings.js';

const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

export async function run(argv: string[]): Promise<number> {
  const usage = `usage: ${commands.reprocess?.usage ?? 'callhook reprocess'}`;
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        settings: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, id: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    process.stderr.write(`callhook reprocess: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const { from, to, id: ids, json } = args.values;
  let selection: ReprocessSelection;
  if (ids !== undefined && ids.length > 0) {
    if (from !== undefined || to !== undefined) {
      process.stderr.write(`callhook reprocess: --id or --from/--to, not both\n${usage}\n`);
      return 2;
    }
    selection = { ids };
  } else if (from !== undefined) {
    for (const [name, value] of [['--from', from], ['--to', to]] as const) {
      if (value !== undefined && !TIME.test(value)) {
        process.stderr.write(`callhook reprocess: ${name} "${value}" is not YYYY-MM-DD HH:MM:SS (PBX-local time)\n${usage}\n`);
        return 2;
      }
    }
    if (to !== undefined && to < from) {
      process.stderr.write(`callhook reprocess: --to ${to} is before --from ${from}\n`);
      return 2;
    }
    selection = to !== undefined ? { from, to } : { from };
  } else {
    process.stderr.write(`callhook reprocess: which calls? --from "YYYY-MM-DD HH:MM:SS" [--to ...] or --id LINKEDID\n${usage}\n`);
    return 2;
  }
  let settings: Settings;
  try {
    settings = await loadSettings(args.values.settings !== undefined ? { file: args.values.settings } : {});
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ level: process.env.CALLHOOK_LOG_LEVEL ?? settings.log.level });
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const out = (text: string): void => void process.stdout.write(text);
  try {
    return await runReprocess();
  } catch (error) {
    if (error instanceof Bitrix24SettingsError) {
      process.stderr.write(`${args.values.settings ?? 'settings'}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }

  async function runReprocess(): Promise<number> {
    let done = 0;
    let total = 0;
    const result = await reprocess(settings, selection, {
      logger,
      signal: abort.signal,
      onSelected: (n) => {
        total = n;
        if (!json) out(`${n} call${n === 1 ? '' : 's'} to process again\n\n`);
      },
      onCall: ({ report, sent, reused }) => {
        done++;
        if (json) out(`${JSON.stringify({ ...report, reprocess: { sent, reused } })}\n`);
        else out(`${renderCallReport(report)}    [${done}/${total}] ${sent} CRM request${sent === 1 ? '' : 's'} sent, ${reused} already in the CRM (not sent again)\n\n`);
      },
    });
    const summary = `${result.calls} calls reprocessed: ${result.sent} CRM requests sent, ${result.reused} already delivered and not sent again${result.parked > 0 ? `, ${result.parked} parked` : ''}${result.notFound.length > 0 ? `; no CEL rows for ${result.notFound.join(', ')}` : ''}${abort.signal.aborted ? '; stopped' : ''}\n`;
    if (json) process.stderr.write(summary);
    else out(summary);
    return result.notFound.length > 0 && result.calls === 0 ? 1 : 0;
  }
}
