/**
 * Test stand-ins for the core objects the door uses (core-port.ts): they record every command and
 * let a test emit core events. Used by the door's unit tests only; the interop test runs the real core.
 */
import { TypedEmitter } from '../../sip/ua/index.ts';
import { CoreError, type AddAccountCommand, type CreateCallCommand, type Party } from '../../core/types.ts';
import type { AccountPortEvents, CallPortEvents, CallPort, ConnectionPort, GatewayPort, AccountPort, CallMessageCommand } from './core-port.ts';

export class FakeCall extends TypedEmitter<CallPortEvents> implements CallPort {
  state = 'connecting';
  readonly commands: Array<[string, ...unknown[]]> = [];
  /** When set, terminate() reports `terminated` with this reason (async, like the core). */
  terminateReason: string | undefined = '200 OK';
  constructor(
    readonly id: string,
    readonly direction: 'outgoing' | 'incoming',
    readonly account: string,
    readonly peer: Party,
    readonly offer?: string,
    readonly sipCallId?: string,
    readonly headers?: Record<string, string>,
  ) {
    super();
  }
  fire<K extends keyof CallPortEvents>(event: K, ...args: CallPortEvents[K]): void {
    this.emit(event, ...args);
  }
  answer(sdp: string): void {
    if (this.direction !== 'incoming' || this.state !== 'connecting') throw new CoreError('call-bad-state', 'bad state', { state: this.state });
    this.commands.push(['answer', sdp]);
  }
  trickle(candidates: unknown[]): void {
    this.commands.push(['trickle', candidates]);
  }
  terminate(): void {
    this.commands.push(['terminate']);
    const reason = this.terminateReason;
    if (reason !== undefined) setImmediate(() => this.fire('state', { state: 'terminated', reason }));
  }
  update(sdp: string): void {
    this.commands.push(['update', sdp]);
  }
  sendDtmf(digit: string, ms: number): void {
    this.commands.push(['dtmf', digit, ms]);
  }
  sendMessage(cmd: CallMessageCommand): void {
    this.commands.push(['message', cmd]);
  }
}

export class FakeAccount extends TypedEmitter<AccountPortEvents> implements AccountPort {
  isRegistered = false;
  readonly commands: Array<[string, ...unknown[]]> = [];
  /** What register() reports, asynchronously, after `registering`. */
  registerOutcome: { state: 'registered' } | { state: 'failed'; reason: string } = { state: 'registered' };
  constructor(
    readonly aor: string,
    readonly added: AddAccountCommand,
  ) {
    super();
  }
  fire<K extends keyof AccountPortEvents>(event: K, ...args: AccountPortEvents[K]): void {
    this.emit(event, ...args);
  }
  register(): void {
    this.commands.push(['register']);
    setImmediate(() => {
      this.fire('registration', { state: 'registering' });
      setImmediate(() => {
        this.isRegistered = this.registerOutcome.state === 'registered';
        this.fire('registration', this.registerOutcome);
      });
    });
  }
  async unregister(): Promise<void> {
    this.commands.push(['unregister']);
    this.isRegistered = false;
    setImmediate(() => this.fire('registration', { state: 'unregistered' }));
  }
  sendMessage(cmd: unknown): void {
    this.commands.push(['message', cmd]);
  }
  sendDisposition(cmd: unknown): void {
    this.commands.push(['disposition', cmd]);
  }
}

export class FakeConnection extends TypedEmitter<{ closed: [] }> implements ConnectionPort {
  readonly accounts = new Map<string, FakeAccount>();
  readonly calls = new Map<string, FakeCall>();
  closed = false;
  constructor(readonly id: string) {
    super();
  }
  addAccount(cmd: AddAccountCommand): FakeAccount {
    if (cmd.aor.endsWith('@forbidden.test')) throw new CoreError('domain-not-allowed', 'no', { domain: 'forbidden.test' });
    if (this.accounts.has(cmd.aor)) throw new CoreError('account-exists', 'exists', { aor: cmd.aor });
    const a = new FakeAccount(cmd.aor, cmd);
    this.accounts.set(cmd.aor, a);
    return a;
  }
  account(aor: string): FakeAccount | undefined {
    return this.accounts.get(aor);
  }
  async removeAccount(aor: string): Promise<void> {
    this.accounts.delete(aor);
  }
  createCall(cmd: CreateCallCommand): FakeCall {
    if (this.calls.has(cmd.id)) throw new CoreError('call-exists', 'exists', { id: cmd.id });
    const c = new FakeCall(cmd.id, 'outgoing', cmd.account, { uri: cmd.to });
    c.commands.push(['create', cmd]);
    this.calls.set(cmd.id, c);
    setImmediate(() => c.fire('state', { state: 'progress' }));
    return c;
  }
  call(id: string): FakeCall | undefined {
    return this.calls.get(id);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit('closed');
  }
  /** An incoming call for one of this connection's accounts. */
  ring(aor: string, id: string, from: Party, offer = 'v=0 offer'): FakeCall {
    const c = new FakeCall(id, 'incoming', aor, from, offer, `callid-${id}`);
    this.calls.set(id, c);
    this.accounts.get(aor)!.fire('incomingCall', c);
    return c;
  }
}

export class FakeGateway implements GatewayPort {
  readonly connections: FakeConnection[] = [];
  refuse = false;
  openConnection(): FakeConnection {
    if (this.refuse) throw new CoreError('connection-closed', 'closed');
    const c = new FakeConnection(`c${this.connections.length + 1}`);
    this.connections.push(c);
    return c;
  }
}
