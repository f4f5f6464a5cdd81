/**
 * Who is logging in at `reg_srv`: a pluggable authenticator turns what the browser brings back from
 * the login (an OAuth2 authorization code, the `state`, the `user_id`) into one configured user
 * with its lines (MSISDN, e-mail, SIP AOR and credentials).
 *
 * - `EmbeddedAuthenticator` (the development default): the users of the configuration; a code it
 *   issued itself from its login form, or, with `trustUserId`, a `user_id` naming a configured
 *   user (what load generators such as the flow tester send) is enough. Never for production.
 * - `OAuth2Authenticator` (production): the code is exchanged at the identity provider's token
 *   endpoint (RFC 6749 §4.1.3), the user named by a claim of the token response or of the
 *   userinfo endpoint, then looked up in the configured users.
 */
import { randomBytes } from 'node:crypto';
import { OmaError } from './errors.ts';

export interface OmaLine {
  lineId: string;
  /** Global number (`+1…`), the line's address on the REST side. */
  msisdn: string;
  email?: string;
  /** SIP address of record without scheme, e.g. `+12065550001@ims.example.com`. */
  aor: string;
  /** Digest credentials: the password, or H(user:realm:password). */
  password?: string;
  ha1?: string;
  displayName?: string;
}

export interface OmaUser {
  id: string;
  lines: OmaLine[];
  /** Password of the embedded login form (development only); without it the form refuses the user. */
  loginPassword?: string;
}

export interface LoginAttempt {
  code?: string;
  userId?: string;
  sessionNum?: string;
  /** Our reg_srv URL, as sent in the authorization request (RFC 6749 §4.1.3 requires it again). */
  redirectUri: string;
}

export interface Authenticator {
  readonly kind: string;
  /** Where INIT sends the browser to log in. */
  loginUrl(p: { state: string; redirectUri: string; base: string }): string;
  /** The user behind a login; throws `OmaError` (`OMA_ERR_LOGIN_FAILED`, `OMA_ERR_UPSTREAM`). */
  authenticate(attempt: LoginAttempt): Promise<OmaUser>;
}

function usersById(users: OmaUser[]): Map<string, OmaUser> {
  return new Map(users.map((u) => [u.id, u]));
}

export interface EmbeddedAuthenticatorOptions {
  /** Accept `user_id` alone when it names a configured user (development and load tests). */
  trustUserId?: boolean;
  /** Path of the embedded login form (default `/oma/login`). */
  loginPath?: string;
  /** How long an issued code stays valid (default 60 s). */
  codeLifetimeMs?: number;
}

/** The development default: configured users, no identity provider. */
export class EmbeddedAuthenticator implements Authenticator {
  readonly kind = 'embedded';
  private readonly users: Map<string, OmaUser>;
  private readonly codes = new Map<string, { userId: string; expires: number }>();
  private readonly opts: Required<EmbeddedAuthenticatorOptions>;

  constructor(users: OmaUser[], opts: EmbeddedAuthenticatorOptions = {}) {
    this.users = usersById(users);
    this.opts = { trustUserId: opts.trustUserId ?? true, loginPath: opts.loginPath ?? '/oma/login', codeLifetimeMs: opts.codeLifetimeMs ?? 60_000 };
  }

  get loginPath(): string {
    return this.opts.loginPath;
  }

  loginUrl(p: { state: string; redirectUri: string; base: string }): string {
    const q = new URLSearchParams({ client_id: 'portico', response_type: 'code', redirect_uri: p.redirectUri, state: p.state });
    return `${p.base}${this.opts.loginPath}?${q}`;
  }

  /** A one-time code for `userId` (the embedded login form issues it); undefined for an unknown user. */
  issueCode(userId: string): string | undefined {
    if (!this.users.has(userId)) return undefined;
    const now = Date.now();
    for (const [c, v] of this.codes) if (v.expires < now) this.codes.delete(c);
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { userId, expires: now + this.opts.codeLifetimeMs });
    return code;
  }

  user(id: string): OmaUser | undefined {
    return this.users.get(id);
  }

  async authenticate(attempt: LoginAttempt): Promise<OmaUser> {
    const issued = attempt.code ? this.codes.get(attempt.code) : undefined;
    if (issued) {
      this.codes.delete(attempt.code!);
      if (issued.expires >= Date.now()) return this.users.get(issued.userId)!;
    }
    if (this.opts.trustUserId && attempt.userId) {
      const user = this.users.get(attempt.userId);
      if (user) return user;
    }
    throw new OmaError('OMA_ERR_LOGIN_FAILED', ['unknown user or code']);
  }
}

export interface OAuth2Options {
  /** The identity provider's authorization endpoint (the login page INIT redirects to). */
  authorizeUrl: string;
  tokenUrl: string;
  /** Optional userinfo endpoint; without it the claim is read from the token response. */
  userInfoUrl?: string;
  clientId: string;
  clientSecret?: string;
  scope?: string;
  /** The claim naming the user (default `sub`; `user_id` is also looked at). */
  userClaim?: string;
  timeoutMs?: number;
}

/** The production path: OAuth2 authorization code grant against a configured identity provider. */
export class OAuth2Authenticator implements Authenticator {
  readonly kind = 'oauth2';
  private readonly users: Map<string, OmaUser>;

  constructor(
    private readonly opts: OAuth2Options,
    users: OmaUser[],
  ) {
    this.users = usersById(users);
  }

  loginUrl(p: { state: string; redirectUri: string }): string {
    const q = new URLSearchParams({ client_id: this.opts.clientId, response_type: 'code', redirect_uri: p.redirectUri, state: p.state });
    if (this.opts.scope) q.set('scope', this.opts.scope);
    return `${this.opts.authorizeUrl}${this.opts.authorizeUrl.includes('?') ? '&' : '?'}${q}`;
  }

  async authenticate(attempt: LoginAttempt): Promise<OmaUser> {
    if (!attempt.code) throw new OmaError('OMA_ERR_LOGIN_FAILED', ['no authorization code']);
    const timeout = this.opts.timeoutMs ?? 5000;
    // RFC 6749 §4.1.3: the code, our redirect URI and our client credentials (§2.3.1, in the body).
    const form = new URLSearchParams({ grant_type: 'authorization_code', code: attempt.code, redirect_uri: attempt.redirectUri, client_id: this.opts.clientId });
    if (this.opts.clientSecret) form.set('client_secret', this.opts.clientSecret);
    const token = await this.fetchJson(this.opts.tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: form.toString() }, timeout, 'authorization code refused');
    let claims: Record<string, unknown> = token;
    if (this.opts.userInfoUrl) {
      const access = token.access_token;
      if (typeof access !== 'string') throw new OmaError('OMA_ERR_LOGIN_FAILED', ['no access token']);
      claims = await this.fetchJson(this.opts.userInfoUrl, { headers: { Authorization: `Bearer ${access}`, Accept: 'application/json' } }, timeout, 'access token refused');
    }
    const claim = this.opts.userClaim ?? 'sub';
    const id = claims[claim] ?? claims.user_id;
    const user = typeof id === 'string' || typeof id === 'number' ? this.users.get(String(id)) : undefined;
    if (!user) throw new OmaError('OMA_ERR_LOGIN_FAILED', ['user not provisioned on this gateway']);
    return user;
  }

  private async fetchJson(url: string, init: RequestInit, timeoutMs: number, refused: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw new OmaError('OMA_ERR_UPSTREAM', ['identity provider unreachable']);
    }
    const body = await res.text().catch(() => '');
    if (res.status >= 400 && res.status < 500) throw new OmaError('OMA_ERR_LOGIN_FAILED', [refused]);
    if (!res.ok) throw new OmaError('OMA_ERR_UPSTREAM', [`identity provider answered ${res.status}`]);
    try {
      const doc = JSON.parse(body) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw new OmaError('OMA_ERR_UPSTREAM', ['identity provider answered no JSON object']);
  }
}
