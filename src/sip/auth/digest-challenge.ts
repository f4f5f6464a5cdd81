/**
 * Digest access authentication for SIP: the header grammar (challenges and credentials) and the
 * response computation shared by `DigestClient` and `DigestServer`.
 *
 * Rules followed: RFC 7616 (HTTP Digest, SHA-256 and -sess variants), RFC 2617 (MD5, qop), RFC 3261
 * §22.4 (SIP's use of Digest) and RFC 8760 (SHA-256 / SHA-512/256 in SIP).
 */
import { createHash } from 'node:crypto';

/** Stable codes of the errors this module throws. Documented in `ERRORS.md` beside this file. */
export const DIGEST_ERROR_CODES = [
  'SIP_ERR_AUTH_BAD_CHALLENGE',
  'SIP_ERR_AUTH_BAD_CREDENTIALS',
  'SIP_ERR_AUTH_UNSUPPORTED_ALGORITHM',
  'SIP_ERR_AUTH_UNSUPPORTED_QOP',
  'SIP_ERR_AUTH_NO_SECRET',
  'SIP_ERR_AUTH_HA1_MISMATCH',
] as const;
export type DigestErrorCode = (typeof DIGEST_ERROR_CODES)[number];

export class DigestError extends Error {
  override readonly name = 'DigestError';
  constructor(
    readonly code: DigestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Algorithms we can compute. RFC 8760 §2 registers SHA-256 and SHA-512-256 for SIP; MD5 stays for interop. */
export const DIGEST_ALGORITHMS = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];
export type DigestQop = 'auth' | 'auth-int';

/** One `Digest` challenge from a WWW-Authenticate or Proxy-Authenticate header (RFC 7616 §3.3). */
export interface DigestChallenge {
  scheme: 'Digest';
  realm: string;
  nonce: string;
  opaque?: string;
  /** As written by the server; `MD5` when absent (RFC 7616 §3.3). Compare with `normalizeAlgorithm`. */
  algorithm: string;
  /** The qop options offered, lower-cased; empty when the server sent none (RFC 2069 compatibility). */
  qop: string[];
  stale: boolean;
  /** URIs of the protection space, space-separated in the header (RFC 7616 §3.3). */
  domain: string[];
  /** Every parameter as received (names lower-cased, values unquoted). */
  params: Map<string, string>;
}

/** Parsed Authorization / Proxy-Authorization credentials (RFC 7616 §3.4). */
export interface DigestCredentialsHeader {
  scheme: string;
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  /** Nonce count as sent (8 hex digits). */
  nc?: string;
  params: Map<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Grammar: `scheme param=value, param="quoted", ...` repeated, possibly several challenges in one
// header value (RFC 7235 §4.1 allows a comma list of challenges).
// ---------------------------------------------------------------------------------------------

interface AuthItem {
  scheme: string;
  params: Map<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Splits an authentication header value into schemes with their parameters. Throws on bad syntax. */
function parseAuthItems(value: string, code: DigestErrorCode): AuthItem[] {
  const items: AuthItem[] = [];
  let i = 0;
  const n = value.length;
  const fail = (what: string): never => {
    throw new DigestError(code, `${what} at offset ${i} in ${JSON.stringify(value)}`);
  };
  const skipWs = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t' || value[i] === '\r' || value[i] === '\n')) i++;
  };
  const readToken = (): string => {
    const start = i;
    // '=' ends a parameter name; it is part of token68 only at the end, which digest never uses.
    while (i < n && value[i] !== '=' && value[i] !== ',' && TOKEN_CHAR.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  const readValue = (): string => {
    if (value[i] === '"') {
      // quoted-string with quoted-pair escapes (RFC 7230 §3.2.6, RFC 3261 §25.1)
      i++;
      let out = '';
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\') {
          i++;
          if (i >= n) fail('unterminated escape');
        }
        out += value[i];
        i++;
      }
      if (i >= n) fail('unterminated quoted string');
      i++;
      return out;
    }
    const start = i;
    while (i < n && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t') i++;
    return value.slice(start, i);
  };

  let current: AuthItem | undefined;
  while (true) {
    skipWs();
    while (i < n && value[i] === ',') {
      i++;
      skipWs();
    }
    if (i >= n) break;
    const word = readToken();
    if (!word) fail('expected a token');
    skipWs();
    if (value[i] === '=') {
      // a parameter of the current challenge
      if (!current) fail('parameter before any auth scheme');
      i++;
      skipWs();
      const v = readValue();
      current!.params.set(word.toLowerCase(), v);
    } else {
      // a new scheme; its first parameter follows after whitespace
      current = { scheme: word, params: new Map() };
      items.push(current);
    }
  }
  if (items.length === 0) throw new DigestError(code, `no auth scheme in ${JSON.stringify(value)}`);
  return items;
}

function toChallenge(item: AuthItem): DigestChallenge {
  const p = item.params;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined) throw new DigestError('SIP_ERR_AUTH_BAD_CHALLENGE', 'Digest challenge without realm');
  if (nonce === undefined) throw new DigestError('SIP_ERR_AUTH_BAD_CHALLENGE', 'Digest challenge without nonce');
  const qop = (p.get('qop') ?? '')
    .split(',')
    .map((q) => q.trim().toLowerCase())
    .filter(Boolean);
  const domain = (p.get('domain') ?? '').split(/\s+/).filter(Boolean);
  const challenge: DigestChallenge = {
    scheme: 'Digest',
    realm,
    nonce,
    algorithm: p.get('algorithm') ?? 'MD5',
    qop,
    stale: (p.get('stale') ?? '').toLowerCase() === 'true',
    domain,
    params: p,
  };
  const opaque = p.get('opaque');
  if (opaque !== undefined) challenge.opaque = opaque;
  return challenge;
}

/**
 * Every `Digest` challenge in one WWW-Authenticate / Proxy-Authenticate value, in order. Other schemes
 * (Basic, Bearer, ...) are skipped. Throws `DigestError` on malformed syntax.
 */
export function parseChallenges(headerValue: string): DigestChallenge[] {
  return parseAuthItems(headerValue, 'SIP_ERR_AUTH_BAD_CHALLENGE')
    .filter((it) => it.scheme.toLowerCase() === 'digest')
    .map(toChallenge);
}

/** The first `Digest` challenge in a header value; throws `DigestError` if there is none. */
export function parseChallenge(headerValue: string): DigestChallenge {
  const all = parseChallenges(headerValue);
  if (all.length === 0) throw new DigestError('SIP_ERR_AUTH_BAD_CHALLENGE', `no Digest challenge in ${JSON.stringify(headerValue)}`);
  return all[0]!;
}

/** Parses an Authorization / Proxy-Authorization value carrying Digest credentials. */
export function parseCredentials(headerValue: string): DigestCredentialsHeader {
  const items = parseAuthItems(headerValue, 'SIP_ERR_AUTH_BAD_CREDENTIALS');
  const item = items[0]!;
  if (item.scheme.toLowerCase() !== 'digest') {
    throw new DigestError('SIP_ERR_AUTH_BAD_CREDENTIALS', `not Digest credentials: ${item.scheme}`);
  }
  const p = item.params;
  const need = (name: string): string => {
    const v = p.get(name);
    if (v === undefined) throw new DigestError('SIP_ERR_AUTH_BAD_CREDENTIALS', `Digest credentials without ${name}`);
    return v;
  };
  const creds: DigestCredentialsHeader = {
    scheme: 'Digest',
    username: need('username'),
    realm: need('realm'),
    nonce: need('nonce'),
    uri: need('uri'),
    response: need('response'),
    algorithm: p.get('algorithm') ?? 'MD5',
    params: p,
  };
  for (const k of ['cnonce', 'opaque', 'qop', 'nc'] as const) {
    const v = p.get(k);
    if (v !== undefined) creds[k] = v;
  }
  return creds;
}

/** Quotes a value for a header parameter, escaping `"` and `\` (RFC 3261 §25.1 quoted-pair). */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

// ---------------------------------------------------------------------------------------------
// Computation (RFC 7616 §3.4.1 - §3.4.3)
// ---------------------------------------------------------------------------------------------

/** Canonical spelling of a supported algorithm name, or undefined (names match case-insensitively). */
export function normalizeAlgorithm(name: string): DigestAlgorithm | undefined {
  const lower = name.toLowerCase();
  return DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === lower);
}

const NODE_HASH: Record<string, string> = { MD5: 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

function baseOf(alg: DigestAlgorithm): string {
  return alg.endsWith('-sess') ? alg.slice(0, -5) : alg;
}

/** The hash function H() of an algorithm, hex-encoded output. */
export function digestHash(alg: DigestAlgorithm, data: string | Buffer): string {
  return createHash(NODE_HASH[baseOf(alg)]!).update(data).digest('hex');
}

/** Length in hex digits of H() for an algorithm (32 for MD5, 64 for the SHA variants). */
export function hashLength(alg: DigestAlgorithm): number {
  return baseOf(alg) === 'MD5' ? 32 : 64;
}

/** H(username:realm:password), the value a registrar stores instead of the password. */
export function computeHa1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(alg, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  /** H(username:realm:password), for the base algorithm; -sess is applied here. */
  ha1: string;
  nonce: string;
  method: string;
  uri: string;
  /** Omitted for RFC 2069 style challenges without qop. */
  qop?: DigestQop;
  nc?: string;
  cnonce?: string;
  /** Request body, for qop=auth-int. */
  body?: Buffer | string;
}

/** The `response` parameter value (RFC 7616 §3.4.1). */
export function computeDigestResponse(input: DigestResponseInput): string {
  const { algorithm: alg, nonce, method, uri, qop, nc, cnonce } = input;
  let ha1 = input.ha1.toLowerCase();
  if (alg.endsWith('-sess')) {
    // -sess: HA1 = H(H(user:realm:pass):nonce:cnonce), computed from the stored HA1 (RFC 7616 §3.4.2)
    if (cnonce === undefined) throw new DigestError('SIP_ERR_AUTH_BAD_CREDENTIALS', `${alg} needs a cnonce`);
    ha1 = digestHash(alg, `${ha1}:${nonce}:${cnonce}`);
  }
  // HA2 = H(method:uri) or, with auth-int, H(method:uri:H(body)) (RFC 7616 §3.4.3)
  const ha2 =
    qop === 'auth-int'
      ? digestHash(alg, `${method}:${uri}:${digestHash(alg, input.body ?? '')}`)
      : digestHash(alg, `${method}:${uri}`);
  if (qop === undefined) {
    // No qop offered: the RFC 2069 form (RFC 2617 §3.2.2.1)
    return digestHash(alg, `${ha1}:${nonce}:${ha2}`);
  }
  if (nc === undefined || cnonce === undefined) {
    throw new DigestError('SIP_ERR_AUTH_BAD_CREDENTIALS', 'qop needs nc and cnonce');
  }
  return digestHash(alg, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}

/** Nonce count as the 8 lower-case hex digits the header carries (RFC 7616 §3.4). */
export function formatNonceCount(nc: number): string {
  return nc.toString(16).padStart(8, '0');
}

export interface BuildAuthorizationOptions {
  challenge: DigestChallenge;
  method: string;
  /** The digest-uri: the Request-URI as sent (RFC 3261 §22.4). */
  uri: string;
  username: string;
  password?: string;
  /** H(username:realm:password) for the challenge's base algorithm; used instead of the password. */
  ha1?: string;
  body?: Buffer | string;
  /** Nonce count for this nonce, starting at 1. */
  nc: number;
  cnonce: string;
  /** Preferred qop when the challenge offers both; default `auth`. */
  qop?: DigestQop;
}

/** Chooses the qop to answer with: the preferred one when offered, else what is offered. */
export function chooseQop(offered: string[], preferred: DigestQop = 'auth'): DigestQop | undefined {
  if (offered.length === 0) return undefined;
  if (offered.includes(preferred)) return preferred;
  if (offered.includes('auth')) return 'auth';
  if (offered.includes('auth-int')) return 'auth-int';
  throw new DigestError('SIP_ERR_AUTH_UNSUPPORTED_QOP', `no supported qop in ${offered.join(',')}`);
}

/** Builds an Authorization / Proxy-Authorization header value answering a challenge. */
export function buildAuthorization(opts: BuildAuthorizationOptions): string {
  const { challenge, method, uri, username, nc, cnonce } = opts;
  const alg = normalizeAlgorithm(challenge.algorithm);
  if (!alg) throw new DigestError('SIP_ERR_AUTH_UNSUPPORTED_ALGORITHM', `unsupported algorithm ${challenge.algorithm}`);
  let ha1: string;
  if (opts.ha1 !== undefined) {
    if (opts.ha1.length !== hashLength(alg) || !/^[0-9a-fA-F]+$/.test(opts.ha1)) {
      throw new DigestError('SIP_ERR_AUTH_HA1_MISMATCH', `HA1 does not fit ${alg}`);
    }
    ha1 = opts.ha1;
  } else if (opts.password !== undefined) {
    ha1 = computeHa1(alg, username, challenge.realm, opts.password);
  } else {
    throw new DigestError('SIP_ERR_AUTH_NO_SECRET', 'neither password nor HA1 given');
  }
  const qop = chooseQop(challenge.qop, opts.qop);
  const ncText = formatNonceCount(nc);
  const useCnonce = qop !== undefined || alg.endsWith('-sess');
  const response = computeDigestResponse({
    algorithm: alg,
    ha1,
    nonce: challenge.nonce,
    method,
    uri,
    ...(qop ? { qop, nc: ncText } : {}),
    ...(useCnonce ? { cnonce } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  const parts = [
    `username=${quote(username)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `response=${quote(response)}`,
    // algorithm is echoed as the server spelled it (RFC 7616 §3.4)
    `algorithm=${challenge.params.has('algorithm') ? challenge.algorithm : alg}`,
  ];
  if (useCnonce) parts.push(`cnonce=${quote(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  // qop and nc are unquoted in the credentials (RFC 7616 §3.4)
  if (qop) parts.push(`qop=${qop}`, `nc=${ncText}`);
  return `Digest ${parts.join(', ')}`;
}
