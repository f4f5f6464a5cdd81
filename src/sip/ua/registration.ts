/**
 * One REGISTER binding of a user's Contact with its registrar (RFC 3261 §10.2): register, refresh
 * before the binding expires, un-REGISTER, and retry with back-off after a failure.
 */
import { createRequest, newCallId, newTag, parseUri, type NameAddr, type SipResponse, type SipUri } from '../message/index.ts';
import { TypedEmitter } from './emitter.ts';
import { ClosedError } from './errors.ts';
import { failureStatus } from './sip-stack.ts';
import type { SipUser } from './sip-user.ts';

export type RegistrationState = 'Unregistered' | 'Registering' | 'Registered' | 'Unregistering' | 'Failed' | 'Closed';

export interface RegistrationOptions {
  /** Registrar URI; `sip:<AOR domain>` when absent (RFC 3261 §10.2.6). */
  registrar?: string;
  /** Requested binding lifetime in seconds (default 600). */
  expires?: number;
  /** Retry after a failure: first delay and cap, in ms (default 5 s doubling to 5 min); false: no retry. */
  retry?: { initialMs: number; maxMs: number } | false;
  /** Extra Contact parameters, e.g. `+sip.instance` (RFC 5626). */
  contactParams?: Record<string, string | null>;
}

export interface RegisteredInfo {
  /** Lifetime the registrar granted to our binding, in seconds. */
  expires: number;
  /** Every binding the registrar holds for the AOR (several devices may be registered). */
  contacts: NameAddr[];
  response: SipResponse;
}

export interface RegistrationFailure {
  status: number;
  reason: string;
  response?: SipResponse;
  /** When the next attempt happens, if one is scheduled. */
  retryInMs?: number;
}

export interface RegistrationEvents extends Record<string, unknown[]> {
  registered: [RegisteredInfo];
  unregistered: [];
  failed: [RegistrationFailure];
  closed: [];
}

const DEFAULT_RETRY: Readonly<{ initialMs: number; maxMs: number }> = Object.freeze({ initialMs: 5_000, maxMs: 300_000 });
const NO_CONTACT_PARAMS: Readonly<Record<string, string | null>> = Object.freeze({});

/** Timer callback shared by every registration: no closure to keep per live binding. */
function refreshLater(reg: Registration): void {
  reg.refreshNow();
}

export class Registration extends TypedEmitter<RegistrationEvents> {
  readonly user: SipUser;
  /** Registrar URI as text; parsed per REGISTER so a live binding keeps no parsed URI. */
  private readonly registrarText: string;
  private readonly requestedExpires: number;
  private expiresToAsk: number;
  private readonly retry: Readonly<{ initialMs: number; maxMs: number }> | false;
  private readonly contactParams: Readonly<Record<string, string | null>>;
  // One Call-ID and a rising CSeq for every REGISTER of this binding (RFC 3261 §10.2).
  private readonly callId = newCallId();
  private cseq = 0;
  private stateValue: RegistrationState = 'Unregistered';
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private inFlight: Promise<unknown> | undefined;

  constructor(user: SipUser, opts: RegistrationOptions) {
    super();
    this.user = user;
    if (opts.registrar) this.registrarText = opts.registrar;
    else {
      const aor = user.aor;
      this.registrarText = `${aor.scheme}:${aor.host}${aor.port ? `:${aor.port}` : ''}`;
    }
    user.stack.assertUri(this.registrarText); // fail now, not at the first REGISTER
    this.requestedExpires = opts.expires ?? 600;
    this.expiresToAsk = this.requestedExpires;
    this.retry = opts.retry === undefined ? DEFAULT_RETRY : opts.retry;
    this.contactParams = opts.contactParams ?? NO_CONTACT_PARAMS;
  }

  get registrar(): SipUri {
    return parseUri(this.registrarText);
  }

  protected override onListenerError(err: unknown, event: string): void {
    this.user.stack.logger.error({ err, event, aor: this.user.aorText }, 'registration listener failed');
  }

  get state(): RegistrationState {
    return this.stateValue;
  }

  /** Registers (or refreshes) now; resolves when registered, rejects with the failure. */
  async register(): Promise<RegisteredInfo> {
    if (this.stateValue === 'Closed') throw new ClosedError('Registration');
    this.clearTimer();
    this.stateValue = 'Registering';
    const attempt = this.send(this.expiresToAsk);
    this.inFlight = attempt;
    let res: SipResponse;
    try {
      res = await attempt;
    } catch (err) {
      const { status, reason } = failureStatus(err);
      throw this.fail(status, reason);
    } finally {
      if (this.inFlight === attempt) this.inFlight = undefined;
    }
    // close() or unregister() may have run while we waited.
    const now = this.stateValue as RegistrationState;
    if (now === 'Closed' || now === 'Unregistering') {
      throw Object.assign(new Error('registration closed while registering'), { status: 0 });
    }

    if (res.status === 423) {
      // Interval Too Brief: ask again with at least Min-Expires (RFC 3261 §10.2.8).
      const min = Number(res.headers.get('Min-Expires'));
      if (Number.isFinite(min) && min > this.expiresToAsk) {
        this.expiresToAsk = min;
        return this.register();
      }
    }
    if (res.status < 200 || res.status >= 300) throw this.fail(res.status, res.reason, res);

    const contacts = res.contacts();
    const mine = this.ourBinding(contacts);
    const granted = Number(mine?.params.get('expires') ?? res.headers.get('Expires') ?? this.expiresToAsk);
    const expires = Number.isFinite(granted) && granted > 0 ? granted : this.expiresToAsk;
    this.failures = 0;
    this.stateValue = 'Registered';
    this.schedule(refreshDelayMs(expires));
    const info: RegisteredInfo = { expires, contacts, response: res };
    this.emit('registered', info);
    return info;
  }

  /** Removes our binding (Expires: 0, RFC 3261 §10.2.2) and stops refreshing. */
  async unregister(): Promise<void> {
    if (this.stateValue === 'Closed') return;
    this.clearTimer();
    const wasRegistered = this.stateValue === 'Registered' || this.inFlight !== undefined;
    this.stateValue = 'Unregistering';
    if (wasRegistered) {
      try {
        await this.inFlight?.catch(() => undefined);
        await this.send(0);
      } catch (err) {
        this.user.stack.logger.warn({ err, aor: this.user.aorText }, 'un-REGISTER failed');
      }
    }
    if (this.stateValue === 'Unregistering') this.stateValue = 'Unregistered';
    this.emit('unregistered');
  }

  /** Un-registers if registered, then forgets this binding. Idempotent. */
  async close(): Promise<void> {
    if (this.stateValue === 'Closed') return;
    await this.unregister();
    this.stateValue = 'Closed';
    this.user.registrationClosed(this);
    this.emit('closed');
    this.removeAllListeners();
  }

  /** @internal The refresh (or retry) timer fired. */
  refreshNow(): void {
    this.timer = undefined;
    this.register().catch(() => {
      /* failure already emitted and retry scheduled */
    });
  }

  /** Our binding among those the registrar listed (RFC 3261 §10.2.4), by URI comparison (§19.1.4). */
  private ourBinding(contacts: NameAddr[]): NameAddr | undefined {
    for (const c of contacts) if (this.user.isOurContact(c.uri)) return c;
    return undefined;
  }

  private send(expires: number): Promise<SipResponse> {
    const user = this.user;
    // From, To and Contact are written as text: parsing the AOR and building the Contact per
    // REGISTER only to format them again cost more than the rest of the request.
    let contact = user.contactText();
    const params = this.contactParams;
    for (const k of Object.keys(params)) {
      const v = params[k];
      contact += v === null ? `;${k}` : `;${k}=${v}`;
    }
    const address = user.addressText();
    const req = createRequest({
      method: 'REGISTER',
      uri: this.registrar,
      from: `${address};tag=${newTag()}`,
      to: address,
      callId: this.callId,
      cseq: ++this.cseq,
      headers: [
        ['Contact', contact],
        ['Expires', String(expires)],
      ],
    });
    user.stack.preloadRoute(req);
    const options = user.requestOptions();
    const sent = user.stack.request(req, options);
    // Only a digest retry (credentials) raises the CSeq behind our back: follow it then (RFC 3261 §10.2).
    return options.credentials ? sent.then((res) => this.followCSeq(res)) : sent;
  }

  /** The digest retry used CSeq + 1; keep ours above it (RFC 3261 §10.2). */
  private followCSeq(res: SipResponse): SipResponse {
    if (res.cseq.seq > this.cseq) this.cseq = res.cseq.seq;
    return res;
  }

  private fail(status: number, reason: string, response?: SipResponse): Error & RegistrationFailure {
    this.failures++;
    this.stateValue = 'Failed';
    const failure: RegistrationFailure = { status, reason, response };
    if (this.retry) {
      const delay = Math.min(this.retry.maxMs, this.retry.initialMs * 2 ** (this.failures - 1));
      failure.retryInMs = delay;
      this.schedule(delay);
    }
    this.emit('failed', failure);
    return Object.assign(new Error(`registration failed: ${status} ${reason}`), failure);
  }

  /** Registers again after `ms`: the refresh, or the retry after a failure. */
  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(refreshLater, ms, this);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Refresh before the binding expires: half-way for short bindings, 32 s ahead for long ones, so a
 * lost refresh still has Timer F's 32 s to complete (RFC 3261 §10.2.4).
 */
export function refreshDelayMs(expires: number): number {
  return Math.max(expires * 500, (expires - 32) * 1000);
}
