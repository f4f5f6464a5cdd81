/**
 * Addresses as doors give them: an AOR without scheme (`alice@example.com`), and call targets that
 * may be an AOR, a SIP URI, or a bare user or number to be completed with the caller's domain.
 */
import type { Aor, Party } from './types.ts';

// user@host[:port]; user characters of RFC 3261 §25.1 (unreserved, escaped, user-unreserved).
const USER = "[A-Za-z0-9\\-_.!~*'()&=+$,;?/%]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = `(?:(?:${LABEL}\\.)*${LABEL}\\.?|\\[[0-9A-Fa-f:.]+\\])(?::\\d{1,5})?`;
const AOR_RE = new RegExp(`^(${USER})@(${HOST})$`);
const SIP_URI_RE = new RegExp(`^sips?:(?:${USER}@)?${HOST}(?:;[^\\s<>]*)?$`, 'i');

/** `sip:Alice@Example.COM` or `alice@example.com` → `alice@example.com` (host lower-cased); undefined if malformed. */
export function normalizeAor(text: string): Aor | undefined {
  const bare = text.trim().replace(/^sips?:/i, '');
  const m = AOR_RE.exec(bare);
  if (!m) return undefined;
  const host = m[2]!;
  const lower = host.toLowerCase();
  // Already normal: the caller's own string, so that every layer holds one copy of each AOR.
  return lower === host ? bare : `${m[1]}@${lower}`;
}

/** The domain part of an AOR, without port. */
export function domainOf(aor: Aor): string {
  const host = aor.slice(aor.lastIndexOf('@') + 1);
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
}

/** The user part of an AOR. */
export function userOf(aor: Aor): string {
  return aor.slice(0, aor.lastIndexOf('@'));
}

/**
 * The Request-URI for a call or message target: a SIP URI as given, an AOR with `sip:`, a bare
 * user or number completed with `domain`. Undefined if it is none of these.
 */
export function targetUri(to: string, domain: string): string | undefined {
  const t = to.trim();
  if (/^sips?:/i.test(t)) return SIP_URI_RE.test(t) ? t : undefined;
  if (t.includes('@')) {
    const aor = normalizeAor(t);
    return aor ? `sip:${aor}` : undefined;
  }
  return new RegExp(`^${USER}$`).test(t) ? `sip:${t}@${domain}` : undefined;
}

/** A party from a SIP URI (the scheme and parameters dropped) and a display name. */
export function partyOf(uri: string, displayName?: string): Party {
  const aor = uri.replace(/^sips?:/i, '').split(/[;?]/)[0]!;
  return displayName ? { uri: aor, displayName } : { uri: aor };
}
