/**
 * name-addr / addr-spec values of From, To, Contact, Route, Record-Route, Refer-To, ...
 * (RFC 3261 §20.10, §25.1): `"Display" <uri>;params`, `Display <uri>;params`, `uri;params`.
 * Without angle brackets every `;param` belongs to the header, not to the URI (RFC 3261 §20.10).
 */
import { TOKEN, skipQuoted, skipWs } from './chars.ts';
import { SipParseError, fail } from './errors.ts';
import { formatParams, parseHeaderParams, quote } from './params.ts';
import type { Params } from './params.ts';
import { cloneUri, formatUri, parseUri } from './uri.ts';
import type { SipUri } from './uri.ts';

export interface NameAddr {
  /** Display name with quotes and escapes removed. */
  displayName?: string;
  uri: SipUri;
  /** Header parameters (`tag`, `expires`, `q`, `+sip.instance`, ...). */
  params: Params;
}

function uriAt(s: string, from: number, to: number): SipUri {
  try {
    return parseUri(s.slice(from, to));
  } catch (err) {
    throw err instanceof SipParseError ? err.shifted(from) : err;
  }
}

/** Parses one name-addr or addr-spec with its header parameters (one element of a comma list). */
export function parseNameAddr(text: string): NameAddr {
  const end = text.length;
  let i = skipWs(text, 0, end);
  if (i === end) fail('SIP_ERR_BAD_NAME_ADDR', 'empty address', i);
  let displayName: string | undefined;
  let c = text.charCodeAt(i);
  if (c === 0x22 /* " */) {
    const q = skipQuoted(text, i, end);
    if (q === -1) fail('SIP_ERR_BAD_NAME_ADDR', 'unterminated quoted display name', i);
    const inner = text.slice(i + 1, q - 1);
    displayName = inner.indexOf('\\') === -1 ? inner : inner.replace(/\\(.)/g, '$1');
    i = skipWs(text, q, end);
    if (i >= end || text.charCodeAt(i) !== 0x3c) fail('SIP_ERR_BAD_NAME_ADDR', 'display name not followed by "<"', i);
  } else if (c !== 0x3c /* < */) {
    // Either `token *(LWS token) <uri>` or a bare addr-spec: a URI has ":" which is no token char.
    let j = i;
    while (j < end) {
      c = text.charCodeAt(j);
      if (c > 0xff || (TOKEN[c] === 0 && c !== 0x20 && c !== 0x09)) break;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 0x3c) {
      let k = j;
      while (k > i && (text.charCodeAt(k - 1) === 0x20 || text.charCodeAt(k - 1) === 0x09)) k--;
      displayName = text.slice(i, k);
      i = j;
    }
  }
  const params: Params = new Map();
  let uri: SipUri;
  if (text.charCodeAt(i) === 0x3c) {
    const close = text.indexOf('>', i + 1);
    if (close === -1) fail('SIP_ERR_BAD_NAME_ADDR', 'missing ">"', i);
    uri = uriAt(text, i + 1, close);
    i = close + 1;
  } else {
    // addr-spec: the URI runs to the first ";" or whitespace (RFC 3261 §20.10).
    if (text.indexOf('<', i) !== -1 && text.indexOf('"', i) === -1) {
      fail('SIP_ERR_BAD_NAME_ADDR', 'display name is neither tokens nor a quoted string', i);
    }
    let j = i;
    while (j < end) {
      c = text.charCodeAt(j);
      if (c === 0x3b || c === 0x20 || c === 0x09) break;
      if (c === 0x3c || c === 0x3e || c === 0x22) fail('SIP_ERR_BAD_NAME_ADDR', 'unexpected character in address', j);
      // A URI with headers must be enclosed in <> (RFC 3261 §20.10; RFC 4475 §3.1.2.13).
      if (c === 0x3f || c === 0x2c) fail('SIP_ERR_BAD_NAME_ADDR', 'a URI holding "?" or "," needs angle brackets', j);
      j++;
    }
    uri = uriAt(text, i, j);
    i = j;
  }
  parseHeaderParams(text, i, end, params, 'SIP_ERR_BAD_NAME_ADDR');
  return displayName === undefined ? { uri, params } : { displayName, uri, params };
}

/** Always writes the angle-bracket form, so URI parameters cannot be mistaken for header ones. */
export function formatNameAddr(na: NameAddr): string {
  const uri = `<${formatUri(na.uri)}>`;
  const head = na.displayName === undefined ? uri : `${quote(na.displayName)} ${uri}`;
  return na.params.size === 0 ? head : head + formatParams(na.params);
}

export function cloneNameAddr(na: NameAddr): NameAddr {
  const copy: NameAddr = { uri: cloneUri(na.uri), params: new Map(na.params) };
  if (na.displayName !== undefined) copy.displayName = na.displayName;
  return copy;
}
