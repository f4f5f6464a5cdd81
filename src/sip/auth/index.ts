/** Digest authentication for SIP (RFC 7616, RFC 2617, RFC 8760, RFC 3261 §22). */
export {
  buildAuthorization,
  chooseQop,
  computeDigestResponse,
  computeHa1,
  DIGEST_ALGORITHMS,
  DIGEST_ERROR_CODES,
  DigestError,
  digestHash,
  formatNonceCount,
  hashLength,
  normalizeAlgorithm,
  parseChallenge,
  parseChallenges,
  parseCredentials,
  quote,
} from './digest-challenge.ts';
export type {
  BuildAuthorizationOptions,
  DigestAlgorithm,
  DigestChallenge,
  DigestCredentialsHeader,
  DigestErrorCode,
  DigestQop,
  DigestResponseInput,
} from './digest-challenge.ts';
export { DigestClient } from './digest-client.ts';
export type { DigestClientCredentials, DigestClientOptions, DigestCredentialsSource } from './digest-client.ts';
export { DigestServer } from './digest-server.ts';
export type { DigestRejectReason, DigestSecret, DigestServerOptions, DigestVerifyResult } from './digest-server.ts';
