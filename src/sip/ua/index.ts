/** User-agent helpers on top of transports, transactions and dialogs. */
export { SipStack, ALLOW, SUPPORTED_METHODS, failureStatus } from './sip-stack.ts';
export type { SipStackOptions, RequestOptions, DialogOwner } from './sip-stack.ts';
export { SipUser } from './sip-user.ts';
export type { SipUserOptions, SipUserCredentials, SipUserEvents } from './sip-user.ts';
export { Registration, refreshDelayMs } from './registration.ts';
export type { RegistrationOptions, RegistrationState, RegisteredInfo, RegistrationFailure } from './registration.ts';
export { Session } from './session.ts';
export type { CallState, EndReason, RemoteReinvite, SessionEvents } from './session.ts';
export { OutgoingCall } from './outgoing-call.ts';
export type { OutgoingCallOptions } from './outgoing-call.ts';
export { IncomingCall } from './incoming-call.ts';
export { IncomingMessage } from './incoming-message.ts';
export { UaError, ClosedError } from './errors.ts';
export type { UaErrorCode } from './errors.ts';
export { TypedEmitter } from './emitter.ts';
