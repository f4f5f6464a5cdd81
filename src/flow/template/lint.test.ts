import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lintTemplate } from './lint.ts';
import type { Diagnostic } from './errors.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/flow/landslide/', import.meta.url));
const KNOWN = ['session-id', 'client-id', 'client-correlator', 'webrtc-srv-name', 'http-port', 'content-type', 'called-number', 'chat-msg-id', 'oauth-cookie', 'oauth-author-code', 'host', 'v'];
const lint = (src: string, extra: Record<string, unknown> = {}) => lintTemplate(src, { name: 'T', knownFillers: KNOWN, ...extra });
const codes = (d: Diagnostic[]) => d.map((x) => `${x.code}@${x.line}`);
const has = (d: Diagnostic[], code: string, line?: number) =>
  assert.ok(d.some((x) => x.code === code && (line === undefined || x.line === line)), `expected ${code}@${line} in ${codes(d).join(', ')}`);

describe('linter', () => {
  it('is silent on a clean template', () => {
    assert.deepEqual(lint('POST /a/{session-id:url} HTTP/1.1\nHost: {host}\nContent-Type: application/json\nContent-Length: {content-length}\n---body---\n{"a":"{v:json}","n":{v}}\n'), []);
  });

  it('reports a compile error as an error diagnostic instead of throwing', () => {
    const d = lint('GET / HTTP/1.1\nX: {v:zip}\n');
    assert.equal(d.length, 1);
    assert.equal(d[0].code, 'template.unknown-encoder');
    assert.equal(d[0].line, 2);
  });

  it('unknown fillers, and near misses of known ones', () => {
    const d = lint('GET / HTTP/1.1\nX: {nobody-knows}\nY: {client-correlation}\n');
    has(d, 'lint.unknown-filler', 2);
    const near = d.find((x) => x.line === 3);
    assert.equal(near?.code, 'lint.near-miss-filler');
    assert.match(near!.message, /did you mean \{client-correlator\}/);
  });

  it('near-miss spellings: Landslide -if, capitals, spaces, lower-case line ends, {CR} {LF}, stray brace, doubled filler', () => {
    const d = lint('GET /?c={{client-id}&a={oauth-author-code}{oauth-author-code} HTTP/1.1{CR} {LF}\nX: {v-if}\nY: {Session-id}\nZ: { v }\nW: 1{crlf}\n');
    const msgs = d.filter((x) => x.code === 'lint.near-miss-filler').map((x) => x.message);
    for (const re of [/stray "\{" before \{client-id\}/, /repeated back to back/, /write \{CRLF\}/, /\{v\?\}/, /did you mean \{session-id\}/, /has spaces/, /upper case: \{CRLF\}/]) {
      assert.ok(msgs.some((m) => re.test(m)), `${re} not in ${JSON.stringify(msgs)}`);
    }
  });

  it('broken JSON after a trial render names the line', () => {
    const d = lint('POST / HTTP/1.1\nContent-Type: application/json\nContent-Length: {content-length}\n---body---\n{\n "a": "{v:json}"\n "b": 1\n}\n');
    has(d, 'lint.broken-json', 7);
  });

  it('a filler used as a JSON fragment that does not fit breaks the trial render', () => {
    const d = lint('POST / HTTP/1.1\nContent-Type: application/json\nContent-Length: {content-length}\n---body---\n{"chatMessage":{{v}"text":"x"}}\n');
    has(d, 'lint.broken-json', 5);
  });

  it('glued headers: {NOEOL} before a header, and a header name right after a filler', () => {
    const d = lint('GET / HTTP/1.1\nX-Session-ID: {session-id}{NOEOL}\nCookie: a=1\nContent-Type: {content-type}location: http://x/\n');
    has(d, 'lint.glued-header', 2);
    has(d, 'lint.glued-header', 4);
    // URLs after a filler are not headers.
    assert.deepEqual(codes(lint('GET / HTTP/1.1\nLocation: {host}http://x\nReferer: http://{host}:{http-port}/a\n')).filter((c) => c.startsWith('lint.glued')), []);
  });

  it('duplicate headers, with the RFC 6265 rule for Cookie', () => {
    const d = lint('GET / HTTP/1.1\nCookie: {oauth-cookie}\nCookie: b=2\nX: 1\nx: 2\n');
    const dups = d.filter((x) => x.code === 'lint.duplicate-header');
    assert.equal(dups.length, 2);
    assert.match(dups.find((x) => /cookie/.test(x.message))!.message, /RFC 6265 §5\.4/);
    assert.deepEqual(codes(lint('HTTP/1.1 200 OK\nSet-Cookie: a=1\nSet-Cookie: b=2\nContent-Length: 0\n')), []);
  });

  it('missing :json inside a JSON string and missing :url in a URL path or query', () => {
    const d = lint('POST /a/{session-id}?c={client-id} HTTP/1.1\nContent-Type: application/json\nContent-Length: {content-length}\n---body---\n{"s":"{v}","u":"http://{host}/p/{session-id:json}","ok":"{v:json}"}\n');
    const url = d.filter((x) => x.code === 'lint.missing-url-encoder').map((x) => `${x.filler}@${x.line}`);
    assert.deepEqual(url.sort(), ['client-id@1', 'session-id@1', 'session-id@5']);
    const json = d.filter((x) => x.code === 'lint.missing-json-encoder').map((x) => x.filler);
    assert.deepEqual(json, ['v', 'host']);
    // A filler that is the whole target or the host needs no :url.
    assert.deepEqual(codes(lint('GET {v} HTTP/1.1\nLocation: http://{host}:{http-port}/x\nContent-Length: 0\n')), []);
  });

  it('content-length in the wrong header, request headers in a response, no Content-Length on a response', () => {
    const d = lint('HTTP/1.1 200 OK\nContent-Encoding: gzip{content-length}\nUser-Agent: x\nHost: y\n');
    has(d, 'lint.misplaced-content-length', 2);
    has(d, 'lint.request-header-in-response', 3);
    has(d, 'lint.request-header-in-response', 4);
    has(d, 'lint.missing-content-length', 1);
  });

  it('a line that is not a header', () => {
    has(lint('HTTP/1.1 201 Created\nhttp://x/sub/1\nContent-Length: 0\n'), 'lint.bad-header-line', 2);
    has(lint('FETCH\nContent-Length: 0\n'), 'lint.bad-header-line', 1);
  });

  it('text left after a conditional filler', () => {
    has(lint('GET / HTTP/1.1\nContent-Type: <{v?}>\n'), 'lint.conditional-trailing-text', 2);
  });

  it('finds the errors of the Landslide examples (response)', () => {
    const d = lint(readFileSync(FIXTURES + 'seed-errors.landslide.txt', 'utf8'), { landslide: true });
    has(d, 'lint.misplaced-content-length', 4);
    has(d, 'lint.glued-header', 5);
    has(d, 'lint.request-header-in-response', 7);
    has(d, 'lint.broken-json', 9);
    has(d, 'lint.missing-json-encoder', 9);
  });

  it('finds the errors of the Landslide examples (request)', () => {
    const d = lint(readFileSync(FIXTURES + 'seed-errors-request.landslide.txt', 'utf8'), { landslide: true });
    has(d, 'lint.near-miss-filler', 1); // {{client-id}
    has(d, 'lint.missing-url-encoder', 1);
    has(d, 'lint.misplaced-content-length', 2); // Content-Type: {content-length}
    has(d, 'lint.glued-header', 4); // X-Session-ID line without a line end marker
    has(d, 'lint.duplicate-header'); // three Cookie lines
    has(d, 'lint.near-miss-filler', 6); // {oauth-cookie1}: did you mean {oauth-cookie}?
  });
});
