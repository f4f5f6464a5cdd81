/**
 * SIP requests and responses (RFC 3261 §7). Headers stay raw in `headers`; the getters below
 * parse on first use and cache the result until the headers change. Messages from `parseMessage`
 * arrive with Via, CSeq, Call-ID, From and To validated and parsed; a plain From or To (see the
 * parser) has only its tag read, its NameAddr is built on first use.
 */
import { WORD, scanClass } from './chars.ts';
import type { CSeq } from './cseq.ts';
import { parseCSeq } from './cseq.ts';
import { fail } from './errors.ts';
import { SipHeaders } from './headers.ts';
import { cloneNameAddr, parseNameAddr } from './name-addr.ts';
import type { NameAddr } from './name-addr.ts';
import { serializeMessage } from './serializer.ts';
import { cloneUri, formatUri } from './uri.ts';
import type { SipUri } from './uri.ts';
import { cloneVia, formatVia, parseVia } from './via.ts';
import type { Via } from './via.ts';

const EMPTY = Buffer.alloc(0);

/** Parses a non-negative decimal header value, throwing `code` when it is anything else. */
function decimal(value: string, code: 'SIP_ERR_BAD_MAX_FORWARDS' | 'SIP_ERR_BAD_EXPIRES', max: number): number {
  const t = value.trim();
  if (t.length === 0 || t.length > 10) fail(code, `not a decimal number: "${t}"`, 0);
  let n = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) fail(code, `not a decimal number: "${t}"`, i);
    n = n * 10 + (c - 0x30);
  }
  if (n > max) fail(code, `${n} exceeds ${max}`, 0);
  return n;
}

/** Call-ID = word [ "@" word ] (RFC 3261 §20.8). */
export function validateCallId(value: string): string {
  if (value.length === 0) fail('SIP_ERR_BAD_CALL_ID', 'empty Call-ID', 0);
  const at = value.indexOf('@');
  const firstEnd = at === -1 ? value.length : at;
  let bad = scanClass(value, 0, firstEnd, WORD, false);
  if (bad === firstEnd && at !== -1) bad = at + 1 === value.length ? at : scanClass(value, at + 1, value.length, WORD, false);
  if (bad !== value.length || firstEnd === 0) fail('SIP_ERR_BAD_CALL_ID', 'invalid character in Call-ID', bad);
  return value;
}

/** The one value of a header that must appear exactly once. */
function single(headers: SipHeaders, name: string): string {
  const lines = headers.getLines(name);
  if (lines.length === 0) fail('SIP_ERR_MISSING_HEADER', `missing ${name} header`, 0);
  if (lines.length > 1) fail('SIP_ERR_DUPLICATE_HEADER', `more than one ${name} header`, 0);
  return lines[0];
}

interface ParsedCache {
  callId?: string;
  cseq?: CSeq;
  from?: NameAddr;
  to?: NameAddr;
  /** The tags, when known without (or before) the whole From/To: null for none. */
  fromTag?: string | null;
  toTag?: string | null;
  vias?: Via[];
  contacts?: NameAddr[];
  wildcard?: boolean;
}

export abstract class SipMessageBase {
  headers: SipHeaders;
  body: Buffer;
  private cache: ParsedCache = {};
  private cacheVersion = -1;

  constructor(headers: SipHeaders, body: Buffer) {
    this.headers = headers;
    this.body = body;
  }

  /** The start line without CRLF (RFC 3261 §7.1, §7.2). */
  abstract startLine(): string;
  abstract clone(): SipMessage;

  private parsed(): ParsedCache {
    if (this.cacheVersion !== this.headers.version) {
      this.cache = {};
      this.cacheVersion = this.headers.version;
    }
    return this.cache;
  }

  /** @internal The parser hands over what it validated eagerly. */
  seed(values: ParsedCache): void {
    this.cache = values;
    this.cacheVersion = this.headers.version;
  }

  get callId(): string {
    const c = this.parsed();
    return (c.callId ??= validateCallId(single(this.headers, 'Call-ID')));
  }

  get cseq(): CSeq {
    const c = this.parsed();
    return (c.cseq ??= parseCSeq(single(this.headers, 'CSeq')));
  }

  get from(): NameAddr {
    const c = this.parsed();
    return (c.from ??= parseNameAddr(single(this.headers, 'From')));
  }

  get to(): NameAddr {
    const c = this.parsed();
    return (c.to ??= parseNameAddr(single(this.headers, 'To')));
  }

  get fromTag(): string | undefined {
    const c = this.parsed();
    if (c.fromTag === undefined) c.fromTag = this.from.params.get('tag') ?? null;
    return c.fromTag ?? undefined;
  }

  get toTag(): string | undefined {
    const c = this.parsed();
    if (c.toTag === undefined) c.toTag = this.to.params.get('tag') ?? null;
    return c.toTag ?? undefined;
  }

  /** Every Via, top first (RFC 3261 §20.42). */
  get vias(): Via[] {
    const c = this.parsed();
    return (c.vias ??= this.headers.getAll('Via').map(parseVia));
  }

  get topVia(): Via {
    const vias = this.vias;
    if (vias.length === 0) fail('SIP_ERR_MISSING_HEADER', 'missing Via header', 0);
    return vias[0];
  }

  /** Writes `via` over the top Via value, e.g. after setting `received` / `rport` (RFC 3261 §18.2.1, RFC 3581 §4). */
  setTopVia(via: Via): void {
    this.headers.replaceFirst('Via', formatVia(via));
  }

  /** Contact addresses; `Contact: *` gives an empty list and sets `isWildcardContact` (RFC 3261 §10.2.2). */
  contacts(): NameAddr[] {
    const c = this.parsed();
    if (c.contacts === undefined) {
      const values = this.headers.getAll('Contact');
      c.wildcard = values.length === 1 && values[0] === '*';
      c.contacts = c.wildcard ? [] : values.map(parseNameAddr);
    }
    return c.contacts;
  }

  get isWildcardContact(): boolean {
    this.contacts();
    return this.cache.wildcard === true;
  }

  routes(): NameAddr[] {
    return this.headers.getAll('Route').map(parseNameAddr);
  }

  recordRoutes(): NameAddr[] {
    return this.headers.getAll('Record-Route').map(parseNameAddr);
  }

  /** Max-Forwards, 0..255 (RFC 3261 §20.22); undefined when absent. */
  get maxForwards(): number | undefined {
    const lines = this.headers.getLines('Max-Forwards');
    if (lines.length === 0) return undefined;
    if (lines.length > 1) fail('SIP_ERR_DUPLICATE_HEADER', 'more than one Max-Forwards header', 0);
    return decimal(lines[0], 'SIP_ERR_BAD_MAX_FORWARDS', 255);
  }

  /** Expires header in seconds (RFC 3261 §20.19); undefined when absent. */
  get expires(): number | undefined {
    const value = this.headers.get('Expires');
    return value === undefined ? undefined : decimal(value, 'SIP_ERR_BAD_EXPIRES', 2 ** 32 - 1);
  }

  /** Content-Type as written (media type and parameters), undefined when absent. */
  get contentType(): string | undefined {
    return this.headers.get('Content-Type');
  }

  /** The wire form, with Content-Length computed from `body`. */
  toBuffer(): Buffer {
    return serializeMessage(this);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }

  /** @internal Shared part of clone(). */
  protected copyInto<T extends SipMessageBase>(copy: T): T {
    const c = this.parsed();
    const cache: ParsedCache = {};
    if (c.callId !== undefined) cache.callId = c.callId;
    if (c.cseq !== undefined) cache.cseq = { ...c.cseq };
    if (c.from !== undefined) cache.from = cloneNameAddr(c.from);
    if (c.to !== undefined) cache.to = cloneNameAddr(c.to);
    if (c.fromTag !== undefined) cache.fromTag = c.fromTag;
    if (c.toTag !== undefined) cache.toTag = c.toTag;
    if (c.vias !== undefined) cache.vias = c.vias.map(cloneVia);
    copy.seed(cache);
    return copy;
  }
}

export class SipRequest extends SipMessageBase {
  method: string;
  uri: SipUri;

  constructor(method: string, uri: SipUri, headers: SipHeaders = new SipHeaders(), body: Buffer = EMPTY) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  startLine(): string {
    return `${this.method} ${formatUri(this.uri)} SIP/2.0`;
  }

  clone(): SipRequest {
    return this.copyInto(new SipRequest(this.method, cloneUri(this.uri), this.headers.clone(), Buffer.from(this.body)));
  }
}

export class SipResponse extends SipMessageBase {
  status: number;
  reason: string;

  constructor(status: number, reason: string, headers: SipHeaders = new SipHeaders(), body: Buffer = EMPTY) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }

  startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }

  clone(): SipResponse {
    return this.copyInto(new SipResponse(this.status, this.reason, this.headers.clone(), Buffer.from(this.body)));
  }
}

export type SipMessage = SipRequest | SipResponse;

export function isRequest(m: SipMessage): m is SipRequest {
  return m instanceof SipRequest;
}

export function isResponse(m: SipMessage): m is SipResponse {
  return m instanceof SipResponse;
}
