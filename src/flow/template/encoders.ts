/** Encoders applied to filler values (TEMPLATES.md "Encoders"). */
import type { Encoder } from './template-types.ts';

/**
 * Escapes a value as the *content* of a JSON string (no surrounding quotes): `"` and `\`, and control characters
 * (RFC 8259 §7). Non-ASCII text stays as UTF-8, which JSON allows; so an SDP's CRLF becomes `\r\n`.
 */
export function encodeJsonString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out;
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
