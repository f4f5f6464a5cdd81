/**
 * A small parser for the head of an HTTP/1.1 message a template rendered: start line and header fields
 * (RFC 9112 §2.1, §3, §4, §5). Lenient on line ends (bare LF accepted, RFC 9112 §2.2); strict on shape.
 */
import { TemplateError } from './errors.ts';

export interface HttpHeader {
  name: string;
  value: string;
}

export interface ParsedRequestHead {
  kind: 'request';
  method: string;
  target: string;
  version: string;
  headers: HttpHeader[];
}

export interface ParsedResponseHead {
  kind: 'response';
  version: string;
  status: number;
  reason: string;
  headers: HttpHeader[];
}

export type ParsedHttpHead = ParsedRequestHead | ParsedResponseHead;

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 §5.6.2
const REQUEST_LINE_RE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) (HTTP\/[0-9]\.[0-9])$/;
const STATUS_LINE_RE = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/;

function bad(detail: string, line: number): never {
  throw new TemplateError('template.bad-http-head', detail, { template: 'http-head', line });
}

/**
 * Parses a rendered head (or a whole message: parsing stops at the first blank line). Throws `TemplateError`
 * `template.bad-http-head` naming the line when it is not a well-formed HTTP/1.x head.
 */
export function parseHttpHead(head: Buffer | string): ParsedHttpHead {
  const text = typeof head === 'string' ? head : head.toString('latin1');
  const lines = text.split(/\r?\n/);
  const start = lines[0] ?? '';
  const headers: HttpHeader[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l === '') break;
    // Obsolete line folding (RFC 9112 §5.2): a continuation line joins the previous value with one space.
    if ((l[0] === ' ' || l[0] === '\t') && headers.length) {
      headers[headers.length - 1].value += ' ' + l.trim();
      continue;
    }
    const colon = l.indexOf(':');
    if (colon <= 0) bad(`header line ${i + 1} has no "name:" ("${l.slice(0, 40)}")`, i + 1);
    const name = l.slice(0, colon);
    if (!TOKEN_RE.test(name)) bad(`header name "${name}" is not a token (line ${i + 1})`, i + 1);
    headers.push({ name, value: l.slice(colon + 1).trim() });
  }
  let m = STATUS_LINE_RE.exec(start);
  if (m) return { kind: 'response', version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers };
  m = REQUEST_LINE_RE.exec(start);
  if (m) return { kind: 'request', method: m[1], target: m[2], version: m[3], headers };
  return bad(`start line is neither a request line nor a status line ("${start.slice(0, 60)}")`, 1);
}

/** First value of a header, case-insensitive (RFC 9110 §5.1), or undefined. */
export function headerValue(head: ParsedHttpHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  return head.headers.find((h) => h.name.toLowerCase() === lower)?.value;
}

/** Every value of a header, in order (e.g. each `Set-Cookie`). */
export function headerValues(head: ParsedHttpHead, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter((h) => h.name.toLowerCase() === lower).map((h) => h.value);
}
