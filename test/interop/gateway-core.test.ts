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
import { Sipp } from './peers/sipp.ts';

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
});
