/**
 * Digest authentication for the domain's users (RFC 3261 §22, RFC 7616, RFC 8760): 401 with
 * WWW-Authenticate for REGISTER (§22.2), 407 with Proxy-Authenticate for requests we proxy (§22.3).
 * A user configured with an HA1 instead of a password can only answer the algorithm that HA1 was
 * computed with, so that user is challenged with that algorithm alone.
 */
import { randomBytes } from 'node:crypto';
import { DigestServer, type DigestAlgorithm, type DigestSecret } from '../auth/index.ts';
import type { SipRequest } from '../message/index.ts';
import { LocalDomainError } from './errors.ts';
import type { DomainUser } from './types.ts';

/** What to do with a request after looking at its credentials. */
export type AuthOutcome =
  | { kind: 'ok'; username: string }
  /** Ask (again): a 401/407 with these challenge header values. */
  | { kind: 'challenge'; status: 401 | 407; header: string; values: string[] }
  /** Credentials present but wrong: 403 (RFC 3261 §22.1 allows it instead of a new challenge). */
  | { kind: 'forbidden'; reason: string }
  | { kind: 'bad-request'; reason: string };

type Mode = 'registrar' | 'proxy';

export class DomainAuthenticator {
  readonly realm: string;
  private readonly users = new Map<string, DigestSecret>();
  /** One verifier per mode accepting every algorithm offered; challengers per algorithm set. */
  private readonly verifiers: Record<Mode, DigestServer>;
  private readonly challengers = new Map<string, DigestServer>();
  private readonly algorithms: DigestAlgorithm[];
  private readonly secret: Buffer;

  constructor(realm: string, users: DomainUser[], algorithms: DigestAlgorithm[], secret?: string | Buffer) {
    this.realm = realm;
    this.algorithms = algorithms;
    if (algorithms.length === 0) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', 'no digest algorithm to offer');
    // Verifiers and challengers share the nonce key, so a nonce from any of them verifies.
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
    for (const u of users) {
      if (!u.name || /[\s@:;]/.test(u.name)) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `invalid user name "${u.name}"`);
      if (this.users.has(u.name)) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `user "${u.name}" listed twice`);
      if (u.password === undefined && u.ha1 === undefined) {
        throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `user "${u.name}" has neither password nor ha1`);
      }
      if (u.password === undefined && !/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(u.ha1!)) {
        throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `user "${u.name}": ha1 must be 32 (MD5) or 64 (SHA-256) hex digits`);
      }
      if (u.password === undefined && this.algorithmsFor(u.ha1!).length === 0) {
        throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `user "${u.name}": no offered algorithm fits its ha1`);
      }
      this.users.set(u.name, u.password !== undefined ? { password: u.password } : { ha1: u.ha1!.toLowerCase() });
    }
    this.verifiers = { registrar: this.server(algorithms, false), proxy: this.server(algorithms, true) };
  }

  has(user: string): boolean {
    return this.users.has(user);
  }

  get userNames(): string[] {
    return [...this.users.keys()];
  }

  /**
   * Checks the credentials of `req` for `user` (the AOR being registered, or the From user of a
   * proxied request). The authenticated name must be that user (RFC 3261 §10.3 step 3, §22.3).
   */
  check(req: SipRequest, user: string, mode: Mode): AuthOutcome {
    const verifier = this.verifiers[mode];
    const result = verifier.verify(req, (name) => this.users.get(name));
    if (result.ok) {
      if (result.username !== user) return { kind: 'forbidden', reason: `authenticated as ${result.username}, not ${user}` };
      return { kind: 'ok', username: result.username };
    }
    switch (result.reason) {
      case 'missing':
      case 'bad-nonce': // not ours, e.g. issued before a restart: a fresh challenge
      case 'replay':
        return this.challenge(user, mode, false);
      case 'stale':
        return this.challenge(user, mode, true);
      case 'malformed':
        return { kind: 'bad-request', reason: 'Malformed credentials' };
      default:
        // wrong-response, unknown-user, or an algorithm, qop or opaque we never offered
        return { kind: 'forbidden', reason: result.reason === 'wrong-response' ? 'Wrong credentials' : `Credentials refused (${result.reason})` };
    }
  }

  /** A challenge for `user`, with the algorithms that user can answer. */
  challenge(user: string, mode: Mode, stale: boolean): AuthOutcome & { kind: 'challenge' } {
    const secret = this.users.get(user);
    const algs = secret?.ha1 !== undefined && typeof secret.ha1 === 'string' ? this.algorithmsFor(secret.ha1) : this.algorithms;
    const key = `${mode}|${algs.join(',')}`;
    let server = this.challengers.get(key);
    if (!server) this.challengers.set(key, (server = this.server(algs, mode === 'proxy')));
    return { kind: 'challenge', status: server.status, header: server.challengeHeader, values: server.challenge({ stale }) };
  }

  /** Removes the credentials meant for our realm before a request is forwarded (RFC 3261 §22.3). */
  stripOwnCredentials(req: SipRequest): void {
    const kept = req.headers.getAll('Proxy-Authorization').filter((v) => !new RegExp(`realm\\s*=\\s*"${escapeRegExp(this.realm)}"`, 'i').test(v));
    req.headers.delete('Proxy-Authorization');
    for (const v of kept) req.headers.append('Proxy-Authorization', v);
  }

  private algorithmsFor(ha1: string): DigestAlgorithm[] {
    const base = ha1.length === 32 ? 'MD5' : 'SHA-256';
    return this.algorithms.filter((a) => a.replace(/-sess$/, '') === base);
  }

  private server(algorithms: DigestAlgorithm[], proxy: boolean): DigestServer {
    return new DigestServer({ realm: this.realm, secret: this.secret, algorithms, proxy });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
