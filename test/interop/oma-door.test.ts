/**
 * The REST door against a real Kamailio and SIPp, beyond the built-in flow: two users on two
 * notification channels call each other through Kamailio and see the notifications of reference
 * §1.7 in order (flat SDP out, both SDP encodings in), hold with a re-INVITE, a decline; and the
 * channel lifecycle: lifetime expiry mid-call, a second WebSocket on the same channel, a missed
 * connAck, a client that vanishes without DELETE, and a registration the network ends. Evidence:
 * the notifications each client received, SIPp's trace, Kamailio's location table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { CHANNEL_CLOSE_CODES } from '../../src/api/oma/index.ts';
import { OmaTestClient } from '../../src/api/oma/rest-client.test-support.ts';
import { parseConfig, startGatewayService, type GatewayService } from '../../src/gateway/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { startSipp } from './peers/sipp.ts';

const DOMAIN = 'portico.test';
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');
const HOLD = OFFER.replace('a=sendrecv', 'a=sendonly').replace('1 1 IN', '1 2 IN');
const HELD = ANSWER.replace('a=sendrecv', 'a=recvonly').replace('1 1 IN', '1 2 IN');
const NUMBERS = { alice: '+12065550201', bob: '+12065550202', carol: '+12065550203', dave: '+12065550204', erin: '+12065550205', frank: '+12065550206' };
const aor = (msisdn: string) => `s:${msisdn}`;
/** Each client's registration resource. */
const registrations = new WeakMap<OmaTestClient, string>();

let kamailio: Kamailio;
let service: GatewayService;
let base: string;

before(async () => {
  const passwords = Object.fromEntries(Object.values(NUMBERS).map((n) => [n, `pw${n.slice(-3)}`]));
  kamailio = await startKamailio({ users: passwords, domains: [DOMAIN] });
  const users = Object.fromEntries(Object.entries(NUMBERS).map(([u, n]) => [u, { lines: [{ msisdn: n, password: passwords[n]! }] }]));
  service = await startGatewayService(
    parseConfig({
      http: { port: 0 },
      sip: { port: 0, transports: ['udp'], outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`, domains: [DOMAIN], timers: { t1: 100, t2: 800, t4: 1000 }, registration: { expires: 60, retryMs: 0 } },
      log: { level: 'silent' },
      metrics: { enabled: false },
      media: { mode: 'pass-through' },
      shutdown: { timeoutMs: 1500 },
      oma: { enabled: true, users, channel: { minLifetimeS: 1, checkIntervalS: 1 } },
    }),
    { logger: pino({ level: 'silent' }), doors: () => ({}) },
  );
  base = service.http.url();
});

after(async () => {
  await service?.close();
  await kamailio?.stop();
});

async function ready(user: keyof typeof NUMBERS, enablers: Array<'vvoip' | 'chat' | 'racm'> = ['vvoip', 'racm'], lifetime = 3600): Promise<OmaTestClient> {
  const c = await OmaTestClient.login(base, user);
  await c.openChannel({ channelType: 'WebSockets', channelData: { maxNotifications: 5 }, channelLifetime: lifetime, clientCorrelator: user });
  for (const e of enablers) assert.equal((await c.subscribe(e)).status, 201);
  const reg = await c.register();
  assert.equal(reg.status, 200, reg.text);
  assert.equal(reg.json.registrationInformation.regInfo[0].regStatus.registrationState, 'Registered');
  registrations.set(c, reg.json.registrationInformation.resourceURL);
  return c;
}

async function until(test: () => Promise<boolean> | boolean, label: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statuses = (c: OmaTestClient, callId: string) => c.all('sessionStatusNotification').filter((n) => String(n.callObjectRef).endsWith(`/${callId}`)).map((n) => n.status);

describe('two users on two channels call each other through Kamailio', () => {
  let alice: OmaTestClient;
  let bob: OmaTestClient;

  before(async () => {
    alice = await ready('alice');
    bob = await ready('bob');
  });

  after(async () => {
    for (const c of [alice, bob]) if (c) await c.req('DELETE', c.channelResource);
    alice?.close();
    bob?.close();
  });

  it('alice calls bob (nested offer in), bob answers (nested answer in); both see §1.7 in order, flat SDP out; hold; alice hangs up', async () => {
    const post = await alice.req('POST', '/vvoip/vvoip/v1/{sid}/sessions', {
      vvoipSessionInformation: { originatorAddress: `tel:${NUMBERS.alice}`, receiverAddress: `tel:${NUMBERS.bob}`, receiverName: 'Bob', offer: { sdp: OFFER }, clientCorrelator: 'c1' },
    });
    assert.equal(post.status, 201, post.text);
    const info = post.json.vvoipSessionInformation;
    assert.equal(info.status, 'Initial');
    assert.equal(post.headers.location, info.resourceURL);
    const callId = String(info.resourceURL).split('/').pop()!;
    // A retry with the same clientCorrelator creates nothing new.
    const retry = await alice.req('POST', '/vvoip/vvoip/v1/{sid}/sessions', { vvoipSessionInformation: { originatorAddress: `tel:${NUMBERS.alice}`, receiverAddress: `tel:${NUMBERS.bob}`, offer: { sdp: OFFER }, clientCorrelator: 'c1' } });
    assert.equal(retry.json.vvoipSessionInformation.resourceURL, info.resourceURL);

    const invitation = await bob.waitFor('sessionInvitationNotification');
    assert.equal(invitation.sdp, OFFER, 'flat SDP, unchanged through Kamailio');
    assert.equal(invitation.originatorAddress, `tel:${NUMBERS.alice}`);
    assert.equal(invitation.receiverAddress, `tel:${NUMBERS.bob}`);
    assert.equal(invitation.callbackData, 'vvoip');
    assert.equal(invitation.verificationStatus, 'No-TN-Validation');
    await alice.waitFor('sessionStatusNotification', (n) => n.status === 'Ringing' && n.responseCode === 180);
    const put = await bob.req('PUT', `${invitation.callObjectRef}/status`, { receiverSessionStatus: { status: 'Connected', responseCode: '200', answer: { sdp: ANSWER } } });
    assert.equal(put.status, 200, put.text);
    const connected = await alice.waitFor('sessionStatusNotification', (n) => n.status === 'Connected');
    assert.equal(connected.sdp, ANSWER);
    assert.equal(connected.responseCode, 200);
    await bob.waitFor('sessionStatusNotification', (n) => n.status === 'Connected');
    assert.deepEqual(statuses(alice, callId), ['Ringing', 'Connected']);

    // Hold: a re-INVITE with alice's sendonly offer; bob answers the re-offer.
    assert.equal((await alice.req('PUT', `/vvoip/vvoip/v1/{sid}/sessions/${callId}/status`, { receiverSessionStatus: { status: 'Hold', offer: { sdp: HOLD } } })).status, 200);
    const reoffer = await bob.waitFor('sessionStatusNotification', (n) => n.status === 'Hold');
    assert.equal(reoffer.sdp, HOLD);
    assert.equal((await bob.req('PUT', `${invitation.callObjectRef}/status`, { receiverSessionStatus: { status: 'Hold', sdp: HELD } })).status, 200);
    const held = await alice.waitFor('sessionStatusNotification', (n) => n.status === 'Hold');
    assert.equal(held.sdp, HELD);

    assert.equal((await alice.req('DELETE', `/vvoip/vvoip/v1/{sid}/sessions/${callId}`)).status, 204);
    await bob.waitFor('sessionStatusNotification', (n) => n.status === 'Terminated');
    await alice.waitFor('sessionStatusNotification', (n) => n.status === 'Terminated');
    assert.deepEqual(statuses(alice, callId), ['Ringing', 'Connected', 'Hold', 'Terminated']);
    const seq = alice.all('sessionStatusNotification').map((n) => n.sequenceNumber);
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'sequence numbers rise');
    assert.equal((await alice.req('GET', `/vvoip/vvoip/v1/{sid}/sessions/${callId}`)).status, 404);
  });

  it('bob declines: alice sees Busy 486; bob cannot touch alice’s resources', async () => {
    const post = await bob.req('POST', '/vvoip/v1/{sid}/sessions', { vvoipSessionInformation: { originatorAddress: NUMBERS.bob, receiverAddress: NUMBERS.alice, sdp: OFFER } });
    assert.equal(post.status, 201);
    const callId = String(post.json.vvoipSessionInformation.resourceURL).split('/').pop()!;
    const inv = await alice.waitFor('sessionInvitationNotification', (n) => n.originatorAddress === `tel:${NUMBERS.bob}`);
    // Bob's session headers on alice's call: a path naming another session is 403.
    assert.equal((await bob.req('DELETE', inv.callObjectRef)).status, 403);
    assert.equal((await alice.req('DELETE', inv.callObjectRef)).status, 204);
    const busy = await bob.waitFor('sessionStatusNotification', (n) => String(n.callObjectRef).endsWith(callId) && n.status === 'Busy');
    assert.equal(busy.responseCode, 486);
  });
});

describe('channel lifecycle and clean-up', () => {
  it('lifetime expiry mid-call: the socket closes, the call gets its BYE, the binding is removed', async () => {
    const c = await ready('carol', ['vvoip', 'racm'], 2);
    const sipp = await startSipp({ scenario: 'uas-invite-wait-bye', calls: 1 });
    try {
      const post = await c.req('POST', '/vvoip/vvoip/v1/{sid}/sessions', { vvoipSessionInformation: { originatorAddress: NUMBERS.carol, receiverAddress: sipp.uri('svc'), sdp: OFFER } });
      assert.equal(post.status, 201, post.text);
      await c.waitFor('sessionStatusNotification', (n) => n.status === 'Connected');
      c.answerConnCheck = false; // and the client sends no connCheck: nothing resets the lifetime
      const code = await new Promise<number>((resolve) => c.ws!.once('close', (cc) => resolve(cc)));
      assert.ok(code === CHANNEL_CLOSE_CODES.normal || code === CHANNEL_CLOSE_CODES.noConnAck, `closed with ${code}`);
      assert.equal((await sipp.waitExit(5000)).code, 0, 'SIPp got its BYE');
      assert.deepEqual(sipp.received().map((m) => m.method ?? m.status), ['INVITE', 'ACK', 'BYE']);
      await until(async () => (await kamailio.locations(aor(NUMBERS.carol))).length === 0, 'carol unbound');
      await until(() => (c.req('GET', '/racm/v1/{sid}/lineinfo').then((r) => r.status === 401)), 'session gone: 401');
    } finally {
      await sipp.stop();
    }
  });

  it('a second WebSocket on the channel replaces the first (4001) and gets the notifications', async () => {
    const c = await ready('dave');
    const first = c.ws!;
    const closed = new Promise<number>((resolve) => first.once('close', (code) => resolve(code)));
    const second = await c.connect(c.channelUrl);
    assert.equal(await closed, CHANNEL_CLOSE_CODES.replaced);
    assert.equal(second.protocol, 'notificationchannel-netapi-rest.openmobilealliance.org');
    const before = c.notifications.length;
    const del = await c.req('DELETE', registrations.get(c)!);
    assert.equal(del.status, 204);
    const gone = await c.waitFor('registrationNotification', (n) => n.registrationState === 'Unregistered');
    assert.equal(gone.msisdn, NUMBERS.dave);
    assert.ok(c.notifications.length > before, 'the second socket got it');
    await until(async () => (await kamailio.locations(aor(NUMBERS.dave))).length === 0, 'dave unbound');
    assert.equal((await c.req('DELETE', c.channelResource)).status, 204);
    second.terminate();
  });

  it('a missed connAck closes the socket (4002); the channel then expires and the registration goes', async () => {
    const c = await ready('erin', ['racm'], 3);
    c.answerConnCheck = false;
    const code = await new Promise<number>((resolve) => c.ws!.once('close', (cc) => resolve(cc)));
    assert.equal(code, CHANNEL_CLOSE_CODES.noConnAck);
    assert.ok(c.frames.some((f) => f.connCheck?.newChannelLifetime === 3), 'a connCheck with the lifetime came first');
    await until(async () => (await kamailio.locations(aor(NUMBERS.erin))).length === 0, 'erin unbound', 6000);
  });

  it('a client that vanishes without DELETE: the channel expires, the session ends, the binding goes', async () => {
    const c = await ready('frank', ['racm'], 2);
    assert.equal((await kamailio.locations(aor(NUMBERS.frank))).length, 1);
    // Keep answering connChecks on the socket until it is cut: the lifetime is refreshed only by connAck.
    c.ws!.terminate();
    await until(async () => (await kamailio.locations(aor(NUMBERS.frank))).length === 0, 'frank unbound', 6000);
    assert.equal((await c.req('GET', '/racm/v1/{sid}/lineinfo')).status, 401);
    const ws = new WebSocket(c.channelUrl);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    assert.equal(status, 404, 'the channel URL is gone');
  });
});
