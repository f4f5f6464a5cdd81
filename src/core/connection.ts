/**
 * One client's connection through a door: the accounts it added and the calls it holds. An account
 * belongs to the connection that added it; the same AOR on two connections is two devices, two
 * SIP users with two Contacts and two registrations. Closing the connection ends its calls
 * (CANCEL/BYE) and removes its registrations (un-REGISTER) within a bounded time.
 */
import type { Logger } from 'pino';
import { Account } from './account.ts';
import { normalizeAor, domainOf, targetUri } from './aor.ts';
import { Call } from './call.ts';
import { CoreEmitter, type LogLevel } from './core-emitter.ts';
import type { Gateway } from './gateway.ts';
import { isPending, type PolicySession } from './policy.ts';
import { CoreError, type AddAccountCommand, type Aor, type CreateCallCommand, type DispositionEvent, type RegistrationStateEvent } from './types.ts';

/** What a door may add to `addAccountChecked`: what its client sent for the application. */
export interface ConnectOptions {
  /** An application key the client sent (WCS `appKey`). */
  appKey?: string;
  custom?: Record<string, unknown>;
  /** Whether the client will REGISTER (default true). */
  registerRequired?: boolean;
}

const NO_CALLS: ReadonlyMap<string, Call> = new Map();

export interface ConnectionEvents extends Record<string, unknown[]> {
  /** The connection closed; its accounts and calls are gone. */
  closed: [];
}

export class Connection extends CoreEmitter<ConnectionEvents> {
  readonly id: string;
  /** The door it came through, e.g. `sylkrtc`. */
  readonly door: string;
  /** The client's address as the door saw it. */
  readonly remote: string;
  readonly gateway: Gateway;
  /** This connection's conversation with the policy (REST hooks, or allow-all). */
  readonly policy: PolicySession;
  private readonly accountMap = new Map<Aor, Account>();
  /** Created with the first call: most connections only register. */
  private callMap: Map<string, Call> | undefined;
  private closing: Promise<void> | undefined;
  private childLog: Logger | undefined;

  constructor(gateway: Gateway, id: string, info: { door: string; remote: string; local?: string; app?: string }) {
    super();
    this.gateway = gateway;
    this.id = id;
    this.door = info.door;
    this.remote = info.remote;
    this.policy = gateway.policy.open({
      connectionId: id,
      door: info.door,
      remote: info.remote,
      ...(info.local !== undefined ? { local: info.local } : {}),
      ...(info.app !== undefined ? { app: info.app } : {}),
    });
    this.logAt('info', { door: info.door, remote: info.remote, app: info.app }, 'connection opened');
  }

  get log(): Logger {
    return (this.childLog ??= this.gateway.log.child({ connId: this.id }));
  }

  logAt(level: LogLevel, obj: object, msg: string): void {
    const root = this.gateway.log;
    if (root.isLevelEnabled(level)) root[level]({ connId: this.id, ...obj }, msg);
  }

  /** @internal */
  reportError(code: string, err: unknown): void {
    this.gateway.reportError(code, err);
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Adds an account to this connection; no SIP traffic yet (`register()` sends the REGISTER).
   * Throws `invalid-uri`, `domain-not-allowed`, `account-exists` or `connection-closed`.
   */
  addAccount(cmd: AddAccountCommand): Account {
    this.assertOpen();
    const aor = normalizeAor(cmd.aor);
    if (!aor) throw new CoreError('invalid-uri', `invalid account address: ${cmd.aor}`, { aor: cmd.aor });
    const domains = this.gateway.settings.domains;
    if (domains.size > 0 && !domains.has(domainOf(aor))) {
      throw new CoreError('domain-not-allowed', `domain ${domainOf(aor)} is not served here`, { aor, domain: domainOf(aor) });
    }
    if (this.accountMap.has(aor)) throw new CoreError('account-exists', `account ${aor} already added`, { aor });
    const account = new Account(this, aor, cmd);
    this.accountMap.set(aor, account);
    this.reportAccount(account);
    this.gateway.observer.accountAdded?.(account);
    return account;
  }

  /**
   * `addAccount` after asking the policy (WCS `connect`): a refusal rejects with `policy-denied`
   * (its message is the reason for the client); the policy may put other SIP credentials in place
   * of the client's. The account keeps the AOR the client named it by.
   */
  async addAccountChecked(cmd: AddAccountCommand, opts: ConnectOptions = {}): Promise<Account> {
    this.assertOpen();
    const aor = normalizeAor(cmd.aor);
    if (!aor) throw new CoreError('invalid-uri', `invalid account address: ${cmd.aor}`, { aor: cmd.aor });
    const domains = this.gateway.settings.domains;
    if (domains.size > 0 && !domains.has(domainOf(aor))) {
      throw new CoreError('domain-not-allowed', `domain ${domainOf(aor)} is not served here`, { aor, domain: domainOf(aor) });
    }
    if (this.accountMap.has(aor)) throw new CoreError('account-exists', `account ${aor} already added`, { aor });
    const identity = {
      aor: cmd.sipAor ?? aor,
      secret: cmd.secret,
      secretKind: cmd.secretKind,
      ...(cmd.authUsername !== undefined ? { authUsername: cmd.authUsername } : {}),
      ...(cmd.displayName !== undefined ? { displayName: cmd.displayName } : {}),
    };
    const answer = this.policy.connect({
      account: aor,
      identity,
      registerRequired: opts.registerRequired ?? true,
      ...(opts.appKey !== undefined ? { appKey: opts.appKey } : {}),
      ...(opts.custom !== undefined ? { custom: opts.custom } : {}),
      ...(cmd.userAgent !== undefined ? { userAgent: cmd.userAgent } : {}),
    });
    const decision = isPending(answer) ? await answer : answer;
    // The client may have left while the policy thought about it.
    this.assertOpen();
    const changed = decision.identity;
    if (!changed) return this.addAccount(cmd);
    const sipAor = changed.aor !== undefined ? normalizeAor(changed.aor) : undefined;
    if (changed.aor !== undefined && !sipAor) throw new CoreError('invalid-uri', `the policy gave an invalid account address: ${changed.aor}`, { aor: changed.aor });
    return this.addAccount({
      ...cmd,
      ...(sipAor && sipAor !== aor ? { sipAor } : {}),
      ...(changed.secret !== undefined ? { secret: changed.secret, secretKind: changed.secretKind ?? 'password' } : {}),
      ...(changed.authUsername !== undefined ? { authUsername: changed.authUsername } : {}),
      ...(changed.displayName !== undefined ? { displayName: changed.displayName } : {}),
    });
  }

  account(aor: Aor): Account | undefined {
    return this.accountMap.get(normalizeAor(aor) ?? aor);
  }

  accounts(): IterableIterator<Account> {
    return this.accountMap.values();
  }

  /** Removes an account: its calls end and its registration is removed. Throws `account-unknown`. */
  async removeAccount(aor: Aor): Promise<void> {
    const account = this.account(aor);
    if (!account) throw new CoreError('account-unknown', `unknown account ${aor}`, { aor });
    this.accountMap.delete(account.aor);
    if (this.callMap) for (const call of this.callMap.values()) if (call.account === account.aor) call.terminate();
    await account.close();
    this.gateway.observer.accountRemoved?.(account);
  }

  /**
   * Places a call from one of this connection's accounts (registered or not, as SylkServer allows).
   * Throws `call-exists`, `account-unknown`, `invalid-uri` or `connection-closed`.
   */
  createCall(cmd: CreateCallCommand): Call {
    this.assertOpen();
    if (this.callMap?.has(cmd.id)) throw new CoreError('call-exists', `call ${cmd.id} already exists`, { call: cmd.id });
    const account = this.account(cmd.account);
    if (!account) throw new CoreError('account-unknown', `unknown account ${cmd.account}`, { aor: cmd.account });
    const target = targetUri(cmd.to, domainOf(account.aor));
    if (!target) throw new CoreError('invalid-uri', `invalid call target: ${cmd.to}`, { uri: cmd.to });
    const call = Call.outgoing(this, account, cmd, target);
    (this.callMap ??= new Map()).set(call.id, call);
    this.reportCall(call);
    return call;
  }

  /**
   * `createCall` after asking the policy (WCS `call`): a refusal rejects with `policy-denied`; the
   * policy may name another callee.
   */
  async createCallChecked(cmd: CreateCallCommand): Promise<Call> {
    this.assertOpen();
    if (this.callMap?.has(cmd.id)) throw new CoreError('call-exists', `call ${cmd.id} already exists`, { call: cmd.id });
    const account = this.account(cmd.account);
    if (!account) throw new CoreError('account-unknown', `unknown account ${cmd.account}`, { aor: cmd.account });
    const target = targetUri(cmd.to, domainOf(account.aor));
    if (!target) throw new CoreError('invalid-uri', `invalid call target: ${cmd.to}`, { uri: cmd.to });
    const answer = this.policy.call({
      call: Call.outgoingInfo(account, cmd, target),
      to: cmd.to,
      ...(cmd.headers !== undefined ? { headers: cmd.headers } : {}),
    });
    const decision = isPending(answer) ? await answer : answer;
    this.assertOpen();
    return this.createCall(decision.to !== undefined && decision.to !== '' ? { ...cmd, to: decision.to } : cmd);
  }

  call(id: string): Call | undefined {
    return this.callMap?.get(id);
  }

  calls(): IterableIterator<Call> {
    return (this.callMap ?? NO_CALLS).values();
  }

  /**
   * Ends every call and removes every registration, waiting at most the gateway's
   * `closeTimeoutMs` for SIP to answer. Idempotent; emits `closed` once.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.logAt('info', { accounts: this.accountMap.size, calls: this.callMap?.size ?? 0 }, 'connection closing');
    if (this.callMap) for (const call of [...this.callMap.values()]) call.terminate();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, this.gateway.settings.closeTimeoutMs, 'timeout')));
    const accounts = [...this.accountMap.values()];
    const outcome = await Promise.race([Promise.allSettled(accounts.map((a) => a.close())), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.logAt('warn', {}, 'connection close timed out; SIP clean-up goes on in the background');
    for (const account of accounts) this.gateway.observer.accountRemoved?.(account);
    this.accountMap.clear();
    this.callMap = undefined;
    this.gateway.connectionClosed(this);
    this.policy.close();
    this.logAt('info', {}, 'connection closed');
    this.emit('closed');
    this.removeAllListeners();
  }

  // ---- used by accounts and calls --------------------------------------------------------------

  /** @internal An incoming call for one of our accounts; false if its id is taken here. */
  adoptCall(call: Call): boolean {
    if (this.closing || this.callMap?.has(call.id)) return false;
    (this.callMap ??= new Map()).set(call.id, call);
    this.reportCall(call);
    return true;
  }

  /** @internal */
  forgetCall(call: Call): void {
    if (this.callMap?.get(call.id) === call) this.callMap.delete(call.id);
  }

  private assertOpen(): void {
    if (this.closing) throw new CoreError('connection-closed', 'the connection is closed');
  }

  // Status reports for the policy, from the events the door sees too (so both tell the same story).
  private reportAccount(account: Account): void {
    const policy = this.policy;
    account.on('registration', (ev: RegistrationStateEvent) =>
      policy.report({ type: 'registration', account: account.aor, state: ev.state, ...(ev.reason !== undefined ? { reason: ev.reason } : {}) }),
    );
    account.on('disposition', (ev: DispositionEvent) => policy.report({ type: 'message', account: account.aor, event: ev }));
  }

  private reportCall(call: Call): void {
    const policy = this.policy;
    call.on('state', (event) => policy.report({ type: 'call', call: call.policyInfo(), event }));
  }
}
