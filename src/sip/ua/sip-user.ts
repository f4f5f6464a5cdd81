/**
 * One SIP identity on the shared stack: an AOR, credentials, and a Contact whose user part is
 * unique to it, so requests sent to that Contact find it (RFC 3261 §8.1.1.8, §10.2.1). Two users
 * with the same AOR are two devices with two registrations.
 */
import { DigestClient, type DigestCredentialsSource } from '../auth/index.ts';
import {
  createRequest,
  formatUri,
  newCallId,
  newTag,
  parseUri,
  quote,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.ts';
import type { ServerTransaction } from '../transaction/index.ts';
import type { TransportProtocol } from '../transport/index.ts';
import { TypedEmitter } from './emitter.ts';
import { ClosedError } from './errors.ts';
import { IncomingCall } from './incoming-call.ts';
import { IncomingMessage } from './incoming-message.ts';
import { OutgoingCall, type OutgoingCallOptions } from './outgoing-call.ts';
import { Registration, type RegistrationOptions } from './registration.ts';
import type { SipStack } from './sip-stack.ts';

export interface SipUserCredentials {
  /** Authentication user name; the AOR's user part when absent. */
  username?: string;
  password?: string;
  /** H(username:realm:password) instead of the password. */
  ha1?: string;
  /** Answer challenges of this realm only. */
  realm?: string;
}

export interface SipUserOptions {
  /** Address of record, e.g. `sip:alice@example.com`. */
  aor: string;
  displayName?: string;
  credentials?: SipUserCredentials;
  /** User part of our Contact. Unique per user; random when absent. */
  contactUser?: string;
  /** Transport for our Contact and requests without `;transport=`; from the outbound proxy or UDP when absent. */
  transport?: TransportProtocol;
}

export interface SipUserEvents extends Record<string, unknown[]> {
  /** A new incoming INVITE; answer with `progress` / `accept` / `reject`. */
  invite: [IncomingCall];
  /** An incoming MESSAGE (RFC 3428); 200 is sent unless a listener answers or defers. */
  message: [IncomingMessage];
}

export class SipUser extends TypedEmitter<SipUserEvents> {
  readonly stack: SipStack;
  /** The AOR as given; `aor` parses it when a request needs it (a parsed URI costs ~0.5 KB to keep). */
  readonly aorText: string;
  /** User and host of the AOR, kept for routing incoming requests. */
  readonly aorUser: string;
  readonly aorHost: string;
  readonly displayName: string | undefined;
  readonly contactUser: string;
  readonly protocol: TransportProtocol;
  readonly credentials: DigestCredentialsSource | undefined;
  /** The AOR as From and To write it (`formatUri`); the very string `aorText` when that is already its form. */
  private readonly aorUri: string;
  // Created on first use: most users of a busy gateway only ever register, once.
  private digestClient: DigestClient | undefined;
  private registrations: Registration | Set<Registration> | undefined;
  private calls: Set<OutgoingCall | IncomingCall> | undefined;
  private closed = false;

  constructor(stack: SipStack, opts: SipUserOptions) {
    super();
    this.stack = stack;
    const aor = parseUri(opts.aor);
    this.aorText = opts.aor;
    const formatted = formatUri(aor);
    this.aorUri = formatted === opts.aor ? opts.aor : formatted;
    this.aorUser = aor.user ?? '';
    this.aorHost = aor.host.toLowerCase();
    this.displayName = opts.displayName;
    this.contactUser = opts.contactUser ?? `${aor.user ?? 'u'}-${newTag()}`;
    this.protocol = opts.transport ?? (stack.outboundProxy ? stack.protocolFor(stack.outboundProxy) : 'udp');
    if (opts.credentials) {
      const { username, password, ha1, realm } = opts.credentials;
      this.credentials = { username: username ?? aor.user ?? '', password, ha1, realm };
    }
  }

  /** The address of record, parsed afresh (callers may modify it). */
  get aor(): SipUri {
    return parseUri(this.aorText);
  }

  /** Keeps nonce counts per realm across this user's requests (RFC 7616 §3.4). */
  get digest(): DigestClient {
    return (this.digestClient ??= new DigestClient());
  }

  protected override onListenerError(err: unknown, event: string): void {
    this.stack.logger.error({ err, event, aor: this.aorText }, 'listener failed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Our Contact, on the transport this user speaks. */
  contact(): NameAddr {
    return this.stack.contactFor(this.contactUser, this.protocol);
  }

  /** From header value for requests this user originates. */
  fromHeader(): NameAddr {
    return { displayName: this.displayName, uri: this.aor, params: new Map([['tag', newTag()]]) };
  }

  /** A new REGISTER binding for this user's Contact; call `register()` on it. */
  registration(opts: RegistrationOptions = {}): Registration {
    this.assertOpen();
    const reg = new Registration(this, opts);
    const known = this.registrations;
    // One binding is the rule; a Set only for the users that hold several.
    if (known === undefined) this.registrations = reg;
    else if (known instanceof Set) known.add(reg);
    else this.registrations = new Set([known, reg]);
    return reg;
  }

  /** Places a call: INVITE with `opts.sdp` to `target`. */
  call(target: string, opts: OutgoingCallOptions = {}): OutgoingCall {
    this.assertOpen();
    const call = new OutgoingCall(this, parseUri(target), opts);
    this.track(call);
    call.start();
    return call;
  }

  /** Sends a MESSAGE (RFC 3428) and resolves with the final response. */
  async message(target: string, body: string | Buffer, contentType = 'text/plain'): Promise<SipResponse> {
    return this.stack.request(this.outOfDialog('MESSAGE', target, body, contentType), this.requestOptions());
  }

  /** Sends an out-of-dialog OPTIONS (RFC 3261 §11) and resolves with the final response. */
  async options(target: string): Promise<SipResponse> {
    const req = this.outOfDialog('OPTIONS', target);
    req.headers.set('Accept', 'application/sdp');
    return this.stack.request(req, this.requestOptions());
  }

  /** Unregisters every binding and ends every call, in parallel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([
      ...[...(this.calls ?? [])].map((c) => c.terminate('closed')),
      ...this.registrationList().map((r) => r.close()),
    ]);
    this.removeAllListeners();
    this.stack.forgetUser(this);
  }

  // ---- used by the stack and sessions ---------------------------------------------------------

  /** @internal A registration closed: forget it. */
  registrationClosed(reg: Registration): void {
    const known = this.registrations;
    if (known === reg) this.registrations = undefined;
    else if (known instanceof Set) known.delete(reg);
  }

  /** @internal Options for `stack.request`: a digest client only for a user that can answer challenges. */
  requestOptions() {
    return { credentials: this.credentials, digest: this.credentials ? this.digest : undefined };
  }

  /**
   * @internal The name-addr of our AOR as From and To carry it, `"Display" <sip:aor>` (what
   * `formatNameAddr` writes), built from text: no URI to parse per request.
   */
  addressText(): string {
    return this.displayName === undefined ? `<${this.aorUri}>` : `${quote(this.displayName)} <${this.aorUri}>`;
  }

  /** @internal Our Contact as header text (what `formatNameAddr(this.contact())` writes). */
  contactText(): string {
    return this.stack.contactText(this.contactUser, this.protocol);
  }

  /** @internal Whether `uri` is our Contact URI (RFC 3261 §19.1.4 comparison). */
  isOurContact(uri: SipUri): boolean {
    return this.stack.isOurContact(uri, this.contactUser, this.protocol);
  }

  private registrationList(): Registration[] {
    const known = this.registrations;
    return known === undefined ? [] : known instanceof Set ? [...known] : [known];
  }

  /** @internal A request outside any dialog, from this user's AOR, routed via the outbound proxy. */
  outOfDialog(method: string, target: string | SipUri, body?: string | Buffer, contentType?: string): SipRequest {
    const uri = typeof target === 'string' ? parseUri(target) : target;
    const req = createRequest({
      method,
      uri,
      from: this.fromHeader(),
      to: { uri, params: new Map() },
      callId: newCallId(),
      cseq: 1,
      body,
      contentType,
    });
    this.stack.preloadRoute(req);
    return req;
  }

  /** @internal A new out-of-dialog request from the stack, routed to this user. */
  onRequest(req: SipRequest, tx: ServerTransaction): void {
    switch (req.method) {
      case 'INVITE': {
        if (this.closed) return void this.stack.respond(tx, 480);
        const call = new IncomingCall(this, req, tx);
        this.track(call);
        // Nobody to ring: temporarily unavailable (RFC 3261 §21.4.18).
        if (this.listenerCount('invite') === 0) return call.reject(480);
        this.emit('invite', call);
        return;
      }
      case 'MESSAGE': {
        const msg = new IncomingMessage(this.stack, req, tx);
        this.emit('message', msg);
        msg.settle();
        return;
      }
      case 'OPTIONS':
        this.stack.respond(tx, 200, undefined, this.stack.capabilityHeaders());
        return;
      default:
        // BYE, INFO outside a dialog match nothing (RFC 3261 §15.1.2).
        this.stack.respond(tx, 481);
    }
  }

  /** @internal CANCEL of an INVITE routed to this user. */
  onCancel(invite: ServerTransaction): void {
    for (const call of this.calls ?? []) if (call instanceof IncomingCall && call.transaction === invite) call.cancelled();
  }

  private track(call: OutgoingCall | IncomingCall): void {
    const calls = (this.calls ??= new Set());
    calls.add(call);
    call.on('ended', () => calls.delete(call));
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('SipUser');
  }
}
