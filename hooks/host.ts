// The hook host: loads hook files (packs first, then the loose files of the hooks folder), keeps them
// in sync with the disk (chokidar, per-file debounce, content hash, type check, fresh isolate, atomic
// swap), runs points for the connector and reports status.
//
// Versions: the host holds one immutable "generation" (which loaded version of every hook is active,
// sorted per point). A reload builds a new generation and swaps the pointer; it never mutates a list an
// invocation is iterating (the Fastify buildHooks copy idea). One runPoint takes the current generation
// at its start and pins the hooks it may call until it ends, so an invocation never mixes two versions
// of the hook set. A call passing through several stages uses the newest generation at each stage.
import { createHash } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { createLogger } from '../core/log.js';
import type { HostErrorCode } from './error-codes.js';
import { ActiveHook, type HookIdentity, type HookOrigin } from './active-hook.js';
import { getHookPoint, isHookPointName, type HookPointName, type HookStage } from './catalogue.js';
import { entryStaysInside } from '../sandbox/compile.js';
import { DEFAULT_SANDBOX_SETTINGS, breakerFrom, httpPolicyFrom, limitsFrom, type SandboxSettings } from '../sandbox/settings.js';
import {
  createDefaultEngine, toHookError, type CompiledHookLike, type EngineBatchItem, type HookEngine, type InvokeOutcomeLike, type JsonObject,
  type JsonValue, type LoadedHookLike,
} from './engine.js';
import { startInOrder } from '../sandbox/batch.js';
import { PACK_MANIFEST, PackError, readPack, type LoadedPack } from './packs.js';
import { ahead, plannedCalls, runHook, runPointWith, type Invoker, type PointResult, type RunContext, type RunEnv } from './runner.js';
import { HookTypeChecker, declaredPointInSource, diagnosticText, failureCode, formatDiagnostic } from './typecheck.js';
import { HOOK_POINT_NAMES } from './catalogue.js';
import { suggestKey } from '../core/settings/suggest.js';

export interface PackRef {
  /** Folder holding callhook.pack.json (relative to the working directory or absolute). */
  path: string;
  enabled?: boolean;
  /** The pack's own settings, validated against its manifest's settings_schema. */
  settings?: JsonValue;
  /** What the operator approves for this pack's http (host:port); the manifest may only narrow it. */
  allowHosts?: string[];
}

/**
 * The host's options: the settings sections `hooks` and `sandbox` (see hostOptionsFromSettings in
 * hooks/settings.ts, which maps the snake_case settings keys to these), plus runtime wiring. Absent
 * sandbox limits take the `sandbox` section's defaults (DEFAULT_SANDBOX_SETTINGS).
 */
export interface HookHostOptions {
  /** Folder of loose hook files; null = none. */
  folder: string | null;
  /** The whole customizer on/off. Off = every point yields its default. */
  enabled?: boolean;
  /** Per point on/off (absent = on). */
  points?: Partial<Record<string, boolean>>;
  /** Per file on/off, keyed by display name ('blacklist.ts', 'acme-lists/blacklist.ts'); absent = on. */
  files?: Record<string, boolean>;
  /** Settings of loose hook files by file name (what the hook reads as `settings`); absent = {}. */
  fileSettings?: Record<string, JsonValue>;
  /** Load this one hook file only (absolute path; `callhook try`): the rest of the folder and packs stays unloaded. */
  only?: string;
  /** Packs, loaded in this order before loose files. */
  packs?: PackRef[];
  /** Per point time budget overrides in ms: the wall-clock deadline of one invocation at that point. */
  budgets?: Partial<Record<string, number>>;
  /** process_record_file_path results are confined to this folder. */
  recordingsRoot?: string;
  /** Quiet time after the last change of a file before it is reloaded. */
  debounceMs?: number;
  /** Type-check before loading (recommended; off only for benchmarks of the raw reload path). */
  typecheck?: boolean;
  /** Watch the folders for changes (off for one-shot runs such as `callhook try` or a replay). */
  watch?: boolean;
  /** sandbox.memory_mb: heap limit of each hook's isolate. */
  memoryMb?: number;
  /** sandbox.total_memory_mb: ceiling on the heaps of all hooks of one sandbox process together. */
  totalMemoryMb?: number;
  /** sandbox.cpu_ms_per_call: CPU ceiling of the synchronous part of any call (never above the point's budget). */
  cpuMsPerCall?: number;
  /** sandbox.http.timeout_ms: timeout of one http request of a hook. */
  httpTimeoutMs?: number;
  /** sandbox.http.max_response_bytes: largest http response body a hook may receive. */
  httpMaxResponseBytes?: number;
  /** sandbox.http.max_request_bytes, max_concurrent_requests, max_requests_per_call: what one hook's http may hold. */
  httpMaxRequestBytes?: number;
  httpMaxConcurrentRequests?: number;
  httpMaxRequestsPerCall?: number;
  /** sandbox.circuit_breaker: consecutive failures that start a cool-down, and its length. */
  breaker?: { failureThreshold: number; coolDownMs: number };
  /** How long a retired version may keep running in-flight invocations before its isolate is disposed. */
  drainDeadlineMs?: number;
  /** Hosts loose files may call through the host HTTP API. */
  allowHosts?: string[];
  /** sandbox.isolation: 'process' (supervised child process) or 'inline'; ignored when `engine` is given. */
  isolation?: 'process' | 'inline';
  logger?: Logger;
  /** Injected engine (default: the sandbox's isolated-vm host). The host closes only an engine it created. */
  engine?: HookEngine;
  /** types/index.d.ts used for the type check (default: this repo's). */
  typesIndex?: string;
  /** Told how long each type check took (`callhook try` reports where its start-up time goes). */
  onTypecheck?: (file: string, ms: number) => void;
}

export interface HookErrorReport {
  code: string;
  /** What is wrong, without the position (file, line and column are their own fields). */
  message: string;
  file: string;
  line?: number;
  column?: number;
  at: string;
  /** Every finding of a failed type check (the first is the one above), each with its own file:line:col. */
  diagnostics?: Array<{ file: string; line: number; column: number; code: string; message: string }>;
}

export type HookState = 'active' | 'failed' | 'disabled' | 'cooling_down' | 'loading';

export interface HookStatus {
  /** Display name: 'need_registration.ts' or 'acme-lists@1.2.0/blacklist.ts'. */
  hook: string;
  point: HookPointName | null;
  file: string;
  /** 'file' or '<pack>@<version>'. */
  source: string;
  /** Position among the active hooks of its point (0 runs first); null when not active. */
  order: number | null;
  contentHash: string | null;
  loadedAt: string | null;
  state: HookState;
  /** The last failure (compile, type check, load, invocation), with file:line:col when known. */
  lastError: HookErrorReport | null;
  /** True when the file on disk currently differs from the active version because that edit failed. */
  staleOnDisk: boolean;
  calls: number;
  failures: number;
  cancels: number;
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
}

/** One step of runPoints. */
export interface PointStep {
  point: HookPointName;
  /** The point's catalogue input, built before the batch starts: a step does not see an earlier step's result. */
  input: object;
  /** The stage this step runs at (default: the batch's ctx.stage). */
  stage?: HookStage;
  /**
   * For an `all` point (need_registration): when it decides false, the steps after it are not run and their
   * results are null, exactly as a caller that stops on "no" would do.
   */
  stopIfFalse?: boolean;
}

export interface HookHost {
  /** Runs every active hook at `point` per the catalogue's composition; never throws for hook failures. */
  /** `input` is the point's catalogue input (JSON data; typed call_full objects are accepted as they are). */
  runPoint(point: HookPointName, input: object, ctx?: RunContext): Promise<PointResult>;
  /**
   * Runs consecutive points of one call in one go, for points with no CRM request between them (e.g.
   * need_registration → process_client_phone → process_user_phone, or the points at the end of a call).
   * Each step's result, trace and log lines are those runPoint would give for the same input; one generation
   * of the hook set is used for the whole batch. Every step's hooks are started in step order without
   * waiting for the previous step's awaited http, so in process isolation the batch costs about one round
   * trip to the sandbox process instead of one per hook; a waterfall point with several hooks still runs
   * them one after the other (each needs the previous result).
   */
  runPoints(steps: readonly PointStep[], ctx?: RunContext): Promise<Array<PointResult | null>>;
  status(): HookStatus[];
  /**
   * The operator's switches (admin API, kept in the connector store): these hooks (display names, or a
   * pack's name for all its files) are off until switched on again; their points apply their defaults.
   */
  setSwitchedOff(names: readonly string[]): void;
  /** Id of the current generation (increments on every swap). */
  generation(): number;
  /** Resolves when no reload is pending or running (tests, CLI). */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

const FILE_ERROR_CODES = {
  unknownPoint: 'HOOK_UNKNOWN_POINT',
  read: 'HOOK_READ',
  missing: 'HOOK_MISSING',
} as const satisfies Record<string, HostErrorCode>;

/** `'need_registraton' is not a hook point (did you mean need_registration?)`: for files, settings and the CLI. */
export function unknownPointMessage(name: string): string {
  const hint = suggestKey(name, HOOK_POINT_NAMES);
  return `'${name}' is not a hook point${hint !== null ? ` (did you mean ${hint}?)` : ''}`;
}

/** A TypeScript module of the folder: not an editor temp/swap file, dotfile or declaration file. */
export function isTsModuleName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('#') || name.endsWith('~')) return false;
  if (name.endsWith('.d.ts')) return false;
  if (name.includes(COMPANION_MARK)) return false;
  return name.endsWith('.ts');
}

/**
 * A hook file: a TypeScript module at the top of the folder whose name does not start with '_'.
 * `_name.ts` files and modules in subfolders are helpers that hooks may import; changing one reloads
 * the folder's hooks.
 */
export function isHookFileName(name: string): boolean {
  return isTsModuleName(name) && !name.startsWith('_');
}
const COMPANION_MARK = '__callhook_contract__';

/** The point a file implements by name: 'need_registration.ts' or 'need_registration.<anything>.ts'. */
export function pointFromFileName(name: string): string {
  return path.basename(name, '.ts').split('.')[0] ?? '';
}

/** How often the resync sweep checks the hook files' stats behind the watcher. */
const RESYNC_INTERVAL_MS = 2000;

async function statKey(file: string): Promise<string | null> {
  try {
    const st = await stat(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return null;
  }
}

interface Slot {
  key: string;
  file: string;
  root: string;
  displayName: string;
  origin: HookOrigin;
  orderKey: string;
  hookSettings: JsonValue;
  allowHosts: string[];
  /** Point required by a pack manifest; null for loose files. */
  manifestPoint: HookPointName | null;
  enabled: boolean;
  active: ActiveHook | null;
  activeTextHash: string | null;
  failedTextHash: string | null;
  lastError: HookErrorReport | null;
  point: HookPointName | null;
  removed: boolean;
  // reload scheduling: one run at a time per file; events during a run mark it dirty for one more run
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  dirty: boolean;
  /** Hash of the text the last reconcile decided on (null: file absent); compared with the disk afterwards. */
  seenTextHash: string | null;
  /** mtime/size/inode seen just before that read; the resync sweep reloads a file whose stat moved on. */
  seenStat: string | null;
  /** The file is a symbolic link out of its folder or pack: refused without reading it. */
  linkRefused: boolean;
}

/** One entry of `hooks.packs`, as loaded now. A reload that fails keeps `pack` (its hooks stay active). */
interface PackState {
  index: number;
  ref: PackRef;
  dir: string;
  pack: LoadedPack | null;
  /** The status entry of the last failed read of the manifest or settings; null when the last read worked. */
  error: HookStatus | null;
  timer: NodeJS.Timeout | null;
  seenStat: string | null;
}

interface Generation {
  readonly id: number;
  readonly byPoint: ReadonlyMap<HookPointName, readonly ActiveHook[]>;
}

/** The fix named when a hook's http is refused: where this hook's allow list comes from. */
function allowHintFor(origin: HookOrigin): string {
  return origin.kind === 'pack'
    ? `add it to the allow_hosts of pack ${origin.name}'s manifest (callhook.pack.json), as 'host' or 'host:port'`
    : "add it to hooks.allow_hosts in the settings file, as 'host' or 'host:port'";
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function pad(n: number): string {
  return String(n).padStart(5, '0');
}

class Host implements HookHost {
  private readonly slots = new Map<string, Slot>();
  private readonly packs: PackState[] = [];
  private gen: Generation = { id: 0, byPoint: new Map() };
  private readonly watchers: FSWatcher[] = [];
  private readonly checker: HookTypeChecker | null;
  private pending = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  private switchedOff: ReadonlySet<string> = new Set();
  private readonly env: RunEnv;
  private readonly log: Logger;
  /** The `sandbox` settings every hook is loaded with (the options' values over the section's defaults). */
  private readonly sandbox: SandboxSettings;

  constructor(
    private readonly opts: HookHostOptions,
    private readonly engine: HookEngine,
    private readonly ownsEngine: boolean,
  ) {
    this.log = opts.logger ?? createLogger({ level: 'warn' });
    this.checker = opts.typecheck === false ? null : new HookTypeChecker(opts.typesIndex);
    const budgets = opts.budgets ?? {};
    const d = DEFAULT_SANDBOX_SETTINGS;
    this.sandbox = {
      isolation: opts.isolation ?? d.isolation,
      memory_mb: opts.memoryMb ?? d.memory_mb,
      total_memory_mb: opts.totalMemoryMb ?? d.total_memory_mb,
      cpu_ms_per_call: opts.cpuMsPerCall ?? d.cpu_ms_per_call,
      http: {
        timeout_ms: opts.httpTimeoutMs ?? d.http.timeout_ms, max_response_bytes: opts.httpMaxResponseBytes ?? d.http.max_response_bytes,
        max_request_bytes: opts.httpMaxRequestBytes ?? d.http.max_request_bytes,
        max_concurrent_requests: opts.httpMaxConcurrentRequests ?? d.http.max_concurrent_requests,
        max_requests_per_call: opts.httpMaxRequestsPerCall ?? d.http.max_requests_per_call,
      },
      circuit_breaker: opts.breaker ? { failure_threshold: opts.breaker.failureThreshold, cool_down_ms: opts.breaker.coolDownMs } : d.circuit_breaker,
    };
    this.env = {
      recordingsRoot: path.resolve(opts.recordingsRoot ?? '/var/spool/asterisk/monitor'),
      budgetMs: (point) => budgets[point] ?? getHookPoint(point).budgetMs,
      logger: this.log,
    };
  }

  // ---------------------------------------------------------------- loading

  async start(): Promise<void> {
    for (const [index, ref] of (this.opts.packs ?? []).entries()) {
      if (ref.enabled === false) continue;
      const state: PackState = { index, ref, dir: path.resolve(ref.path), pack: null, error: null, timer: null, seenStat: null };
      this.packs.push(state);
      await this.readPackNow(state);
    }
    if (this.opts.folder !== null) {
      const folder = path.resolve(this.opts.folder);
      const names = await readdir(folder).catch(() => null);
      if (names === null) this.log.warn({ folder }, 'hooks folder does not exist: no loose hook files are loaded');
      for (const name of (names ?? []).filter(isHookFileName).sort()) {
        this.ensureLooseSlot(folder, name);
      }
    }
    if (this.checker) {
      for (const slot of this.slots.values()) {
        if (await this.leavesRoot(slot)) continue;
        const text = await readFile(slot.file, 'utf8').catch(() => null);
        if (text !== null) this.checker.prime(slot.file, text, this.pointOf(slot, text), slot.root);
      }
    }
    await Promise.all([...this.slots.values()].map((slot) => this.reloadNow(slot)));
    if (this.opts.watch !== false) await this.startWatching();
  }

  private wanted(file: string): boolean {
    return this.opts.only === undefined || path.resolve(this.opts.only) === file;
  }

  /**
   * Reads a pack's manifest and settings and brings its slots in line: new entries get a slot, changed
   * ones (settings, allowed hosts, point, version) reload, dropped ones unload. A pack that cannot be read
   * keeps the hooks of its last good version active and reports the error, like a hook file does.
   */
  private async readPackNow(state: PackState): Promise<void> {
    state.seenStat = await statKey(path.join(state.dir, PACK_MANIFEST));
    let pack: LoadedPack;
    try {
      pack = await readPack(state.dir, state.ref.settings ?? {}, state.ref.allowHosts ?? []);
    } catch (err) {
      const e = err instanceof PackError ? err : new PackError('PACK_MANIFEST', state.dir, String(err));
      const kept = state.pack !== null ? ' (the previous version stays active)' : '';
      this.log.error({ pack: state.ref.path, code: e.code }, `${e.message}${kept}`);
      state.error = this.packErrorStatus(state, e);
      return;
    }
    state.error = null;
    state.pack = pack;
    const { name, version } = pack.manifest;
    if (pack.refusedHosts.length > 0) {
      this.log.warn(
        { pack: `${name}@${version}`, refused: pack.refusedHosts },
        `pack ${name}@${version} asks for ${pack.refusedHosts.join(', ')} (manifest allow_hosts), not approved in hooks.packs[${state.index}].allow_hosts: refused`,
      );
    }
    const keys = new Set<string>();
    for (const [hookIndex, entry] of pack.manifest.hooks.entries()) {
      const file = path.join(state.dir, entry.file);
      if (!this.wanted(file)) continue;
      const key = `pack${state.index}:${entry.file}`;
      keys.add(key);
      const displayName = `${name}@${version}/${entry.file}`;
      const fields = {
        file,
        root: state.dir,
        displayName,
        origin: { kind: 'pack', name, version } as HookOrigin,
        orderKey: `0:${pad(state.index)}:${pad(hookIndex)}`,
        hookSettings: pack.settings,
        allowHosts: pack.allowHosts,
        manifestPoint: entry.hook,
        enabled: this.fileEnabled(displayName, `${name}/${entry.file}`),
      };
      const slot = this.slots.get(key);
      if (!slot) {
        this.slots.set(key, this.newSlot({ key, ...fields }));
        continue;
      }
      const loadedWith = JSON.stringify([slot.displayName, slot.hookSettings, slot.allowHosts, slot.manifestPoint, slot.enabled]);
      Object.assign(slot, fields, { point: slot.point ?? entry.hook });
      if (loadedWith !== JSON.stringify([fields.displayName, fields.hookSettings, fields.allowHosts, fields.manifestPoint, fields.enabled])) {
        // Same file, new manifest or settings: load it again with them (the running version stays until then).
        slot.activeTextHash = null;
        slot.failedTextHash = null;
      }
    }
    for (const slot of [...this.slots.values()]) {
      if (slot.key.startsWith(`pack${state.index}:`) && !keys.has(slot.key)) this.drop(slot);
    }
  }

  private packErrorStatus(state: PackState, e: PackError): HookStatus {
    const lastError: HookErrorReport = { code: e.code, message: e.message, file: e.file, at: new Date().toISOString() };
    if (e.line !== undefined) lastError.line = e.line;
    if (e.column !== undefined) lastError.column = e.column;
    return {
      hook: state.ref.path,
      point: null,
      file: e.file,
      source: 'pack',
      order: null,
      contentHash: null,
      loadedAt: null,
      state: 'failed',
      lastError,
      staleOnDisk: state.pack !== null,
      calls: 0,
      failures: 0,
      cancels: 0,
      p50Ms: null,
      p99Ms: null,
      inFlight: 0,
    };
  }

  /** Debounced like a file: a manifest saved in a burst is read once, then its hooks reload. */
  private schedulePack(state: PackState): void {
    if (this.closed) return;
    if (state.timer) clearTimeout(state.timer);
    else this.begin();
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.readPackNow(state)
        .then(() => {
          for (const slot of this.slots.values()) if (slot.key.startsWith(`pack${state.index}:`)) this.schedule(slot);
        })
        .catch((err: unknown) => this.log.error({ pack: state.ref.path, err: String(err) }, 'unexpected pack reload failure'))
        .finally(() => this.end());
    }, this.opts.debounceMs ?? 100);
  }

  /** A slot whose file left the pack manifest: unloaded and forgotten. */
  private drop(slot: Slot): void {
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
      this.end();
    }
    this.checker?.forget(slot.file);
    slot.removed = true;
    this.slots.delete(slot.key);
    const previous = slot.active;
    slot.active = null;
    if (previous) {
      this.swap();
      previous.retire(this.opts.drainDeadlineMs ?? 30_000);
      this.log.info({ hook: slot.displayName, generation: this.gen.id }, 'hook unloaded (no longer in its pack manifest)');
    }
  }

  private fileEnabled(...names: string[]): boolean {
    const files = this.opts.files ?? {};
    return names.every((n) => files[n] !== false);
  }

  private newSlot(fields: Pick<Slot, 'key' | 'file' | 'root' | 'displayName' | 'origin' | 'orderKey' | 'hookSettings' | 'allowHosts' | 'manifestPoint' | 'enabled'>): Slot {
    return {
      ...fields,
      active: null,
      activeTextHash: null,
      failedTextHash: null,
      lastError: null,
      point: fields.manifestPoint,
      removed: false,
      timer: null,
      running: null,
      dirty: false,
      seenTextHash: null,
      seenStat: null,
      linkRefused: false,
    };
  }

  private ensureLooseSlot(folder: string, name: string): Slot | null {
    if (!this.wanted(path.join(folder, name))) return null;
    const key = `file:${name}`;
    let slot = this.slots.get(key);
    if (!slot || slot.removed) {
      slot = this.newSlot({
        key,
        file: path.join(folder, name),
        root: folder,
        displayName: name,
        origin: { kind: 'file' },
        orderKey: `1:${name}`,
        hookSettings: this.opts.fileSettings?.[name] ?? {},
        allowHosts: this.opts.allowHosts ?? [],
        manifestPoint: null,
        enabled: this.fileEnabled(name),
      });
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** Watches a folder (the hooks folder or a pack) for .ts modules and, in a pack, its manifest. */
  private async watchRoot(root: string, onEvent: (abs: string) => void, what: string): Promise<void> {
    // Imported here: one-shot hosts (check, try, a replay) never watch and need not load it.
    const { default: chokidar } = await import('chokidar');
    const watcher = chokidar.watch(root, {
      ignoreInitial: true,
      atomic: true,
      depth: 4,
      // Directories (no .ts extension) must pass so helpers in subfolders are seen.
      ignored: (p: string, stats?: { isDirectory(): boolean }) => {
        if (p === root) return false;
        const name = path.basename(p);
        if (name.startsWith('.') || name === 'node_modules') return true;
        if (stats?.isDirectory() ?? !path.extname(name)) return false;
        return !isTsModuleName(name) && name !== PACK_MANIFEST;
      },
    });
    watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    watcher.on('error', (err) => this.log.error({ err: String(err) }, `${what} watcher error`));
    this.watchers.push(watcher);
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  }

  private async startWatching(): Promise<void> {
    if (this.opts.folder !== null) {
      const folder = path.resolve(this.opts.folder);
      await this.watchRoot(folder, (abs) => {
        const name = path.basename(abs);
        // chokidar 4 may not apply `ignored` to later events: filter again here.
        if (!isTsModuleName(name)) return;
        if (path.dirname(abs) === folder && isHookFileName(name)) {
          const slot = this.ensureLooseSlot(folder, name);
          if (slot) this.schedule(slot);
          return;
        }
        this.helperChanged(folder);
      }, 'hooks folder');
    }
    for (const state of this.packs) {
      await this.watchRoot(state.dir, (abs) => {
        if (abs === path.join(state.dir, PACK_MANIFEST)) return this.schedulePack(state);
        if (!isTsModuleName(path.basename(abs))) return;
        const slot = [...this.slots.values()].find((s) => s.file === abs && s.key.startsWith(`pack${state.index}:`));
        if (slot) this.schedule(slot);
        else this.helperChanged(state.dir);
      }, 'pack');
    }
    // Anything that changed between the first scan and the watcher becoming ready is caught here; the
    // content hash makes this free for unchanged files.
    if (this.opts.folder !== null) {
      const folder = path.resolve(this.opts.folder);
      for (const name of (await readdir(folder).catch(() => [])).filter(isHookFileName)) {
        const slot = this.ensureLooseSlot(folder, name);
        if (slot) this.schedule(slot);
      }
    }
    for (const state of this.packs) {
      if ((await statKey(path.join(state.dir, PACK_MANIFEST))) !== state.seenStat) this.schedulePack(state);
    }
    for (const slot of this.slots.values()) this.schedule(slot);
    this.resyncTimer = setInterval(() => void this.resync(), RESYNC_INTERVAL_MS);
    this.resyncTimer.unref();
  }

  /**
   * File watchers drop events under load (inotify queue overflow, coalesced partial writes). A cheap
   * sweep compares each hook file's stat with the one its last reload saw, and looks for new files, so
   * the last save always wins within a couple of seconds even when its event never arrived.
   */
  private async resync(): Promise<void> {
    if (this.closed) return;
    for (const slot of [...this.slots.values()]) {
      if (slot.timer || slot.running || slot.removed) continue;
      const now = await statKey(slot.file);
      if (now !== slot.seenStat) this.schedule(slot);
    }
    if (this.opts.folder !== null) {
      const folder = path.resolve(this.opts.folder);
      for (const name of (await readdir(folder).catch(() => [])).filter(isHookFileName)) {
        if (this.slots.has(`file:${name}`) || this.closed) continue;
        const slot = this.ensureLooseSlot(folder, name);
        if (slot) this.schedule(slot);
      }
    }
    for (const state of this.packs) {
      if (!state.timer && (await statKey(path.join(state.dir, PACK_MANIFEST))) !== state.seenStat) this.schedulePack(state);
    }
  }

  /** A helper module changed: every hook of that folder may bundle it, so all are rebuilt. */
  private helperChanged(root: string): void {
    for (const slot of this.slots.values()) {
      if (slot.root !== root) continue;
      slot.activeTextHash = null;
      slot.failedTextHash = null;
      this.schedule(slot);
    }
  }

  private begin(): void {
    this.pending++;
  }

  private end(): void {
    this.pending--;
    if (this.pending === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Debounced per file: a burst of saves becomes one reload of the last content. */
  private schedule(slot: Slot): void {
    if (this.closed) return;
    if (slot.timer) clearTimeout(slot.timer);
    else this.begin();
    slot.timer = setTimeout(() => {
      slot.timer = null;
      void this.reloadNow(slot).finally(() => this.end());
    }, this.opts.debounceMs ?? 100);
  }

  /** Serialised per file: while a reload runs, further requests collapse into one more run. */
  private reloadNow(slot: Slot): Promise<void> {
    if (slot.running) {
      slot.dirty = true;
      return slot.running;
    }
    const loop = async (): Promise<void> => {
      do {
        slot.dirty = false;
        try {
          await this.reconcile(slot);
          // A save that lands while a reload reads, type-checks or loads can reach the watcher as an
          // event that is coalesced away (partial writes, a busy machine). Looking at the disk once more
          // guarantees the last save is the one decided on.
          if (!slot.dirty && !this.closed && !slot.removed && !slot.linkRefused) {
            const now = await this.readStable(slot.file).catch(() => undefined);
            if (now !== undefined && (now === null ? null : sha256(now)) !== slot.seenTextHash) slot.dirty = true;
          }
        } catch (err) {
          this.log.error({ file: slot.displayName, ...(slot.point ? { hook: slot.point } : {}), err: String(err) }, 'unexpected reload failure');
        }
      } while (slot.dirty && !this.closed);
    };
    this.begin();
    slot.running = loop().finally(() => {
      slot.running = null;
      this.end();
    });
    return slot.running;
  }

  private async leavesRoot(slot: Slot): Promise<boolean> {
    const realRoot = await realpath(slot.root).catch(() => slot.root);
    return !(await entryStaysInside(slot.file, realRoot));
  }

  private async readStable(file: string): Promise<string | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        const text = await readFile(file, 'utf8');
        // An editor truncating before writing can be caught mid-way; an empty read is retried briefly.
        if (text === '' && attempt < 3) {
          await new Promise((r) => setTimeout(r, 15));
          continue;
        }
        return text;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    }
  }

  private fail(slot: Slot, textHash: string, err: Omit<HookErrorReport, 'at' | 'file'> & { file?: string }): void {
    slot.failedTextHash = textHash;
    slot.lastError = { ...err, file: err.file ?? slot.displayName, at: new Date().toISOString() };
    const where = slot.lastError.line !== undefined ? `${slot.lastError.file}:${slot.lastError.line}:${slot.lastError.column ?? 1}` : slot.lastError.file;
    this.log.error({ file: slot.displayName, ...(slot.point ? { hook: slot.point } : {}), code: err.code }, `${where}: ${err.message}${slot.active ? ' (previous version stays active)' : ''}`);
  }

  /** How a file of a slot's root is named in errors: a pack's files with the pack's name@version prefix. */
  private displayIn(slot: Slot, abs: string): string {
    if (abs === slot.file) return slot.displayName;
    const rel = path.relative(slot.root, abs).split(path.sep).join('/');
    return slot.origin.kind === 'pack' ? `${slot.origin.name}@${slot.origin.version}/${rel}` : rel;
  }

  /** The point a file claims before it is loaded: manifest, then defineHook('…') in the source, then its name. */
  private pointOf(slot: Slot, text: string): string {
    return slot.manifestPoint ?? declaredPointInSource(text) ?? pointFromFileName(slot.displayName);
  }

  private async reconcile(slot: Slot): Promise<void> {
    if (this.closed) return;
    // Stat before reading: a save between the two leaves a stale stat, which only costs one no-op reload.
    slot.seenStat = await statKey(slot.file);
    // A hook file that is a symbolic link out of its folder or pack is not read at all (not even by the
    // type checker, whose messages would quote it).
    slot.linkRefused = await this.leavesRoot(slot);
    if (slot.linkRefused) {
      this.fail(slot, `link:${slot.seenStat ?? ''}`, { code: 'HOOK_IMPORT_REFUSED', message: "the hook file is a symbolic link that leads outside the hook's folder or pack", line: 1, column: 1 });
      return;
    }
    const text = await this.readStable(slot.file).catch((err: unknown) => {
      this.fail(slot, 'unreadable', { code: FILE_ERROR_CODES.read, message: String(err) });
      return undefined;
    });
    if (text === undefined) return;
    slot.seenTextHash = text === null ? null : sha256(text);
    if (text === null) {
      this.unload(slot);
      return;
    }
    if (!slot.enabled) return;
    const textHash = sha256(text);
    if (textHash === slot.activeTextHash) {
      // Back to the active version (e.g. a broken edit was undone): nothing to load, nothing pending.
      slot.failedTextHash = null;
      return;
    }
    if (textHash === slot.failedTextHash) return;

    const pointName = this.pointOf(slot, text);
    // The status names the point the file is for even when it fails to load (the run report shows it).
    if (slot.active === null) slot.point = isHookPointName(pointName) ? pointName : null;
    if (!isHookPointName(pointName)) {
      this.fail(slot, textHash, {
        code: FILE_ERROR_CODES.unknownPoint,
        message: `${unknownPointMessage(pointName)}; name the file after one (e.g. need_registration.ts) or use defineHook('<point>', ...)`,
        line: 1,
        column: 1,
      });
      return;
    }
    const budget = this.env.budgetMs(pointName);
    // Compile and load start before the type check: the bundler and the sandbox process work on while
    // this thread type-checks (cold, the check is most of a reload). Nothing is swapped in before the
    // check has passed; a version that fails it is disposed without ever having been called.
    const loading = this.compileAndLoad(slot, budget);
    if (this.checker) {
      const checkStarted = performance.now();
      const diags = this.checker.check(slot.file, text, pointName, { root: slot.root, display: (abs) => this.displayIn(slot, abs) });
      this.opts.onTypecheck?.(slot.file, performance.now() - checkStarted);
      const first = diags[0];
      if (first) {
        const more = diags.slice(1);
        this.fail(slot, textHash, {
          code: failureCode(diags),
          message: diagnosticText(first) + (more.length > 0 ? `\n${more.map(formatDiagnostic).join('\n')}` : ''),
          file: first.file,
          line: first.line,
          column: first.column,
          diagnostics: diags.map((d) => ({ file: d.file, line: d.line, column: d.column, code: d.hookCode, message: diagnosticText(d) })),
        });
        const unwanted = await loading;
        if (unwanted.ok) await unwanted.loaded.dispose();
        return;
      }
    }
    const result = await loading;
    if (!result.ok) {
      const e = toHookError(result.error, 'HOOK_LOAD');
      const report: Omit<HookErrorReport, 'at' | 'file'> = { code: e.code, message: e.message };
      if (e.line !== undefined) report.line = e.line;
      if (e.column !== undefined) report.column = e.column;
      this.fail(slot, textHash, report);
      return;
    }
    const { compiled, loaded } = result;
    try {
      const declared = loaded.declaredHook;
      const point = declared ?? pointName;
      // The point is what the hook really exports, not a guess from its text (a decoy defineHook('…') in a
      // comment): every call gets that point's budget, and the type check must be against that point too.
      if (declared !== null && declared !== pointName && isHookPointName(declared) && this.checker) {
        const diags = this.checker.check(slot.file, text, declared, { root: slot.root, display: (abs) => this.displayIn(slot, abs) });
        const first = diags[0];
        if (first) {
          await loaded.dispose();
          const more = diags.slice(1);
          this.fail(slot, textHash, {
            code: failureCode(diags),
            message: diagnosticText(first) + (more.length > 0 ? `\n${more.map(formatDiagnostic).join('\n')}` : ''),
            file: first.file,
            line: first.line,
            column: first.column,
            diagnostics: diags.map((d) => ({ file: d.file, line: d.line, column: d.column, code: d.hookCode, message: diagnosticText(d) })),
          });
          return;
        }
      }
      if (!isHookPointName(point) || (slot.manifestPoint !== null && point !== slot.manifestPoint)) {
        await loaded.dispose();
        this.fail(slot, textHash, {
          code: FILE_ERROR_CODES.unknownPoint,
          message: slot.manifestPoint !== null ? `declares '${point}' but the pack manifest lists it for '${slot.manifestPoint}'` : unknownPointMessage(point),
          line: 1,
          column: 1,
        });
        return;
      }
      if (this.closed || slot.removed) {
        await loaded.dispose();
        return;
      }
      const identity: HookIdentity = {
        key: slot.key,
        point,
        displayName: slot.displayName,
        file: slot.file,
        origin: slot.origin,
        orderKey: slot.orderKey,
      };
      const next = new ActiveHook(identity, compiled.contentHash, loaded, (e) =>
        this.log.warn({ file: slot.displayName, hook: point, err: String(e) }, 'dispose failed'),
        breakerFrom(this.sandbox),
      );
      const previous = slot.active;
      slot.active = next;
      slot.point = point;
      slot.activeTextHash = textHash;
      slot.failedTextHash = null;
      slot.lastError = null;
      this.swap();
      previous?.retire(this.opts.drainDeadlineMs ?? 30_000);
      this.log.info({ file: slot.displayName, hook: point, contentHash: compiled.contentHash, generation: this.gen.id }, 'hook loaded');
    } catch (err) {
      const e = toHookError(err, 'HOOK_LOAD');
      const report: Omit<HookErrorReport, 'at' | 'file'> = { code: e.code, message: e.message };
      if (e.line !== undefined) report.line = e.line;
      if (e.column !== undefined) report.column = e.column;
      this.fail(slot, textHash, report);
    }
  }

  /** Compiles and loads a slot's file with its settings; never rejects (a failure is the result). */
  private async compileAndLoad(slot: Slot, budget: number): Promise<{ ok: true; compiled: CompiledHookLike; loaded: LoadedHookLike } | { ok: false; error: unknown }> {
    try {
      const compiled = await this.engine.compile({ file: slot.file, root: slot.root, displayName: slot.displayName });
      const loaded = await this.engine.load(compiled, {
        limits: limitsFrom(this.sandbox, budget),
        hookSettings: slot.hookSettings,
        http: { ...httpPolicyFrom(this.sandbox, slot.allowHosts), allowHint: allowHintFor(slot.origin) },
        breaker: breakerFrom(this.sandbox),
        // The sandbox tags every line it writes for this hook with hook (the point) and file itself.
        logger: this.log,
      });
      return { ok: true, compiled, loaded };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private unload(slot: Slot): void {
    this.checker?.forget(slot.file);
    const previous = slot.active;
    slot.active = null;
    slot.activeTextHash = null;
    slot.failedTextHash = null;
    if (slot.origin.kind === 'file') {
      slot.removed = true;
      this.slots.delete(slot.key);
    } else {
      slot.lastError = { code: FILE_ERROR_CODES.missing, message: 'file listed in the pack manifest is missing', file: slot.displayName, at: new Date().toISOString() };
    }
    if (previous) {
      this.swap();
      previous.retire(this.opts.drainDeadlineMs ?? 30_000);
      this.log.info({ file: slot.displayName, ...(slot.point ? { hook: slot.point } : {}), generation: this.gen.id }, 'hook unloaded');
    }
  }

  /** Builds the next immutable generation from the slots' active versions and swaps it in. */
  private swap(): void {
    const byPoint = new Map<HookPointName, ActiveHook[]>();
    const active = [...this.slots.values()]
      .filter((s) => s.active && s.enabled && !this.isSwitchedOff(s))
      .sort((a, b) => (a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0));
    for (const slot of active) {
      const hook = slot.active as ActiveHook;
      const list = byPoint.get(hook.id.point) ?? [];
      list.push(hook);
      byPoint.set(hook.id.point, list);
    }
    this.gen = { id: this.gen.id + 1, byPoint };
  }

  // ---------------------------------------------------------------- running

  async runPoint(point: HookPointName, inputObject: object, ctx: RunContext = {}): Promise<PointResult> {
    const input = inputObject as JsonObject;
    const spec = getHookPoint(point as string);
    if (!spec) throw new TypeError(`unknown hook point '${String(point)}'`);
    if (ctx.stage !== undefined && !(spec.stages as readonly HookStage[]).includes(ctx.stage)) {
      throw new TypeError(`hook point '${point}' does not run at stage '${ctx.stage}' (it runs at: ${spec.stages.join(', ')})`);
    }
    const disabled = this.disabledReason(point);
    const generation = this.gen;
    const hooks = disabled === null ? (generation.byPoint.get(point) ?? []) : [];
    for (const h of hooks) h.acquire();
    try {
      return await runPointWith({ spec, hooks, input, ctx, env: this.env, generation: generation.id, disabled });
    } finally {
      for (const h of hooks) h.release();
    }
  }

  async runPoints(steps: readonly PointStep[], ctx: RunContext = {}): Promise<Array<PointResult | null>> {
    const generation = this.gen;
    const plans = steps.map((step) => {
      const spec = getHookPoint(step.point as string);
      if (!spec) throw new TypeError(`unknown hook point '${String(step.point)}'`);
      const stepCtx: RunContext = { ...ctx, ...(step.stage !== undefined ? { stage: step.stage } : {}) };
      if (stepCtx.stage !== undefined && !(spec.stages as readonly HookStage[]).includes(stepCtx.stage)) {
        throw new TypeError(`hook point '${step.point}' does not run at stage '${stepCtx.stage}' (it runs at: ${spec.stages.join(', ')})`);
      }
      if (step.stopIfFalse && spec.kind !== 'all') throw new TypeError(`stopIfFalse needs a point whose hooks all say yes or no; '${step.point}' is a ${spec.kind} point`);
      const disabled = this.disabledReason(step.point);
      const hooks = disabled === null ? (generation.byPoint.get(step.point) ?? []) : [];
      return { step, spec, stepCtx, disabled, hooks, input: step.input as JsonObject };
    });
    const pinned = plans.flatMap((p) => p.hooks);
    for (const h of pinned) h.acquire();
    try {
      const results: Array<PointResult | null> = steps.map(() => null);
      const run = (i: number, invoke?: Invoker): Promise<PointResult> => {
        const p = plans[i] as (typeof plans)[number];
        return runPointWith({ spec: p.spec, hooks: p.hooks, input: p.input, ctx: p.stepCtx, env: this.env, generation: generation.id, disabled: p.disabled, ...(invoke ? { invoke } : {}) });
      };
      const stops = (i: number): boolean => plans[i]?.step.stopIfFalse === true && results[i]?.value === false;
      let i = 0;
      while (i < plans.length) {
        // The longest run of steps from i whose calls are all known before any answers.
        const segment: number[] = [];
        const calls = new Map<number, NonNullable<ReturnType<typeof plannedCalls>>>();
        for (let j = i; j < plans.length; j++) {
          const p = plans[j] as (typeof plans)[number];
          const planned = p.disabled !== null ? [] : plannedCalls(p.spec, p.hooks, p.input);
          if (planned === null) break;
          calls.set(j, planned);
          segment.push(j);
        }
        if (segment.length === 0) {
          results[i] = await run(i);
          if (stops(i)) break;
          i++;
          continue;
        }
        // One batch for the segment: an `all` hook is gated on the earlier hooks of its point, and every call
        // after a stopIfFalse step is gated on that step's hooks.
        const items: EngineBatchItem[] = [];
        const itemOf = new Map<number, Map<ActiveHook, number>>();
        const stopGates: number[] = [];
        for (const j of segment) {
          const p = plans[j] as (typeof plans)[number];
          const mine = new Map<ActiveHook, number>();
          const byCall: Array<number | undefined> = [];
          for (const c of calls.get(j) ?? []) {
            if (ahead.skipped(c.hook) !== null) { byCall.push(undefined); continue; }
            const gates = c.unlessFalse.flatMap((u) => (byCall[u] !== undefined ? [byCall[u] as number] : []));
            byCall.push(items.length);
            mine.set(c.hook, items.length);
            items.push({ hook: c.hook.loaded, input: c.input, ctx: ahead.context(c.hook, p.stepCtx, this.env), unlessFalse: [...stopGates, ...gates] });
          }
          itemOf.set(j, mine);
          if (p.step.stopIfFalse) stopGates.push(...mine.values());
        }
        const startedAt = performance.now();
        const answers: Array<Promise<InvokeOutcomeLike | null>> = this.engine.invokeAll
          ? this.engine.invokeAll(items)
          : startInOrder(items, (item) => item.hook.invoke(item.input, item.ctx));
        let stopped = false;
        for (const j of segment) {
          const p = plans[j] as (typeof plans)[number];
          const mine = itemOf.get(j) ?? new Map<ActiveHook, number>();
          results[j] = await run(j, (hook, input) => {
            const k = mine.get(hook);
            const answer = k === undefined ? undefined : answers[k];
            // Not called ahead (its breaker was open) or, unexpectedly, gated away: asked now, the usual way.
            if (answer === undefined) return runHook(hook, input, p.stepCtx, this.env);
            return answer.then((a) => (a === null ? runHook(hook, input, p.stepCtx, this.env) : ahead.judge(hook, Promise.resolve(a), startedAt, p.stepCtx, this.env)));
          });
          if (stops(j)) { stopped = true; break; }
        }
        // Calls gated away by a "no" come back null; wait for them so no call outlives the batch.
        await Promise.allSettled(answers);
        if (stopped) break;
        i = (segment[segment.length - 1] as number) + 1;
      }
      return results;
    } finally {
      for (const h of pinned) h.release();
    }
  }

  private disabledReason(point: HookPointName): string | null {
    if (this.opts.enabled === false) return 'customizer switched off (hooks.enabled = false)';
    if (this.opts.points?.[point] === false) return `hook point switched off (hooks.points.${point} = false)`;
    return null;
  }

  generation(): number {
    return this.gen.id;
  }

  private isSwitchedOff(slot: Slot): boolean {
    if (this.switchedOff.size === 0) return false;
    return this.switchedOff.has(slot.displayName) || (slot.origin.kind === 'pack' && this.switchedOff.has(slot.origin.name));
  }

  setSwitchedOff(names: readonly string[]): void {
    this.switchedOff = new Set(names);
    this.swap();
  }

  status(): HookStatus[] {
    const out: HookStatus[] = this.packs.flatMap((p) => (p.error ? [p.error] : []));
    const slots = [...this.slots.values()].sort((a, b) => (a.orderKey < b.orderKey ? -1 : 1));
    for (const slot of slots) {
      const hook = slot.active;
      let state: HookState;
      if (!slot.enabled || this.isSwitchedOff(slot)) state = 'disabled';
      else if (hook) state = hook.coolingDown ? 'cooling_down' : 'active';
      else if (slot.lastError) state = 'failed';
      else state = 'loading';
      const list = hook ? this.gen.byPoint.get(hook.id.point) : undefined;
      const order = hook && list ? list.indexOf(hook) : -1;
      out.push({
        hook: slot.displayName,
        point: slot.point,
        file: slot.file,
        source: slot.origin.kind === 'pack' ? `${slot.origin.name}@${slot.origin.version}` : 'file',
        order: order >= 0 ? order : null,
        contentHash: hook?.contentHash ?? null,
        loadedAt: hook?.loadedAt.toISOString() ?? null,
        state,
        lastError: slot.lastError,
        staleOnDisk: hook !== null && slot.failedTextHash !== null,
        calls: hook?.stats.calls ?? 0,
        failures: hook?.stats.failures ?? 0,
        cancels: hook?.stats.cancels ?? 0,
        p50Ms: hook?.stats.percentile(50) ?? null,
        p99Ms: hook?.stats.percentile(99) ?? null,
        inFlight: hook?.inFlight ?? 0,
      });
    }
    return out;
  }

  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.all(this.watchers.map((w) => w.close()));
    for (const slot of this.slots.values()) {
      if (slot.timer) {
        clearTimeout(slot.timer);
        slot.timer = null;
        this.end();
      }
    }
    await Promise.all([...this.slots.values()].map((s) => s.running));
    await Promise.all([...this.slots.values()].map((s) => s.active?.dispose()));
    this.checker?.dispose();
    if (this.ownsEngine) await this.engine.close();
  }
}

/** Creates a host, loads packs and the folder, and (unless `watch: false`) starts watching. */
export async function createHookHost(options: HookHostOptions): Promise<HookHost> {
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const engine = options.engine ?? createDefaultEngine(options.isolation ?? DEFAULT_SANDBOX_SETTINGS.isolation, logger);
  const host = new Host({ ...options, logger }, engine, options.engine === undefined);
  try {
    await host.start();
  } catch (err) {
    await host.close();
    throw err;
  }
  return host;
}
