/**
 * REST hooks against a real HTTP backend on loopback (EchoApp): what each method sends, how
 * answers, refusals and failures decide, what OVERWRITE changes, the ordered event queue with its
 * retries and bound, the circuit breaker, signing, and the switches that keep requests at home.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EchoApp } from '../../examples/echo-app/echo-app.ts';
import { CoreError, isPending, type CallInfo, type PolicySession } from '../core/index.ts';
import { hooksConfig, type AppInput } from './config.ts';
import { RestHooks } from './rest-hooks.ts';

const CALL: CallInfo = {
  id: 'c1',
  direction: 'outgoing',
  account: 'alice@example.com',
  caller: { uri: 'alice@example.com', displayName: 'Alice' },
  callee: { uri: 'bob@example.com' },
  hasAudio: true,
  hasVideo: false,
};
const IDENTITY = { aor: 'alice@example.com', secret: 'client-secret', secretKind: 'password' as const, displayName: 'Alice' };

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function settle<T>(answer: T | Promise<T>): Promise<T> {
  return isPending(answer) ? await answer : answer;
}

async function until(test: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RestHooks', () => {
  let echo: EchoApp;
  let url: string;
  const opened: RestHooks[] = [];

  function hooks(app: Partial<AppInput> = {}, extra: Parameters<typeof hooksConfig>[0] = {}): { hooks: RestHooks; registry: Registry } {
    const registry = new Registry();
    const h = new RestHooks({
      config: hooksConfig({ nodeId: 'n1@127.0.0.1', defaultApp: 'shop', apps: [{ name: 'shop', key: 'shopKey', url: `${url}/Shop`, ...app }], ...extra }),
      registry,
      closeTimeoutMs: 200,
    });
    opened.push(h);
    return { hooks: h, registry };
  }

  function session(h: RestHooks): PolicySession {
    return h.open({ connectionId: 'conn-1', door: 'test', remote: '127.0.0.1:5000', local: '127.0.0.1:10888' });
  }

  before(async () => {
    echo = new EchoApp({ control: true, credentials: { alice: { sipPassword: 'injected', sipAuthenticationName: 'alice-auth' } }, callees: { sales: 'sip:sales@pbx.example.com' } });
    url = await echo.listen();
  });
  beforeEach(async () => {
    echo.received.length = 0;
    await fetch(`${url}/control`, { method: 'POST', body: JSON.stringify({ reset: true }) });
  });
  after(async () => {
    await Promise.all(opened.map((h) => h.close()));
    await echo.close();
  });

  const control = (b: Record<string, unknown>) => fetch(`${url}/control`, { method: 'POST', body: JSON.stringify(b) });

  it('sends connect with the WCS fields, injects the credentials the answer overwrote, then reports ESTABLISHED', async () => {
    const { hooks: h } = hooks();
    const s = session(h);
    const decision = await settle(s.connect({ account: 'alice@example.com', identity: IDENTITY, custom: { token: 't' } }));
    assert.deepEqual(decision, { identity: { secret: 'injected', secretKind: 'password', authUsername: 'alice-auth' } });
    await until(() => echo.received.length === 2);
    const [connect, status] = echo.received;
    assert.equal(connect!.method, 'connect');
    assert.deepEqual(
      { nodeId: connect!.body.nodeId, appKey: connect!.body.appKey, sessionId: connect!.body.sessionId, sipLogin: connect!.body.sipLogin, sipDomain: connect!.body.sipDomain, sipPassword: connect!.body.sipPassword, custom: connect!.body.custom },
      { nodeId: 'n1@127.0.0.1', appKey: 'shopKey', sessionId: '/127.0.0.1:5000/127.0.0.1:10888', sipLogin: 'alice', sipDomain: 'example.com', sipPassword: 'client-secret', custom: { token: 't' } },
    );
    assert.equal(status!.method, 'ConnectionStatusEvent');
    assert.equal(status!.body.status, 'ESTABLISHED');
    assert.equal(status!.body.sipPassword, undefined, 'no password in status events');
  });

  it('rewrites the callee only after the backend opted in with OVERWRITE', async () => {
    const { hooks: h } = hooks();
    const s = session(h);
    assert.deepEqual(await settle(s.call({ call: CALL, to: 'sales' })), {}, 'no restClientConfig yet: NOTIFY');
    await settle(s.connect({ account: 'alice@example.com', identity: IDENTITY }));
    assert.deepEqual(await settle(s.call({ call: CALL, to: 'sales' })), { to: 'sip:sales@pbx.example.com' });
    const call = echo.received.filter((r) => r.method === 'call').at(-1)!.body;
    assert.equal(call.callee, 'sales');
    assert.equal(call.callId, 'c1');
    assert.equal(call.status, 'PENDING');
    assert.equal(call.incoming, false);
  });

  it('refuses with the backend reason on 4xx, whatever the failure mode', async () => {
    const { hooks: h } = hooks({ onFailure: { default: 'open' } });
    const s = session(h);
    await control({ method: 'answer', status: 403, reason: 'Not your call' });
    await assert.rejects(async () => settle(s.answer(CALL)), (err: unknown) => {
      assert.ok(err instanceof CoreError);
      assert.equal(err.code, 'policy-denied');
      assert.equal(err.message, 'hook answer refused (403 Forbidden): Not your call');
      return true;
    });
  });

  it('tells unreachable, timed out, 500 and invalid JSON apart; connect and call fail closed, others open', async () => {
    const port = await closedPort();
    const down = hooks({ url: `http://127.0.0.1:${port}/Shop` }).hooks;
    const s = session(down);
    await assert.rejects(async () => settle(s.connect({ account: 'alice@example.com', identity: IDENTITY })), { message: 'hook connect unreachable (ECONNREFUSED)' });
    await assert.rejects(async () => settle(s.call({ call: CALL, to: 'bob' })), { message: 'hook call unreachable (ECONNREFUSED)' });
    assert.equal(await settle(s.answer(CALL)), undefined, 'answer fails open');

    const { hooks: h, registry } = hooks({ timeoutsMs: { default: 100 } });
    const t = session(h);
    await control({ method: 'connect', delayMs: 300 });
    const started = Date.now();
    await assert.rejects(async () => settle(t.connect({ account: 'alice@example.com', identity: IDENTITY })), { message: 'hook connect timed out (100 ms)' });
    assert.ok(Date.now() - started < 250, 'the deadline held');
    await control({ method: 'call', status: 500 });
    await assert.rejects(async () => settle(t.call({ call: CALL, to: 'bob' })), { message: 'hook call failed (500 Internal Server Error)' });
    await control({ method: 'call', invalidJson: true });
    await assert.rejects(async () => settle(t.call({ call: CALL, to: 'bob' })), { message: 'hook call failed (invalid JSON)' });
    const text = await registry.metrics();
    assert.match(text, /portico_hook_failures_total\{app="shop",method="connect",kind="timeout"\} 1/);
    assert.match(text, /portico_hook_failures_total\{app="shop",method="call",kind="server-error"\} 1/);
    assert.match(text, /portico_hook_failures_total\{app="shop",method="call",kind="invalid-response"\} 1/);
  });

  it('lets restOnError from restClientConfig decide a failure, as WCS does', async () => {
    const { hooks: h } = hooks({ restClientConfig: { call: { restOnError: 'LOG' } } });
    const s = session(h);
    await control({ method: 'call', status: 503 });
    assert.deepEqual(await settle(s.call({ call: CALL, to: 'bob' })), {}, 'LOG: the call goes through');
  });

  it('keeps every request at home when hooks, the app or the method are off (answers synchronously)', async () => {
    const { hooks: h } = hooks({ methods: ['connect'] });
    const s = session(h);
    assert.equal(isPending(s.call({ call: CALL, to: 'bob' })), false);
    h.store.update('shop', { enabled: false });
    assert.equal(isPending(s.connect({ account: 'alice@example.com', identity: IDENTITY })), false);
    h.store.update('shop', { enabled: true });
    h.enabled = false;
    assert.equal(isPending(s.connect({ account: 'alice@example.com', identity: IDENTITY })), false);
    s.report({ type: 'registration', account: 'alice@example.com', state: 'registered' });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(echo.received, []);
    assert.equal(h.queued, 0);
  });

  it('delivers status events in order, retrying with back-off while the backend fails', async () => {
    const { hooks: h } = hooks({}, { queue: { retryBaseMs: 20, retryMaxMs: 40 } });
    const s = session(h);
    await settle(s.connect({ account: 'alice@example.com', identity: IDENTITY }));
    await until(() => echo.received.length === 2);
    await control({ method: '*', status: 500 });
    for (const state of ['progress', 'ringing', 'established'] as const) s.report({ type: 'call', call: CALL, event: { state } });
    s.report({ type: 'hangup', call: CALL });
    s.report({ type: 'call', call: CALL, event: { state: 'terminated', reason: '200 OK' } });
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(h.queued, 5, 'all waiting');
    await control({ reset: true });
    await until(() => h.queued === 0);
    const delivered = echo.received.filter((r) => r.method === 'CallStatusEvent' || r.method === 'hangup');
    const firstTry = delivered.findIndex((r) => r.method === 'CallStatusEvent' && r.body.status === 'TRYING');
    // The first event was tried (and failed) before; from the first success on, order is exact.
    const lastTrying = delivered.map((r) => r.body.status).lastIndexOf('TRYING');
    assert.ok(firstTry >= 0);
    assert.deepEqual(
      delivered.slice(lastTrying).map((r) => (r.method === 'hangup' ? 'hangup' : r.body.status)),
      ['TRYING', 'RING', 'ESTABLISHED', 'hangup', 'FINISH'],
    );
  });

  it('sends at most pool.eventConnections status events at a time, each timed from when it leaves; a call never waits behind them', async () => {
    const { hooks: h } = hooks({ timeoutsMs: { default: 1000, CallStatusEvent: 150 } }, { pool: { eventConnections: 2 } });
    const sessions = Array.from({ length: 6 }, (_, i) => h.open({ connectionId: `c${i}`, door: 'test', remote: `127.0.0.1:${6000 + i}`, app: 'shop' }));
    await control({ method: 'CallStatusEvent', delayMs: 100 });
    const started = Date.now();
    for (const s of sessions) s.report({ type: 'call', call: CALL, event: { state: 'ringing' } });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    assert.deepEqual(await settle(sessions[0]!.call({ call: CALL, to: 'bob' })), {});
    assert.ok(Date.now() - t0 < 90, `the call hook was answered in ${Date.now() - t0} ms, not behind the events`);
    await until(() => h.queued === 0);
    const events = echo.received.filter((r) => r.method === 'CallStatusEvent');
    // Three turns of two, 100 ms each; no event waited past its 150 ms deadline, so none was sent twice.
    assert.equal(events.length, 6);
    assert.deepEqual(new Set(events.map((e) => e.body.sessionId)).size, 6);
    assert.ok(events[5]!.at - started >= 180, `the last event left ${events[5]!.at - started} ms after the first`);
    assert.ok(events[1]!.at - started < 80, 'two left at once');
  });

  it('bounds each connection queue: the oldest waiting event is dropped and counted', async () => {
    const { hooks: h, registry } = hooks({}, { queue: { limit: 3, retryBaseMs: 1000, retryMaxMs: 1000 } });
    const s = session(h);
    await control({ method: '*', status: 500 });
    for (let i = 0; i < 6; i++) s.report({ type: 'registration', account: `u${i}@example.com`, state: 'registered' });
    assert.equal(h.queued, 3);
    assert.match(await registry.metrics(), /portico_hook_events_dropped_total\{app="shop",method="RegistrationStatusEvent",reason="overflow"\} 3/);
    assert.match(await registry.metrics(), /portico_hook_queue_depth\{app="shop"\} 3/);
  });

  it('opens the circuit after consecutive failures, then fails fast', async () => {
    const port = await closedPort();
    const { hooks: h } = hooks({ url: `http://127.0.0.1:${port}/Shop` }, { breaker: { failures: 2, cooldownMs: 10_000 } });
    const s = session(h);
    for (let i = 0; i < 2; i++) await assert.rejects(async () => settle(s.call({ call: CALL, to: 'bob' })), /unreachable \(ECONNREFUSED\)/);
    await assert.rejects(async () => settle(s.call({ call: CALL, to: 'bob' })), { message: 'hook call unreachable (circuit open after 2 failures)' });
  });

  it('signs with HMAC-SHA256 and a timestamp, and with WCS HMAC-MD5; a backend checking them accepts', async () => {
    const strict = new EchoApp({ secret: 'a-secret-of-16-chars', wcsSecret: 'wcs-key' });
    const strictUrl = await strict.listen();
    try {
      const good = hooks({ url: `${strictUrl}/Shop`, secret: 'a-secret-of-16-chars', wcsSecret: 'wcs-key' }).hooks;
      assert.deepEqual(await settle(session(good).call({ call: CALL, to: 'bob' })), {});
      const bad = hooks({ url: `${strictUrl}/Shop`, secret: 'another-secret-16-chars', wcsSecret: 'wcs-key' }).hooks;
      await assert.rejects(async () => settle(session(bad).call({ call: CALL, to: 'bob' })), { message: 'hook call refused (403 Forbidden): Bad signature' });
    } finally {
      await strict.close();
    }
  });

  it('picks the app by the client key first, then the door, then the SIP domain, then the default', async () => {
    const h = new RestHooks({
      config: hooksConfig({
        defaultApp: 'a',
        domainApps: { 'b.example': 'b' },
        apps: [
          { name: 'a', url: `${url}/A` },
          { name: 'b', url: `${url}/B` },
          { name: 'c', key: 'cKey', url: `${url}/C` },
        ],
      }),
    });
    opened.push(h);
    const ctx = { connectionId: 'x', door: 'test', remote: '127.0.0.1:1' };
    assert.equal(h.resolveApp(ctx, 'cKey', 'b.example'), 'c');
    assert.equal(h.resolveApp({ ...ctx, app: 'a' }, undefined, 'b.example'), 'a');
    assert.equal(h.resolveApp(ctx, undefined, 'b.example'), 'b');
    assert.equal(h.resolveApp(ctx, 'nope', 'other.example'), 'a');
  });
});
