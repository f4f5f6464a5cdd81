/** Dialog state per RFC 3261 §12: creation on both sides, route sets, CSeq rules, in-dialog requests. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, createResponse, formatUri, parseNameAddr, parseUri, type SipRequest } from '../message/index.ts';
import { Dialog } from './index.ts';

function invite(): SipRequest {
  const req = createRequest({
    method: 'INVITE',
    uri: parseUri('sip:bob@biloxi.example.com'),
    from: parseNameAddr('Alice <sip:alice@atlanta.example.com>;tag=a1'),
    to: parseNameAddr('Bob <sip:bob@biloxi.example.com>'),
    callId: 'call-1',
    cseq: 314159,
    headers: [
      ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds'],
      ['Contact', '<sip:alice@pc33.atlanta.example.com>'],
      ['Record-Route', '<sip:p2.example.com;lr>'],
      ['Record-Route', '<sip:p1.example.com;lr>'],
    ],
  });
  return req;
}

const ourContact = parseNameAddr('<sip:me@192.0.2.1:5060>');

describe('UAC dialog (§12.1.2)', () => {
  const req = invite();
  // The UAS copied the request's Record-Route into its 2xx (§12.1.1).
  const res = createResponse(req, 200, undefined, {
    toTag: 'b1',
    headers: [
      ['Contact', '<sip:bob@192.0.2.4>'],
      ['Record-Route', '<sip:p2.example.com;lr>'],
      ['Record-Route', '<sip:p1.example.com;lr>'],
    ],
  });
  const dialog = Dialog.asUac(req, res, ourContact);

  it('takes the route set from Record-Route in reverse and the remote target from Contact', () => {
    assert.deepEqual(dialog.routeSet.map((r) => formatUri(r.uri)), ['sip:p1.example.com;lr', 'sip:p2.example.com;lr']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:bob@192.0.2.4');
    assert.equal(dialog.state, 'Confirmed');
    assert.equal(dialog.localSeq, 314159);
  });

  it('builds in-dialog requests with tags, the next CSeq and loose routes (§12.2.1.1)', () => {
    const bye = dialog.createRequest('BYE');
    assert.equal(formatUri(bye.uri), 'sip:bob@192.0.2.4');
    assert.deepEqual(bye.headers.getAll('Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    assert.equal(bye.fromTag, 'a1');
    assert.equal(bye.toTag, 'b1');
    assert.equal(bye.cseq.seq, 314160);
    assert.equal(bye.callId, 'call-1');
    const ack = dialog.createRequest('ACK', { cseq: 314159 });
    assert.equal(ack.cseq.seq, 314159, 'ACK reuses the INVITE CSeq number');
    assert.equal(dialog.localSeq, 314160, 'and does not advance it');
  });

  it('routes through a strict router by putting it in the Request-URI', () => {
    const strict = Dialog.asUac(
      req,
      createResponse(req, 200, undefined, {
        toTag: 'b2',
        headers: [
          ['Contact', '<sip:bob@192.0.2.4>'],
          ['Record-Route', '<sip:strict.example.com>'],
        ],
      }),
      ourContact,
    );
    const bye = strict.createRequest('BYE');
    assert.equal(formatUri(bye.uri), 'sip:strict.example.com');
    assert.deepEqual(bye.headers.getAll('Route'), ['<sip:bob@192.0.2.4>']);
  });

  it('an early dialog from a 1xx is confirmed by the 2xx, which recomputes the route set (§13.2.2.4)', () => {
    const ringing = createResponse(req, 180, undefined, { toTag: 'b3', headers: [['Contact', '<sip:bob@192.0.2.5>']] });
    const early = Dialog.asUac(req, ringing, ourContact);
    assert.equal(early.state, 'Early');
    const ok = createResponse(req, 200, undefined, { toTag: 'b3', headers: [['Contact', '<sip:bob@192.0.2.6>']] });
    ok.headers.delete('Record-Route');
    early.confirm(ok);
    assert.equal(early.state, 'Confirmed');
    assert.equal(formatUri(early.remoteTarget), 'sip:bob@192.0.2.6');
    assert.deepEqual(early.routeSet, []);
  });
});

describe('UAS dialog (§12.1.1)', () => {
  const req = invite();
  const dialog = Dialog.asUas(req, 'b9', ourContact, 'Early');

  it('keeps Record-Route in order, the caller Contact as remote target and its CSeq', () => {
    assert.deepEqual(dialog.routeSet.map((r) => formatUri(r.uri)), ['sip:p2.example.com;lr', 'sip:p1.example.com;lr']);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@pc33.atlanta.example.com');
    assert.equal(dialog.remoteSeq, 314159);
    assert.equal(dialog.localTag, 'b9');
    assert.equal(dialog.remoteTag, 'a1');
  });

  it('rejects a request with a lower CSeq as out of order (§12.2.2)', () => {
    const bye = (seq: number) =>
      createRequest({
        method: 'BYE',
        uri: parseUri('sip:me@192.0.2.1'),
        from: parseNameAddr('<sip:alice@atlanta.example.com>;tag=a1'),
        to: parseNameAddr('<sip:bob@biloxi.example.com>;tag=b9'),
        callId: 'call-1',
        cseq: seq,
      });
    assert.equal(dialog.receiveRequest(bye(314160)), 'ok');
    assert.equal(dialog.receiveRequest(bye(314100)), 'out-of-order');
    assert.equal(dialog.remoteSeq, 314160);
  });

  it('refreshes the remote target from a re-INVITE Contact', () => {
    const reinvite = invite();
    reinvite.headers.set('Contact', '<sip:alice@198.51.100.7>');
    dialog.refreshTarget(reinvite);
    assert.equal(formatUri(dialog.remoteTarget), 'sip:alice@198.51.100.7');
  });
});
