/**
 * Portico's SIP stack against SIPp, a real SIP peer: SIPp stands as UAS for our client side
 * (REGISTER with a digest challenge, calls, MESSAGE, a lost INVITE) and as UAC for our server side.
 * Every assertion checks what SIPp saw or sent on the wire, plus its own verdict (exit status).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SipStack, type SipUser } from '../../src/sip/ua/index.ts';
import type { TransportProtocol } from '../../src/sip/transport/index.ts';
import { startSipp, type Sipp } from './peers/sipp.ts';

const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 41000 RTP/AVP 0 8',
  'a=sendrecv',
  '',
].join('\r\n');

async function newStack(protocol: TransportProtocol): Promise<SipStack> {
  const stack = new SipStack({ listen: [{ protocol, host: '127.0.0.1', port: 0 }], timers: { t1: 100, t2: 800, t4: 1000 } });
  await stack.start();
  return stack;
}

for (const protocol of ['udp', 'tcp'] as const) {
  const suffix = protocol === 'udp' ? '' : ';transport=tcp';

  describe(`our UAC against a SIPp UAS over ${protocol}`, () => {
    let stack: SipStack;
    let sipp: Sipp | undefined;
    before(async () => {
      stack = await newStack(protocol);
    });
    after(async () => {
      await sipp?.stop();
      await stack.close();
    });

    function userFor(peer: Sipp, password = 'secret'): SipUser {
      return stack.createUser({
        aor: `sip:alice@127.0.0.1:${peer.port}`,
        credentials: { password },
        transport: protocol,
      });
    }

    it('registers through a 401 challenge that SIPp verifies', async () => {
      sipp = await startSipp({ scenario: 'uas-register-401', transport: protocol, calls: 1, vars: { password: 'secret', expires: 120 } });
      const user = userFor(sipp);
      const reg = user.registration({ registrar: `sip:127.0.0.1:${sipp.port}${suffix}`, expires: 300, retry: false });
      const info = await reg.register();
      assert.equal(info.expires, 120, 'the expiry SIPp granted');
      assert.equal(reg.state, 'Registered');
      const result = await sipp.waitExit(10_000);
      assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
      const registers = sipp.received().filter((m) => m.method === 'REGISTER');
      assert.equal(registers.length, 2, 'REGISTER, then REGISTER with credentials');
      assert.doesNotMatch(registers[0]!.text, /Authorization:/);
      assert.match(registers[1]!.text, /Authorization: Digest [^\r\n]*username="alice"/);
      assert.match(registers[1]!.text, /nc=00000001/);
      assert.match(registers[1]!.text, /CSeq: 2 REGISTER/);
      sipp = undefined;
    });

    it('reports the failure when the password is wrong', async () => {
      sipp = await startSipp({ scenario: 'uas-register-401', transport: protocol, calls: 1, vars: { password: 'secret' } });
      const user = userFor(sipp, 'wrong');
      const reg = user.registration({ registrar: `sip:127.0.0.1:${sipp.port}${suffix}`, retry: false });
      const failed = reg.next('failed');
      await assert.rejects(reg.register(), (err: { status?: number }) => err.status === 403);
      const [failure] = await failed;
      assert.equal(failure.status, 403);
      await sipp.waitExit(10_000);
      assert.equal(sipp.stats()?.failedCalls, 1, 'SIPp rejected our digest');
      await user.close();
      sipp = undefined;
    });

    it('places a call that SIPp answers, and hears SIPp hang up', async () => {
      sipp = await startSipp({ scenario: 'uas-invite-bye', transport: protocol, calls: 1 });
      const user = userFor(sipp);
      const call = user.call(`sip:service@127.0.0.1:${sipp.port}${suffix}`, { sdp: OFFER });
      const statuses: number[] = [];
      call.on('progress', (res) => statuses.push(res.status));
      await call.next('established');
      assert.deepEqual(statuses, [180]);
      assert.match(call.remoteSdp ?? '', /m=audio \d+ RTP\/AVP 0/);
      const [reason] = await call.next('ended');
      assert.deepEqual({ by: reason.by, cause: reason.cause }, { by: 'remote', cause: 'bye' });
      const result = await sipp.waitExit(10_000);
      assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
      const invite = sipp.received().find((m) => m.method === 'INVITE')!;
      assert.match(invite.text, /Content-Type: application\/sdp/);
      assert.ok(invite.text.includes('m=audio 41000 RTP/AVP 0 8'), 'our offer reached SIPp unchanged');
      assert.ok(sipp.received().some((m) => m.method === 'ACK'), 'SIPp got the ACK for its 2xx');
      await user.close();
      sipp = undefined;
    });

    it('sends a MESSAGE that SIPp accepts', async () => {
      sipp = await startSipp({ scenario: 'uas-message', transport: protocol, calls: 1 });
      const user = userFor(sipp);
      const res = await user.message(`sip:service@127.0.0.1:${sipp.port}${suffix}`, 'hello from portico', 'text/plain');
      assert.equal(res.status, 200);
      await sipp.waitExit(10_000);
      const msg = sipp.received().find((m) => m.method === 'MESSAGE')!;
      assert.ok(msg.text.includes('hello from portico'));
      assert.match(msg.text, /Content-Type: text\/plain/);
      await user.close();
      sipp = undefined;
    });

    if (protocol === 'udp') {
      it('retransmits an INVITE that SIPp ignored the first time (Timer A, RFC 3261 §17.1.1.2)', async () => {
        sipp = await startSipp({ scenario: 'uas-drop-first-invite', transport: 'udp', calls: 1, retransmissions: false });
        const user = userFor(sipp);
        const sentAt = Date.now();
        const call = user.call(`sip:service@127.0.0.1:${sipp.port}`, { sdp: OFFER });
        await call.next('established');
        const waited = Date.now() - sentAt;
        assert.ok(waited >= 90, `the answer came after one Timer A interval (T1 = 100 ms), took ${waited} ms`);
        await call.bye();
        const result = await sipp.waitExit(10_000);
        assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
        const invites = sipp.received().filter((m) => m.method === 'INVITE');
        assert.ok(invites.length >= 2, 'SIPp saw the retransmission');
        const branch = (t: string) => /branch=([^;\s]+)/.exec(t)?.[1];
        assert.equal(branch(invites[0]!.text), branch(invites[1]!.text), 'same transaction: same branch');
        await user.close();
        sipp = undefined;
      });
    }
  });

  describe(`SIPp UAC calling our UAS over ${protocol}`, () => {
    let stack: SipStack;
    let user: SipUser;
    before(async () => {
      stack = await newStack(protocol);
      user = stack.createUser({ aor: 'sip:service@127.0.0.1', contactUser: 'service', transport: protocol });
    });
    after(async () => {
      await stack.close();
    });
    const remote = () => `127.0.0.1:${stack.transport.local(protocol)!.port}`;

    it('answers an incoming call and takes the BYE', async () => {
      const answered = new Promise<void>((resolve) => {
        user.once('invite', (call) => {
          assert.match(call.offer ?? '', /m=audio/);
          call.progress(180);
          call.accept({ sdp: OFFER });
          call.once('ended', (r) => {
            assert.equal(r.cause, 'bye');
            resolve();
          });
        });
      });
      const sipp = await startSipp({ scenario: 'uac-invite', transport: protocol, remote: remote(), calls: 1 });
      try {
        await answered;
        const result = await sipp.waitExit(10_000);
        assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
        const ok = sipp.received().find((m) => m.status === 200 && /CSeq: \d+ INVITE/.test(m.text))!;
        assert.ok(ok.text.includes('m=audio 41000'), 'SIPp received our answer SDP');
        assert.match(ok.text, /Contact: <sip:service@127\.0\.0\.1:\d+/);
      } finally {
        await sipp.stop();
      }
    });

    it('answers OPTIONS', async () => {
      const sipp = await startSipp({ scenario: 'uac-options', transport: protocol, remote: remote(), calls: 1 });
      try {
        const result = await sipp.waitExit(10_000);
        assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
        const ok = sipp.received().find((m) => m.status === 200)!;
        assert.match(ok.text, /Allow: [^\r\n]*INVITE/);
      } finally {
        await sipp.stop();
      }
    });

    it('receives a MESSAGE', async () => {
      const got = user.next('message');
      const sipp = await startSipp({ scenario: 'uac-message', transport: protocol, remote: remote(), calls: 1 });
      try {
        const [msg] = await got;
        assert.ok(msg.body.length > 0);
        const result = await sipp.waitExit(10_000);
        assert.equal(result.code, 0, `SIPp verdict: ${sipp.errors()}`);
      } finally {
        await sipp.stop();
      }
    });
  });
}
