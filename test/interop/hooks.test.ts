/**
 * REST hooks end to end: sylkRTC clients on a real Gateway whose SIP side is Kamailio (registrar,
 * proxy, digest) and SIPp, and whose web application is EchoApp running as its own process. The
 * evidence is what crossed each wire: the hook requests (and their WCS bodies) the backend
 * received, the frames each client got, what Kamailio bound and what SIPp was answered.
 *
 * Covered: the hooks of a connect → register → call → answer → hangup → message round, in order,
 * per connection; a refused connect (the client gets the backend's reason); SIP credentials
 * injected at connect (the REGISTER authenticates with them, the client never had them); a callee
 * rewritten (the INVITE reaches the new target); an incoming call and an incoming MESSAGE refused
 * (the SIPp caller gets 403).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SylkRtcDoor } from '../../src/api/sylkrtc/index.ts';
import { Gateway } from '../../src/core/index.ts';
import { RestHooks, hooksConfig } from '../../src/hooks/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { Backend, Client, DOMAIN, ha1, startHookedGateway, type Frame } from './support/hooks-peers.ts';
import { makeTempDir } from './peers/processes.ts';
import { startSipp } from './peers/sipp.ts';

const PASSWORDS = { alice: 'a-secret', bob: 'b-secret', carol: 'c-secret' };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const ANSWER = OFFER.replace('42000', '42002');

/** A SIPp caller that expects the INVITE (or MESSAGE) to be refused with 403. */
function refusedScenario(dir: string, method: 'INVITE' | 'MESSAGE'): string {
  const body =
    method === 'INVITE'
      ? 'Content-Type: application/sdp\n      Content-Length: [len]\n\n      v=0\n      o=sipp 1 1 IN IP4 [local_ip]\n      s=-\n      c=IN IP4 [media_ip]\n      t=0 0\n      m=audio [media_port] RTP/AVP 0\n'
      : 'Content-Type: text/plain\n      Content-Length: [len]\n\n      hello';
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refused-${method}">
  <send retrans="500"><![CDATA[

      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: <sip:sippcaller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 ${method}
      Contact: <sip:sippcaller@[local_ip]:[local_port]>
      ${body}
    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="403"/>
  ${
    method === 'INVITE'
      ? `<send><![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-2];rport
      Max-Forwards: 70
      From: <sip:sippcaller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0

    ]]></send>`
      : ''
  }
</scenario>
`;
  const file = join(dir, `refused-${method}.xml`);
  writeFileSync(file, xml);
  return file;
}

let kamailio: Kamailio;
let backend: Backend;
let hooks: RestHooks;
let gateway: Gateway;
let door: SylkRtcDoor;
let server: Server;
let url: string;
const clients: Client[] = [];

async function client(): Promise<Client> {
  const c = await Client.open(url);
  clients.push(c);
  return c;
}

before(async () => {
  [kamailio, backend] = await Promise.all([
    startKamailio({ users: PASSWORDS, domains: [DOMAIN] }),
    Backend.start({ credentials: { carol: { sipPassword: PASSWORDS.carol } }, callees: { sales: `bob@${DOMAIN}` } }),
  ]);
  hooks = new RestHooks({ config: hooksConfig({ nodeId: 'node1@127.0.0.1', apps: [{ name: 'shop', key: 'shopKey', url: `${backend.url}/Shop` }] }), closeTimeoutMs: 500 });
  ({ gateway, door, server, url } = await startHookedGateway(kamailio.port('udp'), hooks));
});

after(async () => {
  for (const c of clients) if (c.ws.readyState === WebSocket.OPEN) c.ws.close();
  await door?.close();
  await new Promise((resolve) => server?.close(resolve));
  await gateway?.close();
  await hooks?.close();
  await Promise.all([kamailio?.stop(), backend?.stop()]);
});

const alice = `alice@${DOMAIN}`;
const bob = `bob@${DOMAIN}`;
let a: Client;
let b: Client;

/** What the backend received for one connection, as `method` or `method STATUS`. */
async function sequence(c: Client): Promise<string[]> {
  return (await backend.hooks()).filter((h) => h.body.sessionId === c.sessionId).map((h) => (typeof h.body.status === 'string' && h.method !== 'call' && h.method !== 'answer' && h.method !== 'OnCallEvent' ? `${h.method} ${h.body.status}` : h.method));
}

async function until(test: () => Promise<boolean>, label: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('REST hooks through Kamailio and SIPp', () => {
  beforeEach(() => backend.control({ reset: true }));

  it('a connect → register → call → answer → hangup → message round: every hook, in order, with WCS bodies', async () => {
    a = await client();
    b = await client();
    await a.ok('account-add', { account: alice, password: ha1('alice', PASSWORDS.alice), display_name: 'Alice' });
    await b.ok('account-add', { account: bob, password: ha1('bob', PASSWORDS.bob) });
    await Promise.all([a.ok('account-register', { account: alice }), b.ok('account-register', { account: bob })]);
    await Promise.all([a.registered(alice), b.registered(bob)]);
    // Status events never hold up signalling, so a direct invocation may overtake one still queued;
    // the round waits for each event before the next direct request, to check the order of each kind.
    const reached = (c: Client, hook: string) => until(async () => (await sequence(c)).includes(hook), hook);
    await Promise.all([reached(a, 'RegistrationStatusEvent REGISTERED'), reached(b, 'RegistrationStatusEvent REGISTERED')]);

    await a.ok('session-create', { account: alice, session: 's1', uri: bob, sdp: OFFER });
    const incoming = await b.waitFor((f) => f.event === 'incoming-session', 'incoming-session');
    await b.ok('session-answer', { session: incoming.session, sdp: ANSWER });
    await a.state('s1', 'established');
    await a.ok('session-terminate', { session: 's1' });
    await a.state('s1', 'terminated');
    await b.state(String(incoming.session), 'terminated');
    await Promise.all([reached(a, 'CallStatusEvent FINISH'), reached(b, 'CallStatusEvent FINISH')]);
    await a.ok('account-message', { account: alice, uri: bob, message_id: 'm1', content: 'hi', content_type: 'text/plain', timestamp: '2026-11-23T10:00:00.000Z' });
    await b.waitFor((f) => f.event === 'message' && f.message_id === 'm1', 'message');
    await until(async () => (await sequence(a)).includes('MessageStatusEvent ACCEPTED'), 'MessageStatusEvent');

    assert.deepEqual(await sequence(a), [
      'connect',
      'ConnectionStatusEvent ESTABLISHED',
      'RegistrationStatusEvent REGISTERED',
      'call',
      'CallStatusEvent TRYING',
      'CallStatusEvent RING',
      'CallStatusEvent ESTABLISHED',
      'hangup',
      'CallStatusEvent FINISH',
      'sendMessage',
      'MessageStatusEvent ACCEPTED',
    ]);
    await until(async () => (await sequence(b)).includes('OnMessageEvent RECEIVED'), 'OnMessageEvent');
    assert.deepEqual(await sequence(b), [
      'connect',
      'ConnectionStatusEvent ESTABLISHED',
      'RegistrationStatusEvent REGISTERED',
      'OnCallEvent',
      'answer',
      'CallStatusEvent ESTABLISHED',
      'CallStatusEvent FINISH',
      'OnMessageEvent RECEIVED',
    ]);

    const got = await backend.hooks();
    const of = (c: Client, method: string) => got.find((h) => h.body.sessionId === c.sessionId && h.method === method)!.body;
    for (const h of got) assert.deepEqual([h.body.nodeId, h.body.appKey, typeof h.body.sessionId], ['node1@127.0.0.1', 'shopKey', 'string'], h.method);
    const connect = of(a, 'connect');
    assert.deepEqual(
      [connect.sipLogin, connect.sipDomain, connect.sipVisibleName, connect.sipPassword, connect.sipRegisterRequired, connect.mediaProviders],
      ['alice', DOMAIN, 'Alice', ha1('alice', PASSWORDS.alice), true, ['WebRTC']],
    );
    const call = of(a, 'call');
    assert.deepEqual([call.callId, call.caller, call.callee, call.incoming, call.status, call.hasAudio, call.hasVideo], ['s1', alice, bob, false, 'PENDING', true, false]);
    const onCall = of(b, 'OnCallEvent');
    assert.deepEqual([onCall.callId, onCall.caller, onCall.callee, onCall.incoming, onCall.status, onCall.visibleName], [incoming.session, alice, bob, true, 'PENDING', 'Alice']);
    const message = of(a, 'sendMessage');
    assert.deepEqual([message.id, message.from, message.to, message.body, message.contentType], ['m1', alice, bob, 'hi', 'text/plain']);
    const status = got.find((h) => h.body.sessionId === a.sessionId && h.method === 'MessageStatusEvent')!.body;
    assert.deepEqual([status.id, status.status, status.info, status.to], ['m1', 'ACCEPTED', '200 OK', bob]);
  });

  it('a connect the backend refuses: the client gets the reason, nothing is registered', async () => {
    await backend.control({ method: 'connect', status: 403, reason: 'Unknown customer' });
    const c = await client();
    const reply = await c.request('account-add', { account: `carol@${DOMAIN}`, password: ha1('carol', PASSWORDS.carol) });
    assert.deepEqual([reply.sylkrtc, reply.error], ['error', 'hook connect refused (403 Forbidden): Unknown customer']);
    const again = await c.request('account-register', { account: `carol@${DOMAIN}` });
    assert.equal(again.error, `Unknown account specified for register: carol@${DOMAIN}`);
    assert.deepEqual(await kamailio.locations('carol'), []);
  });

  it('injects SIP credentials at connect: the REGISTER authenticates with them; the client never had them', async () => {
    const c = await client();
    const carol = `carol@${DOMAIN}`;
    // The client sends a wrong HA1; alone it would get 401.
    await c.ok('account-add', { account: carol, password: '0'.repeat(32) });
    await c.ok('account-register', { account: carol });
    await c.registered(carol);
    assert.equal((await kamailio.locations('carol')).length, 1, 'Kamailio bound carol: the digest used the injected password');
    const connect = (await backend.hooks()).find((h) => h.body.sessionId === c.sessionId && h.method === 'connect')!.body;
    assert.equal(connect.sipPassword, '0'.repeat(32), 'the backend saw what the client sent, and answered with the real one');
    assert.ok(!JSON.stringify(c.frames).includes(PASSWORDS.carol), 'the password never reached the client');
    c.ws.close();
    await c.closed;
  });

  it('rewrites the callee: the INVITE goes to the number the backend chose', async () => {
    await until(async () => (await backend.hooks()).some((h) => h.body.sessionId === a.sessionId && h.method === 'connect'), 'alice connected');
    // The backend opted in for callee rewriting in its answer to alice's connect (restClientConfig).
    await a.ok('session-create', { account: alice, session: 's2', uri: 'sales', sdp: OFFER });
    const incoming = await b.waitFor((f) => f.event === 'incoming-session' && f.session !== undefined && (f.originator as Frame).uri === alice && b.frames.indexOf(f) > b.frames.findIndex((x) => x.state === 'terminated'), 'the rewritten INVITE at bob');
    assert.equal(incoming.account, bob);
    await a.ok('session-terminate', { session: 's2' });
    await a.state('s2', 'terminated');
    const call = (await backend.hooks()).filter((h) => h.body.sessionId === a.sessionId && h.method === 'call').at(-1)!.body;
    assert.equal(call.callee, 'sales', 'the backend saw what the client dialled');
  });

  it('an incoming call the backend refuses (OnCallEvent 403): the SIPp caller gets 403, the client hears nothing', async () => {
    await backend.control({ method: 'OnCallEvent', status: 403, reason: 'Do not disturb' });
    const before = b.frames.filter((f) => f.event === 'incoming-session').length;
    const dir = makeTempDir('portico-hooks-sipp-');
    const sipp = await startSipp({ scenario: refusedScenario(dir, 'INVITE'), remote: kamailio.address('udp'), service: 'bob', calls: 1 });
    try {
      const { code } = await sipp.waitExit(5000);
      assert.equal(code, 0, 'SIPp got its 403');
      assert.ok(sipp.received().some((m) => m.status === 403));
      assert.ok(!sipp.received().some((m) => m.status === 180), 'bob never rang');
    } finally {
      await sipp.stop();
    }
    assert.equal(b.frames.filter((f) => f.event === 'incoming-session').length, before);
    const onCall = (await backend.hooks()).filter((h) => h.body.sessionId === b.sessionId && h.method === 'OnCallEvent').at(-1)!.body;
    assert.match(String(onCall.caller), /^sippcaller@/);
  });

  it('an incoming MESSAGE the backend refuses (OnMessageEvent 403): the SIPp sender gets 403, the client gets nothing', async () => {
    await backend.control({ method: 'OnMessageEvent', status: 403 });
    const before = b.frames.filter((f) => f.event === 'message').length;
    const dir = makeTempDir('portico-hooks-sipp-');
    const sipp = await startSipp({ scenario: refusedScenario(dir, 'MESSAGE'), remote: kamailio.address('udp'), service: 'bob', calls: 1 });
    try {
      assert.equal((await sipp.waitExit(5000)).code, 0, 'SIPp got its 403');
    } finally {
      await sipp.stop();
    }
    assert.equal(b.frames.filter((f) => f.event === 'message').length, before);
  });
});
