// Entry of a sandbox child process: hosts hook isolates for the supervisor (sandbox/supervisor.ts).
// Requests arrive on fd 3, answers leave on fd 4 (sandbox/protocol.ts). Requests are handled one after the
// other, each to the end of its synchronous part; before one that follows others of its batch starts, its rid
// is written to the progress file (fd 5, a plain file: writing it wakes nobody). So when this process dies,
// the supervisor knows which request was running (the progress file, or else the oldest one unanswered). Answers of one batch leave together in one write
// (one wake-up of the connector, not one per answer); a "pending" notice (an async hook now waits for http)
// is written at once, so the supervisor always knows which calls may still run code. If V8 loses control of
// an isolate, this process names the hook and aborts; if an isolate cannot be stopped after its deadline, it
// names the hook and waits to be killed.
import { writeSync } from 'node:fs';
import net from 'node:net';
import { HookError } from './errors.js';
import { InlineHook, type RawOutcome } from './inline-hook.js';
import { encodeFrame, FrameReader, type ErrorJson, type FromChild, type ToChild } from './protocol.js';
import type { SandboxLogger } from './types.js';

const REQUESTS_FD = 3;
const ANSWERS_FD = 4;
const PROGRESS_FD = 5;

// The supervisor writes the log lines (it has the logger, the breaker and the call's context).
const silent: SandboxLogger = { debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
const hooks = new Map<number, InlineHook>();
// Gate calls of a batch: true = answered false, false = answered something else, null = not answered yet.
const gates = new Map<number, boolean | null>();
const MAX_GATES = 1024;

function setGate(rid: number, value: boolean | null): void {
  gates.set(rid, value);
  if (gates.size > MAX_GATES) gates.delete(gates.keys().next().value as number);
}

/** 'run', or why a gated call is not run here. */
function gateVerdict(rids: readonly number[]): 'run' | 'skipped' | 'deferred' {
  let verdict: 'run' | 'deferred' = 'run';
  for (const rid of rids) {
    const g = gates.get(rid);
    if (g === true) return 'skipped';
    if (g === undefined || g === null) verdict = 'deferred';
  }
  return verdict;
}

let held: Buffer[] = [];
/** True while a batch of requests is being handled: answers wait for the end of the batch. */
let inBatch = false;
/** Requests of the current batch started so far. */
let startedInBatch = 0;

function write(buf: Buffer): void {
  for (let at = 0; at < buf.length;) at += writeSync(ANSWERS_FD, buf, at);
}

function flush(): void {
  if (held.length === 0) return;
  const out = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held);
  held = [];
  write(out);
}

/** Answers of the batch in progress wait for its end; everything else (and anything urgent) goes now. */
function send(message: FromChild, body = '', urgent = false): void {
  const frame = encodeFrame(message, body);
  if (inBatch && !urgent) { held.push(frame); return; }
  flush();
  write(frame);
}

const progressBuf = Buffer.alloc(4);
/**
 * Records that request `rid` starts. The first request of a batch needs no record: every earlier request has
 * been answered (or reported pending) when a batch starts, so the supervisor knows it is the oldest request
 * without an answer. A later one does (the answers before it are still held), and a system call here costs
 * a few microseconds, so only those pay it.
 */
function starting(rid: number): void {
  if (startedInBatch++ === 0 && inBatch) return;
  progressBuf.writeUInt32LE(rid, 0);
  try { writeSync(PROGRESS_FD, progressBuf, 0, 4, 0); } catch { /* no progress file: attribution falls back to suspects */ }
}

function errorJson(error: HookError): ErrorJson {
  return { ...error.toJSON(), stack: error.stack ?? '' };
}

function answer(rid: number, o: RawOutcome, gate: boolean): void {
  if (gate) setGate(rid, o.ok && o.json === 'false');
  const extra = { ...(o.logs.length > 0 ? { logs: o.logs } : {}), ...(o.droppedLogs > 0 ? { droppedLogs: o.droppedLogs } : {}) };
  if (o.ok) send({ op: 'outcome', rid, ok: true, durationMs: o.durationMs, ...extra }, o.json);
  else send({ op: 'outcome', rid, ok: false, error: errorJson(o.error), durationMs: o.durationMs, countsAsFailure: o.countsAsFailure, ...extra });
}

function onRequest(raw: unknown, body: string): void {
  const msg = raw as ToChild;
  switch (msg.op) {
    case 'load': {
      const { hid } = msg;
      const hook = new InlineHook(msg.compiled, {
        limits: msg.limits, hookSettings: msg.hookSettings, http: msg.http, logger: silent, emitLogs: false,
        breaker: { failureThreshold: Number.MAX_SAFE_INTEGER },
        onCatastrophic: (reason) => { send({ op: 'lastWords', hid, reason }, '', true); process.abort(); },
        // Reported before the timed-out call's own answer: the supervisor stops sending here at once, and
        // kills this process once that answer is in.
        onRunaway: () => send({ op: 'runaway', hid }, '', true),
      });
      starting(msg.rid);
      try {
        hook.start();
        hooks.set(hid, hook);
        send({ op: 'loaded', rid: msg.rid, declaredHook: hook.declaredHook });
      } catch (error) {
        const e = error instanceof HookError ? error : new HookError({ code: 'HOOK_LOAD', message: 'the hook could not be loaded', hook: '', file: msg.compiled.source.displayName });
        send({ op: 'loadError', rid: msg.rid, error: errorJson(e) });
      }
      return;
    }
    case 'invoke': {
      const { rid } = msg;
      const hook = hooks.get(msg.hid);
      if (!hook) {
        send({ op: 'outcome', rid, ok: false, durationMs: 0, countsAsFailure: false, error: { code: 'HOOK_DISPOSED', message: 'the hook is not loaded in the sandbox process', hook: msg.hook, file: '' } });
        return;
      }
      if (msg.unlessFalse !== undefined) {
        const verdict = gateVerdict(msg.unlessFalse);
        if (verdict !== 'run') {
          // Not run here: a skipped call did not say no; a deferred one may still (the supervisor runs it).
          if (msg.gate) setGate(rid, verdict === 'skipped' ? false : null);
          send({ op: verdict, rid });
          return;
        }
      }
      const gate = msg.gate === true;
      if (gate) setGate(rid, null);
      const ctx = { hook: msg.hook, ...(msg.callId !== undefined ? { callId: msg.callId } : {}), ...(msg.wallMs !== undefined ? { wallMs: msg.wallMs } : {}) };
      starting(rid);
      const result = hook.invokeRaw(body, ctx, () => send({ op: 'pending', rid }, '', true));
      if (result instanceof Promise) void result.then((o) => answer(rid, o, gate));
      else answer(rid, result, gate);
      return;
    }
    case 'dispose': {
      const hook = hooks.get(msg.hid);
      hooks.delete(msg.hid);
      void hook?.dispose();
      return;
    }
  }
}

// Signals sent to the whole process group (Ctrl-C, a service manager stopping the connector) are the
// connector's to act on: this process ends when the connector closes its end of the request pipe.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

const reader = new FrameReader(onRequest);
const requests = new net.Socket({ fd: REQUESTS_FD, readable: true, writable: false });
requests.on('data', (chunk: Buffer) => {
  // The requests of one chunk (a batch the supervisor wrote at once) are one batch here.
  inBatch = true;
  startedInBatch = 0;
  try {
    reader.push(chunk);
  } finally {
    inBatch = false;
    flush();
  }
});
requests.on('end', () => process.exit(0));
requests.on('error', () => process.exit(0));
