/**
 * The local SIP domain: an embedded registrar (RFC 3261 §10.3) and stateful proxy (§16) for the
 * users of one domain, used when no outbound proxy is configured. See README.md.
 */
export { LocalSipDomain, DOMAIN_ALLOW } from './local-sip-domain.ts';
export { LocalDomainError, LOCAL_DOMAIN_ERROR_CODES, type LocalDomainErrorCode } from './errors.ts';
export type { BindingInfo, DomainUser, LocalDomainStats, LocalSipDomainOptions } from './types.ts';
