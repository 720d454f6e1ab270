// A local Asterisk Manager Interface server for tests: real TCP on 127.0.0.1, port 0, speaking the AMI
// protocol as Asterisk 22 does for what the connector uses (manager.c): the banner, Login (success, or
// "Authentication failed" and the connection closed), Ping, Logoff, an event list (CoreShowChannels),
// and Originate: without `write = originate` "Permission denied"; Async → "Originate successfully queued"
// then, later, Event: OriginateResponse with Response Success/Failure and Reason. Fault switches: slow
// answers, actions never answered, every write cut into tiny chunks, dropping every connection, refusing
// new ones.
import net from 'node:net';
import { AmiParser, encodeAction, type AmiMessage } from '../../core/ami/protocol.js';

export interface AmiUser {
  secret: string;
  /** manager.conf write = originate */
  originate: boolean;
}

export interface OriginatePlan {
  /** Delay before the OriginateResponse event (the first leg rings). */
  afterMs: number;
  ok: boolean;
  reason: number;
}

export interface ReceivedOriginate {
  fields: Record<string, string>;
  variables: string[];
  user: string;
}

export interface TestAmiServer {
  port: number;
  originates: ReceivedOriginate[];
  logins: Array<{ user: string; ok: boolean }>;
  actions: string[];
  /** Per-Originate outcome (default: answered after 20 ms). */
  plan: (o: ReceivedOriginate) => OriginatePlan;
  /** Delay before every Response. */
  responseDelayMs: number;
  /** Actions that get no response at all. */
  silent: Set<string>;
  /** Split every write into chunks of this many bytes (0 = whole). */
  chunkBytes: number;
  /** Caller name sent in events (a non-ASCII one tests the UTF-8 handling). */
  callerName: string;
  /** Drop every open connection now. */
  dropAll(): void;
  /** Stop listening (connection refused) until resume(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Send an event to every logged-in connection. */
  broadcast(fields: Array<[string, string]>): void;
  close(): Promise<void>;
}

export async function startTestAmiServer(users: Record<string, AmiUser>): Promise<TestAmiServer> {
  const sockets = new Set<net.Socket>();
  const logged = new Map<net.Socket, string>();
  let port = 0;
  let server: net.Server;

  const write = (s: net.Socket, bytes: Buffer): void => {
    if (state.chunkBytes <= 0) {
      s.write(bytes);
      return;
    }
    for (let i = 0; i < bytes.length; i += state.chunkBytes) s.write(bytes.subarray(i, i + state.chunkBytes));
  };
  const send = (s: net.Socket, fields: Array<[string, string]>): void => {
    if (!s.destroyed) write(s, encodeAction(fields));
  };
  const respond = (s: net.Socket, fields: Array<[string, string]>): void => {
    if (state.responseDelayMs > 0) setTimeout(() => send(s, fields), state.responseDelayMs);
    else send(s, fields);
  };

  function handle(s: net.Socket, m: AmiMessage): void {
    const action = (m.get('Action') ?? '').toLowerCase();
    const id = m.get('ActionID');
    const idField: Array<[string, string]> = id === undefined ? [] : [['ActionID', id]];
    state.actions.push(m.get('Action') ?? '');
    if (state.silent.has(action)) return;
    if (action === 'login') {
      const name = m.get('Username') ?? '';
      const user = users[name];
      const ok = user !== undefined && user.secret === (m.get('Secret') ?? '');
      state.logins.push({ user: name, ok });
      if (!ok) {
        send(s, [['Response', 'Error'], ...idField, ['Message', 'Authentication failed']]);
        setTimeout(() => s.end(), 5);
        return;
      }
      logged.set(s, name);
      respond(s, [['Response', 'Success'], ...idField, ['Message', 'Authentication accepted']]);
      send(s, [['Event', 'FullyBooted'], ['Privilege', 'system,all'], ['Status', 'Fully Booted']]);
      return;
    }
    const who = logged.get(s);
    if (who === undefined) {
      respond(s, [['Response', 'Error'], ...idField, ['Message', 'Missing action in request']]);
      return;
    }
    if (action === 'ping') {
      respond(s, [['Response', 'Success'], ...idField, ['Ping', 'Pong'], ['Timestamp', `${Date.now() / 1000}`]]);
      return;
    }
    if (action === 'logoff') {
      send(s, [['Response', 'Goodbye'], ...idField, ['Message', 'Thanks for all the fish.']]);
      s.end();
      return;
    }
    if (action === 'coreshowchannels') {
      respond(s, [['Response', 'Success'], ...idField, ['EventList', 'start'], ['Message', 'Channels will follow']]);
      setTimeout(() => {
        for (const n of ['201', '202']) {
          send(s, [['Event', 'CoreShowChannel'], ...idField, ['Channel', `PJSIP/${n}-0000001`], ['CallerIDName', state.callerName], ['CallerIDNum', n]]);
        }
        send(s, [['Event', 'CoreShowChannelsComplete'], ...idField, ['EventList', 'Complete'], ['ListItems', '2']]);
      }, state.responseDelayMs + 5);
      return;
    }
    if (action === 'originate') {
      if (!users[who]!.originate) {
        respond(s, [['Response', 'Error'], ...idField, ['Message', 'Permission denied']]);
        return;
      }
      const fields: Record<string, string> = {};
      for (const [k, v] of m.fields) if (k.toLowerCase() !== 'variable') fields[k] = v;
      const received: ReceivedOriginate = { fields, variables: m.all('Variable'), user: who };
      if (fields.Exten !== undefined && (fields.Context === undefined || fields.Priority === undefined)) {
        respond(s, [['Response', 'Error'], ...idField, ['Message', "Originate with 'Exten' requires 'Context' and 'Priority'"]]);
        return;
      }
      state.originates.push(received);
      if ((fields.Async ?? '').toLowerCase() !== 'true') {
        respond(s, [['Response', 'Error'], ...idField, ['Message', 'this test server only does Async Originate']]);
        return;
      }
      respond(s, [['Response', 'Success'], ...idField, ['Message', 'Originate successfully queued']]);
      const plan = state.plan(received);
      setTimeout(() => {
        send(s, [
          ['Event', 'OriginateResponse'], ['Privilege', 'call,all'], ...idField, ['Response', plan.ok ? 'Success' : 'Failure'],
          ['Channel', fields.Channel ?? ''], ['Context', fields.Context ?? ''], ['Exten', fields.Exten ?? ''], ['Application', ''], ['Data', ''],
          ['Reason', String(plan.reason)], ['Uniqueid', plan.ok ? (fields.ChannelId ?? '') : '<null>'],
          ['CallerIDNum', fields.Exten ?? ''], ['CallerIDName', state.callerName],
        ]);
      }, state.responseDelayMs + plan.afterMs);
      return;
    }
    respond(s, [['Response', 'Error'], ...idField, ['Message', 'Invalid/unknown command']]);
  }

  function onConnection(s: net.Socket): void {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      logged.delete(s);
    });
    s.on('error', () => undefined);
    const parser = new AmiParser();
    // The client side sends no banner; the parser expects one, so feed it a fake banner first.
    parser.push(Buffer.from('Asterisk Call Manager/client\r\n'));
    write(s, Buffer.from('Asterisk Call Manager/9.0.0\r\n'));
    s.on('data', (chunk: Buffer) => {
      try {
        for (const m of parser.push(chunk)) handle(s, m);
      } catch {
        s.destroy();
      }
    });
  }

  const listen = (): Promise<void> =>
    new Promise((resolve) => {
      server = net.createServer(onConnection);
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await listen();

  const state: TestAmiServer = {
    get port() {
      return port;
    },
    originates: [],
    logins: [],
    actions: [],
    plan: () => ({ afterMs: 20, ok: true, reason: 4 }),
    responseDelayMs: 0,
    silent: new Set(),
    chunkBytes: 0,
    callerName: 'Test',
    dropAll() {
      for (const s of sockets) s.destroy();
    },
    pause: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        state.dropAll();
      }),
    resume: () => listen(),
    broadcast(fields) {
      for (const s of logged.keys()) send(s, fields);
    },
    close: () =>
      new Promise<void>((resolve) => {
        state.dropAll();
        server.close(() => resolve());
      }),
  };
  return state;
}
