/**
 * Authenticity of hook requests. Two schemes, either or both per app:
 *
 * - Portico's: `X-Portico-Timestamp: <unix seconds>` and
 *   `X-Portico-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The timestamp is
 *   inside the signed text, so a backend that refuses old timestamps (`verifySignature`'s
 *   `toleranceSec`) cannot be fed a replayed request.
 * - Web Call Server's (`rest_hook_send_hash`): `Authorization: WCS <hex HMAC-MD5(secret, body)>`,
 *   so an existing WCS backend's check keeps working. It has no timestamp: a replay passes it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-portico-signature';
export const TIMESTAMP_HEADER = 'x-portico-timestamp';

export function signBody(secret: string, body: string, timestampSec: number): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

/** The value of WCS's `Authorization` header for `body`. */
export function wcsAuthorization(secret: string, body: string): string {
  return `WCS ${createHmac('md5', secret).update(body).digest('hex')}`;
}

/** Checks Portico's signature headers on a received hook request (for backends written in TypeScript). */
export function verifySignature(
  secret: string,
  body: string,
  headers: { signature?: string; timestamp?: string },
  opts: { nowSec?: number; toleranceSec?: number } = {},
): boolean {
  const ts = Number(headers.timestamp);
  if (!headers.signature || !Number.isInteger(ts)) return false;
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (opts.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(signBody(secret, body, ts));
  const got = Buffer.from(headers.signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
