import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headerValue, headerValues, parseHttpHead } from './http-head.ts';
import { TemplateError } from './errors.ts';

describe('parseHttpHead', () => {
  it('reads a request line and header fields in order (RFC 9112 §3, §5)', () => {
    const h = parseHttpHead(Buffer.from('POST /a?b=1 HTTP/1.1\r\nHost: gw\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\n\r\n{"body":1}'));
    assert.deepEqual(h, {
      kind: 'request',
      method: 'POST',
      target: '/a?b=1',
      version: 'HTTP/1.1',
      headers: [
        { name: 'Host', value: 'gw' },
        { name: 'Set-Cookie', value: 'a=1' },
        { name: 'set-cookie', value: 'b=2' },
        { name: 'X-Empty', value: '' },
      ],
    });
    assert.equal(headerValue(h, 'HOST'), 'gw');
    assert.deepEqual(headerValues(h, 'Set-Cookie'), ['a=1', 'b=2']);
  });

  it('reads a status line, with or without a reason phrase, and bare LF line ends', () => {
    assert.deepEqual(parseHttpHead('HTTP/1.1 204 No Content\nServer: x\n'), { kind: 'response', version: 'HTTP/1.1', status: 204, reason: 'No Content', headers: [{ name: 'Server', value: 'x' }] });
    const h = parseHttpHead('HTTP/1.1 200\r\n\r\n');
    assert.equal(h.kind === 'response' && h.reason, '');
  });

  it('joins obsolete folded lines with a space (RFC 9112 §5.2)', () => {
    assert.equal(headerValue(parseHttpHead('GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n'), 'x'), 'a b');
  });

  for (const [what, text, line] of [
    ['a garbage start line', 'HELLO THERE\r\n\r\n', 1],
    ['a header without a colon', 'GET / HTTP/1.1\r\nHost gw\r\n\r\n', 2],
    ['a header name with a space', 'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n', 2],
  ] as const) {
    it(`rejects ${what} with template.bad-http-head and the line`, () => {
      assert.throws(() => parseHttpHead(text), (e: unknown) => e instanceof TemplateError && e.code === 'template.bad-http-head' && e.line === line);
    });
  }
});
