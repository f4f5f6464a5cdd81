/** The gateway's domain: connections, accounts, registrations, calls and messages, in typed commands and events. */
export { Gateway } from './gateway.ts';
export type { GatewayOptions, GatewayObserver, GatewayStats, GatewayEvents, LocalDomainPort, CoreSettings } from './gateway.ts';
export { Connection } from './connection.ts';
export type { ConnectionEvents, ConnectOptions } from './connection.ts';
export { Account } from './account.ts';
export type { AccountEvents } from './account.ts';
export { Call, callIdToSessionId } from './call.ts';
export type { CallEvents, CallStateName, CallMessageCommand } from './call.ts';
export { identityMediaPort } from './media-port.ts';
export { allowAllPolicy, isPending, mediaOf } from './policy.ts';
export type {
  PolicyPort,
  PolicySession,
  PolicyContext,
  PolicyReport,
  PolicyAnswer,
  SipIdentity,
  ConnectRequest,
  ConnectDecision,
  CallInfo,
  CallRequest,
  CallDecision,
  MessageRequest,
  MessageDecision,
  IncomingMessageRequest,
} from './policy.ts';
export type { MediaPort, MediaCallRef } from './media-port.ts';
export { encodeCpim, decodeCpim, encodeImdn, decodeImdn, CpimParseError, CPIM_CONTENT_TYPE, IMDN_CONTENT_TYPE } from './cpim.ts';
export type { CpimMessage, ImdnNotification, ImdnStatus } from './cpim.ts';
export { normalizeAor, targetUri } from './aor.ts';
export * from './types.ts';
