/**
 * Parameter lists: `;name=value` after a header value (generic-param, RFC 3261 §25.1) and after a
 * URI (uri-parameters, RFC 3261 §19.1.1). Names are lower-cased, order is kept, a parameter
 * without `=` maps to `null`. Values are kept as written (quotes and escapes included), so a
 * message round-trips byte for byte in its parameters.
 */
import { GEN_VALUE, PARAMCHAR, TOKEN, scanClass, skipQuoted, skipWs } from './chars.ts';
import { SipParseError, fail } from './errors.ts';
import type { SipParseErrorCode } from './errors.ts';

export type Params = Map<string, string | null>;

/**
 * Parses header parameters in `s[i, end)`, where `s[i]` is the first `;` (or `i === end`).
 * LWS is allowed around `;` and `=` (RFC 3261 §25.1 SEMI, EQUAL). Returns `end` or throws.
 */
export function parseHeaderParams(
  s: string,
  i: number,
  end: number,
  out: Params,
  code: SipParseErrorCode = 'SIP_ERR_BAD_PARAM',
): number {
  i = skipWs(s, i, end);
  while (i < end) {
    if (s.charCodeAt(i) !== 0x3b /* ; */) fail(code, `expected ";" before parameter`, i);
    i = skipWs(s, i + 1, end);
    const nameStart = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c > 0xff || TOKEN[c] === 0) break;
      i++;
    }
    if (i === nameStart) fail(code, 'empty parameter name', i);
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipWs(s, i, end);
    let value: string | null = null;
    if (i < end && s.charCodeAt(i) === 0x3d /* = */) {
      i = skipWs(s, i + 1, end);
      const valueStart = i;
      if (i < end && s.charCodeAt(i) === 0x22) {
        const q = skipQuoted(s, i, end);
        if (q === -1) fail(code, `unterminated quoted value of parameter "${name}"`, i);
        i = q;
      } else {
        while (i < end) {
          const c = s.charCodeAt(i);
          if (c > 0xff || GEN_VALUE[c] === 0) break;
          i++;
        }
        if (i === valueStart) fail(code, `empty value of parameter "${name}"`, i);
      }
      value = s.slice(valueStart, i);
      i = skipWs(s, i, end);
    }
    // A repeated parameter keeps its first value; later copies are ignored.
    if (!out.has(name)) out.set(name, value);
  }
  return end;
}

/**
 * Parses URI parameters in `s[i, end)` where `s[i]` is `;`; stops at `?` or `end` and returns
 * that index. No whitespace is allowed inside a URI (RFC 3261 §19.1.1).
 */
export function parseUriParams(s: string, i: number, end: number, out: Params): number {
  while (i < end && s.charCodeAt(i) === 0x3b) {
    i++;
    const nameEnd = scanClass(s, i, end, PARAMCHAR);
    let j = nameEnd;
    let eq = -1;
    if (j < end && s.charCodeAt(j) === 0x3d /* = */) {
      eq = j;
      j = scanClass(s, j + 1, end, PARAMCHAR);
    }
    if (nameEnd === i) fail('SIP_ERR_BAD_URI', 'empty URI parameter name', i);
    const name = s.slice(i, nameEnd).toLowerCase();
    const value = eq === -1 ? null : s.slice(eq + 1, j);
    if (value === '') fail('SIP_ERR_BAD_URI', `empty value of URI parameter "${name}"`, j);
    if (!out.has(name)) out.set(name, value);
    i = j;
    if (i < end && s.charCodeAt(i) !== 0x3b && s.charCodeAt(i) !== 0x3f /* ? */) {
      fail('SIP_ERR_BAD_URI', `invalid character in URI parameter "${name}"`, i);
    }
  }
  return i;
}

/** `;name=value;flag` for header and URI parameters alike. */
export function formatParams(params: Params): string {
  let out = '';
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`;
  return out;
}

/** A parameter value with surrounding quotes and `\` escapes removed. */
export function unquote(value: string): string {
  if (value.length < 2 || value.charCodeAt(0) !== 0x22) return value;
  const inner = value.slice(1, -1);
  return inner.indexOf('\\') === -1 ? inner : inner.replace(/\\(.)/g, '$1');
}

/** A quoted-string for `text`, escaping `"` and `\` (RFC 3261 §25.1 quoted-pair). */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * A standalone parameter list such as `;a=1;b` (or `a=1;b`: the first `;` is optional), for header
 * values whose parameters a caller reads itself (Content-Type, Event, Reason, ...).
 */
export function parseGenericParams(text: string): Params {
  const out: Params = new Map();
  const t = text.trim();
  if (t.length === 0) return out;
  const s = t.charCodeAt(0) === 0x3b ? t : `;${t}`;
  try {
    parseHeaderParams(s, 0, s.length, out, 'SIP_ERR_BAD_PARAM');
  } catch (err) {
    throw err instanceof SipParseError && s !== t ? err.shifted(-1) : err;
  }
  return out;
}
