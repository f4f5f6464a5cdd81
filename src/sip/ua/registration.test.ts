/**
 * Registration as RFC 3261 §10.2 asks of a UAC, checked against a registrar socket this test
 * scripts by hand, so every REGISTER on the wire can be inspected.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, afterEach, before, describe, it } from 'node:test';
import { createResponse, parseMessage, type SipRequest } from '../message/index.ts';
import { SipStack, type SipUser } from './index.ts';

/** A registrar on a real UDP socket whose answers the test decides. */
class ScriptedRegistrar {
  readonly socket: Socket = createSocket('udp4');
  readonly received: Array<{ req: SipRequest; at: number }> = [];
  answer: (req: SipRequest, n: number) => { status: number; headers?: Array<[string, string]> } = () => ({ status: 200 });
  private waiters: Array<() => void> = [];

  async start(): Promise<number> {
    this.socket.on('message', (buf, rinfo) => {
      const req = parseMessage(buf) as SipRequest;
      this.received.push({ req, at: Date.now() });
      const { status, headers = [] } = this.answer(req, this.received.length);
      const res = createResponse(req, status, undefined, { toTag: 'reg', headers });
      this.socket.send(res.toBuffer(), rinfo.port, rinfo.address);
      this.waiters.splice(0).forEach((w) => w());
    });
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', r));
    return this.socket.address().port;
  }

  async waitFor(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.received.length} REGISTERs arrived`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

describe('Registration (RFC 3261 §10.2)', () => {
  let stack: SipStack;
  let registrar: ScriptedRegistrar;
  let port: number;
  let user: SipUser;

  before(async () => {
    stack = new SipStack({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], timers: { t1: 50, t2: 400, t4: 500 } });
    await stack.start();
  });
  after(async () => {
    await stack.close();
  });
  afterEach(async () => {
    await user?.close();
    registrar?.close();
  });

  async function setUp(): Promise<void> {
    registrar = new ScriptedRegistrar();
    port = await registrar.start();
    user = stack.createUser({ aor: 'sip:alice@127.0.0.1' });
  }

  it('refreshes before the granted expiry, on the same Call-ID with a higher CSeq', async () => {
    await setUp();
    registrar.answer = (req) => ({ status: 200, headers: [['Contact', `${req.headers.get('Contact')};expires=2`]] });
    const reg = user.registration({ registrar: `sip:127.0.0.1:${port}`, expires: 600 });
    const info = await reg.register();
    assert.equal(info.expires, 2, 'the expiry the registrar granted in our Contact');
    await registrar.waitFor(2, 3000);
    const [first, second] = registrar.received;
    const gap = second!.at - first!.at;
    assert.ok(gap >= 900 && gap < 2000, `refresh after half of a short binding, took ${gap} ms`);
    assert.equal(second!.req.callId, first!.req.callId);
    assert.equal(second!.req.cseq.seq, first!.req.cseq.seq + 1);
    assert.equal(second!.req.headers.get('Contact'), first!.req.headers.get('Contact'));
  });

  it('retries with Min-Expires after 423 Interval Too Brief (§10.2.8)', async () => {
    await setUp();
    registrar.answer = (_req, n) => (n === 1 ? { status: 423, headers: [['Min-Expires', '1800']] } : { status: 200 });
    const info = await user.registration({ registrar: `sip:127.0.0.1:${port}`, expires: 60 }).register();
    assert.equal(registrar.received.length, 2);
    assert.equal(registrar.received[0]!.req.headers.get('Expires'), '60');
    assert.equal(registrar.received[1]!.req.headers.get('Expires'), '1800');
    assert.equal(info.expires, 1800);
  });

  it('reports every binding of the AOR (another device too)', async () => {
    await setUp();
    registrar.answer = (req) => ({
      status: 200,
      headers: [
        ['Contact', `<sip:other-device@127.0.0.9:5060>;expires=100`],
        ['Contact', `${req.headers.get('Contact')};expires=300`],
      ],
    });
    const info = await user.registration({ registrar: `sip:127.0.0.1:${port}`, expires: 300 }).register();
    assert.equal(info.contacts.length, 2);
    assert.equal(info.expires, 300, 'our own binding, not the other device');
  });

  it('writes From, To and Contact of the user (§10.2): display name, AOR, From tag only, Contact parameters', async () => {
    registrar = new ScriptedRegistrar();
    port = await registrar.start();
    user = stack.createUser({ aor: 'SIP:alice@Example.COM', displayName: 'Alice "A" Smith', contactUser: 'alice-d1' });
    const local = stack.transport.local('udp')!;
    registrar.answer = () => ({
      status: 200,
      // Our Contact, spelled differently but equal by RFC 3261 §19.1.4: an escaped user part and
      // a URI parameter we did not send.
      headers: [['Contact', `<sip:%61lice-d1@${local.host}:${local.port};foo=bar>;expires=77`]],
    });
    const reg = user.registration({
      registrar: `sip:127.0.0.1:${port}`,
      contactParams: { '+sip.instance': '"<urn:uuid:00000000-0000-0000-0000-000000000001>"', 'reg-id': '1' },
    });
    const info = await reg.register();
    const req = registrar.received[0]!.req;
    assert.equal(req.headers.get('To'), '"Alice \\"A\\" Smith" <sip:alice@Example.COM>');
    assert.match(req.headers.get('From')!, /^"Alice \\"A\\" Smith" <sip:alice@Example\.COM>;tag=[\w-]+$/);
    assert.equal(
      req.headers.get('Contact'),
      `<sip:alice-d1@${local.host}:${local.port}>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000001>";reg-id=1`,
    );
    assert.equal(info.expires, 77, 'the expiry of the binding that equals ours');
  });

  it('retries after a failure with back-off, and reports the failure with its status', async () => {
    await setUp();
    registrar.answer = (_req, n) => (n === 1 ? { status: 503 } : { status: 200 });
    const reg = user.registration({ registrar: `sip:127.0.0.1:${port}`, retry: { initialMs: 300, maxMs: 1000 } });
    const registered = reg.next('registered');
    await assert.rejects(reg.register(), (err: { status?: number; retryInMs?: number }) => err.status === 503 && err.retryInMs === 300);
    assert.equal(reg.state, 'Failed');
    await registered;
    const gap = registrar.received[1]!.at - registrar.received[0]!.at;
    assert.ok(gap >= 250, `waited the back-off before retrying (${gap} ms)`);
    assert.equal(reg.state, 'Registered');
  });

  it('un-registers with Expires: 0 on the same Call-ID (§10.2.2)', async () => {
    await setUp();
    const reg = user.registration({ registrar: `sip:127.0.0.1:${port}` });
    await reg.register();
    await reg.unregister();
    const [first, last] = [registrar.received[0]!.req, registrar.received.at(-1)!.req];
    assert.equal(last.headers.get('Expires'), '0');
    assert.equal(last.callId, first.callId);
    assert.equal(reg.state, 'Unregistered');
  });
});
