// One sandbox child process, seen from the connector: requests and answers over two pipes
// (sandbox/protocol.ts), the watchdogs, and - when it dies - who killed it.
//
// Attribution rests on how the child works (sandbox/child.ts): it handles requests one after the other, each
// to the end of its synchronous part, and answers a batch of requests together; before it starts one that
// follows others of its batch, it writes that request's rid to a small progress file. So at any moment at
// most one request can be executing on the child's main thread: the one the progress file names, or the
// oldest one without an answer. Async hooks that wait for http run their continuations on
// isolated-vm's threads: the child reports them "pending" at once. When the child dies:
// - it said who (last words after V8 lost control of an isolate, or a runaway isolate report): that hook;
// - the supervisor killed it because a request's synchronous part overran its CPU budget by far (an
//   uninterruptible builtin ignores the budget): that request's hook;
// - otherwise the suspects are the request in the progress file and the pending calls: one suspect is the
//   culprit; several are each re-run alone (the supervisor's probation) until one kills a process on its own.
// Every other request in flight was either done (its answer had not been sent yet) or had not started: its
// hook is innocent.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { childCommand, childEnv, progressFilePath } from './child-entry.js';
import { encodeFrame, FrameReader, type FromChild, type ToChild } from './protocol.js';
import { escapeControl } from './text-guard.js';
import type { SandboxLogger } from './types.js';

/** How far past its CPU budget a synchronous part may run before the child counts as wedged and is killed. */
export const SYNC_GRACE_MS = 1500;
/** How long past a pending call's deadline, with the child silent all that time, before it counts as hung. */
export const SILENCE_GRACE_MS = 2000;
const WATCHDOG_TICK_MS = 100;
/** How long a runaway's process may live for the timed-out call's answer to arrive. */
const RUNAWAY_ANSWER_GRACE_MS = 500;
/** Lines of the child's own stdout/stderr (V8 fatal messages, Node warnings) logged per process at most. */
const MAX_OUTPUT_LINES = 200;

export interface Attribution {
  /** The hook that killed the process, when that is certain. */
  culprit: number | null;
  /** Hooks that may have killed it (several calls were running): each is re-run alone. */
  suspects: ReadonlySet<number>;
  reason: string;
}

export type Answer =
  | { kind: 'answer'; message: FromChild; body: string }
  | { kind: 'died'; attribution: Attribution };

export interface ProcessEvents {
  /** The process is being killed for a known culprit (before it is gone: the culprit can be moved out now). */
  onDoomed(verdict: { culprit: number; reason: string }): void;
  /** The process is gone (not called after close()). */
  onDeath(attribution: Attribution): void;
}

export interface RequestOptions {
  hid: number;
  /** CPU budget of the request's synchronous part (ms): the sync watchdog allows this plus SYNC_GRACE_MS. */
  syncBudgetMs: number;
  /** Wall-clock deadline of the whole request (ms): the silence watchdog allows this plus SILENCE_GRACE_MS. */
  wallMs: number;
  /** Run while nothing else runs in this process (a probation re-run of a suspect). */
  exclusive?: boolean;
}

interface InFlight extends RequestOptions {
  rid: number;
  sentAt: number;
  /** The synchronous part is over (a pending notice or the answer arrived). */
  pending: boolean;
  resolve(answer: Answer): void;
}

export class SandboxProcess {
  /** Hooks loaded in this process (a hook is loaded into a process lazily, on its first call there). */
  readonly loaded = new Set<number>();
  readonly #child: ChildProcess;
  readonly #requests: Writable;
  readonly #logger: SandboxLogger;
  readonly #onDeath: (attribution: Attribution) => void;
  readonly #onDoomed: (verdict: { culprit: number; reason: string }) => void;
  readonly #inFlight = new Map<number, InFlight>();
  readonly #progressPath: string;
  #progressFd: number | null;
  readonly #progressBuf = Buffer.alloc(4);
  /** The request the watchdog last saw running, and since when. */
  #seenRunning = 0;
  #seenSince = 0;
  #lastHeard = performance.now();
  #verdict: { culprit: number; reason: string } | null = null;
  #suspectsOverride: { hids: Set<number>; reason: string } | null = null;
  #closing = false;
  #dead = false;
  /** Being killed: requests already sent get their answers or the death, new ones go elsewhere. */
  #doomed = false;
  /** A runaway's process is killed once this hook's call in flight has its answer. */
  #killAfterAnswerOf: number | null = null;
  #exitInfo: string | null = null;
  #outputLines = 0;
  #gate: Promise<void> | null = null;
  #corked = false;
  #idleWaiters: (() => void)[] = [];
  readonly #timer: NodeJS.Timeout;
  #resolveExited: () => void = () => {};
  readonly exited: Promise<void>;

  private constructor(args: string[], logger: SandboxLogger, events: ProcessEvents) {
    this.#logger = logger;
    this.#onDeath = events.onDeath;
    this.#onDoomed = events.onDoomed;
    this.#progressPath = progressFilePath();
    this.#progressFd = openSync(this.#progressPath, 'w+', 0o600);
    this.#child = spawn(process.execPath, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', this.#progressFd] });
    const [, out, err, requests, answers] = this.#child.stdio as [null, Readable, Readable, Writable, Readable];
    this.#requests = requests;
    requests.on('error', () => { /* the child is gone; its exit decides what happens */ });
    const reader = new FrameReader((header, body) => this.#onAnswer(header as FromChild, body));
    answers.on('data', (chunk: Buffer) => reader.push(chunk));
    answers.on('error', () => {});
    this.#pipeOutput(out, 'stdout');
    this.#pipeOutput(err, 'stderr');
    this.exited = new Promise((resolve) => { this.#resolveExited = resolve; });
    this.#child.on('exit', (code, signal) => {
      this.#exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      // Normally 'close' follows once every answer has been read; this only guards against a pipe left open.
      setTimeout(() => this.#die(), 1000).unref();
    });
    this.#child.on('close', () => this.#die());
    this.#child.on('error', (error) => { this.#exitInfo = `could not start: ${error.message}`; this.#die(); });
    this.#timer = setInterval(() => this.#watch(), WATCHDOG_TICK_MS);
    this.#timer.unref();
  }

  static async start(logger: SandboxLogger, events: ProcessEvents): Promise<SandboxProcess> {
    const command = await childCommand();
    if (command.fallbackReason) logger.warn({ reason: command.fallbackReason }, 'sandbox: could not bundle the child process code; it runs through the TypeScript loader (slower to start)');
    return new SandboxProcess(command.args, logger, events);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return !this.#dead && !this.#closing && !this.#doomed;
  }

  /** Sends a request; resolves with its answer, or with the attribution when the process dies first. */
  async request(message: ToChild & { rid: number }, body: string, options: RequestOptions): Promise<Answer> {
    while (this.#gate !== null) await this.#gate;
    let openGate: (() => void) | null = null;
    if (options.exclusive) {
      // Close the gate first (nothing new is sent), then wait for what is running to finish.
      this.#gate = new Promise<void>((resolve) => { openGate = resolve; });
      while (this.#inFlight.size > 0 && this.alive) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
    try {
      return await this.#send(message, body, options);
    } finally {
      if (openGate !== null) {
        this.#gate = null;
        (openGate as () => void)();
      }
    }
  }

  #send(message: ToChild & { rid: number }, body: string, options: RequestOptions): Promise<Answer> {
    if (!this.alive) return Promise.resolve({ kind: 'died', attribution: { culprit: null, suspects: new Set(), reason: 'the sandbox process is gone' } });
    return new Promise<Answer>((resolve) => {
      const now = performance.now();
      if (this.#inFlight.size === 0) this.#lastHeard = now;
      this.#inFlight.set(message.rid, { ...options, rid: message.rid, sentAt: now, pending: false, resolve });
      // Requests made in the same turn of the event loop (a batch) leave in one write.
      if (!this.#corked) {
        this.#corked = true;
        this.#requests.cork();
        process.nextTick(() => { this.#corked = false; this.#requests.uncork(); });
      }
      this.#requests.write(encodeFrame(message, body));
    });
  }

  /** A message that needs no answer (dispose). */
  notify(message: ToChild): void {
    if (this.alive) this.#requests.write(encodeFrame(message));
  }

  /**
   * The request the child may be running on its main thread now: the one the progress file names if it is
   * still in flight and not pending (a request that follows others of its batch), else the oldest request
   * without an answer or pending notice (the first of a batch: everything before it was answered).
   */
  #running(): InFlight | undefined {
    if (this.#progressFd !== null) {
      try {
        if (readSync(this.#progressFd, this.#progressBuf, 0, 4, 0) === 4) {
          const r = this.#inFlight.get(this.#progressBuf.readUInt32LE(0));
          if (r && !r.pending) return r;
        }
      } catch { /* no progress file: the oldest request decides */ }
    }
    for (const r of this.#inFlight.values()) if (!r.pending) return r;
    return undefined;
  }

  #onAnswer(message: FromChild, body: string): void {
    this.#lastHeard = performance.now();
    switch (message.op) {
      case 'lastWords':
        this.#verdict = { culprit: message.hid, reason: `V8 lost control of its isolate (${escapeControl(message.reason)})` };
        return;
      case 'runaway': {
        // The isolate cannot be stopped: its thread would burn a core for minutes. Nothing more is sent here
        // (the culprit is moved out before its next call), and the process is killed as soon as the
        // timed-out call's own answer, which follows, is in (or shortly anyway).
        this.#doom({ culprit: message.hid, reason: 'its isolate kept running after the deadline and could not be stopped' });
        const waiting = [...this.#inFlight.values()].some((r) => r.hid === message.hid);
        if (!waiting) this.#child.kill('SIGKILL');
        else {
          this.#killAfterAnswerOf = message.hid;
          setTimeout(() => this.#child.kill('SIGKILL'), RUNAWAY_ANSWER_GRACE_MS).unref();
        }
        return;
      }
      case 'pending': {
        const r = this.#inFlight.get(message.rid);
        if (r) r.pending = true;
        return;
      }
      default: {
        const r = this.#inFlight.get(message.rid);
        if (!r) return;
        this.#inFlight.delete(message.rid);
        if (r.hid === this.#killAfterAnswerOf) this.#child.kill('SIGKILL');
        if (this.#inFlight.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
        r.resolve({ kind: 'answer', message, body });
      }
    }
  }

  #watch(): void {
    if (this.#dead || this.#inFlight.size === 0) return;
    const now = performance.now();
    const running = this.#running();
    if (running === undefined || running.rid !== this.#seenRunning) {
      this.#seenRunning = running?.rid ?? 0;
      this.#seenSince = now;
    } else if (now - this.#seenSince > running.syncBudgetMs + SYNC_GRACE_MS) {
      this.#logger.error({ pid: this.pid, overMs: Math.round(now - this.#seenSince - running.syncBudgetMs) }, 'sandbox: a hook\'s synchronous code overran its CPU budget and could not be stopped; killing its process');
      this.kill({ culprit: running.hid, reason: `its synchronous code ran over ${Math.round(now - this.#seenSince)} ms, past its CPU budget of ${running.syncBudgetMs} ms, and could not be stopped` });
      return;
    }
    if (now - this.#lastHeard < SILENCE_GRACE_MS) return;
    const overdue = [...this.#inFlight.values()].filter((r) => r.pending && now - r.sentAt > r.wallMs + SILENCE_GRACE_MS);
    if (overdue.length === 0) return;
    this.#logger.error({ pid: this.pid, silentMs: Math.round(now - this.#lastHeard) }, 'sandbox: the sandbox process stopped answering; killing it');
    const hids = new Set(overdue.map((r) => r.hid));
    if (hids.size === 1) this.kill({ culprit: overdue[0]?.hid ?? -1, reason: 'the process stopped answering during its call' });
    else {
      this.#suspectsOverride = { hids, reason: 'the process stopped answering while these calls were pending' };
      this.#child.kill('SIGKILL');
    }
  }

  /** Kills the process with a known culprit; from now on it takes no requests and the culprit is quarantined. */
  kill(verdict: { culprit: number; reason: string }): void {
    this.#doom(verdict);
    this.#child.kill('SIGKILL');
  }

  #doom(verdict: { culprit: number; reason: string }): void {
    if (this.#verdict !== null) return;
    this.#verdict = verdict;
    this.#doomed = true;
    this.#onDoomed(verdict);
  }

  #attribute(): Attribution {
    const how = this.#exitInfo ?? 'it ended';
    if (this.#verdict) return { culprit: this.#verdict.culprit, suspects: new Set([this.#verdict.culprit]), reason: `${this.#verdict.reason} (${how})` };
    if (this.#suspectsOverride) {
      return { culprit: null, suspects: this.#suspectsOverride.hids, reason: `${this.#suspectsOverride.reason} (${how})` };
    }
    const suspects = new Set<number>();
    const running = this.#running();
    if (running) suspects.add(running.hid);
    for (const r of this.#inFlight.values()) if (r.pending) suspects.add(r.hid);
    if (suspects.size === 1) return { culprit: [...suspects][0] ?? null, suspects, reason: `the process died during its call (${how})` };
    return { culprit: null, suspects, reason: `the process died (${how})` };
  }

  #die(): void {
    if (this.#dead) return;
    this.#dead = true;
    clearInterval(this.#timer);
    this.#resolveExited();
    const attribution: Attribution = this.#closing ? { culprit: null, suspects: new Set(), reason: 'the sandbox host closed' } : this.#attribute();
    if (this.#progressFd !== null) {
      try { closeSync(this.#progressFd); } catch { /* closed */ }
      this.#progressFd = null;
      rmSync(this.#progressPath, { force: true });
    }
    const inFlight = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const w of this.#idleWaiters.splice(0)) w();
    if (!this.#closing) this.#onDeath(attribution);
    for (const r of inFlight) r.resolve({ kind: 'died', attribution });
  }

  #pipeOutput(stream: Readable, name: 'stdout' | 'stderr'): void {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      if (rest.length > 4000) { lines.push(rest); rest = ''; }
      for (const line of lines) this.#outputLine(name, line);
    });
    stream.on('end', () => { if (rest !== '') this.#outputLine(name, rest); });
    stream.on('error', () => {});
  }

  /** The child's own output becomes log entries (never raw bytes in the connector's JSON log stream). */
  #outputLine(stream: 'stdout' | 'stderr', line: string): void {
    if (line.trim() === '') return;
    this.#outputLines++;
    if (this.#outputLines > MAX_OUTPUT_LINES) {
      if (this.#outputLines === MAX_OUTPUT_LINES + 1) this.#logger.warn({ pid: this.pid, stream }, 'sandbox: further output of the sandbox process is not logged');
      return;
    }
    this.#logger.warn({ pid: this.pid, stream, text: escapeControl(line.slice(0, 2000)) }, 'sandbox: output of the sandbox process');
  }

  /** Ends the process: its request pipe closes (it exits on its own), killed if it has not gone within 2 s. */
  async close(): Promise<void> {
    if (this.#dead) return;
    this.#closing = true;
    this.#requests.end();
    const force = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
    force.unref();
    await this.exited;
    clearTimeout(force);
  }
}
