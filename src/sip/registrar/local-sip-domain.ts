/**
 * An embedded SIP domain: a registrar (RFC 3261 §10.3) and a small stateful proxy (§16) for the
 * users of one domain, with digest authentication, on transports of its own. The gateway's SipStack
 * uses it as outbound proxy exactly as it would a real SIP server, and SIP phones can register to it.
 *
 * Policy, in the order a request meets it:
 *   CANCEL → the proxy (§16.10). Route values naming us are removed (§16.4).
 *   REGISTER for us → the registrar (401 challenge, 403 on wrong credentials).
 *   OPTIONS for us (no user part) → 200 with Allow.
 *   Everything else is proxied: Max-Forwards (483), Proxy-Require (420), then a 407 challenge for
 *   out-of-dialog requests whose From is one of our users (never ACK, CANCEL, BYE), then
 *     - a remaining Route → forwarded along it;
 *     - `<user>@<domain or our address>` → every registered contact (404 unknown user, 480 none);
 *     - any other Request-URI → forwarded, if authenticated or in a dialog we record-routed.
 */
import { silentLogger, type SipLogger } from '../logger.ts';
import {
  createResponse,
  newTag,
  SipParseError,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.ts';
import { TransactionLayer, type ServerTransaction } from '../transaction/index.ts';
import { TransportSet, type TransportProtocol } from '../transport/index.ts';
import { DomainAuthenticator } from './authenticator.ts';
import { DomainAddresses } from './domain-addresses.ts';
import { LocalDomainError } from './errors.ts';
import { LocationService } from './location-service.ts';
import { Proxy, type Destination } from './proxy.ts';
import { Registrar } from './registrar.ts';
import type { BindingInfo, LocalDomainStats, LocalSipDomainOptions } from './types.ts';

/** Methods we serve or forward, for Allow in our own answers. */
export const DOMAIN_ALLOW = 'REGISTER, INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER';
/** Never challenged: they cannot be re-sent with credentials (ACK, CANCEL, §22.1) or end what exists (BYE). */
const NEVER_CHALLENGED = new Set(['ACK', 'CANCEL', 'BYE', 'REGISTER']);
/** Proxy-Require option tags we support: none (RFC 3261 §16.3 step 5). */
const PROXY_OPTIONS = new Set<string>();
/** setTimeout's limit, in seconds: a longer binding lifetime could not be timed. */
const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);
const SERVER = 'Portico local domain';

type State = 'new' | 'starting' | 'started' | 'closed';

export class LocalSipDomain {
  readonly domain: string;
  readonly realm: string;
  readonly transport: TransportSet;
  readonly transactions: TransactionLayer;
  private readonly log: SipLogger;
  private readonly addresses: DomainAddresses;
  private readonly auth: DomainAuthenticator;
  private readonly location: LocationService;
  private readonly registrar: Registrar;
  private readonly proxy: Proxy;
  private state: State = 'new';
  private closePromise: Promise<void> | undefined;

  constructor(opts: LocalSipDomainOptions) {
    if (!opts.domain || /[\s@;:/]/.test(opts.domain)) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `invalid domain "${opts.domain}"`);
    if (opts.listen.length === 0) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', 'nothing to listen on');
    this.domain = opts.domain.toLowerCase();
    this.realm = opts.realm ?? this.domain;
    this.log = (opts.logger ?? silentLogger).child({ component: 'local-domain', domain: this.domain });
    const limits = {
      minExpires: opts.minExpires ?? 60,
      maxExpires: Math.min(opts.maxExpires ?? 3600, MAX_TIMER_SECONDS),
      defaultExpires: opts.defaultExpires ?? 3600,
      maxContactsPerAor: opts.maxContactsPerAor ?? 10,
    };
    if (limits.minExpires < 1 || limits.maxExpires < limits.minExpires) {
      throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `minExpires ${limits.minExpires} / maxExpires ${limits.maxExpires} out of order`);
    }
    limits.defaultExpires = Math.min(Math.max(limits.defaultExpires, limits.minExpires), limits.maxExpires);

    this.addresses = new DomainAddresses(this.domain, opts.aliases, opts.advertisedHost);
    this.auth = new DomainAuthenticator(this.realm, opts.users, opts.algorithms ?? ['MD5'], opts.nonceSecret);
    this.location = new LocationService(this.domain);
    this.transport = new TransportSet({
      ...opts.transport,
      listen: opts.listen,
      logger: this.log,
      hostAliases: this.addresses.aliasesForTransport(),
    });
    this.transactions = new TransactionLayer(this.transport, { timers: opts.timers, logger: this.log });
    const respond = (tx: ServerTransaction, status: number, reason?: string, headers: Array<[string, string]> = []): void =>
      this.respond(tx, this.buildResponse(tx.request, status, reason, headers));
    this.registrar = new Registrar(this.addresses, this.auth, this.location, limits, respond, this.log);
    this.proxy = new Proxy({
      transport: this.transport,
      transactions: this.transactions,
      addresses: this.addresses,
      log: this.log,
      timerCMs: opts.timerCMs ?? 180_000,
      buildResponse: (req, status, reason, headers) => this.buildResponse(req, status, reason, headers),
      bindingFor: (uri) => this.bindingFor(uri),
    });
    this.transactions.onRequest((req, tx) => this.onRequest(req, tx));
    this.transactions.onAck((ack) => {
      this.proxy.forwardAck(ack).catch((err: unknown) => this.log.debug({ err, callId: ack.callId }, 'ACK not forwarded'));
    });
  }

  /** Binds the listeners. Rejects if a port is taken (the domain is then closed). */
  async start(): Promise<void> {
    if (this.state === 'closed') throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CLOSED', 'the local SIP domain is closed');
    if (this.state !== 'new') return;
    this.state = 'starting';
    try {
      await this.transport.start();
    } catch (err) {
      // A port was taken: leave nothing half-bound behind.
      await this.close();
      throw err;
    }
    this.addresses.setListeners(this.transport.listening());
    this.state = 'started';
    this.log.info({ listen: this.transport.listening(), users: this.auth.userNames.length }, 'local SIP domain listening');
  }

  /** Stops listening, ends every transaction and forgets every binding. Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.state = 'closed';
      this.proxy.close();
      this.location.close();
      await this.transactions.close();
      await this.transport.close();
    })();
    return this.closePromise;
  }

  /** The bound address of the first listener of `protocol`; undefined before start() and after close(). */
  local(protocol: TransportProtocol): { host: string; port: number } | undefined {
    if (this.state === 'closed') return undefined;
    return this.transport.local(protocol);
  }

  /**
   * The URI a SipStack should use as its outbound proxy to reach this domain over `protocol`,
   * e.g. `sip:127.0.0.1:5060` or `sip:127.0.0.1:5060;transport=tcp`.
   */
  proxyUri(protocol: TransportProtocol = 'udp'): string {
    if (this.state !== 'started') throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_NOT_STARTED', 'start() the local SIP domain first');
    const by = this.addresses.sentBy(protocol);
    if (!by) throw new LocalDomainError('SIP_ERR_LOCAL_DOMAIN_CONFIG', `no ${protocol} listener`);
    return `sip:${by.host}:${by.port}${protocol === 'udp' ? '' : `;transport=${protocol}`}`;
  }

  /** Current bindings, of one user or of all, with their remaining lifetimes. */
  bindings(user?: string): BindingInfo[] {
    return this.location.snapshot(user);
  }

  /** Counters for tests and metrics. */
  stats(): LocalDomainStats {
    return {
      users: this.auth.userNames.length,
      bindings: this.location.size,
      pending: this.proxy.pending,
      transactions: this.transactions.size,
      forwarded: Object.fromEntries(this.proxy.forwarded),
    };
  }

  /** The configured user names. */
  get users(): string[] {
    return this.auth.userNames;
  }

  // ---- requests -------------------------------------------------------------------------------

  private onRequest(original: SipRequest, tx: ServerTransaction): void {
    try {
      this.route(original, tx);
    } catch (err) {
      if (err instanceof SipParseError) return this.reply(tx, err.status, err.message);
      throw err; // the transaction layer logs it and answers 500
    }
  }

  private route(original: SipRequest, tx: ServerTransaction): void {
    if (original.method === 'CANCEL') return this.proxy.cancel(original, tx);
    // Work on a copy: the server transaction keeps the request as it arrived.
    const req = original.clone();
    if (req.uri.scheme !== 'sip' && req.uri.scheme !== 'sips') return this.reply(tx, 416); // §16.3 step 2
    const viaUs = this.proxy.preprocessRoutes(req);
    const routed = req.headers.has('Route');
    const forUs = !routed && this.addresses.isUs(req.uri);

    if (forUs && req.method === 'REGISTER') return this.registrar.handle(req, tx);
    if (forUs && !req.uri.user) {
      // Addressed to the server itself (RFC 3261 §11): capabilities; nothing else is served here
      if (req.method === 'OPTIONS') return this.reply(tx, 200, undefined, [['Allow', DOMAIN_ALLOW], ['Accept', 'application/sdp']]);
      return this.reply(tx, 404, 'No user in Request-URI');
    }

    // RFC 3261 §16.3: validation before proxying
    if (req.maxForwards === 0) return this.reply(tx, 483); // step 3
    const unsupported = req.headers.getAll('Proxy-Require').filter((o) => !PROXY_OPTIONS.has(o.trim().toLowerCase()));
    if (unsupported.length > 0) return this.reply(tx, 420, undefined, [['Unsupported', unsupported.join(', ')]]); // step 5

    // Step 6: our users prove who they are before we act for them (RFC 3261 §22.3)
    let authenticated = false;
    const fromUser = this.localUser(req.from.uri);
    if (fromUser !== undefined && !req.toTag && !NEVER_CHALLENGED.has(req.method)) {
      const outcome = this.auth.check(req, fromUser, 'proxy');
      if (outcome.kind === 'challenge') return this.reply(tx, outcome.status, undefined, outcome.values.map((v) => [outcome.header, v]));
      if (outcome.kind === 'forbidden') return this.reply(tx, 403, outcome.reason);
      if (outcome.kind === 'bad-request') return this.reply(tx, 400, outcome.reason);
      authenticated = true;
      this.auth.stripOwnCredentials(req);
    }
    // Out of a dialog, only our authenticated users may reach beyond this domain; in a dialog, only
    // along a route we recorded. Anything else would make us an open relay.
    const mayRelay = authenticated || (viaUs && req.toTag !== undefined);

    if (routed) {
      if (!mayRelay) return this.reply(tx, 403, 'Relaying denied');
      return this.forward(tx, req, [{}]);
    }
    if (forUs) return this.toUser(tx, req, req.uri.user!);
    if (!mayRelay) return this.reply(tx, 403, 'Relaying denied');
    this.forward(tx, req, [{ binding: this.bindingFor(req.uri) }]);
  }

  /** A request for `<user>@<us>`: every registered contact, in parallel (RFC 3261 §16.5). */
  private toUser(tx: ServerTransaction, req: SipRequest, user: string): void {
    if (!this.auth.has(user)) return this.reply(tx, 404);
    const bindings = this.location.lookup(user);
    if (bindings.length === 0) return this.reply(tx, 480, 'Not registered');
    this.forward(
      tx,
      req,
      bindings.map((b): Destination => ({ uri: b.uri, binding: b })),
    );
  }

  private forward(tx: ServerTransaction, req: SipRequest, destinations: Destination[]): void {
    this.proxy.forward(tx, req, destinations).catch((err: unknown) => {
      this.log.error({ err, callId: req.callId }, 'forwarding failed');
      this.reply(tx, 500);
    });
  }

  /** The user an AOR in From names, when it is one of ours (host: the domain, an alias or our address). */
  private localUser(uri: SipUri): string | undefined {
    if ((uri.scheme !== 'sip' && uri.scheme !== 'sips') || !uri.user) return undefined;
    if (!this.addresses.isOurHost(uri.host) || !this.auth.has(uri.user)) return undefined;
    return uri.user;
  }

  private bindingFor(uri: SipUri) {
    return this.location.findContact(uri);
  }

  // ---- responses ------------------------------------------------------------------------------

  /** A response of ours: To tag on anything but 100 (RFC 3261 §8.2.6.2), Server header. */
  private buildResponse(req: SipRequest, status: number, reason?: string, headers: Array<[string, string]> = []): SipResponse {
    return createResponse(req, status, reason, {
      toTag: status > 100 && req.toTag === undefined ? newTag() : undefined,
      headers: [['Server', SERVER], ...headers],
    });
  }

  private reply(tx: ServerTransaction, status: number, reason?: string, headers: Array<[string, string]> = []): void {
    this.respond(tx, this.buildResponse(tx.request, status, reason, headers));
  }

  private respond(tx: ServerTransaction, res: SipResponse): void {
    try {
      tx.respond(res);
    } catch (err) {
      this.log.debug({ err, status: res.status }, 'could not respond');
    }
  }
}
