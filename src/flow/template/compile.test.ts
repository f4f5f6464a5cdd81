import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileTemplate, printTemplate } from './compile.ts';
import { renderTemplate } from './render.ts';
import { createScopes } from './scopes.ts';
import { createSeededSource } from './computed.ts';
import { TemplateError, type TemplateErrorCode } from './errors.ts';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/flow/landslide/', import.meta.url));
const fixture = (name: string) => readFileSync(FIXTURES + name, 'utf8');

function throwsAt(src: string, code: TemplateErrorCode, line: number, column: number, opts: Record<string, unknown> = {}) {
  assert.throws(
    () => compileTemplate(src, { name: 'T', file: 'flows/x.tpl', ...opts }),
    (e: unknown) => {
      assert.ok(e instanceof TemplateError, String(e));
      assert.equal(e.code, code);
      assert.equal(e.file, 'flows/x.tpl');
      assert.equal(e.line, line, e.message);
      assert.equal(e.column, column, e.message);
      assert.ok(e.message.startsWith(`flows/x.tpl:${line}:${column}`), e.message);
      return true;
    },
  );
}

describe('the parts of a template', () => {
  it('splits head and body at the ---body--- line and lists the fillers used', () => {
    const t = compileTemplate('POST /a HTTP/1.1\nX: {b?}\n---body---\n{"c":"{d:json}"}\n', { name: 'T' });
    assert.equal(t.head.length, 2);
    assert.equal(t.bodyLine, 4);
    assert.deepEqual(t.fillers, ['b', 'd']);
  });

  it('ignores blank head lines, which would end the header block early', () => {
    const t = compileTemplate('GET / HTTP/1.1\n\n   \nHost: h\n', { name: 'T' });
    assert.deepEqual(t.head.map((l) => l.line), [1, 4]);
  });

  it('accepts CRLF source files the same as LF ones', () => {
    const a = compileTemplate('GET / HTTP/1.1\r\nHost: {h}\r\n---body---\r\nx\r\n', { name: 'T' });
    const b = compileTemplate('GET / HTTP/1.1\nHost: {h}\n---body---\nx\n', { name: 'T' });
    const ctx = createScopes({ h: 'H' });
    assert.deepEqual(renderTemplate(a, ctx).bytes, renderTemplate(b, ctx).bytes);
  });

  it('treats { as literal unless a whole token follows', () => {
    const t = compileTemplate('---body---\n{"a":{}, "b":"{ not-a-filler }", "c":"{Cap}", "d":"{x:"}\n', { name: 'T' });
    assert.deepEqual(t.fillers, []);
    assert.equal(renderTemplate(t, createScopes()).body.toString(), '{"a":{}, "b":"{ not-a-filler }", "c":"{Cap}", "d":"{x:"}');
  });
});

describe('malformed templates fail with file, line and column', () => {
  it('unknown encoder', () => throwsAt('GET / HTTP/1.1\nX: ab{v:xml}\n', 'template.unknown-encoder', 2, 6));
  it('argument on a filler that takes none', () => throwsAt('GET /{v:3} HTTP/1.1\n', 'template.bad-argument', 1, 6));
  it('rand-digits without a count', () => throwsAt('GET / HTTP/1.1\nX: {rand-digits}\n', 'template.bad-argument', 2, 4));
  it('rand-digits with too many digits', () => throwsAt('GET / HTTP/1.1\nX: {rand-digits:65}\n', 'template.bad-argument', 2, 4));
  it('a section never closed', () => throwsAt('---body---\n[\n {#a}1,\n 2]\n', 'template.unclosed-section', 3, 2));
  it('a section closed by the wrong name', () => throwsAt('---body---\n{#a}1{/b}\n', 'template.unmatched-section-end', 2, 6));
  it('a section across head lines', () => throwsAt('GET / HTTP/1.1\nX: {#a}1\nY{/a}\n', 'template.section-spans-lines', 2, 4));
  it('content-length inside the body it measures', () => throwsAt('P / HTTP/1.1\n---body---\n{"n":{content-length}}\n', 'template.content-length-in-body', 3, 6));
  it('positions shift for a template embedded in a YAML flow', () =>
    throwsAt('GET / HTTP/1.1\nX: {v:nope}\n', 'template.unknown-encoder', 13, 10, { startLine: 12, indent: 6 }));
});

describe('Landslide import', () => {
  const values = {
    'oauth-author-code': 'AC1',
    state: 'S',
    'oauth-sess-num': '9',
    'oauth-user-id': 'U',
    'webrtc-srv-name': 'gw',
    'session-id': 'sid',
    'client-correlator': '7',
  };
  const cases: Record<string, Record<string, string | string[] | undefined>> = {
    present: { referer: 'http://app/', 'oauth-cookie': ['a=1', 'b=2'] },
    empty: { referer: '', 'oauth-cookie': '' },
    absent: {},
  };
  for (const name of ['reg-srv', 'chan-create']) {
    const ls = compileTemplate(fixture(`${name}.landslide.txt`), { name, landslide: true });
    const native = compileTemplate(fixture(`${name}.native.tpl`), { name });

    for (const [label, extra] of Object.entries(cases)) {
      it(`${name}: renders the same bytes as the native spelling (${label} optional values)`, () => {
        const ctx = createScopes(extra, values);
        assert.deepEqual(renderTemplate(ls, ctx).bytes.toString(), renderTemplate(native, ctx).bytes.toString());
      });
    }

    it(`${name}: prints as native source that renders identically and reprints unchanged`, () => {
      const printed = printTemplate(ls);
      assert.equal(ls.source, printed);
      const again = compileTemplate(printed, { name });
      assert.equal(printTemplate(again), printed);
      const ctx = createScopes(cases.present, values);
      assert.deepEqual(renderTemplate(again, ctx).bytes, renderTemplate(ls, ctx).bytes);
    });
  }

  it('reads "{CR} {LF}" as CRLF, {name-if} as {name?}, capitals as lower case, and trims display padding', () => {
    const t = compileTemplate('GET /{Session-ID} HTTP/1.1{CR} {LF}   \nContent-Length:{content-length-if}{CR}{LF}\n', { name: 'T', landslide: true });
    assert.equal(t.source, 'GET /{session-id} HTTP/1.1{CRLF}\nContent-Length:{content-length?}{CRLF}\n');
    assert.equal(renderTemplate(t, createScopes({ 'session-id': 's' })).bytes.toString(), 'GET /s HTTP/1.1\r\nContent-Length:0\r\n\r\n');
  });

  it('Landslide "{{name}" is a stray brace, not an escape', () => {
    const t = compileTemplate('GET /?c={{client-id} HTTP/1.1\n', { name: 'T', landslide: true });
    assert.equal(renderTemplate(t, createScopes({ 'client-id': 'c1' })).head.toString(), 'GET /?c={c1 HTTP/1.1\r\n');
  });
});

describe('printing', () => {
  it('escapes literal token shapes with {LBRACE} so they survive a round trip', () => {
    const t = compileTemplate('---body---\n{LBRACE}a} {LBRACE}CRLF} {"x":1}\n', { name: 'T' });
    const printed = printTemplate(t);
    assert.equal(printed, '---body---\n{LBRACE}a} {LBRACE}CRLF} {"x":1}\n');
    assert.equal(renderTemplate(compileTemplate(printed, { name: 'T' }), createScopes()).body.toString(), '{a} {CRLF} {"x":1}');
  });

  it('a template with no fillers renders to its text with line ends substituted', () => {
    const src = 'GET /plain HTTP/1.1\nAccept: */*\n---body---\nline one\nline two\n';
    const r = renderTemplate(compileTemplate(src, { name: 'T' }), createScopes(), { random: createSeededSource(1) });
    assert.equal(r.bytes.toString(), 'GET /plain HTTP/1.1\r\nAccept: */*\r\n\r\nline one\nline two');
  });
});
