import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipParseError, StreamFramer, parseMessage } from './index.ts';

const msg = (body = '', cl = 'Content-Length'): Buffer => Buffer.from(
  `MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\n` +
  `To: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n${cl}: ${Buffer.byteLength(body)}\r\n\r\n${body}`);

function collect(opts?: { maxMessageSize?: number }) {
  const out = { messages: [] as Buffer[], keepAlives: [] as string[], errors: [] as SipParseError[] };
  const framer = new StreamFramer({
    onMessage: (b) => out.messages.push(b),
    onKeepAlive: (k) => out.keepAlives.push(k),
    onError: (e) => out.errors.push(e),
  }, opts);
  return { framer, out };
}

describe('StreamFramer (RFC 3261 §18.3, RFC 5626 §4.4.1)', () => {
  it('cuts several messages out of one chunk by Content-Length', () => {
    const { framer, out } = collect();
    const a = msg('hello');
    const b = msg('', 'l');
    framer.push(Buffer.concat([a, b, a]));
    assert.deepEqual(out.messages, [a, b, a]);
    assert.equal(parseMessage(out.messages[0], { stream: true }).body.toString(), 'hello');
    assert.equal(framer.buffered, 0);
  });

  it('reassembles a message delivered one byte at a time', () => {
    const { framer, out } = collect();
    const a = msg('a body with\r\n\r\nan empty line inside');
    for (let i = 0; i < a.length; i++) framer.push(a.subarray(i, i + 1));
    assert.deepEqual(out.messages, [a]);
  });

  it('reports CRLFCRLF as ping and CRLF as pong between messages', () => {
    const { framer, out } = collect();
    framer.push(Buffer.from('\r\n\r\n'));
    framer.push(Buffer.concat([Buffer.from('\r\n'), msg(), Buffer.from('\r\n\r\n')]));
    framer.push(Buffer.from('\r\n'));
    assert.deepEqual(out.keepAlives, ['ping', 'pong', 'ping', 'pong']);
    assert.equal(out.messages.length, 1);
  });

  it('requires Content-Length on a stream', () => {
    const { framer, out } = collect();
    framer.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n'));
    assert.equal(out.errors[0]?.code, 'SIP_ERR_MISSING_HEADER');
  });

  it('refuses an oversized message from its Content-Length, before the body arrives', () => {
    const { framer, out } = collect({ maxMessageSize: 1000 });
    const head = msg('x'.repeat(5000)).subarray(0, 250);
    framer.push(head);
    assert.equal(out.errors.length, 1);
    assert.equal(out.errors[0].code, 'SIP_ERR_TOO_LARGE');
    assert.equal(out.errors[0].status, 513);
    assert.equal(framer.buffered, 0);
    framer.push(msg());
    assert.equal(out.messages.length, 0, 'a failed framer stays stopped');
  });

  it('refuses an endless header section once it passes the limit', () => {
    const { framer, out } = collect({ maxMessageSize: 1000 });
    for (let i = 0; i < 100 && out.errors.length === 0; i++) framer.push(Buffer.from('X-Filler: 0123456789012345678901234567890\r\n'));
    assert.equal(out.errors[0]?.code, 'SIP_ERR_TOO_LARGE');
    assert.ok(framer.buffered === 0);
  });

  it('rejects an invalid Content-Length', () => {
    const { framer, out } = collect();
    framer.push(Buffer.from('OPTIONS sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n'));
    assert.equal(out.errors[0]?.code, 'SIP_ERR_BAD_CONTENT_LENGTH');
  });
});
