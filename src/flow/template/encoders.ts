/** Encoders applied to filler values (TEMPLATES.md "Encoders"). */
import type { Encoder } from './template-types.ts';

const JSON_NEEDS_ESCAPE = /["\\\u0000-\u001f]/;
const JSON_ESCAPE_ALL = /["\\\u0000-\u001f]/g;
const JSON_SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/**
 * Escapes a value as the *content* of a JSON string (no surrounding quotes): `"` and `\`, and control characters
 * (RFC 8259 §7). Non-ASCII text stays as UTF-8, which JSON allows; so an SDP's CRLF becomes `\r\n`.
 */
export function encodeJsonString(s: string): string {
  // Hot path: most values (ids, numbers, URLs) need no escaping at all.
  if (!JSON_NEEDS_ESCAPE.test(s)) return s;
  return s.replace(JSON_ESCAPE_ALL, (c) => JSON_SHORT[c] ?? '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Percent-encodes every octet of the UTF-8 form except RFC 3986 §2.3 unreserved characters. */
export function encodeUrlComponent(s: string): string {
  // encodeURIComponent also keeps ! ' ( ) * which RFC 3986 reserves (§2.2): encode those too.
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function applyEncoder(enc: Encoder, s: string): string {
  switch (enc) {
    case 'raw':
      return s;
    case 'json':
      return encodeJsonString(s);
    case 'url':
      return encodeUrlComponent(s);
    case 'b64':
      return Buffer.from(s, 'utf8').toString('base64');
  }
}

/**
 * Joins the items of a multi-valued filler. Cookies are the common case, so the default is `; ` (RFC 6265 §5.4);
 * after a `json` encoder the items become the strings of a JSON array: `["{x:json}"]` → `["a","b"]`.
 */
export function joinSeparator(encoders: readonly Encoder[]): string {
  return encoders[encoders.length - 1] === 'json' ? '","' : '; ';
}
