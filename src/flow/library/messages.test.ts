/**
 * Golden tests of the built-in messages: each renders byte for byte to test/fixtures/flow/golden/<ID>.http
 * with the fixed values of golden-context.ts. Regenerate with `UPDATE_GOLDEN=1` and review the diff by eye.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { headerValue, headerValues, parseHttpHead, renderTemplate } from '../template/index.ts';
import { compileDefaultTemplate, getDefaultTemplate, listMessages } from './library.ts';
import { lintLibraryTemplate } from './lint-library.ts';
import { GOLDEN_SDP, goldenRandom, goldenScopes } from './golden-context.ts';
import { MESSAGE_INDEX } from './message-index.ts';

const GOLDEN_DIR = fileURLToPath(new URL('../../../test/fixtures/flow/golden/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, bytes: Buffer): void {
  const file = join(GOLDEN_DIR, name);
  if (UPDATE) {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, bytes);
  }
  assert.ok(existsSync(file), `missing fixture ${file}; run with UPDATE_GOLDEN=1`);
  assert.deepEqual(bytes, readFileSync(file), `${name} differs from its fixture`);
}

const render = (id: string, overrides: Record<string, string | string[] | undefined> = {}) =>
  renderTemplate(compileDefaultTemplate(id), goldenScopes(overrides), { random: goldenRandom() });

describe('built-in messages', () => {
  it('cover every WEBRTC_HTTP_REQ_* / WEBRTC_HTTP_RESP_* pair of the Landslide flow', () => {
    const steps = [
      'INIT', 'REG_SRV', 'CHAN_CREATE', 'SETUP_WEBSOCKET', 'INIT_REG', 'CALL_SUBS', 'CHAT_SUBS', 'REG_SUBS', 'MMS_SUBS',
      'CAP_DISC', 'PUT_CAP', 'REG', 'CALL_CONN', 'CALL_DISCONN', 'CHAT_INVITE', 'CHAT_ACCEPT', 'CHAT_MSG_IS_COMP',
      'CHAT_MSG', 'DISP_REPORT', 'DEREG', 'CHAN_CLOSE',
    ];
    const ids = MESSAGE_INDEX.map((m) => m.id).sort();
    assert.deepEqual(ids, steps.flatMap((s) => [`WEBRTC_HTTP_REQ_${s}`, `WEBRTC_HTTP_RESP_${s}`]).sort());
    for (const m of MESSAGE_INDEX) assert.equal(MESSAGE_INDEX.find((x) => x.id === m.pair)?.pair, m.id);
  });

  for (const m of listMessages()) {
    describe(m.id, () => {
      const r = render(m.id);
      const head = parseHttpHead(r.head);

      it('renders byte for byte to its golden fixture', () => golden(`${m.id}.http`, r.bytes));

      it('is well-formed HTTP/1.1 matching the index', () => {
        assert.equal(head.version, 'HTTP/1.1');
        if (m.kind === 'request') {
          assert.equal(head.kind, 'request');
          assert.equal(head.kind === 'request' && head.method, m.method);
          assert.ok(headerValue(head, 'Host'), 'requests carry Host (RFC 9112 §3.2)');
        } else {
          assert.equal(head.kind, 'response');
          assert.equal(head.kind === 'response' && head.status, m.status);
          for (const h of ['host', 'user-agent', 'content-encoding']) assert.equal(headerValue(head, h), undefined, `no ${h} in a response`);
        }
        assert.ok(r.head.toString('latin1').split('\r\n').slice(0, -1).every((l) => l.length > 0), 'every head line ends with CRLF, no blank line inside');
        assert.ok(headerValues(head, 'Cookie').length <= 1, 'at most one Cookie header (RFC 6265 §5.4)');
      });

      it('declares the exact body length, and a JSON body parses', () => {
        const cl = headerValue(head, 'Content-Length');
        const status = head.kind === 'response' ? head.status : 0;
        if (status === 204 || status === 101) assert.equal(cl, undefined, 'no Content-Length on 204/101 (RFC 9110 §8.6)');
        else if (r.body.length || head.kind === 'response') assert.equal(cl, String(r.body.length));
        else assert.equal(cl, undefined, 'a bodiless request sends neither Content-Length nor Content-Type');
        if (r.body.length) {
          assert.equal(headerValue(head, 'Content-Type'), 'application/json');
          assert.doesNotThrow(() => JSON.parse(r.body.toString('utf8')));
          assert.ok(!/"resourceURL":""/.test(r.body.toString()), 'no empty resourceURL');
        }
      });

      it('lints clean', () => {
        assert.deepEqual(lintLibraryTemplate(getDefaultTemplate(m.id), { name: m.id, file: m.file }), []);
      });
    });
  }
});

describe('values the flow feeds forward', () => {
  it('the JSON of CALL_CONN carries the SDP intact, and Content-Length counts its UTF-8 bytes', () => {
    const r = render('WEBRTC_HTTP_REQ_CALL_CONN');
    const body = JSON.parse(r.body.toString('utf8'));
    assert.equal(body.vvoipSessionInformation.sdp, GOLDEN_SDP);
    assert.equal(headerValue(parseHttpHead(r.head), 'Content-Length'), String(Buffer.byteLength(r.body.toString('utf8'))));
    assert.ok(r.body.toString('utf8').includes('s=Appel vidéo – Café ☎\\r\\n'));
  });

  it('the WebSocket response accepts the request key per RFC 6455 §4.2.2', () => {
    const r = render('WEBRTC_HTTP_RESP_SETUP_WEBSOCKET');
    assert.equal(headerValue(parseHttpHead(r.head), 'Sec-WebSocket-Accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const req = parseHttpHead(render('WEBRTC_HTTP_REQ_SETUP_WEBSOCKET').head);
    assert.equal(headerValue(req, 'Sec-WebSocket-Protocol'), 'notificationchannel-netapi-rest.openmobilealliance.org');
  });

  it('path elements are percent-encoded (tel:+1… in a chat URL)', () => {
    const head = parseHttpHead(render('WEBRTC_HTTP_REQ_CHAT_INVITE').head);
    assert.equal(head.kind === 'request' && head.target, '/chat/chat/v1/223A9880F180B192757B75F1811F7B731E9D318B19739D914393A2FC00000000/oneToOne/tel%3A%2B13125550123');
  });

  it('cookies go in one Cookie header joined with "; "', () => {
    const head = parseHttpHead(render('WEBRTC_HTTP_REQ_CHAT_SUBS').head);
    assert.deepEqual(headerValues(head, 'Cookie'), ['JSESSIONID=3F2A9C01; tmo_sso=a1b2c3']);
  });
});

describe('conditional parts of the built-in messages', () => {
  const id = 'WEBRTC_HTTP_REQ_CHAT_MSG';
  const headLines = (o: Record<string, string | string[] | undefined>) => render(id, o).head.toString().split('\r\n');

  it('present: Referer and Cookie lines are sent', () => {
    const l = headLines({});
    assert.ok(l.includes('Referer: http://gw.example.net:8080/wrcprohome.html?clientId=cl-0001'));
    assert.ok(l.includes('Cookie: JSESSIONID=3F2A9C01; tmo_sso=a1b2c3'));
  });
  it('empty: the lines are sent with an empty value', () => {
    const l = headLines({ referer: '', 'oauth-cookie': '' });
    assert.ok(l.includes('Referer: '));
    assert.ok(l.includes('Cookie: '));
  });
  it('absent: the lines are not sent at all', () => {
    const scopes = goldenScopes();
    const t = compileDefaultTemplate(id);
    const without = { lookup: (n: string) => (n === 'referer' || n === 'oauth-cookie' ? undefined : scopes.lookup(n)) };
    const r = renderTemplate(t, without, { random: goldenRandom() });
    const l = r.head.toString().split('\r\n');
    assert.ok(!l.some((x) => x.startsWith('Referer') || x.startsWith('Cookie')));
    assert.equal(l.filter((x) => x === '').length, 1, 'no blank line left behind');
    golden(`${id}.minimal.http`, renderTemplate(t, { lookup: (n) => (['referer', 'oauth-cookie', 'chat-report-request'].includes(n) ? undefined : scopes.lookup(n)) }, { random: goldenRandom() }).bytes);
  });
  it('the optional reportRequest member comes and goes with chat-report-request, leaving valid JSON', () => {
    const scopes = goldenScopes();
    const t = compileDefaultTemplate(id);
    const absent = renderTemplate(t, { lookup: (n) => (n === 'chat-report-request' ? undefined : scopes.lookup(n)) });
    assert.deepEqual(JSON.parse(absent.body.toString()), { chatMessage: { text: 'Salut "Bob" – ça va?' } });
    assert.deepEqual(JSON.parse(render(id).body.toString()).chatMessage.reportRequest, ['Delivered', 'Displayed']);
    assert.deepEqual(JSON.parse(render(id, { 'chat-report-request': 'Delivered' }).body.toString()).chatMessage.reportRequest, ['Delivered']);
  });
});
