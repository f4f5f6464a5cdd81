import { isIP } from 'node:net';
import type { Flow, TransportProtocol } from './types.ts';

/**
 * Normal form of a host for comparisons and socket calls: brackets removed from IPv6 literals,
 * IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, as a dual-stack socket reports them) unmapped,
 * lower case.
 */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  return h;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function hostPort(host: string, port: number): string {
  const h = normalizeHost(host);
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`;
}

/** Whether a host is an IP literal (brackets allowed). */
export function isIpLiteral(host: string): boolean {
  return isIP(normalizeHost(host)) !== 0;
}

/** Whether a bound address listens on every interface. */
export function isWildcard(host: string): boolean {
  const h = normalizeHost(host);
  return h === '0.0.0.0' || h === '::' || h === '';
}

/** The peer label used in log lines: `udp:1.2.3.4:5060`. */
export function peerLabel(protocol: TransportProtocol, host: string, port: number): string {
  return `${protocol}:${hostPort(host, port)}`;
}

export function flowPeer(flow: Flow): string {
  return peerLabel(flow.protocol, flow.remoteAddress, flow.remotePort);
}

/** Index key of a connection by its far end. */
export function remoteKey(protocol: TransportProtocol, host: string, port: number): string {
  return `${protocol}|${hostPort(host, port)}`;
}
