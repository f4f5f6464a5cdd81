/**
 * The flow tester's built-in `webrtc-rest` flow, run by the runner's API against Portico's REST
 * door in front of a real Kamailio (registrar and proxy, digest auth) and SIPp: for one client and
 * for several at once. The called number has two contacts at Kamailio: a SIPp UAS (it answers the
 * call; it also answers the MESSAGEs forked to it) and a second REST-door line (a scripted peer
 * with no vvoip subscription, so it refuses the forked INVITE with 480). The peer accepts the chat,
 * reports delivery, and answers "Hi back", whose display report from the flow comes back to it.
 * The evidence is what crossed the wires: the run summary, SIPp's trace, Kamailio's location
 * table and the peer's notifications.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { OmaTestClient } from '../../src/api/oma/rest-client.test-support.ts';
import { loadFlow, runFlow, type RunResult } from '../../src/flow/index.ts';
import { parseConfig, startGatewayService, type GatewayService } from '../../src/gateway/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { startSipp, type Sipp } from './peers/sipp.ts';

const DOMAIN = 'portico.test';
const CALLED = '+12065550100';
const CLIENTS = 4;
/** kamcmd reads `+1…` as a number; `s:` keeps it a string. */
const aor = (msisdn: string) => `s:${msisdn}`;

/** user1..userN with two lines each, and the peer with the called number. */
const users: Record<string, { lines: Array<{ msisdn: string; email: string; password: string }> }> = {};
const passwords: Record<string, string> = { [CALLED]: 'peer-secret' };
for (let k = 1; k <= CLIENTS; k++) {
  const lines = [`+120655500${String(k).padStart(2, '0')}`, `+142555500${String(k).padStart(2, '0')}`].map((msisdn, i) => ({ msisdn, email: `line${i + 1}.user${k}@example.com`, password: `pw-${k}-${i}` }));
  users[`user${k}`] = { lines };
  for (const l of lines) passwords[l.msisdn] = l.password;
}
users.peer = { lines: [{ msisdn: CALLED, email: 'peer@example.com', password: passwords[CALLED]! }] };

/** A callee that answers a call (and waits for the BYE) or a MESSAGE, whichever comes. */
const UAS_SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas-invite-or-message">
  <recv request="INVITE" optional="true" next="invite" crlf="true"/>
  <recv request="MESSAGE" crlf="true"/>
  <send next="done"><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag02[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
  <label id="invite"/>
  <send><![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <send retrans="500"><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp [pid][call_number] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv

  ]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE" crlf="true"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

  ]]></send>
  <label id="done"/>
</scenario>
`;

let kamailio: Kamailio;
let service: GatewayService;
let base: string;
let dir: string;
let scenario: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portico-oma-flow-'));
  scenario = join(dir, 'uas-invite-or-message.xml');
  writeFileSync(scenario, UAS_SCENARIO);
  kamailio = await startKamailio({ users: passwords, domains: [DOMAIN] });
  const config = parseConfig({
    http: { port: 0 },
    sip: { port: 0, transports: ['udp'], outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`, domains: [DOMAIN], timers: { t1: 100, t2: 800, t4: 1000 }, registration: { expires: 300 } },
    log: { level: 'silent' },
    metrics: { enabled: false },
    shutdown: { timeoutMs: 1500 },
    media: { mode: 'pass-through' },
    oma: { enabled: true, users },
  });
  service = await startGatewayService(config, { logger: pino({ level: 'silent' }), doors: () => ({}) });
  base = service.http.url();
});

after(async () => {
  await service?.close();
  await kamailio?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The scripted peer on the called number: accepts chats, reports delivery, answers "Hi back". */
async function startPeer(): Promise<OmaTestClient> {
  const peer = await OmaTestClient.login(base, 'peer');
  await peer.openChannel();
  for (const e of ['chat', 'racm'] as const) assert.equal((await peer.subscribe(e)).status, 201);
  peer.onNotification = (n) => {
    const inv = n.chatSessionInvitationNotification;
    if (inv) void peer.req('PUT', inv.link[0].href, { participantSessionStatus: { status: 'Connected' } });
    const msg = n.messageNotification;
    if (msg?.chatMessage) {
      const statusUrl: string = msg.link[0].href;
      const chatUrl = statusUrl.replace(/\/messages\/[^/]+\/status$/, '');
      void (async () => {
        await peer.req('PUT', statusUrl, { messageStatusReport: { status: 'Delivered' } });
        await peer.req('POST', `${chatUrl}/messages`, { chatMessage: { text: 'Hi back' } });
      })();
    }
  };
  const reg = await peer.register();
  assert.equal(reg.json.registrationInformation.regInfo[0].regStatus.registrationState, 'Registered');
  return peer;
}

async function waitUntil(test: () => Promise<boolean>, label: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function explain(r: RunResult): string {
  return JSON.stringify(r.summary.failures, null, 1);
}

for (const clients of [1, CLIENTS]) {
  describe(`webrtc-rest flow, ${clients} client${clients > 1 ? 's' : ''}, through Kamailio and SIPp`, () => {
    let sipp: Sipp;
    let peer: OmaTestClient;

    before(async () => {
      // Per client: the INVITE, and four forked MESSAGEs (chat invitation, isComposing, message, display report).
      sipp = await startSipp({ scenario, calls: clients * 5, service: CALLED });
      await kamailio.addLocation(aor(CALLED), sipp.uri(CALLED));
      peer = await startPeer();
      assert.equal((await kamailio.locations(aor(CALLED))).length, 2, 'SIPp and the peer line');
    });

    after(async () => {
      // The peer leaves as a client should: deleting its channel ends its session (un-REGISTER).
      if (peer) assert.equal((await peer.req('DELETE', peer.channelResource)).status, 204);
      peer?.close();
      await sipp?.stop();
      await kamailio.removeLocations(aor(CALLED));
      await waitUntil(async () => service.oma!.sessionCount === 0, 'sessions closed', 5000);
      await waitUntil(async () => (await kamailio.locations(aor(CALLED))).length === 0, 'peer unbound');
    });

    it('completes end to end: call to the SIPp UAS, chat with the peer line, clean de-registration', async () => {
      const result = await runFlow({ flow: loadFlow('webrtc-rest'), target: `${base}/webrtc`, clients, rate: 50, vars: { 'called-number': CALLED }, timeoutMs: 5000 });
      assert.equal(result.failed, 0, explain(result));
      assert.equal(result.succeeded, clients, explain(result));

      const exit = await sipp.waitExit(8000);
      assert.equal(exit.code, 0, 'every SIPp call and MESSAGE succeeded');
      const methods = sipp.received().map((m) => m.method ?? m.status);
      assert.equal(methods.filter((m) => m === 'INVITE').length, clients);
      assert.equal(methods.filter((m) => m === 'BYE').length, clients, 'DELETE hung up with a BYE');
      assert.equal(methods.filter((m) => m === 'MESSAGE').length, clients * 4);
      const invite = sipp.received().find((m) => m.method === 'INVITE')!;
      assert.match(invite.text, /a=fingerprint:sha-256 7B:8A/, "the flow's offer reached SIPp unchanged");

      // The peer line: one chat per client, each message delivered, each "Hi back" displayed.
      await peer.waitFor('messageStatusNotification', () => peer.all('messageStatusNotification').filter((n) => n.status === 'Displayed').length === clients);
      const invitations = peer.all('chatSessionInvitationNotification');
      assert.equal(invitations.length, clients);
      assert.deepEqual(invitations.map((n) => n.originatorAddress).sort(), Object.keys(users).filter((u) => u !== 'peer').slice(0, clients).map((u) => `tel:${users[u]!.lines[0]!.msisdn}`).sort());
      const texts = peer.all('messageNotification').filter((n) => n.chatMessage).map((n) => n.chatMessage.text);
      assert.deepEqual(texts, Array(clients).fill('Hello from Portico ✓'));
      assert.equal(peer.all('sessionInvitationNotification').length, 0, 'no vvoip subscription: the forked INVITE was refused');

      // DEREG and CHAN_CLOSE removed every binding of the flow's clients and ended their sessions.
      for (let k = 1; k <= clients; k++) {
        for (const l of users[`user${k}`]!.lines) await waitUntil(async () => (await kamailio.locations(aor(l.msisdn))).length === 0, `${l.msisdn} unbound`);
      }
      assert.equal(service.oma!.sessionCount, 1, 'only the peer is left');
      assert.equal(service.gateway.stats().calls.established, 0);
    });
  });
}
