import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseResponse } from './http-client.ts';
import { parsePointer, resolvePointer } from './json-pointer.ts';

describe('JSON pointer (RFC 6901) with OMA tolerance', () => {
  it('unescapes ~1 and ~0 in that order (RFC 6901 §4)', () => {
    assert.deepEqual(parsePointer('/a~1b/m~0n/~01'), ['a/b', 'm~n', '~1']);
    assert.equal(resolvePointer({ 'a/b': { 'm~n': 5 } }, '/a~1b/m~0n'), 5);
  });
  it('finds a notification inside notificationList, whether a list or one object', () => {
    const list = { notificationList: [{ other: 1 }, { sessionStatusNotification: { status: 'Connected' } }] };
    assert.equal(resolvePointer(list, '/sessionStatusNotification/status'), 'Connected');
    assert.equal(resolvePointer({ notificationList: { chatEventNotification: { eventType: 'Accepted' } } }, '/chatEventNotification/eventType'), 'Accepted');
  });
  it('reads a one-element array as an object and an object as a one-element array', () => {
    assert.equal(resolvePointer({ link: [{ href: 'h' }] }, '/link/href'), 'h');
    assert.equal(resolvePointer({ link: { href: 'h' } }, '/link/0/href'), 'h');
    assert.equal(resolvePointer({ link: [{ href: 'a' }, { href: 'b' }] }, '/link/href'), undefined);
  });
  it('resolves a pointer the same way every time, whatever a caller does with parsed tokens', () => {
    const doc = { session: { id: 'abc', status: 'Connected' } };
    for (let i = 0; i < 3; i++) assert.equal(resolvePointer(doc, '/session/id'), 'abc');
    const tokens = parsePointer('/session/id');
    tokens[1] = 'status';
    assert.equal(resolvePointer(doc, '/session/id'), 'abc');
    assert.equal(resolvePointer({ session: [] }, '/session/id'), undefined);
    assert.throws(() => resolvePointer(doc, 'session'), /must start with/);
  });
});

describe('HTTP/1.1 response parsing (RFC 9112 §6.3)', () => {
  it('waits for a Content-Length body and parses a chunked one', () => {
    const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab');
    assert.equal(parseResponse(head, 'GET', false), undefined);
    const chunked = Buffer.from('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    const r = parseResponse(chunked, 'POST', false);
    assert.ok(r && !r.interim);
    assert.equal(r.response.body.toString(), 'abcde');
    assert.equal(r.consumed, chunked.length);
  });
  it('reads no body for HEAD and 204, and to the end of the connection without a length', () => {
    const r = parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 'HEAD', false);
    assert.ok(r && !r.interim && r.response.body.length === 0);
    const eof = parseResponse(Buffer.from('HTTP/1.0 200 OK\r\n\r\nall of it'), 'GET', true);
    assert.ok(eof && !eof.interim && eof.response.body.toString() === 'all of it' && eof.untilClose);
  });
  it('throws on bytes that are not a response', () => {
    assert.throws(() => parseResponse(Buffer.from('NOT HTTP'), 'GET', false), /HTTP\//);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 2000 OK\r\n\r\n'), 'GET', false), /status line/);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'), 'GET', true), /closed after 3 of 9/);
  });
});
