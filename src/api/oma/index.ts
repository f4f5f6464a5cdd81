/** The REST door: an OMA/GSMA-style WebRTC API with a notification channel. See PROTOCOL.md. */
export { OmaDoor, OMA_DOOR, DEFAULT_CHANNEL_SETTINGS, DEFAULT_SESSION_SETTINGS } from './door.ts';
export type { OmaDoorOptions } from './door.ts';
export { EmbeddedAuthenticator, OAuth2Authenticator } from './auth.ts';
export type { Authenticator, OmaUser, OmaLine, OAuth2Options, EmbeddedAuthenticatorOptions, LoginAttempt } from './auth.ts';
export { WS_SUBPROTOCOL, CHANNEL_CLOSE_CODES } from './channel.ts';
export type { ChannelSettings } from './channel.ts';
export type { SessionSettings } from './session.ts';
export { OMA_ERROR_CODES, OmaError } from './errors.ts';
export type { OmaErrorCode } from './errors.ts';
export { openApiDocument } from './openapi.ts';
