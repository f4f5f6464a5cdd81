/**
 * Request validation for the sylkRTC door, with SylkServer's own error strings.
 *
 * SylkServer builds a model object per request and reports the first property that fails, in model
 * order (the base class's `transaction`, then `account` or `session`, then the request's own
 * fields), as:
 *   - `Mandatory property 'session' of 'SessionTrickleRequest' object is missing`
 *   - `Invalid value for 'sdp' property: 123` (Python repr of the value; also for `null` on a
 *     required field: `... property: None`)
 *   - `Invalid value for 'state' property: 'x' (expected: delivered, displayed, error, failed or forbidden)`
 *   - `invalid SIP URI: <value>` for AOR fields (a leading `sip:` / `sips:` is stripped first)
 *   - `the value's length must be between 1 and 9999 inclusive` (password)
 *   - `Invalid value for ICECandidate: 'x'`, `Invalid value for str: 5` for bad array items.
 * The schemas below are zod objects whose error callbacks produce exactly those strings; the
 * declaration order of each object is SylkServer's property order, and zod reports issues in that
 * order, so the first issue is the one SylkServer would have raised. Unknown keys are dropped.
 *
 * Deviations (documented in PROTOCOL.md): a JSON boolean is not accepted where an integer is
 * expected (Python's `bool` is an `int`, so SylkServer accepts it); `null` is accepted for a
 * candidate's `sdpMid` / `sdpMLineIndex` (legal in a browser's RTCIceCandidateInit); a missing
 * `silent` in `account-devicetoken` means false.
 */
import { z } from 'zod';
import { parseUri } from '../../sip/message/index.ts';
import { pythonRepr } from './python-repr.ts';

const missing = (prop: string, model: string): string => `Mandatory property '${prop}' of '${model}' object is missing`;
const invalid = (prop: string, value: unknown): string => `Invalid value for '${prop}' property: ${pythonRepr(value)}`;

/** `sip:alice@example.com`, `sips:alice@example.com` and `alice@example.com` all give `alice@example.com`. */
export function normalizeAor(value: string): string | undefined {
  const colon = value.indexOf(':');
  const prefix = colon === -1 ? '' : value.slice(0, colon);
  const aor = colon !== -1 && (prefix === 'sip' || prefix === 'sips') ? value.slice(colon + 1) : value;
  try {
    parseUri(`sip:${aor}`);
  } catch {
    return undefined;
  }
  return aor;
}

type Field<T extends z.ZodType = z.ZodType> = (model: string) => T;

function typeError(prop: string, model: string) {
  return (iss: { input?: unknown }): string => (iss.input === undefined ? missing(prop, model) : invalid(prop, iss.input));
}

/** Optional fields accept a missing key or `null` (SylkServer stores None for an explicit null). */
function optional<T extends z.ZodType>(field: Field<T>) {
  return (model: string) => field(model).nullish().transform((v): z.output<T> | undefined => (v === null ? undefined : (v as z.output<T>)));
}

const str =
  (prop: string) =>
  (model: string) =>
    z.string({ error: typeError(prop, model) });

const lengthString =
  (prop: string, min: number, max: number) =>
  (model: string) => {
    const message = `the value's length must be between ${min} and ${max} inclusive`;
    return z.string({ error: typeError(prop, model) }).refine((v) => [...v].length >= min && [...v].length <= max, { error: message, abort: true });
  };

const aor =
  (prop: string) =>
  (model: string) =>
    z.string({ error: typeError(prop, model) }).transform((v, ctx) => {
      const normalized = normalizeAor(v);
      if (normalized === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid SIP URI: ${v}` });
        return z.NEVER;
      }
      return normalized;
    });

const int =
  (prop: string) =>
  (model: string) =>
    z.number({ error: typeError(prop, model) }).int({ error: typeError(prop, model) });

const bool =
  (prop: string) =>
  (model: string) =>
    z.boolean({ error: typeError(prop, model) });

/** Python's `' or '.join(', '.join(sorted(values)).rsplit(', ', 1))`. */
function choices(values: readonly string[]): string {
  const sorted = [...values].sort();
  if (sorted.length === 1) return sorted[0] as string;
  return `${sorted.slice(0, -1).join(', ')} or ${sorted[sorted.length - 1]}`;
}

const oneOf =
  <const T extends readonly [string, ...string[]]>(prop: string, values: T) =>
  (model: string) =>
    z.enum(values, {
      error: (iss) => (iss.input === undefined ? missing(prop, model) : `${invalid(prop, iss.input)} (expected: ${choices(values)})`),
    });

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

const stringList =
  (prop: string) =>
  (model: string) =>
    z.array(z.string({ error: (iss) => `Invalid value for str: ${pythonRepr(iss.input)}` }), { error: typeError(prop, model) }).transform(unique);

const aorList =
  (prop: string) =>
  (model: string) =>
    z.array(aor(prop)(model), { error: typeError(prop, model) }).transform(unique);

const candidates =
  (prop: string) =>
  (model: string) => {
    const item = z.object(
      {
        candidate: z.string({ error: typeError('candidate', 'ICECandidate') }),
        sdpMLineIndex: z.number({ error: typeError('sdpMLineIndex', 'ICECandidate') }).int({ error: typeError('sdpMLineIndex', 'ICECandidate') }).nullable(),
        sdpMid: z.string({ error: typeError('sdpMid', 'ICECandidate') }).nullable(),
        // Not in SylkServer's model (ignored there); kept for the media layer when it is a string.
        usernameFragment: z.unknown().transform((v) => (typeof v === 'string' ? v : undefined)),
      },
      { error: (iss) => `Invalid value for ICECandidate: ${pythonRepr(iss.input)}` },
    );
    return z.array(item, { error: typeError(prop, model) });
  };

const headerList =
  (prop: string) =>
  (model: string) => {
    const item = z.object(
      { name: z.string({ error: typeError('name', 'SIPHeader') }), value: z.string({ error: typeError('value', 'SIPHeader') }) },
      { error: (iss) => `Invalid value for SIPHeader: ${pythonRepr(iss.input)}` },
    );
    return z.array(item, { error: typeError(prop, model) });
  };

const object =
  (prop: string) =>
  (model: string) =>
    z.record(z.string(), z.unknown(), { error: typeError(prop, model) });

function model<F extends Record<string, Field>>(name: string, fields: F) {
  const shape = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f(name)])) as { [K in keyof F]: ReturnType<F[K]> };
  return { model: name, schema: z.object(shape) };
}

const base = { transaction: str('transaction') };
const account = { ...base, account: aor('account') };
const session = { ...base, session: str('session') };

/** Every sylkRTC-2 request: SylkServer's model name and its properties in SylkServer's order. */
export const REQUESTS = {
  ping: model('PingRequest', base),
  'lookup-public-key': model('LookupPublicKeyRequest', { ...base, uri: aor('uri') }),

  'account-add': model('AccountAddRequest', {
    ...account,
    password: lengthString('password', 1, 9999),
    display_name: optional(str('display_name')),
    user_agent: optional(str('user_agent')),
    incoming_header_prefixes: optional(stringList('incoming_header_prefixes')),
  }),
  'account-remove': model('AccountRemoveRequest', account),
  'account-register': model('AccountRegisterRequest', account),
  'account-unregister': model('AccountUnregisterRequest', account),
  'account-devicetoken': model('AccountDeviceTokenRequest', {
    ...account,
    token: str('token'),
    platform: str('platform'),
    device: str('device'),
    silent: optional(bool('silent')),
    app: str('app'),
  }),
  'account-message': model('AccountMessageRequest', {
    ...account,
    uri: aor('uri'),
    message_id: str('message_id'),
    content: str('content'),
    content_type: str('content_type'),
    timestamp: str('timestamp'),
    server_generated: optional(bool('server_generated')),
  }),
  'account-disposition-notification': model('AccountDispositionNotificationRequest', {
    ...account,
    uri: aor('uri'),
    message_id: str('message_id'),
    state: oneOf('state', ['delivered', 'failed', 'displayed', 'forbidden', 'error']),
    timestamp: str('timestamp'),
  }),
  'account-sync-conversations': model('AccountSyncConversationsRequest', {
    ...account,
    message_id: optional(str('message_id')),
    since: optional(str('since')),
    limit: optional(int('limit')),
  }),
  'account-mark-conversation-read': model('AccountMarkConversationReadRequest', { ...account, contact: aor('contact') }),
  'account-remove-message': model('AccountRemoveMessageRequest', { ...account, message_id: str('message_id'), contact: aor('contact') }),
  'account-remove-conversation': model('AccountRemoveConversationRequest', { ...account, contact: aor('contact') }),
  'account-fetch-addressbook': model('AccountFetchAddressbookRequest', account),
  'account-update-addressbook': model('AccountUpdateAddressbookRequest', {
    ...account,
    action: oneOf('action', ['add', 'update', 'delete']),
    type: oneOf('type', ['contact', 'group', 'policy']),
    data: object('data'),
  }),

  'session-create': model('SessionCreateRequest', {
    ...session,
    account: aor('account'),
    uri: aor('uri'),
    sdp: str('sdp'),
    headers: optional(headerList('headers')),
  }),
  'session-answer': model('SessionAnswerRequest', { ...session, sdp: str('sdp'), headers: optional(headerList('headers')) }),
  'session-trickle': model('SessionTrickleRequest', { ...session, candidates: candidates('candidates') }),
  'session-terminate': model('SessionTerminateRequest', session),
  'session-update': model('SessionUpdateRequest', { ...session, sdp: str('sdp'), headers: optional(headerList('headers')) }),
  'session-message': model('SessionMessageRequest', {
    ...session,
    message_id: str('message_id'),
    content: str('content'),
    content_type: str('content_type'),
    timestamp: str('timestamp'),
  }),
  'session-dtmf-info': model('SessionDtmfInfoRequest', { ...session, digit: str('digit'), duration: optional(int('duration')) }),

  'videoroom-join': model('VideoroomJoinRequest', {
    ...session,
    account: aor('account'),
    uri: aor('uri'),
    sdp: str('sdp'),
    audio: optional(bool('audio')),
    video: optional(bool('video')),
  }),
  'videoroom-leave': model('VideoroomLeaveRequest', session),
  'videoroom-configure': model('VideoroomConfigureRequest', {
    ...session,
    active_participants: (m: string) =>
      stringList('active_participants')(m).refine((v) => (v as string[]).length <= 2, { error: "the value's length must be between 0 and 2 inclusive" }),
  }),
  'videoroom-feed-attach': model('VideoroomFeedAttachRequest', { ...session, publisher: str('publisher'), feed: str('feed') }),
  'videoroom-feed-answer': model('VideoroomFeedAnswerRequest', { ...session, feed: str('feed'), sdp: str('sdp') }),
  'videoroom-feed-detach': model('VideoroomFeedDetachRequest', { ...session, feed: str('feed') }),
  'videoroom-invite': model('VideoroomInviteRequest', { ...session, participants: aorList('participants') }),
  'videoroom-session-trickle': model('VideoroomSessionTrickleRequest', { ...session, candidates: candidates('candidates') }),
  'videoroom-session-update': model('VideoroomSessionUpdateRequest', { ...session, options: object('options') }),
  'videoroom-message': model('VideoroomMessageRequest', { ...session, message_id: str('message_id'), content: str('content'), content_type: str('content_type') }),
  'videoroom-composing-indication': model('VideoroomComposingIndicationRequest', {
    ...session,
    state: oneOf('state', ['active', 'idle']),
    refresh: optional(int('refresh')),
  }),
  'videoroom-mute-audio-participants': model('VideoroomMuteAudioParticipantsRequest', session),
  'videoroom-toggle-hand': model('VideoroomToggleHandRequest', { ...session, session_id: optional(str('session_id')) }),
};

export type RequestName = keyof typeof REQUESTS;
export type RequestOf<N extends RequestName> = z.output<(typeof REQUESTS)[N]['schema']>;

export function isRequestName(name: string): name is RequestName {
  return Object.hasOwn(REQUESTS, name);
}

export type ValidationResult<N extends RequestName> = { ok: true; request: RequestOf<N> } | { ok: false; error: string };

/** Validates one decoded request; on failure `error` is SylkServer's text for the first bad property. */
export function validateRequest<N extends RequestName>(name: N, message: Record<string, unknown>): ValidationResult<N> {
  const result = REQUESTS[name].schema.safeParse(message);
  if (result.success) return { ok: true, request: result.data as RequestOf<N> };
  const first = result.error.issues[0];
  return { ok: false, error: first?.message ?? 'Invalid request' };
}
