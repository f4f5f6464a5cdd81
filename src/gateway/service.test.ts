/**
 * The gateway process as a whole, on ephemeral loopback ports: HTTP `/healthz` and `/metrics`,
 * WebSocket upgrades routed by path to the sylkRTC door, accounts of the embedded local domain
 * registering and calling each other through the core, HTTPS/WSS with a certificate, and the
 * graceful shutdown (503 to new upgrades, registrations removed).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { makeSelfSignedCert } from '../../test/interop/peers/certs.ts';
import type { Call } from '../core/index.ts';
import { parseConfig } from './config.ts';
import { startGatewayService, type GatewayService } from './service.ts';

const silent = pino({ level: 'silent' });
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

function get(url: string, ca?: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith('https') ? httpsRequest : httpRequest)(url, { ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with the first frame, or the HTTP status of a refused upgrade. */
function openWs(url: string, protocols: string[], ca?: string): Promise<{ ws?: WebSocket; first?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ca });
    ws.once('message', (data) => resolve({ ws, first: String(data) }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => (/Unexpected server response/.test(err.message) ? undefined : reject(err)));
  });
}

const ha1 = (user: string) => createHash('md5').update(`${user}:portico.local:${user}`).digest('hex');

describe('gateway service with the local SIP domain', () => {
  let service: GatewayService;
  let base: string;

  before(async () => {
    const config = parseConfig({
      http: { port: 0 },
      sip: { port: 0, timers: { t1: 20, t2: 160, t4: 200 } },
      shutdown: { timeoutMs: 500 },
      log: { level: 'silent' },
      // Signalling only: the SDP crosses unchanged, and only the demo users register (media has tests of its own).
      media: { mode: 'pass-through', echo: { enabled: false } },
    });
    service = await startGatewayService(config, { logger: silent });
    base = service.http.url();
  });

  after(async () => {
    await service?.close();
  });

  it('answers /healthz with the live figures and /metrics in the Prometheus text format', async () => {
    const health = await get(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { ok: true, connections: 0, accounts: 0, registered: 0, status: 'ok' });
    const metrics = await get(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.match(metrics.body, /^portico_connections 0$/m);
    assert.match(metrics.body, /^# TYPE portico_registrations gauge$/m);
    assert.match(metrics.body, /^portico_process_cpu_seconds_total /m, 'process metrics too');
    assert.equal((await get(`${base}/nothing`)).status, 404);
    assert.equal((await get(`${base}/webrtcgateway/ws`)).status, 426);
  });

  it('routes upgrades by path: sylkRTC-2 gets ready-event, no subprotocol gets 406, another path 404', async () => {
    const ws = service.wsUrl();
    assert.match(ws, /^ws:\/\/127\.0\.0\.1:\d+\/webrtcgateway\/ws$/);
    const ok = await openWs(ws, ['sylkRTC-2']);
    assert.deepEqual(JSON.parse(ok.first!), { sylkrtc: 'ready-event' });
    assert.equal(service.gateway.stats().connections, 1);
    ok.ws!.close();
    assert.equal((await openWs(ws, ['chat'])).status, 406);
    assert.equal((await openWs(ws.replace('/webrtcgateway/ws', '/other'), ['sylkRTC-2'])).status, 404);
  });

  it('registers two demo users on the local domain and calls between them', async () => {
    const c1 = service.gateway.openConnection({ door: 'test', remote: 'a' });
    const c2 = service.gateway.openConnection({ door: 'test', remote: 'b' });
    const alice = c1.addAccount({ aor: 'alice@portico.local', secret: ha1('alice'), secretKind: 'ha1' });
    const bob = c2.addAccount({ aor: 'bob@portico.local', secret: ha1('bob'), secretKind: 'ha1' });
    assert.throws(() => c1.addAccount({ aor: 'eve@elsewhere.org', secret: 'x', secretKind: 'ha1' }), { code: 'domain-not-allowed' });
    const registered = (a: typeof alice) => new Promise<void>((resolve) => a.on('registration', (e) => e.state === 'registered' && resolve()));
    const both = Promise.all([registered(alice), registered(bob)]);
    // A listener that throws is isolated (the others still hear the event) and counted.
    alice.once('registration', () => {
      throw new Error('a careless listener');
    });
    alice.register();
    bob.register();
    await both;
    assert.equal(service.localDomain!.bindings('alice').length, 1);
    const incoming = new Promise<Call>((resolve) => bob.once('incomingCall', resolve));
    // A WebRTC-sized offer: more than UDP's 1300 bytes, so it must cross as TCP (RFC 3261 §18.1.1).
    const bigOffer = OFFER + 'a=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host generation 0\r\n'.repeat(30);
    const call = c1.createCall({ id: 'svc-1', account: alice.aor, to: 'bob', sdp: bigOffer });
    const bobCall = await incoming;
    assert.equal(bobCall.offer, bigOffer);
    const metrics = await get(`${base}/metrics`);
    assert.match(metrics.body, /^portico_registrations\{state="registered"\} 2$/m);
    assert.match(metrics.body, /^portico_calls_total\{direction="outgoing"\} 1$/m);
    assert.match(metrics.body, /^portico_connections_total\{door="test"\} 2$/m);
    assert.match(metrics.body, /^portico_errors_total\{code="listener"\} 1$/m);
    call.terminate();
    await c1.close();
    await c2.close();
    assert.equal(service.localDomain!.bindings().length, 0, 'both un-REGISTERed');
  });

  it('refuses new upgrades with 503 once closing, and stops', async () => {
    const ws = service.wsUrl();
    service.http.beginClosing();
    assert.equal((await openWs(ws, ['sylkRTC-2'])).status, 503);
    assert.equal((await get(`${base}/healthz`)).status, 503);
    await service.close();
    await assert.rejects(get(`${base}/healthz`), /ECONNREFUSED/);
    await service.close(); // idempotent
  });
});

describe('gateway service with TLS and an outbound proxy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-tls-'));
  let service: GatewayService;

  after(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS and WSS with the configured certificate, and runs no local domain', async () => {
    const cert = await makeSelfSignedCert(dir, 'gateway');
    const config = parseConfig({
      http: { port: 0, tls: { cert: cert.certPath, key: cert.keyPath } },
      sip: { port: 0, outboundProxy: 'sip:127.0.0.1:9;transport=tcp' },
      log: { level: 'silent' },
      shutdown: { timeoutMs: 300 },
    });
    service = await startGatewayService(config, { logger: silent });
    assert.equal(service.localDomain, undefined);
    const health = await get(`${service.http.url()}/healthz`, cert.cert);
    assert.equal(health.status, 200);
    assert.match(service.wsUrl(), /^wss:/);
    const ok = await openWs(service.wsUrl(), ['sylkRTC-2'], cert.cert);
    assert.deepEqual(JSON.parse(ok.first!), { sylkrtc: 'ready-event' });
    ok.ws!.close();
    // Any domain is accepted with an outbound proxy and no domain list.
    const conn = service.gateway.openConnection({ door: 'test', remote: 'x' });
    assert.equal(conn.addAccount({ aor: 'someone@anywhere.example', secret: 'x', secretKind: 'ha1' }).aor, 'someone@anywhere.example');
  });
});
