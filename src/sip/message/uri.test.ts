import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, formatUri, parseUri, uriEquals } from './index.ts';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SipParseError);
    return err.code;
  }
  return 'no error';
};

describe('SIP URI (RFC 3261 §19.1)', () => {
  it('parses every component', () => {
    const u = parseUri('sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr;maddr=239.255.255.1?Subject=hi%20there&Priority=urgent');
    assert.equal(u.scheme, 'sips');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secret');
    assert.equal(u.host, '[2001:db8::10]');
    assert.equal(u.port, 5061);
    assert.deepEqual([...u.params], [['transport', 'tcp'], ['lr', null], ['maddr', '239.255.255.1']]);
    assert.deepEqual([...u.headers], [['Subject', 'hi%20there'], ['Priority', 'urgent']]);
  });

  it('keeps escapes as written and formats back to the same text', () => {
    for (const text of ['sip:%75ser@example.com', 'sip:alice@atlanta.com;transport=TCP', 'sip:+1-212-555-1212:1234@gateway.com;user=phone',
      'sip:[::1]:5070', 'sip:host', 'sips:bob@biloxi.example.com', 'sip:user;par=u%40example.net@example.com']) {
      assert.equal(formatUri(parseUri(text)), text.replace(/^SIP:/, 'sip:'));
    }
  });

  it('keeps non-SIP schemes opaque', () => {
    const tel = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    assert.equal(tel.scheme, 'tel');
    assert.equal(tel.host, '');
    assert.equal(tel.opaque, '+1-201-555-0123;phone-context=example.com');
    assert.equal(formatUri(tel), 'tel:+1-201-555-0123;phone-context=example.com');
    assert.equal(parseUri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6').opaque, 'uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
  });

  it('rejects malformed URIs with SIP_ERR_BAD_URI', () => {
    for (const bad of ['', 'alice@example.com', 'sip:', 'sip:alice@', 'sip:@example.com', 'sip:al ice@example.com',
      'sip:alice@example.com:70000', 'sip:alice@example.com:', 'sip:a%zzb@example.com', 'sip:[::1', 'sip:[zz]:5060',
      'sip:alice@exa<mple.com', 'sip:host;=x', 'sip:host?noequals', 'sip:host;a=', 'tel:', 'mailto:a b', 'sip:-host']) {
      assert.equal(code(() => parseUri(bad)), 'SIP_ERR_BAD_URI', bad);
    }
  });
});

describe('URI comparison (RFC 3261 §19.1.4)', () => {
  const equal = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
  ];
  const different = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
    ['sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'],
    ['sip:alice@atlanta.com', 'sips:alice@atlanta.com'],
  ];
  for (const [a, b] of equal) {
    it(`${a} equals ${b}`, () => {
      assert.ok(uriEquals(parseUri(a), parseUri(b)));
      assert.ok(uriEquals(parseUri(b), parseUri(a)));
    });
  }
  for (const [a, b] of different) {
    it(`${a} differs from ${b}`, () => {
      assert.ok(!uriEquals(parseUri(a), parseUri(b)));
      assert.ok(!uriEquals(parseUri(b), parseUri(a)));
    });
  }
});
