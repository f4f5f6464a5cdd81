/**
 * The REST door on the gateway service with its embedded local SIP domain, on loopback sockets:
 * session start and its refusals, the session headers (401/403/404), bad input answered with the
 * OMA envelope and nothing half-created, clientCorrelator idempotency, long polling, the OAuth2
 * code exchange against a tiny identity provider, and the documents (PROTOCOL.md, OpenAPI) listing
 * what the code does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig, startGatewayService, type GatewayService } from '../../gateway/index.ts';
import { OMA_ERROR_CODES } from './errors.ts';
import { openApiPath } from './openapi.ts';
import { http, OmaTestClient } from './rest-client.test-support.ts';
import { allRoutes } from './routes.ts';

const silent = pino({ level: 'silent' });
const USERS = {
  ann: { lines: [{ msisdn: '+15550000001', password: 'ann-pw' }], loginPassword: 'ann-login' },
  ben: { lines: [{ msisdn: '+15550000002', password: 'ben-pw' }] },
};

function config(extra: Record<string, unknown> = {}) {
  return parseConfig({
    http: { port: 0 },
    sip: { port: 0, transports: ['udp'] },
    log: { level: 'silent' },
    metrics: { enabled: false },
    media: { mode: 'pass-through', echo: { enabled: false } },
    oma: { enabled: true, users: USERS, channel: { longPollTimeoutMs: 300 }, maxBodyBytes: 2048, ...extra },
  });
}

describe('REST door on the local domain', () => {
  let service: GatewayService;
  let base: string;
  let ann: OmaTestClient;
  let ben: OmaTestClient;

  before(async () => {
    service = await startGatewayService(config(), { logger: silent, doors: () => ({}) });
    base = service.http.url();
    ann = await OmaTestClient.login(base, 'ann');
    ben = await OmaTestClient.login(base, 'ben');
    await ann.openChannel({ channelType: 'WebSockets', channelLifetime: 600, clientCorrelator: 'ann' });
    await ben.openChannel({ channelType: 'WebSockets', channelLifetime: 600, clientCorrelator: 'ben' });
  });

  after(async () => {
    ann?.close();
    ben?.close();
    await service?.close();
  });

  it('INIT redirects with a state; reg_srv refuses an unknown state or user with the envelope', async () => {
    const init = await http(`${base}/webrtc`);
    assert.equal(init.status, 303);
    const loc = new URL(String(init.headers.location));
    assert.equal(loc.pathname, '/oma/login');
    assert.equal(loc.searchParams.get('redirect_uri'), `${base}/reg_srv`);
    const state = loc.searchParams.get('state')!;
    const badState = await http(`${base}/reg_srv?state=nope&user_id=ann`);
    assert.equal(badState.status, 401);
    assert.equal(badState.json.requestError.policyException.messageId, 'POL0001');
    const badUser = await http(`${base}/reg_srv?state=${state}&user_id=mallory`);
    assert.equal(badUser.status, 401);
    // The state was used: even a good user cannot reuse it.
    assert.equal((await http(`${base}/reg_srv?state=${state}&user_id=ann`)).status, 401);
  });

  it('the embedded login form issues a one-time code', async () => {
    const state = new URL(String((await http(`${base}/webrtc`)).headers.location)).searchParams.get('state')!;
    const wrong = await http(`${base}/oma/login`, { method: 'POST', body: `user_id=ann&password=x&state=${state}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(wrong.status, 401);
    const ok = await http(`${base}/oma/login`, { method: 'POST', body: `user_id=ann&password=ann-login&state=${state}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(ok.status, 303);
    const back = new URL(String(ok.headers.location));
    const reg = await http(`${base}/reg_srv?code=${back.searchParams.get('code')}&state=${state}`);
    assert.equal(reg.status, 303);
    assert.match(String(reg.headers.location), /sessionId=[0-9A-F]{64}&nodeFqdn=/);
  });

  it('answers 401 without valid session headers, 403 for another session in the path, 404 for its resources', async () => {
    const path = `/racm/v1/${ann.sessionId}/lineinfo`;
    assert.equal((await http(`${base}${path}`)).status, 401);
    assert.equal((await http(`${base}${path}`, { headers: { 'X-Session-ID': ann.sessionId } })).status, 401, 'X-Client-ID missing');
    assert.equal((await http(`${base}${path}`, { headers: { 'X-Session-ID': ann.sessionId, 'X-Client-ID': ben.clientId } })).status, 401);
    const lines = await ann.req('GET', path);
    assert.equal(lines.status, 200);
    assert.deepEqual(lines.json, { lineInformation: { lines: [{ lineId: 'line1', msisdn: '+15550000001' }] } });
    const foreign = await ben.req('GET', path);
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.requestError.policyException.messageId, 'POL0001');
    // Ann's channel id in Ben's own path: not found there.
    const annChannel = ann.channelResource.split('/').pop();
    assert.equal((await ben.req('GET', `/mavnotifyserver/notificationchannel/v1/{sid}/channels/${annChannel}`)).status, 404);
    assert.equal((await ann.req('GET', `/racm/v1/{sid}/lineinfo?clientId=${ben.clientId}`)).status, 401);
  });

  it('bad input: envelope with the right status, nothing created', async () => {
    const post = (body: unknown, headers: Record<string, string> = {}) => ann.req('POST', '/capabilitydiscovery/v1/{sid}/capabilitySources', body, headers);
    const cases: Array<[unknown, number, string, RegExp]> = [
      ['{not json', 400, 'SVC0002', /malformed JSON/],
      [{ capabilitySource: { serviceCapability: [], bogus: 1 } }, 400, 'SVC0002', /bogus: unknown field/],
      [{ capabilitySource: { serviceCapability: 'x' } }, 400, 'SVC0002', /serviceCapability/],
      [{ capabilitySource: { serviceCapability: [{ capabilityId: 'Chat', status: 'Maybe' }] } }, 400, 'SVC0003', /Enabled, Disabled/],
      [{ capabilitySource: { serviceCapability: [], resourceURL: 'http://x/y' } }, 400, 'SVC0002', /resourceURL/],
      [{ somethingElse: {} }, 400, 'SVC0002', /root element capabilitySource/],
      [{ capabilitySource: { serviceCapability: [{ capabilityId: 'x'.repeat(3000), status: 'Enabled' }] } }, 413, 'SVC0001', /2048/],
    ];
    for (const [body, status, id, text] of cases) {
      const res = await post(body);
      assert.equal(res.status, status, `${JSON.stringify(body).slice(0, 60)} → ${res.text}`);
      const ex = res.json.requestError.serviceException;
      assert.equal(ex.messageId, id);
      assert.match(ex.variables.join(' '), text);
    }
    assert.equal((await post('<xml/>', { 'Content-Type': 'application/xml' })).status, 415);
    const ch = await ann.req('POST', '/mavnotifyserver/notificationchannel/v1/{sid}/channels', { notificationChannel: { channelType: 'OMAPush' } });
    assert.equal(ch.status, 403);
    assert.equal(ch.json.requestError.policyException.messageId, 'POL1023');
    const sub = await ann.req('POST', '/vvoip/vvoip/v1/{sid}/subscriptions', { vvoipNotificationSubscription: { callbackReference: { notifyURL: 'http://elsewhere/x' }, duration: 60 } });
    assert.equal(sub.status, 400);
    assert.equal((await ann.req('POST', '/racm/v1/{sid}/lineinfo')).status, 405);
    assert.equal((await ann.req('GET', '/racm/v1/{sid}/nothing')).status, 404);
    // Quirks tolerated: numbers as strings, a bare object for a one-element list, an empty resourceURL.
    const ok = await post({ capabilitySource: { serviceCapability: { capabilityId: 'Chat', status: 'Enabled' }, duration: '60', resourceURL: '', 'client-correlator': 'q' } });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json.capabilitySource.serviceCapability, [{ capabilityId: 'Chat', status: 'Enabled' }]);
    const again = await post({ capabilitySource: { serviceCapability: [], clientCorrelator: 'q' } });
    assert.equal(again.json.capabilitySource.resourceURL, ok.json.capabilitySource.resourceURL, 'same correlator, same resource');
    assert.equal(ok.headers.location, ok.json.capabilitySource.resourceURL);
  });

  it('registers through the local domain and sends Registered / Unregistered notifications', async () => {
    assert.equal((await ann.subscribe('racm')).status, 201);
    const reg = await ann.register();
    assert.equal(reg.status, 200, reg.text);
    const info = reg.json.registrationInformation;
    assert.equal(info.regInfo[0].regStatus.registrationState, 'Registered');
    assert.equal(info.regInfo[0].isSim, false);
    await ann.waitFor('registrationNotification', (n) => n.registrationState === 'Registered');
    assert.equal((await ann.register()).status, 409, 'one registration per session');
    assert.equal((await ann.req('DELETE', info.resourceURL)).status, 204);
    await ann.waitFor('registrationNotification', (n) => n.registrationState === 'Unregistered');
    assert.equal((await ann.req('POST', '/vvoip/vvoip/v1/{sid}/sessions', { vvoipSessionInformation: { originatorAddress: '+15550000001', receiverAddress: '+15550000002', sdp: 'v=0\r\n' } })).status, 409, 'no registered line');
  });

  it('long polling: held, answered with pending notifications, null on timeout', async () => {
    const c = await OmaTestClient.login(base, 'ben');
    const ch = await c.req('POST', '/mavnotifyserver/notificationchannel/v1/{sid}/channels', { notificationChannel: { channelType: 'LongPolling', channelLifetime: 60 } });
    assert.equal(ch.status, 201);
    const url = ch.json.notificationChannel.channelData.channelURL;
    const callbackURL = ch.json.notificationChannel.callbackURL;
    const empty = await c.req('POST', url, { longPollingRequestParameters: null });
    assert.deepEqual(empty.json, { notificationList: null });
    await c.req('POST', '/racm/v1/{sid}/subscriptions', { racmNotificationSubscription: { callbackReference: { notifyURL: callbackURL, callbackData: 'r' } } });
    const polling = c.req('POST', url);
    await c.register();
    const got = await polling;
    assert.equal(got.status, 200);
    assert.equal(got.json.notificationList[0].registrationNotification.registrationState, 'Registered');
    assert.equal(got.json.notificationList[0].registrationNotification.callbackData, 'r');
    assert.equal((await c.req('DELETE', ch.json.notificationChannel.resourceURL)).status, 204);
    assert.equal((await c.req('GET', '/racm/v1/{sid}/lineinfo')).status, 401, 'the last channel took the session');
  });
});

describe('REST door with OAuth2 against a tiny identity provider', () => {
  let idp: Server;
  let service: GatewayService;
  const seen: string[] = [];

  before(async () => {
    idp = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        const form = new URLSearchParams(body);
        if (req.url === '/token' && form.get('code') === 'good-code' && form.get('client_secret') === 's3cret') {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 'tok', token_type: 'Bearer' }));
        } else if (req.url === '/userinfo' && req.headers.authorization === 'Bearer tok') {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ sub: 'ben' }));
        } else res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"invalid_grant"}');
      });
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    const idpUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    service = await startGatewayService(
      config({ auth: { mode: 'oauth2', oauth2: { authorizeUrl: `${idpUrl}/authorize`, tokenUrl: `${idpUrl}/token`, userInfoUrl: `${idpUrl}/userinfo`, clientId: 'portico', clientSecret: 's3cret', scope: 'openid' } } }),
      { logger: silent, doors: () => ({}) },
    );
  });

  after(async () => {
    await service?.close();
    await new Promise((r) => idp?.close(r));
  });

  it('INIT sends the browser to the provider; reg_srv exchanges the code and maps the user', async () => {
    const base = service.http.url();
    const init = await http(`${base}/webrtc`);
    const loc = new URL(String(init.headers.location));
    assert.equal(loc.pathname, '/authorize');
    assert.equal(loc.searchParams.get('client_id'), 'portico');
    assert.equal(loc.searchParams.get('response_type'), 'code');
    const state = loc.searchParams.get('state')!;
    assert.equal((await http(`${base}/reg_srv?code=bad&state=${state}`)).status, 401, 'refused code');
    const state2 = new URL(String((await http(`${base}/webrtc`)).headers.location)).searchParams.get('state')!;
    const reg = await http(`${base}/reg_srv?code=good-code&state=${state2}&user_id=ann`);
    assert.equal(reg.status, 303, reg.text);
    const sid = new URL(String(reg.headers.location)).searchParams.get('sessionId')!;
    assert.equal(service.oma!.session(sid)?.user.id, 'ben', 'the provider names the user, not user_id');
    assert.ok(seen.some((s) => s.startsWith('POST /token') && s.includes('grant_type=authorization_code') && s.includes(encodeURIComponent(`${base}/reg_srv`))));
  });
});

describe('documents', () => {
  it('PROTOCOL.md lists every error code with its status and messageId', () => {
    const doc = readFileSync(new URL('./PROTOCOL.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(OMA_ERROR_CODES)) {
      assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${spec.status} \\| ${spec.messageId} \\|`), code);
    }
  });

  it('the OpenAPI document lists every route', async () => {
    const service = await startGatewayService(config(), { logger: silent, doors: () => ({}) });
    try {
      const res = await http(`${service.http.url()}/oma/openapi.json`);
      assert.equal(res.status, 200);
      for (const r of allRoutes()) assert.ok(res.json.paths[openApiPath(r.pattern)]?.[r.method.toLowerCase()], `${r.method} ${r.pattern}`);
    } finally {
      await service.close();
    }
  });
});
