// The AMI client against the local AMI server (real TCP): login, bad login, missing permission, split
// UTF-8, event lists, actions without an answer, keep-alive, reconnect, Originate correlation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AmiClient, AmiError } from '../../core/ami/client.js';
import { AmiParser } from '../../core/ami/protocol.js';
import { startTestAmiServer, type TestAmiServer } from './server.js';

const USERS = { callhook: { secret: 's3cret', originate: true }, readonly: { secret: 'ro', originate: false } };

function client(server: TestAmiServer, over: Partial<ConstructorParameters<typeof AmiClient>[0]> = {}): AmiClient {
  return new AmiClient({ host: '127.0.0.1', port: server.port, username: 'callhook', secret: 's3cret', reconnectMinMs: 50, reconnectMaxMs: 400, ...over });
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<AmiError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof AmiError, `expected AmiError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, it resolved`);
}

describe('AMI parser', () => {
  it('keeps a Cyrillic name whole when every byte arrives in its own chunk', () => {
    const p = new AmiParser();
    const bytes = Buffer.from('Asterisk Call Manager/9.0.0\r\nEvent: Newchannel\r\nCallerIDName: Иван Петров\r\n\r\n', 'utf8');
    const out = [];
    for (const b of bytes) out.push(...p.push(Buffer.from([b])));
    assert.equal(out.length, 1);
    assert.equal(out[0]!.get('calleridname'), 'Иван Петров');
    assert.equal(p.banner, 'Asterisk Call Manager/9.0.0');
  });

  it('refuses a server that is not AMI, and a message that never ends', () => {
    assert.throws(() => new AmiParser().push(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), /AMI_BAD_BANNER|did not greet/);
    const p = new AmiParser();
    p.push(Buffer.from('Asterisk Call Manager/9\r\n'));
    assert.throws(() => p.push(Buffer.alloc(2 << 20, 0x41)), /exceeded/);
  });
});

describe('AMI client', () => {
  let server: TestAmiServer;
  before(async () => {
    server = await startTestAmiServer(USERS);
  });
  after(() => server.close());

  it('logs in; a wrong secret is AMI_LOGIN_FAILED naming the settings to fix, and is not retried', async () => {
    const ok = client(server);
    await ok.start();
    assert.equal(ok.state, 'connected');
    await ok.close();
    const before = server.logins.length;
    const bad = client(server, { secret: 'wrong' });
    const e = await rejectsWith(bad.start(), 'AMI_LOGIN_FAILED');
    assert.match(e.message, /ami\.secret/);
    assert.doesNotMatch(e.message, /wrong/, 'the secret is not in the message');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(server.logins.length - before, 1, 'one attempt only');
    await bad.close();
  });

  it('an Originate without write = originate is AMI_PERMISSION_DENIED', async () => {
    const c = client(server, { username: 'readonly', secret: 'ro' });
    await c.start();
    const r = c.originate({ channel: 'PJSIP/201', context: 'from-internal', exten: '100', priority: '1', timeoutMs: 1000, channelId: 'x1' });
    const e = await rejectsWith(r.queued, 'AMI_PERMISSION_DENIED');
    assert.match(e.message, /write = originate/);
    await rejectsWith(r.outcome, 'AMI_PERMISSION_DENIED');
    await c.close();
  });

  it('collects an event list, and a non-ASCII caller name sent byte by byte comes out whole', async () => {
    server.chunkBytes = 1;
    server.callerName = 'Ольга Смирнова';
    const c = client(server);
    try {
      await c.start();
      const reply = await c.action({ Action: 'CoreShowChannels' });
      assert.equal(reply.events.length, 2);
      assert.deepEqual(reply.events.map((e) => e.get('CallerIDName')), ['Ольга Смирнова', 'Ольга Смирнова']);
    } finally {
      server.chunkBytes = 0;
      server.callerName = 'Test';
      await c.close();
    }
  });

  it('an action that never gets an answer fails with AMI_TIMEOUT; the connection stays usable', async () => {
    server.silent.add('status');
    const c = client(server);
    try {
      await c.start();
      await rejectsWith(c.action({ Action: 'Status' }, 200), 'AMI_TIMEOUT');
      const pong = await c.action({ Action: 'Ping' });
      assert.equal(pong.response.get('Ping'), 'Pong');
    } finally {
      server.silent.delete('status');
      await c.close();
    }
  });

  it('50 concurrent actions over two clients each get their own answer (ActionID correlation)', async () => {
    const a = client(server);
    const b = client(server);
    await Promise.all([a.start(), b.start()]);
    const seen = server.actions.length;
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).action({ Action: 'Ping' })));
    assert.equal(server.actions.length - seen, 50);
    await a.close();
    await b.close();
  });

  it('correlates Originate with its OriginateResponse, success and failure reasons, several at once', async () => {
    server.plan = (o) => (o.fields.Exten === '555' ? { afterMs: 80, ok: false, reason: 5 } : { afterMs: 30, ok: true, reason: 4 });
    const c = client(server);
    try {
      await c.start();
      const good = c.originate({ channel: 'PJSIP/201', context: 'from-internal', exten: '79001234567', priority: '1', timeoutMs: 2000, channelId: 'c2c-a', variables: { CRM_CALL_ID: 'X1' }, callerId: '"Клиент" <79001234567>' });
      const busy = c.originate({ channel: 'PJSIP/202', context: 'from-internal', exten: '555', priority: '1', timeoutMs: 2000, channelId: 'c2c-b' });
      const [g, b] = await Promise.all([good.outcome, busy.outcome]);
      assert.equal(g.ok, true);
      assert.equal(g.uniqueid, 'c2c-a');
      assert.equal(b.ok, false);
      assert.equal(b.reason, 5);
      assert.match(b.reasonText, /busy/);
      const sent = server.originates.find((o) => o.fields.ChannelId === 'c2c-a')!;
      assert.equal(sent.fields.Async, 'true');
      assert.equal(sent.fields.CallerID, '"Клиент" <79001234567>');
      assert.deepEqual(sent.variables, ['CRM_CALL_ID=X1']);
    } finally {
      server.plan = () => ({ afterMs: 20, ok: true, reason: 4 });
      await c.close();
    }
  });

  it('a header value with a line break is refused before it reaches Asterisk', async () => {
    const c = client(server);
    await c.start();
    assert.throws(() => c.originate({ channel: 'PJSIP/201\r\nAction: Command', context: 'x', exten: '1', priority: '1', timeoutMs: 100, channelId: 'z' }), /AMI_BAD_HEADER/);
    await c.close();
  });

  it('a reconnect during an Originate: the outcome fails AMI_DISCONNECTED, the client reconnects by itself and works again', async () => {
    server.plan = () => ({ afterMs: 2000, ok: true, reason: 4 });
    const c = client(server);
    try {
      await c.start();
      const r = c.originate({ channel: 'PJSIP/201', context: 'from-internal', exten: '100', priority: '1', timeoutMs: 5000, channelId: 'c2c-drop' });
      await r.queued;
      const dropped = Date.now();
      server.dropAll();
      await rejectsWith(r.outcome, 'AMI_DISCONNECTED');
      await rejectsWith(c.action({ Action: 'Ping' }), 'AMI_NOT_CONNECTED');
      await c.ready(5000);
      const ms = Date.now() - dropped;
      console.log(`# AMI reconnect after a dropped connection: ${ms} ms (backoff from 50 ms)`);
      assert.equal((await c.action({ Action: 'Ping' })).response.get('Ping'), 'Pong');
    } finally {
      server.plan = () => ({ afterMs: 20, ok: true, reason: 4 });
      await c.close();
    }
  });

  it('AMI down for a while and back: reconnects with backoff, reports the downtime', async () => {
    const c = client(server);
    await c.start();
    let reconnectedAfter = -1;
    c.on('connected', (e: { afterMs: number }) => {
      reconnectedAfter = e.afterMs;
    });
    const attemptsBefore = server.logins.length;
    await server.pause();
    await new Promise((r) => setTimeout(r, 1200));
    assert.notEqual(c.state, 'connected');
    await server.resume();
    const t0 = Date.now();
    await c.ready(5000);
    console.log(`# AMI down 1200 ms then back: logged in again ${Date.now() - t0} ms after the port reopened (down ${reconnectedAfter} ms in total)`);
    assert.ok(reconnectedAfter >= 1200);
    assert.equal(server.logins.length - attemptsBefore, 1);
    await c.close();
  });

  it('a Ping without an answer drops the connection and a new one is made', async () => {
    const c = client(server, { keepaliveMs: 100, actionTimeoutMs: 100 });
    await c.start();
    const logins = server.logins.length;
    server.silent.add('ping');
    let downs = 0;
    c.on('disconnected', () => (downs += 1));
    await new Promise((r) => setTimeout(r, 450));
    server.silent.delete('ping');
    await c.ready(3000);
    assert.ok(downs >= 1, 'the dead connection was dropped');
    assert.ok(server.logins.length > logins, 'and logged in again');
    await c.close();
  });

  it('an unreachable AMI: start() with reconnect off fails AMI_CONNECT_FAILED; actions fail at once, never hang', async () => {
    const dead = await startTestAmiServer(USERS);
    const port = dead.port;
    await dead.close();
    const c = new AmiClient({ host: '127.0.0.1', port, username: 'u', secret: 's', reconnect: false });
    await rejectsWith(c.start(), 'AMI_CONNECT_FAILED');
    await rejectsWith(c.action({ Action: 'Ping' }), 'AMI_NOT_CONNECTED');
    await c.close();
  });
});
