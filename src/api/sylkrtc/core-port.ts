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
  /** `answer` / `sendDtmf` after the gateway's policy (REST hooks) agreed; a refusal rejects with its reason. */
  answerChecked?(sdp: string, headers?: Array<{ name: string; value: string }>): Promise<void>;
  sendDtmfChecked?(digit: string, durationMs: number): Promise<void>;
}

export interface AccountPort extends EventSource<AccountPortEvents> {
  readonly aor: Aor;
  readonly isRegistered: boolean;
  register(): void;
  unregister(): Promise<void>;
  sendMessage(cmd: OutgoingMessageCommand): unknown;
  sendDisposition(cmd: DispositionCommand): unknown;
  /** `sendMessage` after the gateway's policy agreed. */
  sendMessageChecked?(cmd: OutgoingMessageCommand): Promise<void>;
}

export interface ConnectionPort extends EventSource<{ closed: [] }> {
  readonly id: string;
  addAccount(cmd: AddAccountCommand): AccountPort;
  account(aor: Aor): AccountPort | undefined;
  removeAccount(aor: Aor): Promise<void>;
  createCall(cmd: CreateCallCommand): CallPort;
  call(id: string): CallPort | undefined;
  close(): Promise<void>;
  /** `addAccount` / `createCall` after the gateway's policy agreed (and maybe changed credentials or callee). */
  addAccountChecked?(cmd: AddAccountCommand): Promise<AccountPort>;
  createCallChecked?(cmd: CreateCallCommand): Promise<CallPort>;
}

export interface GatewayPort {
  /** `app`: the REST hooks application chosen for this listener; `local`: where the client connected. */
  openConnection(info: { door: string; remote: string; local?: string; app?: string }): ConnectionPort;
}
