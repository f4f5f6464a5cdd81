/**
 * The proxy of the local domain (RFC 3261 §16): calls and MESSAGEs between SipUsers through it,
 * forking to every contact of an AOR, CANCEL, the best final response, record-routing, and what
 * it refuses. The evidence is what the far ends received and what the domain forwarded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SipStack, type IncomingCall, type SipUser } from '../ua/index.ts';
import { LocalSipDomain } from './index.ts';
import { createResponseFor, RawUdpPeer, until, withCredentials } from './test-support.ts';

const T1 = { t1: 20, t2: 160, t4: 200 };
const DOMAIN = 'portico.local';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');

function invites(user: SipUser): Promise<IncomingCall> {
  return new Promise((resolve) => user.once('invite', resolve));
}

describe('LocalSipDomain proxy (RFC 3261 §16)', { timeout: 20_000 }, () => {
  let domain: LocalSipDomain;
  let callerStack: SipStack;
  let calleeStack: SipStack;
  let tcpStack: SipStack;
  let alice: SipUser;
  let bob1: SipUser;
  let bob2: SipUser;
  let peer: RawUdpPeer;
  let port: number;

  before(async () => {
    domain = new LocalSipDomain({
      domain: DOMAIN,
      users: [
        { name: 'alice', password: 'alice-secret' },
        { name: 'bob', password: 'bob-secret' },
        { name: 'carol', password: 'carol-secret' },
        { name: 'dave', password: 'dave-secret' },
      ],
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      timers: T1,
      timerCMs: 1500,
    });
    await domain.start();
    port = domain.local('udp')!.port;
    const stackOpts = { listen: [{ protocol: 'udp' as const, host: '127.0.0.1', port: 0 }], outboundProxy: domain.proxyUri('udp'), timers: T1 };
    callerStack = new SipStack(stackOpts);
    calleeStack = new SipStack(stackOpts);
    tcpStack = new SipStack({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }], outboundProxy: domain.proxyUri('tcp'), timers: T1 });
    await Promise.all([callerStack.start(), calleeStack.start(), tcpStack.start()]);
    alice = callerStack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' } });
    bob1 = calleeStack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' } });
    bob2 = calleeStack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' } });
    await Promise.all([alice, bob1, bob2].map((u) => u.registration({ expires: 300, retry: false }).register()));
    peer = await new RawUdpPeer().start();
  });

  after(async () => {
    await Promise.all([callerStack.close(), calleeStack.close(), tcpStack.close()]);
    await peer.close();
    await domain.close();
  });

  it('forks an INVITE to both contacts of an AOR; the first 2xx wins and the other branch gets CANCEL', async () => {
    const [ring1, ring2] = [invites(bob1), invites(bob2)];
    const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
    const [in1, in2] = await Promise.all([ring1, ring2]);
    assert.equal(in1.offer, OFFER, 'the offer crossed the proxy unchanged');
    const inv = in1.request;
    assert.equal(inv.uri.user, bob1.contactUser, 'the Request-URI is the registered contact');
    assert.equal(inv.headers.get('Record-Route'), `<sip:127.0.0.1:${port};lr>`);
    assert.equal(inv.headers.get('Max-Forwards'), '69');
    assert.equal(inv.vias.length, 2, 'our Via on top of the caller’s');
    assert.equal(inv.topVia.port, port);
    assert.ok(!inv.headers.has('Proxy-Authorization'), 'our own credentials are not forwarded');
    assert.notEqual(in1.request.topVia.branch, in2.request.topVia.branch, 'one branch per fork');

    in1.progress(180);
    in2.progress(180);
    await call.next('progress');
    const cancelled = in2.next('ended');
    const answeredAt = Date.now();
    in1.accept({ sdp: ANSWER });
    await call.next('established');
    assert.equal(call.remoteSdp, ANSWER);
    assert.ok(call.request?.headers.has('Proxy-Authorization'), 'the INVITE answered a 407');
    const [reason] = await cancelled;
    assert.equal(reason.cause, 'cancel', 'the losing branch was cancelled');
    assert.ok(Date.now() - answeredAt < 1000, 'cancelled by the 2xx, not later by Timer C');

    // The callee's route set holds our Record-Route, so its BYE comes through the proxy.
    const byes = domain.stats().forwarded.BYE ?? 0;
    const aliceEnded = call.next('ended');
    await in1.bye();
    const [end] = await aliceEnded;
    assert.equal(end.cause, 'bye');
    assert.equal(domain.stats().forwarded.BYE, byes + 1);
    await until(() => domain.stats().pending === 0, 2000, 'every response context to close');
  });

  it('relays a CANCEL from the caller to the ringing callee (RFC 3261 §16.10): 487 comes back', async () => {
    const dave = calleeStack.createUser({ aor: `sip:dave@${DOMAIN}`, credentials: { password: 'dave-secret' } });
    await dave.registration({ retry: false }).register();
    const ringing = invites(dave);
    const call = alice.call(`sip:dave@${DOMAIN}`, { sdp: OFFER });
    const incoming = await ringing;
    incoming.progress(180);
    await call.next('progress');
    const daveEnded = incoming.next('ended');
    const cancelledAt = Date.now();
    await call.terminate();
    assert.equal(call.ended?.status, 487);
    assert.equal((await daveEnded)[0].cause, 'cancel');
    assert.ok(Date.now() - cancelledAt < 1000, 'the CANCEL was relayed, not replaced by Timer C');
    await dave.close();
  });

  it('answers with the 6xx of one branch and cancels the other (RFC 3261 §16.7 step 5)', async () => {
    const [ring1, ring2] = [invites(bob1), invites(bob2)];
    const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
    const [in1, in2] = await Promise.all([ring1, ring2]);
    in2.progress(180);
    await call.next('progress');
    const cancelled = in2.next('ended');
    const rejectedAt = Date.now();
    in1.reject(603);
    const [end] = await call.next('ended');
    assert.equal(end.status, 603);
    assert.equal((await cancelled)[0].cause, 'cancel');
    assert.ok(Date.now() - rejectedAt < 1000, 'cancelled by the 6xx, not later by Timer C');
  });

  it('chooses the best of several failures: the lowest class, preferring 4xx over 5xx (RFC 3261 §16.7 step 6)', async () => {
    const [ring1, ring2] = [invites(bob1), invites(bob2)];
    const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
    const [in1, in2] = await Promise.all([ring1, ring2]);
    in1.reject(500);
    in2.reject(486);
    const [end] = await call.next('ended');
    assert.equal(end.status, 486);
  });

  it('sends a MESSAGE to every contact; the 2xx goes back to the sender', async () => {
    const got1 = bob1.next('message');
    const got2 = bob2.next('message');
    const res = await alice.message(`sip:bob@${DOMAIN}`, 'hello bob', 'text/plain');
    assert.equal(res.status, 200);
    const [[m1], [m2]] = await Promise.all([got1, got2]);
    assert.equal(m1.body.toString(), 'hello bob');
    assert.equal(m2.body.toString(), 'hello bob');
    assert.match(m1.from, /alice@portico\.local/);
  });

  it('takes our own address as the host of an AOR in the Request-URI', async () => {
    const got = bob1.next('message');
    const res = await alice.message(`sip:bob@127.0.0.1:${port}`, 'to the address');
    assert.equal(res.status, 200);
    assert.equal((await got)[0].body.toString(), 'to the address');
  });

  it('answers 404 for an unknown user and 480 for a user with no binding', async () => {
    assert.equal((await alice.message(`sip:nobody@${DOMAIN}`, 'x')).status, 404);
    const res = await alice.message(`sip:carol@${DOMAIN}`, 'x');
    assert.equal(res.status, 480);
  });

  it('challenges an INVITE from one of our users with 407, and forwards one from outside unchallenged', async () => {
    const inv = peer.request({ method: 'INVITE', uri: `sip:bob@${DOMAIN}`, from: `sip:alice@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, headers: { Contact: `<${peer.contact('x')}>` } });
    const res = await peer.transact(inv, port);
    assert.equal(res.status, 407);
    assert.match(res.headers.get('Proxy-Authenticate') ?? '', /^Digest realm="portico\.local", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    await peer.sendTo(`ACK sip:bob@${DOMAIN} SIP/2.0\r\nVia: ${inv.headers.get('Via')}\r\nFrom: ${inv.headers.get('From')}\r\nTo: ${res.headers.get('To')}\r\nCall-ID: ${inv.callId}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`, port);

    const wrong = await peer.transact(withCredentials(inv, res, 'alice', 'nope'), port);
    assert.equal(wrong.status, 403);

    const got = bob1.next('message');
    const msg = peer.request({ method: 'MESSAGE', uri: `sip:bob@${DOMAIN}`, from: 'sip:stranger@example.com', to: `sip:bob@${DOMAIN}`, body: 'from outside', contentType: 'text/plain' });
    const ok = await peer.transact(msg, port);
    assert.equal(ok.status, 200);
    assert.equal((await got)[0].body.toString(), 'from outside');
  });

  it('refuses to relay for strangers, answers OPTIONS to itself, and 483 when Max-Forwards is spent', async () => {
    const relay = peer.request({ method: 'MESSAGE', uri: `sip:someone@127.0.0.1:${peer.port}`, from: 'sip:stranger@example.com', to: 'sip:someone@example.com', body: 'x' });
    assert.equal((await peer.transact(relay, port)).status, 403);

    const options = peer.request({ method: 'OPTIONS', uri: `sip:127.0.0.1:${port}`, from: 'sip:stranger@example.com', to: `sip:127.0.0.1:${port}` });
    const res = await peer.transact(options, port);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('Allow') ?? '', /REGISTER, INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE/);

    const spent = peer.request({ method: 'MESSAGE', uri: `sip:bob@${DOMAIN}`, from: 'sip:stranger@example.com', to: `sip:bob@${DOMAIN}`, headers: { 'Max-Forwards': '0' }, body: 'x' });
    assert.equal((await peer.transact(spent, port)).status, 483);
  });

  it('answers 408 when no branch answers at all', async () => {
    const silent = await new RawUdpPeer().start();
    try {
      const reg = silent.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:carol@${DOMAIN}`, to: `sip:carol@${DOMAIN}`, headers: { Contact: `<${silent.contact('carol')}>` } });
      assert.equal((await silent.transact(withCredentials(reg, await silent.transact(reg, port), 'carol', 'carol-secret'), port)).status, 200);
      const msg = peer.request({ method: 'MESSAGE', uri: `sip:carol@${DOMAIN}`, from: 'sip:stranger@example.com', to: `sip:carol@${DOMAIN}`, body: 'anyone?' });
      const res = await peer.transact(msg, port, 3000);
      assert.equal(res.status, 408);
      assert.ok(silent.requests('MESSAGE').length >= 2, 'the proxy retransmitted on UDP before giving up');
    } finally {
      const bye = silent.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:carol@${DOMAIN}`, to: `sip:carol@${DOMAIN}`, headers: { Contact: '*', Expires: '0' } });
      await silent.transact(withCredentials(bye, await silent.transact(bye, port), 'carol', 'carol-secret'), port);
      await silent.close();
    }
  });

  it('cancels a branch that rings past Timer C (RFC 3261 §16.8)', async () => {
    const ringing = invites(bob1);
    const other = invites(bob2);
    const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
    const [in1, in2] = await Promise.all([ringing, other]);
    in1.progress(180);
    in2.progress(180);
    const started = Date.now();
    const [end] = await call.next('ended');
    assert.equal(end.status, 487);
    assert.ok(Date.now() - started >= 1400, 'not before Timer C');
    assert.equal(in1.state, 'Terminated');
    assert.equal(in2.state, 'Terminated');
  });

  it('forwards the ACK and BYE of a callee that copies Record-Route along that route', async () => {
    const dave = await new RawUdpPeer().start();
    try {
      const reg = dave.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:dave@${DOMAIN}`, to: `sip:dave@${DOMAIN}`, headers: { Contact: `<${dave.contact('dave')}>` } });
      assert.equal((await dave.transact(withCredentials(reg, await dave.transact(reg, port), 'dave', 'dave-secret'), port)).status, 200);
      const call = alice.call(`sip:dave@${DOMAIN}`, { sdp: OFFER });
      const [invite] = await until(() => dave.requests('INVITE').length > 0 && dave.requests('INVITE'), 2000, 'INVITE at dave');
      const rr = invite!.headers.get('Record-Route')!;
      const ok = createResponseFor(invite!, 200, [
        ['Record-Route', rr],
        ['Contact', `<${dave.contact('dave')}>`],
      ]);
      await dave.sendTo(ok, port);
      await call.next('established');
      const [ack] = await until(() => dave.requests('ACK').length > 0 && dave.requests('ACK'), 2000, 'ACK at dave');
      assert.equal(ack!.topVia.port, port, 'the ACK came through the proxy');
      assert.equal(ack!.headers.has('Route'), false, 'our Route value was consumed');
      assert.equal(ack!.uri.port, dave.port);
      dave.autoAnswer = 200;
      await call.bye();
      const [bye] = dave.requests('BYE');
      assert.equal(bye!.topVia.port, port, 'the BYE came through the proxy');
    } finally {
      await dave.close();
    }
  });

  it('record-routes twice when the caller uses TCP and the callee UDP (RFC 5658)', async () => {
    const carol = tcpStack.createUser({ aor: `sip:carol@${DOMAIN}`, credentials: { password: 'carol-secret' }, transport: 'tcp' });
    const ringing = invites(bob1);
    invites(bob2).then((c) => c.reject(486));
    const call = carol.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
    const incoming = await ringing;
    const tcpPort = domain.local('tcp')!.port;
    assert.deepEqual(incoming.request.headers.getAll('Record-Route'), [`<sip:127.0.0.1:${port};lr>`, `<sip:127.0.0.1:${tcpPort};transport=tcp;lr>`]);
    incoming.accept({ sdp: ANSWER });
    await call.next('established');
    const ended = call.next('ended');
    await incoming.bye();
    assert.equal((await ended)[0].cause, 'bye', 'the BYE crossed from UDP to TCP inside the proxy');
    await carol.close();
  });
});
