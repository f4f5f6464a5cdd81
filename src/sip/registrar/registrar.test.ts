/**
 * The registrar of the local domain (RFC 3261 §10.3), driven by the stack's own SipUser and by a
 * raw UDP socket where the exact answer matters.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SipStack } from '../ua/index.ts';
import { LocalSipDomain } from './index.ts';
import { RawUdpPeer, sleep, until, withCredentials } from './test-support.ts';

const T1 = { t1: 20, t2: 160, t4: 200 };
const DOMAIN = 'portico.local';
const USERS = [
  { name: 'alice', password: 'alice-secret' },
  { name: 'bob', password: 'bob-secret' },
];

describe('LocalSipDomain registrar (RFC 3261 §10.3)', { timeout: 20_000 }, () => {
  let domain: LocalSipDomain;
  let stack: SipStack;
  let peer: RawUdpPeer;
  let port: number;

  before(async () => {
    domain = new LocalSipDomain({
      domain: DOMAIN,
      users: USERS,
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      timers: T1,
      minExpires: 1,
    });
    await domain.start();
    port = domain.local('udp')!.port;
    stack = new SipStack({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], outboundProxy: domain.proxyUri('udp'), timers: T1 });
    await stack.start();
    peer = await new RawUdpPeer().start();
  });

  after(async () => {
    await stack.close();
    await peer.close();
    await domain.close();
  });

  afterEach(async () => {
    // Every test starts with an empty location table.
    for (const user of ['alice', 'bob']) {
      if (domain.bindings(user).length === 0) continue;
      const req = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:${user}@${DOMAIN}`, to: `sip:${user}@${DOMAIN}`, headers: { Contact: '*', Expires: '0' } });
      const challenge = await peer.transact(req, port);
      const res = await peer.transact(withCredentials(req, challenge, user, `${user}-secret`), port);
      assert.equal(res.status, 200);
    }
  });

  it('challenges a REGISTER without credentials with 401 and a Digest challenge for the realm', async () => {
    const req = peer.request({
      method: 'REGISTER',
      uri: `sip:${DOMAIN}`,
      from: `sip:alice@${DOMAIN}`,
      to: `sip:alice@${DOMAIN}`,
      headers: { Contact: `<${peer.contact('alice')}>`, Expires: '300' },
    });
    const res = await peer.transact(req, port);
    assert.equal(res.status, 401);
    assert.ok(res.toTag, 'a final response carries a To tag');
    const challenge = res.headers.get('WWW-Authenticate') ?? '';
    assert.match(challenge, /^Digest realm="portico\.local", nonce="[^"]+", algorithm=MD5, qop="auth"$/);
    assert.deepEqual(domain.bindings('alice'), [], 'nothing bound before authentication');

    const ok = await peer.transact(withCredentials(req, res, 'alice', 'alice-secret'), port);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.headers.getAll('Contact'), [`<${peer.contact('alice')}>;expires=300`]);
    assert.ok(ok.headers.has('Date'));
    const [binding] = domain.bindings('alice');
    assert.equal(binding?.contact, peer.contact('alice'));
    assert.equal(binding?.aor, 'sip:alice@portico.local');
    assert.equal(binding?.source, `udp:127.0.0.1:${peer.port}`);
  });

  it('registers a SipUser through the challenge; the binding is its Contact', async () => {
    const alice = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' } });
    const info = await alice.registration({ expires: 120, retry: false }).register();
    assert.equal(info.expires, 120);
    const bindings = domain.bindings('alice');
    assert.equal(bindings.length, 1);
    assert.equal(bindings[0]!.contact, `sip:${alice.contactUser}@127.0.0.1:${stack.transport.local('udp')!.port}`);
    await alice.close();
    assert.deepEqual(domain.bindings('alice'), [], 'closing the user un-REGISTERed it');
  });

  it('answers 403 to a wrong password and binds nothing', async () => {
    const mallory = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'guess' } });
    await assert.rejects(mallory.registration({ retry: false }).register(), (err: { status?: number }) => err.status === 403);
    assert.deepEqual(domain.bindings('alice'), []);
    await mallory.close();
  });

  it("answers 403 when one user's credentials try to register another's AOR", async () => {
    const req = peer.request({
      method: 'REGISTER',
      uri: `sip:${DOMAIN}`,
      from: `sip:alice@${DOMAIN}`,
      to: `sip:alice@${DOMAIN}`,
      headers: { Contact: `<${peer.contact('x')}>` },
    });
    const challenge = await peer.transact(req, port);
    const res = await peer.transact(withCredentials(req, challenge, 'bob', 'bob-secret'), port);
    assert.equal(res.status, 403);
    assert.deepEqual(domain.bindings('alice'), []);
  });

  it('holds several contacts for one AOR and lists them all in the 200', async () => {
    const one = stack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' } });
    const two = stack.createUser({ aor: `sip:bob@${DOMAIN}`, credentials: { password: 'bob-secret' } });
    await one.registration({ expires: 200, retry: false }).register();
    const info = await two.registration({ expires: 100, retry: false }).register();
    assert.equal(info.contacts.length, 2, 'the second 200 lists both bindings');
    const byUser = new Map(info.contacts.map((c) => [c.uri.user, Number(c.params.get('expires'))]));
    assert.ok(byUser.get(one.contactUser)! > 190 && byUser.get(one.contactUser)! <= 200);
    assert.equal(byUser.get(two.contactUser), 100);
    assert.equal(domain.bindings('bob').length, 2);
    await Promise.all([one.close(), two.close()]);
  });

  it('lets a binding expire on its own', async () => {
    const req = peer.request({
      method: 'REGISTER',
      uri: `sip:${DOMAIN}`,
      from: `sip:alice@${DOMAIN}`,
      to: `sip:alice@${DOMAIN}`,
      headers: [
        ['Contact', `<${peer.contact('short')}>;expires=1`],
        ['Contact', `<${peer.contact('long')}>`],
        ['Expires', '60'],
      ],
    });
    const res = await peer.transact(withCredentials(req, await peer.transact(req, port), 'alice', 'alice-secret'), port);
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers.getAll('Contact').sort(), [`<${peer.contact('long')}>;expires=60`, `<${peer.contact('short')}>;expires=1`]);
    await until(() => domain.bindings('alice').length === 1, 2000, 'the 1 s binding to expire');
    assert.equal(domain.bindings('alice')[0]!.contact, peer.contact('long'));
  });

  it('answers 423 with Min-Expires to a lifetime below the minimum, and shortens one above the maximum', async () => {
    const strict = new LocalSipDomain({ domain: DOMAIN, users: USERS, listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], minExpires: 60, maxExpires: 600 });
    await strict.start();
    try {
      const p = strict.local('udp')!.port;
      const req = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, headers: { Contact: `<${peer.contact('bob')}>`, Expires: '30' } });
      const brief = await peer.transact(withCredentials(req, await peer.transact(req, p), 'bob', 'bob-secret'), p);
      assert.equal(brief.status, 423);
      assert.equal(brief.headers.get('Min-Expires'), '60');
      assert.deepEqual(strict.bindings('bob'), []);

      const long = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, headers: { Contact: `<${peer.contact('bob')}>;expires=99999` } });
      const ok = await peer.transact(withCredentials(long, await peer.transact(long, p), 'bob', 'bob-secret'), p);
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.headers.getAll('Contact'), [`<${peer.contact('bob')}>;expires=600`]);
    } finally {
      await strict.close();
    }
  });

  it('removes every binding on Contact: * with Expires: 0, and refuses * with any other Expires', async () => {
    const a = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' } });
    const b = stack.createUser({ aor: `sip:alice@${DOMAIN}`, credentials: { password: 'alice-secret' } });
    await a.registration({ retry: false }).register();
    await b.registration({ retry: false }).register();
    assert.equal(domain.bindings('alice').length, 2);

    const bad = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:alice@${DOMAIN}`, to: `sip:alice@${DOMAIN}`, headers: { Contact: '*', Expires: '10' } });
    const refused = await peer.transact(withCredentials(bad, await peer.transact(bad, port), 'alice', 'alice-secret'), port);
    assert.equal(refused.status, 400);
    assert.equal(domain.bindings('alice').length, 2);

    const all = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:alice@${DOMAIN}`, to: `sip:alice@${DOMAIN}`, headers: { Contact: '*', Expires: '0' } });
    const ok = await peer.transact(withCredentials(all, await peer.transact(all, port), 'alice', 'alice-secret'), port);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.getAll('Contact').length, 0);
    assert.deepEqual(domain.bindings('alice'), []);
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses an update that is older (same Call-ID, lower CSeq) than the stored binding with 500', async () => {
    const callId = 'ordering-test@127.0.0.1';
    const first = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, callId, cseq: 10, headers: { Contact: `<${peer.contact('bob')}>`, Expires: '300' } });
    const ok = await peer.transact(withCredentials(first, await peer.transact(first, port), 'bob', 'bob-secret'), port);
    assert.equal(ok.status, 200);
    assert.equal(domain.bindings('bob')[0]!.cseq, 11);

    const stale = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, callId, cseq: 5, headers: { Contact: `<${peer.contact('bob')}>`, Expires: '0' } });
    const refused = await peer.transact(withCredentials(stale, await peer.transact(stale, port), 'bob', 'bob-secret'), port);
    assert.equal(refused.status, 500);
    assert.equal(domain.bindings('bob').length, 1, 'the binding survives the stale removal');
  });

  it('answers a REGISTER without Contact with the current bindings (a query)', async () => {
    const bind = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, headers: { Contact: `<${peer.contact('bob')}>`, Expires: '300' } });
    await peer.transact(withCredentials(bind, await peer.transact(bind, port), 'bob', 'bob-secret'), port);
    const query = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}` });
    const res = await peer.transact(withCredentials(query, await peer.transact(query, port), 'bob', 'bob-secret'), port);
    assert.equal(res.status, 200);
    assert.equal(res.headers.getAll('Contact').length, 1);
    assert.match(res.headers.get('Contact')!, /;expires=(300|299)$/);
  });

  it('accepts our own address as the AOR host, and refuses a contact that points at the registrar', async () => {
    const req = peer.request({ method: 'REGISTER', uri: `sip:127.0.0.1:${port}`, from: 'sip:bob@127.0.0.1', to: 'sip:bob@127.0.0.1', headers: { Contact: `<sip:bob@127.0.0.1:${port}>` } });
    const res = await peer.transact(withCredentials(req, await peer.transact(req, port), 'bob', 'bob-secret'), port);
    assert.equal(res.status, 400);
    const good = peer.request({ method: 'REGISTER', uri: `sip:127.0.0.1:${port}`, from: 'sip:bob@127.0.0.1', to: 'sip:bob@127.0.0.1', headers: { Contact: `<${peer.contact('bob')}>` } });
    const ok = await peer.transact(withCredentials(good, await peer.transact(good, port), 'bob', 'bob-secret'), port);
    assert.equal(ok.status, 200);
    assert.equal(domain.bindings('bob')[0]!.aor, 'sip:bob@portico.local');
  });

  it('answers 404 to a REGISTER for another domain', async () => {
    const req = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: 'sip:alice@example.com', to: 'sip:alice@example.com', headers: { Contact: `<${peer.contact('a')}>` } });
    const res = await peer.transact(req, port);
    assert.equal(res.status, 404);
  });

  it('forgets every binding and timer on close; close is idempotent', async () => {
    const d = new LocalSipDomain({ domain: DOMAIN, users: USERS, listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    await d.start();
    const p = d.local('udp')!.port;
    const req = peer.request({ method: 'REGISTER', uri: `sip:${DOMAIN}`, from: `sip:bob@${DOMAIN}`, to: `sip:bob@${DOMAIN}`, headers: { Contact: `<${peer.contact('bob')}>` } });
    await peer.transact(withCredentials(req, await peer.transact(req, p), 'bob', 'bob-secret'), p);
    assert.equal(d.bindings().length, 1);
    await Promise.all([d.close(), d.close()]);
    await d.close();
    assert.deepEqual(d.bindings(), []);
    await assert.rejects(d.start(), { code: 'SIP_ERR_LOCAL_DOMAIN_CLOSED' });
    await sleep(1);
  });
});
