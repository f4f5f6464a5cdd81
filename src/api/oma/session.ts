/**
 * One gateway session of the REST door: what `reg_srv` issued (`sessionId`, `clientId`) for one
 * user, and everything created under it: notification channels, subscriptions, capability sources,
 * the registration of the user's lines (one core Account per line, all on one core Connection),
 * calls and chats. Closing it closes all of that: channels end, calls are ended (CANCEL/BYE/decline)
 * and registrations removed (un-REGISTER) by the core connection.
 *
 * A session lives while it has a notification channel; without one it idles out after
 * `idleTimeoutMs` without requests. When its last channel expires or is deleted, it closes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Account, Connection, RegistrationStateEvent } from '../../core/index.ts';
import type { OmaLine, OmaUser } from './auth.ts';
import { NotificationChannel, type ChannelSettings } from './channel.ts';
import { aorToAddress, type CapabilitySourceInput, type Enabler, type RegistrationInput, type SubscriptionInput } from './codec.ts';
import { ChatService } from './chat.ts';
import type { DoorLog } from './door-log.ts';
import { omaError, OmaError } from './errors.ts';
import { PATHS } from './urls.ts';
import { VvoipService } from './vvoip.ts';

export interface SessionSettings {
  channel: ChannelSettings;
  maxChannels: number;
  maxSubscriptions: number;
  maxCalls: number;
  maxChats: number;
  /** A session without a channel closes after this long without a request (ms). */
  idleTimeoutMs: number;
  /** How long POST registration waits for the registrar's answer (ms). */
  registerTimeoutMs: number;
  /** Longest subscription duration granted (s). */
  maxSubscriptionDurationS: number;
  /** `duration` of capability sources (s). */
  capabilityDurationS: number;
}

export const ROOTS: Record<Enabler, string> = {
  vvoip: 'vvoipNotificationSubscription',
  chat: 'chatNotificationSubscription',
  racm: 'racmNotificationSubscription',
  nms: 'nmsSubscription',
};

interface Subscription {
  id: string;
  enabler: Enabler;
  channelId: string;
  input: SubscriptionInput;
  duration: number;
  timer: NodeJS.Timeout | undefined;
  restartToken?: number;
}

interface CapabilitySource {
  id: string;
  input: CapabilitySourceInput;
  clientCorrelator?: string;
}

export type LineRegistrationState = 'Registered' | 'Unregistered' | 'Registering';

export interface LineState {
  line: OmaLine;
  account: Account | undefined;
  state: LineRegistrationState;
  reason?: string;
  instanceId: string;
}

export interface SessionHost {
  log: DoorLog;
  settings: SessionSettings;
  /** The session ended; the door forgets it. */
  sessionClosed(session: OmaSession): void;
}

function newId(prefix: string, bytes = 8): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

export class OmaSession {
  readonly id: string;
  readonly clientId: string;
  readonly user: OmaUser;
  readonly connection: Connection;
  readonly log: DoorLog;
  readonly settings: SessionSettings;
  readonly remote: string;
  /** The gateway's URL as the client reached it, for every URL we hand out. */
  base: string;
  readonly vvoip: VvoipService;
  readonly chat: ChatService;
  readonly channels = new Map<string, NotificationChannel>();
  readonly lines: LineState[];
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly capabilities = new Map<string, CapabilitySource>();
  /** clientCorrelator → resource id, per collection (`channels`, `subs:vvoip`, `calls`, ...). */
  private readonly correlators = new Map<string, string>();
  private registration: { id: string; lineIds: string[]; pnsEnabled: boolean; pnsExtendedCapability: boolean } | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly host: SessionHost;

  constructor(init: { host: SessionHost; user: OmaUser; connection: Connection; base: string; remote: string }) {
    this.host = init.host;
    this.settings = init.host.settings;
    this.id = randomBytes(32).toString('hex').toUpperCase();
    this.clientId = String(1_000_000_000 + (randomBytes(4).readUInt32BE() % 9_000_000_000));
    this.user = init.user;
    this.connection = init.connection;
    this.base = init.base;
    this.remote = init.remote;
    this.log = init.host.log.child({ omaSession: this.id.slice(0, 12), user: init.user.id });
    this.lines = init.user.lines.map((line) => ({ line, account: undefined, state: 'Unregistered' as const, instanceId: `urn:uuid:${randomUUID()}` }));
    this.vvoip = new VvoipService(this);
    this.chat = new ChatService(this);
    this.touch();
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** A request or channel activity: restarts the idle timer of a session without channels. */
  touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.closing || this.channels.size > 0) return;
    this.idleTimer = setTimeout(() => {
      this.log.info('session idle without a notification channel; closing');
      void this.close('idle');
    }, this.settings.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  // ---- idempotent creation (clientCorrelator, reference §1.2) ---------------------------------------

  replayed(collection: string, correlator: string | undefined): string | undefined {
    return correlator === undefined ? undefined : this.correlators.get(`${collection}\n${correlator}`);
  }

  remember(collection: string, correlator: string | undefined, id: string): void {
    if (correlator !== undefined) this.correlators.set(`${collection}\n${correlator}`, id);
  }

  forget(collection: string, correlator: string | undefined): void {
    if (correlator !== undefined) this.correlators.delete(`${collection}\n${correlator}`);
  }

  // ---- notification channels -----------------------------------------------------------------------

  createChannel(input: { type: 'WebSockets' | 'LongPolling'; lifetime?: number; maxNotifications?: number; clientCorrelator?: string; applicationTag?: string }): NotificationChannel {
    if (this.channels.size >= this.settings.maxChannels) throw omaError.limit('notification channels', this.settings.maxChannels);
    const c = input.clientCorrelator;
    const id = c && /^[A-Za-z0-9._-]{1,32}$/.test(c) && !this.channels.has(`mavch${c}`) ? `mavch${c}` : newId('mavch');
    const s = this.settings.channel;
    const channel = new NotificationChannel({
      id,
      type: input.type,
      lifetimeS: NotificationChannel.grant(input.lifetime, s),
      maxNotifications: input.maxNotifications ?? s.defaultMaxNotifications,
      clientCorrelator: input.clientCorrelator,
      applicationTag: input.applicationTag,
      settings: s,
      log: this.log,
      onExpire: () => this.channelGone(id),
      onActivity: () => this.touch(),
    });
    this.channels.set(id, channel);
    this.remember('channels', c, id);
    this.touch();
    this.log.info({ channel: id, type: input.type, lifetime: channel.lifetime }, 'notification channel created');
    return channel;
  }

  deleteChannel(id: string): void {
    const ch = this.channels.get(id);
    if (!ch) throw omaError.notFound('Channel');
    ch.end('deleted');
    this.channelGone(id);
  }

  /** A channel ended (deleted or expired): its subscriptions go with it; the last one takes the session. */
  private channelGone(id: string): void {
    const ch = this.channels.get(id);
    if (!ch) return;
    this.channels.delete(id);
    this.forget('channels', ch.clientCorrelator);
    for (const sub of [...this.subscriptions.values()]) if (sub.channelId === id) this.dropSubscription(sub);
    if (this.channels.size === 0) {
      this.log.info({ channel: id }, 'last notification channel gone; closing the session');
      void this.close('channel-gone');
    }
  }

  channelRepresentation(ch: NotificationChannel): object {
    const channelURL = ch.type === 'WebSockets' ? `${this.base.replace(/^http/, 'ws')}${PATHS.wsChannel(this.id, ch.id)}` : `${this.base}${PATHS.channels(this.id)}/${ch.id}/notifications`;
    const rep: Record<string, unknown> = {};
    if (ch.applicationTag !== undefined) rep.applicationTag = ch.applicationTag;
    if (ch.clientCorrelator !== undefined) rep.clientCorrelator = ch.clientCorrelator;
    rep.channelType = ch.type;
    rep.channelData = { channelURL, maxNotifications: ch.maxNotifications };
    rep.channelLifetime = ch.lifetime;
    rep.callbackURL = `${this.base}${PATHS.callback(this.id, ch.id)}`;
    rep.resourceURL = `${this.base}${PATHS.channels(this.id)}/${ch.id}`;
    return rep;
  }

  // ---- subscriptions --------------------------------------------------------------------------------

  /** The channel a notifyURL names: it must be the callbackURL of one of this session's channels. */
  private channelOfNotifyUrl(notifyURL: string): string {
    let path: string;
    try {
      path = new URL(notifyURL, this.base).pathname;
    } catch {
      throw omaError.invalid('callbackReference.notifyURL: not a URL');
    }
    for (const id of this.channels.keys()) if (path === PATHS.callback(this.id, id)) return id;
    throw omaError.invalid('callbackReference.notifyURL: must be the callbackURL of a notification channel of this session');
  }

  createSubscription(enabler: Enabler, input: SubscriptionInput): { id: string; replay: boolean } {
    const replay = this.replayed(`subs:${enabler}`, input.clientCorrelator);
    if (replay && this.subscriptions.has(replay)) return { id: replay, replay: true };
    if (this.subscriptions.size >= this.settings.maxSubscriptions) throw omaError.limit('subscriptions', this.settings.maxSubscriptions);
    const channelId = this.channelOfNotifyUrl(input.callbackReference.notifyURL);
    const duration = Math.min(input.duration || this.settings.maxSubscriptionDurationS, this.settings.maxSubscriptionDurationS);
    const sub: Subscription = { id: newId('sub-', 6), enabler, channelId, input, duration, timer: undefined };
    if (enabler === 'nms') sub.restartToken = randomBytes(3).readUIntBE(0, 3);
    sub.timer = setTimeout(() => {
      this.log.info({ subscription: sub.id }, 'subscription expired');
      this.dropSubscription(sub);
    }, duration * 1000);
    sub.timer.unref?.();
    this.subscriptions.set(sub.id, sub);
    this.remember(`subs:${enabler}`, input.clientCorrelator, sub.id);
    if (enabler === 'vvoip') this.vvoip.subscriptionsChanged();
    return { id: sub.id, replay: false };
  }

  subscriptionRepresentation(enabler: Enabler, id: string, resourceBase: string): object {
    const sub = this.subscriptions.get(id);
    if (!sub || sub.enabler !== enabler) throw omaError.notFound('Subscription');
    const { resourceURL: _ignored, duration: _d, ...rest } = sub.input;
    const rep: Record<string, unknown> = { ...rest, duration: sub.duration, resourceURL: `${resourceBase}/subscriptions/${sub.id}` };
    if (sub.enabler === 'nms') {
      rep.index = 0;
      rep.restartToken = sub.restartToken;
    }
    return { [ROOTS[enabler]]: rep };
  }

  deleteSubscription(enabler: Enabler, id: string): void {
    const sub = this.subscriptions.get(id);
    if (!sub || sub.enabler !== enabler) throw omaError.notFound('Subscription');
    this.dropSubscription(sub);
  }

  private dropSubscription(sub: Subscription): void {
    clearTimeout(sub.timer);
    this.subscriptions.delete(sub.id);
    this.forget(`subs:${sub.enabler}`, sub.input.clientCorrelator);
    if (sub.enabler === 'vvoip') this.vvoip.subscriptionsChanged();
  }

  hasSubscription(enabler: Enabler): boolean {
    for (const s of this.subscriptions.values()) if (s.enabler === enabler) return true;
    return false;
  }

  /**
   * Sends `{root: {callbackData, ...payload}}` down the channel of every subscription of
   * `enabler`; without one the notification goes nowhere (OMA: only subscribers are notified).
   */
  notify(enabler: Enabler, root: string, payload: Record<string, unknown>): number {
    if (this.closing) return 0;
    let sent = 0;
    for (const sub of this.subscriptions.values()) {
      if (sub.enabler !== enabler) continue;
      const ch = this.channels.get(sub.channelId);
      if (!ch?.isOpen) continue;
      const body = sub.input.callbackReference.callbackData !== undefined ? { callbackData: sub.input.callbackReference.callbackData, ...payload } : payload;
      ch.notify({ [root]: body });
      sent++;
    }
    return sent;
  }

  // ---- capability sources (§1.6) -------------------------------------------------------------------

  createCapabilitySource(input: CapabilitySourceInput): { id: string; replay: boolean } {
    const correlator = input.clientCorrelator ?? input['client-correlator'];
    const replay = this.replayed('caps', correlator);
    if (replay && this.capabilities.has(replay)) return { id: replay, replay: true };
    if (this.capabilities.size >= this.settings.maxSubscriptions) throw omaError.limit('capability sources', this.settings.maxSubscriptions);
    if (input.resourceURL) throw omaError.invalid('capabilitySource.resourceURL: must not be sent');
    const id = newId('capSrcId-', 6);
    this.capabilities.set(id, { id, input, clientCorrelator: correlator });
    this.remember('caps', correlator, id);
    return { id, replay: false };
  }

  updateCapabilitySource(id: string, input: CapabilitySourceInput): void {
    const src = this.capabilities.get(id);
    if (!src) throw omaError.notFound('Capability source');
    src.input = input;
  }

  deleteCapabilitySource(id: string): void {
    const src = this.capabilities.get(id);
    if (!src) throw omaError.notFound('Capability source');
    this.capabilities.delete(id);
    this.forget('caps', src.clientCorrelator);
  }

  capabilityRepresentation(id: string): object {
    const src = this.capabilities.get(id);
    if (!src) throw omaError.notFound('Capability source');
    const rep: Record<string, unknown> = { serviceCapability: src.input.serviceCapability };
    if (src.clientCorrelator !== undefined) rep.clientCorrelator = src.clientCorrelator;
    rep.duration = this.settings.capabilityDurationS;
    rep.resourceURL = `${this.base}${PATHS.capabilities(this.id)}/${id}`;
    return { capabilitySource: rep };
  }

  // ---- RACM: lines and registration (§1.5) ---------------------------------------------------------

  lineInformation(): object {
    return { lineInformation: { lines: this.lines.map(({ line }) => ({ lineId: line.lineId, msisdn: line.msisdn, ...(line.email ? { email: line.email } : {}) })) } };
  }

  /** The line a request names by lineId, msisdn or e-mail; 403 for a line that is not this user's. */
  private findLine(l: { lineId?: string; msisdn?: string; email?: string }): LineState {
    const found = this.lines.find(
      (s) => (l.lineId === undefined || s.line.lineId === l.lineId) && (l.msisdn === undefined || s.line.msisdn === l.msisdn) && (l.email === undefined || s.line.email === l.email),
    );
    if (!found) throw omaError.forbidden(`line ${l.msisdn ?? l.lineId ?? l.email} is not a line of this user`);
    return found;
  }

  /** The registered line a call or chat is placed from: named by address, else the first registered. */
  lineFor(address: string | undefined): LineState {
    const wanted = address?.replace(/^tel:/i, '').replace(/^sips?:/i, '');
    if (wanted) {
      const named = this.lines.find((s) => s.line.msisdn === wanted || s.line.aor === wanted || s.line.email === wanted || s.line.aor.startsWith(`${wanted}@`));
      if (named?.account) return named;
      if (named) throw omaError.conflict(`line ${named.line.msisdn} is not registered`);
    }
    const registered = this.lines.find((s) => s.account && s.state === 'Registered') ?? this.lines.find((s) => s.account);
    if (!registered) throw omaError.conflict('no line of this session is registered');
    return registered;
  }

  /** REGISTERs each line named (RFC 3261 §10.2 through the core), waiting for the first outcome. */
  async register(input: RegistrationInput): Promise<{ id: string }> {
    if (this.registration) throw omaError.conflict(`a registration exists: ${this.registration.id}`);
    const wanted = input.regInfo.map((l) => this.findLine(l));
    const id = newId('Reg', 4);
    this.registration = { id, lineIds: wanted.map((s) => s.line.lineId), pnsEnabled: input.pnsEnabled ?? false, pnsExtendedCapability: input.pnsExtendedCapability ?? false };
    const outcomes = wanted.map((s) => this.registerLine(s));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.settings.registerTimeoutMs)));
    await Promise.race([Promise.all(outcomes), deadline]);
    clearTimeout(timer);
    return { id };
  }

  private registerLine(s: LineState): Promise<void> {
    let account = s.account;
    if (!account) {
      const line = s.line;
      account = this.connection.addAccount({
        aor: line.aor,
        secret: line.ha1 ?? line.password ?? '',
        secretKind: line.ha1 ? 'ha1' : 'password',
        displayName: line.displayName,
      });
      s.account = account;
      const acc = account;
      account.on('registration', (ev) => this.onRegistration(s, acc, ev));
      account.on('message', (ev) => this.chat.onMessage(s, ev));
      account.on('disposition', (ev) => this.chat.onDisposition(s, ev));
      this.vvoip.subscriptionsChanged();
    }
    const acc = account;
    s.state = 'Registering';
    const outcome = new Promise<void>((resolve) => {
      const done = (ev: RegistrationStateEvent) => {
        if (ev.state === 'registering') return;
        acc.off('registration', done);
        resolve();
      };
      acc.on('registration', done);
    });
    acc.register();
    return outcome;
  }

  private onRegistration(s: LineState, account: Account, ev: RegistrationStateEvent): void {
    if (s.account !== account) return;
    const before = s.state;
    if (ev.state === 'registered') s.state = 'Registered';
    else if (ev.state === 'registering') s.state = before === 'Registered' ? 'Registered' : 'Registering';
    else s.state = 'Unregistered';
    s.reason = ev.reason;
    this.log.info({ line: s.line.lineId, state: ev.state, reason: ev.reason }, 'line registration');
    // Registered and Unregistered are reported on change, also when the network ends a registration.
    if (s.state !== before && s.state !== 'Registering') this.notifyRegistration(s);
  }

  private notifyRegistration(s: LineState): void {
    const payload: Record<string, unknown> = {
      lineId: s.line.lineId,
      msisdn: s.line.msisdn,
      address: aorToAddress(s.line.aor),
      registrationState: s.state,
    };
    if (s.state === 'Unregistered' && s.reason) payload.reason = s.reason;
    if (this.registration) payload.link = [{ rel: 'RegistrationInformation', href: `${this.base}${PATHS.racm(this.id)}/registration/${this.registration.id}` }];
    this.notify('racm', 'registrationNotification', payload);
  }

  registrationRepresentation(id: string): object {
    const reg = this.registration;
    if (!reg || reg.id !== id) throw omaError.notFound('Registration');
    const regInfo = reg.lineIds.map((lineId) => {
      const s = this.lines.find((l) => l.line.lineId === lineId)!;
      const info: Record<string, unknown> = { msisdn: s.line.msisdn, lineId, ...(s.line.email ? { email: s.line.email } : {}) };
      info.regStatus = { duration: this.connection.gateway.settings.registrationExpires, registrationState: s.state === 'Registering' ? 'Unregistered' : s.state, ...(s.reason && s.state !== 'Registered' ? { reason: s.reason } : {}) };
      info.instanceList = { Instance: { instanceId: s.instanceId, status: s.state === 'Registered' ? 'active' : 'inactive' } };
      info.isSim = false;
      info.permissionChangeTrigger = false;
      return info;
    });
    return {
      registrationInformation: {
        resourceURL: `${this.base}${PATHS.racm(this.id)}/registration/${reg.id}`,
        clientIP: this.remote.replace(/:\d+$/, '').replace(/^::ffff:/, ''),
        regInfo,
        pnsEnabled: reg.pnsEnabled,
        pnsExtendedCapability: reg.pnsExtendedCapability,
      },
    };
  }

  /** Removes the registration: each line's calls end and its binding is removed (un-REGISTER). */
  async deregister(id: string): Promise<void> {
    const reg = this.registration;
    if (!reg || reg.id !== id) throw omaError.notFound('Registration');
    this.registration = undefined;
    const lines = this.lines.filter((s) => s.account);
    // Bounded like a connection close: a BYE or un-REGISTER the network does not answer goes on in the background.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.connection.gateway.settings.closeTimeoutMs)));
    const removed = Promise.all(
      lines.map(async (s) => {
        const account = s.account!;
        s.account = undefined;
        const was = s.state;
        s.state = 'Unregistered';
        s.reason = undefined;
        this.chat.lineGone(s);
        await this.connection.removeAccount(account.aor).catch((err: unknown) => this.log.warn({ err }, 'removing an account failed'));
        if (was !== 'Unregistered') this.notifyRegistration(s);
      }),
    );
    await Promise.race([removed, deadline]);
    clearTimeout(timer);
  }

  // ---- closing --------------------------------------------------------------------------------------

  /** Ends everything the session owns. Idempotent. */
  close(reason: string): Promise<void> {
    this.closing ??= this.doClose(reason);
    return this.closing;
  }

  private async doClose(reason: string): Promise<void> {
    this.log.info({ reason }, 'session closing');
    clearTimeout(this.idleTimer);
    for (const ch of this.channels.values()) ch.end(reason === 'shutdown' ? 'shutdown' : 'session-closed');
    this.channels.clear();
    for (const sub of this.subscriptions.values()) clearTimeout(sub.timer);
    this.subscriptions.clear();
    this.vvoip.close();
    this.chat.close();
    this.host.sessionClosed(this);
    await this.connection.close();
    this.log.info('session closed');
  }
}

export { OmaError };
