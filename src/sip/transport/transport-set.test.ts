import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createResponse, isRequest, type SipMessage, type SipRequest } from '../message/index.ts';
import { TransportError } from './errors.ts';
import {
  activeResources,
  delay,
  makeSelfSignedCert,
  optionsRequest,
  waitFor,
  type TestCert,
} from './test-support.ts';
import { TransportSet } from './transport-set.ts';
import type { Flow, ListenSpec, TransportProtocol } from './types.ts';

let cert: TestCert;
before(() => {
  cert = makeSelfSignedCert();
});

function allListeners(): ListenSpec[] {
  return (['udp', 'tcp', 'tls', 'ws', 'wss'] as const).map((protocol) => ({
    protocol,
    host: '127.0.0.1',
    port: 0,
    tls: protocol === 'tls' || protocol === 'wss' ? cert : undefined,
  }));
}

function makeSet(extra: Partial<ConstructorParameters<typeof TransportSet>[0]> = {}): TransportSet {
  return new TransportSet({ listen: allListeners(), tlsClient: { ca: cert.cert }, ...extra });
}

/** Collects what a set hands up. */
function inbox(set: TransportSet): Array<{ msg: SipMessage; flow: Flow }> {
  const got: Array<{ msg: SipMessage; flow: Flow }> = [];
  set.onMessage = (msg, flow) => got.push({ msg, flow });
  return got;
}

describe('TransportSet', () => {
  let a: TransportSet;
  let b: TransportSet;
  let aIn: ReturnType<typeof inbox>;
  let bIn: ReturnType<typeof inbox>;

  before(async () => {
    a = makeSet();
    b = makeSet();
    aIn = inbox(a);
    bIn = inbox(b);
    await Promise.all([a.start(), b.start()]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('binds ephemeral ports and reports them with local()', () => {
    for (const p of ['udp', 'tcp', 'tls', 'ws', 'wss'] as const) {
      const l = a.local(p);
      assert.ok(l, p);
      assert.equal(l.host, '127.0.0.1');
      assert.ok(l.port > 0, `${p} port`);
    }
    assert.notEqual(a.local('tcp')!.port, b.local('tcp')!.port);
  });

  for (const protocol of ['udp', 'tcp', 'tls', 'ws', 'wss'] as const) {
    it(`carries a request and its response over ${protocol}`, async () => {
      const req = optionsRequest(protocol, `127.0.0.1:${a.local(protocol)!.port}`, { rport: true, body: 'hello' });
      const before = bIn.length;
      const sent = await a.send(req, { protocol, host: '127.0.0.1', port: b.local(protocol)!.port, serverName: 'localhost' });
      assert.equal(sent.protocol, protocol);
      assert.equal(sent.remotePort, b.local(protocol)!.port);
      await waitFor(() => bIn.length > before, 2000, `request over ${protocol}`);
      const { msg, flow } = bIn[bIn.length - 1];
      assert.ok(isRequest(msg));
      assert.equal(msg.callId, req.callId);
      assert.equal(msg.body.toString(), 'hello');
      assert.equal(flow.protocol, protocol);
      assert.equal(flow.remoteAddress, '127.0.0.1');
      assert.equal(flow.remotePort, sent.localPort);
      // RFC 3581 §4: rport filled with the source port, received added although it equals sent-by.
      assert.equal(msg.topVia.params.get('rport'), String(flow.remotePort));
      assert.equal(msg.topVia.params.get('received'), '127.0.0.1');

      const res = createResponse(msg as SipRequest, 200, 'OK');
      const target = b.responseTarget(msg.topVia, flow);
      if (protocol === 'udp') {
        assert.deepEqual({ host: target.host, port: target.port }, { host: '127.0.0.1', port: flow.remotePort });
      } else {
        assert.equal(target.connectionId, flow.connectionId);
      }
      const aBefore = aIn.length;
      await b.send(res, target);
      await waitFor(() => aIn.length > aBefore, 2000, `response over ${protocol}`);
      const back = aIn[aIn.length - 1].msg;
      assert.ok(!isRequest(back));
      assert.equal(back.status, 200);
      assert.equal(back.callId, req.callId);
    });
  }

  for (const protocol of ['tcp', 'tls', 'ws', 'wss'] as const) {
    it(`reuses one ${protocol} connection both ways`, async () => {
      const spec = allListeners().filter((l) => l.protocol === protocol);
      const c = new TransportSet({ listen: spec, tlsClient: { ca: cert.cert } });
      const d = new TransportSet({ listen: spec });
      const cIn = inbox(c);
      const dIn = inbox(d);
      await Promise.all([c.start(), d.start()]);
      try {
        const cVia = `127.0.0.1:${c.local(protocol)!.port}`;
        const dPort = d.local(protocol)!.port;
        const target = { protocol, host: '127.0.0.1', port: dPort, serverName: 'localhost' } as const;
        // Three requests, two of them at once: one connection is opened and shared.
        const [f1, f2] = await Promise.all([
          c.send(optionsRequest(protocol, cVia), target),
          c.send(optionsRequest(protocol, cVia), target),
        ]);
        const f3 = await c.send(optionsRequest(protocol, cVia), target);
        assert.equal(f1.connectionId, f2.connectionId);
        assert.equal(f1.connectionId, f3.connectionId);
        await waitFor(() => dIn.length === 3, 2000, 'three requests');
        const inbound = dIn[0].flow;
        assert.ok(dIn.every((m) => m.flow.connectionId === inbound.connectionId));
        // D sends a new request to C's source address: the connection C opened carries it.
        await d.send(optionsRequest(protocol, `127.0.0.1:${dPort}`), {
          protocol,
          host: inbound.remoteAddress,
          port: inbound.remotePort,
        });
        await waitFor(() => cIn.length === 1, 2000, 'request back to C');
        assert.equal(cIn[0].flow.connectionId, f1.connectionId);
        assert.equal(d.stats().accepted[protocol], 1, 'D accepted exactly one connection');
        assert.equal(c.stats().opened[protocol], 1, 'C opened exactly one connection');
        assert.equal(c.stats().accepted[protocol], 0, 'C accepted none: D reused the connection');
        assert.equal(d.stats().opened[protocol], 0, 'D opened none');
      } finally {
        await Promise.all([c.close(), d.close()]);
      }
    });
  }

  it('sends a request over 1300 bytes meant for UDP over TCP instead, and rewrites its Via (RFC 3261 §18.1.1)', async () => {
    const req = optionsRequest('udp', `127.0.0.1:${a.local('udp')!.port}`, { body: 'x'.repeat(1400) });
    const before = bIn.length;
    const flow = await a.send(req, { protocol: 'udp', host: '127.0.0.1', port: b.local('tcp')!.port });
    assert.equal(flow.protocol, 'tcp');
    await waitFor(() => bIn.length > before);
    const got = bIn[bIn.length - 1];
    assert.equal(got.flow.protocol, 'tcp');
    assert.equal(got.msg.topVia.protocol, 'TCP');
    assert.equal(got.msg.topVia.port, a.local('tcp')!.port);
    assert.equal(req.topVia.protocol, 'TCP', 'the caller’s request says TCP too, for retransmissions and CANCEL');
  });

  it('sends a large request over UDP anyway when there is no TCP transport', async () => {
    const udpOnly = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    await udpOnly.start();
    try {
      const req = optionsRequest('udp', `127.0.0.1:${udpOnly.local('udp')!.port}`, { body: 'x'.repeat(1400) });
      const before = bIn.length;
      const flow = await udpOnly.send(req, { protocol: 'udp', host: '127.0.0.1', port: b.local('udp')!.port });
      assert.equal(flow.protocol, 'udp');
      await waitFor(() => bIn.length > before);
      assert.equal(bIn[bIn.length - 1].msg.body.length, 1400);
    } finally {
      await udpOnly.close();
    }
  });

  it('retries a large request over UDP when the peer refuses TCP, and keeps its Via saying UDP (RFC 3261 §18.1.1)', async () => {
    // A UDP-only peer: nothing listens on TCP at its port.
    const udpPeer = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    const got: SipMessage[] = [];
    udpPeer.onMessage = (msg) => got.push(msg);
    // The sender notes each TCP attempt in its debug log.
    const attempts: string[] = [];
    const log = { debug: (_o: object, m?: string) => void (m && attempts.push(m)), info() {}, warn() {}, error() {}, child: () => log };
    const sender = new TransportSet({
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      logger: log,
    });
    await Promise.all([udpPeer.start(), sender.start()]);
    try {
      const target = { protocol: 'udp' as const, host: '127.0.0.1', port: udpPeer.local('udp')!.port };
      const via = `127.0.0.1:${sender.local('udp')!.port}`;
      const req = optionsRequest('udp', via, { body: 'x'.repeat(1400) });
      const flow = await sender.send(req, target);
      assert.equal(flow.protocol, 'udp');
      await waitFor(() => got.length === 1);
      assert.equal(got[0]!.topVia.protocol, 'UDP');
      assert.equal(got[0]!.body.length, 1400);
      assert.equal(req.topVia.protocol, 'UDP', 'the caller’s request says UDP again');
      assert.equal(attempts.filter((m) => m.includes('UDP → TCP')).length, 1);
      // The next large request to that peer goes straight over UDP: no second TCP attempt.
      await sender.send(optionsRequest('udp', via, { body: 'y'.repeat(1400) }), target);
      await waitFor(() => got.length === 2);
      assert.equal(attempts.filter((m) => m.includes('UDP → TCP')).length, 1);
    } finally {
      await Promise.all([udpPeer.close(), sender.close()]);
    }
  });

  it('drops a response whose top Via is not one of our sent-by values (RFC 3261 §18.1.2)', async () => {
    const req = optionsRequest('udp', `127.0.0.1:${a.local('udp')!.port}`);
    const res = createResponse(req, 200, 'OK');
    res.headers.replaceFirst('Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKother');
    const ok = createResponse(req, 180, 'Ringing');
    const before = aIn.length;
    await b.send(res, { protocol: 'udp', host: '127.0.0.1', port: a.local('udp')!.port });
    await b.send(ok, { protocol: 'udp', host: '127.0.0.1', port: a.local('udp')!.port });
    await waitFor(() => aIn.length > before);
    await delay(20);
    assert.equal(aIn.length, before + 1);
    assert.equal((aIn[aIn.length - 1].msg as { status: number }).status, 180);
  });

  it('rejects messages above maxMessageSize with SIP_ERR_TRANSPORT_TOO_LARGE', async () => {
    const small = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], maxMessageSize: 500 });
    await small.start();
    try {
      const req = optionsRequest('udp', `127.0.0.1:${small.local('udp')!.port}`, { body: 'x'.repeat(600) });
      await assert.rejects(small.send(req, { protocol: 'udp', host: '127.0.0.1', port: b.local('udp')!.port }), {
        code: 'SIP_ERR_TRANSPORT_TOO_LARGE',
      });
    } finally {
      await small.close();
    }
  });
});

describe('TransportSet errors', () => {
  it('fails a connect to a closed port with SIP_ERR_TRANSPORT_CONNECT', async () => {
    const probe = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    await probe.start();
    const port = probe.local('tcp')!.port;
    await probe.close();
    const set = new TransportSet({ listen: [] });
    await set.start();
    try {
      const err = await set.send(optionsRequest('tcp', '127.0.0.1:5060'), { protocol: 'tcp', host: '127.0.0.1', port }).then(
        () => assert.fail('send succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TransportError);
      assert.equal(err.code, 'SIP_ERR_TRANSPORT_CONNECT');
      assert.equal(err.target?.port, port);
    } finally {
      await set.close();
    }
  });

  it('fails with SIP_ERR_TRANSPORT_TIMEOUT when a TLS peer never answers the handshake', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => {});
    const sockets: import('node:net').Socket[] = [];
    silent.on('connection', (s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    const set = new TransportSet({ listen: [], connectTimeoutMs: 100 });
    try {
      await assert.rejects(set.send(optionsRequest('tls', '127.0.0.1:5061'), { protocol: 'tls', host: '127.0.0.1', port }), {
        code: 'SIP_ERR_TRANSPORT_TIMEOUT',
      });
    } finally {
      await set.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('fails UDP without a UDP listener with SIP_ERR_TRANSPORT_NO_TRANSPORT', async () => {
    const set = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    await set.start();
    try {
      await assert.rejects(set.send(optionsRequest('udp', '127.0.0.1:5060'), { protocol: 'udp', host: '127.0.0.1', port: 9 }), {
        code: 'SIP_ERR_TRANSPORT_NO_TRANSPORT',
      });
    } finally {
      await set.close();
    }
  });

  it('rejects start() on a port in use with SIP_ERR_TRANSPORT_LISTEN and leaves nothing bound', async () => {
    const first = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    await first.start();
    const second = new TransportSet({
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'tcp', host: '127.0.0.1', port: first.local('tcp')!.port },
      ],
    });
    try {
      await assert.rejects(second.start(), { code: 'SIP_ERR_TRANSPORT_LISTEN' });
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('responseTarget (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  const set = new TransportSet({ listen: [] });
  const udpFlow: Flow = {
    protocol: 'udp',
    localAddress: '10.0.0.1',
    localPort: 5060,
    remoteAddress: '203.0.113.7',
    remotePort: 40000,
    connectionId: 'udp-1',
  };
  /** A Via as the transaction layer would pass it: the parsed top Via of a request. */
  function via(text: string) {
    const req = optionsRequest('udp', 'h');
    req.headers.replaceFirst('Via', text);
    return req.topVia;
  }

  it('UDP with rport: source address and port, from the same socket', () => {
    const t = set.responseTarget(via('SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1;received=203.0.113.7;rport=40000'), udpFlow);
    assert.deepEqual(t, { protocol: 'udp', host: '203.0.113.7', port: 40000, connectionId: 'udp-1' });
  });

  it('UDP without rport: received address, sent-by port', () => {
    const t = set.responseTarget(via('SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1;received=203.0.113.7'), udpFlow);
    assert.deepEqual(t, { protocol: 'udp', host: '203.0.113.7', port: 5070, connectionId: 'udp-1' });
  });

  it('UDP without received: sent-by, port 5060 by default', () => {
    const t = set.responseTarget(via('SIP/2.0/UDP 203.0.113.9;branch=z9hG4bK1'), udpFlow);
    assert.deepEqual(t, { protocol: 'udp', host: '203.0.113.9', port: 5060, connectionId: 'udp-1' });
  });

  it('UDP with maddr: the maddr address, sent-by port', () => {
    const t = set.responseTarget(
      via('SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1;maddr=239.255.255.1;received=203.0.113.7;rport=40000'),
      udpFlow,
    );
    assert.deepEqual(t, { protocol: 'udp', host: '239.255.255.1', port: 5070, connectionId: 'udp-1' });
  });

  it('reliable transport whose connection is gone: received address, sent-by port (5061 for TLS)', () => {
    const flow: Flow = { ...udpFlow, protocol: 'tls', connectionId: 'tls-99' };
    const t = set.responseTarget(via('SIP/2.0/TLS client.example.com;branch=z9hG4bK1;received=203.0.113.7'), flow);
    assert.deepEqual(t, { protocol: 'tls', host: '203.0.113.7', port: 5061 });
  });
});

describe('close()', () => {
  it('is idempotent, closes every socket and timer, and refuses to send afterwards', async () => {
    const cert2 = cert;
    await delay(20);
    const baseline = activeResources();
    const a = new TransportSet({
      listen: allListeners(),
      tlsClient: { ca: cert2.cert },
      keepAliveIntervalMs: 50,
      idleTimeoutMs: 10_000,
    });
    const b = new TransportSet({ listen: allListeners(), keepAliveIntervalMs: 50, idleTimeoutMs: 10_000 });
    await Promise.all([a.start(), b.start()]);
    for (const protocol of ['udp', 'tcp', 'tls', 'ws', 'wss'] as TransportProtocol[]) {
      await a.send(optionsRequest(protocol, `127.0.0.1:${a.local(protocol)!.port}`), {
        protocol,
        host: '127.0.0.1',
        port: b.local(protocol)!.port,
        serverName: 'localhost',
      });
    }
    await waitFor(() => b.stats().open.length === 4, 2000, 'four inbound connections');
    assert.equal(a.stats().open.length, 4);
    await Promise.all([a.close(), a.close(), b.close()]);
    await a.close();
    assert.equal(a.stats().open.length, 0);
    assert.equal(b.stats().open.length, 0);
    await assert.rejects(
      a.send(optionsRequest('udp', '127.0.0.1:5060'), { protocol: 'udp', host: '127.0.0.1', port: 9 }),
      { code: 'SIP_ERR_TRANSPORT_CLOSED' },
    );
    await assert.rejects(a.start(), { code: 'SIP_ERR_TRANSPORT_CLOSED' });
    await waitFor(
      () => {
        const now = activeResources();
        return ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'Timeout', 'TLSWrap'].every(
          (k) => (now[k] ?? 0) <= (baseline[k] ?? 0),
        );
      },
      2000,
      'sockets and timers to be released',
    );
  });
});

describe('several listeners, IPv6, WebSocket paths, TLS trust', () => {
  it('answers from the UDP socket the request came in on (RFC 3581 §4)', async () => {
    const x = new TransportSet({
      listen: [
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
        { protocol: 'udp', host: '127.0.0.1', port: 0 },
      ],
    });
    const y = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    const xIn = inbox(x);
    const yIn = inbox(y);
    await Promise.all([x.start(), y.start()]);
    try {
      const second = secondUdpPort(x);
      await y.send(optionsRequest('udp', `127.0.0.1:${y.local('udp')!.port}`, { rport: true }), {
        protocol: 'udp',
        host: '127.0.0.1',
        port: second,
      });
      await waitFor(() => xIn.length === 1);
      const { msg, flow } = xIn[0];
      assert.equal(flow.localPort, second);
      await x.send(createResponse(msg as SipRequest, 200, 'OK'), x.responseTarget(msg.topVia, flow));
      await waitFor(() => yIn.length === 1);
      assert.equal(yIn[0].flow.remotePort, second, 'the response left from the second socket');
      assert.notEqual(second, x.local('udp')!.port);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('carries TCP over IPv6 loopback, with sent-by and received compared in normal form', async () => {
    const x = new TransportSet({ listen: [{ protocol: 'tcp', host: '::1', port: 0 }] });
    const y = new TransportSet({ listen: [{ protocol: 'tcp', host: '[::1]', port: 0 }] });
    const xIn = inbox(x);
    const yIn = inbox(y);
    await Promise.all([x.start(), y.start()]);
    try {
      assert.equal(x.local('tcp')!.host, '::1');
      await y.send(optionsRequest('tcp', `[::1]:${y.local('tcp')!.port}`, { rport: true }), {
        protocol: 'tcp',
        host: '[::1]',
        port: x.local('tcp')!.port,
      });
      await waitFor(() => xIn.length === 1);
      const { msg, flow } = xIn[0];
      assert.equal(flow.remoteAddress, '::1');
      assert.equal(msg.topVia.params.get('received'), '::1');
      assert.equal(msg.topVia.params.get('rport'), String(flow.remotePort));
      await x.send(createResponse(msg as SipRequest, 200, 'OK'), x.responseTarget(msg.topVia, flow));
      await waitFor(() => yIn.length === 1);
      assert.equal((yIn[0].msg as { status: number }).status, 200);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('accepts WebSocket upgrades only on wsPath', async () => {
    const { default: WebSocket } = await import('ws');
    const x = new TransportSet({ listen: [{ protocol: 'ws', host: '127.0.0.1', port: 0, wsPath: '/sip' }] });
    await x.start();
    const port = x.local('ws')!.port;
    const attempt = (path: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['sip']);
        ws.once('open', () => {
          ws.terminate();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          ws.terminate();
          resolve(res.statusCode ?? 0);
        });
        ws.once('error', () => resolve(-1));
      });
    try {
      assert.equal(await attempt('/other'), 404);
      assert.equal(await attempt('/sip'), 101);
    } finally {
      await x.close();
    }
  });

  it('refuses a TLS peer whose certificate it does not trust with SIP_ERR_TRANSPORT_CONNECT', async () => {
    const x = new TransportSet({ listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0, tls: cert }] });
    const y = new TransportSet({ listen: [] }); // system CAs only
    await x.start();
    try {
      await assert.rejects(
        y.send(optionsRequest('tls', 'client.invalid'), { protocol: 'tls', host: '127.0.0.1', port: x.local('tls')!.port, serverName: 'localhost' }),
        { code: 'SIP_ERR_TRANSPORT_CONNECT' },
      );
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });
});

/** The port of a set's second UDP listener (local() reports the first). */
function secondUdpPort(set: TransportSet): number {
  const ports = set.listening().filter((a) => a.protocol === 'udp').map((a) => a.port);
  assert.equal(ports.length, 2);
  return ports[1];
}
