import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BRANCH_MAGIC_COOKIE, createRequest, createResponse, newBranch, newCallId, newTag, parseMessage, parseUri, reasonPhrase,
} from './index.ts';
import type { SipRequest } from './index.ts';

function invite(): SipRequest {
  const req = createRequest({
    method: 'INVITE',
    uri: 'sip:bob@biloxi.com',
    from: { displayName: 'Alice', uri: parseUri('sip:alice@atlanta.com'), params: new Map([['tag', '1928301774']]) },
    to: 'Bob <sip:bob@biloxi.com>',
    callId: 'a84b4c76e66710',
    cseq: 314159,
    headers: { Contact: '<sip:alice@pc33.atlanta.com>', Supported: ['replaces', 'timer'] },
    body: 'v=0\r\n',
    contentType: 'application/sdp',
  });
  req.headers.prepend('Via', 'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8');
  req.headers.prepend('Via', 'SIP/2.0/UDP proxy.atlanta.com;branch=z9hG4bK77');
  return req;
}

describe('createRequest (RFC 3261 §8.1.1)', () => {
  it('writes the mandatory headers, Max-Forwards 70 and Content-Length from the body', () => {
    const wire = invite().toString();
    assert.match(wire, /^INVITE sip:bob@biloxi\.com SIP\/2\.0\r\n/);
    assert.match(wire, /\r\nMax-Forwards: 70\r\n/);
    assert.match(wire, /\r\nFrom: "Alice" <sip:alice@atlanta\.com>;tag=1928301774\r\n/);
    assert.match(wire, /\r\nCSeq: 314159 INVITE\r\n/);
    assert.match(wire, /\r\nSupported: replaces\r\nSupported: timer\r\n/);
    assert.match(wire, /\r\nContent-Type: application\/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n$/);
    const back = parseMessage(Buffer.from(wire));
    assert.equal(back.fromTag, '1928301774');
    assert.equal(back.vias.length, 2);
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies Via lines, From, To, Call-ID and CSeq, and adds the To tag', () => {
    const req = invite();
    const res = createResponse(req, 180, undefined, { toTag: 'a6c85cf' });
    assert.equal(res.reason, 'Ringing');
    assert.deepEqual(res.headers.getAll('Via'), req.headers.getAll('Via'));
    assert.equal(res.toTag, 'a6c85cf');
    assert.equal(res.fromTag, '1928301774');
    assert.equal(res.callId, 'a84b4c76e66710');
    assert.deepEqual(res.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(res.body.length, 0);
    assert.equal(parseMessage(res.toBuffer()).toTag, 'a6c85cf');
  });

  it('keeps an existing To tag and echoes Timestamp in a 100 (RFC 3261 §8.2.6.1)', () => {
    const req = invite();
    req.headers.set('To', 'Bob <sip:bob@biloxi.com>;tag=existing');
    req.headers.append('Timestamp', '54');
    const trying = createResponse(req, 100, undefined, { toTag: 'other' });
    assert.equal(trying.toTag, 'existing');
    assert.equal(trying.headers.get('Timestamp'), '54');
    const ok = createResponse(req, 200, 'Fine', { body: 'v=0\r\n', contentType: 'application/sdp', headers: [['Contact', '<sip:bob@192.0.2.4>']] });
    assert.equal(ok.reason, 'Fine');
    assert.equal(ok.headers.get('Timestamp'), undefined);
    assert.match(ok.toString(), /\r\nContact: <sip:bob@192\.0\.2\.4>\r\nContent-Type: application\/sdp\r\nContent-Length: 5\r\n/);
  });
});

describe('identifiers and reason phrases', () => {
  it('makes branches with the magic cookie (RFC 3261 §8.1.1.7), unique tags and Call-IDs', () => {
    const branches = new Set(Array.from({ length: 1000 }, newBranch));
    assert.equal(branches.size, 1000);
    for (const b of branches) assert.match(b, /^z9hG4bK[A-Za-z0-9_-]{16}$/);
    assert.ok(newBranch().startsWith(BRANCH_MAGIC_COOKIE));
    assert.match(newTag(), /^[A-Za-z0-9_-]{11}$/);
    assert.match(newCallId(), /^[A-Za-z0-9_-]{24}$/);
    assert.notEqual(newCallId(), newCallId());
  });

  it('knows the RFC 3261 §21 phrases and falls back on the class', () => {
    assert.equal(reasonPhrase(200), 'OK');
    assert.equal(reasonPhrase(481), 'Call/Transaction Does Not Exist');
    assert.equal(reasonPhrase(513), 'Message Too Large');
    assert.equal(reasonPhrase(499), 'Client Error');
    assert.equal(reasonPhrase(699), 'Global Failure');
  });
});
