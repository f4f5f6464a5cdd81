/**
 * A real SIP client registering to the local domain: SIPp (Debian `sip-tester`) runs the
 * `uac-register` scenario with digest credentials against it, over UDP and TCP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Sipp } from './peers/sipp.ts';
import { LocalSipDomain } from '../../src/sip/registrar/index.ts';

describe('SIPp registers to the local domain with digest authentication', () => {
  let domain: LocalSipDomain;

  before(async () => {
    domain = new LocalSipDomain({
      domain: 'portico.local',
      users: [{ name: 'alice', password: 'alice-secret' }],
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
    });
    await domain.start();
  });

  after(async () => {
    await domain.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`over ${transport}: 401, then 200 with the binding`, async () => {
      const sipp = new Sipp({
        scenario: 'uac-register',
        remote: { host: '127.0.0.1', port: domain.local(transport)!.port },
        transport,
        calls: 1,
        vars: { aor: 'alice', expires: 300 },
        auth: { username: 'alice', password: 'alice-secret' },
      });
      try {
        await sipp.start();
        const { code } = await sipp.waitExit(5000);
        assert.equal(code, 0, sipp.errors());
        assert.deepEqual(
          sipp.received().map((m) => m.status),
          [401, 200],
        );
        const binding = domain.bindings('alice').find((b) => b.contact === `sip:alice@127.0.0.1:${sipp.port};transport=${transport.toUpperCase()}`);
        assert.ok(binding, JSON.stringify(domain.bindings('alice')));
        assert.equal(binding.protocol, transport);
        assert.ok(binding.expires > 290 && binding.expires <= 300);
      } finally {
        await sipp.stop();
      }
    });
  }
});
