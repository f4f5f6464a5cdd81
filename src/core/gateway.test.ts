/**
 * The core against a SIP phone, with the embedded local domain as registrar and proxy: what a
 * browser client hears (events, in order) and what the phone receives (INFO, re-INVITE answers,
 * in-dialog MESSAGE). Real sockets on loopback, T1 = 20 ms.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { LocalSipDomain } from '../sip/registrar/index.ts';
import { SipStack, type IncomingCall, type SipUser } from '../sip/ua/index.ts';
import { decodeCpim } from './cpim.ts';
import { Gateway, type Account, type Call, type Connection } from './index.ts';
import type { CallStateEvent, CallUpdateEvent } from './types.ts';

const DOMAIN = 'portico.local';
const T1 = { t1: 20, t2: 160, t4: 200 };
const UDP = [{ protocol: 'udp' as const, host: '127.0.0.1', port: 0 }];
const sdp = (port: number) => `v=0\r\no=- ${port} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=sendrecv\r\n`;
const ha1 = (user: string) => createHash('md5').update(`${user}:${DOMAIN}:${user}`).digest('hex');

function collect<T>(emitter: { on(e: string, fn: (a: T) => void): unknown }, event: string): T[] {
  const out: T[] = [];
  emitter.on(event, (a) => out.push(a));
  return out;
}

function until<T>(list: T[], test: (x: T) => boolean, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      const hit = list.find(test);
      if (hit !== undefined) return resolve(hit);
      if (Date.now() - started > ms) return reject(new Error(`timed out; saw ${JSON.stringify(list)}`));
      setTimeout(check, 5);
    };
    check();
  });
}

describe('Gateway core with a SIP phone on the local domain', () => {
  let domain: LocalSipDomain;
  let gateway: Gateway;
  let phoneStack: SipStack;
  let carol: SipUser;
  let conn: Connection;
  let alice: Account;

  before(async () => {
    domain = new LocalSipDomain({
      domain: DOMAIN,
      users: ['alice', 'carol'].map((name) => ({ name, password: name })),
      listen: UDP,
      timers: T1,
    });
    gateway = new Gateway({
      sip: { listen: UDP, timers: T1 },
      domains: [DOMAIN],
      localDomain: { start: () => domain.start(), close: () => domain.close(), proxyUri: () => domain.proxyUri('udp') },
      closeTimeoutMs: 500,
      calls: { reinviteAnswerTimeoutMs: 2000 },
    });
    await gateway.start();
    phoneStack = new SipStack({ listen: UDP, outboundProxy: domain.proxyUri('udp'), timers: T1 });
    await phoneStack.start();
    carol = phoneStack.createUser({ aor: `sip:carol@${DOMAIN}`, credentials: { password: 'carol' } });
    await carol.registration({ expires: 300 }).register();
    conn = gateway.openConnection({ door: 'test', remote: 'test' });
    alice = conn.addAccount({ aor: `alice@${DOMAIN}`, secret: ha1('alice'), secretKind: 'ha1', incomingHeaderPrefixes: ['X-Custom'] });
  });

  after(async () => {
    await phoneStack?.close();
    await gateway?.close();
  });

  it('reports registering after register() returns, then registered, once', async () => {
    alice.register();
    const states = collect<{ state: string }>(alice as never, 'registration');
    await until(states, (s) => s.state === 'registered');
    assert.deepEqual(states, [{ state: 'registering' }, { state: 'registered' }]);
    assert.equal(domain.bindings('alice').length, 1);
    alice.register(); // again: registering, then registered again
    await until(states, (s) => s.state === 'registered' && states.length === 4);
    assert.deepEqual(states.slice(2), [{ state: 'registering' }, { state: 'registered' }]);
  });

  it('refuses calls it cannot place', () => {
    assert.throws(() => conn.createCall({ id: 'x', account: 'nobody@portico.local', to: 'carol', sdp: sdp(1) }), { code: 'account-unknown' });
    assert.throws(() => conn.createCall({ id: 'x', account: alice.aor, to: 'sip:bad uri', sdp: sdp(1) }), { code: 'invalid-uri' });
  });

  let call: Call;
  let phoneCall: IncomingCall;
  let states: CallStateEvent[];

  it('reports proceeding per provisional, ringing, early media, then accepted without a second SDP', async () => {
    const invited = new Promise<IncomingCall>((resolve) => carol.once('invite', resolve));
    call = conn.createCall({ id: 'c-early', account: alice.aor, to: 'carol', sdp: sdp(40000) });
    assert.throws(() => conn.createCall({ id: 'c-early', account: alice.aor, to: 'carol', sdp: sdp(1) }), { code: 'call-exists' });
    states = collect<CallStateEvent>(call as never, 'state');
    phoneCall = await invited;
    assert.equal(phoneCall.offer, sdp(40000));
    phoneCall.progress(180);
    phoneCall.progress(183, { sdp: sdp(41000) });
    await until(states, (s) => s.state === 'early-media');
    phoneCall.accept({ sdp: sdp(41000) });
    await until(states, (s) => s.state === 'established');
    assert.deepEqual(states, [
      { state: 'progress' },
      { state: 'proceeding', code: 180 },
      { state: 'ringing' },
      { state: 'proceeding', code: 183 },
      { state: 'early-media', sdp: sdp(41000), callId: phoneCall.request.callId },
      { state: 'accepted' },
      { state: 'established' },
    ]);
    assert.equal(call.state, 'established');
  });

  it('sends DTMF as SIP INFO application/dtmf-relay', async () => {
    const info = phoneCall.next('info');
    call.sendDtmf('5', 160);
    const [req] = await info;
    assert.equal(req.contentType, 'application/dtmf-relay');
    assert.equal(req.body.toString(), 'Signal=5\r\nDuration=160\r\n');
    assert.throws(() => call.sendDtmf('x', 100), { code: 'invalid-argument' });
  });

  it("turns the phone's re-INVITE into update received, and the client's answer into the 200", async () => {
    const updates = collect<CallUpdateEvent>(call as never, 'update');
    const reinvite = phoneCall.reinvite(sdp(42000));
    const received = await until(updates, (u) => u.state === 'received');
    assert.equal(received.sdp, sdp(42000));
    call.update(sdp(43000));
    const res = await reinvite;
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), sdp(43000));
  });

  it('offers a re-INVITE on update() and reports the answer as update accepted', async () => {
    const updates = collect<CallUpdateEvent>(call as never, 'update');
    phoneCall.once('reinvite', (r) => {
      assert.equal(r.sdp, sdp(44000));
      r.accept(sdp(45000));
    });
    call.update(sdp(44000));
    assert.deepEqual(await until(updates, () => true), { state: 'accepted', sdp: sdp(45000) });
  });

  it('carries MESSAGEs within the dialog both ways (CPIM out, plain text in)', async () => {
    const got = phoneCall.next('message');
    const dispositions = collect<{ state: string; code: number }>(call as never, 'disposition');
    call.sendMessage({ messageId: 'dm-1', contentType: 'text/plain', content: 'in the call', timestamp: '2026-11-23T12:00:00Z' });
    const [req] = await got;
    assert.equal(req.contentType, 'message/cpim');
    const cpim = decodeCpim(req.body.toString());
    assert.equal(cpim.content, 'in the call');
    assert.equal(cpim.messageId, 'dm-1');
    assert.equal((await until(dispositions, () => true)).state, 'accepted');
    const messages = collect<{ content: string; sender: { uri: string } }>(call as never, 'message');
    await phoneCall.message('from the phone');
    const m = await until(messages, () => true);
    assert.equal(m.content, 'from the phone');
    assert.equal(m.sender.uri, `carol@${DOMAIN}`);
  });

  it('hangs up with BYE; terminated comes at once, the phone hears the BYE', async () => {
    const ended = phoneCall.next('ended');
    call.terminate();
    await until(states, (s) => s.state === 'terminated');
    assert.deepEqual(states.at(-1), { state: 'terminated', reason: '200 OK' });
    assert.equal((await ended)[0].cause, 'bye');
    assert.throws(() => call.trickle([]), { code: 'call-terminated' });
    assert.equal(conn.call('c-early'), undefined);
  });

  it('gives an incoming call its id from the Call-ID, the offer, the chosen headers; answer once only', async () => {
    const incoming = new Promise<Call>((resolve) => alice.once('incomingCall', resolve));
    const out = carol.call(`sip:alice@${DOMAIN}`, { sdp: sdp(46000), headers: [['X-Custom-Id', '42'], ['X-Other', 'no']] });
    const call2 = await incoming;
    const id = createHash('md5').update(out.request!.callId).digest('hex');
    assert.equal(call2.id.replaceAll('-', ''), id);
    assert.match(call2.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(call2.offer, sdp(46000));
    assert.deepEqual(call2.headers, { 'X-Custom-Id': '42' });
    assert.equal(call2.peer.uri, `carol@${DOMAIN}`);
    const [ringing] = await out.next('progress');
    assert.equal(ringing.status, 180, 'the gateway rings the caller');
    call2.trickle([{ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 }]);
    call2.trickle([]);
    assert.equal(call2.candidates.length, 1);
    assert.equal(call2.candidatesComplete, true);
    const states2 = collect<CallStateEvent>(call2 as never, 'state');
    call2.answer(sdp(47000));
    assert.throws(() => call2.answer(sdp(47000)), { code: 'call-bad-state' });
    await out.next('established');
    assert.equal(out.remoteSdp, sdp(47000));
    await until(states2, (s) => s.state === 'established');
    const ended = call2.next('state');
    await out.bye();
    assert.deepEqual((await ended)[0], { state: 'terminated', reason: '200 OK' });
  });

  it('removeAccount un-REGISTERs and forgets the account', async () => {
    assert.equal(domain.bindings('alice').length, 1);
    await conn.removeAccount(alice.aor);
    assert.equal(domain.bindings('alice').length, 0);
    assert.equal(conn.account(alice.aor), undefined);
    await assert.rejects(conn.removeAccount(alice.aor), { code: 'account-unknown' });
    assert.equal(gateway.stats().accounts, 0);
  });
});
