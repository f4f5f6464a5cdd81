import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipHeaders, parseMessage, splitCommaList } from './index.ts';

describe('SipHeaders', () => {
  it('matches names case-insensitively and compact forms as their long form (RFC 3261 §7.3.3)', () => {
    const h = new SipHeaders([['v', 'SIP/2.0/UDP a;branch=z9hG4bK1'], ['VIA', 'SIP/2.0/UDP b;branch=z9hG4bK2'], ['i', 'abc'],
      ['m', '<sip:x@y>'], ['l', '0'], ['k', 'timer'], ['o', 'presence'], ['x', '1800']]);
    assert.equal(h.get('Via'), 'SIP/2.0/UDP a;branch=z9hG4bK1');
    assert.equal(h.getAll('via').length, 2);
    assert.equal(h.get('Call-ID'), 'abc');
    assert.equal(h.get('call-id'), 'abc');
    assert.equal(h.get('Contact'), '<sip:x@y>');
    assert.equal(h.get('Content-Length'), '0');
    assert.equal(h.get('Supported'), 'timer');
    assert.equal(h.get('Event'), 'presence');
    assert.equal(h.get('Session-Expires'), '1800');
    assert.ok(h.has('I'));
  });

  it('splits comma lists of list headers only, never inside quotes or <>', () => {
    const h = new SipHeaders([
      ['Contact', '"Doe, John" <sip:a@b;x=1,2>, <sip:c@d>;q=0.5 , *'],
      ['Allow', 'INVITE, ACK,,BYE'],
      ['WWW-Authenticate', 'Digest realm="a,b", nonce="x"'],
      ['Subject', 'hello, world'],
    ]);
    assert.deepEqual(h.getAll('Contact'), ['"Doe, John" <sip:a@b;x=1,2>', '<sip:c@d>;q=0.5', '*']);
    assert.deepEqual(h.getAll('Allow'), ['INVITE', 'ACK', 'BYE']);
    assert.deepEqual(h.getAll('WWW-Authenticate'), ['Digest realm="a,b", nonce="x"']);
    assert.deepEqual(h.getAll('Subject'), ['hello, world']);
    assert.deepEqual(splitCommaList('"a \\" , b", c'), ['"a \\" , b"', 'c']);
  });

  it('set replaces every line in place; append, prepend and delete keep order', () => {
    const h = new SipHeaders([['Route', '<sip:a>'], ['To', '<sip:t>'], ['Route', '<sip:b>']]);
    h.prepend('Route', '<sip:0>');
    assert.deepEqual([...h.entries()].map(([n, v]) => `${n}:${v}`), ['Route:<sip:0>', 'Route:<sip:a>', 'To:<sip:t>', 'Route:<sip:b>']);
    h.set('route', '<sip:only>');
    assert.deepEqual([...h.entries()].map(([n, v]) => `${n}:${v}`), ['route:<sip:only>', 'To:<sip:t>']);
    h.append('X-A', '1');
    h.prepend('Via', 'SIP/2.0/UDP h');
    assert.equal([...h.entries()][0][0], 'Via');
    assert.equal(h.delete('x-a'), true);
    assert.equal(h.delete('x-a'), false);
    assert.equal(h.size, 3);
  });

  it('replaceFirst and removeFirst work on the first element of a combined line', () => {
    const h = new SipHeaders([['Via', 'SIP/2.0/UDP a, SIP/2.0/UDP b'], ['Via', 'SIP/2.0/UDP c']]);
    h.replaceFirst('Via', 'SIP/2.0/UDP a;received=1.2.3.4');
    assert.deepEqual(h.getAll('Via'), ['SIP/2.0/UDP a;received=1.2.3.4', 'SIP/2.0/UDP b', 'SIP/2.0/UDP c']);
    h.removeFirst('Via');
    h.removeFirst('Via');
    assert.deepEqual(h.getAll('Via'), ['SIP/2.0/UDP c']);
  });

  it('clone is independent', () => {
    const h = new SipHeaders([['A', '1']]);
    const c = h.clone();
    c.append('B', '2');
    assert.equal(h.size, 1);
    assert.equal(c.size, 2);
  });

  it('a message re-parses its views after its headers change', () => {
    const m = parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n' +
      'To: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContact: <sip:x@y>\r\n\r\n'));
    assert.equal(m.contacts()[0].uri.user, 'x');
    m.headers.set('Contact', '<sip:z@y>');
    m.headers.set('Call-ID', 'c2');
    assert.equal(m.contacts()[0].uri.user, 'z');
    assert.equal(m.callId, 'c2');
    const via = m.topVia;
    via.params.set('received', '10.0.0.1');
    m.setTopVia(via);
    assert.equal(m.topVia.params.get('received'), '10.0.0.1');
    assert.match(m.toString(), /\r\nVia: SIP\/2\.0\/UDP h;branch=z9hG4bK1;received=10\.0\.0\.1\r\n/);
  });

  it('reads Contact: * as a wildcard (RFC 3261 §10.2.2)', () => {
    const m = parseMessage(Buffer.from('REGISTER sip:b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n' +
      'To: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nContact: *\r\nExpires: 0\r\n\r\n'));
    assert.deepEqual(m.contacts(), []);
    assert.equal(m.isWildcardContact, true);
    assert.equal(m.expires, 0);
  });
});
