/**
 * A SIP account as one connection uses it: one SIP user on the shared stack (its own Contact), its
 * registration, the calls it receives and the messages it sends and receives. Registration events
 * are reported only on change, as sylkRTC clients expect (`registering` → `registered` | `failed`).
 */
import type { Logger } from 'pino';
import { failureStatus, type IncomingCall, type IncomingMessage, type Registration, type SipUser } from '../sip/ua/index.ts';
import { domainOf, partyOf, targetUri } from './aor.ts';
import { Call } from './call.ts';
import type { Connection } from './connection.ts';
import { CoreEmitter, type LogLevel } from './core-emitter.ts';
import { dispositionBody, outgoingMessageBody, readIncomingMessage } from './message.ts';
import { parseParty } from './cpim.ts';
import { isPending } from './policy.ts';
import {
  CoreError,
  type AddAccountCommand,
  type Aor,
  type DispositionCommand,
  type DispositionEvent,
  type IncomingMessageEvent,
  type OutgoingMessageCommand,
  type Party,
  type RegistrationStateEvent,
  type RegistrationStateName,
} from './types.ts';

export interface AccountEvents extends Record<string, unknown[]> {
  registration: [RegistrationStateEvent];
  /** A call from SIP; answer with `call.answer(sdp)`, decline with `call.terminate()`. */
  incomingCall: [Call];
  /** An incoming call was cancelled by the caller before anyone answered (after its `terminated`). */
  missedCall: [Party];
  message: [IncomingMessageEvent];
  /** Outcome of `sendMessage` (`accepted` / `failed`), or an IMDN received from the peer. */
  disposition: [DispositionEvent];
}

const NO_PREFIXES: readonly string[] = Object.freeze([]);

/** Failures worth retrying on their own: timeouts, transport and server trouble (RFC 3261 §21.5). */
function transient(status: number): boolean {
  return status === 0 || status === 408 || status >= 500;
}

export class Account extends CoreEmitter<AccountEvents> {
  readonly aor: Aor;
  readonly connection: Connection;
  readonly displayName: string | undefined;
  /** Incoming INVITE headers whose name starts with one of these go to the client. */
  readonly incomingHeaderPrefixes: readonly string[];
  readonly sipUser: SipUser;
  private childLog: Logger | undefined;
  private registration: Registration | undefined;
  private regState: RegistrationStateName | 'none' = 'none';
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** @internal Use `connection.addAccount()`. */
  constructor(connection: Connection, aor: Aor, cmd: AddAccountCommand) {
    super();
    this.connection = connection;
    this.aor = aor;
    this.displayName = cmd.displayName || undefined;
    const prefixes = cmd.incomingHeaderPrefixes;
    this.incomingHeaderPrefixes = prefixes && prefixes.length > 0 ? [...new Set(prefixes.map((p) => p.toLowerCase()))] : NO_PREFIXES;
    // sylkrtc.js sends H(user:realm:password) as the secret (HA1); the digest needs nothing else.
    const sipAor = cmd.sipAor ?? aor;
    // Without an auth user name the SIP user takes the AOR's user part (the same string it keeps).
    const username = cmd.authUsername;
    const credentials = cmd.secretKind === 'ha1' ? { username, ha1: cmd.secret } : { username, password: cmd.secret };
    this.sipUser = connection.gateway.stack.createUser({ aor: `sip:${sipAor}`, displayName: this.displayName, credentials });
    this.sipUser.on('invite', (call) => this.onInvite(call));
    this.sipUser.on('message', (msg) => this.onMessage(msg));
  }

  /** @internal */
  reportError(code: string, err: unknown): void {
    this.connection.gateway.reportError(code, err);
  }

  get log(): Logger {
    return (this.childLog ??= this.connection.log.child({ aor: this.aor }));
  }

  logAt(level: LogLevel, obj: object, msg: string): void {
    this.connection.logAt(level, { aor: this.aor, ...obj }, msg);
  }

  get registrationState(): RegistrationStateName | 'none' {
    return this.regState;
  }

  get isRegistered(): boolean {
    return this.regState === 'registered';
  }

  get party(): Party {
    return this.displayName ? { uri: this.aor, displayName: this.displayName } : { uri: this.aor };
  }

  /**
   * REGISTERs this account's Contact (RFC 3261 §10.2), refreshing it until `unregister()`.
   * Sending it again registers again. Outcome: `registration` events.
   */
  register(): void {
    this.assertOpen();
    this.clearRetry();
    const reg = (this.registration ??= this.createRegistration());
    if (this.regState !== 'registering') this.setState({ state: 'registering' }, true);
    this.attempt(reg);
  }

  /** Removes our binding (REGISTER with Expires: 0) and stops refreshing. */
  async unregister(): Promise<void> {
    this.clearRetry();
    const reg = this.registration;
    this.registration = undefined;
    if (reg) await reg.close();
    if (this.regState !== 'none' && this.regState !== 'unregistered') this.setState({ state: 'unregistered' }, false);
  }

  /**
   * Sends a SIP MESSAGE, CPIM-wrapped with IMDN headers. Requires a registered account (as
   * SylkServer does). The outcome comes as a `disposition` event: `accepted` on 2xx, `failed`
   * with the SIP status otherwise.
   */
  sendMessage(cmd: OutgoingMessageCommand): void {
    this.assertOpen();
    if (!this.isRegistered) throw new CoreError('account-not-registered', `account ${this.aor} is not registered`, { aor: this.aor });
    const target = targetUri(cmd.to, domainOf(this.aor));
    if (!target) throw new CoreError('invalid-uri', `invalid message target: ${cmd.to}`, { uri: cmd.to });
    const { contentType, body } = outgoingMessageBody(this.party, partyOf(target), cmd);
    const observer = this.connection.gateway.observer;
    this.sipUser.message(target, body, contentType).then(
      (res) => {
        const ok = res.status >= 200 && res.status < 300;
        observer.messageSent?.(ok ? 'accepted' : 'failed', res.status);
        this.emitInOrder('disposition', {
          messageId: cmd.messageId,
          messageTimestamp: cmd.timestamp,
          state: ok ? 'accepted' : 'failed',
          code: res.status,
          reason: res.reason,
        });
      },
      (err: unknown) => {
        const { status, reason } = failureStatus(err);
        observer.messageSent?.('failed', status);
        this.logAt('warn', { err, messageId: cmd.messageId }, 'MESSAGE failed');
        this.reportError('sip-message', err);
        this.emitInOrder('disposition', { messageId: cmd.messageId, messageTimestamp: cmd.timestamp, state: 'failed', code: status, reason });
      },
    );
  }

  /**
   * `sendMessage` after asking the policy (WCS `sendMessage`): a refusal rejects with
   * `policy-denied`; the policy may change the target or the content.
   */
  async sendMessageChecked(cmd: OutgoingMessageCommand): Promise<void> {
    this.assertOpen();
    if (!this.isRegistered) throw new CoreError('account-not-registered', `account ${this.aor} is not registered`, { aor: this.aor });
    const answer = this.connection.policy.sendMessage({
      account: this.aor,
      from: this.party,
      to: cmd.to,
      messageId: cmd.messageId,
      contentType: cmd.contentType,
      content: cmd.content,
    });
    const decision = isPending(answer) ? await answer : answer;
    this.sendMessage({ ...cmd, ...(decision.to ? { to: decision.to } : {}), ...(decision.content !== undefined ? { content: decision.content } : {}) });
  }

  /** Sends an IMDN (RFC 5438) for a message received earlier. Failures are logged only. */
  sendDisposition(cmd: DispositionCommand): void {
    this.assertOpen();
    const target = targetUri(cmd.to, domainOf(this.aor));
    if (!target) throw new CoreError('invalid-uri', `invalid notification target: ${cmd.to}`, { uri: cmd.to });
    const { contentType, body } = dispositionBody(this.party, cmd);
    this.sipUser.message(target, body, contentType).then(
      (res) => {
        if (res.status >= 300) this.logAt('info', { status: res.status, messageId: cmd.messageId }, 'IMDN refused');
      },
      (err: unknown) => {
        this.logAt('warn', { err, messageId: cmd.messageId }, 'IMDN failed');
        this.reportError('sip-message', err);
      },
    );
  }

  /** @internal Un-REGISTERs and ends every SIP session of this account. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearRetry();
    const wasRegistered = this.regState;
    await this.sipUser.close();
    this.registration = undefined;
    if (wasRegistered !== 'none' && wasRegistered !== 'unregistered') this.setState({ state: 'unregistered' }, false);
    this.removeAllListeners();
  }

  /** @internal Used by `Call` for a missed incoming call. */
  missed(party: Party): void {
    this.emitInOrder('missedCall', party);
  }

  /** @internal A message or an IMDN for this AOR, handed over by the device that received it. */
  deliver(kind: 'message', event: IncomingMessageEvent): void;
  deliver(kind: 'disposition', event: DispositionEvent): void;
  deliver(kind: 'message' | 'disposition', event: IncomingMessageEvent | DispositionEvent): void {
    if (this.closed) return;
    if (kind === 'message') this.emitInOrder('message', event as IncomingMessageEvent);
    else this.emitInOrder('disposition', event as DispositionEvent);
  }

  // ---- SIP side --------------------------------------------------------------------------------

  private createRegistration(): Registration {
    const reg = this.sipUser.registration({ expires: this.connection.gateway.settings.registrationExpires, retry: false });
    reg.on('registered', () => this.setState({ state: 'registered' }, false));
    reg.on('failed', (f) => {
      this.setState({ state: 'failed', reason: `${f.status} ${f.reason}` }, false);
      const retryMs = this.connection.gateway.settings.registrationRetryMs;
      if (retryMs > 0 && transient(f.status) && this.registration === reg) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.registration === reg && !this.closed) this.attempt(reg);
        }, retryMs);
        this.retryTimer.unref?.();
      }
    });
    return reg;
  }

  private attempt(reg: Registration): void {
    reg.register().catch(() => {
      /* reported through the `failed` event */
    });
  }

  private setState(ev: RegistrationStateEvent, soon: boolean): void {
    const from = this.regState;
    if (from === ev.state) return;
    this.regState = ev.state;
    this.logAt('info', { from, to: ev.state, reason: ev.reason }, 'registration');
    this.connection.gateway.registrationChanged(this, from, ev.state);
    if (soon) this.emitSoon('registration', ev);
    else this.emitInOrder('registration', ev);
  }

  private onInvite(incoming: IncomingCall): void {
    if (this.closed || this.listenerCount('incomingCall') === 0) {
      incoming.reject(480); // nobody to ring (RFC 3261 §21.4.18)
      return;
    }
    const answer = this.connection.policy.incomingCall(Call.incomingInfo(this, incoming));
    if (!isPending(answer)) return this.ring(incoming);
    answer.then(
      () => {
        if (incoming.state === 'Terminated') return; // the caller gave up meanwhile
        if (this.closed || this.listenerCount('incomingCall') === 0) incoming.reject(480);
        else this.ring(incoming);
      },
      (err: unknown) => {
        // Refused by the policy (WCS OnCallEvent): the caller hears 403 (RFC 3261 §21.4.4).
        this.logAt('info', { reason: (err as Error).message, sipCallId: incoming.request.callId }, 'incoming call refused by the policy');
        incoming.reject(403, 'Forbidden');
      },
    );
  }

  private ring(incoming: IncomingCall): void {
    const call = Call.incoming(this.connection, this, incoming);
    if (!call) return;
    this.emitInOrder('incomingCall', call);
  }

  private onMessage(msg: IncomingMessage): void {
    const gateway = this.connection.gateway;
    if (!gateway.firstDelivery(this, msg)) return; // a forked copy: answered 200, delivered already
    let content;
    try {
      content = readIncomingMessage(msg.contentType, msg.body.toString('utf8'), parseParty(msg.from));
    } catch (err) {
      this.logAt('info', { err }, 'malformed CPIM message refused');
      this.reportError('cpim-malformed', err);
      msg.reject(400, 'Malformed CPIM');
      return;
    }
    if (content.kind === 'message') {
      const ev = content.event;
      const answer = this.connection.policy.incomingMessage({
        account: this.aor,
        from: ev.sender,
        messageId: ev.messageId,
        contentType: ev.contentType,
        content: ev.content,
      });
      if (isPending(answer)) {
        // Answered once the policy has decided; the sender's Timer F bounds the wait (RFC 3261 §17.1.2.2).
        msg.defer();
        answer.then(
          () => {
            msg.accept();
            this.distribute(content);
          },
          (err: unknown) => {
            this.logAt('info', { reason: (err as Error).message, messageId: ev.messageId }, 'incoming message refused by the policy');
            msg.reject(403, 'Forbidden');
          },
        );
        return;
      }
    }
    this.distribute(content);
  }

  private distribute(content: ReturnType<typeof readIncomingMessage>): void {
    const gateway = this.connection.gateway;
    gateway.observer.messageReceived?.(content.kind);
    // Every device of this AOR on the gateway hears it, the receiving one first.
    const targets = new Set<Account>([this, ...gateway.registeredAccounts(this.aor)]);
    for (const account of targets) {
      if (content.kind === 'message') account.deliver('message', content.event);
      else account.deliver('disposition', content.event);
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private assertOpen(): void {
    if (this.closed || this.connection.isClosed) throw new CoreError('connection-closed', 'the connection is closed');
  }
}
