/**
 * LocalSipDomain as a component: configuration checks, users given by HA1, the digest algorithms
 * offered, its lifecycle, and the error catalogue in README.md.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { computeHa1 } from '../auth/index.ts';
import { SipStack } from '../ua/index.ts';
import { LOCAL_DOMAIN_ERROR_CODES, LocalDomainError, LocalSipDomain, type LocalSipDomainOptions } from './index.ts';
import { RawUdpPeer } from './test-support.ts';

const UDP = [{ protocol: 'udp' as const, host: '127.0.0.1', port: 0 }];
const T1 = { t1: 20, t2: 160, t4: 200 };

function configError(opts: Partial<LocalSipDomainOptions>): unknown {
  try {
    new LocalSipDomain({ domain: 'portico.local', users: [], listen: UDP, ...opts });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('LocalSipDomain configuration', () => {
  it('refuses users without a secret, listed twice, or with an HA1 of the wrong shape', () => {
    for (const users of [
      [{ name: 'alice' }],
      [
        { name: 'alice', password: 'a' },
        { name: 'alice', password: 'b' },
      ],
      [{ name: 'alice', ha1: 'not-hex' }],
      [{ name: 'al ice', password: 'a' }],
    ]) {
      const err = configError({ users });
      assert.ok(err instanceof LocalDomainError, JSON.stringify(users));
      assert.equal(err.code, 'SIP_ERR_LOCAL_DOMAIN_CONFIG');
    }
  });

  it('refuses a bad domain, no listener, and inverted expiry limits', () => {
    for (const opts of [{ domain: 'a b' }, { listen: [] }, { minExpires: 100, maxExpires: 50 }]) {
      assert.equal((configError(opts) as LocalDomainError).code, 'SIP_ERR_LOCAL_DOMAIN_CONFIG', JSON.stringify(opts));
    }
  });

  it('refuses an MD5 HA1 when only SHA-256 is offered', () => {
    const ha1 = computeHa1('MD5', 'alice', 'portico.local', 'pw');
    assert.equal((configError({ users: [{ name: 'alice', ha1 }], algorithms: ['SHA-256'] }) as LocalDomainError).code, 'SIP_ERR_LOCAL_DOMAIN_CONFIG');
  });
});

describe('LocalSipDomain digest', () => {
  it('authenticates a user configured by HA1 (the client knows the password)', async () => {
    const domain = new LocalSipDomain({
      domain: 'portico.local',
      users: [{ name: 'alice', ha1: computeHa1('MD5', 'alice', 'portico.local', 'alice-secret') }],
      listen: UDP,
      timers: T1,
    });
    await domain.start();
    const stack = new SipStack({ listen: UDP, outboundProxy: domain.proxyUri(), timers: T1 });
    await stack.start();
    try {
      const alice = stack.createUser({ aor: 'sip:alice@portico.local', credentials: { password: 'alice-secret' } });
      await alice.registration({ retry: false }).register();
      assert.equal(domain.bindings('alice').length, 1);
      const wrong = stack.createUser({ aor: 'sip:alice@portico.local', credentials: { password: 'nope' } });
      await assert.rejects(wrong.registration({ retry: false }).register(), { status: 403 });
    } finally {
      await stack.close();
      await domain.close();
    }
  });

  it('offers SHA-256 before MD5 when asked to, except to a user whose HA1 only fits MD5 (RFC 8760)', async () => {
    const domain = new LocalSipDomain({
      domain: 'portico.local',
      users: [
        { name: 'alice', password: 'alice-secret' },
        { name: 'bob', ha1: computeHa1('MD5', 'bob', 'portico.local', 'bob-secret') },
      ],
      listen: UDP,
      algorithms: ['SHA-256', 'MD5'],
      timers: T1,
    });
    await domain.start();
    const peer = await new RawUdpPeer().start();
    const stack = new SipStack({ listen: UDP, outboundProxy: domain.proxyUri(), timers: T1 });
    await stack.start();
    try {
      const port = domain.local('udp')!.port;
      const challenges = async (user: string): Promise<string[]> => {
        const req = peer.request({ method: 'REGISTER', uri: 'sip:portico.local', from: `sip:${user}@portico.local`, to: `sip:${user}@portico.local`, headers: { Contact: `<${peer.contact(user)}>` } });
        return (await peer.transact(req, port)).headers.getAll('WWW-Authenticate').map((v) => /algorithm=([\w-]+)/.exec(v)![1]!);
      };
      assert.deepEqual(await challenges('alice'), ['SHA-256', 'MD5']);
      assert.deepEqual(await challenges('bob'), ['MD5']);

      const alice = stack.createUser({ aor: 'sip:alice@portico.local', credentials: { password: 'alice-secret' } });
      const bob = stack.createUser({ aor: 'sip:bob@portico.local', credentials: { password: 'bob-secret' } });
      const [a] = await Promise.all([alice.registration({ retry: false }).register(), bob.registration({ retry: false }).register()]);
      assert.match(a.response.headers.get('CSeq') ?? '', /REGISTER/);
      assert.equal(domain.bindings().length, 2);
    } finally {
      await stack.close();
      await peer.close();
      await domain.close();
    }
  });
});

describe('LocalSipDomain lifecycle', () => {
  it('needs start() before proxyUri(), reports its listeners, and closes idempotently', async () => {
    const domain = new LocalSipDomain({ domain: 'Portico.Local', users: [{ name: 'alice', password: 'x' }], listen: [...UDP, { protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    assert.throws(() => domain.proxyUri(), { code: 'SIP_ERR_LOCAL_DOMAIN_NOT_STARTED' });
    await domain.start();
    await domain.start();
    assert.equal(domain.domain, 'portico.local');
    assert.equal(domain.proxyUri('udp'), `sip:127.0.0.1:${domain.local('udp')!.port}`);
    assert.equal(domain.proxyUri('tcp'), `sip:127.0.0.1:${domain.local('tcp')!.port};transport=tcp`);
    assert.deepEqual(domain.users, ['alice']);
    assert.deepEqual(domain.stats(), { users: 1, bindings: 0, pending: 0, transactions: 0, forwarded: {} });
    const udpPort = domain.local('udp')!.port;
    await Promise.all([domain.close(), domain.close()]);
    assert.equal(domain.local('udp'), undefined);
    // The port is free again: something else can bind it.
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(udpPort, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });

  it('rejects start() when its port is taken, and leaves nothing bound', async () => {
    const first = new LocalSipDomain({ domain: 'portico.local', users: [], listen: UDP });
    await first.start();
    const port = first.local('udp')!.port;
    const second = new LocalSipDomain({
      domain: 'portico.local',
      users: [],
      listen: [
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
        { protocol: 'udp', host: '127.0.0.1', port },
      ],
    });
    await assert.rejects(second.start());
    assert.equal(second.local('tcp'), undefined);
    await assert.rejects(second.start(), { code: 'SIP_ERR_LOCAL_DOMAIN_CLOSED' });
    await first.close();
  });

  it('lists every error code in README.md', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/`(SIP_ERR_LOCAL_DOMAIN_[A-Z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(documented)].sort(), [...LOCAL_DOMAIN_ERROR_CODES].sort());
  });
});
