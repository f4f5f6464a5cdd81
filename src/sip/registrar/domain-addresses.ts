/**
 * Who "we" are: the domain name, its aliases and the addresses the domain listens on. Two questions
 * are asked of it: is this host one of ours (for an AOR in To or From), and does this URI point at
 * this very server (a Request-URI or Route value, RFC 3261 §16.4).
 */
import { networkInterfaces } from 'node:os';
import type { SipUri } from '../message/index.ts';
import type { TransportProtocol } from '../transport/index.ts';

export interface Listener {
  protocol: TransportProtocol;
  host: string;
  port: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

/** IPv6 without brackets, lower-cased, so addresses compare as strings. */
export function bareHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

export class DomainAddresses {
  readonly domain: string;
  private readonly names: Set<string>;
  private listeners: Listener[] = [];
  private hosts = new Set<string>();
  private ports = new Set<number>();
  private readonly advertised: string | undefined;

  constructor(domain: string, aliases: string[] = [], advertisedHost?: string) {
    this.domain = domain.toLowerCase();
    this.names = new Set([this.domain, ...aliases.map((a) => bareHost(a))]);
    this.advertised = advertisedHost;
    if (advertisedHost) this.hosts.add(bareHost(advertisedHost));
  }

  /** Called once the transports are bound. */
  setListeners(listeners: Listener[]): void {
    this.listeners = listeners;
    for (const l of listeners) {
      this.ports.add(l.port);
      const host = bareHost(l.host);
      if (WILDCARDS.has(host)) {
        // Bound to every interface: every local address is ours.
        for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) this.hosts.add(bareHost(a.address));
      } else this.hosts.add(host);
    }
  }

  /** The address to write in our Via sent-by and Record-Route for `protocol`. */
  sentBy(protocol: TransportProtocol): { host: string; port: number } | undefined {
    const l = this.listeners.find((x) => x.protocol === protocol);
    if (!l) return undefined;
    let host = this.advertised ?? l.host;
    if (WILDCARDS.has(bareHost(host))) host = bareHost(host) === '0.0.0.0' ? '127.0.0.1' : '::1';
    if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
    return { host, port: l.port };
  }

  /** Host names and addresses that our transports should accept as their own sent-by. */
  aliasesForTransport(): string[] {
    return [...this.names, ...(this.advertised ? [this.advertised] : [])];
  }

  /** A host of an AOR we serve: the domain, an alias, or one of our addresses (any port). */
  isOurHost(host: string): boolean {
    const h = bareHost(host);
    return this.names.has(h) || this.hosts.has(h);
  }

  /**
   * Whether `uri` names this server: the domain or an alias (any port), or one of our addresses
   * with one of our ports. An address without a port counts as ours too: a phone's contact on the
   * same host always carries its own port, so `sip:bob@127.0.0.1` can only mean us.
   */
  isUs(uri: SipUri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const h = bareHost(uri.host);
    if (this.names.has(h)) return true;
    if (!this.hosts.has(h)) return false;
    return uri.port === undefined || this.ports.has(uri.port);
  }

  /** Whether `uri` is a Route or Contact naming one of our own listeners exactly (host and port). */
  isOurListener(uri: SipUri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const h = bareHost(uri.host);
    const port = uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060);
    return this.hosts.has(h) && this.ports.has(port);
  }
}
