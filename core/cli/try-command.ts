// `callhook try <hook.ts> --input <input.json> [--hook NAME]`: the support engineer's tool. Runs one hook
// file once in the sandbox and prints its result, its logs and its timing, or the mapped error
// ("file:line:col CODE message", exit 1). The sandbox work lives in sandbox/try.ts (tryHook), so the hook
// host can extend this command (call_full inputs, stages) without duplicating it.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { tryHook, type JsonValue, type TryResult } from '../../sandbox/index.js';
import { judge, planFromCall, type CallTryPlan } from '../../hooks/try-call.js';
import { getHookPoint, isHookPointName } from '../../hooks/catalogue.js';
import { pointFromFileName } from '../../hooks/host.js';

const USAGE = 'usage: callhook try <hook.ts> (--input <input.json> | --call <call_full.json> [--stage STAGE]) [--hook NAME] [--root DIR] [--allow-host HOST]... [--settings-json JSON] [--json]';

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        input: { type: 'string' }, hook: { type: 'string' }, root: { type: 'string' },
        'allow-host': { type: 'string', multiple: true }, 'settings-json': { type: 'string' }, json: { type: 'boolean' },
        call: { type: 'string' }, stage: { type: 'string' },
      },
    });
  } catch (error) {
    process.stderr.write(`callhook try: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0 || !parsed.values.input === !parsed.values.call) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let input: JsonValue;
  let hookSettings: JsonValue = {};
  // --call: the hook host builds the point's catalogue input from a call_full (hooks/try-call.ts).
  let plan: CallTryPlan | null = null;
  try {
    if (parsed.values.call) {
      plan = await planFromCall(file, parsed.values.call, { ...(parsed.values.stage ? { stage: parsed.values.stage } : {}), ...(parsed.values.hook ? { hook: parsed.values.hook } : {}) });
      input = plan.input;
    } else input = JSON.parse(await readFile(parsed.values.input ?? '', 'utf8')) as JsonValue;
    if (parsed.values['settings-json']) hookSettings = JSON.parse(parsed.values['settings-json']) as JsonValue;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    process.stderr.write(parsed.values.call ? `callhook try: ${why}\n` : `callhook try: cannot read ${parsed.values.input}: ${why}\n`);
    return 2;
  }
  // The call gets the time budget the host would give it: its hook point's (see hooks.budgets).
  const point = plan?.point ?? parsed.values.hook ?? pointFromFileName(file);
  const result = await tryHook({
    file, input, hookSettings, logger: createLogger({ level: 'error' }),
    ...(isHookPointName(point) ? { wallMs: getHookPoint(point).budgetMs } : {}),
    ...(plan ? { hook: plan.point } : parsed.values.hook ? { hook: parsed.values.hook } : {}),
    ...(parsed.values.root ? { root: parsed.values.root } : {}),
    ...(parsed.values['allow-host'] ? { allowHosts: parsed.values['allow-host'] } : {}),
  });
  print(result, parsed.values.json === true);
  if (plan && result.ok) {
    const verdict = judge(plan, result.value ?? null);
    process.stderr.write(`${verdict.message}\n`);
    if (verdict.kind === 'invalid') return 1;
  }
  return result.ok ? 0 : 1;
}

/** Result on stdout (JSON), logs and timing on stderr, so `--json`-less output can still be piped. */
export function print(result: TryResult, json: boolean): void {
  const t = result.timings;
  if (json) {
    process.stdout.write(`${JSON.stringify({ hook: result.hook, ok: result.ok, value: result.value, error: result.error?.toJSON(), logs: result.logs, timings: t }, null, 2)}\n`);
    return;
  }
  for (const entry of result.logs) {
    process.stderr.write(`[${entry.level}] ${entry.message}${entry.data !== undefined ? ` ${JSON.stringify(entry.data)}` : ''}\n`);
  }
  if (result.ok) process.stdout.write(`${JSON.stringify(result.value, null, 2)}\n`);
  else if (result.error) process.stderr.write(`${result.error.format()}\n${(result.error.stack ?? '').split('\n').slice(1).join('\n')}${(result.error.stack ?? '').includes('\n') ? '\n' : ''}`);
  process.stderr.write(`hook ${result.hook}: compile ${t.compileMs.toFixed(1)} ms, load ${t.loadMs.toFixed(1)} ms, call ${t.invokeMs.toFixed(3)} ms\n`);
}
