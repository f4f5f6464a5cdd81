/**
 * The template linter (TEMPLATES.md "Linter"). It compiles, scans the source for near misses, and renders the
 * template once with trial values to check the head's shape and the body's JSON.
 */
import { compileTemplate } from './compile.ts';
import { isComputedFiller } from './computed.ts';
import { TemplateError, diagnosticFromError, type Diagnostic, type LintCode, type DiagnosticSeverity } from './errors.ts';
import { parseHttpHead } from './http-head.ts';
import { renderTemplate } from './render.ts';
import type { FillerContext, FillerValue } from './scopes.ts';
import type { CompileOptions, CompiledTemplate, FillerNode, Node } from './template-types.ts';

export interface LintOptions extends CompileOptions {
  /**
   * Filler names that have a source (catalogue, flow variables, extractions). When given, any other name is
   * reported as unknown (or as a near miss of a known one). Computed fillers are always known.
   */
  knownFillers?: Iterable<string>;
}

// Header names that only make sense in requests (RFC 9110 §7.2 Host, §10.1.5 User-Agent, §10.1.3 Referer).
const REQUEST_ONLY_HEADERS = ['host', 'user-agent', 'referer', 'cookie', 'accept', 'origin'];
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/;

class Collector {
  readonly out: Diagnostic[] = [];
  constructor(private readonly opts: LintOptions) {}
  add(severity: DiagnosticSeverity, code: LintCode, message: string, line?: number, column?: number, filler?: string) {
    this.out.push({ severity, code, message, template: this.opts.name, file: this.opts.file, line, column, filler });
  }
}

/** Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function allFillers(nodes: readonly Node[], out: FillerNode[] = []): FillerNode[] {
  for (const n of nodes) {
    if (n.kind === 'filler') out.push(n);
    else if (n.kind === 'section') allFillers(n.children, out);
  }
  return out;
}

/** Source-level near misses: spellings that are almost tokens. */
function scanSource(c: Collector, source: string, opts: LintOptions): void {
  const startLine = opts.startLine ?? 1;
  const indent = opts.indent ?? 0;
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  const sep = lines.findIndex((l) => /^---body---[ \t]*$/.test(l));
  const headCount = sep < 0 ? lines.length : sep;
  lines.forEach((text, idx) => {
    const line = startLine + idx;
    const inHead = !opts.bodyOnly && idx < headCount;
    const col = (i: number) => indent + i + 1;
    let m: RegExpExecArray | null;
    const brace = /\{([^{}\n]{1,80})\}/g;
    while ((m = brace.exec(text))) {
      const inner = m[1];
      const at = m.index;
      if (!opts.landslide && /^[a-z][a-z0-9.-]*-if$/.test(inner)) {
        c.add('warning', 'lint.near-miss-filler', `{${inner}} is Landslide's spelling; write {${inner.slice(0, -3)}?} (or import with landslide: true)`, line, col(at), inner);
      } else if (/^\s*[A-Za-z][A-Za-z0-9.-]*\s*\??\s*$/.test(inner) && /\s/.test(inner)) {
        c.add('warning', 'lint.near-miss-filler', `{${inner}} has spaces, so it is literal text; write {${inner.replace(/\s/g, '')}}`, line, col(at));
      } else if (!opts.landslide && /^[A-Za-z][A-Za-z0-9.-]*(?::[a-z0-9]+)*\??$/.test(inner) && /[A-Z]/.test(inner) && !/^(CR|LF|CRLF|NOEOL|LBRACE)$/.test(inner)) {
        const upper = inner.toUpperCase();
        const hint = ['CR', 'LF', 'CRLF', 'NOEOL', 'LBRACE'].includes(upper) ? `{${upper}}` : `{${inner.toLowerCase()}}`;
        c.add('warning', 'lint.near-miss-filler', `{${inner}} has capitals, so it is literal text; did you mean ${hint}?`, line, col(at));
      } else if (/^(cr|lf|crlf|noeol)$/.test(inner)) {
        c.add('warning', 'lint.near-miss-filler', `{${inner}} is a filler named "${inner}"; line ends are upper case: {${inner.toUpperCase()}}`, line, col(at));
      }
    }
    if (!opts.landslide) {
      const sp = /\{CR\}[ \t]+\{LF\}/.exec(text);
      if (sp) c.add('warning', 'lint.near-miss-filler', '"{CR} {LF}" emits CR, a space, then LF; write {CRLF}', line, col(sp.index));
    }
    if (inHead) {
      const dbl = /\{\{([a-z][a-z0-9.-]*)[^{}]*\}/.exec(text);
      if (dbl) c.add('warning', 'lint.near-miss-filler', `stray "{" before {${dbl[1]}}: it renders as a literal "{" followed by the value`, line, col(dbl.index), dbl[1]);
      const rep = /(\{[a-z][a-z0-9.:-]*\??\})\1/.exec(text);
      if (rep) c.add('warning', 'lint.near-miss-filler', `${rep[1]} is repeated back to back; the value is sent twice`, line, col(rep.index));
    }
  });
}

function checkNames(c: Collector, t: CompiledTemplate, known: Set<string> | undefined): void {
  if (!known) return;
  const fillers = [...t.head.flatMap((l) => allFillers(l.nodes)), ...allFillers(t.body)];
  const seen = new Set<string>();
  for (const f of fillers) {
    const base = f.name.replace(/\.[1-9][0-9]*$/, '');
    if (isComputedFiller(f.name) || known.has(f.name) || known.has(base) || seen.has(f.name)) continue;
    seen.add(f.name);
    let best: string | undefined;
    let bestD = 3;
    for (const k of known) {
      const d = distance(base, k);
      if (d < bestD || (d === bestD && best === undefined)) {
        best = k;
        bestD = d;
      }
    }
    if (best !== undefined && bestD <= 2) {
      c.add('warning', 'lint.near-miss-filler', `unknown filler {${f.name}}; did you mean {${best}}?`, f.line, f.column, f.name);
    } else {
      c.add('warning', 'lint.unknown-filler', `unknown filler {${f.name}}: no configuration, extraction or computation provides it`, f.line, f.column, f.name);
    }
  }
}

/** Structure of the head source: glued lines, header-shaped text after a filler, misplaced content-length. */
function checkHeadSource(c: Collector, t: CompiledTemplate, landslide: boolean, isResponse: boolean): void {
  t.head.forEach((hl, idx) => {
    const next = t.head[idx + 1];
    const firstText = (l: typeof hl) => (l.nodes[0]?.kind === 'text' ? l.nodes[0].text : '');
    if (hl.eol === 'NOEOL' && next && HEADER_NAME_RE.test(firstText(next))) {
      c.add('error', 'lint.glued-header', `line ends with {NOEOL}, so the next header "${firstText(next).split(':')[0]}" is glued to it`, hl.line);
    }
    if (landslide && hl.eol === undefined && next) {
      c.add('warning', 'lint.glued-header', 'this line has no {CR}{LF} marker, so Landslide would glue the next line to it; imported with the default line end', hl.line);
    }
    let headerName = idx === 0 ? '' : firstText(hl).split(':')[0].trim().toLowerCase();
    hl.nodes.forEach((n, i) => {
      const prev = hl.nodes[i - 1];
      if (n.kind === 'text' && prev && prev.kind === 'filler') {
        const g = /^([A-Za-z][A-Za-z0-9-]+):/.exec(n.text);
        if (g && !/^(https?|wss?|tel|sip|sips|urn|mailto)$/i.test(g[1])) {
          c.add('error', 'lint.glued-header', `"${g[1]}:" follows {${prev.name}} on the same line: a header line is glued to the previous one`, n.line, n.column);
        }
      }
      if (n.kind === 'text' && prev && prev.kind === 'eol' && HEADER_NAME_RE.test(n.text)) {
        c.add('info', 'lint.glued-header', `a header starts after a mid-line {${prev.eol}}; put each header on its own source line`, n.line, n.column);
        headerName = n.text.split(':')[0].trim().toLowerCase();
      }
      if (n.kind === 'filler' && n.name === 'content-length' && headerName !== 'content-length') {
        c.add('error', 'lint.misplaced-content-length', `{content-length} is used in ${headerName ? `"${headerName}"` : 'the start line'}; it belongs in a Content-Length header`, n.line, n.column, n.name);
      }
      if (n.kind === 'filler' && n.conditional && idx > 0) {
        const after = hl.nodes.slice(i + 1);
        if (after.length && after.every((a) => a.kind === 'text') && after.some((a) => a.kind === 'text' && a.text.trim() !== '')) {
          c.add('info', 'lint.conditional-trailing-text', `text after {${n.name}?} stays when the value is absent; wrap the line in {#${n.name}}…{/${n.name}} to drop it all`, n.line, n.column, n.name);
        }
      }
    });
    if (!landslide && idx > 0) {
      const last = hl.nodes[hl.nodes.length - 1];
      if (last && last.kind === 'text' && /[ \t]$/.test(last.text)) {
        c.add('info', 'lint.trailing-whitespace', 'trailing whitespace is sent as part of the header value', hl.line);
      }
    }
    if (idx > 0 && isResponse && REQUEST_ONLY_HEADERS.includes(headerName)) {
      c.add('warning', 'lint.request-header-in-response', `"${headerName}" is a request header; a response should not carry it`, hl.line);
    }
  });
}

/** Is the URL text so far (from its start) inside the path or query, i.e. past scheme://authority? */
function inUrlPath(sofar: string): boolean {
  if (sofar.startsWith('/')) return true;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*[/?#]/i.exec(sofar);
  return m !== null;
}

function urlLooking(sofar: string): boolean {
  return sofar.startsWith('/') || /^[a-z][a-z0-9+.-]*:\/\//i.test(sofar);
}

/** Missing `:url` in the request target and in Location/Referer header values. */
function checkUrlEncoders(c: Collector, t: CompiledTemplate): void {
  t.head.forEach((hl, idx) => {
    let text = ''; // the line so far, each filler standing as "x"
    for (const n of hl.nodes) {
      if (n.kind === 'text') text += n.text;
      else if (n.kind === 'eol') text += ' ';
      else if (n.kind === 'section') text += 'x';
      else {
        text += n.lead;
        // The URL starts after "METHOD " on the start line, after "Name:" on a URL-valued header line.
        const m = idx === 0 ? /^\S+ (\S*)$/.exec(text) : /^(?:location|content-location|referer)\s*:\s*(\S*)$/i.exec(text);
        const url = m?.[1];
        if (url && urlLooking(url) && inUrlPath(url) && !n.encoders.includes('url') && !isComputedFiller(n.name)) {
          c.add('warning', 'lint.missing-url-encoder', `{${n.name}} is inside a URL path or query without :url; write {${n.name}:url}`, n.line, n.column, n.name);
        }
        text += 'x';
      }
    }
  });
}

/** Missing `:json` for fillers inside JSON strings (and `:url` inside URL-valued JSON strings). */
function checkJsonEncoders(c: Collector, body: readonly Node[]): void {
  let inString = false;
  let escaped = false;
  let str = '';
  const feed = (text: string) => {
    for (const ch of text) {
      if (!inString) {
        if (ch === '"') {
          inString = true;
          str = '';
        }
      } else if (escaped) {
        escaped = false;
        str += ch;
      } else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      else str += ch;
    }
  };
  const walk = (nodes: readonly Node[]) => {
    for (const n of nodes) {
      if (n.kind === 'text') feed(n.text);
      else if (n.kind === 'section') walk(n.children);
      else if (n.kind === 'filler') {
        feed(n.lead);
        if (!inString) continue;
        const last = n.encoders[n.encoders.length - 1];
        if (last !== 'json' && last !== 'url' && last !== 'b64' && !isComputedFiller(n.name)) {
          c.add('warning', 'lint.missing-json-encoder', `{${n.name}} is inside a JSON string without :json; a quote or newline in the value would break the body`, n.line, n.column, n.name);
        }
        if (urlLooking(str) && inUrlPath(str) && !n.encoders.includes('url') && !isComputedFiller(n.name)) {
          c.add('warning', 'lint.missing-url-encoder', `{${n.name}} is inside a URL path in a JSON string without :url; write {${n.name}:url:json}`, n.line, n.column, n.name);
        }
        str += 'x';
      }
    }
  };
  walk(body);
}

/** A context that gives every filler a harmless trial value. */
const trialContext: FillerContext = {
  lookup: (name: string): FillerValue => (name === 'websocket-key' ? 'dGhlIHNhbXBsZSBub25jZQ==' : '1'),
};

function checkRendered(c: Collector, t: CompiledTemplate): void {
  let r;
  try {
    r = renderTemplate(t, trialContext, { lenient: true });
  } catch {
    return;
  }
  // Read the rendered head leniently, line by line, so one bad line does not hide the others.
  const headers: { name: string; value: string; line?: number }[] = [];
  let startLine = '';
  if (t.head.length) {
    const wire = r.head.toString('utf8').split(/\r\n|\n|\r/);
    if (wire[wire.length - 1] === '') wire.pop();
    startLine = wire[0] ?? '';
    wire.forEach((l, i) => {
      const src = t.head[Math.min(i, t.head.length - 1)]?.line;
      if (i === 0) {
        try {
          parseHttpHead(l + '\r\n');
        } catch {
          c.add('error', 'lint.bad-header-line', `the start line is neither a request line nor a status line ("${l.slice(0, 60)}")`, src);
        }
        return;
      }
      const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(l);
      if (!m) c.add('error', 'lint.bad-header-line', `header line has no "name:" ("${l.slice(0, 60)}")`, src);
      // "http://host/…" parses as a field named "http"; it is a URL that lost its header name.
      else if (/^[a-z][a-z0-9+.-]*$/i.test(m[1]) && m[2].startsWith('//')) {
        c.add('error', 'lint.bad-header-line', `"${l.slice(0, 60)}" is a URL with no header name before it`, src);
      } else headers.push({ name: m[1], value: m[2], line: src });
    });
  }
  const head = startLine ? { isResponse: startLine.startsWith('HTTP/'), status: Number(/^HTTP\/\S+ (\d{3})/.exec(startLine)?.[1] ?? 0) } : undefined;
  if (head) {
    const counts = new Map<string, number>();
    for (const h of headers) counts.set(h.name.toLowerCase(), (counts.get(h.name.toLowerCase()) ?? 0) + 1);
    for (const [name, n] of counts) {
      if (n < 2 || name === 'set-cookie') continue;
      const why = name === 'cookie' ? ' (RFC 6265 §5.4: one Cookie header, pairs joined with "; ")' : '';
      const line = headers.filter((h) => h.name.toLowerCase() === name)[1]?.line;
      c.add('warning', 'lint.duplicate-header', `${n} "${name}" header lines${why}`, line);
    }
    const has = (n: string) => counts.has(n);
    const noBodyStatus = head.isResponse && (head.status < 200 || head.status === 204 || head.status === 304);
    if (r.body.length && !has('content-length') && !has('transfer-encoding')) {
      c.add('warning', 'lint.missing-content-length', 'the message has a body but no Content-Length header', t.bodyLine);
    } else if (head.isResponse && !noBodyStatus && !has('content-length') && !has('transfer-encoding')) {
      c.add('warning', 'lint.missing-content-length', 'a response without Content-Length is read until the connection closes; send Content-Length: 0', t.head[0].line);
    }
    if (r.body.length && !has('content-type')) {
      c.add('info', 'lint.body-without-content-type', 'the message has a body but no Content-Type header', t.bodyLine);
    }
  }
  const ct = headers.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? '';
  const text = r.body.toString('utf8');
  // JSON when declared so, or when it looks like JSON and is not declared as something else.
  const otherType = /^(text\/|application\/(sdp|xml|x-www-form-urlencoded|octet-stream)|multipart\/)/i.test(ct);
  const looksJson = /json/i.test(ct) || (!otherType && /^\s*[{[]/.test(text));
  if (looksJson && text.trim() !== '') {
    checkJsonEncoders(c, t.body);
    try {
      JSON.parse(text);
    } catch (err) {
      const pos = /position (\d+)/.exec(String((err as Error).message));
      const at = pos ? Number(pos[1]) : text.length;
      const line = t.bodyLine + (text.slice(0, at).match(/\n/g)?.length ?? 0);
      const near = text.slice(Math.max(0, at - 25), at + 15);
      c.add('error', 'lint.broken-json', `the body is not valid JSON after a trial render, near …${near}… (${(err as Error).message})`, line);
    }
  }
}

/** Lints a template source. Never throws: a compile error comes back as an `error` diagnostic. */
export function lintTemplate(source: string, opts: LintOptions): Diagnostic[] {
  const c = new Collector(opts);
  let t: CompiledTemplate;
  try {
    t = compileTemplate(source, opts);
  } catch (err) {
    if (err instanceof TemplateError) return [diagnosticFromError(err)];
    throw err;
  }
  scanSource(c, source, opts);
  checkNames(c, t, opts.knownFillers ? new Set(opts.knownFillers) : undefined);
  const first = t.head[0]?.nodes[0];
  const isResponse = first?.kind === 'text' && first.text.startsWith('HTTP/');
  checkHeadSource(c, t, opts.landslide === true, isResponse);
  checkUrlEncoders(c, t);
  checkRendered(c, t);
  return c.out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
