/**
 * Turns one SIP message (a datagram, or a frame cut by `StreamFramer`) into a `SipRequest` or
 * `SipResponse` (RFC 3261 §7, grammar of §25). The start line and the headers every layer needs
 * (Via, CSeq, Call-ID, From, To, Content-Length) are validated here, and parsed (a plain From or
 * To only has its tag read: see SIMPLE_NAME_ADDR); every other header stays a raw string until
 * asked for.
 *
 * Work happens on one latin1 string of the header section (one byte = one char, so offsets are
 * byte offsets) unless the header section holds valid UTF-8, which is then decoded as such.
 */
import { isUtf8 } from 'node:buffer';
import { TOKEN, isToken, skipWs, trimWs } from './chars.ts';
import { parseCSeq } from './cseq.ts';
import type { CSeq } from './cseq.ts';
import { SipParseError, fail } from './errors.ts';
import { SipHeaders, headerKey, splitCommaList } from './headers.ts';
import { SipRequest, SipResponse, validateCallId } from './message.ts';
import type { SipMessage } from './message.ts';
import { parseNameAddr } from './name-addr.ts';
import type { NameAddr } from './name-addr.ts';
import { parseUri } from './uri.ts';
import { parseVia } from './via.ts';
import type { Via } from './via.ts';

export interface ParseOptions {
  /** Bytes; larger input fails with SIP_ERR_TOO_LARGE (513). Default 65535. */
  maxSize?: number;
  /** Input came from a stream transport: Content-Length is mandatory (RFC 3261 §18.3). */
  stream?: boolean;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65535;

const LF_CRLF = Buffer.from('\n\r\n');
const LFLF = Buffer.from('\n\n');
/** Bytes that need a closer look: controls other than HT/LF/CR, DEL, and non-ASCII. One scan finds both kinds. */
const UNUSUAL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]/;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const HIGH_BYTE = /[\x80-\xff]/;

/**
 * Index of the first control character that is not escaped by a backslash (RFC 3261 §25.1
 * quoted-pair admits them inside quoted-strings), or of a CR that does not start a CRLF; else -1.
 */
function badControl(head: string, unusual: boolean): number {
  if (unusual) {
    CONTROL.lastIndex = 0;
    for (let m = CONTROL.exec(head); m !== null; m = CONTROL.exec(head)) {
      if (m.index === 0 || head.charCodeAt(m.index - 1) !== 0x5c) return m.index;
    }
  }
  for (let cr = head.indexOf('\r'); cr !== -1; cr = head.indexOf('\r', cr + 1)) {
    if (head.charCodeAt(cr + 1) !== 0x0a) return cr;
  }
  return -1;
}
const VERSION_LIKE = /^SIP\/[0-9]+\.[0-9]+$/i;

/** Runs a value parser on a slice, moving its error offset to the message's coordinates. */
function at<T>(offset: number, parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (err) {
    throw err instanceof SipParseError ? err.shifted(offset) : err;
  }
}

function checkVersion(version: string, offset: number): void {
  if (version === 'SIP/2.0') return;
  if (VERSION_LIKE.test(version)) {
    // The version string is case-insensitive (RFC 3261 §7.1); any other number gets 505 (§8.2.2).
    if (version.toUpperCase() !== 'SIP/2.0') fail('SIP_ERR_BAD_VERSION', `unsupported version ${version}`, offset);
    return;
  }
  fail('SIP_ERR_BAD_START_LINE', `not a SIP version: "${version}"`, offset);
}

/** Content-Length value: 1*DIGIT, at most 10 of them (RFC 3261 §20.14). */
function contentLength(value: string, offset: number): number {
  if (value.length === 0 || value.length > 10) fail('SIP_ERR_BAD_CONTENT_LENGTH', `invalid Content-Length "${value}"`, offset);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) fail('SIP_ERR_BAD_CONTENT_LENGTH', `invalid Content-Length "${value}"`, offset + i);
    n = n * 10 + (c - 0x30);
  }
  return n;
}

function tagOf(na: NameAddr, which: string, offset: number): void {
  const tag = na.params.get('tag');
  if (tag === null || (tag !== undefined && !isToken(tag))) fail('SIP_ERR_BAD_NAME_ADDR', `invalid ${which} tag`, offset);
}

/**
 * The everyday From/To: an optional plain quoted display name, `<sip:user@host[:port]>` and at
 * most a `;tag=`. Everything this matches is valid name-addr (every piece is a subset of the
 * classes parseNameAddr checks), so such a value needs no eager parse: its tag is read here and
 * the NameAddr is built, by the same parseNameAddr, only if someone asks for it. Anything else
 * is parsed and validated eagerly as before.
 */
const SIMPLE_NAME_ADDR =
  /^(?:"[\x20\x21\x23-\x5b\x5d-\x7e]*" ?)?<sips?:[A-Za-z0-9._~!*'()+-]+@[A-Za-z0-9][A-Za-z0-9.-]*(?::([0-9]{1,5}))?>(?:;tag=([A-Za-z0-9.!%*_+`'~-]+))?$/;

/** The tag of a value SIMPLE_NAME_ADDR matches (null: none); undefined when it needs the full parser. */
function simpleTag(value: string): string | null | undefined {
  const m = SIMPLE_NAME_ADDR.exec(value);
  if (m === null) return undefined;
  if (m[1] !== undefined && Number(m[1]) > 65535) return undefined; // let the parser say why
  return m[2] ?? null;
}

export function parseMessage(buf: Buffer, opts: ParseOptions = {}): SipMessage {
  const maxSize = opts.maxSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  if (buf.length > maxSize) fail('SIP_ERR_TOO_LARGE', `message of ${buf.length} bytes exceeds ${maxSize}`, maxSize);

  // CRLFs before the start line are ignored (RFC 3261 §7.5).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) fail('SIP_ERR_INCOMPLETE', 'no message', start);

  // Lines end in CRLF; a bare LF is tolerated (robustness), so the header section ends at the
  // first LF CRLF or LF LF.
  let headEnd = buf.indexOf(LF_CRLF, start);
  let sepLength = 3;
  const lf = buf.indexOf(LFLF, start);
  if (lf !== -1 && (headEnd === -1 || lf < headEnd)) {
    headEnd = lf;
    sepLength = 2;
  }
  if (headEnd === -1) {
    // A datagram is complete in itself: one whose last header line ends without the empty line
    // that should follow is taken as headers only (robustness; a stream never gets here).
    if (opts.stream || buf[buf.length - 1] !== 0x0a) {
      fail('SIP_ERR_INCOMPLETE', 'header section does not end with an empty line', buf.length);
    }
    headEnd = buf.length - 1;
    sepLength = 1;
  }
  const bodyStart = headEnd + sepLength;
  if (buf[headEnd - 1] === 0x0d) headEnd--;

  let head = buf.toString('latin1', start, headEnd);
  const unusual = UNUSUAL.test(head);
  if (unusual && HIGH_BYTE.test(head) && isUtf8(buf.subarray(start, headEnd))) head = buf.toString('utf8', start, headEnd);
  const control = badControl(head, unusual);
  if (control !== -1) fail('SIP_ERR_BAD_HEADER', 'control character in header section', start + control);

  // Start line (RFC 3261 §7.1 / §7.2): single spaces between its elements.
  const hl = head.length;
  let eol = head.indexOf('\n');
  if (eol === -1) eol = hl;
  const slEnd = eol > 0 && head.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol;
  const line = head.slice(0, slEnd);
  let method = '';
  let uriText = '';
  let uriOffset = 0;
  let status = 0;
  let reason = '';
  const isResponse = line.length > 4 && line.slice(0, 4).toUpperCase() === 'SIP/';
  if (isResponse) {
    const sp = line.indexOf(' ');
    if (sp === -1) fail('SIP_ERR_BAD_START_LINE', 'status line without status code', start + line.length);
    checkVersion(line.slice(0, sp), start);
    for (let i = sp + 1; i < sp + 4; i++) {
      const c = line.charCodeAt(i);
      if (!(c >= 0x30 && c <= 0x39)) fail('SIP_ERR_BAD_STATUS', 'Status-Code is not three digits', start + i);
      status = status * 10 + (c - 0x30);
    }
    if (status < 100 || status > 699) fail('SIP_ERR_BAD_STATUS', `status ${status} out of range`, start + sp + 1);
    if (line.length > sp + 4) {
      if (line.charCodeAt(sp + 4) !== 0x20) fail('SIP_ERR_BAD_STATUS', 'Status-Code is not three digits', start + sp + 4);
      reason = line.slice(sp + 5);
    }
  } else {
    const sp1 = line.indexOf(' ');
    const sp2 = line.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 === sp1) fail('SIP_ERR_BAD_START_LINE', 'request line is not "Method SP Request-URI SP SIP-Version"', start);
    method = line.slice(0, sp1);
    if (!isToken(method)) fail('SIP_ERR_BAD_METHOD', 'method is not a token', start);
    checkVersion(line.slice(sp2 + 1), start + sp2 + 1);
    uriOffset = sp1 + 1;
    uriText = line.slice(uriOffset, sp2);
    const ws = uriText.search(/[ \t]/);
    if (uriText.length === 0 || ws !== -1) {
      fail('SIP_ERR_BAD_START_LINE', 'whitespace or nothing where the Request-URI belongs', start + uriOffset + Math.max(ws, 0));
    }
  }

  // Header lines; a line starting with SP/HT continues the previous one (RFC 3261 §7.3.1 folding).
  const names: string[] = [];
  const keys: string[] = [];
  const values: string[] = [];
  const offsets: number[] = [];
  let pos = eol + 1;
  while (pos < hl) {
    eol = head.indexOf('\n', pos);
    if (eol === -1) eol = hl;
    const end = head.charCodeAt(eol - 1) === 0x0d ? eol - 1 : eol;
    const c0 = head.charCodeAt(pos);
    if (c0 === 0x20 || c0 === 0x09) {
      const n = values.length;
      if (n === 0) fail('SIP_ERR_BAD_HEADER', 'continuation line without a header', start + pos);
      const more = trimWs(head, pos, end);
      if (more !== '') values[n - 1] = values[n - 1] === '' ? more : values[n - 1] + ' ' + more;
    } else {
      let nameEnd = pos;
      while (nameEnd < end) {
        const c = head.charCodeAt(nameEnd);
        if (c > 0xff || TOKEN[c] === 0) break;
        nameEnd++;
      }
      let colon = nameEnd;
      while (colon < end && (head.charCodeAt(colon) === 0x20 || head.charCodeAt(colon) === 0x09)) colon++;
      if (nameEnd === pos || colon === end || head.charCodeAt(colon) !== 0x3a) {
        fail('SIP_ERR_BAD_HEADER', 'header line is not "token HCOLON value"', start + nameEnd);
      }
      const name = head.slice(pos, nameEnd);
      names.push(name);
      keys.push(headerKey(name));
      const valueStart = skipWs(head, colon + 1, end);
      values.push(trimWs(head, valueStart, end));
      offsets.push(start + valueStart);
    }
    pos = eol + 1;
  }

  // Eager part: what every layer above reads from every message.
  let callIdIdx = -1;
  let cseqIdx = -1;
  let fromIdx = -1;
  let toIdx = -1;
  let length = -1;
  const vias: Via[] = [];
  for (let i = 0; i < keys.length; i++) {
    switch (keys[i]) {
      case 'via':
        for (const v of splitCommaList(values[i])) vias.push(at(offsets[i], parseVia, v));
        break;
      case 'call-id':
        if (callIdIdx !== -1) fail('SIP_ERR_DUPLICATE_HEADER', 'more than one Call-ID header', offsets[i]);
        callIdIdx = i;
        break;
      case 'cseq':
        if (cseqIdx !== -1) fail('SIP_ERR_DUPLICATE_HEADER', 'more than one CSeq header', offsets[i]);
        cseqIdx = i;
        break;
      case 'from':
        if (fromIdx !== -1) fail('SIP_ERR_DUPLICATE_HEADER', 'more than one From header', offsets[i]);
        fromIdx = i;
        break;
      case 'to':
        if (toIdx !== -1) fail('SIP_ERR_DUPLICATE_HEADER', 'more than one To header', offsets[i]);
        toIdx = i;
        break;
      case 'content-length': {
        const n = contentLength(values[i], offsets[i]);
        if (length !== -1 && n !== length) fail('SIP_ERR_BAD_CONTENT_LENGTH', 'Content-Length headers disagree', offsets[i]);
        length = n;
        break;
      }
    }
  }
  if (vias.length === 0) fail('SIP_ERR_MISSING_HEADER', 'missing Via header', start + hl);
  if (callIdIdx === -1) fail('SIP_ERR_MISSING_HEADER', 'missing Call-ID header', start + hl);
  if (cseqIdx === -1) fail('SIP_ERR_MISSING_HEADER', 'missing CSeq header', start + hl);
  if (fromIdx === -1) fail('SIP_ERR_MISSING_HEADER', 'missing From header', start + hl);
  if (toIdx === -1) fail('SIP_ERR_MISSING_HEADER', 'missing To header', start + hl);
  const callId = at(offsets[callIdIdx], validateCallId, values[callIdIdx]);
  const cseq: CSeq = at(offsets[cseqIdx], parseCSeq, values[cseqIdx]);
  if (!isResponse && cseq.method !== method) {
    fail('SIP_ERR_CSEQ_MISMATCH', `CSeq method ${cseq.method} differs from request method ${method}`, offsets[cseqIdx]);
  }
  const fromTag = simpleTag(values[fromIdx]);
  let from: NameAddr | undefined;
  if (fromTag === undefined) {
    from = at(offsets[fromIdx], parseNameAddr, values[fromIdx]);
    tagOf(from, 'From', offsets[fromIdx]);
  }
  const toTag = simpleTag(values[toIdx]);
  let to: NameAddr | undefined;
  if (toTag === undefined) {
    to = at(offsets[toIdx], parseNameAddr, values[toIdx]);
    tagOf(to, 'To', offsets[toIdx]);
  }

  // Body (RFC 3261 §18.3): Content-Length bytes; on a datagram without it, the rest of the packet.
  const available = buf.length - bodyStart;
  let body: Buffer;
  if (length === -1) {
    if (opts.stream) fail('SIP_ERR_MISSING_HEADER', 'Content-Length is required on a stream transport', start + hl);
    body = buf.subarray(bodyStart);
  } else {
    if (length > available) {
      fail('SIP_ERR_BAD_CONTENT_LENGTH', `Content-Length ${length} exceeds the ${available} body bytes received`, bodyStart);
    }
    body = buf.subarray(bodyStart, bodyStart + length);
  }

  const headers = SipHeaders.fromArrays(names, keys, values);
  let msg: SipMessage;
  if (isResponse) msg = new SipResponse(status, reason, headers, body);
  else {
    const uri = at(start + uriOffset, parseUri, uriText);
    // URI headers have no meaning in a Request-URI (RFC 3261 §19.1.1 table; RFC 4475 §3.1.2.11).
    if (uri.headers.size > 0) fail('SIP_ERR_BAD_URI', 'headers in the Request-URI', start + uriOffset + uriText.indexOf('?'));
    msg = new SipRequest(method, uri, headers, body);
  }
  msg.seed({ callId, cseq, from, to, vias, fromTag, toTag });
  return msg;
}
