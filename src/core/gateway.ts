/**
 * The gateway: the root of the ownership tree. It owns the shared SIP stack (one transport set for
 * every account), the local SIP domain when one stands in for a SIP network, and every connection
 * a door opens; closing it closes them all within a bounded time (un-REGISTER, BYE/CANCEL), then
 * the stack.
 */
import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { SipStack, type IncomingMessage, type SipStackOptions } from '../sip/ua/index.ts';
import type { Account } from './account.ts';
import type { Call, CallStateName } from './call.ts';
import { Connection } from './connection.ts';
import { CoreEmitter, type LogLevel } from './core-emitter.ts';
import { identityMediaPort, type MediaPort } from './media-port.ts';
import { allowAllPolicy, type PolicyPort } from './policy.ts';
import { CoreError, type Aor, type RegistrationStateName } from './types.ts';

/** What the gateway reports to monitoring (metrics, ladder diagrams); every method optional. */
export interface GatewayObserver {
  connectionOpened?(conn: Connection): void;
  connectionClosed?(conn: Connection): void;
  accountAdded?(account: Account): void;
  accountRemoved?(account: Account): void;
  registrationChanged?(account: Account, from: RegistrationStateName | 'none', to: RegistrationStateName | 'none'): void;
  callStateChanged?(call: Call, from: CallStateName | 'none', to: CallStateName | 'none'): void;
  messageSent?(outcome: 'accepted' | 'failed', status: number): void;
  messageReceived?(kind: 'message' | 'disposition'): void;
  /** Something went wrong that no caller saw (a SIP request that failed in the background). */
  error?(code: string, err: unknown): void;
}

/** A SIP registrar and proxy run in-process (the embedded local domain); the gateway's stack uses it as outbound proxy. */
export interface LocalDomainPort {
  start(): Promise<void>;
  close(): Promise<void>;
  /** The SIP URI our own stack sends every out-of-dialog request to, e.g. `sip:127.0.0.1:5060;transport=tcp`. */
  proxyUri(): string;
}

export interface GatewayOptions {
  sip: {
    /** Where our SIP stack listens; with a local domain usually an ephemeral port on loopback. */
    listen: SipStackOptions['listen'];
    /** Every out-of-dialog request goes here (RFC 3261 §8.1.2). Ignored when `localDomain` is given. */
    outboundProxy?: string;
    timers?: SipStackOptions['timers'];
    userAgent?: string;
    transport?: SipStackOptions['transport'];
  };
  /** AOR domains `addAccount` accepts; empty or absent: any. */
  domains?: string[];
  registration?: {
    /** Binding lifetime asked of the registrar, in seconds (default 600). */
    expires?: number;
    /** Retry after a transient failure (408, 5xx, transport) in ms (default 30 000); 0: never. */
    retryMs?: number;
  };
  calls?: {
    /** SIP status for declining an unanswered incoming call (default 486). */
    declineCode?: number;
    /** How long a remote re-INVITE waits for the client's answer before we keep the media as is (default 10 000 ms). */
    reinviteAnswerTimeoutMs?: number;
  };
  /** Bound on closing one connection or the gateway: un-REGISTERs, BYEs, CANCELs (default 2000 ms). */
  closeTimeoutMs?: number;
  logger?: Logger;
  observer?: GatewayObserver;
  media?: MediaPort;
  localDomain?: LocalDomainPort;
  /** Asked before connects, calls and messages, and told their outcome (REST hooks); default: allow everything. */
  policy?: PolicyPort;
}

export interface GatewayStats {
  connections: number;
  accounts: number;
  registrations: Record<RegistrationStateName | 'none', number>;
  calls: Record<CallStateName, number>;
  sipTransactions: number;
  sipDialogs: number;
}

export interface GatewayEvents extends Record<string, unknown[]> {
  connection: [Connection];
  closed: [];
}

/** Resolved settings every core object reads. */
export interface CoreSettings {
  domains: Set<string>;
  registrationExpires: number;
  registrationRetryMs: number;
  declineCode: number;
  reinviteAnswerTimeoutMs: number;
  closeTimeoutMs: number;
}

/** How long a delivered MESSAGE's id is remembered, to drop its forked copies (Timer F on UDP: 64·T1). */
const MESSAGE_DEDUP_MS = 32_000;

export class Gateway extends CoreEmitter<GatewayEvents> {
  readonly log: Logger;
  readonly observer: GatewayObserver;
  readonly media: MediaPort;
  readonly policy: PolicyPort;
  readonly settings: CoreSettings;
  private readonly opts: GatewayOptions;
  private stackValue: SipStack | undefined;
  private readonly connections = new Map<string, Connection>();
  /** Registered accounts by AOR, for messages to every device of an AOR (an array: usually one device). */
  private readonly registered = new Map<Aor, Account[]>();
  /** MESSAGEs already delivered (AOR + Call-ID + CSeq), oldest first, with their arrival time. */
  private readonly delivered = new Map<string, number>();
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;

  constructor(opts: GatewayOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.observer = opts.observer ?? {};
    this.media = opts.media ?? identityMediaPort;
    this.policy = opts.policy ?? allowAllPolicy;
    this.settings = {
      domains: new Set((opts.domains ?? []).map((d) => d.toLowerCase())),
      registrationExpires: opts.registration?.expires ?? 600,
      registrationRetryMs: opts.registration?.retryMs ?? 30_000,
      declineCode: opts.calls?.declineCode ?? 486,
      reinviteAnswerTimeoutMs: opts.calls?.reinviteAnswerTimeoutMs ?? 10_000,
      closeTimeoutMs: opts.closeTimeoutMs ?? 2000,
    };
  }

  logAt(level: LogLevel, obj: object, msg: string): void {
    this.log[level](obj, msg);
  }

  /** @internal Counts an error nobody else sees (a failed background request, a throwing listener). */
  reportError(code: string, err: unknown): void {
    try {
      this.observer.error?.(code, err);
    } catch (e) {
      this.log.error({ err: e }, 'observer failed');
    }
  }

  /** The shared SIP stack; there once `start()` resolved. */
  get stack(): SipStack {
    if (!this.stackValue) throw new CoreError('internal', 'the gateway is not started');
    return this.stackValue;
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** Starts the local domain (if any), then the SIP stack on its outbound proxy. */
  async start(): Promise<void> {
    if (this.state !== 'new') {
      if (this.state === 'closing' || this.state === 'closed') throw new CoreError('connection-closed', 'the gateway is closed');
      return;
    }
    this.state = 'starting';
    const { sip, localDomain } = this.opts;
    if (localDomain) await localDomain.start();
    const outboundProxy = localDomain ? localDomain.proxyUri() : sip.outboundProxy;
    this.stackValue = new SipStack({
      listen: sip.listen,
      outboundProxy,
      timers: sip.timers,
      userAgent: sip.userAgent ?? 'Portico',
      transport: sip.transport,
      logger: this.log.child({ layer: 'sip' }),
      closeTimeoutMs: this.settings.closeTimeoutMs,
    });
    try {
      await this.stackValue.start();
    } catch (err) {
      await localDomain?.close().catch(() => undefined);
      this.state = 'closed';
      throw err;
    }
    this.state = 'running';
    this.log.info({ outboundProxy, listen: sip.listen.map((l) => `${l.protocol}:${l.host}:${l.port}`) }, 'gateway started');
  }

  /**
   * Closes every connection (their calls end, their registrations are removed), then the SIP
   * stack and the local domain, all within about twice `closeTimeoutMs`. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    await Promise.allSettled([...this.connections.values()].map((c) => c.close()));
    await this.stackValue?.close();
    await this.opts.localDomain?.close().catch((err) => this.log.warn({ err }, 'local domain close failed'));
    this.state = 'closed';
    this.log.info('gateway closed');
    this.emit('closed');
    this.removeAllListeners();
  }

  /**
   * A client connected through a door. Throws `connection-closed` once the gateway is closing.
   * `app` names the application the door chose for it (REST hooks); `local` is where it connected.
   */
  openConnection(info: { door: string; remote: string; local?: string; app?: string }): Connection {
    if (this.state !== 'running') throw new CoreError('connection-closed', `the gateway is ${this.state === 'new' || this.state === 'starting' ? 'not started' : 'closing'}`);
    const conn = new Connection(this, randomUUID(), info);
    this.connections.set(conn.id, conn);
    this.observer.connectionOpened?.(conn);
    this.emit('connection', conn);
    return conn;
  }

  connection(id: string): Connection | undefined {
    return this.connections.get(id);
  }

  stats(): GatewayStats {
    const registrations = { none: 0, registering: 0, registered: 0, failed: 0, unregistered: 0 };
    const calls = { connecting: 0, progress: 0, 'early-media': 0, accepted: 0, established: 0, terminated: 0 };
    let accounts = 0;
    for (const conn of this.connections.values()) {
      for (const account of conn.accounts()) {
        accounts++;
        registrations[account.registrationState]++;
      }
      for (const call of conn.calls()) calls[call.state]++;
    }
    return {
      connections: this.connections.size,
      accounts,
      registrations,
      calls,
      sipTransactions: this.stackValue?.transactions.size ?? 0,
      sipDialogs: this.stackValue?.dialogCount ?? 0,
    };
  }

  // ---- used by connections and accounts --------------------------------------------------------

  /** @internal */
  connectionClosed(conn: Connection): void {
    this.connections.delete(conn.id);
    this.observer.connectionClosed?.(conn);
  }

  /** @internal An account's registration changed: keep the AOR index of registered devices. */
  registrationChanged(account: Account, from: RegistrationStateName | 'none', to: RegistrationStateName | 'none'): void {
    if (to === 'registered') {
      const devices = this.registered.get(account.aor);
      if (!devices) this.registered.set(account.aor, [account]);
      else if (!devices.includes(account)) devices.push(account);
    } else if (from === 'registered') {
      const devices = this.registered.get(account.aor);
      const at = devices ? devices.indexOf(account) : -1;
      if (at >= 0) devices!.splice(at, 1);
      if (devices?.length === 0) this.registered.delete(account.aor);
    }
    this.observer.registrationChanged?.(account, from, to);
  }

  /** @internal Every account registered with `aor` on this gateway. */
  registeredAccounts(aor: Aor): Iterable<Account> {
    return this.registered.get(aor) ?? [];
  }

  /**
   * @internal A MESSAGE reached `receiver`. A forking proxy sends one copy per Contact of the AOR;
   * the first copy is handed to every device of the AOR and later ones are only answered. Returns
   * false for such a copy.
   */
  firstDelivery(receiver: Account, msg: IncomingMessage): boolean {
    const now = Date.now();
    for (const [key, at] of this.delivered) {
      if (now - at < MESSAGE_DEDUP_MS) break;
      this.delivered.delete(key);
    }
    const key = `${receiver.aor}\n${msg.request.callId}\n${msg.request.cseq.seq}`;
    if (this.delivered.has(key)) return false;
    this.delivered.set(key, now);
    return true;
  }
}
