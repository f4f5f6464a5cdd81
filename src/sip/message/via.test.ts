import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, formatVia, parseVia } from './index.ts';

describe('Via (RFC 3261 §20.42)', () => {
  it('parses sent-protocol, sent-by and parameters', () => {
    const v = parseVia('SIP/2.0/udp pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport;received=192.0.2.1');
    assert.equal(v.protocol, 'UDP');
    assert.equal(v.host, 'pc33.atlanta.com');
    assert.equal(v.port, 5066);
    assert.equal(v.branch, 'z9hG4bK776asdhds');
    assert.equal(v.params.get('rport'), null);
    assert.equal(v.params.get('received'), '192.0.2.1');
  });

  it('allows LWS around "/", ":" and ";" (RFC 3261 §25.1 SLASH, COLON, SEMI)', () => {
    const v = parseVia('SIP  /   2.0 / TCP     spindle.example.com : 5070  ;\t branch  =   z9hG4bK9ikj8');
    assert.equal(v.protocol, 'TCP');
    assert.equal(v.port, 5070);
    assert.equal(v.branch, 'z9hG4bK9ikj8');
  });

  it('keeps IPv6 sent-by in brackets and IPv6 received without', () => {
    const v = parseVia('SIP/2.0/WSS [2001:db8::1]:443;branch=z9hG4bKx;received=2001:db8::2;rport=5062');
    assert.equal(v.protocol, 'WSS');
    assert.equal(v.host, '[2001:db8::1]');
    assert.equal(v.port, 443);
    assert.equal(v.params.get('received'), '2001:db8::2');
    assert.equal(formatVia(v), 'SIP/2.0/WSS [2001:db8::1]:443;branch=z9hG4bKx;received=2001:db8::2;rport=5062');
  });

  it('formats a built Via with its branch', () => {
    assert.equal(formatVia({ protocol: 'TCP', host: '127.0.0.1', port: 5060, params: new Map([['rport', null]]), branch: 'z9hG4bK1' }),
      'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1;rport');
  });

  it('rejects malformed values with SIP_ERR_BAD_VIA', () => {
    for (const bad of ['SIP/2.0/UDP', 'SIP/2.0 UDP host', 'SIP/3.0/UDP host', 'HTTP/2.0/UDP host', 'SIP/2.0/UDPhost',
      'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP host;;', 'SIP/2.0/UDP host;branch', 'SIP/2.0/UDP [::1', 'SIP/2.0/UDP host junk']) {
      assert.throws(() => parseVia(bad), (err: unknown) => err instanceof SipParseError && err.code === 'SIP_ERR_BAD_VIA', bad);
    }
  });
});
