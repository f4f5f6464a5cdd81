/**
 * One connection's hooks. Direct requests (`connect`, `call`, `answer`, `sendDtmf`, `hold`,
 * `unhold`, `sendMessage`) and requests from SIP (`OnCallEvent`, `OnMessageEvent`) are sent at
 * once and awaited: a 4xx refuses (the reason goes to the client, or 403 to the SIP peer); a
 * failure lets the request through or refuses it as the app's failure mode for the method says. A
 * method that is off (globally, for the app, in the app's methods, or `restPolicy: DISABLE`) costs
 * nothing: the answer is given synchronously.
 *
 * Status events (`*StatusEvent`, `hangup`) never wait: they go into this connection's queue and
 * leave one at a time, in order, retried with exponential back-off while the backend fails. The
 * queue is bounded (the oldest waiting event is dropped and counted) and an event older than
 * `queue.maxAgeMs` is dropped and counted; nothing else is ever lost.
 */
import {
  CoreError,
  type CallDecision,
  type CallInfo,
  type CallRequest,
  type ConnectDecision,
  type ConnectRequest,
  type IncomingMessageRequest,
  type MessageDecision,
  type MessageRequest,
  type PolicyAnswer,
  type PolicyContext,
  type PolicyReport,
  type PolicySession,
  type SipIdentity,
} from '../core/index.ts';
import {
  OVERWRITABLE,
  callActionBody,
  callBody,
  callStatusBody,
  callStatusOf,
  connectBody,
  connectionStatusBody,
  excludeFields,
  identityFrom,
  messageStatusBody,
  onCallBody,
  onMessageBody,
  overwritten,
  registrationStatusBody,
  sendMessageBody,
  type Body,
  type Envelope,
} from './bodies.ts';
import { failureModeOf, restMethodConfigSchema, type AppConfig, type RestMethodConfig } from './config.ts';
import { describeOutcome } from './http-client.ts';
import { DEFAULT_FAILURE_MODE, hookMethodNamed, type HookMethod } from './methods.ts';
import type { DropReason } from './metrics.ts';
import type { RestHooks } from './rest-hooks.ts';

interface QueuedEvent {
  app: string;
  method: HookMethod;
  body: Body;
  at: number;
}

/** Messages sent, remembered to fill their `MessageStatusEvent`. */
const SENT_MESSAGES_KEPT = 64;

export class HookSession implements PolicySession {
  private readonly hooks: RestHooks;
  private readonly ctx: PolicyContext;
  // What follows is created on first use: a gateway without hooks holds one of these per
  // connection and never sends anything, so it keeps no map, body or id it does not need.
  private sessionIdValue: string | undefined;
  private appName: string | undefined;
  private appChosen = false;
  /** restClientConfig the backend returned in its answers to `connect`. */
  private restConfig: Partial<Record<HookMethod, RestMethodConfig>> | undefined;
  /** The `connect` body, built when a hook carries it; until then the request it is built from. */
  private connection: Body | undefined;
  private connectRequest: ConnectRequest | undefined;
  /** SIP identities by account: the first inline (a connection usually has one account), the others in a map. */
  private identityAccount: string | undefined;
  private identity: SipIdentity | undefined;
  private otherIdentities: Map<string, SipIdentity> | undefined;
  private sentMessages: Map<string, Body> | undefined;
  private established = false;
  private closed = false;
  private readonly queue: QueuedEvent[] = [];
  private sending = false;
  /** Waiting for the app's lane to grant a turn. */
  private waiting = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(hooks: RestHooks, ctx: PolicyContext) {
    this.hooks = hooks;
    this.ctx = ctx;
    if (ctx.app !== undefined) this.choose(undefined, undefined);
  }

  /** WCS's form: /<client ip:port>/<server ip:port>. */
  private get sessionId(): string {
    const ctx = this.ctx;
    return (this.sessionIdValue ??= `/${ctx.remote}/${ctx.local ?? this.hooks.nodeId.slice(this.hooks.nodeId.indexOf('@') + 1)}`);
  }

  // ---- direct requests -------------------------------------------------------------------------

  connect(req: ConnectRequest): PolicyAnswer<ConnectDecision> {
    if (!this.appChosen || (req.appKey !== undefined && req.appKey !== '')) this.choose(req.appKey, domainOf(req.identity.aor));
    this.setIdentity(req.account, req.identity);
    const app = this.active('connect');
    if (!app) {
      // Built only if a status event carries it.
      this.connection = undefined;
      this.connectRequest = req;
      this.markEstablished();
      return {};
    }
    const body = connectBody(this.envelope(), req, this.ctx.door);
    this.connection = body;
    this.connectRequest = undefined;
    return this.invoke(app, 'connect', body).then(
      (answer) => {
        let identity: Partial<SipIdentity> | undefined;
        if (answer) {
          this.takeRestClientConfig(answer.restClientConfig);
          const changes = this.overwrites(app, 'connect', answer);
          if (changes) {
            identity = identityFrom(req.identity, changes);
            if (identity) this.setIdentity(req.account, { ...req.identity, ...identity });
            this.connection = { ...body, ...changes };
          }
        }
        this.markEstablished();
        return identity ? { identity } : {};
      },
      (err: unknown) => {
        if (!this.established) this.enqueue('ConnectionStatusEvent', () => connectionStatusBody(this.envelope(), body, 'FAILED', (err as Error).message));
        throw err;
      },
    );
  }

  call(req: CallRequest): PolicyAnswer<CallDecision> {
    const app = this.active('call');
    if (!app) return {};
    return this.invoke(app, 'call', callBody(this.envelope(), req.call, req.to, req.headers)).then((answer) => {
      const changes = answer && this.overwrites(app, 'call', answer);
      const callee = changes?.callee;
      return typeof callee === 'string' && callee !== '' && callee !== req.to ? { to: callee } : {};
    });
  }

  answer(call: CallInfo): PolicyAnswer<void> {
    return this.simple('answer', () => callActionBody(this.envelope(), call, { status: 'PENDING' }));
  }

  sendDtmf(call: CallInfo, digit: string, durationMs: number): PolicyAnswer<void> {
    return this.simple('sendDtmf', () => callActionBody(this.envelope(), call, { dtmf: digit, type: 'INFO', duration: durationMs }));
  }

  hold(call: CallInfo, on: boolean): PolicyAnswer<void> {
    return this.simple(on ? 'hold' : 'unhold', () => callActionBody(this.envelope(), call));
  }

  sendMessage(req: MessageRequest): PolicyAnswer<MessageDecision> {
    const body = sendMessageBody(this.envelope(), req);
    this.remember(req.messageId, body);
    const app = this.active('sendMessage');
    if (!app) return {};
    return this.invoke(app, 'sendMessage', body).then((answer) => {
      const changes = answer && this.overwrites(app, 'sendMessage', answer);
      const out: MessageDecision = {};
      if (typeof changes?.to === 'string' && changes.to !== req.to) out.to = changes.to;
      if (typeof changes?.body === 'string' && changes.body !== req.content) out.content = changes.body;
      if (out.to !== undefined || out.content !== undefined) this.remember(req.messageId, { ...body, ...changes });
      return out;
    });
  }

  incomingCall(call: CallInfo): PolicyAnswer<void> {
    return this.simple('OnCallEvent', () => onCallBody(this.envelope(), call));
  }

  incomingMessage(req: IncomingMessageRequest): PolicyAnswer<void> {
    return this.simple('OnMessageEvent', () => onMessageBody(this.envelope(), req));
  }

  // ---- status events ---------------------------------------------------------------------------

  report(r: PolicyReport): void {
    switch (r.type) {
      case 'registration':
        if (r.state === 'registering') return;
        this.enqueue('RegistrationStatusEvent', () => registrationStatusBody(this.envelope(), r.account, this.identityOf(r.account), r.state as 'registered' | 'unregistered' | 'failed', r.reason));
        return;
      case 'call': {
        const status = callStatusOf(r.event);
        if (status) this.enqueue('CallStatusEvent', () => callStatusBody(this.envelope(), r.call, status));
        return;
      }
      case 'hangup':
        this.enqueue('hangup', () => callActionBody(this.envelope(), r.call));
        return;
      case 'message':
        this.enqueue('MessageStatusEvent', () => messageStatusBody(this.envelope(), r.account, r.event, this.sentMessages?.get(r.event.messageId)));
        return;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.established && (this.connection || this.connectRequest)) {
      this.enqueue('ConnectionStatusEvent', () => connectionStatusBody(this.envelope(), this.connectionBody()!, 'DISCONNECTED', 'Normal disconnect'));
    }
    if (this.queue.length === 0) this.hooks.forget(this);
  }

  /** @internal Events waiting, per app. */
  queuedByApp(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.queue) out.set(e.app, (out.get(e.app) ?? 0) + 1);
    return out;
  }

  /** @internal Drops whatever is queued (the hooks are stopping). */
  discard(reason: DropReason): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const e of this.queue) this.hooks.dropped(e.app, e.method, reason);
    this.hooks.countQueued(-this.queue.length);
    this.queue.length = 0;
  }

  // ---- internals -------------------------------------------------------------------------------

  private choose(appKey: string | undefined, domain: string | undefined): void {
    this.appName = this.hooks.resolveApp(this.ctx, appKey, domain);
    this.appChosen = true;
  }

  private envelope(): Envelope {
    const app = this.appName !== undefined ? this.hooks.store.get(this.appName) : undefined;
    return { nodeId: this.hooks.nodeId, appKey: app?.key ?? app?.name ?? this.appName ?? '', sessionId: this.sessionId };
  }

  /** The app to send `method` to, or undefined when the method is off for this connection. */
  private active(method: HookMethod): AppConfig | undefined {
    if (!this.appChosen) this.choose(undefined, undefined);
    const app = this.hooks.activeApp(this.appName, method);
    if (!app) return undefined;
    return this.methodConfig(app, method).restPolicy === 'DISABLE' ? undefined : app;
  }

  private methodConfig(app: AppConfig, method: HookMethod): RestMethodConfig {
    const fromApp = app.restClientConfig?.[method];
    const fromBackend = this.restConfig?.[method];
    return fromApp && fromBackend ? { ...fromApp, ...fromBackend } : (fromBackend ?? fromApp ?? {});
  }

  private simple(method: HookMethod, body: () => Body): PolicyAnswer<void> {
    const app = this.active(method);
    if (!app) return undefined;
    return this.invoke(app, method, body()).then(() => undefined);
  }

  /**
   * Sends a direct request and waits. Resolves with the backend's answer (undefined if the request
   * went through unchecked after a failure); rejects with `policy-denied` on a refusal, or on a
   * failure where the method fails closed.
   */
  private async invoke(app: AppConfig, method: HookMethod, body: Body): Promise<Body | undefined> {
    const conf = this.methodConfig(app, method);
    const outcome = await this.hooks.send(app, method, excludeFields(body, conf.restExclude), true);
    if (outcome.kind === 'ok') return outcome.json;
    const info = describeOutcome(method, outcome);
    if (outcome.kind === 'refused') {
      this.hooks.log.info({ app: app.name, method, status: outcome.status, reason: outcome.reason, sessionId: this.sessionId }, 'refused by the backend');
      throw new CoreError('policy-denied', info, { method, kind: 'refused', status: String(outcome.status), ...(outcome.reason ? { reason: outcome.reason } : {}) });
    }
    const mode = conf.restOnError === 'FAIL' ? 'closed' : conf.restOnError === 'LOG' ? 'open' : failureModeOf(app, method, DEFAULT_FAILURE_MODE[method]);
    if (mode === 'closed') {
      this.hooks.log.warn({ app: app.name, method, failure: outcome.failure, detail: outcome.detail, sessionId: this.sessionId }, 'hook failed; refusing (fail-closed)');
      throw new CoreError('policy-denied', info, { method, kind: outcome.failure });
    }
    this.hooks.log.warn({ app: app.name, method, failure: outcome.failure, detail: outcome.detail, sessionId: this.sessionId }, 'hook failed; letting the request through (fail-open)');
    this.hooks.metrics?.failedOpen(app.name, method);
    return undefined;
  }

  /** The answer's fields `restPolicy: OVERWRITE` lets through for `method`; undefined if none. */
  private overwrites(app: AppConfig, method: HookMethod, answer: Body): Body | undefined {
    const conf = this.methodConfig(app, method);
    if (conf.restPolicy !== 'OVERWRITE') return undefined;
    const allowed = (conf.restOverwrite ?? []).filter((f) => OVERWRITABLE[method]?.includes(f));
    const out = overwritten(answer, allowed);
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private takeRestClientConfig(raw: unknown): void {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      const method = hookMethodNamed(name);
      const parsed = restMethodConfigSchema.safeParse(value);
      if (!method || !parsed.success) {
        this.hooks.log.info({ method: name }, 'ignoring an invalid restClientConfig entry');
        continue;
      }
      const restConfig = (this.restConfig ??= {});
      restConfig[method] = { ...restConfig[method], ...parsed.data };
    }
  }

  private markEstablished(): void {
    if (this.established) return;
    this.established = true;
    // `enqueue` builds the body at once, or not at all when no app takes the event.
    this.enqueue('ConnectionStatusEvent', () => connectionStatusBody(this.envelope(), this.connectionBody() ?? {}, 'ESTABLISHED', 'Established'));
  }

  /** The last `connect` body, built now if it was not needed so far. */
  private connectionBody(): Body | undefined {
    const req = this.connectRequest;
    if (req) {
      this.connection = connectBody(this.envelope(), req, this.ctx.door);
      this.connectRequest = undefined;
    }
    return this.connection;
  }

  private setIdentity(account: string, identity: SipIdentity): void {
    if (this.identityAccount === undefined || this.identityAccount === account) {
      this.identityAccount = account;
      this.identity = identity;
    } else (this.otherIdentities ??= new Map()).set(account, identity);
  }

  private identityOf(account: string): SipIdentity | undefined {
    return account === this.identityAccount ? this.identity : this.otherIdentities?.get(account);
  }

  private remember(id: string, body: Body): void {
    const sent = (this.sentMessages ??= new Map());
    sent.delete(id);
    sent.set(id, body);
    if (sent.size > SENT_MESSAGES_KEPT) sent.delete(sent.keys().next().value as string);
  }

  private enqueue(method: HookMethod, build: () => Body): void {
    const app = this.active(method);
    if (!app) return;
    const q = this.hooks.config.queue;
    if (!this.hooks.roomForEvent()) {
      this.hooks.dropped(app.name, method, 'global-limit');
      return;
    }
    if (this.queue.length >= q.limit) {
      // The oldest event not on its way makes room (the one being sent stays: order holds).
      const victim = this.queue.splice(this.sending && this.queue.length > 1 ? 1 : 0, 1)[0];
      if (victim) {
        this.hooks.countQueued(-1);
        this.hooks.dropped(victim.app, victim.method, 'overflow');
      }
    }
    const body = excludeFields(build(), this.methodConfig(app, method).restExclude);
    this.queue.push({ app: app.name, method, body, at: Date.now() });
    this.hooks.countQueued(1);
    this.pump();
  }

  /** Asks for a turn to send the first waiting event (the app's lane grants it, see `RestHooks.ready`). */
  private pump(): void {
    if (this.sending || this.retryTimer || this.waiting || this.queue.length === 0) return;
    this.waiting = true;
    this.hooks.ready(this, this.queue[0]!.app);
  }

  /**
   * @internal This connection's turn: sends its first waiting event, one at a time so that the
   * backend gets them in order. `done` is called once the request is over. False if there was
   * nothing to send.
   */
  sendNext(done: () => void): boolean {
    this.waiting = false;
    if (this.sending || this.retryTimer) return false;
    let item: QueuedEvent | undefined;
    let app: AppConfig | undefined;
    while ((item = this.queue[0]) !== undefined && !(app = this.hooks.activeApp(item.app, item.method, true))) {
      // Switched off meanwhile: nothing may leave the gateway for it any more.
      this.queue.shift();
      this.hooks.countQueued(-1);
      this.hooks.dropped(item.app, item.method, 'disabled');
    }
    if (!item || !app) {
      if (this.closed) this.hooks.forget(this);
      return false;
    }
    const sent = item;
    this.sending = true;
    void this.hooks.send(app, sent.method, sent.body, false).then((outcome) => {
      this.sending = false;
      done();
      if (this.queue[0] !== sent) return this.next(); // discarded meanwhile
      if (outcome.kind === 'failed') {
        this.attempts++;
        const q = this.hooks.config.queue;
        if (Date.now() - sent.at >= q.maxAgeMs) {
          this.queue.shift();
          this.hooks.countQueued(-1);
          this.hooks.dropped(sent.app, sent.method, 'expired');
          this.attempts = 0;
          return this.next();
        }
        const backoff = Math.min(q.retryMaxMs, q.retryBaseMs * 2 ** Math.min(this.attempts - 1, 16));
        const delay = Math.max(backoff * (0.8 + Math.random() * 0.4), this.hooks.breakerOf(sent.app).retryInMs());
        this.hooks.log.debug({ app: sent.app, method: sent.method, attempts: this.attempts, delay: Math.round(delay), failure: outcome.failure }, 'status event retried later');
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, delay);
        this.retryTimer.unref?.();
        return;
      }
      // Delivered (a 4xx is an answer too: an event cannot be refused).
      this.attempts = 0;
      this.queue.shift();
      this.hooks.countQueued(-1);
      this.next();
    });
    return true;
  }

  private next(): void {
    if (this.queue.length > 0) this.pump();
    else if (this.closed) this.hooks.forget(this);
  }
}

function domainOf(aor: string): string {
  return aor.slice(aor.lastIndexOf('@') + 1).replace(/:\d+$/, '');
}
