// `callhook run`: runs the connector on the settings file (none = the embedded demo defaults: the bundled
// CEL sample, the example hooks, a local demo Bitrix24 it starts itself, a temporary embedded store).
// Each processed call is printed with what every hook decided and every CRM request and answer at each
// stage (--json: one JSON line per call with call_full, the traces and the outbox entries); the demo
// ends with what its CRM received. A `mariadb` CEL source runs live until Ctrl-C / SIGTERM.
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { SettingsError, type Settings } from '../settings/index.js';
import { NumberSettingsError } from '../numbers/index.js';
import { Bitrix24SettingsError } from '../crm/bitrix24/settings.js';
import { ClickToCallSettingsError, CLICK_TO_CALL_POINTS } from '../click-to-call/settings.js';
import { runConnector } from '../run/connector.js';
import { runPairs, type Pair } from '../run/pairs.js';
import path from 'node:path';
import { renderCallReport, renderHooksHeader } from '../run/report.js';
import { BITRIX24_POINTS, KOMMO_POINTS } from '../pipeline/index.js';
import { packageVersion } from './version-command.js';
import { loadHookSettings } from './hook-settings.js';
import { adminAttachment } from '../http/attach.js';
import { HttpSettingsError } from '../http/auth.js';

const USAGE = 'usage: callhook run [--settings settings.json]... [--json]';

/**
 * Several settings files: one PBX/CRM pair each, in this process, isolated from each other (core/run/pairs.ts).
 * Each pair is named after its file; every call line carries the pair's name.
 */
async function runSeveral(files: readonly string[], json: boolean): Promise<number> {
  const pairs: Pair[] = [];
  for (const file of files) {
    try {
      const settings = await loadHookSettings(file);
      if (settings.cel.source !== 'mariadb') {
        process.stderr.write(`${file}: /cel/source: several pairs run live: each needs a mariadb CEL source\n`);
        return 1;
      }
      pairs.push({ name: path.basename(file).replace(/\.json$/i, ''), settings });
    } catch (error) {
      if (error instanceof SettingsError) {
        process.stderr.write(`${error.message}\n`);
        return 1;
      }
      throw error;
    }
  }
  const names = new Set(pairs.map((p) => p.name));
  if (names.size !== pairs.length) {
    process.stderr.write('callhook run: two settings files have the same name; each pair is named after its file\n');
    return 2;
  }
  const logger = createLogger({ level: process.env.CALLHOOK_LOG_LEVEL ?? pairs[0]!.settings.log.level });
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (!json) process.stdout.write(`callhook ${packageVersion()}: ${pairs.length} pairs: ${pairs.map((p) => p.name).join(', ')}\n`);
  try {
    await runPairs(pairs, {
      logger,
      signal: abort.signal,
      onCall: (pair, report) => void process.stdout.write(json ? `${JSON.stringify({ pair, ...report })}\n` : `[${pair}] ${renderCallReport(report)}\n`),
    });
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Where the hooks come from, said plainly: a settings file without hooks.folder runs no loose hooks. */
function hooksBanner(settings: Settings, settingsFile: string | undefined): string {
  const packs = settings.hooks.packs.filter((p) => p.enabled).length;
  const withPacks = packs > 0 ? ` + ${packs} pack${packs === 1 ? '' : 's'}` : '';
  if (!settings.hooks.enabled) return 'hooks: OFF (hooks.enabled is false: every point uses its default)';
  if (settings.hooks.folder !== '') return `hooks ${settings.hooks.folder}${withPacks}`;
  const where = `hooks.folder is not set in ${settingsFile ?? 'the settings'}`;
  return packs > 0 ? `hooks: no loose hook files (${where})${withPacks}` : `hooks: none (${where}: every point uses its default)`;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { settings: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    process.stderr.write(`callhook run: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const files = args.values.settings ?? [];
  if (files.length > 1) return runSeveral(files, args.values.json === true);
  const settingsFile = files[0];
  let settings: Settings;
  try {
    // Broken packs, a missing hooks folder or a misspelt file name stop the run here, naming the key.
    settings = await loadHookSettings(settingsFile);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const json = args.values.json === true;
  const out = (text: string): void => void process.stdout.write(text);
  const logger = createLogger({ level: process.env.CALLHOOK_LOG_LEVEL ?? settings.log.level });

  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const cel = settings.cel.source === 'replay' ? `replay ${settings.cel.replay.path}` : `mariadb ${settings.cel.mariadb.host}:${settings.cel.mariadb.port}/${settings.cel.mariadb.database}.${settings.cel.mariadb.table}`;
  if (!json) out(`callhook ${packageVersion()}: settings ${settingsFile ?? '(embedded demo defaults)'}; CEL ${cel}; ${hooksBanner(settings, settingsFile)}\n`);
  try {
    const result = await runConnector(settings, {
      logger,
      signal: abort.signal,
      // The admin server's address on stderr (stdout stays the call reports): scripts and tests read it there.
      attach: adminAttachment(settings, { logger, version: packageVersion(), signal: abort.signal, onListening: (url) => process.stderr.write(`admin server ${url}\n`) }),
      onReady: ({ hooks, crm, store }) => {
        if (!json) out(`CRM ${crm.describe}; store ${store}\n${renderHooksHeader(hooks, [...(crm.program === 'kommo' ? KOMMO_POINTS : BITRIX24_POINTS), ...(settings.click_to_call.enabled && settings.cel.source !== 'replay' ? CLICK_TO_CALL_POINTS : [])])}\n`);
      },
      onCall: (report) => out(json ? `${JSON.stringify(report)}\n` : `${renderCallReport(report)}\n`),
    });
    const failed = result.hooks.filter((h) => h.state === 'failed').length;
    const summary = `${result.calls} calls, ${result.stages} stages, ${result.ingest.rows} CEL rows; ${result.hooks.length} hooks${failed > 0 ? ` (${failed} failed to load)` : ''}${result.parked > 0 ? `; ${result.parked} parked` : ''}${result.ingest.stopped === 'aborted' ? '; stopped' : ''}\n`;
    if (json) process.stderr.write(summary);
    else {
      if (result.crmReceived !== null) out(`What the demo CRM received:\n${result.crmReceived}\n`);
      out(summary);
    }
    return 0;
  } catch (error) {
    // Settings the schema accepts but that cannot work (a webhook URL that is no webhook URL, a rule that
    // cannot compile): named by file and key like every other settings problem, before anything runs.
    if (error instanceof NumberSettingsError || error instanceof Bitrix24SettingsError || error instanceof ClickToCallSettingsError || error instanceof HttpSettingsError) {
      process.stderr.write(`${settingsFile ?? 'settings'}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
