/**
 * The gateway's core driven directly (no WebSocket) in front of a real Kamailio (registrar and
 * proxy with digest auth) and SIPp: accounts on two connections register, call each other, call
 * SIPp and are called by it, cancel, exchange MESSAGEs, fail with a wrong HA1, and a connection
 * closed mid-call ends its call and removes its binding. The evidence is what each side saw: the
 * core's events in order, Kamailio's location table, SIPp's message trace.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Gateway, type Account, type Call, type Connection } from '../../src/core/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { startSipp, type Sipp } from './peers/sipp.ts';

const DOMAIN = 'portico.test';
const PASSWORDS = { alice: 'a-secret', bob: 'b-secret' };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');

/** HA1 as sylkrtc.js computes it: MD5(user:realm:password), realm = the domain. */
function ha1(user: string, password: string): string {
  return createHash('md5').update(`${user}:${DOMAIN}:${password}`).digest('hex');
}

type Recorded = { name: string; args: unknown[] };

/** Records every event an emitter sends, in order, and waits for the one a test needs. */
class Recorder {
  readonly events: Recorded[] = [];
  private waiters: Array<{ test: (e: Recorded) => boolean; resolve: (e: Recorded) => void }> = [];

  watch(emitter: { on(event: string, fn: (...args: never[]) => void): unknown }, names: string[], prefix = ''): this {
    for (const name of names) {
      emitter.on(name, (...args: unknown[]) => {
        const e = { name: prefix + name, args };
        this.events.push(e);
        for (const w of [...this.waiters]) {
          if (w.test(e)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      });
    }
    return this;
  }

  /** Resolves with the first event (already seen or to come) that passes `test`. */
  waitFor(test: (e: Recorded) => boolean, timeoutMs = 5000, label = 'event'): Promise<Recorded> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}; saw ${this.summary().join(', ')}`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  state(name: string, prefix = ''): Promise<Recorded> {
    return this.waitFor((e) => e.name === `${prefix}state` && (e.args[0] as { state: string }).state === name, 5000, `${prefix}state ${name}`);
  }

  /** `registration:registered`, `state:ringing`, ... */
  summary(prefix = ''): string[] {
    return this.events
      .filter((e) => e.name.startsWith(prefix))
      .map((e) => {
        const a = e.args[0] as { state?: string } | undefined;
        return a && typeof a === 'object' && 'state' in a ? `${e.name}:${a.state}` : e.name;
      });
  }
}

function watchAccount(account: Account): Recorder {
  return new Recorder().watch(account as never, ['registration', 'incomingCall', 'missedCall', 'message', 'disposition']);
}

function watchCall(call: Call): Recorder {
  return new Recorder().watch(call as never, ['state', 'update', 'message', 'disposition']);
}

describe('gateway core through Kamailio and SIPp', () => {
  let kamailio: Kamailio;
  let gateway: Gateway;
  let c1: Connection;
  let c2: Connection;
  let alice: Account;
  let bob: Account;
  let aliceEvents: Recorder;
  let bobEvents: Recorder;

  before(async () => {
    kamailio = await startKamailio({ users: PASSWORDS, domains: [DOMAIN] });
    gateway = new Gateway({
      sip: {
        listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
        outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`,
        timers: { t1: 100, t2: 800, t4: 1000 },
      },
      domains: [DOMAIN],
      registration: { expires: 300 },
      closeTimeoutMs: 1500,
    });
    await gateway.start();
    c1 = gateway.openConnection({ door: 'test', remote: '127.0.0.1:1' });
    c2 = gateway.openConnection({ door: 'test', remote: '127.0.0.1:2' });
  });

  after(async () => {
    await gateway?.close();
    await kamailio?.stop();
  });

  it('registers alice on one connection and bob on another; Kamailio binds each Contact', async () => {
    alice = c1.addAccount({ aor: `alice@${DOMAIN}`, secret: ha1('alice', PASSWORDS.alice), secretKind: 'ha1', displayName: 'Alice' });
    bob = c2.addAccount({ aor: `bob@${DOMAIN}`, secret: ha1('bob', PASSWORDS.bob), secretKind: 'ha1' });
    aliceEvents = watchAccount(alice);
    bobEvents = watchAccount(bob);
    alice.register();
    bob.register();
    await aliceEvents.waitFor((e) => e.name === 'registration' && (e.args[0] as { state: string }).state === 'registered');
    await bobEvents.waitFor((e) => e.name === 'registration' && (e.args[0] as { state: string }).state === 'registered');
    assert.deepEqual(aliceEvents.summary(), ['registration:registering', 'registration:registered']);
    assert.deepEqual(bobEvents.summary(), ['registration:registering', 'registration:registered']);
    const bindings = await kamailio.locations('alice');
    assert.equal(bindings.length, 1);
    assert.ok(bindings[0]!.uri.includes(`sip:${alice.sipUser.contactUser}@127.0.0.1`), bindings[0]!.uri);
    assert.equal((await kamailio.locations('bob')).length, 1);
    assert.equal(gateway.stats().registrations.registered, 2);
  });

  it('refuses a second alice on the same connection, and a foreign domain', () => {
    assert.throws(() => c1.addAccount({ aor: `alice@${DOMAIN}`, secret: 'x', secretKind: 'ha1' }), { code: 'account-exists' });
    assert.throws(() => c1.addAccount({ aor: 'eve@elsewhere.test', secret: 'x', secretKind: 'ha1' }), { code: 'domain-not-allowed' });
    assert.throws(() => c1.addAccount({ aor: 'not an aor', secret: 'x', secretKind: 'ha1' }), { code: 'invalid-uri' });
  });

  it('alice calls bob through Kamailio; both sides see their events in order; alice hangs up', async () => {
    const incoming = bobEvents.waitFor((e) => e.name === 'incomingCall');
    const call = c1.createCall({ id: 'call-1', account: alice.aor, to: `bob@${DOMAIN}`, sdp: OFFER });
    const out = watchCall(call);
    const bobCall = (await incoming).args[0] as Call;
    const inc = watchCall(bobCall);
    assert.equal(bobCall.direction, 'incoming');
    assert.equal(bobCall.offer, OFFER, 'the offer crossed unchanged');
    assert.equal(bobCall.peer.uri, `alice@${DOMAIN}`);
    assert.equal(bobCall.peer.displayName, 'Alice');
    assert.equal(bobCall.sipCallId, call.sipCallId);
    assert.equal(c2.call(bobCall.id), bobCall);
    await out.state('ringing');
    bobCall.answer(ANSWER);
    const accepted = await out.state('accepted');
    assert.equal((accepted.args[0] as { sdp: string }).sdp, ANSWER, 'the answer came back unchanged');
    await out.state('established');
    await inc.state('established');
    assert.deepEqual(out.summary(), ['state:progress', 'state:proceeding', 'state:ringing', 'state:accepted', 'state:established']);
    assert.deepEqual(inc.summary(), ['state:accepted', 'state:established']);
    call.terminate();
    const ended = await out.state('terminated');
    const bobEnded = await inc.state('terminated');
    assert.equal((ended.args[0] as { reason: string }).reason, '200 OK');
    assert.equal((bobEnded.args[0] as { reason: string }).reason, '200 OK', 'the BYE reached bob');
    assert.equal(c1.call('call-1'), undefined);
  });
  it('calls a SIPp UAS that answers, then hangs up; its BYE ends the call', async () => {
    const sipp = await startSipp({ scenario: 'uas-invite-bye', calls: 1, vars: { holdms: 100 } });
    try {
      const call = c1.createCall({ id: 'call-sipp-uas', account: alice.aor, to: sipp.uri('carol'), sdp: OFFER });
      const out = watchCall(call);
      const accepted = await out.state('accepted');
      assert.match((accepted.args[0] as { sdp: string }).sdp, /o=sipp /, "SIPp's answer came back");
      const ended = await out.state('terminated');
      assert.equal((ended.args[0] as { reason: string }).reason, '200 OK');
      assert.deepEqual(out.summary(), ['state:progress', 'state:proceeding', 'state:ringing', 'state:accepted', 'state:established', 'state:terminated']);
      const { code } = await sipp.waitExit(5000);
      assert.equal(code, 0);
      const got = sipp.received().map((m) => m.method ?? m.status);
      assert.deepEqual(got, ['INVITE', 'ACK', 200]);
      const invite = sipp.received()[0]!.text;
      assert.ok(invite.includes(OFFER.split('\r\n')[4]!), 'our offer reached SIPp unchanged');
    } finally {
      await sipp.stop();
    }
  });

  it('receives a call from a SIPp UAC through Kamailio; bob answers; the UAC hangs up', async () => {
    const incoming = bobEvents.waitFor((e) => e.name === 'incomingCall' && (e.args[0] as Call).peer.uri.startsWith('sippcaller@'));
    const sipp = await startSipp({ scenario: 'uac-invite', remote: kamailio.address('udp'), service: 'bob', calls: 1, vars: { caller: 'sippcaller', holdms: 100 } });
    try {
      const call = (await incoming).args[0] as Call;
      const inc = watchCall(call);
      assert.match(call.offer ?? '', /telephone-event/, "SIPp's offer, unchanged");
      call.answer(ANSWER);
      await inc.state('established');
      const ended = await inc.state('terminated');
      assert.equal((ended.args[0] as { reason: string }).reason, '200 OK');
      assert.deepEqual(inc.summary(), ['state:accepted', 'state:established', 'state:terminated']);
      const { code } = await sipp.waitExit(5000);
      assert.equal(code, 0);
      const statuses = sipp.received().map((m) => m.status);
      assert.ok(statuses.includes(180), 'bob rang');
      const ok = sipp.received().find((m) => m.status === 200 && /CSeq: \d+ INVITE/.test(m.text));
      assert.ok(ok && ok.text.includes('m=audio 42002'), 'our answer reached SIPp unchanged');
    } finally {
      await sipp.stop();
    }
  });

  it('alice cancels a ringing call: 487 on both sides, and bob hears of a missed call after terminated', async () => {
    const incoming = bobEvents.waitFor((e) => e.name === 'incomingCall' && (e.args[0] as Call).peer.uri === `alice@${DOMAIN}` && (e.args[0] as Call).state === 'connecting');
    const call = c1.createCall({ id: 'call-cancel', account: alice.aor, to: `bob@${DOMAIN}`, sdp: OFFER });
    const out = watchCall(call);
    const bobCall = (await incoming).args[0] as Call;
    const bobSeen = new Recorder().watch(bobCall as never, ['state']).watch(bob as never, ['missedCall']);
    await out.state('ringing');
    const before = Date.now();
    call.terminate();
    const ended = await out.state('terminated');
    assert.ok(Date.now() - before < 300, 'terminated reported within 300 ms');
    assert.equal((ended.args[0] as { reason: string }).reason, '487 Request Terminated');
    const missed = await bobSeen.waitFor((e) => e.name === 'missedCall');
    assert.deepEqual(missed.args[0], { uri: `alice@${DOMAIN}`, displayName: 'Alice' });
    assert.deepEqual(bobSeen.summary(), ['state:terminated', 'missedCall']);
    assert.equal((bobSeen.events[0]!.args[0] as { reason: string }).reason, '487 Request Terminated');
  });

  it('bob declines an incoming call: alice sees 486 Busy Here', async () => {
    const incoming = bobEvents.waitFor((e) => e.name === 'incomingCall' && (e.args[0] as Call).state === 'connecting' && (e.args[0] as Call).peer.uri === `alice@${DOMAIN}`);
    const call = c1.createCall({ id: 'call-decline', account: alice.aor, to: `bob@${DOMAIN}`, sdp: OFFER });
    const out = watchCall(call);
    const bobCall = (await incoming).args[0] as Call;
    bobCall.terminate();
    const ended = await out.state('terminated');
    assert.equal((ended.args[0] as { reason: string }).reason, '486 Busy Here');
  });

  it('exchanges MESSAGEs: CPIM with IMDN headers, accepted, and a delivery notification back', async () => {
    const got = bobEvents.waitFor((e) => e.name === 'message' && (e.args[0] as { messageId: string }).messageId === 'm-1');
    alice.sendMessage({ account: alice.aor, to: `bob@${DOMAIN}`, messageId: 'm-1', contentType: 'text/plain', content: 'hi bob ✓', timestamp: '2026-11-23T10:00:00.000Z' });
    const msg = (await got).args[0];
    assert.deepEqual(msg, {
      sender: { uri: `alice@${DOMAIN}`, displayName: 'Alice' },
      messageId: 'm-1',
      contentType: 'text/plain',
      content: 'hi bob ✓',
      timestamp: '2026-11-23T10:00:00.000Z',
      dispositionNotification: ['positive-delivery', 'display'],
    });
    const accepted = await aliceEvents.waitFor((e) => e.name === 'disposition' && (e.args[0] as { messageId: string }).messageId === 'm-1');
    assert.deepEqual(accepted.args[0], { messageId: 'm-1', messageTimestamp: '2026-11-23T10:00:00.000Z', state: 'accepted', code: 200, reason: 'OK' });

    const delivered = aliceEvents.waitFor((e) => e.name === 'disposition' && (e.args[0] as { state: string }).state === 'delivered');
    bob.sendDisposition({ account: bob.aor, to: `alice@${DOMAIN}`, messageId: 'm-1', timestamp: '2026-11-23T10:00:00.000Z', state: 'delivered' });
    assert.deepEqual((await delivered).args[0], { messageId: 'm-1', messageTimestamp: '2026-11-23T10:00:00.000Z', state: 'delivered', code: 200, reason: '' });
  });

  it('delivers a MESSAGE once to every connection where bob is registered (Kamailio forks it to both Contacts)', async () => {
    const c3 = gateway.openConnection({ door: 'test', remote: '127.0.0.1:3' });
    const bob2 = c3.addAccount({ aor: `bob@${DOMAIN}`, secret: ha1('bob', PASSWORDS.bob), secretKind: 'ha1' });
    const bob2Events = watchAccount(bob2);
    bob2.register();
    await bob2Events.waitFor((e) => e.name === 'registration' && (e.args[0] as { state: string }).state === 'registered');
    assert.equal((await kamailio.locations('bob')).length, 2, 'two devices, two bindings');
    const count = (r: Recorder) => r.events.filter((e) => e.name === 'message' && (e.args[0] as { messageId: string }).messageId === 'm-2').length;
    alice.sendMessage({ account: alice.aor, to: `bob@${DOMAIN}`, messageId: 'm-2', contentType: 'text/plain', content: 'to both', timestamp: '2026-11-23T10:01:00.000Z' });
    await bobEvents.waitFor((e) => e.name === 'message' && (e.args[0] as { messageId: string }).messageId === 'm-2');
    await bob2Events.waitFor((e) => e.name === 'message' && (e.args[0] as { messageId: string }).messageId === 'm-2');
    await new Promise((r) => setTimeout(r, 200)); // room for a duplicate to show up
    assert.equal(count(bobEvents), 1);
    assert.equal(count(bob2Events), 1);
    await c3.close();
    assert.equal((await kamailio.locations('bob')).length, 1, "the second device's binding is gone");
  });

  it('accepts a plain text MESSAGE (no CPIM) from SIPp', async () => {
    const got = bobEvents.waitFor((e) => e.name === 'message' && (e.args[0] as { content: string }).content === 'plain hello');
    const sipp = await startSipp({ scenario: 'uac-message', remote: kamailio.address('udp'), service: 'bob', calls: 1, vars: { caller: 'pager', text: 'plain hello' } });
    try {
      const msg = (await got).args[0] as { sender: { uri: string }; contentType: string; messageId: string };
      assert.equal(msg.contentType, 'text/plain');
      assert.match(msg.sender.uri, /^pager@127\.0\.0\.1/);
      assert.ok(msg.messageId.length > 0);
      assert.equal((await sipp.waitExit(5000)).code, 0, 'SIPp got its 200');
    } finally {
      await sipp.stop();
    }
  });

  it('fails a registration with a wrong HA1, with the SIP reason', async () => {
    const c4 = gateway.openConnection({ door: 'test', remote: '127.0.0.1:4' });
    try {
      const mallory = c4.addAccount({ aor: `alice@${DOMAIN}`, secret: ha1('alice', 'wrong'), secretKind: 'ha1' });
      const ev = watchAccount(mallory);
      mallory.register();
      await ev.waitFor((e) => e.name === 'registration' && (e.args[0] as { state: string }).state === 'failed');
      assert.deepEqual(ev.events.map((e) => e.args[0]), [{ state: 'registering' }, { state: 'failed', reason: '401 Unauthorized' }]);
      assert.throws(() => mallory.sendMessage({ account: mallory.aor, to: `bob@${DOMAIN}`, messageId: 'x', contentType: 'text/plain', content: 'x', timestamp: 'now' }), {
        code: 'account-not-registered',
      });
      assert.equal((await kamailio.locations('alice')).length, 1, 'only the good binding');
    } finally {
      await c4.close();
    }
  });

  it('closing a connection mid-call sends the BYE and removes the registration', async () => {
    const sipp = await startSipp({ scenario: 'uas-invite-wait-bye', calls: 1 });
    try {
      const call = c1.createCall({ id: 'call-closed', account: alice.aor, to: sipp.uri('dave'), sdp: OFFER });
      const out = watchCall(call);
      await out.state('established');
      assert.equal((await kamailio.locations('alice')).length, 1);
      const closed = new Promise<void>((resolve) => c1.once('closed', resolve));
      const started = Date.now();
      await c1.close();
      await closed;
      assert.ok(Date.now() - started < 1500, 'within the close bound');
      assert.equal(((await out.state('terminated')).args[0] as { reason: string }).reason, '200 OK');
      const { code } = await sipp.waitExit(5000);
      assert.equal(code, 0, 'SIPp got its BYE');
      assert.deepEqual(sipp.received().map((m) => m.method ?? m.status), ['INVITE', 'ACK', 'BYE']);
      assert.deepEqual(await kamailio.locations('alice'), [], 'the un-REGISTER reached Kamailio');
      assert.equal(gateway.connection(c1.id), undefined);
      assert.throws(() => c1.addAccount({ aor: `alice@${DOMAIN}`, secret: 'x', secretKind: 'ha1' }), { code: 'connection-closed' });
    } finally {
      await sipp.stop();
    }
  });

  it('closing the gateway un-registers the remaining accounts', async () => {
    assert.equal((await kamailio.locations('bob')).length, 1);
    await gateway.close();
    assert.deepEqual(await kamailio.locations('bob'), []);
    assert.equal(gateway.stats().connections, 0);
  });
});
