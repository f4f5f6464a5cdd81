/**
 * The SIP message layer: parse and serialize RFC 3261 messages, their URIs and structured
 * headers, and frame them on streams. Other layers import from here only.
 */
export { SIP_PARSE_ERROR_CODES, SipParseError } from './errors.ts';
export type { SipParseErrorCode } from './errors.ts';
export type { Params } from './params.ts';
export { formatParams, parseGenericParams, quote, unquote } from './params.ts';
export type { SipUri } from './uri.ts';
export { cloneUri, formatUri, parseUri, uriEquals } from './uri.ts';
export type { NameAddr } from './name-addr.ts';
export { cloneNameAddr, formatNameAddr, parseNameAddr } from './name-addr.ts';
export type { Via } from './via.ts';
export { cloneVia, formatVia, parseVia } from './via.ts';
export type { CSeq } from './cseq.ts';
export { formatCSeq, parseCSeq } from './cseq.ts';
export { SipHeaders, headerKey, isListHeader, splitCommaList } from './headers.ts';
export { SipMessageBase, SipRequest, SipResponse, isRequest, isResponse } from './message.ts';
export type { SipMessage } from './message.ts';
export { DEFAULT_MAX_MESSAGE_SIZE, parseMessage } from './parser.ts';
export type { ParseOptions } from './parser.ts';
export { serializeMessage } from './serializer.ts';
export { StreamFramer } from './stream-framer.ts';
export type { StreamFramerHandlers, StreamFramerOptions } from './stream-framer.ts';
export { createRequest, createResponse } from './builders.ts';
export type { CreateRequestOptions, CreateResponseOptions, HeaderInit } from './builders.ts';
export { BRANCH_MAGIC_COOKIE, newBranch, newCallId, newTag } from './ids.ts';
export { reasonPhrase } from './reason-phrase.ts';
