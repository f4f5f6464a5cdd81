import type { DigestAlgorithm } from '../auth/index.ts';
import type { SipLogger } from '../logger.ts';
import type { TimerConfig } from '../transaction/index.ts';
import type { ListenSpec, TransportProtocol, TransportSetOptions } from '../transport/index.ts';

/** A user of the domain: its name (the user part of its AOR) and a password or an HA1. */
export interface DomainUser {
  name: string;
  password?: string;
  /**
   * H(name:realm:password) instead of the password: 32 hex digits for MD5, 64 for SHA-256.
   * Such a user is only challenged with the algorithm its HA1 fits.
   */
  ha1?: string;
}

export interface LocalSipDomainOptions {
  /** The domain served, e.g. `portico.local`: AORs are `sip:<user>@<domain>`. */
  domain: string;
  users: DomainUser[];
  /** Sockets to listen on (UDP and TCP on 127.0.0.1:5060 for a newcomer). */
  listen: ListenSpec[];
  /** T1/T2/T4 for this instance (RFC 3261 §17); defaults 500/4000/5000 ms. */
  timers?: Partial<TimerConfig>;
  logger?: SipLogger;
  /** Digest realm (RFC 3261 §22.1); the domain when absent. */
  realm?: string;
  /** Digest algorithms offered, most preferred first (RFC 8760). Default `['MD5']`, see README. */
  algorithms?: DigestAlgorithm[];
  /** Other names of this domain accepted in AORs and Request-URIs (e.g. `localhost`). */
  aliases?: string[];
  /**
   * The address written in our Via and Record-Route when a listener is bound to a wildcard
   * (`0.0.0.0`, `::`). Default: the listener's address, or 127.0.0.1 for a wildcard.
   */
  advertisedHost?: string;
  /** Shortest binding accepted, seconds (RFC 3261 §10.3 step 7: 423 below it). Default 60. */
  minExpires?: number;
  /** Longest binding granted, seconds; longer requests are shortened. Default 3600. */
  maxExpires?: number;
  /** Lifetime when the REGISTER names none, seconds. Default 3600. */
  defaultExpires?: number;
  /** Most contacts one AOR may hold; a REGISTER adding more gets 403. Default 10. */
  maxContactsPerAor?: number;
  /**
   * Timer C of a forwarded INVITE (RFC 3261 §16.6 step 11, §16.8): a branch with no new
   * provisional response for this long is cancelled. Default 180000 ms (must exceed 3 minutes
   * on real networks; tests shrink it).
   */
  timerCMs?: number;
  /** Key for digest nonces; random per instance when absent. */
  nonceSecret?: string | Buffer;
  /** Passed to the transport set (message size limit, keep-alives, idle timeout). */
  transport?: Omit<TransportSetOptions, 'listen' | 'logger' | 'hostAliases'>;
}

/** One registered contact of an AOR, as `bindings()` reports it. */
export interface BindingInfo {
  /** The user (AOR user part). */
  user: string;
  /** `sip:<user>@<domain>`. */
  aor: string;
  /** The Contact URI as registered. */
  contact: string;
  /** Seconds left before it expires. */
  expires: number;
  /** When it expires, ms since the epoch. */
  expiresAt: number;
  callId: string;
  cseq: number;
  /** `q` parameter of the Contact, if given (RFC 3261 §20.10). */
  q?: number;
  /** `+sip.instance` of the Contact, if given (RFC 5626). */
  instance?: string;
  /** How the REGISTER arrived, e.g. `udp:127.0.0.1:5070`. */
  source: string;
  protocol: TransportProtocol;
}

/** What `LocalSipDomain.stats()` reports. */
export interface LocalDomainStats {
  /** Users configured. */
  users: number;
  /** Bindings held, over all users. */
  bindings: number;
  /** Requests being proxied (response contexts open). */
  pending: number;
  /** Live transactions, client and server. */
  transactions: number;
  /** Requests sent downstream since start, per method: one per branch, ACKs for 2xx included. */
  forwarded: Record<string, number>;
}
