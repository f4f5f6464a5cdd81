/**
 * SIP transport layer (RFC 3261 §18, RFC 3263, RFC 3581, RFC 5626 keep-alives, RFC 7118
 * WebSocket): one `TransportSet` per stack carries every message over UDP, TCP, TLS, WS and WSS.
 */
export { TransportSet, type TransportStats } from './transport-set.ts';
export { TransportError, TRANSPORT_ERROR_CODES, type TransportErrorCode } from './errors.ts';
export { SipResolver, orderSrv } from './resolver.ts';
export {
  TRANSPORT_PROTOCOLS,
  isReliableProtocol,
  defaultPort,
  toTransportProtocol,
  type TransportProtocol,
  type ListenSpec,
  type Flow,
  type SendTarget,
  type TransportSetOptions,
  type TlsServerOptions,
  type TlsClientOptions,
  type DnsLookup,
} from './types.ts';
