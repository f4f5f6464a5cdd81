import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, createResponse, newBranch, type SipRequest, type SipResponse } from '../message/index.ts';
import { computeHa1, parseCredentials, quote } from './digest-challenge.ts';
import { DigestClient } from './digest-client.ts';
import { DigestServer } from './digest-server.ts';

function register(body?: string): SipRequest {
  const req = createRequest({
    method: 'REGISTER',
    uri: 'sip:biloxi.example.com',
    from: '<sip:bob@biloxi.example.com>;tag=a73kszlfl',
    to: '<sip:bob@biloxi.example.com>',
    callId: '1j9FpLxk3uxtm8tn@biloxi.example.com',
    cseq: 1,
    headers: [['Contact', '<sip:bob@192.0.2.4>']],
    ...(body !== undefined ? { body, contentType: 'text/plain' } : {}),
  });
  req.headers.prepend('Via', `SIP/2.0/UDP 192.0.2.4;branch=${newBranch()};rport`);
  return req;
}

function challengeResponse(req: SipRequest, status: 401 | 407, challenges: string[]): SipResponse {
  const header = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  return createResponse(req, status, undefined, { toTag: 'srv', headers: challenges.map((c) => [header, c] as const) });
}

const digest = (realm: string, nonce: string, extra = 'qop="auth", algorithm=MD5'): string =>
  `Digest realm=${quote(realm)}, nonce=${quote(nonce)}, ${extra}`;

describe('DigestClient', () => {
  describe('authorize', () => {
    it('answers a 401 with Authorization, CSeq + 1 and no Via, keeping everything else', () => {
      const client = new DigestClient({ cnonce: () => 'fixed' });
      const req = register();
      const retry = client.authorize(req, challengeResponse(req, 401, [digest('biloxi.example.com', 'n1')]), {
        username: 'bob',
        password: 'zanzibar',
      });
      assert.ok(retry);
      assert.notEqual(retry, req, 'a new request; the original is untouched');
      assert.deepEqual(retry.cseq, { seq: 2, method: 'REGISTER' });
      assert.equal(retry.headers.has('Via'), false, 'the transaction layer adds a fresh Via');
      assert.equal(retry.callId, req.callId);
      assert.equal(retry.fromTag, req.fromTag);
      assert.equal(retry.headers.get('Contact'), '<sip:bob@192.0.2.4>');
      assert.equal(req.headers.has('Authorization'), false);
      const creds = parseCredentials(retry.headers.get('Authorization')!);
      assert.equal(creds.username, 'bob');
      assert.equal(creds.realm, 'biloxi.example.com');
      assert.equal(creds.uri, 'sip:biloxi.example.com', 'digest-uri is the Request-URI');
      assert.equal(creds.nc, '00000001');
      assert.equal(creds.cnonce, 'fixed');
      assert.equal(retry.headers.has('Proxy-Authorization'), false);
    });

    it('answers a 407 with Proxy-Authorization', () => {
      const client = new DigestClient();
      const req = register();
      const retry = client.authorize(req, challengeResponse(req, 407, [digest('proxy.example.com', 'p1')]), {
        username: 'bob',
        password: 'zanzibar',
      });
      assert.ok(retry);
      assert.equal(retry.headers.has('Authorization'), false);
      assert.equal(parseCredentials(retry.headers.get('Proxy-Authorization')!).realm, 'proxy.example.com');
    });

    it('returns undefined for other statuses and for challenges it has no credentials for', () => {
      const client = new DigestClient();
      const req = register();
      assert.equal(client.authorize(req, createResponse(req, 403), { username: 'bob', password: 'x' }), undefined);
      const res = challengeResponse(req, 401, [digest('elsewhere', 'n')]);
      assert.equal(client.authorize(req, res, { username: 'bob', password: 'x', realm: 'biloxi.example.com' }), undefined);
      assert.equal(client.authorize(req, res, () => undefined), undefined);
    });

    it('gives up when the nonce it answered is challenged again without stale=true', () => {
      const client = new DigestClient();
      const req = register();
      const creds = { username: 'bob', password: 'wrong' };
      const retry = client.authorize(req, challengeResponse(req, 401, [digest('biloxi.example.com', 'n1')]), creds)!;
      assert.equal(client.authorize(retry, challengeResponse(retry, 401, [digest('biloxi.example.com', 'n1')]), creds), undefined);
      // stale=true means the password was right and only the nonce aged: retry with the new nonce, nc from 1
      const again = client.authorize(
        retry,
        challengeResponse(retry, 401, [digest('biloxi.example.com', 'n2', 'qop="auth", stale=true')]),
        creds,
      );
      assert.ok(again);
      assert.deepEqual(again.cseq, { seq: 3, method: 'REGISTER' });
      const c = parseCredentials(again.headers.get('Authorization')!);
      assert.equal(c.nonce, 'n2');
      assert.equal(c.nc, '00000001');
      assert.equal(again.headers.getAll('Authorization').length, 1, 'the old credentials for the realm are replaced');
    });

    it('counts nc per nonce: increments while the nonce is reused, restarts at 1 for a new one', () => {
      const client = new DigestClient();
      const creds = { username: 'bob', password: 'zanzibar' };
      const first = register();
      const r1 = client.authorize(first, challengeResponse(first, 401, [digest('biloxi.example.com', 'n1')]), creds)!;
      assert.equal(parseCredentials(r1.headers.get('Authorization')!).nc, '00000001');
      const later = client.preauthorize(register(), creds);
      assert.equal(parseCredentials(later.headers.get('Authorization')!).nc, '00000002');
      const third = client.preauthorize(register(), creds);
      assert.equal(parseCredentials(third.headers.get('Authorization')!).nc, '00000003');
      assert.equal(client.nonceCount('biloxi.example.com'), 3);
      const fresh = register();
      const r2 = client.authorize(fresh, challengeResponse(fresh, 401, [digest('biloxi.example.com', 'n2', 'qop="auth", stale=true')]), creds)!;
      assert.equal(parseCredentials(r2.headers.get('Authorization')!).nc, '00000001');
    });

    it('prefers the first challenge it can answer (RFC 8760 §2.4), matching an HA1 to its algorithm', () => {
      const client = new DigestClient();
      const req = register();
      const res = challengeResponse(req, 401, [
        digest('biloxi.example.com', 'n1', 'qop="auth", algorithm=SHA-256'),
        digest('biloxi.example.com', 'n1', 'qop="auth", algorithm=MD5'),
      ]);
      const withPassword = client.authorize(req, res, { username: 'bob', password: 'zanzibar' })!;
      assert.equal(parseCredentials(withPassword.headers.get('Authorization')!).algorithm, 'SHA-256');
      const md5Ha1 = computeHa1('MD5', 'bob', 'biloxi.example.com', 'zanzibar');
      const withHa1 = new DigestClient().authorize(req, res, { username: 'bob', ha1: md5Ha1 })!;
      assert.equal(parseCredentials(withHa1.headers.get('Authorization')!).algorithm, 'MD5');
    });

    it('answers several realms at once and keeps credentials for realms not challenged', () => {
      const client = new DigestClient();
      const req = register();
      req.headers.append('Proxy-Authorization', 'Digest username="bob", realm="other", nonce="x", uri="sip:a", response="00"');
      const res = challengeResponse(req, 407, [digest('p1.example.com', 'a'), digest('p2.example.com', 'b')]);
      const secrets: Record<string, string> = { 'p1.example.com': 'one', 'p2.example.com': 'two' };
      const retry = client.authorize(req, res, (realm) => (secrets[realm] ? { username: 'bob', password: secrets[realm] } : undefined))!;
      const realms = retry.headers.getAll('Proxy-Authorization').map((v) => parseCredentials(v).realm);
      assert.deepEqual(realms.sort(), ['other', 'p1.example.com', 'p2.example.com']);
    });
  });

  describe('with DigestServer', () => {
    const users: Record<string, string> = { bob: 'zanzibar' };
    const lookup = (u: string) => (users[u] ? { password: users[u] } : undefined);

    it('round-trips for every algorithm, from a password and from an HA1', () => {
      for (const algorithm of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256'] as const) {
        const server = new DigestServer({ realm: 'biloxi.example.com', algorithms: [algorithm] });
        const req = register();
        assert.deepEqual(server.verify(req, lookup), { ok: false, reason: 'missing', stale: false });
        const res = challengeResponse(req, 401, server.challenge());
        const retry = new DigestClient().authorize(req, res, { username: 'bob', password: 'zanzibar' })!;
        const v = server.verify(retry, lookup);
        assert.equal(v.ok, true, `${algorithm}: ${JSON.stringify(v)}`);
        const base = algorithm.replace('-sess', '') as 'MD5' | 'SHA-256' | 'SHA-512-256';
        const ha1 = computeHa1(base, 'bob', 'biloxi.example.com', 'zanzibar');
        const viaHa1 = new DigestClient().authorize(req, challengeResponse(req, 401, server.challenge()), { username: 'bob', ha1 })!;
        assert.equal(server.verify(viaHa1, () => ({ ha1: { [base]: ha1 } })).ok, true, `${algorithm} from HA1`);
      }
    });

    it('rejects a wrong password, an unknown user, a forged nonce and a replayed nonce count', () => {
      const server = new DigestServer({ realm: 'biloxi.example.com' });
      const req = register();
      const res = challengeResponse(req, 401, server.challenge());
      const wrong = new DigestClient().authorize(req, res, { username: 'bob', password: 'nope' })!;
      assert.deepEqual(server.verify(wrong, lookup), { ok: false, reason: 'wrong-response', stale: false, username: 'bob' });
      const stranger = new DigestClient().authorize(req, res, { username: 'eve', password: 'x' })!;
      assert.equal((server.verify(stranger, lookup) as { reason: string }).reason, 'unknown-user');
      const forged = new DigestClient().authorize(req, challengeResponse(req, 401, [digest('biloxi.example.com', 'AAAA', 'qop="auth", algorithm=SHA-256')]), {
        username: 'bob',
        password: 'zanzibar',
      })!;
      assert.equal((server.verify(forged, lookup) as { reason: string }).reason, 'bad-nonce');
      const good = new DigestClient().authorize(req, res, { username: 'bob', password: 'zanzibar' })!;
      assert.equal(server.verify(good, lookup).ok, true);
      assert.equal((server.verify(good, lookup) as { reason: string }).reason, 'replay', 'same nc twice');
    });

    it('reports stale for an old nonce with a correct response, and the client retries without giving up', () => {
      let now = 1_000_000;
      const server = new DigestServer({ realm: 'biloxi.example.com', nonceTtlMs: 60_000, now: () => now });
      const client = new DigestClient();
      const creds = { username: 'bob', password: 'zanzibar' };
      const req = register();
      const first = client.authorize(req, challengeResponse(req, 401, server.challenge()), creds)!;
      assert.equal(server.verify(first, lookup).ok, true);
      now += 61_000;
      const later = client.preauthorize(register(), creds);
      const v = server.verify(later, lookup);
      assert.deepEqual(v, { ok: false, reason: 'stale', stale: true, username: 'bob' });
      assert.equal(server.checkNonce(parseCredentials(later.headers.get('Authorization')!).nonce), 'stale');
      const retry = client.authorize(later, challengeResponse(later, 401, server.challenge({ stale: true })), creds);
      assert.ok(retry, 'stale=true is not a rejection of the password');
      assert.equal(server.verify(retry, lookup).ok, true);
    });

    it('protects the body with qop=auth-int', () => {
      const server = new DigestServer({ realm: 'biloxi.example.com', qop: ['auth-int'] });
      const req = register('hello');
      const retry = new DigestClient().authorize(req, challengeResponse(req, 401, server.challenge()), { username: 'bob', password: 'zanzibar' })!;
      assert.equal(parseCredentials(retry.headers.get('Authorization')!).qop, 'auth-int');
      const tampered = retry.clone();
      tampered.body = Buffer.from('HELLO');
      assert.equal((server.verify(tampered, lookup) as { reason: string }).reason, 'wrong-response');
      assert.equal(server.verify(retry, lookup).ok, true);
    });

    it('challenges as a proxy with 407 / Proxy-Authenticate, SHA-256 offered before MD5', () => {
      const server = new DigestServer({ realm: 'proxy.example.com', proxy: true, opaque: 'op"aque' });
      assert.equal(server.status, 407);
      assert.equal(server.challengeHeader, 'Proxy-Authenticate');
      const values = server.challenge();
      assert.equal(values.length, 2);
      assert.match(values[0]!, /algorithm=SHA-256/);
      assert.match(values[1]!, /algorithm=MD5/);
      const req = register();
      const retry = new DigestClient().authorize(req, challengeResponse(req, 407, values), { username: 'bob', password: 'zanzibar' })!;
      const creds = parseCredentials(retry.headers.get('Proxy-Authorization')!);
      assert.equal(creds.opaque, 'op"aque');
      assert.equal(creds.algorithm, 'SHA-256');
      assert.equal(server.verify(retry, lookup).ok, true);
    });
  });
});
