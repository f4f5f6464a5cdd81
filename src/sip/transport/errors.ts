import type { SendTarget } from './types.ts';

/**
 * Every way a send, connect, listen or resolve can fail. The transaction layer treats any of them
 * as a 503 (RFC 3261 §8.1.3.1); the codes let callers and logs tell them apart. Documented in
 * ERRORS.md (a test keeps the two lists equal).
 */
export const TRANSPORT_ERROR_CODES = {
  SIP_ERR_TRANSPORT_CONNECT: 'could not open a connection to the target (refused, unreachable, TLS or WebSocket handshake failed)',
  SIP_ERR_TRANSPORT_TIMEOUT: 'the connection was not established within connectTimeoutMs',
  SIP_ERR_TRANSPORT_CLOSED: 'the transport set is closed, or the connection closed before the message was written',
  SIP_ERR_TRANSPORT_TOO_LARGE: 'the message is larger than maxMessageSize, or than one UDP datagram can carry',
  SIP_ERR_TRANSPORT_NO_TRANSPORT: 'no transport of the requested protocol is configured (e.g. UDP with no UDP listener)',
  SIP_ERR_TRANSPORT_SEND: 'the socket rejected the write',
  SIP_ERR_TRANSPORT_LISTEN: 'a listener could not be bound (address in use, missing TLS key, ...)',
  SIP_ERR_TRANSPORT_RESOLVE: 'RFC 3263 resolution found no target for the URI',
} as const;

export type TransportErrorCode = keyof typeof TRANSPORT_ERROR_CODES;

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  /** The destination that failed, when there was one. */
  readonly target: SendTarget | undefined;

  constructor(code: TransportErrorCode, message: string, target?: SendTarget, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.target = target;
  }
}
