/**
 * The media layer's errors: each has a stable `mediaCode` and the SIP status it maps to. They are
 * `CoreError`s (code `not-supported`), so a door shows the client their message as is, e.g.
 * `488 Not Acceptable Here: no audio codec in common (offered: G722/8000)`.
 */
import { CoreError } from '../core/types.ts';

export const MEDIA_ERROR_CODES = {
  /** The SDP cannot be parsed, or lacks what its mode needs (ICE credentials, a fingerprint). */
  MEDIA_ERR_BAD_SDP: 488,
  /** Neither Opus, PCMU nor PCMA on both sides (no transcoding). */
  MEDIA_ERR_NO_COMMON_CODEC: 488,
  /** No free UDP port for a new leg. */
  MEDIA_ERR_NO_PORT: 503,
  /** An answer or candidate for a call the bridge does not hold. */
  MEDIA_ERR_UNKNOWN_CALL: 500,
  /** The bridge is closed. */
  MEDIA_ERR_CLOSED: 503,
} as const;

export type MediaErrorCode = keyof typeof MEDIA_ERROR_CODES;

const PHRASE: Record<number, string> = { 488: 'Not Acceptable Here', 500: 'Server Internal Error', 503: 'Service Unavailable' };

export class MediaError extends CoreError {
  readonly mediaCode: MediaErrorCode;
  /** The SIP status this error is answered with. */
  readonly status: number;
  readonly reason: string;
  constructor(code: MediaErrorCode, reason: string) {
    const status = MEDIA_ERROR_CODES[code];
    super('not-supported', `${status} ${PHRASE[status] ?? 'Error'}: ${reason}`);
    this.name = 'MediaError';
    this.mediaCode = code;
    this.status = status;
    this.reason = reason;
  }
}
