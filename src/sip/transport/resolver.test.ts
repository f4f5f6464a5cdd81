import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import { parseUri } from '../message/index.ts';
import { SipResolver, orderSrv } from './resolver.ts';
import { TransportSet } from './transport-set.ts';
import type { DnsLookup } from './types.ts';

// ---- a tiny authoritative DNS responder on 127.0.0.1 (RFC 1035 §4, just what the tests need) --

const TYPE = { A: 1, AAAA: 28, SRV: 33, NAPTR: 35 } as const;
type Rr = { type: number; rdata: Buffer };

function name(n: string): Buffer {
  const parts = n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}
function u16(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 2);
  v.forEach((x, i) => b.writeUInt16BE(x, i * 2));
  return b;
}
function str(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
}
const rr = {
  a: (ip: string): Rr => ({ type: TYPE.A, rdata: Buffer.from(ip.split('.').map(Number)) }),
  aaaa: (hex16: string): Rr => ({ type: TYPE.AAAA, rdata: Buffer.from(hex16, 'hex') }),
  srv: (priority: number, weight: number, port: number, target: string): Rr => ({
    type: TYPE.SRV,
    rdata: Buffer.concat([u16(priority, weight, port), name(target)]),
  }),
  naptr: (order: number, pref: number, service: string, replacement: string): Rr => ({
    type: TYPE.NAPTR,
    rdata: Buffer.concat([u16(order, pref), str('s'), str(service), str(''), name(replacement)]),
  }),
};

async function dnsServer(zone: Record<string, Rr[]>): Promise<{ port: number; queries: string[]; close: () => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (q, rinfo) => {
    // Question: labels from offset 12, then QTYPE and QCLASS.
    let i = 12;
    const labels: string[] = [];
    while (q[i] !== 0) {
      labels.push(q.toString('latin1', i + 1, i + 1 + q[i]));
      i += q[i] + 1;
    }
    const qtype = q.readUInt16BE(i + 1);
    const questionEnd = i + 5;
    const qname = labels.join('.').toLowerCase();
    queries.push(`${qname}/${Object.entries(TYPE).find(([, v]) => v === qtype)?.[0] ?? qtype}`);
    const known = zone[qname];
    const answers = (known ?? []).filter((r) => r.type === qtype);
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8400 | (q.readUInt16BE(2) & 0x0100) | (known ? 0 : 3), 2); // QR AA RD, NXDOMAIN if unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const body = answers.map((r) =>
      Buffer.concat([u16(0xc00c, r.type, 1), Buffer.from([0, 0, 0, 60]), u16(r.rdata.length), r.rdata]),
    );
    socket.send(Buffer.concat([header, q.subarray(12, questionEnd), ...body]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { port: socket.address().port, queries, close: () => new Promise((r) => socket.close(() => r())) };
}

// ---- tests --------------------------------------------------------------------------------------

/** Fails the test if any lookup happens. */
const noDns: DnsLookup = {
  resolveNaptr: () => assert.fail('NAPTR lookup'),
  resolveSrv: () => assert.fail('SRV lookup'),
  resolve4: () => assert.fail('A lookup'),
  resolve6: () => assert.fail('AAAA lookup'),
};

describe('SipResolver (RFC 3263 §4)', () => {
  describe('IP literals need no DNS', () => {
    const r = new SipResolver(noDns, () => true);
    const cases: Array<[string, object]> = [
      ['sip:bob@192.0.2.10', { protocol: 'udp', host: '192.0.2.10', port: 5060 }],
      ['sip:bob@192.0.2.10:5070', { protocol: 'udp', host: '192.0.2.10', port: 5070 }],
      ['sip:bob@192.0.2.10;transport=tcp', { protocol: 'tcp', host: '192.0.2.10', port: 5060 }],
      ['sip:bob@192.0.2.10;transport=TLS', { protocol: 'tls', host: '192.0.2.10', port: 5061 }],
      ['sips:bob@192.0.2.10', { protocol: 'tls', host: '192.0.2.10', port: 5061 }],
      ['sips:bob@192.0.2.10;transport=tcp', { protocol: 'tls', host: '192.0.2.10', port: 5061 }],
      ['sip:bob@[2001:db8::1]:5080;transport=tcp', { protocol: 'tcp', host: '2001:db8::1', port: 5080 }],
      ['sip:bob@example.com;maddr=192.0.2.99', { protocol: 'udp', host: '192.0.2.99', port: 5060 }],
      ['sip:192.0.2.10;transport=ws', { protocol: 'ws', host: '192.0.2.10', port: 80 }],
    ];
    for (const [uri, want] of cases) {
      it(`${uri} → ${JSON.stringify(want)}`, async () => {
        assert.deepEqual(await r.resolve(parseUri(uri)), [want]);
      });
    }
    it('refuses a transport we do not implement', async () => {
      await assert.rejects(r.resolve(parseUri('sip:bob@192.0.2.10;transport=sctp')), { code: 'SIP_ERR_TRANSPORT_RESOLVE' });
    });
  });

  describe('names, against a local DNS server', () => {
    let dns: Awaited<ReturnType<typeof dnsServer>>;
    let lookup: Resolver;
    before(async () => {
      dns = await dnsServer({
        'example.test': [
          rr.naptr(20, 10, 'SIP+D2U', '_sip._udp.example.test'),
          rr.naptr(10, 10, 'SIP+D2T', '_sip._tcp.example.test'),
          rr.naptr(30, 10, 'SIPS+D2T', '_sips._tcp.example.test'),
        ],
        '_sip._tcp.example.test': [rr.srv(20, 0, 5090, 'backup.example.test'), rr.srv(10, 0, 5070, 'sip1.example.test')],
        '_sip._udp.example.test': [rr.srv(10, 0, 5060, 'sip1.example.test')],
        '_sips._tcp.example.test': [rr.srv(10, 0, 5071, 'sip1.example.test')],
        'sip1.example.test': [rr.a('192.0.2.31'), rr.aaaa('20010db8000000000000000000000031')],
        'backup.example.test': [rr.a('192.0.2.32')],
        'nonaptr.test': [rr.a('192.0.2.40')],
        '_sip._tcp.nonaptr.test': [rr.srv(0, 0, 5072, 'sip1.example.test')],
        'plain.test': [rr.a('192.0.2.50')],
        'udpfirst.test': [rr.naptr(10, 10, 'SIP+D2U', '_sip._udp.udpfirst.test'), rr.naptr(20, 10, 'SIP+D2T', '_sip._tcp.udpfirst.test')],
        '_sip._udp.udpfirst.test': [rr.srv(10, 0, 5060, 'backup.example.test')],
        '_sip._tcp.udpfirst.test': [rr.srv(10, 0, 5060, 'backup.example.test')],
      });
      lookup = new Resolver({ timeout: 500, tries: 1 });
      lookup.setServers([`127.0.0.1:${dns.port}`]);
    });
    after(() => dns.close());

    it('follows NAPTR (by order) → SRV (by priority) → A/AAAA', async () => {
      const r = new SipResolver(lookup, () => true);
      assert.deepEqual(await r.resolve(parseUri('sip:bob@example.test')), [
        { protocol: 'tcp', host: '192.0.2.31', port: 5070 },
        { protocol: 'tcp', host: '2001:db8::31', port: 5070 },
        { protocol: 'tcp', host: '192.0.2.32', port: 5090 },
      ]);
    });

    it('skips NAPTR services for transports it cannot use', async () => {
      const r = new SipResolver(lookup, (p) => p === 'udp');
      const targets = await r.resolve(parseUri('sip:bob@example.test'));
      assert.deepEqual(targets[0], { protocol: 'udp', host: '192.0.2.31', port: 5060 });
    });

    it('keeps only SIPS services for a sips URI and names the domain for certificate checks (RFC 5922 §4)', async () => {
      const r = new SipResolver(lookup, () => true);
      const targets = await r.resolve(parseUri('sips:bob@example.test'));
      assert.deepEqual(targets[0], { protocol: 'tls', host: '192.0.2.31', port: 5071, serverName: 'example.test' });
    });

    it('with a port, asks for A/AAAA only', async () => {
      const r = new SipResolver(lookup, () => true);
      const from = dns.queries.length;
      const targets = await r.resolve(parseUri('sip:bob@sip1.example.test:5099'));
      assert.deepEqual(targets, [
        { protocol: 'udp', host: '192.0.2.31', port: 5099 },
        { protocol: 'udp', host: '2001:db8::31', port: 5099 },
      ]);
      assert.deepEqual(dns.queries.slice(from).sort(), ['sip1.example.test/A', 'sip1.example.test/AAAA']);
    });

    it('with a transport parameter, goes straight to SRV for it', async () => {
      const r = new SipResolver(lookup, () => true);
      const from = dns.queries.length;
      const targets = await r.resolve(parseUri('sip:bob@example.test;transport=udp'));
      assert.deepEqual(targets[0], { protocol: 'udp', host: '192.0.2.31', port: 5060 });
      assert.ok(!dns.queries.slice(from).some((q) => q.endsWith('/NAPTR')));
    });

    it('without NAPTR, tries SRV per transport (§4.1), then A with UDP on 5060 (§4.2)', async () => {
      const r = new SipResolver(lookup, () => true);
      assert.deepEqual(await r.resolve(parseUri('sip:nonaptr.test')), [
        { protocol: 'tcp', host: '192.0.2.31', port: 5072 },
        { protocol: 'tcp', host: '2001:db8::31', port: 5072 },
      ]);
      assert.deepEqual(await r.resolve(parseUri('sip:plain.test')), [{ protocol: 'udp', host: '192.0.2.50', port: 5060 }]);
    });

    it('rejects an unknown name with SIP_ERR_TRANSPORT_RESOLVE', async () => {
      const r = new SipResolver(lookup, () => true);
      await assert.rejects(r.resolve(parseUri('sip:nowhere.test')), { code: 'SIP_ERR_TRANSPORT_RESOLVE' });
    });

    it('is what TransportSet.resolve uses, offering UDP only when a UDP listener exists', async () => {
      const tcpOnly = new TransportSet({ listen: [], dns: lookup });
      const withUdp = new TransportSet({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], dns: lookup });
      await withUdp.start();
      try {
        assert.deepEqual(await tcpOnly.resolve(parseUri('sip:bob@udpfirst.test')), [{ protocol: 'tcp', host: '192.0.2.32', port: 5060 }]);
        assert.deepEqual(await withUdp.resolve(parseUri('sip:bob@udpfirst.test')), [{ protocol: 'udp', host: '192.0.2.32', port: 5060 }]);
      } finally {
        await Promise.all([tcpOnly.close(), withUdp.close()]);
      }
    });
  });
});

describe('orderSrv (RFC 2782)', () => {
  it('orders by priority, then by weighted random choice', () => {
    const recs = [
      { priority: 20, weight: 0, name: 'c' },
      { priority: 10, weight: 1, name: 'a' },
      { priority: 10, weight: 99, name: 'b' },
    ];
    // random() = 0 picks the first (lowest-weight) record, 0.99 the heavy one.
    assert.deepEqual(orderSrv([...recs], () => 0).map((r) => r.name), ['a', 'b', 'c']);
    assert.deepEqual(orderSrv([...recs], () => 0.99).map((r) => r.name), ['b', 'a', 'c']);
  });
});
