/**
 * Core refusals become SylkServer's handler texts (reference §2.5), and PROTOCOL.md documents every
 * error code and every request the door knows.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CoreError } from '../../core/types.ts';
import { SYLKRTC_ERROR_CODES, apiError, toWireError } from './errors.ts';
import { REQUESTS } from './validation.ts';

const text = (...args: Parameters<typeof toWireError>): string => toWireError(...args).wireMessage;

describe('core errors in SylkServer words', () => {
  it('words account errors per request', () => {
    const unknown = new CoreError('account-unknown', 'x', { aor: 'a@b' });
    assert.equal(text('account-remove', unknown), 'Unknown account specified for remove: a@b');
    assert.equal(text('account-register', unknown), 'Unknown account specified for register: a@b');
    assert.equal(text('account-unregister', unknown), 'Unknown account specified for unregister: a@b');
    assert.equal(text('account-devicetoken', unknown), 'Unknown account specified for token: a@b');
    assert.equal(text('session-create', unknown, { account: 'a@b' }), 'Unknown account specified: a@b');
    assert.equal(text('account-add', new CoreError('account-exists', 'x', { aor: 'a@b' })), 'Account a@b already added');
    assert.equal(text('account-add', new CoreError('domain-not-allowed', 'x', { domain: 'b' })), 'SIP domain not allowed: b');
    assert.equal(text('account-message', new CoreError('account-not-registered', 'x')), 'Account not authenticated');
  });

  it('words session errors per request, with SylkServer\'s state names', () => {
    const ctx = { session: 's1' };
    const bad = (state: string) => new CoreError('call-bad-state', 'x', { state });
    assert.equal(text('session-create', new CoreError('call-exists', 'x'), ctx), 'Session ID s1 already in use');
    assert.equal(text('session-answer', new CoreError('call-unknown', 'x'), ctx), 'Unknown session s1');
    assert.equal(text('session-trickle', new CoreError('call-terminated', 'x'), ctx), 'Session s1 is terminated');
    assert.equal(text('session-answer', bad('early-media'), ctx), 'Invalid state for answering session s1: early_media');
    assert.equal(text('session-terminate', bad('terminated'), ctx), 'Invalid state for terminating session s1: terminated');
    assert.equal(text('session-update', bad('progress'), ctx), 'Invalid state for updating session s1: progress');
    assert.equal(text('session-message', bad('progress'), ctx), 'Invalid state session s1: progress for sending messages');
    assert.equal(text('session-dtmf-info', bad('connecting'), ctx), 'Invalid state session s1: connecting for DTMF info');
  });

  it('says Internal error for anything unexpected, and keeps door errors as they are', () => {
    assert.equal(text('ping', new Error('boom')), 'Internal error');
    assert.equal(text('ping', new CoreError('internal', 'boom')), 'Internal error');
    assert.equal(text('ping', apiError.notSupported('Video rooms')), 'Video rooms are not supported by this gateway');
  });
});

describe('PROTOCOL.md', () => {
  const doc = readFileSync(new URL('./PROTOCOL.md', import.meta.url), 'utf8');
  it('lists every error code', () => {
    for (const code of Object.keys(SYLKRTC_ERROR_CODES)) assert.ok(doc.includes(`\`${code}\``), code);
  });
  it('documents every request', () => {
    for (const name of Object.keys(REQUESTS)) assert.ok(doc.includes(`\`${name}\``), name);
  });
  it('shows an example of every event', () => {
    for (const event of ['registration-state', 'incoming-session', 'missed-session', 'message', 'disposition-notification', 'update']) {
      assert.ok(doc.includes(`"event":"${event}"`), event);
    }
    for (const state of ['progress', 'proceeding', 'ringing', 'early-media', 'accepted', 'established', 'terminated']) {
      assert.ok(doc.includes(`"event":"state","state":"${state}"`), state);
    }
  });
});
