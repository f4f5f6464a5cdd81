/**
 * Where the media layer plugs into calls. The core hands it every SDP crossing between the browser
 * leg and the SIP leg, and the trickled candidates; it answers with the SDP for the other leg.
 * Until the media bridge exists the identity port passes every SDP through unchanged, so the SIP
 * side must speak WebRTC media itself (ICE, DTLS-SRTP) — signalling only.
 */
import type { IceCandidate } from './types.ts';

export interface MediaCallRef {
  /** The call's id (the door's session id). */
  id: string;
  /** The connection that owns the call. */
  connectionId: string;
  /** The SIP peer: the callee's URI for outgoing calls, the caller's AOR for incoming ones (media modes are chosen by its domain). */
  peer?: string;
}

export interface MediaPort {
  /** The browser's offer (outgoing call, or our re-INVITE) → the offer to send to SIP. */
  offerToSip(browserSdp: string, call: MediaCallRef): string;
  /** The SIP answer (2xx or 183) → the answer for the browser. */
  answerFromSip(sipSdp: string, call: MediaCallRef): string;
  /** A SIP offer (incoming INVITE or re-INVITE) → the offer for the browser. */
  offerFromSip(sipSdp: string, call: MediaCallRef): string;
  /** The browser's answer → the answer to send to SIP. */
  answerToSip(browserSdp: string, call: MediaCallRef): string;
  /** Trickled browser candidates; `[]` marks the end of them. */
  trickle(candidates: IceCandidate[], call: MediaCallRef): void;
  /** The call ended: free whatever it held. */
  release(call: MediaCallRef): void;
}

/** Signalling only: every SDP passes unchanged; candidates stay with the call. */
export const identityMediaPort: MediaPort = {
  offerToSip: (sdp) => sdp,
  answerFromSip: (sdp) => sdp,
  offerFromSip: (sdp) => sdp,
  answerToSip: (sdp) => sdp,
  trickle: () => {},
  release: () => {},
};
