/**
 * SIP and SIPS URIs (RFC 3261 §19.1) and, opaquely, any other absoluteURI (tel:, urn:, http:).
 * Components are kept as written: `user`, `password`, parameter values and URI headers keep their
 * `%XX` escapes, so formatting reproduces the input; comparison (`uriEquals`) decodes them.
 */
import { HNV, HOSTNAME, IPV6, PASSWORD, URIC, USER, scanClass, unescapePercent } from './chars.ts';
import { fail } from './errors.ts';
import { formatParams, parseUriParams } from './params.ts';
import type { Params } from './params.ts';

export interface SipUri {
  /** Lower-cased: `sip`, `sips`, `tel`, ... */
  scheme: string;
  /** User part with escapes as written (RFC 3261 §19.1.2). */
  user?: string;
  password?: string;
  /** Host name or IP literal; IPv6 references keep their brackets (`[::1]`). Empty for non-SIP schemes. */
  host: string;
  port?: number;
  params: Params;
  /** URI headers (`?name=value&...`, RFC 3261 §19.1.1), escapes as written. */
  headers: Map<string, string>;
  /** Everything after `scheme:` for URIs that are not `sip:`/`sips:`. */
  opaque?: string;
}

function isSchemeChar(c: number, first: boolean): boolean {
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  if (first) return alpha;
  return alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/** Parses one URI; the text must hold nothing else (no brackets, no surrounding whitespace). */
export function parseUri(text: string): SipUri {
  const end = text.length;
  let i = 0;
  while (i < end && isSchemeChar(text.charCodeAt(i), i === 0)) i++;
  if (i === 0 || i >= end || text.charCodeAt(i) !== 0x3a /* : */) fail('SIP_ERR_BAD_URI', 'URI without a scheme', i);
  const scheme = text.slice(0, i).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text, scheme, i + 1);
  const opaque = text.slice(i + 1);
  if (opaque.length === 0) fail('SIP_ERR_BAD_URI', `empty ${scheme}: URI`, i + 1);
  const bad = scanClass(text, i + 1, end, URIC);
  if (bad !== end) fail('SIP_ERR_BAD_URI', `invalid character in ${scheme}: URI`, bad);
  return { scheme, host: '', params: new Map(), headers: new Map(), opaque };
}

function parseSipUri(s: string, scheme: string, i: number): SipUri {
  const end = s.length;
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  // userinfo ends at the first "@": "@" is allowed neither in host, parameters nor headers.
  const at = s.indexOf('@', i);
  if (at !== -1) {
    const userEnd = scanClass(s, i, at, USER);
    if (userEnd === i && s.charCodeAt(i) !== 0x3a) fail('SIP_ERR_BAD_URI', 'empty user part', i);
    if (userEnd < at) {
      if (s.charCodeAt(userEnd) !== 0x3a) fail('SIP_ERR_BAD_URI', 'invalid character in user part', userEnd);
      const pwEnd = scanClass(s, userEnd + 1, at, PASSWORD);
      if (pwEnd !== at) fail('SIP_ERR_BAD_URI', 'invalid character in password', pwEnd);
      uri.password = s.slice(userEnd + 1, at);
    }
    if (userEnd === i) fail('SIP_ERR_BAD_URI', 'empty user part', i);
    uri.user = s.slice(i, userEnd);
    i = at + 1;
  }
  const hostStart = i;
  if (i < end && s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i);
    if (close === -1) fail('SIP_ERR_BAD_URI', 'unterminated IPv6 reference', i);
    const colon = s.indexOf(':', i);
    if (scanClass(s, i + 1, close, IPV6) !== close || colon === -1 || colon > close) {
      fail('SIP_ERR_BAD_URI', 'invalid IPv6 reference', i);
    }
    i = close + 1;
  } else {
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c > 0xff || HOSTNAME[c] === 0) break;
      i++;
    }
    if (i === hostStart) fail('SIP_ERR_BAD_URI', 'empty host', i);
    const first = s.charCodeAt(hostStart);
    if (first === 0x2d || first === 0x2e) fail('SIP_ERR_BAD_URI', 'host starts with "-" or "."', hostStart);
  }
  uri.host = s.slice(hostStart, i);
  if (i < end && s.charCodeAt(i) === 0x3a) {
    const portStart = ++i;
    let port = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      port = port * 10 + (c - 0x30);
      i++;
    }
    if (i === portStart || i - portStart > 5 || port > 65535) fail('SIP_ERR_BAD_URI', 'invalid port', portStart);
    uri.port = port;
  }
  if (i < end && s.charCodeAt(i) === 0x3b) i = parseUriParams(s, i, end, uri.params);
  if (i < end && s.charCodeAt(i) === 0x3f /* ? */) {
    i++;
    while (i <= end) {
      const nameEnd = scanClass(s, i, end, HNV);
      if (nameEnd === i || nameEnd >= end || s.charCodeAt(nameEnd) !== 0x3d) {
        fail('SIP_ERR_BAD_URI', 'URI header must be name=value', nameEnd);
      }
      const valueEnd = scanClass(s, nameEnd + 1, end, HNV);
      if (!uri.headers.has(s.slice(i, nameEnd))) uri.headers.set(s.slice(i, nameEnd), s.slice(nameEnd + 1, valueEnd));
      i = valueEnd;
      if (i === end) break;
      if (s.charCodeAt(i) !== 0x26 /* & */) fail('SIP_ERR_BAD_URI', 'invalid character in URI header', i);
      i++;
    }
  }
  if (i !== end) fail('SIP_ERR_BAD_URI', 'invalid character in URI', i);
  return uri;
}

export function formatUri(uri: SipUri): string {
  if (uri.opaque !== undefined) return `${uri.scheme}:${uri.opaque}`;
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    out += uri.user;
    if (uri.password !== undefined) out += `:${uri.password}`;
    out += '@';
  }
  out += uri.host;
  if (uri.port !== undefined) out += `:${uri.port}`;
  if (uri.params.size > 0) out += formatParams(uri.params);
  if (uri.headers.size > 0) {
    let sep = '?';
    for (const [name, value] of uri.headers) {
      out += `${sep}${name}=${value}`;
      sep = '&';
    }
  }
  return out;
}

/** Parameters that, present in one URI, must be present and equal in the other (RFC 3261 §19.1.4). */
const STRICT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function paramEq(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return unescapePercent(a).toLowerCase() === unescapePercent(b).toLowerCase();
}

/** Parameter names with escapes decoded (`%6C%72` is `lr`), for comparison only. */
function normalParams(params: Params): Params {
  let escaped = false;
  for (const name of params.keys()) if (name.indexOf('%') !== -1) escaped = true;
  if (!escaped) return params;
  const out: Params = new Map();
  for (const [name, value] of params) out.set(unescapePercent(name).toLowerCase(), value);
  return out;
}

/** URI equality per RFC 3261 §19.1.4 (no DNS: hosts compare as text). */
export function uriEquals(a: SipUri, b: SipUri): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.opaque !== undefined || b.opaque !== undefined) {
    return a.opaque !== undefined && b.opaque !== undefined && unescapePercent(a.opaque) === unescapePercent(b.opaque);
  }
  // userinfo is compared case-sensitively, after decoding escapes.
  if ((a.user === undefined) !== (b.user === undefined)) return false;
  if (a.user !== b.user && unescapePercent(a.user!) !== unescapePercent(b.user!)) return false;
  if ((a.password ?? null) !== (b.password ?? null)) {
    if (a.password === undefined || b.password === undefined) return false;
    if (unescapePercent(a.password) !== unescapePercent(b.password)) return false;
  }
  if (a.port !== b.port) return false;
  if (a.host !== b.host && a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  if (a.params.size !== 0 || b.params.size !== 0) {
    const pa = normalParams(a.params);
    const pb = normalParams(b.params);
    for (const name of STRICT_PARAMS) {
      const inA = pa.has(name);
      if (inA !== pb.has(name)) return false;
      if (inA && !paramEq(pa.get(name)!, pb.get(name)!)) return false;
    }
    for (const [name, value] of pa) {
      if (pb.has(name) && !paramEq(value, pb.get(name)!)) return false;
    }
  }
  if (a.headers.size !== b.headers.size) return false;
  if (a.headers.size === 0) return true;
  const bHeaders = new Map<string, string>();
  for (const [name, value] of b.headers) bHeaders.set(name.toLowerCase(), unescapePercent(value));
  for (const [name, value] of a.headers) {
    const other = bHeaders.get(name.toLowerCase());
    if (other === undefined || other !== unescapePercent(value)) return false;
  }
  return true;
}

export function cloneUri(uri: SipUri): SipUri {
  const copy: SipUri = { ...uri, params: new Map(uri.params), headers: new Map(uri.headers) };
  return copy;
}
