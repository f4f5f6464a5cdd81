import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage, type SipRequest } from '../message/index.ts';
import { buildMinimalResponse, salvageRequest, stampVia } from './inbound.ts';
import type { Flow } from './types.ts';

const flow: Flow = {
  protocol: 'udp',
  localAddress: '10.0.0.1',
  localPort: 5060,
  remoteAddress: '203.0.113.7',
  remotePort: 40001,
  connectionId: 'udp-1',
};

function req(via: string, extraVia = ''): SipRequest {
  const text =
    'OPTIONS sip:bob@example.com SIP/2.0\r\n' +
    `Via: ${via}${extraVia ? `, ${extraVia}` : ''}\r\n` +
    'From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n' +
    'Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
  return parseMessage(Buffer.from(text)) as SipRequest;
}

describe('stampVia (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('adds received when sent-by is a name', () => {
    const r = req('SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1');
    assert.equal(stampVia(r, flow), true);
    assert.equal(r.headers.get('Via'), 'SIP/2.0/UDP client.example.com:5070;branch=z9hG4bK1;received=203.0.113.7');
  });

  it('adds received when sent-by is another address (NAT)', () => {
    const r = req('SIP/2.0/UDP 192.168.1.5:5060;branch=z9hG4bK1');
    stampVia(r, flow);
    assert.equal(r.topVia.params.get('received'), '203.0.113.7');
  });

  it('leaves the Via alone when sent-by is the source address and no rport was asked', () => {
    const r = req('SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1');
    assert.equal(stampVia(r, flow), false);
    assert.equal(r.headers.get('Via'), 'SIP/2.0/UDP 203.0.113.7:5060;branch=z9hG4bK1');
  });

  it('fills a valueless rport with the source port, and adds received even if it equals sent-by', () => {
    const r = req('SIP/2.0/UDP 203.0.113.7:5060;rport;branch=z9hG4bK1');
    stampVia(r, flow);
    assert.equal(r.headers.get('Via'), 'SIP/2.0/UDP 203.0.113.7:5060;rport=40001;branch=z9hG4bK1;received=203.0.113.7');
  });

  it('does not touch an rport that already has a value, nor the Vias below the top one', () => {
    const r = req('SIP/2.0/UDP 192.168.1.5;rport=1234;branch=z9hG4bK1', 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK0');
    stampVia(r, flow);
    assert.equal(r.vias[0].params.get('rport'), '1234');
    assert.equal(r.vias.length, 2);
    assert.equal(r.vias[1].host, 'proxy.example.com');
    assert.equal(r.vias[1].params.has('received'), false);
  });

  it('compares IPv6 sent-by without brackets and in normal form', () => {
    const r = req('SIP/2.0/UDP [2001:DB8::7]:5060;branch=z9hG4bK1');
    assert.equal(stampVia(r, { ...flow, remoteAddress: '2001:db8::7' }), false);
  });
});

describe('salvageRequest / buildMinimalResponse', () => {
  it('reads the request line and the headers a response copies, compact forms included', () => {
    const head = Buffer.from(
      'INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP 192.168.1.5;branch=z9hG4bKx\r\n' +
        'f: <sip:a@example.com>;tag=9\r\nt: <sip:bob@example.com>\r\ni: abc\r\nCSeq: 7 INVITE\r\n' +
        'Content-Length: banana\r\n\r\n',
    );
    const salvaged = salvageRequest(head);
    assert.ok(salvaged);
    assert.equal(salvaged.method, 'INVITE');
    const res = buildMinimalResponse(salvaged, 400, flow).toString('latin1');
    const lines = res.split('\r\n');
    assert.equal(lines[0], 'SIP/2.0 400 Bad Request');
    assert.equal(lines[1], 'Via: SIP/2.0/UDP 192.168.1.5;branch=z9hG4bKx;received=203.0.113.7');
    assert.equal(lines[2], 'From: <sip:a@example.com>;tag=9');
    assert.match(lines[3], /^To: <sip:bob@example\.com>;tag=\S+$/);
    assert.deepEqual(lines.slice(4), ['Call-ID: abc', 'CSeq: 7 INVITE', 'Content-Length: 0', '', '']);
  });

  it('finds nothing to answer in a response, in garbage, or in a request without a Via', () => {
    assert.equal(salvageRequest(Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n')), undefined);
    assert.equal(salvageRequest(Buffer.from([0, 1, 2, 3, 0xff])), undefined);
    assert.equal(salvageRequest(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n')), undefined);
    assert.equal(salvageRequest(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: not a via\r\n\r\n')), undefined);
  });

  it('never copies a header value carrying control characters', () => {
    const salvaged = salvageRequest(
      Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: a\x00b\r\n\r\n'),
    );
    assert.ok(salvaged);
    assert.doesNotMatch(buildMinimalResponse(salvaged, 400, flow).toString('latin1'), /Call-ID/);
  });
});
