import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, SipRequest, SipResponse, isRequest, parseMessage, parseNameAddr } from './index.ts';

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

const base = (extra: string[] = [], start = 'OPTIONS sip:bob@biloxi.com SIP/2.0'): string => crlf([
  start,
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds',
  'To: <sip:bob@biloxi.com>',
  'From: <sip:alice@atlanta.com>;tag=1',
  'Call-ID: abc@atlanta.com',
  'CSeq: 1 OPTIONS',
  ...extra,
  '',
  '',
]);

describe('parseMessage: RFC 3261 §25 grammar details', () => {
  it('reads compact header names (RFC 3261 §7.3.3)', () => {
    const m = parseMessage(Buffer.from(crlf(['INVITE sip:b@c SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 't: <sip:b@c>',
      'f: <sip:a@c>;tag=9', 'i: id1', 'CSeq: 2 INVITE', 'm: <sip:a@h>', 'c: text/plain', 'l: 2', '', 'hi'])));
    assert.equal(m.callId, 'id1');
    assert.equal(m.fromTag, '9');
    assert.equal(m.contacts()[0].uri.host, 'h');
    assert.equal(m.contentType, 'text/plain');
    assert.equal(m.body.toString(), 'hi');
  });

  it('unfolds continuation lines into one space (RFC 3261 §7.3.1)', () => {
    const m = parseMessage(Buffer.from(base(['Subject: I know you\'re there,', '\t pick up the phone', '   and talk to me!'])));
    assert.equal(m.headers.get('Subject'), 'I know you\'re there, pick up the phone and talk to me!');
  });

  it('splits Via lists across lines and commas, top first', () => {
    const m = parseMessage(Buffer.from(base(['Via: SIP/2.0/TCP b;branch=z9hG4bK2 , SIP/2.0/TLS [::1]:5061;branch=z9hG4bK3'])));
    assert.deepEqual(m.vias.map((v) => v.host), ['pc33.atlanta.com', 'b', '[::1]']);
  });

  it('ignores CRLFs before the start line (RFC 3261 §7.5) and tolerates bare LF line ends', () => {
    const m = parseMessage(Buffer.from('\r\n\r\n' + base().replace(/\r\n/g, '\n')));
    assert.equal(m.callId, 'abc@atlanta.com');
  });

  it('takes the datagram rest as body without Content-Length, but not on a stream', () => {
    const text = base().slice(0, -2) + '\r\nbody';
    assert.equal(parseMessage(Buffer.from(text)).body.toString(), 'body');
    expectStreamError(text, 'SIP_ERR_MISSING_HEADER');
  });

  it('drops datagram bytes beyond Content-Length (RFC 3261 §18.3)', () => {
    assert.equal(parseMessage(Buffer.from(base(['Content-Length: 2'], undefined) + 'abcdef')).body.toString(), 'ab');
  });

  it('reads a UTF-8 reason phrase and display name', () => {
    const m = parseMessage(Buffer.from(base(['Contact: "Zoë Ångström" <sip:z@h>'], 'SIP/2.0 486 Très occupé')));
    assert.ok(m instanceof SipResponse);
    assert.equal(m.reason, 'Très occupé');
    assert.equal(m.contacts()[0].displayName, 'Zoë Ångström');
    assert.match(m.toString(), /^SIP\/2\.0 486 Très occupé\r\n/);
  });

  const cases: Array<[string, string, string, number?]> = [
    ['request line with two spaces', base([], 'OPTIONS  sip:bob@biloxi.com SIP/2.0'), 'SIP_ERR_BAD_START_LINE'],
    ['non-token method', base([], 'OPT(IONS sip:bob@biloxi.com SIP/2.0'), 'SIP_ERR_BAD_METHOD'],
    ['status code 99', base([], 'SIP/2.0 099 Low'), 'SIP_ERR_BAD_STATUS'],
    ['status code of 4 digits', base([], 'SIP/2.0 2000 OK'), 'SIP_ERR_BAD_STATUS'],
    ['HTTP request', base([], 'GET / HTTP/1.1'), 'SIP_ERR_BAD_START_LINE'],
    ['SIP/2.1 response', base([], 'SIP/2.1 200 OK'), 'SIP_ERR_BAD_VERSION', 505],
    ['header without colon', base(['NoColonHere']), 'SIP_ERR_BAD_HEADER'],
    ['header name with space', base(['Bad Name: x']), 'SIP_ERR_BAD_HEADER'],
    ['raw NUL in a header', base(['X-A: a\0b']), 'SIP_ERR_BAD_HEADER'],
    ['bare CR in a header', base(['X-A: a\rb']), 'SIP_ERR_BAD_HEADER'],
    ['continuation before any header', 'OPTIONS sip:b SIP/2.0\r\n  folded\r\n\r\n', 'SIP_ERR_BAD_HEADER'],
    ['two From headers', base(['From: <sip:x@y>;tag=2']), 'SIP_ERR_DUPLICATE_HEADER'],
    ['no Via', base().replace(/Via:[^\r]*\r\n/, ''), 'SIP_ERR_MISSING_HEADER'],
    ['no CSeq', base().replace(/CSeq:[^\r]*\r\n/, ''), 'SIP_ERR_MISSING_HEADER'],
    ['CSeq without method', base().replace('CSeq: 1 OPTIONS', 'CSeq: 1'), 'SIP_ERR_BAD_CSEQ'],
    ['CSeq method mismatch', base().replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE'), 'SIP_ERR_CSEQ_MISMATCH'],
    ['Call-ID with a space', base().replace('Call-ID: abc@atlanta.com', 'Call-ID: abc def'), 'SIP_ERR_BAD_CALL_ID'],
    ['tag without value', base().replace(';tag=1', ';tag'), 'SIP_ERR_BAD_NAME_ADDR'],
    ['Via without branch value', base().replace('branch=z9hG4bK776asdhds', 'branch'), 'SIP_ERR_BAD_VIA'],
    ['Content-Length not a number', base(['Content-Length: 1x']), 'SIP_ERR_BAD_CONTENT_LENGTH'],
    ['Content-Length beyond the datagram', base(['Content-Length: 10']), 'SIP_ERR_BAD_CONTENT_LENGTH'],
    ['bad Request-URI', base([], 'OPTIONS sip:bob@ SIP/2.0'), 'SIP_ERR_BAD_URI'],
    ['empty datagram', '\r\n\r\n', 'SIP_ERR_INCOMPLETE'],
    ['cut-off header section', 'OPTIONS sip:b SIP/2.0\r\nVia: SIP/2.0/UDP h', 'SIP_ERR_INCOMPLETE'],
  ];
  for (const [what, text, code, status] of cases) {
    it(`rejects ${what} with ${code}`, () => {
      const err = expectError(text, code, status ?? 400);
      assert.ok(err.offset >= 0 && err.offset <= Buffer.byteLength(text, 'latin1'));
    });
  }

  it('points the offset at the offending header value', () => {
    const text = base().replace('CSeq: 1 OPTIONS', 'CSeq: x OPTIONS');
    const err = expectError(text, 'SIP_ERR_BAD_CSEQ');
    assert.equal(text[err.offset], 'x');
  });

  it('rejects a malformed Max-Forwards when it is read', () => {
    const m = parseMessage(Buffer.from(base(['Max-Forwards: 256'])));
    assert.throws(() => m.maxForwards, (err: unknown) => err instanceof SipParseError && err.code === 'SIP_ERR_BAD_MAX_FORWARDS');
    const e = parseMessage(Buffer.from(base(['Expires: soon'])));
    assert.throws(() => e.expires, (err: unknown) => err instanceof SipParseError && err.code === 'SIP_ERR_BAD_EXPIRES');
  });
});

function expectStreamError(text: string, code: string): void {
  assert.throws(() => parseMessage(Buffer.from(text), { stream: true }), (err: unknown) => err instanceof SipParseError && err.code === code);
}

describe('parseMessage: From and To read lazily when they are plain', () => {
  const response = (from: string, to: string): string =>
    crlf([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKlazy',
      `From: ${from}`,
      `To: ${to}`,
      'Call-ID: lazy-1',
      'CSeq: 1 REGISTER',
      'Content-Length: 0',
      '',
      '',
    ]);

  // Plain forms (tag read without parsing) and forms that take the full parser, side by side.
  const values = [
    '<sip:r1@127.0.0.1>;tag=abc',
    '<sip:r1@127.0.0.1:5060>',
    '"Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
    '"Bob"<sips:bob.b+x@biloxi.example.com:5061>;tag=a.b-c_d~e',
    'Bob <sip:bob@biloxi.com>;tag=x',
    '<sip:bob@biloxi.com;transport=tcp>;tag=x',
    '<sip:%62ob@biloxi.com>;TAG=x',
    '<sip:bob@[::1]:5060>;tag=x;expires=3',
    'sip:bob@biloxi.com;tag=x',
    '"A \\"q\\"" <sip:a@b.example>',
  ];

  for (const value of values) {
    it(`gives the same From, To and tags as the full parser: ${value}`, () => {
      const m = parseMessage(Buffer.from(response(value, value)));
      const reference = parseNameAddr(value);
      assert.equal(m.fromTag, reference.params.get('tag') ?? undefined);
      assert.equal(m.toTag, reference.params.get('tag') ?? undefined);
      assert.deepEqual(m.from, reference);
      assert.deepEqual(m.to, reference);
    });
  }

  it('still rejects a bad From or To eagerly (a port out of range is no plain value)', () => {
    expectError(response('<sip:r1@127.0.0.1:70000>;tag=a', '<sip:r1@127.0.0.1>'), 'SIP_ERR_BAD_URI');
    expectError(response('<sip:r1@127.0.0.1>;tag=a', '<sip:r1@127.0.0.1>;tag'), 'SIP_ERR_BAD_NAME_ADDR');
    expectError(response('<sip:r1@127.0.0.1>;tag=a', '<sip:r1@-bad>;tag=b'), 'SIP_ERR_BAD_URI');
  });

  it('a clone keeps the tags read without parsing', () => {
    const m = parseMessage(Buffer.from(response('<sip:r1@127.0.0.1>;tag=f1', '<sip:r1@127.0.0.1>;tag=t1')));
    const c = m.clone();
    assert.equal(c.fromTag, 'f1');
    assert.equal(c.toTag, 't1');
    assert.equal(c.from.uri.user, 'r1');
  });
});
