/** The sylkRTC WebSocket door (SylkServer's WebRTC gateway protocol, both dialects). See PROTOCOL.md. */
export { SylkRtcDoor, DEFAULT_DOOR_OPTIONS, SYLKRTC_DOOR } from './door.ts';
export type { SylkRtcDoorOptions } from './door.ts';
export { SylkRtcSession, CLOSE_CODES, DEFAULT_SESSION_LIMITS, LOCAL_TERMINATE_REASON } from './session.ts';
export type { DoorLogger, SecretKind, SessionLimits } from './session.ts';
export { DIALECTS, chooseDialect } from './codec.ts';
export type { Dialect } from './codec.ts';
export { SYLKRTC_ERROR_CODES, SylkRtcError } from './errors.ts';
export type { SylkRtcErrorCode } from './errors.ts';
export type { GatewayPort } from './core-port.ts';
