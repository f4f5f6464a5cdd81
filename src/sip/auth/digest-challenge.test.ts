import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  buildAuthorization,
  computeDigestResponse,
  computeHa1,
  DigestError,
  formatNonceCount,
  parseChallenge,
  parseChallenges,
  parseCredentials,
} from './digest-challenge.ts';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('parseChallenge', () => {
  it('reads realm, nonce, opaque, algorithm, qop list, stale and domain', () => {
    const c = parseChallenge(
      'Digest realm="atlanta.com", domain="sip:ss1.carrier.com sip:ss2.carrier.com", qop="auth,auth-int", ' +
        'nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=TRUE, algorithm=MD5-sess',
    );
    assert.equal(c.scheme, 'Digest');
    assert.equal(c.realm, 'atlanta.com');
    assert.equal(c.nonce, 'f84f1cec41e6cbe5aea9c8e88d359');
    assert.equal(c.opaque, '');
    assert.equal(c.algorithm, 'MD5-sess');
    assert.deepEqual(c.qop, ['auth', 'auth-int']);
    assert.equal(c.stale, true);
    assert.deepEqual(c.domain, ['sip:ss1.carrier.com', 'sip:ss2.carrier.com']);
  });

  it('defaults the algorithm to MD5, stale to false and qop to none (RFC 7616 §3.3)', () => {
    const c = parseChallenge('Digest realm="r", nonce="n"');
    assert.equal(c.algorithm, 'MD5');
    assert.equal(c.stale, false);
    assert.deepEqual(c.qop, []);
    assert.equal(c.opaque, undefined);
  });

  it('unescapes quoted-pairs inside quoted strings', () => {
    const c = parseChallenge('Digest realm="a \\"quoted\\" realm, with comma", nonce="x\\\\y"');
    assert.equal(c.realm, 'a "quoted" realm, with comma');
    assert.equal(c.nonce, 'x\\y');
  });

  it('matches the scheme and parameter names case-insensitively', () => {
    const c = parseChallenge('DIGEST REALM="r", Nonce="n", QOP="AUTH"');
    assert.equal(c.realm, 'r');
    assert.deepEqual(c.qop, ['auth']);
  });

  it('finds several challenges in one header value and skips other schemes', () => {
    const all = parseChallenges(
      'Basic realm="b", Digest realm="r1", nonce="n1", algorithm=SHA-256, Digest realm="r1", nonce="n1", algorithm=MD5',
    );
    assert.deepEqual(
      all.map((c) => [c.realm, c.algorithm]),
      [
        ['r1', 'SHA-256'],
        ['r1', 'MD5'],
      ],
    );
  });

  it('throws DigestError with a stable code on malformed input', () => {
    for (const bad of ['Digest realm="unterminated', 'Digest nonce="n"', '="x"', 'Basic realm="b"']) {
      assert.throws(
        () => parseChallenge(bad),
        (e: unknown) => e instanceof DigestError && e.code === 'SIP_ERR_AUTH_BAD_CHALLENGE',
        bad,
      );
    }
  });
});

describe('RFC 2617 §3.5 example', () => {
  it('yields response 6629fae49393a05397450978507c4ef1', () => {
    const challenge = parseChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
    const header = buildAuthorization({
      challenge,
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle Of Life',
      nc: 1,
      cnonce: '0a4f113b',
    });
    const creds = parseCredentials(header);
    assert.equal(creds.response, '6629fae49393a05397450978507c4ef1');
    assert.equal(creds.nc, '00000001');
    assert.equal(creds.qop, 'auth');
    assert.equal(creds.cnonce, '0a4f113b');
    assert.equal(creds.opaque, '5ccc069c403ebaf9f0171e9517f40e41');
    assert.equal(creds.uri, '/dir/index.html');
  });
});

describe('RFC 7616 §3.9.1 example', () => {
  const nonce = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
  const opaque = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
  const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
  const answer = (algorithm: string) =>
    parseCredentials(
      buildAuthorization({
        challenge: parseChallenge(
          `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${nonce}", opaque="${opaque}"`,
        ),
        method: 'GET',
        uri: '/dir/index.html',
        username: 'Mufasa',
        password: 'Circle of Life',
        nc: 1,
        cnonce,
      }),
    );

  it('gives the RFC response for MD5', () => {
    assert.equal(answer('MD5').response, '8ca523f5e9506fed4657c9700eebdbec');
  });

  it('gives the RFC response for SHA-256', () => {
    const c = answer('SHA-256');
    assert.equal(c.response, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    assert.equal(c.algorithm, 'SHA-256');
  });
});

describe('buildAuthorization', () => {
  const challenge = (extra: string) => parseChallenge(`Digest realm="biloxi.com", nonce="abc", ${extra}`);

  it('gives the same answer from a password and from the precomputed HA1, for every algorithm', () => {
    for (const alg of ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const) {
      const base = { challenge: challenge(`algorithm=${alg}, qop="auth"`), method: 'REGISTER', uri: 'sip:biloxi.com', username: 'bob', nc: 3, cnonce: 'c0ffee' };
      const fromPassword = parseCredentials(buildAuthorization({ ...base, password: 'zanzibar' })).response;
      const ha1 = computeHa1(alg.replace('-sess', '') as 'MD5', 'bob', 'biloxi.com', 'zanzibar');
      const fromHa1 = parseCredentials(buildAuthorization({ ...base, ha1 })).response;
      assert.equal(fromHa1, fromPassword, alg);
      assert.equal(fromPassword.length, alg.startsWith('MD5') ? 32 : 64, alg);
    }
  });

  it('applies -sess as H(HA1:nonce:cnonce) (RFC 7616 §3.4.2)', () => {
    const ha1 = computeHa1('MD5', 'bob', 'biloxi.com', 'zanzibar');
    const plain = computeDigestResponse({ algorithm: 'MD5', ha1, nonce: 'abc', method: 'INVITE', uri: 'sip:b', qop: 'auth', nc: '00000001', cnonce: 'x' });
    const sess = computeDigestResponse({ algorithm: 'MD5-sess', ha1, nonce: 'abc', method: 'INVITE', uri: 'sip:b', qop: 'auth', nc: '00000001', cnonce: 'x' });
    assert.notEqual(plain, sess);
    const sessHa1 = md5(`${ha1}:abc:x`);
    assert.equal(sess, md5(`${sessHa1}:abc:00000001:x:auth:${md5('INVITE:sip:b')}`));
  });

  it('hashes the body with qop=auth-int, so a changed body changes the response', () => {
    const c = challenge('qop="auth-int"');
    const base = { challenge: c, method: 'INVITE', uri: 'sip:bob@biloxi.com', username: 'bob', password: 'p', nc: 1, cnonce: 'k' };
    const a = parseCredentials(buildAuthorization({ ...base, body: 'v=0\r\n' }));
    const b = parseCredentials(buildAuthorization({ ...base, body: 'v=1\r\n' }));
    assert.equal(a.qop, 'auth-int');
    assert.notEqual(a.response, b.response);
    const ha2 = md5(`INVITE:sip:bob@biloxi.com:${md5('v=0\r\n')}`);
    assert.equal(a.response, md5(`${md5('bob:biloxi.com:p')}:abc:00000001:k:auth-int:${ha2}`));
  });

  it('prefers auth when both are offered, unless auth-int is asked for', () => {
    const c = challenge('qop="auth-int,auth"');
    const base = { challenge: c, method: 'INVITE', uri: 'sip:b', username: 'bob', password: 'p', nc: 1, cnonce: 'k' };
    assert.equal(parseCredentials(buildAuthorization(base)).qop, 'auth');
    assert.equal(parseCredentials(buildAuthorization({ ...base, qop: 'auth-int' })).qop, 'auth-int');
  });

  it('answers a challenge without qop in the RFC 2069 form, without nc and cnonce', () => {
    const header = buildAuthorization({ challenge: challenge('algorithm=MD5'), method: 'REGISTER', uri: 'sip:b', username: 'bob', password: 'p', nc: 1, cnonce: 'k' });
    const creds = parseCredentials(header);
    assert.equal(creds.qop, undefined);
    assert.equal(creds.nc, undefined);
    assert.equal(creds.cnonce, undefined);
    assert.equal(creds.response, md5(`${md5('bob:biloxi.com:p')}:abc:${md5('REGISTER:sip:b')}`));
  });

  it('writes nc as 8 hex digits', () => {
    assert.equal(formatNonceCount(1), '00000001');
    assert.equal(formatNonceCount(255), '000000ff');
    const header = buildAuthorization({ challenge: challenge('qop="auth"'), method: 'M', uri: 'sip:b', username: 'u', password: 'p', nc: 26, cnonce: 'k' });
    assert.match(header, /nc=0000001a(,|$)/);
  });

  it('escapes quotes in the username and reads them back', () => {
    const header = buildAuthorization({ challenge: challenge('qop="auth"'), method: 'M', uri: 'sip:b', username: 'a"b\\c', password: 'p', nc: 1, cnonce: 'k' });
    assert.equal(parseCredentials(header).username, 'a"b\\c');
  });

  it('refuses an unknown algorithm, a missing secret and an HA1 of the wrong length', () => {
    const base = { method: 'M', uri: 'sip:b', username: 'u', nc: 1, cnonce: 'k' };
    const code = (c: string) => (e: unknown) => e instanceof DigestError && e.code === c;
    assert.throws(() => buildAuthorization({ ...base, challenge: challenge('algorithm=SHA-1'), password: 'p' }), code('SIP_ERR_AUTH_UNSUPPORTED_ALGORITHM'));
    assert.throws(() => buildAuthorization({ ...base, challenge: challenge('algorithm=MD5') }), code('SIP_ERR_AUTH_NO_SECRET'));
    assert.throws(() => buildAuthorization({ ...base, challenge: challenge('algorithm=SHA-256'), ha1: '0'.repeat(32) }), code('SIP_ERR_AUTH_HA1_MISMATCH'));
  });
});
