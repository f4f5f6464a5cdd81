/**
 * Example messages of RFC 3261 §24 and call flows of RFC 3665 (test/fixtures/sip/rfc3261,
 * rfc3665): each parses, reads like the RFC says, and survives parse → serialize → parse.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadFixture, loadFixtureDir, snapshot } from '../../../test/fixtures/sip/helpers.ts';
import { SipRequest, SipResponse, parseMessage } from './index.ts';

describe('RFC 3261 §24 and RFC 3665 examples', () => {
  for (const folder of ['rfc3261', 'rfc3665', 'misc']) {
    for (const [file, buf] of loadFixtureDir(folder)) {
      it(`${folder}/${file} parses and round-trips`, () => {
        const m = parseMessage(buf);
        void m.contacts(), m.routes(), m.recordRoutes(), m.maxForwards, m.expires;
        const again = parseMessage(m.toBuffer());
        assert.deepEqual(snapshot(again), snapshot(m));
      });
    }
  }

  it('§24.1: the 200 to REGISTER has a folded Via with received', () => {
    const m = parseMessage(loadFixture('rfc3261/24.1-register-200.sip'));
    assert.ok(m instanceof SipResponse);
    assert.equal(m.topVia.params.get('received'), '192.0.2.4');
    assert.equal(m.topVia.port, 5060);
    assert.equal(m.expires, 7200);
  });

  it('§24.2 F5: a twice-proxied INVITE lists three Vias, top first', () => {
    const m = parseMessage(loadFixture('rfc3261/24.2-f5-invite-proxied.sip'));
    assert.deepEqual(m.vias.map((v) => v.host), ['server10.biloxi.com', 'bigbox3.site3.atlanta.com', 'pc33.atlanta.com']);
    assert.equal(m.maxForwards, 68);
    assert.equal(m.body.toString().split('\r\n')[0], 'v=0');
  });

  it('RFC 3665 §2.1 F2/F3: challenge and credentials stay one header value each', () => {
    const challenge = parseMessage(loadFixture('rfc3665/2.1-f2-401.sip'));
    assert.equal(challenge.headers.getAll('WWW-Authenticate').length, 1);
    assert.match(challenge.headers.get('WWW-Authenticate')!, /^Digest realm="atlanta.example.com", qop="auth", nonce=/);
    const retry = parseMessage(loadFixture('rfc3665/2.1-f3-register-auth.sip'));
    assert.ok(retry instanceof SipRequest);
    assert.equal(retry.uri.scheme, 'sips');
    assert.equal(retry.topVia.protocol, 'TLS');
    assert.match(retry.headers.get('Authorization')!, /response="dfe56131d1958046689d83306477ecc"$/);
  });

  it('RFC 3665 §3.1: INVITE, 180, 200, ACK and BYE share one Call-ID and dialog tags', () => {
    const [invite, ringing, ok, ack, bye] = ['3.1-f1-invite', '3.1-f2-180', '3.1-f3-200', '3.1-f4-ack', '3.1-f5-bye']
      .map((f) => parseMessage(loadFixture(`rfc3665/${f}.sip`)));
    assert.equal(new Set([invite, ringing, ok, ack, bye].map((m) => m.callId)).size, 1);
    assert.equal(invite.toTag, undefined);
    assert.equal(ringing.toTag, '8321234356');
    assert.equal(ack.cseq.method, 'ACK');
    assert.equal(bye.fromTag, ok.toTag);
    assert.equal(ok.contacts()[0].uri.params.get('transport'), 'tcp');
  });
});
