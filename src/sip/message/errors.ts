/**
 * Parse errors of the SIP message layer. Every failure carries a stable `code`, the byte `offset`
 * where it was detected, and the `status` of the response a server would answer with (only
 * meaningful when the input was a request; a broken response is dropped). The catalogue below is
 * documented in ERRORS.md; a test keeps the two in step.
 */

/** Every code this layer throws, with the response status it maps to. */
export const SIP_PARSE_ERROR_CODES = {
  /** Start line is neither `Method SP Request-URI SP SIP-Version` nor `SIP-Version SP Status-Code SP Reason` (RFC 3261 §7.1, §7.2). */
  SIP_ERR_BAD_START_LINE: 400,
  /** SIP-Version other than SIP/2.0 (RFC 3261 §8.2.2 answers 505). */
  SIP_ERR_BAD_VERSION: 505,
  /** Request method is not a token (RFC 3261 §25.1 `Method`). */
  SIP_ERR_BAD_METHOD: 400,
  /** Status-Code is not three digits in 100..699 (RFC 3261 §7.2). */
  SIP_ERR_BAD_STATUS: 400,
  /** A SIP, SIPS or absolute URI that does not follow RFC 3261 §19.1 / §25.1. */
  SIP_ERR_BAD_URI: 400,
  /** A header line without a colon, with a name that is not a token, or with a stray control character. */
  SIP_ERR_BAD_HEADER: 400,
  /** A mandatory header (Via, From, To, Call-ID, CSeq; Content-Length on streams) is absent (RFC 3261 §8.1.1). */
  SIP_ERR_MISSING_HEADER: 400,
  /** A header that may appear once (From, To, Call-ID, CSeq, Max-Forwards, ...) appears more than once. */
  SIP_ERR_DUPLICATE_HEADER: 400,
  /** CSeq is not `1*DIGIT LWS Method` or its number does not fit 31 bits (RFC 3261 §8.1.1.5). */
  SIP_ERR_BAD_CSEQ: 400,
  /** The CSeq method differs from the request's method (RFC 3261 §8.1.1.5). */
  SIP_ERR_CSEQ_MISMATCH: 400,
  /** A Via value that is not `SIP/2.0/transport sent-by *(;param)` (RFC 3261 §20.42). */
  SIP_ERR_BAD_VIA: 400,
  /** Call-ID is not `word ["@" word]` (RFC 3261 §20.8). */
  SIP_ERR_BAD_CALL_ID: 400,
  /** A From, To, Contact, Route or Record-Route value is not a valid name-addr / addr-spec (RFC 3261 §20.10). */
  SIP_ERR_BAD_NAME_ADDR: 400,
  /** A header parameter list that is not `*( SEMI token [EQUAL value] )` (RFC 3261 §25.1 `generic-param`). */
  SIP_ERR_BAD_PARAM: 400,
  /** Content-Length is not a number, appears with different values, or promises more bytes than arrived (RFC 3261 §18.3, §20.14). */
  SIP_ERR_BAD_CONTENT_LENGTH: 400,
  /** Max-Forwards is not a number in 0..255 (RFC 3261 §20.22). */
  SIP_ERR_BAD_MAX_FORWARDS: 400,
  /** Expires is not a decimal number of seconds (RFC 3261 §20.19). */
  SIP_ERR_BAD_EXPIRES: 400,
  /** No empty line ends the header section of a datagram. */
  SIP_ERR_INCOMPLETE: 400,
  /** The message exceeds the configured maximum size (RFC 3261 §21.5.11 answers 513). */
  SIP_ERR_TOO_LARGE: 513,
} as const;

export type SipParseErrorCode = keyof typeof SIP_PARSE_ERROR_CODES;

export class SipParseError extends Error {
  override readonly name = 'SipParseError';
  readonly code: SipParseErrorCode;
  /** Byte offset in the input where the problem was found (relative to the text that was parsed). */
  readonly offset: number;
  /** Status of the response to send if the input was a request. */
  readonly status: number;

  constructor(code: SipParseErrorCode, message: string, offset = 0) {
    super(message);
    this.code = code;
    this.offset = offset;
    this.status = SIP_PARSE_ERROR_CODES[code];
  }

  /** The same error moved by `delta` bytes: used when a value parser ran on a slice of a message. */
  shifted(delta: number): SipParseError {
    if (delta === 0) return this;
    return new SipParseError(this.code, this.message, this.offset + delta);
  }
}

/** Shorthand used by the parsers of this folder. */
export function fail(code: SipParseErrorCode, message: string, offset = 0): never {
  throw new SipParseError(code, message, offset);
}
