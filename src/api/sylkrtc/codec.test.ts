/** Dialect choice, request names of both dialects, and event shapes on the wire (reference §4, §7). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseDialect, decodeFrame, encodeError, eventToWire, parseSubprotocols, requestName } from './codec.ts';

describe('subprotocols', () => {
  it('prefers sylkRTC-2, accepts sylkRTC-1, refuses anything else', () => {
    assert.equal(chooseDialect(['sylkRTC-1', 'sylkRTC-2']), 'sylkRTC-2');
    assert.equal(chooseDialect(['sylkRTC-1']), 'sylkRTC-1');
    assert.equal(chooseDialect(['sip']), undefined);
    assert.equal(chooseDialect([]), undefined);
    assert.deepEqual(parseSubprotocols(' sip , sylkRTC-2'), ['sip', 'sylkRTC-2']);
  });
});

describe('request names', () => {
  it('are dash-named in sylkRTC-2 and exact', () => {
    assert.equal(requestName('sylkRTC-2', 'account-add'), 'account-add');
    assert.equal(requestName('sylkRTC-2', 'add_account'), undefined);
    assert.equal(requestName('sylkRTC-2', 'account_add'), undefined);
  });
  it('accept the 2015 spellings in sylkRTC-1', () => {
    assert.equal(requestName('sylkRTC-1', 'add_account'), 'account-add');
    assert.equal(requestName('sylkRTC-1', 'remove_account'), 'account-remove');
    assert.equal(requestName('sylkRTC-1', 'register'), 'account-register');
    assert.equal(requestName('sylkRTC-1', 'unregister'), 'account-unregister');
    assert.equal(requestName('sylkRTC-1', 'session_create'), 'session-create');
    assert.equal(requestName('sylkRTC-1', 'session-trickle'), 'session-trickle');
  });
});

describe('decodeFrame', () => {
  it('keeps the transaction of a bad request for its error reply', () => {
    const f = decodeFrame('sylkRTC-2', '{"sylkrtc":"nope","transaction":"x"}', false);
    assert.ok(!f.ok);
    assert.equal(f.transaction, 'x');
    assert.equal(f.error.wireMessage, 'unknown WebSocket request: nope');
  });
  it('does not echo a transaction that is not a string', () => {
    const f = decodeFrame('sylkRTC-2', '{"sylkrtc":"ping","transaction":5}', false);
    assert.ok(!f.ok);
    assert.equal(f.transaction, undefined);
    assert.equal(f.error.wireMessage, "Invalid value for 'transaction' property: 5");
  });
  it('reads a Buffer text frame', () => {
    const f = decodeFrame('sylkRTC-2', Buffer.from('{"sylkrtc":"ping","transaction":"p"}'), false);
    assert.ok(f.ok && f.name === 'ping' && f.transaction === 'p');
  });
});

describe('events', () => {
  const state = { sylkrtc: 'session-event', session: 's1', event: 'state', state: 'terminated', reason: '486 Busy Here' } as const;
  const reg = { sylkrtc: 'account-event', account: 'a@b', event: 'registration-state', state: 'failed', reason: '403 Forbidden' } as const;

  it('are flat in sylkRTC-2, without unset optional keys', () => {
    assert.deepEqual(eventToWire('sylkRTC-2', { ...state }), state);
    assert.deepEqual(eventToWire('sylkRTC-2', { sylkrtc: 'session-event', session: 's', event: 'update', state: 'accepted', sdp: undefined }), {
      sylkrtc: 'session-event',
      session: 's',
      event: 'update',
      state: 'accepted',
    });
  });

  it('nest under data with underscored names in sylkRTC-1', () => {
    assert.deepEqual(eventToWire('sylkRTC-1', { sylkrtc: 'ready-event' }), { sylkrtc: 'event', event: 'ready' });
    assert.deepEqual(eventToWire('sylkRTC-1', state), { sylkrtc: 'session_event', session: 's1', event: 'state', data: { state: 'terminated', reason: '486 Busy Here' } });
    assert.deepEqual(eventToWire('sylkRTC-1', reg), {
      sylkrtc: 'account_event',
      account: 'a@b',
      event: 'registration_state',
      data: { state: 'failed', reason: '403 Forbidden' },
    });
    assert.deepEqual(eventToWire('sylkRTC-1', { sylkrtc: 'account-event', account: 'a@b', event: 'missed-session', originator: { uri: 'c@d' } }), {
      sylkrtc: 'account_event',
      account: 'a@b',
      event: 'missed_session',
      data: { originator: { uri: 'c@d' } },
    });
  });

  it('errors carry the transaction when there is one', () => {
    assert.equal(encodeError('t', 'x'), '{"sylkrtc":"error","transaction":"t","error":"x"}');
    assert.equal(encodeError(undefined, 'x'), '{"sylkrtc":"error","error":"x"}');
  });
});
