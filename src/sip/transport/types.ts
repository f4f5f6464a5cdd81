import type { SipLogger } from '../logger.ts';

/** The transports a SIP message can travel on (RFC 3261 §18, RFC 7118 for WebSocket). */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export const TRANSPORT_PROTOCOLS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** Key and certificate for a server-side TLS or WSS listener (PEM). */
export interface TlsServerOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** Extra trust anchors, e.g. to verify client certificates. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask connecting peers for a certificate (mutual TLS). Off by default. */
  requestCert?: boolean;
}

/** How our side of a TLS or WSS connection verifies the peer when we connect out. */
export interface TlsClientOptions {
  /** Trust anchors replacing the system store, e.g. a private CA or a self-signed peer. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Our own certificate, for peers that want mutual TLS. */
  key?: string | Buffer;
  cert?: string | Buffer;
  /** Verify the peer certificate (default true). Turn off only for lab setups. */
  rejectUnauthorized?: boolean;
}

/** One socket to listen on. */
export interface ListenSpec {
  protocol: TransportProtocol;
  /** Address to bind: an IP literal, or `0.0.0.0` / `::` for every interface. */
  host: string;
  /** 0 asks the system for an ephemeral port; `TransportSet.local()` tells which one. */
  port: number;
  /** Required for `tls` and `wss`. */
  tls?: TlsServerOptions;
  /** HTTP path accepted for WebSocket upgrades (`ws`/`wss`); any path when absent. */
  wsPath?: string;
}

/**
 * How a message arrived or left: the transport and both ends.
 * `connectionId` names the stream connection (tcp/tls/ws/wss) and, on UDP, the local socket, so a
 * response can leave from the socket its request came in on (RFC 3581 §4).
 * Addresses are plain IP literals (IPv6 without brackets).
 */
export interface Flow {
  protocol: TransportProtocol;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  connectionId?: string;
}

/** Where to send a message. */
export interface SendTarget {
  protocol: TransportProtocol;
  /** IP literal (IPv6 with or without brackets) or a host name resolved with A/AAAA. */
  host: string;
  port: number;
  /** Prefer this open connection (stream), or this local socket (UDP), when it still exists. */
  connectionId?: string;
  /** TLS/WSS: the name the peer certificate must carry (RFC 5922 §4); defaults to `host`. */
  serverName?: string;
}

/**
 * DNS lookups the resolver needs. `Resolver` from `node:dns/promises` satisfies it; tests point
 * one at a local responder with `setServers`.
 */
export interface DnsLookup {
  resolveNaptr(name: string): Promise<
    Array<{ flags: string; service: string; regexp: string; replacement: string; order: number; preference: number }>
  >;
  resolveSrv(name: string): Promise<Array<{ priority: number; weight: number; port: number; name: string }>>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface TransportSetOptions {
  listen: ListenSpec[];
  logger?: SipLogger;
  /** Largest message accepted or sent, in bytes (default 65535). Larger inbound requests get 513. */
  maxMessageSize?: number;
  /**
   * Send a CRLFCRLF ping on every outbound stream connection this often (RFC 5626 §4.4.1);
   * on outbound WebSocket connections a WebSocket ping. 0 (default) sends none.
   */
  keepAliveIntervalMs?: number;
  /**
   * Close a stream connection after this long without any bytes in either direction
   * (keep-alives count as use). 0 (default) keeps connections until a side closes them.
   */
  idleTimeoutMs?: number;
  /** Give up on a TCP/TLS/WS connect after this long (default 10000). */
  connectTimeoutMs?: number;
  /**
   * RFC 3261 §18.1.1: a request larger than this many bytes that is meant for UDP goes over TCP
   * instead (the request's top Via transport and port are rewritten in place), provided a TCP listener exists;
   * without one it is sent over UDP anyway. Default 1300 (path MTU unknown). `Infinity` never
   * switches.
   */
  udpMaxSize?: number;
  /**
   * Receive buffer (SO_RCVBUF) asked for on every UDP socket, in bytes; 0 keeps the system default
   * (about 200 KB on Linux). Datagrams that arrive while the event loop is busy wait there, and
   * what does not fit is dropped, to be recovered only by the peer's retransmission 500 ms or more
   * later. Default 4 MiB: room for a 50 ms stall at 20,000 messages/s (each queued datagram costs
   * 1.3 KB or more). Linux caps it at net.core.rmem_max; a smaller grant is logged at info.
   */
  udpRecvBufferSize?: number;
  /** Send buffer (SO_SNDBUF) asked for on every UDP socket, in bytes; 0 keeps the system default. Default 1 MiB. */
  udpSendBufferSize?: number;
  tlsClient?: TlsClientOptions;
  /** DNS for `resolve()`; defaults to a `node:dns/promises` Resolver using the system servers. */
  dns?: DnsLookup;
  /**
   * Other spellings of our own sent-by host (public address, domain name) that a response's top
   * Via may carry (RFC 3261 §18.1.2). The bound addresses are always accepted.
   */
  hostAliases?: string[];
}

export const DEFAULT_MAX_MESSAGE_SIZE = 65535;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_UDP_MAX_SIZE = 1300;
export const DEFAULT_UDP_RECV_BUFFER_SIZE = 4 * 1024 * 1024;
export const DEFAULT_UDP_SEND_BUFFER_SIZE = 1024 * 1024;
/** Largest UDP payload over IPv4. */
export const MAX_DATAGRAM_SIZE = 65507;

/** Whether the protocol delivers reliably and in order (RFC 3261 §17: no retransmissions needed). */
export function isReliableProtocol(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** Whether the protocol is a byte stream or WebSocket that carries connections. */
export function isConnectionProtocol(protocol: TransportProtocol): boolean {
  return protocol !== 'udp';
}

/** Default port for a protocol when a URI or Via gives none (RFC 3261 §19.1.2, RFC 7118 §5). */
export function defaultPort(protocol: TransportProtocol): number {
  switch (protocol) {
    case 'tls':
      return 5061;
    case 'ws':
      return 80;
    case 'wss':
      return 443;
    default:
      return 5060;
  }
}

/** Maps a Via sent-protocol or a `transport=` URI parameter to ours; undefined when unknown. */
export function toTransportProtocol(name: string | null | undefined): TransportProtocol | undefined {
  const p = name?.toLowerCase();
  return p === 'udp' || p === 'tcp' || p === 'tls' || p === 'ws' || p === 'wss' ? p : undefined;
}
