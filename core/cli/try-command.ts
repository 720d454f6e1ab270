// `callhook try <hook.ts>`: runs one hook file once, loaded by the hook host exactly as the connector loads
// it (the settings' packs, file settings, allow lists, budgets and sandbox limits; type check; compile; load
// in the configured isolation, a supervised child process by default), on an input or a call, and prints
// the hook's result, what that decision means at its point, its logs and where the time went. A step left
// out on request (--no-typecheck, --inline) is said on every run.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { SettingsError, type Settings } from '../settings/index.js';
import { createDefaultEngine, type HookEngine, type InvokeOutcomeLike, type JsonObject, type JsonValue } from '../../hooks/engine.js';
import { createHookHost, type HookHostOptions, type HookStatus } from '../../hooks/host.js';
import { PACK_MANIFEST } from '../../hooks/packs.js';
import { hostOptionsFromSettings } from '../../hooks/settings.js';
import { describeDecision, inputFromCall, readCall, readPointInput, stageFor, TryInputError, type CallChoice } from '../../hooks/try-call.js';
import { isHookPointName, type HookPointName, type HookStage } from '../../hooks/catalogue.js';
import { canonicalEntry } from '../../sandbox/allow-hosts.js';
import { escapeControl } from '../../sandbox/index.js';
import { pointFromFileName } from '../../hooks/host.js';
import { declaredPointInSource } from '../../hooks/typecheck.js';
import { commands } from './commands.js';
import { loadHookSettings } from './hook-settings.js';

const USAGE = `usage: ${commands.try?.usage ?? 'callhook try'}`;

/** How the file is found in the settings: a pack's hook, a loose file of hooks.folder, or on its own. */
interface Placement {
  kind: 'pack' | 'folder';
  root: string;
  /** Where its settings and allow list came from, for the report. */
  from: string;
  settings: JsonValue;
  allowHosts: string[];
}

/** A folder as the author typed it: relative to the working directory when inside it. */
function shown(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? dir : rel;
}

function place(abs: string, settings: Settings, settingsFile: string | undefined): Placement {
  const dir = path.dirname(abs);
  const name = path.basename(abs);
  const ofSettings = settingsFile ?? 'the demo settings';
  const packIndex = settings.hooks.packs.findIndex((p) => path.resolve(p.path) === dir);
  const pack = settings.hooks.packs[packIndex];
  if (pack) return { kind: 'pack', root: dir, from: `hooks.packs[${packIndex}] of ${ofSettings}`, settings: pack.settings as JsonValue, allowHosts: pack.allow_hosts };
  if (existsSync(path.join(dir, PACK_MANIFEST))) return { kind: 'pack', root: dir, from: `${shown(dir)} (not a pack of ${ofSettings}: settings {} and no http)`, settings: {}, allowHosts: [] };
  if (settings.hooks.folder !== '' && path.resolve(settings.hooks.folder) === dir) {
    return { kind: 'folder', root: dir, from: `hooks.folder of ${ofSettings}`, settings: (settings.hooks.file_settings[name] ?? {}) as JsonValue, allowHosts: settings.hooks.allow_hosts };
  }
  return { kind: 'folder', root: dir, from: `${shown(dir)} (not hooks.folder of ${ofSettings}: settings {} and no http)`, settings: {}, allowHosts: [] };
}

/** The real engine, watched: the compile and load times and each call's logs and error as the sandbox gave them. */
function observedEngine(engine: HookEngine): { engine: HookEngine; seen: { compileMs: number; loadMs: number; last: InvokeOutcomeLike | null } } {
  const seen = { compileMs: 0, loadMs: 0, last: null as InvokeOutcomeLike | null };
  return {
    seen,
    engine: {
      async compile(source) {
        const t = performance.now();
        try {
          return await engine.compile(source);
        } finally {
          seen.compileMs += performance.now() - t;
        }
      },
      async load(compiled, options) {
        const t = performance.now();
        const loaded = await engine.load(compiled, options).finally(() => (seen.loadMs += performance.now() - t));
        return {
          get declaredHook() {
            return loaded.declaredHook;
          },
          get health() {
            return loaded.health;
          },
          invoke: async (input, ctx) => (seen.last = await loaded.invoke(input, ctx)),
          dispose: () => loaded.dispose(),
        };
      },
      close: () => engine.close(),
    },
  };
}

function fail(message: string, code = 2): number {
  process.stderr.write(`callhook try: ${message}\n`);
  return code;
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        input: { type: 'string' }, call: { type: 'string' }, linkedid: { type: 'string' }, stage: { type: 'string' },
        settings: { type: 'string' }, 'settings-json': { type: 'string' }, 'allow-host': { type: 'string', multiple: true },
        inline: { type: 'boolean' }, 'no-typecheck': { type: 'boolean' }, json: { type: 'boolean' },
      },
    });
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const v = parsed.values;
  const [file, ...extra] = parsed.positionals;
  if (!file) return fail(`which hook file? ${USAGE}`);
  if (extra.length > 0) return fail(`one hook file at a time (also got ${extra.join(' ')})\n${USAGE}`);
  if (v.input === undefined && v.call === undefined) {
    return fail('say what to run the hook on: --input <input.json> (the point\'s input, as in docs/hooks.md) or --call <call file> (a call_full JSON, or the calls.jsonl `callhook replay <cel> --out calls.jsonl` writes)');
  }
  if (v.input !== undefined && v.call !== undefined) return fail('--input or --call, not both');
  if (v.input !== undefined && (v.linkedid !== undefined || v.stage !== undefined)) return fail('--linkedid and --stage go with --call (an --input already is the point\'s input)');
  const abs = path.resolve(file);
  if (!existsSync(abs)) return fail(`${file}: no such file`);

  let settings: Settings;
  try {
    settings = await loadHookSettings(v.settings);
  } catch (error) {
    if (error instanceof SettingsError) return fail(error.message, 1);
    throw error;
  }
  let settingsJson: JsonValue | undefined;
  if (v['settings-json'] !== undefined) {
    try {
      settingsJson = JSON.parse(v['settings-json']) as JsonValue;
    } catch (error) {
      return fail(`--settings-json: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (settingsJson === null || typeof settingsJson !== 'object' || Array.isArray(settingsJson)) return fail('--settings-json: must be a JSON object (the hook\'s or its pack\'s settings)');
  }

  for (const entry of v['allow-host'] ?? []) {
    if (canonicalEntry(entry) === null) return fail(`--allow-host ${entry}: must be host:port, e.g. crm.example.com:443 or 127.0.0.1:8080`);
  }
  const placement = place(abs, settings, v.settings);
  let typecheckMs = 0;
  const hookSettings = settingsJson ?? placement.settings;
  const allowHosts = [...placement.allowHosts, ...(v['allow-host'] ?? [])];
  const logger = createLogger({ level: 'silent' });
  const base = hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger, watch: false });
  const isolation = v.inline === true ? 'inline' : base.isolation ?? 'process';
  const watched = observedEngine(createDefaultEngine(isolation, logger));
  const options: HookHostOptions = {
    ...base,
    // The file runs even where the settings switch it (or its point, or all hooks) off: that is said below.
    enabled: true,
    points: {},
    files: {},
    only: abs,
    folder: placement.kind === 'folder' ? placement.root : null,
    fileSettings: { [path.basename(abs)]: hookSettings },
    packs: placement.kind === 'pack' ? [{ path: placement.root, settings: hookSettings, allowHosts }] : [],
    allowHosts,
    isolation,
    typecheck: v['no-typecheck'] !== true,
    engine: watched.engine,
    onTypecheck: (_file, ms) => (typecheckMs += ms),
  };
  const skipped = [
    ...(v['no-typecheck'] === true ? ['type check SKIPPED (--no-typecheck): the connector type-checks every hook and refuses one that fails'] : []),
    ...(v.inline === true && base.isolation !== 'inline' ? ['INLINE isolation (--inline): the connector runs hooks in a supervised child process'] : []),
    ...(v['allow-host'] ? [`--allow-host ${v['allow-host'].join(', ')}: allowed here only; the connector allows what the settings list`] : []),
    ...(settingsJson !== undefined ? ['--settings-json: the hook gets these settings here; the connector gives it what the settings file says'] : []),
    ...switchedOff(settings, abs),
  ];
  const json = v.json === true;
  const loadedAs = `${placement.kind === 'pack' ? 'a hook of the pack in' : 'a loose hook file of'} ${placement.from}`;
  if (!json) {
    process.stderr.write(`callhook try: ${path.basename(abs)} as ${loadedAs}\n`);
    for (const s of skipped) process.stderr.write(`callhook try: note: ${s}\n`);
  }

  const prepare = async (point: HookPointName): Promise<Prepared> => {
    const stage = v.call !== undefined ? stageFor(point, v.stage) : undefined;
    if (v.call !== undefined && stage !== undefined) {
      const call = await readCall(v.call, { ...(v.linkedid !== undefined ? { linkedid: v.linkedid } : {}), stage });
      return { point, stage, call, input: inputFromCall(point, call, stage, settings.hooks.recordings_root, v.call) };
    }
    return { point, stage, call: null, input: await readPointInput(point, v.input ?? '') };
  };
  const started = performance.now();
  let setupMs = 0;
  const hostReady = createHookHost(options).then(async (h) => {
    await h.whenIdle();
    setupMs = performance.now() - started;
    return h;
  });
  // While the sandbox starts (esbuild, the child process), build and validate the input for the point the
  // file names: that work overlaps the child's start instead of following it. The loaded hook decides.
  hostReady.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile
  const guess = await guessPoint(abs, placement.kind);
  const early = guess !== null ? await prepare(guess).catch((error: unknown) => error) : null;
  const host = await hostReady.catch(async (error: unknown) => {
    await watched.engine.close();
    throw error;
  });
  try {
    const status = host.status();
    const entry = status.find((s) => s.file === abs);
    const packError = status.find((s) => s.source === 'pack' && s.state === 'failed');
    const broken = entry?.state === 'failed' ? entry : entry === undefined ? packError : undefined;
    if (broken || !entry || entry.point === null) {
      return reportLoadFailure(broken ?? entry, file, json);
    }
    const point = entry.point;
    if (settings.hooks.points[point] === false) {
      skipped.push(`hooks.points.${point} is false in the settings: the connector does not run this point`);
      if (!json) process.stderr.write(`callhook try: note: ${skipped[skipped.length - 1]}\n`);
    }
    let prepared: Prepared;
    try {
      if (early instanceof Error) throw early;
      prepared = early !== null && (early as Prepared).point === point ? (early as Prepared) : await prepare(point);
    } catch (error) {
      if (error instanceof TryInputError) return fail(error.message);
      throw error;
    }
    const { input, call, stage } = prepared;
    const t = performance.now();
    const result = await host.runPoint(point, input, { ...(stage !== undefined ? { stage } : {}), ...(call?.linkedid ? { callId: call.linkedid } : {}) });
    const callMs = performance.now() - t;
    const hookCall = result.trace.hooks[0];
    const outcome = watched.seen.last;
    const decision = describeDecision(result);
    // Compile and load run beside the type check (hooks/host.ts): the ready time is not their sum.
    const timings = {
      readyMs: round(setupMs),
      typecheckMs: round(typecheckMs),
      compileMs: round(watched.seen.compileMs),
      loadMs: round(watched.seen.loadMs),
      callMs: round(hookCall?.durationMs ?? callMs),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify({
        hook: entry.hook, point, stage: result.trace.stage, linkedid: call?.linkedid ?? null, input,
        ok: decision.ok, outcome: hookCall?.outcome ?? null, output: hookCall?.output ?? null, value: result.value, cancelled: result.cancelled,
        decision: decision.text, error: hookCall?.error ?? null, logs: outcome?.logs ?? [], loadedAs, isolation, typecheck: options.typecheck, notes: skipped, timings,
      }, null, 2)}\n`);
      return decision.ok ? 0 : 1;
    }
    for (const entryLog of outcome?.logs ?? []) writeLog(entryLog);
    if (hookCall?.outcome === 'ok' || hookCall?.outcome === 'cancelled') process.stdout.write(`${JSON.stringify(hookCall.output ?? null, null, 2).split('\n').map(escapeControl).join('\n')}\n`);
    else if (hookCall?.error) {
      const e = hookCall.error;
      const where = e.line !== undefined ? `${entry.hook}:${e.line}:${e.column ?? 1}` : entry.hook;
      process.stderr.write(`${where} ${e.code} ${e.message}\n`);
      const stack = outcome && !outcome.ok ? (outcome.error as { stack?: unknown }).stack : undefined;
      if (typeof stack === 'string') for (const frame of stack.split('\n').slice(1)) process.stderr.write(`${frame}\n`);
    }
    process.stderr.write(`${decision.text}\n`);
    process.stderr.write(
      `hook ${entry.hook}: ready in ${timings.readyMs.toFixed(0)} ms (type check ${options.typecheck ? `${timings.typecheckMs.toFixed(0)} ms` : 'skipped'}, compile ${timings.compileMs.toFixed(1)} ms, load ${timings.loadMs.toFixed(1)} ms, side by side), call ${timings.callMs.toFixed(3)} ms (${isolation} isolation)\n`,
    );
    return decision.ok ? 0 : 1;
  } finally {
    await host.close();
    await watched.engine.close();
  }
}

interface Prepared {
  point: HookPointName;
  stage: HookStage | undefined;
  call: CallChoice | null;
  input: JsonObject;
}

/** The point the file claims before it loads (its pack manifest's entry, defineHook, or its name). */
async function guessPoint(abs: string, kind: 'pack' | 'folder'): Promise<HookPointName | null> {
  try {
    if (kind === 'pack') {
      const manifest = JSON.parse(await readFile(path.join(path.dirname(abs), PACK_MANIFEST), 'utf8')) as { hooks?: Array<{ hook?: string; file?: string }> };
      const hook = manifest.hooks?.find((h) => h.file === path.basename(abs))?.hook;
      return hook !== undefined && isHookPointName(hook) ? hook : null;
    }
    const name = declaredPointInSource(await readFile(abs, 'utf8')) ?? pointFromFileName(abs);
    return isHookPointName(name) ? name : null;
  } catch {
    return null;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Notes for settings that keep the connector from running this file, which `try` runs anyway. */
function switchedOff(settings: Settings, abs: string): string[] {
  const name = path.basename(abs);
  const out: string[] = [];
  if (!settings.hooks.enabled) out.push('hooks.enabled is false in the settings: the connector runs no hook');
  if (settings.hooks.files[name] === false) out.push(`hooks.files["${name}"] is false in the settings: the connector does not run this file`);
  return out;
}

function writeLog(entry: unknown): void {
  if (entry === null || typeof entry !== 'object') return;
  const { level, message, data } = entry as { level?: unknown; message?: unknown; data?: unknown };
  process.stderr.write(`[${String(level)}] ${String(message)}${data !== undefined ? ` ${JSON.stringify(data)}` : ''}\n`);
}

/** The hook (or its pack) did not load: the error as run's status has it, with every type-check finding. */
function reportLoadFailure(entry: HookStatus | undefined, file: string, json: boolean): number {
  const e = entry?.lastError;
  if (!entry || !e) return fail(`${file}: not loaded (is it a hook file? names starting with '_' are helpers)`, 1);
  const findings = e.diagnostics ?? [{ file: e.file, line: e.line ?? 1, column: e.column ?? 1, code: e.code, message: e.message }];
  if (json) {
    process.stdout.write(`${JSON.stringify({ hook: entry.hook, point: entry.point, ok: false, error: { code: e.code, message: e.message, file: e.file, line: e.line ?? null, column: e.column ?? null }, findings }, null, 2)}\n`);
    return 1;
  }
  for (const d of findings) process.stderr.write(`${d.file}:${d.line}:${d.column} ${d.code} ${d.message}\n`);
  const point = entry.point !== null && isHookPointName(entry.point) ? entry.point : null;
  process.stderr.write(`${entry.hook}: not loaded${point ? ` at ${point}` : ''}; the connector refuses it too (${e.code}), and keeps a working previous version active if it had one\n`);
  return 1;
}
