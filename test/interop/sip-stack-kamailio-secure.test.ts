/**
 * The same users and Kamailio over TLS (RFC 3261 §26.2) and over WebSocket (RFC 7118): register,
 * call and MESSAGE. Kamailio's location table and the other user's view are the evidence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SipStack, type IncomingCall, type SipUser } from '../../src/sip/ua/index.ts';
import type { ListenSpec } from '../../src/sip/transport/index.ts';
import { makeSelfSignedCert } from './peers/certs.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';

const DOMAIN = 'portico.test';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 43000 RTP/AVP 0\r\na=sendrecv\r\n';

for (const protocol of ['tls', 'ws'] as const) {
  describe(`through Kamailio over ${protocol}`, () => {
    let kamailio: Kamailio;
    let stack: SipStack;
    let alice: SipUser;
    let bob: SipUser;
    const dir = mkdtempSync(join(tmpdir(), 'portico-secure-'));

    before(async () => {
      kamailio = await startKamailio({
        users: { alice: 'alice-secret', bob: 'bob-secret' },
        domains: [DOMAIN],
        tls: protocol === 'tls',
        websocket: protocol === 'ws',
        // Reach our users over the connection they registered on (RFC 5626 style).
        aliasStreamContacts: true,
      });
      const listen: ListenSpec[] = [{ protocol, host: '127.0.0.1', port: 0 }];
      if (protocol === 'tls') {
        const cert = await makeSelfSignedCert(dir, 'portico');
        listen[0] = { protocol, host: '127.0.0.1', port: 0, tls: { key: cert.key, cert: cert.cert } };
      }
      const proxy = `sip:127.0.0.1:${kamailio.port(protocol)};transport=${protocol}`;
      stack = new SipStack({
        listen,
        outboundProxy: proxy,
        timers: { t1: 100, t2: 800, t4: 1000 },
        transport: protocol === 'tls' ? { tlsClient: { ca: kamailio.certificate!.cert, rejectUnauthorized: false } } : {},
      });
      await stack.start();
      alice = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' }, transport: protocol });
      bob = stack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' }, transport: protocol });
    });

    after(async () => {
      await stack?.close();
      await kamailio?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('registers both users; Kamailio saw the REGISTERs on its ' + protocol + ' socket', async () => {
      await Promise.all([alice.registration({ expires: 300 }).register(), bob.registration({ expires: 300 }).register()]);
      const [binding] = await kamailio.locations('alice');
      assert.ok(binding, 'alice is registered');
      // Kamailio names a WebSocket listener by its TCP socket.
      assert.equal(binding.socket, `${protocol === 'tls' ? 'tls' : 'tcp'}:127.0.0.1:${kamailio.port(protocol)}`);
      assert.ok(binding.uri.includes(alice.contactUser));
    });

    it('calls bob through Kamailio and hangs up', async () => {
      const ringing = new Promise<IncomingCall>((resolve) => bob.once('invite', resolve));
      const call = alice.call(`sip:bob@${DOMAIN}`, { sdp: OFFER });
      const incoming = await ringing;
      assert.equal(incoming.offer, OFFER);
      incoming.accept({ sdp: OFFER });
      await call.next('established');
      const ended = incoming.next('ended');
      await call.bye();
      assert.equal((await ended)[0].cause, 'bye');
    });

    it('sends a MESSAGE through Kamailio', async () => {
      const got = bob.next('message');
      const res = await alice.message(`sip:bob@${DOMAIN}`, `over ${protocol}`);
      assert.equal(res.status, 200);
      assert.equal((await got)[0].body.toString(), `over ${protocol}`);
    });
  });
}
