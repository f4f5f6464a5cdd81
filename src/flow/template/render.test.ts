import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate } from './compile.ts';
import { renderTemplate } from './render.ts';
import { createScopes } from './scopes.ts';
import { createSeededSource, websocketAccept } from './computed.ts';
import { TemplateError } from './errors.ts';

const render = (src: string, vars: Record<string, string | string[] | undefined>, opts = {}) =>
  renderTemplate(compileTemplate(src, { name: 'T' }), createScopes(vars), { random: createSeededSource(7), ...opts });
const lines = (b: Buffer) => b.toString('utf8').split('\r\n');

describe('fields and fillers', () => {
  it('emits literal text, substitutes fillers, ends head lines with CRLF and adds the blank line', () => {
    const r = render('GET /a HTTP/1.1\nHost: {host}\n', { host: 'gw.example' });
    assert.equal(r.bytes.toString(), 'GET /a HTTP/1.1\r\nHost: gw.example\r\n\r\n');
    assert.equal(r.head.toString(), 'GET /a HTTP/1.1\r\nHost: gw.example\r\n');
    assert.equal(r.body.length, 0);
  });

  it('does not emit source newlines: line ends are the default EOL or an explicit token', () => {
    const r = render('A{LF}\nB{CR}\nC{NOEOL}\nD\n', {});
    assert.equal(r.head.toString(), 'A\nB\rCD\r\n');
    assert.equal(render('A\nB\n', {}, { defaultEol: 'LF' }).bytes.toString(), 'A\nB\n\n');
  });

  it('keeps JSON braces literal without escaping and writes {LBRACE} for a literal token shape', () => {
    const r = render('---body---\n{"a":{"b":"{v:json}"},"c":{}} {LBRACE}v}\n', { v: 'x' });
    assert.equal(r.body.toString(), '{"a":{"b":"x"},"c":{}} {v}');
  });

  it('keeps body source newlines verbatim but drops the file-final newline', () => {
    assert.equal(render('---body---\n{\n "a": 1\n}\n', {}).body.toString(), '{\n "a": 1\n}');
    assert.equal(render('---body---\nx{CRLF}\n', {}).body.toString(), 'x\r\n');
  });

  it('renders a template with no head as the body alone (a WebSocket frame)', () => {
    const t = compileTemplate('{"connCheck":{"checkInterval":{n}}}', { name: 'frame', bodyOnly: true });
    const r = renderTemplate(t, createScopes({ n: '30' }));
    assert.equal(r.bytes.toString(), '{"connCheck":{"checkInterval":30}}');
  });
});

describe('conditional fillers {name?}', () => {
  const tpl = 'GET / HTTP/1.1\nContent-Type: {ct?}\nX-A: 1\n';
  it('present: the line is emitted', () => {
    assert.deepEqual(lines(render(tpl, { ct: 'application/json' }).head), ['GET / HTTP/1.1', 'Content-Type: application/json', 'X-A: 1', '']);
  });
  it('empty string counts as present: the line is emitted with an empty value', () => {
    assert.deepEqual(lines(render(tpl, { ct: '' }).head), ['GET / HTTP/1.1', 'Content-Type: ', 'X-A: 1', '']);
  });
  it('absent: the whole line and its EOL are dropped', () => {
    assert.deepEqual(lines(render(tpl, {}).head), ['GET / HTTP/1.1', 'X-A: 1', '']);
  });
  it('mid-line: only the text since the previous filler goes', () => {
    const src = 'GET /r?a={a:url}&b={b:url?} HTTP/1.1\n';
    assert.equal(lines(render(src, { a: '1' }).head)[0], 'GET /r?a=1 HTTP/1.1');
    assert.equal(lines(render(src, { a: '1', b: '2' }).head)[0], 'GET /r?a=1&b=2 HTTP/1.1');
  });
  it('an empty list is absent', () => {
    assert.deepEqual(lines(render('GET / HTTP/1.1\nCookie: {c?}\n', { c: [] }).head), ['GET / HTTP/1.1', '']);
  });
  it('sections {#x}…{/x} and {^x}…{/x} guard any stretch, also across body lines', () => {
    const src = '---body---\n{"m":{{#rr}"reportRequest":["{rr:json}"],{/rr}{^rr}"plain":true,\n{/rr}"text":"hi"}}\n';
    assert.equal(render(src, { rr: ['Delivered', 'Displayed'] }).body.toString(), '{"m":{"reportRequest":["Delivered","Displayed"],"text":"hi"}}');
    assert.equal(render(src, {}).body.toString(), '{"m":{"plain":true,\n"text":"hi"}}');
  });
});

describe('missing fillers', () => {
  it('throws template.missing-filler naming filler, message and line; nothing is rendered', () => {
    const src = 'GET / HTTP/1.1\nHost: h\nX-Session-ID: {session-id}\n';
    assert.throws(
      () => render(src, {}),
      (e: unknown) =>
        e instanceof TemplateError &&
        e.code === 'template.missing-filler' &&
        e.filler === 'session-id' &&
        e.template === 'T' &&
        e.line === 3 &&
        /session-id/.test(e.message) &&
        /line 3/.test(e.message),
    );
  });
  it('lenient renders it empty with a warning', () => {
    const r = render('GET / HTTP/1.1\nX: {nope}\n', {}, { lenient: true });
    assert.equal(lines(r.head)[1], 'X: ');
    assert.equal(r.diagnostics[0].code, 'render.lenient-missing-filler');
  });
});

describe('encoders', () => {
  it('json escapes string content, url percent-encodes per RFC 3986, b64 encodes UTF-8', () => {
    const r = render('---body---\n{a:json}|{a:url}|{a:b64}|{a:url:json}\n', { a: 'é "q"\\/&\n' });
    assert.equal(r.body.toString(), 'é \\"q\\"\\\\/&\\n|%C3%A9%20%22q%22%5C%2F%26%0A|' + Buffer.from('é "q"\\/&\n').toString('base64') + '|%C3%A9%20%22q%22%5C%2F%26%0A');
  });
});

describe('multi-valued fillers', () => {
  it('joins a list with "; " and picks an item with a 1-based index', () => {
    const r = render('GET / HTTP/1.1\nCookie: {c}\nX-First: {c.1}\nX-Second: {c.2}\nX-Third: {c.3?}\n', { c: ['a=1', 'b=2'] });
    assert.deepEqual(lines(r.head), ['GET / HTTP/1.1', 'Cookie: a=1; b=2', 'X-First: a=1', 'X-Second: b=2', '']);
  });
});

describe('computed fillers', () => {
  it('content-length is the byte length of the body after JSON encoding of an SDP with CRLF and non-ASCII', () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Café ☎ 通話\r\nt=0 0\r\n';
    const r = render('POST /s HTTP/1.1\nContent-Length: {content-length}\n---body---\n{"sdp":"{sdp:json}"}\n', { sdp });
    const expected = Buffer.byteLength(JSON.stringify({ sdp }), 'utf8');
    assert.equal(r.body.length, expected);
    assert.equal(lines(r.head)[1], `Content-Length: ${expected}`);
    assert.equal(JSON.parse(r.body.toString()).sdp, sdp);
    assert.notEqual(expected, JSON.stringify({ sdp }).length); // bytes, not characters
  });

  it('websocket-accept is the RFC 6455 §4.2.2 transform of the key, bound or generated', () => {
    // RFC 6455 §1.3 example key and accept.
    assert.equal(websocketAccept('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const bound = render('HTTP/1.1 101 Switching Protocols\nSec-WebSocket-Accept: {websocket-accept}\n', { 'websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    assert.equal(lines(bound.head)[1], 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    const gen = render('GET / HTTP/1.1\nK: {websocket-key}\nA: {websocket-accept}\n', {});
    const key = gen.computed['websocket-key'];
    assert.equal(Buffer.from(key, 'base64').length, 16);
    assert.deepEqual(lines(gen.head).slice(1, 3), [`K: ${key}`, `A: ${websocketAccept(key)}`]);
  });

  it('uuid, now-iso and rand-digits come from the injected source and agree within one render', () => {
    const a = render('X {uuid} {uuid} {now-iso} {rand-digits:12}\n', {}).head.toString();
    const b = render('X {uuid} {uuid} {now-iso} {rand-digits:12}\n', {}).head.toString();
    assert.equal(a, b);
    const m = /^X ([0-9a-f-]{36}) ([0-9a-f-]{36}) (\S+) ([0-9]{12})\r\n$/.exec(a);
    assert.ok(m, a);
    assert.equal(m[1], m[2]);
    assert.match(m[1], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(m[3], '2024-01-01T00:00:00.000Z');
  });

  it('seq counts per client context, shared by child scopes', () => {
    const t = compileTemplate('X {seq}\n', { name: 'T' });
    const client = createScopes({});
    const other = createScopes({});
    const seen = [client, client.child({}), other, client].map((c) => renderTemplate(t, c).head.toString());
    assert.deepEqual(seen, ['X 1\r\n', 'X 2\r\n', 'X 1\r\n', 'X 3\r\n']);
  });

  it('the context cannot shadow content-length', () => {
    const r = render('P / HTTP/1.1\nContent-Length: {content-length}\n---body---\nabc\n', { 'content-length': '99' });
    assert.equal(lines(r.head)[1], 'Content-Length: 3');
  });
});
