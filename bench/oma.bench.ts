/**
 * The REST door end to end, against Kamailio and a SIPp UAS in the same run:
 *
 * 1. Sessions per second through the whole flow with the flow tester: INIT → reg_srv → channel and
 *    its WebSocket → lineinfo → vvoip subscription → registration → call to the SIPp UAS (Ringing,
 *    Connected on the channel) → DELETE (BYE) → de-registration → channel close. The flow is the
 *    built-in webrtc-rest flow's steps without the chat.
 * 2. Registrations per second through the REST door (session start + POST registration, REGISTER
 *    with digest) as a ratio to the sylkRTC door (WebSocket + account-add + account-register) on the
 *    same gateway, same Kamailio, same concurrency. Target: ratio ≥ 0.5.
 *
 *   node --import tsx bench/oma.bench.ts [--clients 200] [--rate 100] [--registrations 600] [--window 32]
 */
import { createHash, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { WebSocket } from 'ws';
import { Agent } from 'node:http';
import { OmaTestClient, useHttpAgent } from '../src/api/oma/rest-client.test-support.ts';
import { parseFlow, runFlow } from '../src/flow/index.ts';
import { parseConfig, startGatewayService } from '../src/gateway/index.ts';
import { Kamailio } from '../test/interop/peers/kamailio.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    rate: { type: 'string', default: '100' },
    registrations: { type: 'string', default: '600' },
    window: { type: 'string', default: '32' },
  },
});
const clients = Number(values.clients);
const rate = Number(values.rate);
const registrations = Number(values.registrations);
const window = Number(values.window);
const PASSWORD = 'bench-secret';
const DOMAIN = 'portico.test';
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** The built-in flow's session, call and clean-up steps (no chat: it needs a second line). */
const FLOW = `
name: oma-bench
options: { timeout: 10s }
vars:
  sdp: "v=0\\r\\no=- 1 1 IN IP4 127.0.0.1\\r\\ns=-\\r\\nc=IN IP4 127.0.0.1\\r\\nt=0 0\\r\\nm=audio 42000 RTP/AVP 0\\r\\na=sendrecv\\r\\n"
steps:
  - id: init
    send: WEBRTC_HTTP_REQ_INIT
    expect: { status: 303 }
    extract: { state: { header: Location, query: state } }
  - set: { oauth-author-code: "{rand-hex:32}", oauth-sess-num: "{rand-digits:8}", oauth-user-id: "user{client-number}", client-correlator: "{client-number}" }
  - id: reg-srv
    send: WEBRTC_HTTP_REQ_REG_SRV
    expect: { status: 303 }
    extract:
      session-id: { header: Location, query: sessionId }
      client-id: { header: Location, query: clientId }
  - id: chan-create
    send: WEBRTC_HTTP_REQ_CHAN_CREATE
    expect: { status: 201 }
    extract:
      channel-url: /notificationChannel/channelData/channelURL
      callback-url: /notificationChannel/callbackURL
      channel-id: { header: Location, regex: '/channels/([^/?]+)$' }
  - id: setup-websocket
    ws-open: "{channel-url}"
    subprotocol: notificationchannel-netapi-rest.openmobilealliance.org
  - id: init-reg
    send: WEBRTC_HTTP_REQ_INIT_REG
    expect: { status: 200 }
    extract:
      msisdn1: /lineInformation/lines/0/msisdn
      email1: /lineInformation/lines/0/email
      msisdn2: /lineInformation/lines/1/msisdn
      email2: /lineInformation/lines/1/email
  - id: call-subs
    send: WEBRTC_HTTP_REQ_CALL_SUBS
    expect: { status: 201 }
  - id: reg
    send: WEBRTC_HTTP_REQ_REG
    expect: { status: 200, body: { json: /registrationInformation/regInfo/0/regStatus/registrationState, equals: Registered } }
    extract: { reg-id: { json: /registrationInformation/resourceURL, regex: '/registration/([^/?]+)$' } }
  - id: call-conn
    send: WEBRTC_HTTP_REQ_CALL_CONN
    expect: { status: 201 }
    extract: { call-id: { header: Location, regex: '/sessions/([^/?]+)$' } }
  - id: call-ringing
    await: ws
    match: { json: /sessionStatusNotification/status, equals: Ringing }
  - id: call-connected
    await: ws
    match: { json: /sessionStatusNotification/status, equals: Connected }
  - id: call-disconn
    send: WEBRTC_HTTP_REQ_CALL_DISCONN
    expect: { status: 204 }
  - id: dereg
    send: WEBRTC_HTTP_REQ_DEREG
    expect: { status: 204 }
  - id: chan-close
    send: WEBRTC_HTTP_REQ_CHAN_CLOSE
    expect: { status: 204 }
  - ws-close: ws
`;

/** Runs `n` jobs, `window` at a time; resolves with the elapsed seconds. */
async function windowed(n: number, job: (i: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, n) }, async () => {
      while (next < n) await job(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

const msisdn = (prefix: string, i: number) => `+1${prefix}${String(i).padStart(7, '0')}`;

async function main(): Promise<void> {
  const kamailio = new Kamailio({ anyUserPassword: PASSWORD, domains: [DOMAIN], children: 2, logLevel: -1 });
  await kamailio.start();
  const sipp = new Sipp({ scenario: 'uas-invite-wait-bye', calls: clients });
  await sipp.start();
  const users: Record<string, { lines: Array<{ msisdn: string; password: string; email?: string }> }> = {};
  for (let i = 1; i <= clients; i++) users[`user${i}`] = { lines: [{ msisdn: msisdn('666', i), password: PASSWORD, email: `a${i}@example.com` }, { msisdn: msisdn('667', i), password: PASSWORD, email: `b${i}@example.com` }] };
  for (let i = 0; i < registrations; i++) users[`reg${i}`] = { lines: [{ msisdn: msisdn('777', i), password: PASSWORD }] };
  const service = await startGatewayService(
    parseConfig({
      http: { port: 0 },
      sip: { port: 0, transports: ['udp'], outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`, domains: [DOMAIN] },
      log: { level: 'silent' },
      metrics: { enabled: false },
      media: { mode: 'pass-through' },
      oma: { enabled: true, users, maxSessions: 100_000 },
    }),
    { logger: pino({ level: 'silent' }) },
  );
  const base = service.http.url();
  try {
    // 1. The whole flow, client after client at `rate`.
    progress(`flow: ${clients} clients at ${rate}/s`);
    const result = await runFlow({ flow: parseFlow(FLOW, { file: 'oma-bench.yaml' }), target: `${base}/webrtc`, clients, rate, concurrency: window * 2, vars: { 'called-number': sipp.uri('svc') }, timeoutMs: 10_000 });
    const flowSeconds = result.durationMs / 1000;
    const sessionsPerSecond = result.succeeded / flowSeconds;
    progress(`flow: ${result.succeeded}/${clients} ok in ${flowSeconds.toFixed(2)} s (${sessionsPerSecond.toFixed(1)} sessions/s, offered ${rate}/s)`);
    if (result.failed > 0) progress(`flow failures: ${JSON.stringify(result.summary.failures.map((f) => ({ reason: f.reason, count: f.count, step: f.steps[0]?.step, example: f.examples[0] })))}`);
    await sipp.waitExit(10_000).catch(() => undefined);

    // 2. Registrations: the REST door, then the sylkRTC door, same window. REST clients keep their
    // connections alive as browsers do; each sylkRTC client opens its WebSocket.
    const agent = new Agent({ keepAlive: true, maxSockets: window });
    useHttpAgent(agent);
    const restSeconds = await windowed(registrations, async (i) => {
      const c = await OmaTestClient.login(base, `reg${i}`);
      const reg = await c.req('POST', `/racm/v1/{sid}/registration?clientId=${c.clientId}`, { registrationInformation: { regInfo: [{ lineId: 'line1' }] } });
      if (reg.json?.registrationInformation?.regInfo?.[0]?.regStatus?.registrationState !== 'Registered') throw new Error(`REST registration ${i}: ${reg.text}`);
    });
    agent.destroy();
    const ha1 = (user: string) => createHash('md5').update(`${user}:${DOMAIN}:${PASSWORD}`).digest('hex');
    const sockets: WebSocket[] = [];
    const sylkSeconds = await windowed(registrations, (i) => {
      return new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(service.wsUrl(), 'sylkRTC-2');
        sockets.push(ws);
        const account = `s${i}@${DOMAIN}`;
        ws.on('message', (data) => {
          const f = JSON.parse(String(data)) as Record<string, unknown>;
          if (f.sylkrtc === 'ready-event') {
            ws.send(JSON.stringify({ sylkrtc: 'account-add', transaction: randomUUID(), account, password: ha1(`s${i}`) }));
            ws.send(JSON.stringify({ sylkrtc: 'account-register', transaction: randomUUID(), account }));
          } else if (f.event === 'registration-state' && f.state === 'registered') resolve();
          else if (f.event === 'registration-state' && f.state === 'failed') reject(new Error(`sylkRTC registration ${i} failed`));
        });
        ws.once('error', reject);
      });
    });
    const restRate = registrations / restSeconds;
    const sylkRate = registrations / sylkSeconds;
    progress(`registrations: REST ${restRate.toFixed(0)}/s, sylkRTC ${sylkRate.toFixed(0)}/s, ratio ${(restRate / sylkRate).toFixed(2)} (target ≥ 0.5)`);
    for (const ws of sockets) ws.terminate();
    console.log(
      JSON.stringify({
        bench: 'oma',
        flow: { clients, offeredRate: rate, succeeded: result.succeeded, failed: result.failed, sessionsPerSecond: Number(sessionsPerSecond.toFixed(1)) },
        registrations: { count: registrations, window, restPerSecond: Math.round(restRate), sylkrtcPerSecond: Math.round(sylkRate), ratio: Number((restRate / sylkRate).toFixed(2)), target: 0.5 },
      }),
    );
  } finally {
    await service.close();
    await sipp.stop();
    await kamailio.stop();
  }
}

await main();
