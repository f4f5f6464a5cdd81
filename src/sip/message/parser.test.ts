import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, SipRequest, SipResponse, isRequest, parseMessage } from './index.ts';

const crlf = (lines: string[]): string => lines.join('\r\n');

const SDP = crlf(['v=0', 'o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com', 's=-', 'c=IN IP4 pc33.atlanta.com',
  't=0 0', 'm=audio 49172 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', '']);

const INVITE = crlf([
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Type: application/sdp',
  `Content-Length: ${SDP.length}`,
  '',
  SDP,
]);

function expectError(text: string | Buffer, code: string, status = 400): SipParseError {
  const buf = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  try {
    parseMessage(buf);
  } catch (err) {
    assert.ok(err instanceof SipParseError, `expected SipParseError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('parseMessage: ordinary messages (RFC 3261 §7)', () => {
  it('parses an INVITE with an SDP body and exposes the eager fields', () => {
    const m = parseMessage(Buffer.from(INVITE));
    assert.ok(m instanceof SipRequest && isRequest(m));
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri.user, 'bob');
    assert.equal(m.uri.host, 'biloxi.com');
    assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.com');
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.from.displayName, 'Alice');
    assert.equal(m.fromTag, '1928301774');
    assert.equal(m.toTag, undefined);
    assert.equal(m.topVia.protocol, 'UDP');
    assert.equal(m.topVia.branch, 'z9hG4bK776asdhds');
    assert.equal(m.maxForwards, 70);
    assert.equal(m.contentType, 'application/sdp');
    assert.equal(m.body.toString(), SDP);
    assert.equal(m.contacts()[0].uri.host, 'pc33.atlanta.com');
  });

  it('parses a response with its reason phrase', () => {
    const text = crlf(['SIP/2.0 200 OK', 'Via: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx;received=2001:db8::1',
      'To: <sip:b@example.com>;tag=abc', 'From: <sip:a@example.com>;tag=def', 'Call-ID: x', 'CSeq: 2 REGISTER',
      'Contact: <sip:a@[2001:db8::1]:5070;transport=tcp>;expires=3600', 'Content-Length: 0', '', '']);
    const m = parseMessage(Buffer.from(text));
    assert.ok(m instanceof SipResponse);
    assert.equal(m.status, 200);
    assert.equal(m.reason, 'OK');
    assert.equal(m.topVia.host, '[2001:db8::9]');
    assert.equal(m.topVia.port, 5061);
    assert.equal(m.topVia.params.get('received'), '2001:db8::1');
    const [contact] = m.contacts();
    assert.equal(contact.uri.host, '[2001:db8::1]');
    assert.equal(contact.uri.port, 5070);
    assert.equal(contact.params.get('expires'), '3600');
  });

  it('round-trips: parse, serialize, parse gives the same fields', () => {
    const a = parseMessage(Buffer.from(INVITE));
    const b = parseMessage(a.toBuffer());
    assert.deepEqual([...b.headers.entries()], [...a.headers.entries()]);
    assert.deepEqual(b.body, a.body);
  });

  it('rejects SIP/3.0 with 505 (RFC 3261 §8.2.2)', () => {
    expectError(INVITE.replace('INVITE sip:bob@biloxi.com SIP/2.0', 'INVITE sip:bob@biloxi.com SIP/3.0'), 'SIP_ERR_BAD_VERSION', 505);
  });

  it('rejects a message larger than maxSize with 513 before reading it', () => {
    try {
      parseMessage(Buffer.from(INVITE), { maxSize: 100 });
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof SipParseError);
      assert.equal(err.code, 'SIP_ERR_TOO_LARGE');
      assert.equal(err.status, 513);
    }
  });
});
