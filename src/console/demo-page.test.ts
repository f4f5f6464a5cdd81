/**
 * The demo web phone as the gateway serves it at its root URL: the page with the local domain's
 * demo users and echo, its bundled script, and the page's own MD5 (RFC 1321 §A.5 test suite).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../gateway/config.ts';
import { startGatewayService, type GatewayService } from '../gateway/service.ts';
import { ha1, md5Hex } from './phone/md5.ts';

describe('demo web phone', () => {
  let service: GatewayService;
  before(async () => {
    service = await startGatewayService(parseConfig({ http: { port: 0 }, sip: { port: 0 }, log: { level: 'silent' } }), {});
  });
  after(async () => {
    await service?.close();
  });

  it('serves the page at / with the demo users of the local domain and its echo', async () => {
    const res = await fetch(`${service.http.url()}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    const settings = JSON.parse(/window\.PORTICO_DEMO = (.*);<\/script>/.exec(html)![1]!);
    assert.deepEqual(settings, {
      wsPath: '/webrtcgateway/ws',
      domain: 'portico.local',
      users: [
        { name: 'alice', password: 'alice' },
        { name: 'bob', password: 'bob' },
        { name: 'carol', password: 'carol' },
      ],
      echo: 'echo@portico.local',
    });
    assert.match(html, /<script src="phone\.js"><\/script>/);
  });

  it('serves the bundled script, which speaks sylkRTC-2', async () => {
    const res = await fetch(`${service.http.url()}/phone.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    const js = await res.text();
    assert.ok(js.includes('sylkRTC-2') && js.includes('session-create') && js.includes('insertDTMF'));
    assert.doesNotMatch(js, /^import |require\(/m, 'one self-contained bundle');
    const head = await fetch(`${service.http.url()}/phone.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(js));
    assert.equal((await fetch(`${service.http.url()}/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${service.http.url()}/healthz`)).status, 200, 'other paths keep their owners');
  });

  it('computes MD5 and the digest HA1 in the page as RFC 1321 and RFC 7616 define them', () => {
    const suite: Array<[string, string]> = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [input, digest] of suite) assert.equal(md5Hex(input), digest, JSON.stringify(input));
    assert.equal(ha1('Mufasa', 'http-auth@example.org', 'Circle of Life'), md5Hex('Mufasa:http-auth@example.org:Circle of Life'));
    assert.equal(md5Hex('\u00e9'), '66ddcd97cfdeabb2f6fb8a999b4bc76f', 'text is hashed as UTF-8');
  });
});

describe('demo web phone turned off', () => {
  it('leaves / unanswered', async () => {
    const service = await startGatewayService(parseConfig({ http: { port: 0, demoPhone: false }, sip: { port: 0 }, log: { level: 'silent' } }), {});
    try {
      assert.equal((await fetch(`${service.http.url()}/`)).status, 404);
    } finally {
      await service.close();
    }
  });
});
