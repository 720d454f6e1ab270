// A small AMI client: one TCP connection, login, ActionID correlation, event lists, Ping keep-alive,
// reconnect with backoff, a timeout on every action, and async Originate correlated with its later
// OriginateResponse event. Why our own and not an npm library: docs/ami.md.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { AmiParser, encodeAction, type AmiMessage } from './protocol.js';

export type AmiErrorCode =
  | 'AMI_LOGIN_FAILED' | 'AMI_PERMISSION_DENIED' | 'AMI_NOT_CONNECTED' | 'AMI_DISCONNECTED' | 'AMI_TIMEOUT'
  | 'AMI_ACTION_FAILED' | 'AMI_CONNECT_FAILED' | 'AMI_CLOSED' | 'AMI_PROTOCOL';

export class AmiError extends Error {
  constructor(readonly code: AmiErrorCode, message: string) {
    super(`${code}: ${message}`);
  }
}

export interface AmiOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  /** Ping every this many ms while connected; a Ping without an answer in pingTimeoutMs drops the connection. */
  keepaliveMs?: number;
  /** Default time an action may take before it fails with AMI_TIMEOUT. */
  actionTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay, doubling up to max (with ±20% jitter). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** false: a dropped connection stays down (tests, one-shot commands). */
  reconnect?: boolean;
}

export interface AmiReply {
  response: AmiMessage;
  /** The events of an event list (EventList: start … Complete), without the Complete marker. */
  events: AmiMessage[];
}

export interface OriginateRequest {
  channel: string;
  context: string;
  exten: string;
  priority: string;
  callerId?: string;
  timeoutMs: number;
  /** Forces the UNIQUEID/LINKEDID of the originated channel: how the CEL rows link back (≤ 32 chars on FreePBX). */
  channelId: string;
  variables?: Record<string, string>;
  account?: string;
}

export interface OriginateOutcome {
  ok: boolean;
  /** The AST_CONTROL_* value Asterisk reports (4 answered, 5 busy, 3 no answer, 8 congestion, 1 hangup, 0 no channel). */
  reason: number;
  reasonText: string;
  uniqueid: string;
  channel: string;
}

/** Reason codes of OriginateResponse (asterisk-cel.md §4.1; values of include/asterisk/frame.h). */
export function originateReasonText(reason: number): string {
  switch (reason) {
    case 0: return 'the channel could not be created (unknown endpoint, or the phone is not registered)';
    case 1: return 'hung up before answering';
    case 3: return 'rang, no answer before the timeout';
    case 4: return 'answered';
    case 5: return 'busy';
    case 8: return 'congestion (the number or the route is unavailable)';
    default: return `reason ${reason}`;
  }
}

interface Pending {
  resolve(r: AmiReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  response: AmiMessage | null;
  events: AmiMessage[];
  /** OriginateResponse awaited (Async Originate). */
  originate?: { resolve(o: OriginateOutcome): void; reject(e: Error): void };
}

export type AmiState = 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * Events: 'event' (AmiMessage), 'connected' ({ banner, afterMs }), 'disconnected' ({ error }), 'error' is never
 * emitted (failures are in 'disconnected' and in rejected promises, so an unhandled error cannot crash the process).
 */
export class AmiClient extends EventEmitter {
  private socket: net.Socket | null = null;
  private parser = new AmiParser();
  private readonly prefix = randomBytes(4).toString('hex');
  private counter = 0;
  private readonly pending = new Map<string, Pending>();
  private stateValue: AmiState = 'disconnected';
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private downSince: number | null = null;
  private readonly o: Required<AmiOptions>;
  private waiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  /** The last reason a connection attempt failed (login errors are not retried: they need a settings fix). */
  lastError: AmiError | null = null;

  constructor(options: AmiOptions) {
    super();
    this.o = {
      keepaliveMs: 15_000, actionTimeoutMs: 10_000, connectTimeoutMs: 5_000, reconnectMinMs: 500, reconnectMaxMs: 30_000, reconnect: true, ...options,
    };
  }

  get state(): AmiState {
    return this.stateValue;
  }

  /** Connects and logs in; resolves once logged in. Rejects on a bad login (no retry) or, without reconnect, on a failed connect. */
  start(): Promise<void> {
    if (this.stateValue === 'closed') return Promise.reject(new AmiError('AMI_CLOSED', 'the client was closed'));
    const ready = this.ready();
    if (this.stateValue === 'disconnected' && this.reconnectTimer === null) this.connect();
    return ready;
  }

  /** Resolves when logged in (now or later); rejects on a login failure or close. */
  ready(timeoutMs?: number): Promise<void> {
    if (this.stateValue === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            reject(this.lastError ?? new AmiError('AMI_NOT_CONNECTED', `not connected to AMI ${this.o.host}:${this.o.port} within ${timeoutMs} ms`));
          }
        }, timeoutMs).unref();
      }
    });
  }

  private settleWaiters(error: Error | null): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) (error ? w.reject(error) : w.resolve());
  }

  private nextActionId(): string {
    this.counter += 1;
    return `ch-${this.prefix}-${this.counter}`;
  }

  private connect(): void {
    this.stateValue = 'connecting';
    this.downSince ??= Date.now();
    this.parser = new AmiParser();
    const socket = net.connect({ host: this.o.host, port: this.o.port });
    this.socket = socket;
    socket.setNoDelay(true);
    const connectTimer = setTimeout(() => socket.destroy(new AmiError('AMI_CONNECT_FAILED', `no AMI banner from ${this.o.host}:${this.o.port} within ${this.o.connectTimeoutMs} ms`)), this.o.connectTimeoutMs);
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      let messages: AmiMessage[];
      try {
        messages = this.parser.push(chunk);
      } catch (error) {
        socket.destroy(new AmiError('AMI_PROTOCOL', error instanceof Error ? error.message : String(error)));
        return;
      }
      if (!greeted && this.parser.banner !== null) {
        greeted = true;
        clearTimeout(connectTimer);
        void this.login(socket);
      }
      for (const m of messages) this.dispatch(m);
    });
    socket.on('error', (error) => {
      this.lastError = error instanceof AmiError ? error : new AmiError('AMI_CONNECT_FAILED', `${this.o.host}:${this.o.port}: ${error.message}`);
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.onDown();
    });
  }

  private async login(socket: net.Socket): Promise<void> {
    try {
      // Events "on": OriginateResponse is a call-class event, so the manager user needs read = call.
      const reply = await this.sendOn(socket, [['Action', 'Login'], ['Username', this.o.username], ['Secret', this.o.secret], ['Events', 'on']], this.o.actionTimeoutMs);
      if (!isSuccess(reply.response)) {
        const msg = reply.response.get('Message') ?? 'Authentication failed';
        throw new AmiError('AMI_LOGIN_FAILED', `AMI login as "${this.o.username}" refused (${msg}): check ami.username and ami.secret against manager.conf`);
      }
    } catch (error) {
      // Asterisk answers a bad login with "Response: Error / Message: Authentication failed".
      const refused = error instanceof AmiError && error.code === 'AMI_ACTION_FAILED';
      const e = refused
        ? new AmiError('AMI_LOGIN_FAILED', `AMI login as "${this.o.username}" refused (${error.message.replace(/^.*refused by Asterisk: /, '')}): check ami.username and ami.secret against manager.conf`)
        : error instanceof AmiError ? error : new AmiError('AMI_LOGIN_FAILED', String(error));
      this.lastError = e;
      if (e.code === 'AMI_LOGIN_FAILED') {
        // A wrong password does not fix itself: stop, and tell every waiter why.
        this.stateValue = 'closed';
        this.settleWaiters(e);
        this.socket = null;
        this.failAll(e);
        socket.destroy();
        return;
      }
      socket.destroy(e);
      return;
    }
    const afterMs = this.downSince === null ? 0 : Date.now() - this.downSince;
    this.downSince = null;
    this.attempt = 0;
    this.lastError = null;
    this.stateValue = 'connected';
    this.startPing(socket);
    this.settleWaiters(null);
    this.emit('connected', { banner: this.parser.banner ?? '', afterMs });
  }

  private startPing(socket: net.Socket): void {
    if (this.o.keepaliveMs <= 0) return;
    this.pingTimer = setInterval(() => {
      this.sendOn(socket, [['Action', 'Ping']], Math.min(this.o.actionTimeoutMs, this.o.keepaliveMs)).catch(() => {
        // A connection that cannot answer a Ping is dead even if TCP has not noticed.
        socket.destroy(new AmiError('AMI_TIMEOUT', 'Ping got no answer: the connection is dropped and re-opened'));
      });
    }, this.o.keepaliveMs);
    this.pingTimer.unref();
  }

  private onDown(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.socket = null;
    const error = new AmiError('AMI_DISCONNECTED', `the AMI connection to ${this.o.host}:${this.o.port} was lost`);
    this.failAll(error);
    if (this.stateValue === 'closed') return;
    const wasConnected = this.stateValue === 'connected';
    this.stateValue = 'disconnected';
    this.downSince ??= Date.now();
    this.emit('disconnected', { error: this.lastError ?? error, wasConnected });
    if (!this.o.reconnect) {
      this.settleWaiters(this.lastError ?? error);
      return;
    }
    const base = Math.min(this.o.reconnectMaxMs, this.o.reconnectMinMs * 2 ** this.attempt);
    this.attempt += 1;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stateValue === 'disconnected') this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  private failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      if (p.originate && p.response !== null) p.originate.reject(error);
      else p.reject(error);
    }
  }

  private dispatch(m: AmiMessage): void {
    const id = m.get('ActionID');
    const p = id === undefined ? undefined : this.pending.get(id);
    if (m.get('Response') !== undefined && p !== undefined && p.response === null) {
      p.response = m;
      if (p.originate) {
        // Async Originate: the Response says queued (or refused); the outcome is the later event.
        if (!isSuccess(m)) this.finish(id!, p, () => p.reject(actionError('Originate', m)));
        else p.resolve({ response: m, events: [] });
        return;
      }
      if ((m.get('EventList') ?? '').toLowerCase() === 'start') return;
      this.finish(id!, p, () => (isSuccess(m) || m.get('Response')?.toLowerCase() === 'follows' ? p.resolve({ response: m, events: [] }) : p.reject(actionError(m.get('Action') ?? 'action', m))));
      return;
    }
    if (m.get('Event') !== undefined) {
      if (p !== undefined && p.originate && m.get('Event')?.toLowerCase() === 'originateresponse') {
        const reason = Number(m.get('Reason') ?? '0');
        const outcome: OriginateOutcome = {
          ok: isSuccess(m), reason: Number.isFinite(reason) ? reason : 0, reasonText: originateReasonText(Number.isFinite(reason) ? reason : 0),
          uniqueid: m.get('Uniqueid') ?? '', channel: m.get('Channel') ?? '',
        };
        this.finish(id!, p, () => p.originate!.resolve(outcome));
      } else if (p !== undefined && p.response !== null && !p.originate) {
        if ((m.get('EventList') ?? '').toLowerCase() === 'complete') this.finish(id!, p, () => p.resolve({ response: p.response!, events: p.events }));
        else p.events.push(m);
      }
      this.emit('event', m);
    }
  }

  private finish(id: string, p: Pending, settle: () => void): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    settle();
  }

  private sendOn(socket: net.Socket, fields: Array<[string, string]>, timeoutMs: number, originate?: Pending['originate']): Promise<AmiReply> {
    const id = this.nextActionId();
    const bytes = encodeAction([...fields.filter(([k]) => k.toLowerCase() !== 'actionid'), ['ActionID', id]]);
    const action = fields.find(([k]) => k.toLowerCase() === 'action')?.[1] ?? 'action';
    return new Promise<AmiReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        const e = new AmiError('AMI_TIMEOUT', `${action} got no answer within ${timeoutMs} ms`);
        if (originate && p.response !== null) originate.reject(e);
        else reject(e);
      }, timeoutMs);
      const p: Pending = { resolve, reject, timer, response: null, events: [], ...(originate ? { originate } : {}) };
      this.pending.set(id, p);
      socket.write(bytes);
    });
  }

  /** Sends an action; resolves with its response (and the events of an event list). Never waits forever. */
  action(fields: Record<string, string> | Array<[string, string]>, timeoutMs = this.o.actionTimeoutMs): Promise<AmiReply> {
    const list = Array.isArray(fields) ? fields : Object.entries(fields);
    if (this.stateValue !== 'connected' || this.socket === null) {
      return Promise.reject(this.notConnected());
    }
    return this.sendOn(this.socket, list, timeoutMs);
  }

  private notConnected(): AmiError {
    const why = this.lastError ? ` (${this.lastError.message})` : '';
    return new AmiError('AMI_NOT_CONNECTED', `not connected to AMI ${this.o.host}:${this.o.port}${why}`);
  }

  /**
   * Async Originate with our ChannelId. `queued` resolves when Asterisk accepted it (or rejects: permission,
   * bad parameters); `outcome` when the OriginateResponse event arrives (the first leg answered or failed),
   * at the latest timeoutMs + actionTimeoutMs after sending.
   */
  originate(req: OriginateRequest): { queued: Promise<AmiReply>; outcome: Promise<OriginateOutcome> } {
    let resolveOutcome!: (o: OriginateOutcome) => void;
    let rejectOutcome!: (e: Error) => void;
    const outcome = new Promise<OriginateOutcome>((res, rej) => {
      resolveOutcome = res;
      rejectOutcome = rej;
    });
    const fields: Array<[string, string]> = [
      ['Action', 'Originate'], ['Channel', req.channel], ['Context', req.context], ['Exten', req.exten], ['Priority', req.priority],
      ['Timeout', String(req.timeoutMs)], ['Async', 'true'], ['ChannelId', req.channelId],
    ];
    if (req.callerId) fields.push(['CallerID', req.callerId]);
    if (req.account) fields.push(['Account', req.account]);
    for (const [k, v] of Object.entries(req.variables ?? {})) fields.push(['Variable', `${k}=${v}`]);
    let queued: Promise<AmiReply>;
    if (this.stateValue !== 'connected' || this.socket === null) queued = Promise.reject(this.notConnected());
    else queued = this.sendOn(this.socket, fields, req.timeoutMs + this.o.actionTimeoutMs, { resolve: resolveOutcome, reject: rejectOutcome });
    queued.catch((e: unknown) => rejectOutcome(e instanceof Error ? e : new Error(String(e))));
    outcome.catch(() => undefined);
    return { queued, outcome };
  }

  /** Logs off and stops reconnecting. */
  async close(): Promise<void> {
    const socket = this.socket;
    this.stateValue = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.failAll(new AmiError('AMI_CLOSED', 'the client was closed'));
    this.settleWaiters(new AmiError('AMI_CLOSED', 'the client was closed'));
    if (socket === null) return;
    this.socket = null;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end(encodeAction([['Action', 'Logoff'], ['ActionID', this.nextActionId()]]));
      setTimeout(() => socket.destroy(), 500).unref();
    });
  }
}

function isSuccess(m: AmiMessage): boolean {
  return (m.get('Response') ?? '').toLowerCase() === 'success' || (m.get('Response') ?? '').toLowerCase() === 'pong';
}

function actionError(action: string, m: AmiMessage): AmiError {
  const msg = m.get('Message') ?? '';
  if (/permission denied/i.test(msg)) {
    return new AmiError('AMI_PERMISSION_DENIED', `${action}: permission denied: the AMI user needs "write = originate" (and "read = call") in manager.conf`);
  }
  return new AmiError('AMI_ACTION_FAILED', `${action} refused by Asterisk: ${msg || 'no message'}`);
}
