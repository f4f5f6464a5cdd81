/**
 * Request validation answers with SylkServer's own strings (reference §2.4): the first failing
 * property in model order, Python reprs of the values, AORs normalised.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pythonRepr } from './python-repr.ts';
import { REQUESTS, normalizeAor, validateRequest, type RequestName } from './validation.ts';

const error = (name: RequestName, msg: Record<string, unknown>): string => {
  const r = validateRequest(name, msg);
  assert.equal(r.ok, false, `expected ${name} ${JSON.stringify(msg)} to fail`);
  return (r as { error: string }).error;
};

describe('pythonRepr', () => {
  it('prints JSON values as Python prints the objects json.loads makes', () => {
    assert.equal(pythonRepr(123), '123');
    assert.equal(pythonRepr(1.5), '1.5');
    assert.equal(pythonRepr(null), 'None');
    assert.equal(pythonRepr(true), 'True');
    assert.equal(pythonRepr('x'), "'x'");
    assert.equal(pythonRepr("it's"), '"it\'s"');
    assert.equal(pythonRepr('a\nb\\'), "'a\\nb\\\\'");
    assert.equal(pythonRepr([1, 'a', null]), "[1, 'a', None]");
    assert.equal(pythonRepr({ a: [false] }), "{'a': [False]}");
  });
});

describe('AOR fields', () => {
  it('strip sip: / sips: and must parse as sip:<value>', () => {
    assert.equal(normalizeAor('sip:alice@example.com'), 'alice@example.com');
    assert.equal(normalizeAor('sips:alice@example.com'), 'alice@example.com');
    assert.equal(normalizeAor('alice@example.com'), 'alice@example.com');
    assert.equal(normalizeAor('alice@'), undefined);
    assert.equal(error('account-add', { transaction: 't', account: 'alice@', password: 'x' }), 'invalid SIP URI: alice@');
    const ok = validateRequest('session-create', { transaction: 't', session: 's', account: 'sip:a@b.c', uri: 'sips:bob@b.c', sdp: 'v=0' });
    assert.ok(ok.ok && ok.request.account === 'a@b.c' && ok.request.uri === 'bob@b.c');
  });
});

describe('property checks in SylkServer order', () => {
  it('reports a missing mandatory property with the model name', () => {
    assert.equal(error('session-trickle', { transaction: 't', candidates: [] }), "Mandatory property 'session' of 'SessionTrickleRequest' object is missing");
    assert.equal(error('account-add', { transaction: 't', account: 'a@b' }), "Mandatory property 'password' of 'AccountAddRequest' object is missing");
    assert.equal(error('ping', {}), "Mandatory property 'transaction' of 'PingRequest' object is missing");
  });

  it('checks transaction first, then account / session, then the request\'s own fields', () => {
    assert.equal(error('session-create', { session: 5 }), "Mandatory property 'transaction' of 'SessionCreateRequest' object is missing");
    assert.equal(error('session-create', { transaction: 't', session: 5, sdp: 1 }), "Invalid value for 'session' property: 5");
    assert.equal(error('session-create', { transaction: 't', session: 's', account: 'a@b', uri: 'c@d' }), "Mandatory property 'sdp' of 'SessionCreateRequest' object is missing");
  });

  it('reports wrong JSON types and null for required properties with the Python repr', () => {
    assert.equal(error('session-create', { transaction: 't', session: 's', account: 'a@b', uri: 'c@d', sdp: 123 }), "Invalid value for 'sdp' property: 123");
    assert.equal(error('session-answer', { transaction: 't', session: 's', sdp: null }), "Invalid value for 'sdp' property: None");
    assert.equal(error('session-dtmf-info', { transaction: 't', session: 's', digit: '1', duration: '100' }), "Invalid value for 'duration' property: '100'");
    assert.equal(error('session-dtmf-info', { transaction: 't', session: 's', digit: '1', duration: 1.5 }), "Invalid value for 'duration' property: 1.5");
  });

  it('accepts null for optional properties and drops unknown keys', () => {
    const r = validateRequest('account-add', { transaction: 't', account: 'a@b', password: 'x', display_name: null, extra: 1 });
    assert.ok(r.ok);
    assert.equal(r.request.display_name, undefined);
    assert.ok(!('extra' in r.request));
  });

  it('lists the allowed values of an enumerated property, sorted, Python style', () => {
    const msg = { transaction: 't', account: 'a@b', uri: 'c@d', message_id: 'm', state: 'x', timestamp: 'ts' };
    assert.equal(error('account-disposition-notification', msg), "Invalid value for 'state' property: 'x' (expected: delivered, displayed, error, failed or forbidden)");
  });

  it('applies the password length rule', () => {
    assert.equal(error('account-add', { transaction: 't', account: 'a@b', password: '' }), "the value's length must be between 1 and 9999 inclusive");
    assert.equal(error('account-add', { transaction: 't', account: 'a@b', password: 'x'.repeat(10000) }), "the value's length must be between 1 and 9999 inclusive");
  });
});

describe('arrays', () => {
  const trickle = (candidates: unknown) => ({ transaction: 't', session: 's', candidates });
  it('validates ICE candidates item by item', () => {
    assert.equal(error('session-trickle', trickle('x')), "Invalid value for 'candidates' property: 'x'");
    assert.equal(error('session-trickle', trickle(['x'])), "Invalid value for ICECandidate: 'x'");
    assert.equal(error('session-trickle', trickle([{ candidate: 'c', sdpMLineIndex: 0 }])), "Mandatory property 'sdpMid' of 'ICECandidate' object is missing");
    assert.equal(error('session-trickle', trickle([{ candidate: 'c', sdpMLineIndex: '0', sdpMid: '0' }])), "Invalid value for 'sdpMLineIndex' property: '0'");
  });

  it('takes an empty array as end of candidates and keeps usernameFragment', () => {
    assert.ok(validateRequest('session-trickle', trickle([])).ok);
    const r = validateRequest('session-trickle', trickle([{ candidate: 'c', sdpMLineIndex: 0, sdpMid: '0', usernameFragment: 'uf' }]));
    assert.ok(r.ok);
    assert.deepEqual(r.request.candidates, [{ candidate: 'c', sdpMLineIndex: 0, sdpMid: '0', usernameFragment: 'uf' }]);
  });

  it('removes duplicates from string lists and rejects non-strings in them', () => {
    const r = validateRequest('account-add', { transaction: 't', account: 'a@b', password: 'x', incoming_header_prefixes: ['X-', 'X-', 'Y-'] });
    assert.ok(r.ok);
    assert.deepEqual(r.request.incoming_header_prefixes, ['X-', 'Y-']);
    assert.equal(error('account-add', { transaction: 't', account: 'a@b', password: 'x', incoming_header_prefixes: ['X-', 5] }), 'Invalid value for str: 5');
  });
});

describe('catalogue', () => {
  it('covers every request of reference §3.1–3.4', () => {
    assert.deepEqual(Object.keys(REQUESTS).sort(), [
      'account-add', 'account-devicetoken', 'account-disposition-notification', 'account-fetch-addressbook', 'account-mark-conversation-read',
      'account-message', 'account-register', 'account-remove', 'account-remove-conversation', 'account-remove-message',
      'account-sync-conversations', 'account-unregister', 'account-update-addressbook', 'lookup-public-key', 'ping',
      'session-answer', 'session-create', 'session-dtmf-info', 'session-message', 'session-terminate', 'session-trickle', 'session-update',
      'videoroom-composing-indication', 'videoroom-configure', 'videoroom-feed-answer', 'videoroom-feed-attach', 'videoroom-feed-detach',
      'videoroom-invite', 'videoroom-join', 'videoroom-leave', 'videoroom-message', 'videoroom-mute-audio-participants',
      'videoroom-session-trickle', 'videoroom-session-update', 'videoroom-toggle-hand',
    ]);
  });
});
