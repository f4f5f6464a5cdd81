/**
 * REST hooks under fault: the backend (EchoApp, its own process) goes down, answers past the
 * deadline, answers 500, answers invalid JSON, answers after the client left. Each time the client
 * gets an `info` that says which it was, within the configured deadline; the signalling of other
 * clients goes on; status events queued during an outage reach the backend in order once it is
 * back, none lost below the bound. SIP side: a real Kamailio.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { SylkRtcDoor } from '../../src/api/sylkrtc/index.ts';
import { Gateway } from '../../src/core/index.ts';
import { RestHooks, hooksConfig } from '../../src/hooks/index.ts';
import { startKamailio, type Kamailio } from './peers/kamailio.ts';
import { Backend, Client, DOMAIN, ha1, startHookedGateway } from './support/hooks-peers.ts';

const PASSWORDS = { alice: 'a-secret', bob: 'b-secret', carol: 'c-secret', dave: 'd-secret' };
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
/** Per-attempt deadline of the direct hooks in this file. */
const DEADLINE_MS = 300;


let kamailio: Kamailio;
let backend: Backend;
let hooks: RestHooks;
let registry: Registry;
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

async function until(test: () => boolean | Promise<boolean>, label: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  [kamailio, backend] = await Promise.all([startKamailio({ users: PASSWORDS, domains: [DOMAIN] }), Backend.start({})]);
  registry = new Registry();
  hooks = new RestHooks({
    config: hooksConfig({
      nodeId: 'node1@127.0.0.1',
      apps: [{ name: 'shop', url: `${backend.url}/Shop`, timeoutsMs: { default: DEADLINE_MS } }],
      // The breaker has its own test; here every request must reach the (dead) backend.
      breaker: { failures: 0 },
      queue: { retryBaseMs: 50, retryMaxMs: 200 },
    }),
    registry,
    closeTimeoutMs: 500,
  });
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

describe('REST hooks under fault', () => {
  let a: Client;
  let b: Client;

  beforeEach(() => backend.control({ reset: true }));

  it('with the backend up, alice and bob connect and register', async () => {
    a = await client();
    b = await client();
    await a.ok('account-add', { account: alice, password: ha1('alice', PASSWORDS.alice) });
    await b.ok('account-add', { account: bob, password: ha1('bob', PASSWORDS.bob) });
    await Promise.all([a.ok('account-register', { account: alice }), b.ok('account-register', { account: bob })]);
    await Promise.all([a.registered(alice), b.registered(bob)]);
  });

  it('backend down: connect and call are refused at once as "unreachable"; registrations go on; their events arrive in order once it is back', async () => {
    const port = Number(new URL(backend.url).port);
    await backend.stop();
    const c = await client();
    let started = Date.now();
    const reply = await c.request('account-add', { account: `carol@${DOMAIN}`, password: ha1('carol', PASSWORDS.carol) });
    assert.deepEqual([reply.sylkrtc, reply.error], ['error', 'hook connect unreachable (ECONNREFUSED)']);
    assert.ok(Date.now() - started < DEADLINE_MS, 'no stall');
    started = Date.now();
    const call = await a.request('session-create', { account: alice, session: 'down-1', uri: bob, sdp: OFFER });
    assert.equal(call.error, 'hook call unreachable (ECONNREFUSED)');
    assert.ok(!b.frames.some((f) => f.event === 'incoming-session'), 'no INVITE left');
    // Signalling that needs no direct hook is unaffected: bob re-registers, twice, while events queue up.
    for (let i = 0; i < 2; i++) {
      await b.ok('account-unregister', { account: bob });
      await until(async () => (await kamailio.locations('bob')).length === 0, 'bob unbound');
      await b.ok('account-register', { account: bob });
      await until(async () => (await kamailio.locations('bob')).length === 1, 'bob bound');
    }
    await until(() => hooks.queued >= 4, 'events queued');
    assert.match(await registry.metrics(), /portico_hook_queue_depth\{app="shop"\} [4-9]/);

    backend = await Backend.start({}, port);
    await until(() => hooks.queued === 0, 'queue drained', 5000);
    const got = (await backend.hooks()).filter((h) => h.body.sessionId === b.sessionId && h.method === 'RegistrationStatusEvent');
    assert.deepEqual(
      got.map((h) => h.body.status),
      ['UNREGISTERED', 'REGISTERED', 'UNREGISTERED', 'REGISTERED'],
      'every event, in order, none lost',
    );
    assert.doesNotMatch(await registry.metrics(), /portico_hook_events_dropped_total\{/);
  });

  it('backend slow past the deadline: the client hears "timed out" after the deadline; another client is answered meanwhile', async () => {
    await backend.control({ method: 'connect', delayMs: 1000 });
    const c = await client();
    const started = Date.now();
    const pending = c.request('account-add', { account: `carol@${DOMAIN}`, password: ha1('carol', PASSWORDS.carol) });
    await new Promise((r) => setTimeout(r, 50));
    const pingStarted = Date.now();
    await a.ok('ping');
    assert.ok(Date.now() - pingStarted < 100, 'alice is not held up');
    const reply = await pending;
    const took = Date.now() - started;
    assert.equal(reply.error, `hook connect timed out (${DEADLINE_MS} ms)`);
    assert.ok(took >= DEADLINE_MS - 20 && took < DEADLINE_MS + 200, `answered at the deadline (${took} ms)`);
  });

  it('backend answering 500: "failed (500 Internal Server Error)", and no INVITE leaves', async () => {
    await backend.control({ method: 'call', status: 500 });
    const reply = await a.request('session-create', { account: alice, session: 'err-500', uri: bob, sdp: OFFER });
    assert.equal(reply.error, 'hook call failed (500 Internal Server Error)');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!b.frames.some((f) => f.event === 'incoming-session'));
  });

  it('backend answering invalid JSON: "failed (invalid JSON)"', async () => {
    await backend.control({ method: 'connect', invalidJson: true });
    const c = await client();
    const reply = await c.request('account-add', { account: `carol@${DOMAIN}`, password: ha1('carol', PASSWORDS.carol) });
    assert.equal(reply.error, 'hook connect failed (invalid JSON)');
  });

  it('backend answering after the client left: nothing is registered, the connection is gone, others go on', async () => {
    hooks.store.update('shop', { timeoutsMs: { default: DEADLINE_MS, connect: 2000 } });
    await backend.control({ method: 'connect', delayMs: 400 });
    const connections = gateway.stats().connections;
    const c = await client();
    c.ws.send(JSON.stringify({ sylkrtc: 'account-add', transaction: 't', account: `dave@${DOMAIN}`, password: ha1('dave', PASSWORDS.dave) }));
    c.ws.send(JSON.stringify({ sylkrtc: 'account-register', transaction: 't2', account: `dave@${DOMAIN}` }));
    await until(async () => (await backend.hooks()).some((h) => h.method === 'connect' && h.body.sipLogin === 'dave'), 'connect sent');
    c.ws.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 600)); // the answer came and went
    assert.deepEqual(await kamailio.locations('dave'), []);
    assert.equal(gateway.stats().connections, connections);
    await a.ok('ping');
    hooks.store.update('shop', { timeoutsMs: { default: DEADLINE_MS } });
  });
});
