/**
 * Wire ↔ door translation for both sylkRTC dialects.
 *
 * Requests: one JSON object per text frame, `sylkrtc` naming the request and `transaction` the
 * client's id for its `ack` / `error`. sylkRTC-2 names are dash-separated (`account-add`);
 * sylkRTC-1 clients also used underscores and the older names of the 2015 documentation
 * (`add_account`, `remove_account`, `register`, `unregister`), which are folded onto the same
 * requests (the 2015 server lower-cased the type and treated `-` and `_` alike).
 *
 * Events are built in the sylkRTC-2 shape (flat, dash-named) and rewritten for sylkRTC-1: the type
 * becomes `account_event` / `session_event`, the `event` name uses underscores, and everything but
 * the envelope (`sylkrtc`, `account`, `session`, `event`) moves under `data`; the ready event is
 * `{"sylkrtc":"event","event":"ready"}` (reference §7, 2015 documentation).
 */
import type { DispositionEvent, IncomingMessageEvent, Party } from '../../core/types.ts';
import { apiError, type SylkRtcError } from './errors.ts';
import { isRequestName, validateRequest, type RequestName, type RequestOf } from './validation.ts';

export const DIALECTS = ['sylkRTC-2', 'sylkRTC-1'] as const;
export type Dialect = (typeof DIALECTS)[number];

/** The dialect for the subprotocols a client offered, preferring the current one; undefined = refuse (406). */
export function chooseDialect(offered: Iterable<string>): Dialect | undefined {
  const set = new Set(offered);
  return DIALECTS.find((d) => set.has(d));
}

/** Parses a `Sec-WebSocket-Protocol` header value (comma-separated tokens). */
export function parseSubprotocols(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join(',') : header;
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

const V1_ALIASES: Record<string, RequestName> = {
  'add-account': 'account-add',
  'remove-account': 'account-remove',
  register: 'account-register',
  unregister: 'account-unregister',
};

/** The sylkRTC-2 request name for what a client sent, or undefined when the dialect has no such request. */
export function requestName(dialect: Dialect, raw: string): RequestName | undefined {
  if (dialect === 'sylkRTC-2') return isRequestName(raw) ? raw : undefined;
  const folded = raw.toLowerCase().replaceAll('_', '-');
  const name = V1_ALIASES[folded] ?? folded;
  return isRequestName(name) ? name : undefined;
}

export type DecodedFrame =
  | { ok: true; name: RequestName; transaction: string; request: RequestOf<RequestName> }
  | { ok: false; transaction?: string; name?: RequestName; error: SylkRtcError };

/** Decodes and validates one frame. Never throws: a bad frame yields the error to answer with. */
export function decodeFrame(dialect: Dialect, data: string | Buffer, isBinary: boolean): DecodedFrame {
  if (isBinary) return { ok: false, error: apiError.binaryFrame() };
  let message: unknown;
  try {
    message = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { ok: false, error: apiError.invalidJson() };
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return { ok: false, error: apiError.notAnObject() };
  const fields = message as Record<string, unknown>;
  const transaction = typeof fields.transaction === 'string' ? fields.transaction : undefined;
  const tx = transaction === undefined ? {} : { transaction };
  if (!('sylkrtc' in fields)) return { ok: false, ...tx, error: apiError.noType() };
  const raw = fields.sylkrtc;
  const name = typeof raw === 'string' ? requestName(dialect, raw) : undefined;
  if (name === undefined) return { ok: false, ...tx, error: apiError.unknownRequest(raw) };
  const result = validateRequest(name, fields);
  if (!result.ok) return { ok: false, ...tx, name, error: apiError.validation(result.error) };
  return { ok: true, name, transaction: result.request.transaction, request: result.request };
}

// ---- events (sylkRTC-2 shapes) ---------------------------------------------------------------

export interface WireParty {
  uri: string;
  display_name?: string;
}

export type AccountEventBody =
  | { event: 'registration-state'; state: 'registering' | 'registered' | 'failed'; reason?: string }
  | { event: 'incoming-session'; session: string; originator: WireParty; sdp: string; call_id: string; headers?: Record<string, string> }
  | { event: 'missed-session'; originator: WireParty }
  | {
      event: 'message';
      sender: WireParty;
      timestamp: string;
      message_id: string;
      content_type: string;
      content: string;
      disposition_notification?: string[];
    }
  | { event: 'disposition-notification'; message_id: string; message_timestamp: string; state: string; code: number; reason: string };

export type SessionEventBody =
  | { event: 'state'; state: 'progress' | 'ringing' | 'established' }
  | { event: 'state'; state: 'proceeding'; code: number }
  | { event: 'state'; state: 'early-media'; sdp: string; call_id: string }
  | { event: 'state'; state: 'accepted'; sdp?: string; call_id?: string; headers?: Record<string, string> }
  | { event: 'state'; state: 'terminated'; reason: string }
  | { event: 'update'; state: 'received' | 'accepted' | 'failed'; sdp?: string; reason?: string }
  | {
      event: 'message';
      sender: WireParty;
      timestamp: string;
      message_id: string;
      content_type: string;
      content: string;
      disposition_notification?: string[];
    }
  | { event: 'disposition-notification'; message_id: string; message_timestamp: string; state: string; code: number; reason: string };

export type WireEvent =
  | { sylkrtc: 'ready-event' }
  | ({ sylkrtc: 'account-event'; account: string } & AccountEventBody)
  | ({ sylkrtc: 'session-event'; session: string } & SessionEventBody);

const ENVELOPE = new Set(['sylkrtc', 'account', 'session', 'event']);

/** Drops `undefined` values, as SylkServer omits unset optional properties. */
function compact<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as Array<keyof T>) if (obj[key] === undefined) delete obj[key];
  return obj;
}

/** The event object as the dialect puts it on the wire. */
export function eventToWire(dialect: Dialect, event: WireEvent): Record<string, unknown> {
  const flat = compact({ ...event }) as Record<string, unknown>;
  if (dialect === 'sylkRTC-2') return flat;
  if (event.sylkrtc === 'ready-event') return { sylkrtc: 'event', event: 'ready' };
  const out: Record<string, unknown> = { sylkrtc: event.sylkrtc === 'account-event' ? 'account_event' : 'session_event' };
  if (event.sylkrtc === 'account-event') out.account = event.account;
  // The 2015 incoming_session event carried the session id beside the account, outside `data`.
  if ('session' in flat) out.session = flat.session;
  out.event = String(flat.event).replaceAll('-', '_');
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) if (!ENVELOPE.has(k)) data[k] = v;
  out.data = data;
  return out;
}

export function encodeEvent(dialect: Dialect, event: WireEvent): string {
  return JSON.stringify(eventToWire(dialect, event));
}

export function encodeAck(transaction: string): string {
  return JSON.stringify({ sylkrtc: 'ack', transaction });
}

/** `transaction` is omitted when the request had none we could read (invalid JSON, missing or non-string). */
export function encodeError(transaction: string | undefined, error: string): string {
  return JSON.stringify(transaction === undefined ? { sylkrtc: 'error', error } : { sylkrtc: 'error', transaction, error });
}

// ---- core events → event bodies ------------------------------------------------------------

export function wireParty(p: Party): WireParty {
  const name = p.displayName?.trim();
  // SylkServer strips surrounding quotes from display names (DisplayNameValidator).
  const unquoted = name && name.length >= 2 && name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1) : name;
  return unquoted ? { uri: p.uri, display_name: unquoted } : { uri: p.uri };
}

export function messageBody(ev: IncomingMessageEvent) {
  return {
    event: 'message' as const,
    sender: wireParty(ev.sender),
    timestamp: ev.timestamp,
    message_id: ev.messageId,
    content_type: ev.contentType,
    content: ev.content,
    ...(ev.dispositionNotification && ev.dispositionNotification.length > 0 ? { disposition_notification: ev.dispositionNotification } : {}),
  };
}

export function dispositionBody(ev: DispositionEvent) {
  return {
    event: 'disposition-notification' as const,
    message_id: ev.messageId,
    message_timestamp: ev.messageTimestamp,
    state: ev.state,
    code: ev.code,
    reason: ev.reason,
  };
}
