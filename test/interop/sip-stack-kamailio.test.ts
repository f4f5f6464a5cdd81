/**
 * Portico's SIP stack against Kamailio as registrar and proxy with digest authentication: two
 * users on one shared stack register, call each other and exchange a MESSAGE through it, then
 * un-register. What Kamailio holds (its location table) and what the other user received are the
 * evidence.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatNameAddr } from '../../src/sip/message/index.ts';
import { SipStack, type IncomingCall, type SipUser } from '../../src/sip/ua/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';

const DOMAIN = 'portico.test';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');

for (const protocol of ['udp', 'tcp'] as const) {
  describe(`through Kamailio (registrar and proxy, digest auth) over ${protocol}`, () => {
    let kamailio: Kamailio;
    let stack: SipStack;
    let alice: SipUser;
    let bob: SipUser;

    before(async () => {
      kamailio = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret' }, domains: [DOMAIN] });
      const proxy = `sip:127.0.0.1:${kamailio.port(protocol)}${protocol === 'udp' ? '' : ';transport=tcp'}`;
      stack = new SipStack({ listen: [{ protocol, host: '127.0.0.1', port: 0 }], outboundProxy: proxy, timers: { t1: 100, t2: 800, t4: 1000 } });
      await stack.start();
      alice = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' }, transport: protocol });
      bob = stack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' }, transport: protocol });
    });

    after(async () => {
      await stack?.close();
      await kamailio?.stop();
    });

    it('registers two users; Kamailio holds one binding each, on our Contacts', async () => {
      const [a, b] = await Promise.all([alice.registration({ expires: 300 }).register(), bob.registration({ expires: 300 }).register()]);
      assert.equal(a.expires, 300);
      assert.equal(b.expires, 300);
      const aliceBindings = await kamailio.locations('alice');
      const bobBindings = await kamailio.locations('bob');
      assert.equal(aliceBindings.length, 1);
      assert.equal(bobBindings.length, 1);
      assert.ok(aliceBindings[0]!.uri.includes(`sip:${alice.contactUser}@127.0.0.1`), aliceBindings[0]!.uri);
      assert.ok(bobBindings[0]!.uri.includes(`sip:${bob.contactUser}@127.0.0.1`), bobBindings[0]!.uri);
    });

    it('rejects a registration with a wrong password', async () => {
      const mallory = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'wrong' }, transport: protocol });
      const reg = mallory.registration({ retry: false });
      await assert.rejects(reg.register(), (err: { status?: number }) => err.status === 401 || err.status === 403);
      assert.equal((await kamailio.locations('alice')).length, 1, 'only the good binding');
      await mallory.close();
    });

    it('calls bob through Kamailio (407 answered), bob answers, alice hangs up', async () => {
      const ringing = new Promise<IncomingCall>((resolve) => bob.once('invite', resolve));
      const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
      const incoming = await ringing;
      assert.equal(incoming.offer, OFFER, 'the offer crossed Kamailio unchanged');
      assert.match(incoming.request.headers.get('Record-Route') ?? '', /lr/);
      incoming.progress(180);
      const [progress] = await call.next('progress');
      assert.equal(progress.status, 180);
      incoming.accept({ sdp: ANSWER });
      await call.next('established');
      assert.equal(call.remoteSdp, ANSWER);
      assert.ok(call.request?.headers.has('Proxy-Authorization'), 'our INVITE answered the 407 challenge');
      // The callee copied Record-Route into its 2xx, so alice's BYE goes through Kamailio (§12.1.1).
      assert.match(call.dialog?.routeSet[0] ? formatNameAddr(call.dialog.routeSet[0]) : '', new RegExp(`127\\.0\\.0\\.1:${kamailio.port(protocol)}`));
      const bobEnded = incoming.next('ended');
      await call.bye();
      const [reason] = await bobEnded;
      assert.equal(reason.cause, 'bye', 'the BYE followed the record-route to bob');
    });

    it('cancels a ringing call through Kamailio', async () => {
      const ringing = new Promise<IncomingCall>((resolve) => bob.once('invite', resolve));
      const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
      const incoming = await ringing;
      incoming.progress(180);
      await call.next('progress');
      const bobEnded = incoming.next('ended');
      await call.terminate();
      assert.equal(call.ended?.status, 487);
      const [reason] = await bobEnded;
      assert.equal(reason.cause, 'cancel');
    });

    it('sends a MESSAGE from alice to bob through Kamailio', async () => {
      const got = bob.next('message');
      const res = await alice.message(`sip:bob@${DOMAIN}`, 'hi bob, via kamailio', 'text/plain');
      assert.equal(res.status, 200);
      const [msg] = await got;
      assert.equal(msg.body.toString(), 'hi bob, via kamailio');
      assert.match(msg.from, /alice@portico\.test/);
    });

    it('un-registers: Kamailio forgets both bindings', async () => {
      await Promise.all([alice.close(), bob.close()]);
      assert.deepEqual(await kamailio.locations('alice'), []);
      assert.deepEqual(await kamailio.locations('bob'), []);
    });
  });
}
