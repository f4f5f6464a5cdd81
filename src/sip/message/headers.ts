/**
 * The header section of a message: an ordered list of (name, value) lines as received or set.
 * Names compare case-insensitively and compact forms equal their long form (RFC 3261 §7.3.3);
 * values stay raw strings until a caller asks for a parsed view. Names keep the spelling they were
 * written with, so a forwarded message looks like the one received.
 */
import { skipQuoted } from './chars.ts';

/** Compact form → lower-cased long form (RFC 3261 §7.3.3 and the extensions that define one). */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', f: 'from', t: 'to', v: 'via', l: 'content-length', c: 'content-type',
  k: 'supported', s: 'subject', e: 'content-encoding', o: 'event', r: 'refer-to', b: 'referred-by',
  u: 'allow-events', x: 'session-expires', a: 'accept-contact', j: 'reject-contact', d: 'request-disposition',
  y: 'identity', n: 'identity-info',
};

/** Spellings seen on every message, mapped once, so the hot path does not lower-case them. */
const KNOWN = new Map<string, string>();
for (const long of ['Via', 'From', 'To', 'Call-ID', 'Call-Id', 'CSeq', 'Cseq', 'Contact', 'Max-Forwards', 'Content-Length',
  'Content-Type', 'Expires', 'Route', 'Record-Route', 'Allow', 'Supported', 'Require', 'User-Agent', 'Server',
  'Authorization', 'WWW-Authenticate', 'Proxy-Authorization', 'Proxy-Authenticate', 'Accept', 'Event', 'Subject']) {
  KNOWN.set(long, long.toLowerCase());
  KNOWN.set(long.toLowerCase(), long.toLowerCase());
}
for (const [short, long] of Object.entries(COMPACT)) {
  KNOWN.set(short, long);
  KNOWN.set(short.toUpperCase(), long);
}

/** The key a header name is matched by: lower-cased, compact forms expanded. */
export function headerKey(name: string): string {
  const known = KNOWN.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  return (lower.length === 1 && COMPACT[lower]) || lower;
}

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so several values may share
 * one line. Authorization-style headers are not: their parameters contain commas.
 */
const LIST_HEADERS = new Set([
  'via', 'contact', 'route', 'record-route', 'path', 'service-route', 'allow', 'supported', 'require',
  'proxy-require', 'unsupported', 'accept', 'accept-encoding', 'accept-language', 'allow-events',
  'content-encoding', 'content-language', 'in-reply-to', 'alert-info', 'call-info', 'error-info', 'warning',
  'reason', 'p-asserted-identity', 'p-preferred-identity', 'history-info', 'accept-contact', 'reject-contact',
  'request-disposition', 'security-client', 'security-server', 'security-verify', 'p-associated-uri',
]);

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}

/** Splits a comma list, never inside a quoted-string or `<...>`; empty elements are dropped. */
export function splitCommaList(value: string): string[] {
  // Fast path: most values hold a single element.
  if (value.indexOf(',') === -1) {
    const t = value.trim();
    return t === '' ? [] : [t];
  }
  const out: string[] = [];
  const end = value.length;
  let start = 0;
  let angle = false;
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const q = skipQuoted(value, i, end);
      if (q === -1) break; // unterminated: the rest is one element, left for the value parser to reject
      i = q - 1;
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      const part = value.slice(start, i).trim();
      if (part !== '') out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last !== '') out.push(last);
  return out;
}

export class SipHeaders {
  /** Names as written. Parallel arrays avoid one object per header line. */
  private names: string[];
  private keys: string[];
  private values: string[];
  /** Bumped on every change, so messages know when their parsed views are stale. */
  version = 0;

  constructor(init?: Iterable<readonly [string, string]>) {
    this.names = [];
    this.keys = [];
    this.values = [];
    if (init) for (const [name, value] of init) this.append(name, value);
  }

  /** @internal Adopts the parser's arrays without copying. */
  static fromArrays(names: string[], keys: string[], values: string[]): SipHeaders {
    const h = new SipHeaders();
    h.names = names;
    h.keys = keys;
    h.values = values;
    return h;
  }

  /** Number of header lines. */
  get size(): number {
    return this.names.length;
  }

  /** The first value of `name` (the whole line for list headers), or undefined. */
  get(name: string): string | undefined {
    const key = headerKey(name);
    const i = this.keys.indexOf(key);
    return i === -1 ? undefined : this.values[i];
  }

  /** Every value of `name` in order; comma lists of list headers are split into elements. */
  getAll(name: string): string[] {
    const key = headerKey(name);
    const list = LIST_HEADERS.has(key);
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] !== key) continue;
      if (list) for (const part of splitCommaList(this.values[i])) out.push(part);
      else out.push(this.values[i]);
    }
    return out;
  }

  /** Every header line of `name` as written, without splitting comma lists. */
  getLines(name: string): string[] {
    const key = headerKey(name);
    const out: string[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] === key) out.push(this.values[i]);
    return out;
  }

  has(name: string): boolean {
    return this.keys.indexOf(headerKey(name)) !== -1;
  }

  /** Replaces every line of `name` with one line, at the position of the first (or at the end). */
  set(name: string, value: string): void {
    const key = headerKey(name);
    const first = this.keys.indexOf(key);
    if (first === -1) {
      this.append(name, value);
      return;
    }
    this.removeWhere(key, first + 1);
    this.names[first] = name;
    this.values[first] = value;
    this.version++;
  }

  append(name: string, value: string): void {
    this.names.push(name);
    this.keys.push(headerKey(name));
    this.values.push(value);
    this.version++;
  }

  /** Inserts before the first line of the same name, or at the top when there is none (Via, Route). */
  prepend(name: string, value: string): void {
    const key = headerKey(name);
    let at = this.keys.indexOf(key);
    if (at === -1) at = 0;
    this.names.splice(at, 0, name);
    this.keys.splice(at, 0, key);
    this.values.splice(at, 0, value);
    this.version++;
  }

  /** Removes every line of `name`; returns whether any existed. */
  delete(name: string): boolean {
    const removed = this.removeWhere(headerKey(name), 0);
    if (removed) this.version++;
    return removed;
  }

  /**
   * Replaces the first element of a list header (splitting a combined line), e.g. the top Via
   * after adding `received` (RFC 3261 §18.2.1). Appends when the header is absent.
   */
  replaceFirst(name: string, value: string): void {
    const key = headerKey(name);
    const i = this.keys.indexOf(key);
    if (i === -1) return this.append(name, value);
    const parts = LIST_HEADERS.has(key) ? splitCommaList(this.values[i]) : [];
    this.values[i] = parts.length > 1 ? [value, ...parts.slice(1)].join(', ') : value;
    this.version++;
  }

  /** Removes the first element of a list header (e.g. the top Via of a response, RFC 3261 §18.1.2). */
  removeFirst(name: string): void {
    const key = headerKey(name);
    const i = this.keys.indexOf(key);
    if (i === -1) return;
    const parts = LIST_HEADERS.has(key) ? splitCommaList(this.values[i]) : [];
    if (parts.length > 1) this.values[i] = parts.slice(1).join(', ');
    else {
      this.names.splice(i, 1);
      this.keys.splice(i, 1);
      this.values.splice(i, 1);
    }
    this.version++;
  }

  /** [name as written, raw value] per header line. */
  *entries(): IterableIterator<[string, string]> {
    for (let i = 0; i < this.names.length; i++) yield [this.names[i], this.values[i]];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** @internal Direct access for the serializer (no iterator allocation). */
  nameAt(i: number): string {
    return this.names[i];
  }
  /** @internal */
  keyAt(i: number): string {
    return this.keys[i];
  }
  /** @internal */
  valueAt(i: number): string {
    return this.values[i];
  }

  clone(): SipHeaders {
    return SipHeaders.fromArrays(this.names.slice(), this.keys.slice(), this.values.slice());
  }

  private removeWhere(key: string, from: number): boolean {
    let w = from;
    const n = this.keys.length;
    for (let r = from; r < n; r++) {
      if (this.keys[r] === key) continue;
      this.names[w] = this.names[r];
      this.keys[w] = this.keys[r];
      this.values[w] = this.values[r];
      w++;
    }
    const removed = w !== n;
    this.names.length = this.keys.length = this.values.length = w;
    return removed;
  }
}
