/**
 * Two stacks on real sockets calling each other directly: the user-agent obligations of RFC 3261
 * §13 (INVITE), §9 (CANCEL), §14 (re-INVITE), §15 (BYE), RFC 3428 (MESSAGE) and RFC 6086 (INFO).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { createResponse, parseMessage, type SipRequest } from '../message/index.ts';
import type { TransportProtocol } from '../transport/index.ts';
import { IncomingCall, SipStack, type SipUser } from './index.ts';

const SDP_A = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n';
const SDP_B = SDP_A.replace('40000', '40002');

async function pair(protocol: TransportProtocol) {
  const opts = { listen: [{ protocol, host: '127.0.0.1', port: 0 }], timers: { t1: 50, t2: 400, t4: 500 } };
  const a = new SipStack(opts);
  const b = new SipStack(opts);
  await Promise.all([a.start(), b.start()]);
  const bPort = b.transport.local(protocol)!.port;
  const alice = a.createUser({ aor: 'sip:alice@127.0.0.1', transport: protocol });
  const bob = b.createUser({ aor: `sip:bob@127.0.0.1:${bPort}`, transport: protocol });
  const bobUri = `sip:bob@127.0.0.1:${bPort}${protocol === 'udp' ? '' : `;transport=${protocol}`}`;
  return { a, b, alice, bob, bobUri };
}

function nextCall(user: SipUser): Promise<IncomingCall> {
  return new Promise((resolve) => user.once('invite', resolve));
}

for (const protocol of ['udp', 'tcp'] as const) {
  describe(`user agents over ${protocol}`, () => {
    let ctx: Awaited<ReturnType<typeof pair>>;
    before(async () => {
      ctx = await pair(protocol);
    });
    after(async () => {
      await Promise.all([ctx.a.close(), ctx.b.close()]);
    });

    it('sets up a call with 180 and 200, exchanges SDP, and ends it with BYE', async () => {
      const incoming = nextCall(ctx.bob);
      const call = ctx.alice.call(ctx.bobUri, { sdp: SDP_A });
      const progress = call.next('progress');
      const uas = await incoming;
      assert.equal(uas.offer, SDP_A);
      uas.progress(180);
      const [ringing] = await progress;
      assert.equal(ringing.status, 180);
      assert.equal(call.state, 'Early');
      const confirmed = uas.next('confirmed');
      uas.accept({ sdp: SDP_B });
      await call.next('established');
      await confirmed; // the ACK reached the callee
      assert.equal(call.remoteSdp, SDP_B);
      assert.equal(ctx.a.dialogCount, 1);
      assert.equal(ctx.b.dialogCount, 1);
      const remoteEnd = uas.next('ended');
      await call.bye();
      const [reason] = await remoteEnd;
      assert.deepEqual({ by: reason.by, cause: reason.cause }, { by: 'remote', cause: 'bye' });
      assert.equal(ctx.a.dialogCount, 0);
      assert.equal(ctx.b.dialogCount, 0);
    });

    it('cancels a ringing call: 487 to the INVITE, both sides ended', async () => {
      const incoming = nextCall(ctx.bob);
      const call = ctx.alice.call(ctx.bobUri, { sdp: SDP_A });
      const uas = await incoming;
      uas.progress(180);
      await call.next('progress');
      const uasEnded = uas.next('ended');
      await call.terminate();
      assert.equal(call.ended?.status, 487);
      assert.equal(call.ended?.cause, 'cancel');
      const [r] = await uasEnded;
      assert.equal(r.cause, 'cancel');
    });

    it('a rejected call ends with the status the callee sent', async () => {
      const incoming = nextCall(ctx.bob);
      const call = ctx.alice.call(ctx.bobUri, { sdp: SDP_A });
      (await incoming).reject(486);
      const [reason] = await call.next('ended');
      assert.equal(reason.status, 486);
      assert.equal(reason.by, 'remote');
    });

    it('re-INVITE puts the call on hold and the callee sees the new offer', async () => {
      const incoming = nextCall(ctx.bob);
      const call = ctx.alice.call(ctx.bobUri, { sdp: SDP_A });
      const uas = await incoming;
      uas.accept({ sdp: SDP_B });
      await call.next('established');
      const reinvite = uas.next('reinvite');
      const held = SDP_A.replace('a=sendrecv', 'a=sendonly');
      const answerP = call.reinvite(held);
      const [r] = await reinvite;
      assert.equal(r.sdp, held);
      r.accept(SDP_B.replace('a=sendrecv', 'a=recvonly'));
      const res = await answerP;
      assert.equal(res.status, 200);
      assert.match(call.remoteSdp ?? '', /a=recvonly/);
      // INFO within the dialog (RFC 6086), as DTMF relay uses it.
      const info = uas.next('info');
      const infoRes = await call.info('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n');
      assert.equal(infoRes.status, 200);
      const [infoReq] = await info;
      assert.equal(infoReq.body.toString(), 'Signal=5\r\nDuration=160\r\n');
      await uas.bye();
      assert.equal(call.state, 'Terminated');
    });

    it('delivers a MESSAGE and returns the recipient status', async () => {
      const got = ctx.bob.next('message');
      const res = await ctx.alice.message(ctx.bobUri, 'hello bob', 'text/plain');
      assert.equal(res.status, 200);
      const [msg] = await got;
      assert.equal(msg.body.toString(), 'hello bob');
      assert.equal(msg.contentType, 'text/plain');
    });

    it('answers OPTIONS with Allow (for the stack too), and 404 to a MESSAGE for an unknown user', async () => {
      const res = await ctx.alice.options(ctx.bobUri);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('Allow') ?? '', /INVITE/);
      const stack = await ctx.alice.options(ctx.bobUri.replace('bob@', 'nobody@'));
      assert.equal(stack.status, 200);
      const unknown = await ctx.alice.message(ctx.bobUri.replace('bob@', 'nobody@'), 'hi');
      assert.equal(unknown.status, 404);
    });

    it('answers an unknown method with 501 and a known but unsupported one with 405 (RFC 3261 §8.2.1)', async () => {
      const res501 = await ctx.a.request(ctx.alice.outOfDialog('FOO', ctx.bobUri));
      assert.equal(res501.status, 501);
      const res405 = await ctx.a.request(ctx.alice.outOfDialog('SUBSCRIBE', ctx.bobUri));
      assert.equal(res405.status, 405);
      assert.match(res405.headers.get('Allow') ?? '', /MESSAGE/);
    });

    it('answers an in-dialog request for an unknown dialog with 481 (RFC 3261 §12.2.2)', async () => {
      const req = ctx.alice.outOfDialog('BYE', ctx.bobUri);
      req.headers.set('To', `<${ctx.bobUri}>;tag=nosuchdialog`);
      const res = await ctx.a.request(req);
      assert.equal(res.status, 481);
    });
  });
}

describe('provisional responses', () => {
  it('reports a re-sent provisional once (a UAS repeats it for a retransmitted INVITE, RFC 3261 §17.2.1)', async () => {
    const uas = createSocket('udp4');
    await new Promise<void>((r) => uas.bind(0, '127.0.0.1', r));
    uas.on('message', (buf, rinfo) => {
      const req = parseMessage(buf) as SipRequest;
      const send = (status: number, headers: Array<[string, string]> = []) =>
        uas.send(createResponse(req, status, undefined, { toTag: 'uas1', headers }).toBuffer(), rinfo.port, rinfo.address);
      if (req.method === 'INVITE') {
        send(180, [['Contact', `<sip:uas@127.0.0.1:${uas.address().port}>`]]);
        send(180, [['Contact', `<sip:uas@127.0.0.1:${uas.address().port}>`]]);
        send(183, [['Contact', `<sip:uas@127.0.0.1:${uas.address().port}>`]]);
        setTimeout(() => send(200, [['Contact', `<sip:uas@127.0.0.1:${uas.address().port}>`]]), 20);
      } else if (req.method === 'BYE') send(200);
    });
    const stack = new SipStack({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { t1: 50, t2: 400, t4: 500 } });
    await stack.start();
    try {
      const call = stack.createUser({ aor: 'sip:alice@127.0.0.1' }).call(`sip:uas@127.0.0.1:${uas.address().port}`, { sdp: SDP_A });
      const seen: number[] = [];
      call.on('progress', (res) => seen.push(res.status));
      await call.next('established');
      assert.deepEqual(seen, [180, 183]);
      await call.bye();
    } finally {
      await stack.close();
      uas.close();
    }
  });
});
