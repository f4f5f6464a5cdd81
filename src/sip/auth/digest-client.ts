/**
 * The UAC side of Digest (RFC 3261 §22.2, §22.3): answers a 401/407 by re-sending the request with
 * credentials, keeps the nonce count per realm and pre-authorizes later requests to a realm it has
 * already answered.
 */
import { randomBytes } from 'node:crypto';
import { formatUri, type SipRequest, type SipResponse } from '../message/index.ts';
import {
  buildAuthorization,
  DigestError,
  hashLength,
  normalizeAlgorithm,
  parseChallenges,
  parseCredentials,
  type DigestChallenge,
  type DigestQop,
} from './digest-challenge.ts';

/** What the user (account) authenticates with: a password, or HA1 computed for the realm. */
export interface DigestClientCredentials {
  username: string;
  password?: string;
  /** H(username:realm:password) for one base algorithm (MD5: 32 hex digits, SHA-256: 64). */
  ha1?: string;
  /** When set, only challenges for this realm are answered. */
  realm?: string;
}

/** Fixed credentials, or a function giving credentials per realm (undefined: do not answer it). */
export type DigestCredentialsSource = DigestClientCredentials | ((realm: string) => DigestClientCredentials | undefined);

export interface DigestClientOptions {
  /** cnonce generator (tests pin it); default 16 random hex digits. */
  cnonce?: () => string;
  /** qop to prefer when a challenge offers both `auth` and `auth-int`. Default `auth`. */
  qop?: DigestQop;
}

interface RealmState {
  challenge: DigestChallenge;
  /** Last nonce count used with `challenge.nonce`. */
  nc: number;
  /** 407 / Proxy-Authorization rather than 401 / Authorization. */
  proxy: boolean;
}

const headerNames = (proxy: boolean) =>
  proxy
    ? ({ challenge: 'Proxy-Authenticate', credentials: 'Proxy-Authorization' } as const)
    : ({ challenge: 'WWW-Authenticate', credentials: 'Authorization' } as const);

export class DigestClient {
  private readonly realms = new Map<string, RealmState>();
  private readonly newCnonce: () => string;
  private readonly qop: DigestQop;

  constructor(opts: DigestClientOptions = {}) {
    this.newCnonce = opts.cnonce ?? (() => randomBytes(8).toString('hex'));
    this.qop = opts.qop ?? 'auth';
  }

  /**
   * The request to send again after `res` (401 or 407) answered `req`: a copy with credentials for each
   * challenged realm we have credentials for, CSeq + 1 (RFC 3261 §22.2) and no Via (the transaction
   * layer adds one with a new branch). Undefined when we cannot answer: no usable challenge, no
   * credentials for any challenged realm, or the nonce we answered last time is challenged again without
   * stale=true, which means the credentials were wrong (RFC 3261 §22.2, RFC 7616 §3.3).
   */
  authorize(req: SipRequest, res: SipResponse, creds: DigestCredentialsSource): SipRequest | undefined {
    if (res.status !== 401 && res.status !== 407) return undefined;
    const proxy = res.status === 407;
    const names = headerNames(proxy);

    // Group challenges by realm, keeping the server's order (RFC 8760 §2.4: preferred first).
    const byRealm = new Map<string, DigestChallenge[]>();
    for (const value of res.headers.getAll(names.challenge)) {
      let challenges: DigestChallenge[];
      try {
        challenges = parseChallenges(value);
      } catch (err) {
        if (err instanceof DigestError) continue; // a malformed challenge is skipped, others may do
        throw err;
      }
      for (const c of challenges) {
        const list = byRealm.get(c.realm) ?? [];
        list.push(c);
        byRealm.set(c.realm, list);
      }
    }

    const previous = this.previousNonces(req, names.credentials);
    const answers: { realm: string; challenge: DigestChallenge; who: DigestClientCredentials }[] = [];
    for (const [realm, challenges] of byRealm) {
      const who = resolve(creds, realm);
      if (!who) continue;
      const challenge = challenges.find((c) => usable(c, who));
      if (!challenge) continue;
      if (previous.get(realm) === challenge.nonce && !challenge.stale) {
        // Same nonce rejected again: the secret is wrong; retrying would loop (RFC 3261 §22.2).
        return undefined;
      }
      answers.push({ realm, challenge, who });
    }
    if (answers.length === 0) return undefined;

    const retry = req.clone();
    retry.headers.delete('Via');
    retry.headers.set('CSeq', `${req.cseq.seq + 1} ${req.cseq.method}`);
    const answered = new Set(answers.map((a) => a.realm));
    this.dropCredentials(retry, names.credentials, answered);
    for (const { realm, challenge, who } of answers) {
      const prior = this.realms.get(realm);
      const nc = prior && prior.challenge.nonce === challenge.nonce ? prior.nc + 1 : 1;
      this.realms.set(realm, { challenge, nc, proxy });
      retry.headers.append(names.credentials, this.credentialsFor(retry, challenge, who, nc));
    }
    return retry;
  }

  /**
   * Adds credentials for every realm answered before (with the next nonce count) to a new request, so
   * it need not be challenged again (RFC 3261 §22.3). Realms the request already carries credentials
   * for are left alone. Returns the same request.
   */
  preauthorize(req: SipRequest, creds: DigestCredentialsSource): SipRequest {
    for (const [realm, state] of this.realms) {
      const who = resolve(creds, realm);
      if (!who || !usable(state.challenge, who)) continue;
      const names = headerNames(state.proxy);
      if (this.previousNonces(req, names.credentials).has(realm)) continue;
      state.nc += 1;
      req.headers.append(names.credentials, this.credentialsFor(req, state.challenge, who, state.nc));
    }
    return req;
  }

  /** Forgets one realm (or all), e.g. when the account's password changes. */
  forget(realm?: string): void {
    if (realm === undefined) this.realms.clear();
    else this.realms.delete(realm);
  }

  /** The nonce count last used for a realm (0 when unknown); for diagnostics and tests. */
  nonceCount(realm: string): number {
    return this.realms.get(realm)?.nc ?? 0;
  }

  private credentialsFor(req: SipRequest, challenge: DigestChallenge, who: DigestClientCredentials, nc: number): string {
    return buildAuthorization({
      challenge,
      method: req.method,
      // digest-uri is the Request-URI of the request as sent (RFC 3261 §22.4)
      uri: formatUri(req.uri),
      username: who.username,
      ...(who.ha1 !== undefined ? { ha1: who.ha1 } : {}),
      ...(who.password !== undefined ? { password: who.password } : {}),
      body: req.body,
      nc,
      cnonce: this.newCnonce(),
      qop: this.qop,
    });
  }

  /** realm → nonce of the Digest credentials the request already carries in `header`. */
  private previousNonces(req: SipRequest, header: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const value of req.headers.getAll(header)) {
      try {
        const c = parseCredentials(value);
        out.set(c.realm, c.nonce);
      } catch (err) {
        if (!(err instanceof DigestError)) throw err;
      }
    }
    return out;
  }

  /** Removes the credentials for `realms` from `header`, keeping those for other realms. */
  private dropCredentials(req: SipRequest, header: string, realms: Set<string>): void {
    const keep = req.headers.getAll(header).filter((value) => {
      try {
        return !realms.has(parseCredentials(value).realm);
      } catch {
        return true;
      }
    });
    req.headers.delete(header);
    for (const value of keep) req.headers.append(header, value);
  }
}

function resolve(creds: DigestCredentialsSource, realm: string): DigestClientCredentials | undefined {
  const who = typeof creds === 'function' ? creds(realm) : creds;
  if (!who) return undefined;
  if (who.realm !== undefined && who.realm !== realm) return undefined;
  if (who.password === undefined && who.ha1 === undefined) return undefined;
  return who;
}

/** Whether we can answer a challenge with these credentials: known algorithm, and an HA1 that fits it. */
function usable(challenge: DigestChallenge, who: DigestClientCredentials): boolean {
  const alg = normalizeAlgorithm(challenge.algorithm);
  if (!alg) return false;
  if (challenge.qop.length && !challenge.qop.some((q) => q === 'auth' || q === 'auth-int')) return false;
  if (who.password === undefined && who.ha1 !== undefined) return who.ha1.length === hashLength(alg);
  return true;
}
