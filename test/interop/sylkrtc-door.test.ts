/**
 * The sylkRTC door end to end: WebSocket clients speaking each dialect (sylkRTC-2, sylkRTC-1)
 * against a real Gateway whose SIP side is a real Kamailio (registrar and proxy, digest auth) and
 * SIPp. Two accounts on two connections register, call each other, call a SIPp UAS and are called
 * by a SIPp UAC, cancel a ringing call, exchange MESSAGEs, fail with a wrong HA1, misbehave, and a
 * connection closed mid-call ends its call and its registration. The evidence is what crossed both
 * wires: the JSON frames each client received, in order, and what SIPp and Kamailio saw.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SylkRtcDoor, type Dialect } from '../../src/api/sylkrtc/index.ts';
import { Gateway } from '../../src/core/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { startSipp } from './peers/sipp.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'a-secret', bob: 'b-secret' };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 42000 typ host', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'uf' };

/** HA1 as sylkrtc.js computes it: MD5(user:realm:password), realm = the domain. */
function ha1(user: string, password: string): string {
  return createHash('md5').update(`${user}:${DOMAIN}:${password}`).digest('hex');
}

type Frame = Record<string, unknown>;

/** A frame in sylkRTC-2 terms, whatever the dialect: v1 events flattened, names dashed. */
function normalize(frame: Frame): Frame {
  if (frame.sylkrtc === 'event' && frame.event === 'ready') return { sylkrtc: 'ready-event' };
  if (frame.sylkrtc === 'account_event' || frame.sylkrtc === 'session_event') {
    const { data, ...envelope } = frame as Frame & { data?: Frame };
    return {
      ...envelope,
      sylkrtc: String(frame.sylkrtc).replace('_', '-'),
      event: String(frame.event).replaceAll('_', '-'),
      ...(data ?? {}),
    };
  }
  return frame;
}

/** The request name a client of this dialect sends (the 2015 spellings for sylkRTC-1 account requests). */
function wireName(dialect: Dialect, name: string): string {
  if (dialect === 'sylkRTC-2') return name;
  const v1: Record<string, string> = { 'account-add': 'add_account', 'account-remove': 'remove_account', 'account-register': 'register', 'account-unregister': 'unregister' };
  return v1[name] ?? name;
}

class Client {
  readonly raw: Frame[] = [];
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  private waiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    readonly dialect: Dialect,
  ) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.raw.push(frame);
      this.frames.push(normalize(frame));
      this.waiters.splice(0).forEach((w) => w());
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static open(url: string, dialect: Dialect): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, dialect);
      const client = new Client(ws, dialect);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  /** The first frame (seen or to come) passing `test`. */
  async waitFor(test: (f: Frame) => boolean, label: string, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(test);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Sends a request; resolves with its ack or error frame. */
  async request(name: string, fields: Frame = {}): Promise<Frame> {
    const transaction = randomUUID();
    this.ws.send(JSON.stringify({ sylkrtc: wireName(this.dialect, name), transaction, ...fields }));
    return this.waitFor((f) => (f.sylkrtc === 'ack' || f.sylkrtc === 'error') && f.transaction === transaction, `reply to ${name}`);
  }

  async ok(name: string, fields: Frame = {}): Promise<void> {
    const reply = await this.request(name, fields);
    assert.equal(reply.sylkrtc, 'ack', `${name}: ${JSON.stringify(reply)}`);
  }

  sessionStates(session: string): string[] {
    return this.frames.filter((f) => f.sylkrtc === 'session-event' && f.session === session && f.event === 'state').map((f) => String(f.state));
  }

  stateFrame(session: string, state: string): Promise<Frame> {
    return this.waitFor((f) => f.sylkrtc === 'session-event' && f.session === session && f.event === 'state' && f.state === state, `${session} ${state}`);
  }

  registration(account: string, state: string): Promise<Frame> {
    return this.waitFor((f) => f.event === 'registration-state' && f.account === account && f.state === state, `${account} ${state}`);
  }

  indexOf(test: (f: Frame) => boolean): number {
    return this.frames.findIndex(test);
  }
}

let kamailio: Kamailio;
let gateway: Gateway;
let door: SylkRtcDoor;
let server: Server;
let url: string;

before(async () => {
  kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
  gateway = new Gateway({
    sip: { listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`, timers: { t1: 100, t2: 800, t4: 1000 } },
    domains: [DOMAIN],
    registration: { expires: 300 },
    closeTimeoutMs: 1500,
  });
  await gateway.start();
  door = new SylkRtcDoor(gateway, { pingIntervalMs: 0 });
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => door.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/webrtcgateway/ws`;
});

after(async () => {
  await door?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.close();
  await kamailio?.stop();
});

for (const dialect of ['sylkRTC-2', 'sylkRTC-1'] as const) {
  describe(`${dialect} through Kamailio and SIPp`, () => {
    const alice = `alice@${DOMAIN}`;
    const bob = `bob@${DOMAIN}`;
    let a: Client;
    let b: Client;
    const extra: Client[] = [];

    before(async () => {
      a = await Client.open(url, dialect);
      b = await Client.open(url, dialect);
    });

    after(async () => {
      // Leave Kamailio's location table as we found it for the next dialect.
      for (const c of [a, b, ...extra]) if (c.ws.readyState === WebSocket.OPEN) c.ws.close();
      await Promise.all([a, b, ...extra].map((c) => c.closed));
      for (let i = 0; i < 40 && ((await kamailio.locations('alice')).length > 0 || (await kamailio.locations('bob')).length > 0); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    it('registers alice and bob on two connections: ready first, acks before registering / registered', async () => {
      await a.ok('account-add', { account: `sip:${alice}`, password: ha1('alice', PASSWORDS.alice), display_name: 'Alice', user_agent: 'interop' });
      await b.ok('account-add', { account: bob, password: ha1('bob', PASSWORDS.bob) });
      await Promise.all([a.ok('account-register', { account: alice }), b.ok('account-register', { account: bob })]);
      await a.registration(alice, 'registered');
      await b.registration(bob, 'registered');
      for (const [c, aor] of [[a, alice], [b, bob]] as const) {
        assert.deepEqual(
          c.frames.map((f) => (f.event === 'registration-state' ? `${f.account} ${f.state}` : f.sylkrtc)),
          ['ready-event', 'ack', 'ack', `${aor} registering`, `${aor} registered`],
        );
      }
      if (dialect === 'sylkRTC-1') {
        assert.deepEqual(a.raw[0], { sylkrtc: 'event', event: 'ready' });
        assert.deepEqual(a.raw[4], { sylkrtc: 'account_event', account: alice, event: 'registration_state', data: { state: 'registered' } });
      } else {
        assert.deepEqual(a.raw[4], { sylkrtc: 'account-event', account: alice, event: 'registration-state', state: 'registered' });
      }
      assert.equal((await kamailio.locations('alice')).length, 1);
      assert.equal((await kamailio.locations('bob')).length, 1);
      // sylkrtc.js fetches the address book after `registered`: answered (an error it only logs).
      const fetched = await a.request('account-fetch-addressbook', { account: alice });
      assert.equal(fetched.sylkrtc, 'error');
      assert.match(String(fetched.error), /not supported/);
    });

    it('alice calls bob: create and trickles in one burst, both sides see their frames in order, alice hangs up', async () => {
      const session = randomUUID();
      const tx: string[] = [randomUUID(), randomUUID(), randomUUID()];
      // As sylkrtc.js does: the create and its trickles without waiting for any reply.
      a.sendRaw(JSON.stringify({ sylkrtc: 'session-create', transaction: tx[0], account: alice, session, uri: `sip:${bob}`, sdp: OFFER }));
      a.sendRaw(JSON.stringify({ sylkrtc: 'session-trickle', transaction: tx[1], session, candidates: [CANDIDATE] }));
      a.sendRaw(JSON.stringify({ sylkrtc: 'session-trickle', transaction: tx[2], session, candidates: [] }));
      const incoming = await b.waitFor((f) => f.event === 'incoming-session', 'incoming-session');
      assert.deepEqual(
        a.frames.filter((f) => tx.includes(f.transaction as string)).map((f) => [f.sylkrtc, f.transaction]),
        tx.map((t) => ['ack', t]),
        'the create was processed before its trickles',
      );
      assert.equal(incoming.account, bob);
      assert.deepEqual(incoming.originator, { uri: alice, display_name: 'Alice' });
      assert.equal(incoming.sdp, OFFER, 'the offer crossed Kamailio unchanged');
      assert.equal(typeof incoming.call_id, 'string');
      const bobSession = String(incoming.session);
      await a.stateFrame(session, 'ringing');
      await b.ok('session-answer', { session: bobSession, sdp: ANSWER });
      const accepted = await a.stateFrame(session, 'accepted');
      assert.equal(accepted.sdp, ANSWER, 'the answer came back unchanged');
      assert.equal(accepted.call_id, incoming.call_id, 'one SIP dialog');
      await a.stateFrame(session, 'established');
      await b.stateFrame(bobSession, 'established');
      const states = a.sessionStates(session);
      assert.equal(states[0], 'progress');
      assert.ok(states.indexOf('ringing') < states.indexOf('accepted') && states.indexOf('accepted') < states.indexOf('established'), states.join());
      assert.equal(a.frames.filter((f) => f.session === session && f.sdp !== undefined).length, 1, 'the answer SDP exactly once');
      assert.ok(a.indexOf((f) => f.transaction === tx[2]) < a.indexOf((f) => f.session === session && f.state === 'progress'), 'progress after the acks');
      assert.deepEqual(b.sessionStates(bobSession), ['accepted', 'established']);

      const started = Date.now();
      const reply = await a.request('session-terminate', { session });
      assert.equal(reply.sylkrtc, 'ack');
      const ended = await a.stateFrame(session, 'terminated');
      assert.ok(Date.now() - started < 300, 'terminated within 300 ms of session-terminate');
      assert.equal(ended.reason, '200 OK');
      assert.ok(a.indexOf((f) => f === reply) < a.indexOf((f) => f === ended), 'terminated after the ack');
      assert.equal((await b.stateFrame(bobSession, 'terminated')).reason, '200 OK', 'the BYE reached bob');
      const late = await a.request('session-trickle', { session, candidates: [] });
      assert.equal(late.error, `Session ${session} is terminated`);
    });

    it('calls a SIPp UAS that answers, then hangs up', async () => {
      const sipp = await startSipp({ scenario: 'uas-invite-bye', calls: 1, vars: { holdms: 100 } });
      try {
        const session = randomUUID();
        await a.ok('session-create', { account: alice, session, uri: sipp.uri('carol'), sdp: OFFER });
        const accepted = await a.stateFrame(session, 'accepted');
        assert.match(String(accepted.sdp), /o=sipp /, "SIPp's answer came back");
        assert.equal((await a.stateFrame(session, 'terminated')).reason, '200 OK');
        assert.deepEqual(a.sessionStates(session), ['progress', 'proceeding', 'ringing', 'accepted', 'established', 'terminated']);
        assert.equal((await sipp.waitExit(5000)).code, 0);
        assert.deepEqual(sipp.received().map((m) => m.method ?? m.status), ['INVITE', 'ACK', 200]);
        assert.ok(sipp.received()[0]!.text.includes('m=audio 42000 RTP/AVP 0'), 'our offer reached SIPp unchanged');
      } finally {
        await sipp.stop();
      }
    });

    it('receives a call from a SIPp UAC through Kamailio; bob answers; the UAC hangs up', async () => {
      const sipp = await startSipp({ scenario: 'uac-invite', remote: kamailio.address('udp'), service: 'bob', calls: 1, vars: { caller: 'sippcaller', holdms: 100 } });
      try {
        const incoming = await b.waitFor((f) => f.event === 'incoming-session' && String((f.originator as Frame).uri).startsWith('sippcaller@'), 'call from SIPp');
        assert.match(String(incoming.sdp), /telephone-event/, "SIPp's offer, unchanged");
        const session = String(incoming.session);
        await b.ok('session-answer', { session, sdp: ANSWER });
        assert.equal((await b.stateFrame(session, 'terminated')).reason, '200 OK');
        assert.deepEqual(b.sessionStates(session), ['accepted', 'established', 'terminated']);
        assert.equal((await sipp.waitExit(5000)).code, 0);
        const ok = sipp.received().find((m) => m.status === 200 && /CSeq: \d+ INVITE/.test(m.text));
        assert.ok(ok?.text.includes('m=audio 42002'), 'our answer reached SIPp unchanged');
      } finally {
        await sipp.stop();
      }
    });

    it('alice cancels a ringing call: terminated 487 on both sides, then missed-session for bob', async () => {
      const session = randomUUID();
      const before = b.frames.length;
      await a.ok('session-create', { account: alice, session, uri: bob, sdp: OFFER });
      const incoming = await b.waitFor((f) => f.event === 'incoming-session' && b.frames.indexOf(f) >= before, 'incoming-session');
      await a.stateFrame(session, 'ringing');
      const started = Date.now();
      await a.ok('session-terminate', { session });
      const ended = await a.stateFrame(session, 'terminated');
      assert.ok(Date.now() - started < 300, 'within 300 ms');
      assert.equal(ended.reason, '487 Request Terminated');
      const missed = await b.waitFor((f) => f.event === 'missed-session' && b.frames.indexOf(f) >= before, 'missed-session');
      assert.deepEqual(missed.originator, { uri: alice, display_name: 'Alice' });
      const bobEnded = await b.stateFrame(String(incoming.session), 'terminated');
      assert.equal(bobEnded.reason, '487 Request Terminated');
      assert.ok(b.frames.indexOf(bobEnded) < b.frames.indexOf(missed), 'missed-session after terminated');
    });

    it('exchanges MESSAGEs: message to bob, accepted and delivered dispositions to alice', async () => {
      const messageId = randomUUID();
      const timestamp = '2026-11-23T10:00:00.000Z';
      await a.ok('account-message', { account: alice, uri: bob, message_id: messageId, content: 'hi bob ✓', content_type: 'text/plain', timestamp });
      const got = await b.waitFor((f) => f.event === 'message' && f.message_id === messageId, 'message');
      assert.deepEqual(
        { ...got },
        {
          sylkrtc: 'account-event',
          account: bob,
          event: 'message',
          sender: { uri: alice, display_name: 'Alice' },
          timestamp,
          message_id: messageId,
          content_type: 'text/plain',
          content: 'hi bob ✓',
          disposition_notification: ['positive-delivery', 'display'],
        },
      );
      const accepted = await a.waitFor((f) => f.event === 'disposition-notification' && f.message_id === messageId && f.state === 'accepted', 'accepted');
      assert.deepEqual(accepted, { sylkrtc: 'account-event', account: alice, event: 'disposition-notification', message_id: messageId, message_timestamp: timestamp, state: 'accepted', code: 200, reason: 'OK' });
      await b.ok('account-disposition-notification', { account: bob, uri: alice, message_id: messageId, state: 'delivered', timestamp });
      const delivered = await a.waitFor((f) => f.event === 'disposition-notification' && f.message_id === messageId && f.state === 'delivered', 'delivered');
      assert.equal(delivered.message_timestamp, timestamp);
    });

    it('fails a registration with a wrong HA1 with the SIP reason; refuses accounts of other connections', async () => {
      const c = await Client.open(url, dialect);
      extra.push(c);
      await c.ok('account-add', { account: alice, password: ha1('alice', 'wrong') });
      await c.ok('account-register', { account: alice });
      const failed = await c.registration(alice, 'failed');
      assert.equal(failed.reason, '401 Unauthorized');
      assert.equal((await c.request('account-message', { account: alice, uri: bob, message_id: 'x', content: 'x', content_type: 'text/plain', timestamp: 'now' })).error, 'Account not authenticated');
      assert.equal((await kamailio.locations('alice')).length, 1, 'only the good binding');
      // bob belongs to another connection.
      assert.equal((await c.request('session-create', { account: bob, session: randomUUID(), uri: alice, sdp: OFFER })).error, `Unknown account specified: ${bob}`);
      assert.equal((await c.request('account-register', { account: bob })).error, `Unknown account specified for register: ${bob}`);
      assert.equal((await c.request('account-message', { account: bob, uri: alice, message_id: 'x', content: 'x', content_type: 'text/plain', timestamp: 'now' })).error, `Unknown account specified: ${bob}`);
    });

    it('answers bad input with errors and keeps this and every other connection working', async () => {
      const c = await Client.open(url, dialect);
      extra.push(c);
      await c.waitFor((f) => f.sylkrtc === 'ready-event', 'ready');
      c.sendRaw('{not json');
      c.sendRaw(JSON.stringify({ transaction: 'no-type' }));
      c.sendRaw(JSON.stringify({ sylkrtc: 'teleport', transaction: 'unknown' }));
      c.sendRaw(JSON.stringify({ sylkrtc: 'session-create', transaction: 'types', session: 's', account: alice, uri: bob, sdp: 42 }));
      c.sendRaw(JSON.stringify({ sylkrtc: 'session-trickle', transaction: 'cands', session: 's', candidates: 'none' }));
      c.sendRaw(JSON.stringify({ sylkrtc: 'videoroom-join', transaction: 'room', session: 's', account: alice, uri: 'room@conference.test', sdp: OFFER }));
      await c.ok('ping');
      assert.deepEqual(c.frames.slice(1, 7), [
        { sylkrtc: 'error', error: 'Invalid JSON message' },
        { sylkrtc: 'error', transaction: 'no-type', error: 'could not get WebSocket message type' },
        { sylkrtc: 'error', transaction: 'unknown', error: 'unknown WebSocket request: teleport' },
        { sylkrtc: 'error', transaction: 'types', error: "Invalid value for 'sdp' property: 42" },
        { sylkrtc: 'error', transaction: 'cands', error: "Invalid value for 'candidates' property: 'none'" },
        { sylkrtc: 'error', transaction: 'room', error: 'Video rooms are not supported by this gateway' },
      ]);
      // An oversized frame closes only the sender (1009).
      c.sendRaw(JSON.stringify({ sylkrtc: 'ping', transaction: 'x'.repeat(300 * 1024) }));
      assert.equal(await c.closed, 1009);
      await a.ok('ping');
      await b.ok('ping');
    });

    it('closing the socket mid-call sends the BYE and removes the registration', async () => {
      const sipp = await startSipp({ scenario: 'uas-invite-wait-bye', calls: 1 });
      try {
        const session = randomUUID();
        await a.ok('session-create', { account: alice, session, uri: sipp.uri('dave'), sdp: OFFER });
        await a.stateFrame(session, 'established');
        assert.equal((await kamailio.locations('alice')).length, 1);
        a.ws.close();
        assert.equal((await sipp.waitExit(5000)).code, 0, 'SIPp got its BYE');
        assert.deepEqual(sipp.received().map((m) => m.method ?? m.status), ['INVITE', 'ACK', 'BYE']);
        for (let i = 0; i < 40 && (await kamailio.locations('alice')).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(await kamailio.locations('alice'), [], 'the un-REGISTER reached Kamailio');
      } finally {
        await sipp.stop();
      }
    });
  });
}
