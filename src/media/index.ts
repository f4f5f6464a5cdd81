/** The media plane: WebRTC legs bridged to plain RTP legs per call, pass-through, and an RTP echo. */
export { MediaBridge } from './media-bridge.ts';
export type { MediaBridgeOptions, MediaMode, MediaRoute, MediaEndHandler, MediaDtmfHandler, MediaDtmfOptions } from './media-bridge.ts';
export type { CallBridgeStats, CallBridgeTimers, DtmfFromBrowser, DtmfStats } from './call-bridge.ts';
export { DtmfReader, dtmfPackets, readTelephoneEvent, DTMF_EVENTS } from './dtmf.ts';
export { RtpEcho } from './rtp-echo.ts';
export type { RtpEchoOptions, EchoStats } from './rtp-echo.ts';
export { MediaError, MEDIA_ERROR_CODES } from './errors.ts';
export type { MediaErrorCode } from './errors.ts';
export { parseSdp, serializeSdp } from './sdp.ts';
export type { SessionDescription, MediaSection } from './sdp.ts';
