/**
 * Errors of the local SIP domain. Each has a stable `code`; the catalogue is listed in README.md
 * beside this file (a test keeps both in step). Failures on the wire are answered with SIP
 * responses, never thrown: these are for misconfiguration and misuse.
 */

export const LOCAL_DOMAIN_ERROR_CODES = [
  'SIP_ERR_LOCAL_DOMAIN_CONFIG',
  'SIP_ERR_LOCAL_DOMAIN_CLOSED',
  'SIP_ERR_LOCAL_DOMAIN_NOT_STARTED',
] as const;
export type LocalDomainErrorCode = (typeof LOCAL_DOMAIN_ERROR_CODES)[number];

export class LocalDomainError extends Error {
  override name = 'LocalDomainError';
  constructor(
    readonly code: LocalDomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}
