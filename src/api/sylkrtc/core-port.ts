/**
 * What the sylkRTC door uses of the core, as structural types. The core's `Gateway`, `Connection`,
 * `Account` and `Call` satisfy them (a type test checks it), and the door's unit tests drive the
 * session logic with small stand-ins of the same shape.
 */
import type {
  AddAccountCommand,
  Aor,
  CallStateEvent,
  CallUpdateEvent,
  CreateCallCommand,
  DispositionCommand,
  DispositionEvent,
  IceCandidate,
  IncomingMessageEvent,
  OutgoingMessageCommand,
  Party,
  RegistrationStateEvent,
} from '../../core/types.ts';

/** An emitter typed by an event map, as the core's objects are. */
export interface EventSource<E extends Record<string, unknown[]>> {
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): unknown;
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): unknown;
}

export type AccountPortEvents = {
  registration: [RegistrationStateEvent];
  incomingCall: [CallPort];
  missedCall: [Party];
  message: [IncomingMessageEvent];
  disposition: [DispositionEvent];
};

export type CallPortEvents = {
  state: [CallStateEvent];
  update: [CallUpdateEvent];
  message: [IncomingMessageEvent];
  disposition: [DispositionEvent];
};

/** An in-dialog message (sylkRTC `session-message`). */
export interface CallMessageCommand {
  messageId: string;
  contentType: string;
  content: string;
  timestamp: string;
}

export interface CallPort extends EventSource<CallPortEvents> {
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly account: Aor;
  readonly peer: Party;
  /** Incoming: the SIP caller's SDP. */
  readonly offer?: string | undefined;
  readonly sipCallId?: string | undefined;
  /** Incoming: INVITE headers matching the account's `incomingHeaderPrefixes`, name → value. */
  readonly headers?: Record<string, string> | undefined;
  readonly state: string;
  answer(sdp: string, headers?: Array<{ name: string; value: string }>): unknown;
  trickle(candidates: IceCandidate[]): unknown;
  terminate(): unknown;
  update(sdp: string, headers?: Array<{ name: string; value: string }>): unknown;
  sendDtmf(digit: string, durationMs: number): unknown;
  sendMessage(cmd: CallMessageCommand): unknown;
}

export interface AccountPort extends EventSource<AccountPortEvents> {
  readonly aor: Aor;
  readonly isRegistered: boolean;
  register(): void;
  unregister(): Promise<void>;
  sendMessage(cmd: OutgoingMessageCommand): unknown;
  sendDisposition(cmd: DispositionCommand): unknown;
}

export interface ConnectionPort extends EventSource<{ closed: [] }> {
  readonly id: string;
  addAccount(cmd: AddAccountCommand): AccountPort;
  account(aor: Aor): AccountPort | undefined;
  removeAccount(aor: Aor): Promise<void>;
  createCall(cmd: CreateCallCommand): CallPort;
  call(id: string): CallPort | undefined;
  close(): Promise<void>;
}

export interface GatewayPort {
  openConnection(info: { door: string; remote: string }): ConnectionPort;
}
