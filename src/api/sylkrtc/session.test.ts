/**
 * The per-connection session: one FIFO for requests and core events, SylkServer's answers, and the
 * guarantees sylkrtc.js depends on (reference §0). Driven through the core stand-ins; what the
 * client would receive is every frame the session sent, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeConnection } from './fake-core.test-support.ts';
import { LOCAL_TERMINATE_REASON, SylkRtcSession } from './session.ts';
import type { Dialect } from './codec.ts';

type Frame = Record<string, unknown>;

function open(dialect: Dialect = 'sylkRTC-2', limits: { maxPendingRequests?: number; terminateGraceMs?: number } = {}) {
  const conn = new FakeConnection('c1');
  const frames: Frame[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  let waiter: (() => void) | undefined;
  const session = new SylkRtcSession({
    connection: conn,
    dialect,
    limits,
    transport: {
      send: (text) => {
        frames.push(JSON.parse(text) as Frame);
        waiter?.();
      },
      close: (code, reason) => closes.push({ code, reason }),
    },
  });
  session.start();
  let tx = 0;
  const send = (msg: Frame): string => {
    const transaction = `t${++tx}`;
    session.receive(JSON.stringify({ transaction, ...msg }), false);
    return transaction;
  };
  /** Resolves once `count` frames have been sent in total. */
  const until = async (count: number, ms = 1000): Promise<Frame[]> => {
    const deadline = Date.now() + ms;
    while (frames.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${frames.length} of ${count} frames: ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, 20);
      });
    }
    return frames;
  };
  const settle = () => new Promise((r) => setTimeout(r, 30));
  return { conn, session, frames, closes, send, until, settle };
}

async function registered(t: ReturnType<typeof open>, aor = 'alice@example.com') {
  t.send({ sylkrtc: 'account-add', account: aor, password: '0123456789abcdef0123456789abcdef' });
  t.send({ sylkrtc: 'account-register', account: aor });
  await t.until(t.frames.length + 4);
  return t.conn.accounts.get(aor)!;
}

describe('opening', () => {
  it('sends ready-event first (sylkRTC-2) and {"sylkrtc":"event","event":"ready"} in sylkRTC-1', async () => {
    const v2 = open('sylkRTC-2');
    v2.send({ sylkrtc: 'ping' });
    assert.deepEqual(await v2.until(2), [{ sylkrtc: 'ready-event' }, { sylkrtc: 'ack', transaction: 't1' }]);
    const v1 = open('sylkRTC-1');
    assert.deepEqual(await v1.until(1), [{ sylkrtc: 'event', event: 'ready' }]);
  });
});

describe('accounts', () => {
  it('acks account-register before registering / registered (events after the ack that caused them)', async () => {
    const t = open();
    t.send({ sylkrtc: 'account-add', account: 'sip:alice@example.com', password: 'b1726872c344b6dc8365b774f8fd6412', display_name: 'Alice' });
    t.send({ sylkrtc: 'account-register', account: 'alice@example.com' });
    const frames = await t.until(5);
    assert.deepEqual(frames.slice(1), [
      { sylkrtc: 'ack', transaction: 't1' },
      { sylkrtc: 'ack', transaction: 't2' },
      { sylkrtc: 'account-event', account: 'alice@example.com', event: 'registration-state', state: 'registering' },
      { sylkrtc: 'account-event', account: 'alice@example.com', event: 'registration-state', state: 'registered' },
    ]);
    const added = t.conn.accounts.get('alice@example.com')!.added;
    assert.deepEqual(added, { aor: 'alice@example.com', secret: 'b1726872c344b6dc8365b774f8fd6412', secretKind: 'ha1', displayName: 'Alice' });
  });

  it('reports failed with the SIP reason, and drops the core\'s unregistered (sylkRTC has no such state)', async () => {
    const t = open();
    t.send({ sylkrtc: 'account-add', account: 'alice@example.com', password: 'x' });
    t.conn.accounts.get('alice@example.com');
    await t.until(2);
    t.conn.accounts.get('alice@example.com')!.registerOutcome = { state: 'failed', reason: '403 Forbidden' };
    t.send({ sylkrtc: 'account-register', account: 'alice@example.com' });
    const frames = await t.until(5);
    assert.deepEqual(frames[4], { sylkrtc: 'account-event', account: 'alice@example.com', event: 'registration-state', state: 'failed', reason: '403 Forbidden' });
    t.send({ sylkrtc: 'account-unregister', account: 'alice@example.com' });
    await t.until(6);
    await t.settle();
    assert.deepEqual(t.frames.slice(5), [{ sylkrtc: 'ack', transaction: 't3' }]);
  });

  it('answers SylkServer\'s errors for unknown and duplicate accounts', async () => {
    const t = open();
    t.send({ sylkrtc: 'account-add', account: 'alice@example.com', password: 'x' });
    t.send({ sylkrtc: 'account-add', account: 'alice@example.com', password: 'x' });
    t.send({ sylkrtc: 'account-add', account: 'eve@forbidden.test', password: 'x' });
    t.send({ sylkrtc: 'account-register', account: 'bob@example.com' });
    t.send({ sylkrtc: 'account-unregister', account: 'bob@example.com' });
    t.send({ sylkrtc: 'account-remove', account: 'bob@example.com' });
    t.send({ sylkrtc: 'account-devicetoken', account: 'bob@example.com', token: 'a', platform: 'b', device: 'c', app: 'd' });
    t.send({ sylkrtc: 'account-message', account: 'bob@example.com', uri: 'a@b', message_id: '1', content: 'x', content_type: 'text/plain', timestamp: 'now' });
    t.send({ sylkrtc: 'account-message', account: 'alice@example.com', uri: 'a@b', message_id: '1', content: 'x', content_type: 'text/plain', timestamp: 'now' });
    t.send({ sylkrtc: 'account-fetch-addressbook', account: 'alice@example.com' });
    const errors = (await t.until(11)).slice(2).map((f) => f.error);
    assert.deepEqual(errors, [
      'Account alice@example.com already added',
      'SIP domain not allowed: forbidden.test',
      'Unknown account specified for register: bob@example.com',
      'Unknown account specified for unregister: bob@example.com',
      'Unknown account specified for remove: bob@example.com',
      'Unknown account specified for token: bob@example.com',
      'Unknown account specified: bob@example.com',
      'Account not authenticated',
      'Account not authenticated',
    ]);
  });

  it('answers account-fetch-addressbook after registration (an error, which sylkrtc.js only logs)', async () => {
    const t = open();
    await registered(t);
    const tx = t.send({ sylkrtc: 'account-fetch-addressbook', account: 'alice@example.com' });
    const frames = await t.until(6);
    assert.deepEqual(frames[5], { sylkrtc: 'error', transaction: tx, error: 'Address book requests are not supported by this gateway' });
  });

  it('sends account-message to the core once registered; delivers message and disposition events', async () => {
    const t = open();
    const alice = await registered(t);
    t.send({ sylkrtc: 'account-message', account: 'alice@example.com', uri: 'sip:bob@example.com', message_id: 'm1', content: 'hi', content_type: 'text/plain', timestamp: '2026-01-01T00:00:00Z' });
    await t.until(6);
    assert.deepEqual(alice.commands.at(-1), [
      'message',
      { account: 'alice@example.com', to: 'bob@example.com', messageId: 'm1', contentType: 'text/plain', content: 'hi', timestamp: '2026-01-01T00:00:00Z' },
    ]);
    alice.fire('disposition', { messageId: 'm1', messageTimestamp: '2026-01-01T00:00:00Z', state: 'accepted', code: 202, reason: 'Accepted' });
    alice.fire('message', { sender: { uri: 'bob@example.com', displayName: '"Bob"' }, messageId: 'm2', contentType: 'text/plain', content: 'yo', timestamp: 't', dispositionNotification: ['positive-delivery', 'display'] });
    const frames = await t.until(8);
    assert.deepEqual(frames.slice(6), [
      { sylkrtc: 'account-event', account: 'alice@example.com', event: 'disposition-notification', message_id: 'm1', message_timestamp: '2026-01-01T00:00:00Z', state: 'accepted', code: 202, reason: 'Accepted' },
      {
        sylkrtc: 'account-event',
        account: 'alice@example.com',
        event: 'message',
        sender: { uri: 'bob@example.com', display_name: 'Bob' },
        timestamp: 't',
        message_id: 'm2',
        content_type: 'text/plain',
        content: 'yo',
        disposition_notification: ['positive-delivery', 'display'],
      },
    ]);
  });
});

describe('outgoing sessions', () => {
  it('processes session-create before the trickles sent right behind it, acking each in order', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    for (let i = 0; i < 5; i++) t.send({ sylkrtc: 'session-trickle', session: 's1', candidates: [{ candidate: `c${i}`, sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' }] });
    t.send({ sylkrtc: 'session-trickle', session: 's1', candidates: [] });
    const frames = await t.until(5 + 7 + 1);
    assert.deepEqual(
      frames.slice(5, 12).map((f) => [f.sylkrtc, f.transaction]),
      ['t3', 't4', 't5', 't6', 't7', 't8', 't9'].map((tx) => ['ack', tx]),
    );
    assert.deepEqual(frames[12], { sylkrtc: 'session-event', session: 's1', event: 'state', state: 'progress' });
    const call = t.conn.calls.get('s1')!;
    assert.deepEqual(call.commands[0], ['create', { id: 's1', account: 'alice@example.com', to: 'bob@example.com', sdp: 'offer' }]);
    assert.deepEqual(call.commands.at(-1), ['trickle', []]);
    assert.deepEqual(call.commands[1], ['trickle', [{ candidate: 'c0', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' }]]);
  });

  it('sends the answer SDP exactly once: in early-media, then accepted without SDP', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    await t.until(7);
    const call = t.conn.calls.get('s1')!;
    call.fire('state', { state: 'proceeding', code: 100 });
    call.fire('state', { state: 'ringing' });
    call.fire('state', { state: 'early-media', sdp: 'answer', callId: 'cid' });
    call.fire('state', { state: 'early-media', sdp: 'answer2', callId: 'cid' });
    call.fire('state', { state: 'accepted', sdp: 'answer', callId: 'cid' });
    call.fire('state', { state: 'established' });
    await t.until(12);
    await t.settle();
    assert.deepEqual(
      t.frames.slice(7).map(({ sylkrtc, session, event, ...rest }) => rest),
      [{ state: 'proceeding', code: 100 }, { state: 'ringing' }, { state: 'early-media', sdp: 'answer', call_id: 'cid' }, { state: 'accepted' }, { state: 'established' }],
    );
  });

  it('without early media, accepted carries the answer and the Call-ID', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    await t.until(7);
    t.conn.calls.get('s1')!.fire('state', { state: 'accepted', sdp: 'answer', callId: 'cid', headers: {} });
    assert.deepEqual((await t.until(8))[7], { sylkrtc: 'session-event', session: 's1', event: 'state', state: 'accepted', sdp: 'answer', call_id: 'cid' });
  });

  it('refuses a second session with the same id, an unknown account, and requests for unknown sessions', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    t.send({ sylkrtc: 'session-create', account: 'carol@example.com', session: 's2', uri: 'bob@example.com', sdp: 'offer' });
    t.send({ sylkrtc: 'session-answer', session: 's1', sdp: 'x' });
    t.send({ sylkrtc: 'session-trickle', session: 'nope', candidates: [] });
    t.send({ sylkrtc: 'session-terminate', session: 'nope' });
    const errors = (await t.until(11)).slice(6).filter((f) => f.sylkrtc === 'error').map((f) => f.error);
    assert.deepEqual(errors, ['Session ID s1 already in use', 'Unknown account specified: carol@example.com', 'Cannot answer outgoing session s1', 'Unknown session nope', 'Unknown session nope']);
  });

  it('reports terminated after the ack of session-terminate, once; later trickles hear "is terminated"', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    await t.until(7);
    const tx = t.send({ sylkrtc: 'session-terminate', session: 's1' });
    const frames = await t.until(9);
    assert.deepEqual(frames.slice(7), [
      { sylkrtc: 'ack', transaction: tx },
      { sylkrtc: 'session-event', session: 's1', event: 'state', state: 'terminated', reason: '200 OK' },
    ]);
    t.send({ sylkrtc: 'session-trickle', session: 's1', candidates: [] });
    t.send({ sylkrtc: 'session-terminate', session: 's1' });
    const more = await t.until(11);
    assert.deepEqual(more.slice(9).map((f) => f.error), ['Session s1 is terminated', 'Invalid state for terminating session s1: terminated']);
  });

  it('reports terminated itself when the core is slower than terminateGraceMs', async () => {
    const t = open('sylkRTC-2', { terminateGraceMs: 40 });
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    await t.until(7);
    const call = t.conn.calls.get('s1')!;
    call.terminateReason = undefined;
    const started = Date.now();
    t.send({ sylkrtc: 'session-terminate', session: 's1' });
    const frames = await t.until(9);
    assert.ok(Date.now() - started < 300, 'within sylkrtc.js\'s 300 ms');
    assert.deepEqual(frames[8], { sylkrtc: 'session-event', session: 's1', event: 'state', state: 'terminated', reason: LOCAL_TERMINATE_REASON });
    call.fire('state', { state: 'terminated', reason: '487 Request Terminated' });
    await t.settle();
    assert.equal(t.frames.length, 9, 'the late terminated is not sent again');
  });

  it('passes update, DTMF and in-dialog messages', async () => {
    const t = open();
    await registered(t);
    t.send({ sylkrtc: 'session-create', account: 'alice@example.com', session: 's1', uri: 'bob@example.com', sdp: 'offer' });
    await t.until(7);
    const call = t.conn.calls.get('s1')!;
    call.fire('update', { state: 'received', sdp: 'reoffer' });
    await t.until(8);
    t.send({ sylkrtc: 'session-update', session: 's1', sdp: 'reanswer' });
    t.send({ sylkrtc: 'session-dtmf-info', session: 's1', digit: '5', duration: 160 });
    t.send({ sylkrtc: 'session-dtmf-info', session: 's1', digit: '#' });
    t.send({ sylkrtc: 'session-message', session: 's1', message_id: 'm', content: 'c', content_type: 'text/plain', timestamp: 'ts' });
    await t.until(12);
    assert.deepEqual(t.frames[7], { sylkrtc: 'session-event', session: 's1', event: 'update', state: 'received', sdp: 'reoffer' });
    assert.deepEqual(call.commands.slice(1), [
      ['update', 'reanswer'],
      ['dtmf', '5', 160],
      ['dtmf', '#', 100],
      ['message', { messageId: 'm', contentType: 'text/plain', content: 'c', timestamp: 'ts' }],
    ]);
  });
});

describe('incoming sessions', () => {
  it('reports incoming-session, takes session-answer, then accepted; missed-session after a cancel', async () => {
    const t = open();
    await registered(t);
    const call = t.conn.ring('alice@example.com', 'in1', { uri: 'bob@example.com', displayName: 'Bob' });
    const frames = await t.until(6);
    assert.deepEqual(frames[5], {
      sylkrtc: 'account-event',
      account: 'alice@example.com',
      event: 'incoming-session',
      session: 'in1',
      originator: { uri: 'bob@example.com', display_name: 'Bob' },
      sdp: 'v=0 offer',
      call_id: 'callid-in1',
    });
    t.send({ sylkrtc: 'session-answer', session: 'in1', sdp: 'answer' });
    await t.until(7);
    call.fire('state', { state: 'accepted' });
    assert.deepEqual((await t.until(8))[7], { sylkrtc: 'session-event', session: 'in1', event: 'state', state: 'accepted' });
    assert.deepEqual(call.commands, [['answer', 'answer']]);

    const missed = t.conn.ring('alice@example.com', 'in2', { uri: 'carol@example.com' });
    missed.fire('state', { state: 'terminated', reason: '487 Request Terminated' });
    t.conn.accounts.get('alice@example.com')!.fire('missedCall', { uri: 'carol@example.com' });
    const last = await t.until(11);
    assert.deepEqual(last.slice(8).map((f) => f.event), ['incoming-session', 'state', 'missed-session']);
    assert.deepEqual(last[10], { sylkrtc: 'account-event', account: 'alice@example.com', event: 'missed-session', originator: { uri: 'carol@example.com' } });
  });

  it('words a bad state the SylkServer way (early-media as early_media)', async () => {
    const t = open();
    await registered(t);
    const call = t.conn.ring('alice@example.com', 'in1', { uri: 'bob@example.com' });
    call.state = 'early-media';
    t.send({ sylkrtc: 'session-answer', session: 'in1', sdp: 'answer' });
    assert.equal((await t.until(7))[6]!.error, 'Invalid state for answering session in1: early_media');
  });
});

describe('sylkRTC-1 events', () => {
  it('nests event fields under data, with underscored names', async () => {
    const t = open('sylkRTC-1');
    t.send({ sylkrtc: 'add_account', account: 'alice@example.com', password: 'x' });
    t.send({ sylkrtc: 'register', account: 'alice@example.com' });
    await t.until(5);
    t.conn.ring('alice@example.com', 'in1', { uri: 'bob@example.com' });
    const frames = await t.until(6);
    assert.deepEqual(frames.slice(3), [
      { sylkrtc: 'account_event', account: 'alice@example.com', event: 'registration_state', data: { state: 'registering' } },
      { sylkrtc: 'account_event', account: 'alice@example.com', event: 'registration_state', data: { state: 'registered' } },
      {
        sylkrtc: 'account_event',
        account: 'alice@example.com',
        session: 'in1',
        event: 'incoming_session',
        data: { originator: { uri: 'bob@example.com' }, sdp: 'v=0 offer', call_id: 'callid-in1' },
      },
    ]);
  });
});

describe('bad input', () => {
  it('answers every bad frame and keeps the connection', async () => {
    const t = open();
    t.session.receive('{not json', false);
    t.session.receive(Buffer.from([1, 2, 3]), true);
    t.session.receive('[1,2]', false);
    t.session.receive('{"transaction":"a"}', false);
    t.session.receive('{"sylkrtc":"fly","transaction":"b"}', false);
    t.session.receive('{"sylkrtc":"ping"}', false);
    t.session.receive('{"sylkrtc":"session-create","transaction":"c","session":"s","account":"a@b","uri":"c@d","sdp":5}', false);
    t.session.receive('{"sylkrtc":"videoroom-join","transaction":"d","session":"s","account":"a@b","uri":"c@d","sdp":"x"}', false);
    t.session.receive('{"sylkrtc":"ping","transaction":"e"}', false);
    const frames = await t.until(10);
    assert.deepEqual(frames.slice(1), [
      { sylkrtc: 'error', error: 'Invalid JSON message' },
      { sylkrtc: 'error', error: 'Binary messages are not supported' },
      { sylkrtc: 'error', error: 'Message is not a JSON object' },
      { sylkrtc: 'error', transaction: 'a', error: 'could not get WebSocket message type' },
      { sylkrtc: 'error', transaction: 'b', error: 'unknown WebSocket request: fly' },
      { sylkrtc: 'error', error: "Mandatory property 'transaction' of 'PingRequest' object is missing" },
      { sylkrtc: 'error', transaction: 'c', error: "Invalid value for 'sdp' property: 5" },
      { sylkrtc: 'error', transaction: 'd', error: 'Video rooms are not supported by this gateway' },
      { sylkrtc: 'ack', transaction: 'e' },
    ]);
    assert.deepEqual(t.closes, []);
  });

  it('closes with 1008 after an error when more requests wait than the limit', async () => {
    const t = open('sylkRTC-2', { maxPendingRequests: 4 });
    await t.until(1);
    // The first ping starts at once; four more wait; the sixth is one too many.
    for (let i = 0; i < 6; i++) t.send({ sylkrtc: 'ping' });
    assert.deepEqual(t.closes, [{ code: 1008, reason: 'Too many pending requests' }]);
    assert.deepEqual(t.frames.at(-1), { sylkrtc: 'error', transaction: 't6', error: 'Too many pending requests (limit 4)' });
    await t.settle();
    assert.equal(t.conn.closed, true, 'the core connection is closed too');
    assert.equal(t.frames.length, 2, 'nothing is answered after the close');
  });

  it('closes the socket (1001) when the core closes the connection', async () => {
    const t = open();
    await t.conn.close();
    assert.deepEqual(t.closes, [{ code: 1001, reason: 'Gateway closing' }]);
  });
});
