/**
 * The SIP stack as its users see it: one shared transport set and transaction layer for every
 * account, the dialogs they own, and the routing of each incoming request to the user or dialog it
 * belongs to (by dialog id, then Request-URI), never by a socket per user.
 */
import type { SipLogger } from '../logger.ts';
import { silentLogger } from '../logger.ts';
import {
  createResponse,
  formatUri,
  newTag,
  parseUri,
  uriEquals,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.ts';
import {
  TransactionLayer,
  TransactionTimeoutError,
  type ClientTransaction,
  type ClientTransactionUser,
  type ServerTransaction,
  type TimerConfig,
} from '../transaction/index.ts';
import {
  TransportError,
  TransportSet,
  type Flow,
  type ListenSpec,
  type SendTarget,
  type TransportProtocol,
  type TransportSetOptions,
} from '../transport/index.ts';
import { dialogKey } from '../dialog/index.ts';
import { DigestClient, type DigestCredentialsSource } from '../auth/index.ts';
import { ClosedError, UaError } from './errors.ts';
import { SipUser, type SipUserOptions } from './sip-user.ts';

/** Methods this stack implements as a user agent (RFC 3261 §8.2.1 answers others with 405 or 501). */
export const SUPPORTED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'MESSAGE', 'INFO'] as const;
/** Methods we know but do not serve as a UA: 405 with Allow rather than 501. */
const KNOWN_METHODS = new Set([...SUPPORTED_METHODS, 'REGISTER', 'PRACK', 'UPDATE', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'REFER']);
export const ALLOW = SUPPORTED_METHODS.join(', ');

export interface SipStackOptions {
  listen: ListenSpec[];
  timers?: Partial<TimerConfig>;
  logger?: SipLogger;
  /**
   * Every out-of-dialog request is sent here first, with the proxy as a pre-loaded loose route
   * (RFC 3261 §8.1.2), e.g. `sip:proxy.example.com;transport=tcp`.
   */
  outboundProxy?: string;
  /** User-Agent / Server header value. */
  userAgent?: string;
  /** Passed to the transport set (message size limit, keep-alives, TLS client settings, DNS). */
  transport?: Omit<TransportSetOptions, 'listen' | 'logger'>;
  /** How long `close()` waits for un-REGISTERs, BYEs and CANCELs to be answered (default 2000 ms). */
  closeTimeoutMs?: number;
}

/** Something that owns a dialog and takes the requests and ACKs sent within it. */
export interface DialogOwner {
  onDialogRequest(req: SipRequest, tx: ServerTransaction): void;
  onDialogAck(ack: SipRequest, flow: Flow): void;
  /** A 2xx that matched no transaction: a retransmission or another fork (RFC 3261 §13.2.2.4). */
  onStray2xx?(res: SipResponse): void;
}

export interface RequestOptions {
  /** Answer 401/407 challenges with these credentials (RFC 3261 §22.2). */
  credentials?: DigestCredentialsSource;
  /** Keeps nonce counts across requests; one per user. */
  digest?: DigestClient;
  onProvisional?: (res: SipResponse) => void;
  /** Send here instead of resolving the next hop. */
  target?: SendTarget;
}

export class SipStack {
  readonly transport: TransportSet;
  readonly transactions: TransactionLayer;
  readonly logger: SipLogger;
  readonly userAgent: string;
  readonly outboundProxy: SipUri | undefined;
  private readonly users = new Set<SipUser>();
  private readonly dialogs = new Map<string, DialogOwner>();
  /** INVITE client sessions by Call-ID, for 2xx that arrive after their transaction ended. */
  private readonly inviteClients = new Map<string, DialogOwner>();
  private started = false;
  /** start() has bound every listener. */
  private bound = false;
  private closed = false;
  private readonly closeTimeoutMs: number;
  /** Our Contact URI per transport without its user part, built once the transports are bound. */
  private readonly contactTemplates = new Map<TransportProtocol, { uri: SipUri; text: string }>();
  /** The last URI text `assertUri` accepted: most registrations of a stack name one registrar. */
  private lastValidUri: string | undefined;

  constructor(opts: SipStackOptions) {
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
    this.logger = opts.logger ?? silentLogger;
    this.userAgent = opts.userAgent ?? 'Portico';
    this.outboundProxy = opts.outboundProxy ? withLr(parseUri(opts.outboundProxy)) : undefined;
    this.transport = new TransportSet({ ...opts.transport, listen: opts.listen, logger: this.logger });
    this.transactions = new TransactionLayer(this.transport, { timers: opts.timers, logger: this.logger });
    this.transactions.onRequest((req, tx) => this.onRequest(req, tx));
    this.transactions.onAck((ack, flow) => this.onAck(ack, flow));
    this.transactions.onStrayResponse((res) => this.onStrayResponse(res));
  }

  async start(): Promise<void> {
    if (this.closed) throw new ClosedError('SipStack');
    if (this.started) return;
    this.started = true;
    await this.transport.start();
    this.bound = true;
  }

  /** Ends every user (un-REGISTER, BYE/CANCEL within a bounded time), then the layers below. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.closeTimeoutMs)));
    await Promise.race([Promise.allSettled([...this.users].map((u) => u.close())), deadline]);
    clearTimeout(timer);
    await this.transactions.close();
    await this.transport.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get timers(): TimerConfig {
    return this.transactions.timerConfig;
  }

  /** A user (account): an AOR with credentials and a Contact of its own on the shared transports. */
  createUser(opts: SipUserOptions): SipUser {
    if (this.closed) throw new ClosedError('SipStack');
    const user = new SipUser(this, opts);
    this.users.add(user);
    return user;
  }

  /** @internal */
  forgetUser(user: SipUser): void {
    this.users.delete(user);
  }

  /** @internal */
  addDialog(key: string, owner: DialogOwner): void {
    this.dialogs.set(key, owner);
  }

  /** @internal */
  removeDialog(key: string): void {
    this.dialogs.delete(key);
  }

  /** @internal */
  addInviteClient(callId: string, owner: DialogOwner): void {
    this.inviteClients.set(callId, owner);
  }

  /** @internal */
  removeInviteClient(callId: string): void {
    this.inviteClients.delete(callId);
  }

  get dialogCount(): number {
    return this.dialogs.size;
  }

  /** The transport a request to `uri` will use, before DNS: `;transport=`, sips: → TLS, else UDP. */
  protocolFor(uri: SipUri): TransportProtocol {
    const t = uri.params.get('transport');
    if (t) {
      const p = t.toLowerCase();
      if (p === 'udp' || p === 'tcp' || p === 'tls' || p === 'ws' || p === 'wss') return p;
    }
    return uri.scheme === 'sips' ? 'tls' : 'udp';
  }

  /** Our Contact for `user` on `protocol` (RFC 3261 §8.1.1.8): the bound address of that transport. */
  contactFor(contactUser: string, protocol: TransportProtocol): NameAddr {
    const local = this.transport.local(protocol) ?? this.transport.local('udp') ?? this.transport.local('tcp');
    if (!local) throw new UaError('SIP_ERR_UA_NO_ROUTE', `no ${protocol} transport is listening`);
    const params = new Map<string, string | null>();
    if (protocol !== 'udp') params.set('transport', protocol);
    const uri: SipUri = {
      scheme: protocol === 'tls' || protocol === 'wss' ? 'sips' : 'sip',
      user: contactUser,
      host: local.host.includes(':') && !local.host.startsWith('[') ? `[${local.host}]` : local.host,
      port: local.port,
      params,
      headers: new Map(),
    };
    return { uri, params: new Map() };
  }

  /** @internal `formatNameAddr(contactFor(contactUser, protocol))`, from cached text. */
  contactText(contactUser: string, protocol: TransportProtocol): string {
    const t = this.contactTemplate(protocol);
    return `<${t.uri.scheme}:${contactUser}@${t.text}>`;
  }

  /** @internal Whether `uri` equals our Contact URI for `contactUser` (RFC 3261 §19.1.4). */
  isOurContact(uri: SipUri, contactUser: string, protocol: TransportProtocol): boolean {
    // The template's maps are never handed out, so sharing them here is safe.
    const t = this.contactTemplate(protocol).uri;
    return uriEquals(uri, { scheme: t.scheme, user: contactUser, host: t.host, port: t.port, params: t.params, headers: t.headers });
  }

  private contactTemplate(protocol: TransportProtocol): { uri: SipUri; text: string } {
    let t = this.contactTemplates.get(protocol);
    if (!t) {
      const full = this.contactFor('u', protocol).uri;
      const uri: SipUri = { scheme: full.scheme, host: full.host, port: full.port, params: full.params, headers: full.headers };
      // host[:port][;params] as formatUri writes them after "scheme:".
      t = { uri, text: formatUri(uri).slice(uri.scheme.length + 1) };
      // Listeners are bound once, so a template made after start() stays right.
      if (this.bound) this.contactTemplates.set(protocol, t);
    }
    return t;
  }

  /** @internal Throws `SipParseError` unless `text` is a URI; a repeat of the last good one is not parsed again. */
  assertUri(text: string): void {
    if (text === this.lastValidUri) return;
    parseUri(text);
    this.lastValidUri = text;
  }

  /**
   * The first target for an out-of-dialog request (pre-loading the outbound proxy route) or an
   * in-dialog one (its route set is already in Route): the top Route, else the Request-URI,
   * resolved per RFC 3263.
   */
  targetsFor(req: SipRequest): Promise<SendTarget[]> {
    let next: SipUri;
    try {
      const route = req.headers.has('Route') ? req.routes()[0] : undefined;
      next = route ? route.uri : req.uri;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.transport.resolve(next).then((targets) => {
      if (targets.length === 0) throw new UaError('SIP_ERR_UA_NO_ROUTE', `no address for ${formatUri(next)}`);
      return targets;
    });
  }

  /** Adds the outbound proxy as a loose route to an out-of-dialog request that has no Route yet. */
  preloadRoute(req: SipRequest): void {
    if (this.outboundProxy && !req.headers.has('Route')) req.headers.prepend('Route', `<${formatUri(this.outboundProxy)}>`);
  }

  /** Adds the headers every request we originate carries. */
  decorate(req: SipRequest): void {
    if (!req.headers.has('Max-Forwards')) req.headers.set('Max-Forwards', '70');
    if (!req.headers.has('User-Agent')) req.headers.set('User-Agent', this.userAgent);
  }

  /**
   * Sends a non-INVITE request and resolves with its final response, answering one round of
   * 401/407 challenges when credentials are given and failing over to the next resolved target
   * on a transport error (RFC 3263 §4.3). Rejects with `TransactionTimeoutError` (treat as 408)
   * or `TransportError` (treat as 503).
   */
  request(req: SipRequest, opts: RequestOptions = {}): Promise<SipResponse> {
    if (this.closed) return Promise.reject(new ClosedError('SipStack'));
    this.decorate(req);
    let first: Promise<SipResponse>;
    try {
      first = this.requestOnce(req, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    // Without credentials a challenge is a final answer like any other: no extra step.
    return opts.credentials ? first.then((res) => this.answerChallenges(req, res, opts)) : first;
  }

  /** Re-sends with credentials after a 401/407, up to two rounds (RFC 3261 §22.2). */
  private async answerChallenges(req: SipRequest, res: SipResponse, opts: RequestOptions): Promise<SipResponse> {
    let current = req;
    for (let round = 0; (res.status === 401 || res.status === 407) && opts.credentials && round < 2; round++) {
      const digest = opts.digest ?? new DigestClient();
      const retry = digest.authorize(current, res, opts.credentials);
      if (!retry) break;
      current = retry;
      res = await this.requestOnce(current, opts);
    }
    return res;
  }

  /** One attempt per resolved target, in order, moving on only after a transport error. */
  private requestOnce(req: SipRequest, opts: RequestOptions): Promise<SipResponse> {
    if (opts.target) return this.tryTargets(req, [opts.target], 0, opts.onProvisional);
    return this.targetsFor(req).then((targets) => this.tryTargets(req, targets, 0, opts.onProvisional));
  }

  private tryTargets(req: SipRequest, targets: SendTarget[], i: number, onProvisional?: (res: SipResponse) => void): Promise<SipResponse> {
    const attempt = this.transact(req.headers.has('Via') ? req.clone() : req, targets[i]!, onProvisional);
    if (i + 1 >= targets.length) return attempt;
    return attempt.catch((err: unknown) => {
      if (!(err instanceof TransportError)) throw err;
      // Try the next address; a fresh copy without the Via of the failed attempt.
      const fresh = req.clone();
      fresh.headers.delete('Via');
      return this.tryTargets(fresh, targets, i + 1, onProvisional);
    });
  }

  private transact(req: SipRequest, target: SendTarget, onProvisional?: (res: SipResponse) => void): Promise<SipResponse> {
    return new Promise((resolve, reject) => {
      this.transactions.sendRequest(req, target, new PendingRequest(resolve, reject, onProvisional));
    });
  }

  /** Starts an INVITE client transaction; the caller handles every response (see `OutgoingCall`). */
  sendInvite(req: SipRequest, target: SendTarget, user: ClientTransactionUser): ClientTransaction {
    if (this.closed) throw new ClosedError('SipStack');
    this.decorate(req);
    return this.transactions.sendRequest(req, target, user);
  }

  // ---- incoming -------------------------------------------------------------------------------

  private onRequest(req: SipRequest, tx: ServerTransaction): void {
    try {
      this.dispatch(req, tx);
    } catch (err) {
      this.logger.error({ err, method: req.method, callId: req.callId }, 'request handler failed');
      this.tryRespond(tx, 500, 'Server Internal Error');
    }
  }

  private dispatch(req: SipRequest, tx: ServerTransaction): void {
    // Method inspection first (RFC 3261 §8.2.1).
    if (!SUPPORTED_METHODS.includes(req.method as (typeof SUPPORTED_METHODS)[number])) {
      if (KNOWN_METHODS.has(req.method)) this.respond(tx, 405, undefined, [['Allow', ALLOW]]);
      else this.respond(tx, 501, undefined, [['Allow', ALLOW]]);
      return;
    }
    // We support no option tags: any Require gets 420 listing them as Unsupported (§8.2.2.3).
    const required = req.headers.getAll('Require');
    if (required.length > 0 && req.method !== 'CANCEL') {
      this.respond(tx, 420, undefined, [['Unsupported', required.join(', ')]]);
      return;
    }
    if (req.uri.scheme !== 'sip' && req.uri.scheme !== 'sips') {
      this.respond(tx, 416); // §8.2.2.1
      return;
    }
    if (req.method === 'CANCEL') return this.onCancel(req, tx);

    const toTag = req.toTag;
    const fromTag = req.fromTag;
    if (toTag) {
      const owner = fromTag ? this.dialogs.get(dialogKey(req.callId, toTag, fromTag)) : undefined;
      if (owner) owner.onDialogRequest(req, tx);
      else this.respond(tx, 481); // §12.2.2
      return;
    }
    const user = this.route(req.uri);
    if (user) {
      user.onRequest(req, tx);
      return;
    }
    if (req.method === 'OPTIONS') {
      this.respond(tx, 200, undefined, this.capabilityHeaders());
      return;
    }
    this.respond(tx, 404);
  }

  /** The user a Request-URI names: our Contact user first, then the AOR (user and host). */
  route(uri: SipUri): SipUser | undefined {
    if (!uri.user) return undefined;
    let byAor: SipUser | undefined;
    for (const user of this.users) {
      if (user.contactUser === uri.user) return user;
      if (!byAor && user.aorUser === uri.user && (user.aorHost === uri.host.toLowerCase() || this.isLocalHost(uri))) {
        byAor = user;
      }
    }
    return byAor;
  }

  private isLocalHost(uri: SipUri): boolean {
    for (const p of ['udp', 'tcp', 'tls', 'ws', 'wss'] as const) {
      const l = this.transport.local(p);
      if (l && l.host === uri.host.replace(/^\[|\]$/g, '')) return true;
    }
    return false;
  }

  /** CANCEL: 200 for the CANCEL itself, then the INVITE it cancels ends with 487 (RFC 3261 §9.2). */
  private onCancel(req: SipRequest, tx: ServerTransaction): void {
    const invite = this.transactions.findInviteServerTransaction(req);
    if (!invite) {
      this.respond(tx, 481);
      return;
    }
    this.respond(tx, 200);
    const user = this.route(invite.request.uri);
    user?.onCancel(invite);
  }

  private onAck(ack: SipRequest, flow: Flow): void {
    const toTag = ack.toTag;
    const fromTag = ack.fromTag;
    if (!toTag || !fromTag) return;
    this.dialogs.get(dialogKey(ack.callId, toTag, fromTag))?.onDialogAck(ack, flow);
  }

  private onStrayResponse(res: SipResponse): void {
    if (res.cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const fromTag = res.fromTag;
    const toTag = res.toTag;
    const owner =
      (fromTag && toTag ? this.dialogs.get(dialogKey(res.callId, fromTag, toTag)) : undefined) ?? this.inviteClients.get(res.callId);
    owner?.onStray2xx?.(res);
  }

  /** Allow/Accept/Supported as an OPTIONS answer carries them (RFC 3261 §11.2). */
  capabilityHeaders(): Array<[string, string]> {
    return [
      ['Allow', ALLOW],
      ['Accept', 'application/sdp, text/plain, message/cpim, application/dtmf-relay'],
      ['Accept-Language', 'en'],
    ];
  }

  /** Builds and sends a response through `tx`, with a To tag on anything but 100 (RFC 3261 §8.2.6.2). */
  respond(
    tx: ServerTransaction,
    status: number,
    reason?: string,
    headers: Array<[string, string]> = [],
    opts: { toTag?: string; body?: Buffer | string; contentType?: string } = {},
  ): SipResponse {
    const res = this.buildResponse(tx.request, status, reason, headers, opts);
    tx.respond(res);
    return res;
  }

  /** A response to `req` with our Server header and a To tag on anything but 100. */
  buildResponse(
    req: SipRequest,
    status: number,
    reason?: string,
    headers: Array<[string, string]> = [],
    opts: { toTag?: string; body?: Buffer | string; contentType?: string } = {},
  ): SipResponse {
    const toTag = status === 100 ? undefined : (req.toTag ?? opts.toTag ?? newTag());
    const res = createResponse(req, status, reason, {
      toTag,
      headers: [['Server', this.userAgent], ...headers],
      body: opts.body,
      contentType: opts.contentType,
    });
    // A response that can establish a dialog carries the request's Record-Route, so the caller
    // routes its in-dialog requests through the same proxies (RFC 3261 §12.1.1).
    if (req.method === 'INVITE' && status > 100 && status < 300 && !req.toTag) {
      for (const rr of req.headers.getAll('Record-Route')) res.headers.append('Record-Route', rr);
    }
    return res;
  }

  /** `respond` for paths where the transaction may already have answered. */
  tryRespond(tx: ServerTransaction, status: number, reason?: string): void {
    try {
      this.respond(tx, status, reason);
    } catch (err) {
      this.logger.debug({ err, status }, 'could not respond');
    }
  }
}

/** Maps a failure of `request()` to the status it stands for (RFC 3261 §8.1.3.1). */
export function failureStatus(err: unknown): { status: number; reason: string } {
  if (err instanceof TransactionTimeoutError) return { status: 408, reason: 'Request Timeout' };
  if (err instanceof TransportError) return { status: 503, reason: `Service Unavailable (${err.message})` };
  if (err instanceof UaError && err.status) return { status: err.status, reason: err.message };
  return { status: 500, reason: err instanceof Error ? err.message : String(err) };
}

/** The TU of one `request()` transaction: settles its promise. One object, no closures. */
class PendingRequest implements ClientTransactionUser {
  constructor(
    private readonly resolve: (res: SipResponse) => void,
    private readonly reject: (err: unknown) => void,
    private readonly onProvisional: ((res: SipResponse) => void) | undefined,
  ) {}

  onResponse(res: SipResponse): void {
    if (res.status < 200) this.onProvisional?.(res);
    else this.resolve(res);
  }

  onTimeout(_tx: ClientTransaction, err: TransactionTimeoutError): void {
    this.reject(err);
  }

  onTransportError(err: TransportError): void {
    this.reject(err);
  }
}

function withLr(uri: SipUri): SipUri {
  if (!uri.params.has('lr')) uri.params.set('lr', null);
  return uri;
}
