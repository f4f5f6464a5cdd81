/**
 * Character classes of the RFC 3261 §25.1 grammar as lookup tables, so the parsers test a
 * character with one array read instead of a regular expression.
 */

function table(chars: string, withAlnum = true): Uint8Array {
  const t = new Uint8Array(256);
  if (withAlnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const MARK = "-_.!~*'()";
/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~");
/** user = 1*( unreserved / escaped / user-unreserved ); `%` admits an escape. */
export const USER = table(MARK + '%&=+$,;?/');
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table(MARK + '%&=+$,');
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAMCHAR = table(MARK + '%[]/:&+$');
/** hname / hvalue = *( hnv-unreserved / unreserved / escaped ) */
export const HNV = table(MARK + '%[]/?:+$');
/** hostname characters (alphanum / "-" / "."), IPv4 included. */
export const HOSTNAME = table('-.');
/** Inside an IPv6 reference: hex digits, ":" and "." (for an embedded IPv4). */
export const IPV6 = table(':.', false);
for (const c of '0123456789abcdefABCDEF') IPV6[c.charCodeAt(0)] = 1;
/** word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}") */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}');
/** A generic-param value without quotes: token or host (IPv6 references included). */
export const GEN_VALUE = table("-.!%*_+`'~:[]");
/** Characters of an absoluteURI's remainder we accept (RFC 3261 §25.1 via RFC 2396 uric). */
export const URIC = table(MARK + ';/?:@&=+$,%[]#');

export const HEX = table('abcdefABCDEF', false);
for (let c = 0x30; c <= 0x39; c++) HEX[c] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) return false;
  }
  return true;
}

/**
 * Index of the first character of `s[from, to)` not in `t`, or `to`. With `escapes`, a `%` must
 * start a `%XX` escape (RFC 3261 §25.1 `escaped`): returns the index of a bad one. In `token` and
 * `word`, `%` is an ordinary character.
 */
export function scanClass(s: string, from: number, to: number, t: Uint8Array, escapes = true): number {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || t[c] === 0) return i;
    if (c === 0x25 /* % */ && escapes) {
      if (i + 2 >= to) return i;
      if (HEX[s.charCodeAt(i + 1)] !== 1 || HEX[s.charCodeAt(i + 2)] !== 1) return i;
      i += 2;
    }
  }
  return to;
}

/** Skip spaces and tabs. */
export function skipWs(s: string, i: number, end: number): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Trim spaces and tabs (not other whitespace) from both ends of `s[from, to)`. */
export function trimWs(s: string, from = 0, to = s.length): string {
  while (from < to && (s.charCodeAt(from) === 0x20 || s.charCodeAt(from) === 0x09)) from++;
  while (to > from && (s.charCodeAt(to - 1) === 0x20 || s.charCodeAt(to - 1) === 0x09)) to--;
  return from === 0 && to === s.length ? s : s.slice(from, to);
}

/** Index just past the closing quote of the quoted-string starting at `s[i] === '"'`, or -1. */
export function skipQuoted(s: string, i: number, end: number): number {
  for (let j = i + 1; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c /* \ */) {
      j++;
      continue;
    }
    if (c === 0x22) return j + 1;
  }
  return -1;
}

/** `%XX` escapes decoded (invalid escapes left as they are), as used to compare URIs (RFC 3261 §19.1.4). */
export function unescapePercent(s: string): string {
  if (s.indexOf('%') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && HEX[s.charCodeAt(i + 1)] === 1 && HEX[s.charCodeAt(i + 2)] === 1) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += s[i];
  }
  return out;
}
