/**
 * The challenging side of Digest: issues nonces and verifies credentials. Used by our own tests and
 * by a local registrar. Nonces are stateless (timestamp + random + HMAC), so a restart with the same
 * secret keeps issued nonces valid and an old nonce can be told apart from a forged one, which is what
 * `stale=true` needs (RFC 7616 §3.3, §5.4).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SipRequest } from '../message/index.ts';
import {
  computeDigestResponse,
  computeHa1,
  DigestError,
  normalizeAlgorithm,
  parseCredentials,
  quote,
  type DigestAlgorithm,
  type DigestCredentialsHeader,
  type DigestQop,
} from './digest-challenge.ts';

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces; random per instance when absent. Share it across nodes that share a realm. */
  secret?: string | Buffer;
  /** How long a nonce stays fresh; older ones are answered with stale=true. Default 300 s. */
  nonceTtlMs?: number;
  /** Offered in this order, most preferred first (RFC 8760 §2.4). Default SHA-256 then MD5. */
  algorithms?: DigestAlgorithm[];
  /** qop options offered. Default `auth`. */
  qop?: DigestQop[];
  opaque?: string;
  /** Challenge as a proxy: 407 with Proxy-Authenticate, credentials in Proxy-Authorization. */
  proxy?: boolean;
  /** Largest number of nonces whose nonce counts are remembered for replay detection. Default 10000. */
  maxTrackedNonces?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** What the server knows about a user: the password, or HA1 per base algorithm. */
export interface DigestSecret {
  password?: string;
  /** H(username:realm:password): one string (used for whichever algorithm its length fits), or per algorithm. */
  ha1?: string | Partial<Record<'MD5' | 'SHA-256' | 'SHA-512-256', string>>;
}

export type DigestRejectReason =
  | 'missing' // no credentials for our realm
  | 'malformed'
  | 'unknown-user'
  | 'bad-nonce' // not issued by us (HMAC mismatch) or unreadable
  | 'stale' // issued by us, correct response, but too old: challenge again with stale=true
  | 'algorithm' // not one we offered
  | 'qop' // missing or not offered
  | 'opaque'
  | 'replay' // nonce count did not increase
  | 'wrong-response';

export type DigestVerifyResult =
  | { ok: true; username: string; credentials: DigestCredentialsHeader }
  | { ok: false; reason: DigestRejectReason; stale: boolean; username?: string };

const NONCE_RANDOM_BYTES = 12;
const NONCE_MAC_BYTES = 16;

export class DigestServer {
  readonly realm: string;
  /** 401 or 407. */
  readonly status: 401 | 407;
  readonly challengeHeader: 'WWW-Authenticate' | 'Proxy-Authenticate';
  readonly credentialsHeader: 'Authorization' | 'Proxy-Authorization';
  private readonly secret: Buffer;
  private readonly ttl: number;
  private readonly algorithms: DigestAlgorithm[];
  private readonly qop: DigestQop[];
  private readonly opaque: string | undefined;
  private readonly now: () => number;
  private readonly maxTracked: number;
  /** nonce → highest nonce count accepted so far (for replay detection, RFC 7616 §3.4). */
  private readonly counts = new Map<string, number>();

  constructor(opts: DigestServerOptions) {
    this.realm = opts.realm;
    this.secret = opts.secret === undefined ? randomBytes(32) : Buffer.from(opts.secret);
    this.ttl = opts.nonceTtlMs ?? 300_000;
    this.algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    if (this.algorithms.length === 0) throw new DigestError('SIP_ERR_AUTH_UNSUPPORTED_ALGORITHM', 'no algorithm to offer');
    this.qop = opts.qop ?? ['auth'];
    this.opaque = opts.opaque;
    this.now = opts.now ?? Date.now;
    this.maxTracked = opts.maxTrackedNonces ?? 10_000;
    this.status = opts.proxy ? 407 : 401;
    this.challengeHeader = opts.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    this.credentialsHeader = opts.proxy ? 'Proxy-Authorization' : 'Authorization';
  }

  /** A fresh nonce: base64url(timestamp ‖ random ‖ HMAC(secret, timestamp ‖ random)). */
  issueNonce(): string {
    const body = Buffer.alloc(8 + NONCE_RANDOM_BYTES);
    body.writeBigUInt64BE(BigInt(Math.floor(this.now())), 0);
    randomBytes(NONCE_RANDOM_BYTES).copy(body, 8);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** `ok`, `stale` (ours but older than the TTL) or `invalid` (not ours). */
  checkNonce(nonce: string): 'ok' | 'stale' | 'invalid' {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 8 + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, 8 + NONCE_RANDOM_BYTES);
    if (!timingSafeEqual(raw.subarray(body.length), this.mac(body))) return 'invalid';
    const issued = Number(body.readBigUInt64BE(0));
    const age = this.now() - issued;
    return age > this.ttl || age < -this.ttl ? 'stale' : 'ok';
  }

  /**
   * Header values to put in the 401/407, one challenge per offered algorithm, most preferred first
   * (RFC 8760 §2.4: a UAC picks the first it supports). All share one nonce.
   */
  challenge(opts: { stale?: boolean } = {}): string[] {
    const nonce = this.issueNonce();
    return this.algorithms.map((alg) => {
      const parts = [`realm=${quote(this.realm)}`, `nonce=${quote(nonce)}`];
      if (this.opaque !== undefined) parts.push(`opaque=${quote(this.opaque)}`);
      parts.push(`algorithm=${alg}`);
      if (this.qop.length) parts.push(`qop=${quote(this.qop.join(','))}`);
      if (opts.stale) parts.push('stale=TRUE');
      return `Digest ${parts.join(', ')}`;
    });
  }

  /**
   * Verifies the request's credentials for our realm. `lookup` returns the user's secret, or undefined
   * for an unknown user. For an asynchronous user store, read the credentials with `parseCredentials`,
   * fetch the secret, then call `verifyCredentials`.
   */
  verify(req: SipRequest, lookup: (username: string) => DigestSecret | undefined): DigestVerifyResult {
    let creds: DigestCredentialsHeader | undefined;
    for (const value of req.headers.getAll(this.credentialsHeader)) {
      try {
        const c = parseCredentials(value);
        if (c.realm === this.realm) {
          creds = c;
          break;
        }
      } catch (err) {
        if (!(err instanceof DigestError)) throw err;
        return { ok: false, reason: 'malformed', stale: false };
      }
    }
    if (!creds) return { ok: false, reason: 'missing', stale: false };
    const secret = lookup(creds.username);
    if (!secret) return { ok: false, reason: 'unknown-user', stale: false, username: creds.username };
    // Not yet: the digest-uri is not compared with the Request-URI (RFC 7616 §3.4.6); proxies on the
    // path may rewrite the Request-URI in ways a string comparison would reject.
    return this.verifyCredentials(creds, req.method, req.body, secret);
  }

  /** Verifies parsed credentials against a secret (no realm lookup). */
  verifyCredentials(
    creds: DigestCredentialsHeader,
    method: string,
    body: Buffer | string,
    secret: DigestSecret,
  ): DigestVerifyResult {
    const fail = (reason: DigestRejectReason, stale = false): DigestVerifyResult => ({
      ok: false,
      reason,
      stale,
      username: creds.username,
    });
    if (creds.realm !== this.realm) return fail('missing');
    const alg = normalizeAlgorithm(creds.algorithm);
    if (!alg || !this.algorithms.includes(alg)) return fail('algorithm');
    if (this.opaque !== undefined && creds.opaque !== this.opaque) return fail('opaque');
    const nonceState = this.checkNonce(creds.nonce);
    if (nonceState === 'invalid') return fail('bad-nonce');

    let qop: DigestQop | undefined;
    if (this.qop.length) {
      // We offered qop, so the client must pick one of them with nc and cnonce (RFC 7616 §3.4)
      if (creds.qop === undefined || !this.qop.includes(creds.qop as DigestQop)) return fail('qop');
      if (creds.nc === undefined || !/^[0-9a-fA-F]{8}$/.test(creds.nc) || creds.cnonce === undefined) return fail('malformed');
      qop = creds.qop as DigestQop;
    }
    const ha1 = this.ha1For(alg, creds.username, secret);
    if (ha1 === undefined) return fail('unknown-user');
    let expected: string;
    try {
      expected = computeDigestResponse({
        algorithm: alg,
        ha1,
        nonce: creds.nonce,
        method,
        uri: creds.uri,
        body,
        ...(qop ? { qop, nc: creds.nc! } : {}),
        ...(creds.cnonce !== undefined ? { cnonce: creds.cnonce } : {}),
      });
    } catch (err) {
      if (err instanceof DigestError) return fail('malformed');
      throw err;
    }
    const given = Buffer.from(creds.response.toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) return fail('wrong-response');
    // Right password on an old nonce: ask again with stale=true, the client retries without the user
    // (RFC 7616 §3.3 stale).
    if (nonceState === 'stale') return fail('stale', true);
    if (qop) {
      const nc = parseInt(creds.nc!, 16);
      const last = this.counts.get(creds.nonce) ?? 0;
      if (nc <= last) return fail('replay');
      this.remember(creds.nonce, nc);
    }
    return { ok: true, username: creds.username, credentials: creds };
  }

  private ha1For(alg: DigestAlgorithm, username: string, secret: DigestSecret): string | undefined {
    const base = alg.replace(/-sess$/, '') as 'MD5' | 'SHA-256' | 'SHA-512-256';
    if (secret.password !== undefined) {
      return computeHa1(base, username, this.realm, secret.password);
    }
    if (typeof secret.ha1 === 'string') {
      const want = base === 'MD5' ? 32 : 64;
      return secret.ha1.length === want ? secret.ha1 : undefined;
    }
    return secret.ha1?.[base];
  }

  private remember(nonce: string, nc: number): void {
    this.counts.delete(nonce); // re-insert at the end: Map order is our LRU order
    this.counts.set(nonce, nc);
    while (this.counts.size > this.maxTracked) {
      const oldest = this.counts.keys().next().value as string;
      this.counts.delete(oldest);
    }
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, NONCE_MAC_BYTES);
  }
}
