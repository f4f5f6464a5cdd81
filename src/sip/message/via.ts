/**
 * One Via value (RFC 3261 §20.42, §25.1 `via-parm`):
 * `SIP / 2.0 / transport LWS sent-by *( SEMI via-params )`, LWS allowed around "/" and ":".
 */
import { HOSTNAME, IPV6, TOKEN, scanClass, skipWs } from './chars.ts';
import { fail } from './errors.ts';
import { formatParams, parseHeaderParams } from './params.ts';
import type { Params } from './params.ts';

export interface Via {
  /** Transport, upper-cased: 'UDP' | 'TCP' | 'TLS' | 'SCTP' | 'WS' | 'WSS' | ... */
  protocol: string;
  /** sent-by host; IPv6 references keep their brackets. */
  host: string;
  port?: number;
  /** received, rport, maddr, ttl, branch, ... (names lower-cased, values as written). */
  params: Params;
  /** The `branch` parameter, also present in `params`. */
  branch?: string;
}

function token(s: string, i: number, end: number, what: string): number {
  const start = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) break;
    i++;
  }
  if (i === start) fail('SIP_ERR_BAD_VIA', `missing ${what}`, i);
  return i;
}

function slash(s: string, i: number, end: number): number {
  i = skipWs(s, i, end);
  if (i >= end || s.charCodeAt(i) !== 0x2f) fail('SIP_ERR_BAD_VIA', 'expected "/" in sent-protocol', i);
  return skipWs(s, i + 1, end);
}

export function parseVia(text: string): Via {
  const end = text.length;
  let i = skipWs(text, 0, end);
  const nameStart = i;
  i = token(text, i, end, 'protocol name');
  const name = text.slice(nameStart, i);
  i = slash(text, i, end);
  const versionStart = i;
  i = token(text, i, end, 'protocol version');
  const version = text.slice(versionStart, i);
  if (name.toUpperCase() !== 'SIP' || version !== '2.0') fail('SIP_ERR_BAD_VIA', `unsupported protocol ${name}/${version}`, nameStart);
  i = slash(text, i, end);
  const transportStart = i;
  i = token(text, i, end, 'transport');
  const protocol = text.slice(transportStart, i).toUpperCase();
  const afterTransport = i;
  i = skipWs(text, i, end);
  if (i === afterTransport) fail('SIP_ERR_BAD_VIA', 'expected whitespace before sent-by', i);
  const hostStart = i;
  if (i < end && text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close === -1 || scanClass(text, i + 1, close, IPV6) !== close || close === i + 1) {
      fail('SIP_ERR_BAD_VIA', 'invalid IPv6 reference in sent-by', i);
    }
    i = close + 1;
  } else {
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c > 0xff || HOSTNAME[c] === 0) break;
      i++;
    }
    if (i === hostStart) fail('SIP_ERR_BAD_VIA', 'missing sent-by host', i);
  }
  const via: Via = { protocol, host: text.slice(hostStart, i), params: new Map() };
  let j = skipWs(text, i, end);
  if (j < end && text.charCodeAt(j) === 0x3a) {
    j = skipWs(text, j + 1, end);
    const portStart = j;
    let port = 0;
    while (j < end) {
      const c = text.charCodeAt(j);
      if (c < 0x30 || c > 0x39) break;
      port = port * 10 + (c - 0x30);
      j++;
    }
    if (j === portStart || j - portStart > 5 || port > 65535) fail('SIP_ERR_BAD_VIA', 'invalid sent-by port', portStart);
    via.port = port;
    i = j;
  }
  parseHeaderParams(text, i, end, via.params, 'SIP_ERR_BAD_VIA');
  const branch = via.params.get('branch');
  if (branch !== undefined) {
    if (branch === null) fail('SIP_ERR_BAD_VIA', 'branch parameter without a value', i);
    via.branch = branch;
  }
  return via;
}

export function formatVia(via: Via): string {
  let out = `SIP/2.0/${via.protocol} ${via.host}`;
  if (via.port !== undefined) out += `:${via.port}`;
  if (via.branch !== undefined && via.params.get('branch') !== via.branch) {
    const params: Params = new Map(via.params);
    if (!params.has('branch')) out += `;branch=${via.branch}`;
    else params.set('branch', via.branch);
    return out + formatParams(params);
  }
  return out + formatParams(via.params);
}

export function cloneVia(via: Via): Via {
  return { ...via, params: new Map(via.params) };
}
