import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, formatNameAddr, formatUri, parseNameAddr } from './index.ts';

describe('name-addr and addr-spec (RFC 3261 §20.10)', () => {
  it('reads a quoted display name with quoted-pairs', () => {
    const na = parseNameAddr('"Alice \\"A\\" \\\\ Smith" <sip:alice@atlanta.com>;tag=88sja8x');
    assert.equal(na.displayName, 'Alice "A" \\ Smith');
    assert.equal(na.params.get('tag'), '88sja8x');
  });

  it('reads a token display name and keeps its inner spacing', () => {
    const na = parseNameAddr('Bob  Smith<sip:bob@biloxi.com>');
    assert.equal(na.displayName, 'Bob  Smith');
    assert.equal(na.uri.user, 'bob');
  });

  it('gives parameters after an unbracketed URI to the header', () => {
    const na = parseNameAddr('sip:+12125551212@server.phone2net.com;tag=887s;user=phone');
    assert.equal(na.uri.params.size, 0);
    assert.deepEqual([...na.params], [['tag', '887s'], ['user', 'phone']]);
  });

  it('gives parameters inside <> to the URI', () => {
    const na = parseNameAddr('<sip:proxy.example.com;lr> ; expires = 60 ; +sip.instance="<urn:uuid:1234>"');
    assert.equal(na.uri.params.get('lr'), null);
    assert.equal(na.params.get('expires'), '60');
    assert.equal(na.params.get('+sip.instance'), '"<urn:uuid:1234>"');
  });

  it('formats with angle brackets and an escaped quoted display name', () => {
    const na = parseNameAddr('Bob <sip:bob@biloxi.com;transport=tcp>;tag=a6c85cf');
    assert.equal(formatNameAddr(na), '"Bob" <sip:bob@biloxi.com;transport=tcp>;tag=a6c85cf');
    assert.equal(formatNameAddr({ displayName: 'say "hi"', uri: na.uri, params: new Map() }), '"say \\"hi\\"" <sip:bob@biloxi.com;transport=tcp>');
    assert.equal(formatUri(parseNameAddr(formatNameAddr(na)).uri), 'sip:bob@biloxi.com;transport=tcp');
  });

  it('rejects malformed addresses', () => {
    for (const [bad, code] of [
      ['"unterminated <sip:a@b>', 'SIP_ERR_BAD_NAME_ADDR'],
      ['"name" sip:a@b', 'SIP_ERR_BAD_NAME_ADDR'],
      ['<sip:a@b', 'SIP_ERR_BAD_NAME_ADDR'],
      ['Bell, Alexander <sip:a@b>', 'SIP_ERR_BAD_NAME_ADDR'],
      ['sip:a@b?subject=x', 'SIP_ERR_BAD_NAME_ADDR'],
      ['<sip:a@b>;tag', 'no error'],
      ['<sip:a@b>;=x', 'SIP_ERR_BAD_NAME_ADDR'],
      ['<sip:a@b> junk', 'SIP_ERR_BAD_NAME_ADDR'],
      ['< sip:a@b >', 'SIP_ERR_BAD_URI'],
      ['', 'SIP_ERR_BAD_NAME_ADDR'],
    ]) {
      let got = 'no error';
      try {
        parseNameAddr(bad);
      } catch (err) {
        assert.ok(err instanceof SipParseError);
        got = err.code;
      }
      assert.equal(got, code, bad);
    }
  });
});
