/**
 * Request bodies of the REST door: zod schemas for every JSON root element a client may send, with
 * the harmless OMA quirks tolerated on input (reference §1.2, §1.11: numbers and booleans as
 * strings, a one-element array as a bare object, an empty `resourceURL` in a POST, Landslide's
 * `channelData.type` and `client-correlator`), everything else strict: an unknown field, a wrong
 * type or a non-empty `resourceURL` in a POST is an OMA error naming the message part. Addresses
 * (`tel:`, `sip:`, bare numbers) are turned into AORs here.
 */
import { z } from 'zod';
import { omaError, OmaError } from './errors.ts';

// ---- quirk-tolerant primitives -------------------------------------------------------------------

/** OMA examples send numbers as strings (`"channelLifetime": "3600"`). */
const num = z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(v) ? Number(v) : v), z.number());
const int = (min: number, max: number) => z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v), z.number().int().min(min).max(max));
/** Booleans as strings (`"isSim":"false"` in Landslide's examples). */
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
/** A correlator may come as a number; we echo it as a string. */
const correlator = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().max(256));
/** A one-element array may arrive as the bare element. */
const list = <T extends z.ZodType>(item: T, min = 0, max = 64) => z.preprocess((v) => (v === undefined || v === null || Array.isArray(v) ? v : [v]), z.array(item).min(min).max(max));
/** The client must not send `resourceURL` in a POST; Landslide sends `""`, which we ignore. */
const noResourceUrl = z.literal('', { error: 'must not be sent' }).optional();
const text = (max = 1024) => z.string().max(max);
const sdpText = z.string().min(1).max(64 * 1024);

export const SESSION_STATUSES = [
  'Initial',
  'InProgress',
  'Ringing',
  'Proceeding',
  'Connected',
  'Terminated',
  'Hold',
  'Resume',
  'SessionCancelled',
  'Declined',
  'Failed',
  'Waiting',
  'NoAnswer',
  'NotReachable',
  'Busy',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

// ---- notification channel (OMA-NC §5.3) -----------------------------------------------------------

export const CHANNEL_TYPES = ['LongPolling', 'OMAPush', 'WebSockets', 'NativeChannel'] as const;

const notificationChannel = z
  .object({
    clientCorrelator: correlator.optional(),
    applicationTag: text(256).optional(),
    channelType: z.enum(CHANNEL_TYPES),
    channelData: z
      .object({
        maxNotifications: int(1, 1000).optional(),
        /** Landslide's vendor addition (`"type":"WebSocketData"`); JSON never marks the subtype. */
        type: text(64).optional(),
      })
      .strict()
      .optional(),
    channelLifetime: int(0, 10 * 365 * 86400).optional(),
    resourceURL: noResourceUrl,
  })
  .strict();

const channelLifetime = z.object({ channelLifetime: int(0, 10 * 365 * 86400) }).strict();

// ---- subscriptions (§1.4) -------------------------------------------------------------------------

const callbackReference = z
  .object({
    notifyURL: z.string().min(1).max(2048),
    callbackData: text(256).optional(),
    notificationFormat: z.enum(['JSON']).optional(),
  })
  .strict();

const subscriptionBase = {
  callbackReference,
  duration: int(0, 10 * 365 * 86400).optional(),
  clientCorrelator: correlator.optional(),
  resourceURL: noResourceUrl,
};

const vvoipSubscription = z.object(subscriptionBase).strict();
const chatSubscription = z.object({ ...subscriptionBase, confirmedChatSupported: bool.optional(), adhocChatSupported: bool.optional() }).strict();
const racmSubscription = z.object(subscriptionBase).strict();
const nmsSubscription = z.object({ ...subscriptionBase, index: int(0, Number.MAX_SAFE_INTEGER).optional(), restartToken: z.union([z.string(), z.number()]).optional() }).strict();

export const ENABLERS = {
  vvoip: { root: 'vvoipNotificationSubscription', schema: vvoipSubscription },
  chat: { root: 'chatNotificationSubscription', schema: chatSubscription },
  racm: { root: 'racmNotificationSubscription', schema: racmSubscription },
  nms: { root: 'nmsSubscription', schema: nmsSubscription },
} as const;
export type Enabler = keyof typeof ENABLERS;

// ---- capability discovery (§1.6) -------------------------------------------------------------------

const capabilitySource = z
  .object({
    serviceCapability: list(z.object({ capabilityId: z.string().min(1).max(64), status: z.enum(['Enabled', 'Disabled']) }).strict()),
    clientCorrelator: correlator.optional(),
    /** Landslide's PUT_CAP spelling of `clientCorrelator` (§1.11). */
    'client-correlator': correlator.optional(),
    duration: int(0, 10 * 365 * 86400).optional(),
    resourceURL: z.string().max(2048).optional(),
  })
  .strict();

// ---- RACM (§1.5) ----------------------------------------------------------------------------------

const registrationInformation = z
  .object({
    regInfo: list(
      z
        .object({ lineId: text(64).optional(), email: text(256).optional(), msisdn: text(64).optional() })
        .strict()
        .refine((l) => l.lineId || l.msisdn || l.email, { error: 'names no line' }),
      1,
      16,
    ),
    pnsEnabled: bool.optional(),
    pnsExtendedCapability: bool.optional(),
    clientCorrelator: correlator.optional(),
    resourceURL: noResourceUrl,
  })
  .strict();

// ---- VVoIP (§1.7) ---------------------------------------------------------------------------------

const wrtcsSdp = z.object({ sdp: sdpText }).strict();

const vvoipSessionInformation = z
  .object({
    originatorAddress: text(256),
    originatorName: text(256).optional(),
    receiverAddress: text(256),
    receiverName: text(256).optional(),
    sdp: sdpText.optional(),
    offer: wrtcsSdp.optional(),
    status: z.literal('Initial').optional(),
    clientCorrelator: correlator.optional(),
    resourceURL: noResourceUrl,
  })
  .strict()
  .refine((v) => v.sdp !== undefined || v.offer !== undefined, { error: 'an offer (sdp or offer.sdp) is required', path: ['sdp'] });

const sessionStatusUpdate = z
  .object({
    status: z.enum(SESSION_STATUSES),
    responseCode: int(100, 699).optional(),
    reason: text(256).optional(),
    sdp: sdpText.optional(),
    answer: wrtcsSdp.optional(),
    offer: wrtcsSdp.optional(),
  })
  .strict();

// ---- Chat (§1.8) ----------------------------------------------------------------------------------

const chatSessionInformation = z
  .object({
    originatorAddress: text(256).optional(),
    originatorName: text(256).optional(),
    tParticipantAddress: text(256).optional(),
    tParticipantName: text(256).optional(),
    subject: text(1024).optional(),
    status: z.literal('Invited').optional(),
    clientCorrelator: correlator.optional(),
    resourceURL: noResourceUrl,
  })
  .strict();

const participantSessionStatus = z.object({ status: z.enum(['Connected', 'Declined', 'Terminated']) }).strict();

const chatMessage = z
  .object({
    text: z.string().max(16 * 1024),
    reportRequest: list(z.enum(['Delivered', 'Displayed', 'Failed'])).optional(),
    clientCorrelator: correlator.optional(),
    resourceURL: noResourceUrl,
  })
  .strict();

const isComposing = z
  .object({
    state: z.enum(['active', 'idle']),
    lastActive: text(64).optional(),
    contenttype: text(128).optional(),
    refresh: int(0, 86400).optional(),
  })
  .strict();

const messageStatusReport = z.object({ status: z.enum(['Delivered', 'Displayed']) }).strict();

// ---- decoding -------------------------------------------------------------------------------------

export type NotificationChannelInput = z.infer<typeof notificationChannel>;
export type SubscriptionInput = z.infer<typeof nmsSubscription> & z.infer<typeof chatSubscription>;
export type CapabilitySourceInput = z.infer<typeof capabilitySource>;
export type RegistrationInput = z.infer<typeof registrationInformation>;
export type VvoipSessionInput = z.infer<typeof vvoipSessionInformation>;
export type SessionStatusInput = z.infer<typeof sessionStatusUpdate>;
export type ChatSessionInput = z.infer<typeof chatSessionInformation>;
export type ChatMessageInput = z.infer<typeof chatMessage>;
export type IsComposingInput = z.infer<typeof isComposing>;

/** Turns the first zod issue into the OMA error naming the message part (`root.field`). */
function toOmaError(root: string, error: z.ZodError): OmaError {
  const issue = error.issues[0]!;
  const part = [root, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') return omaError.invalid(`${part}.${issue.keys[0]}: unknown field`);
  if (issue.code === 'invalid_value' && issue.values.length > 1) return omaError.invalidValue(part, issue.values.map(String).join(', '));
  return omaError.invalid(`${part}: ${issue.message}`);
}

/** The object under `root` in `doc`, validated by `schema`. */
function decodeRoot<T extends z.ZodType>(doc: unknown, root: string, schema: T): z.infer<T> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw omaError.badJson(`body: expected a JSON object with ${root}`);
  const keys = Object.keys(doc);
  if (keys.length !== 1 || keys[0] !== root) throw omaError.invalid(`body: expected the root element ${root}, got ${keys.join(', ') || 'nothing'}`);
  const inner = (doc as Record<string, unknown>)[root];
  const parsed = schema.safeParse(inner);
  if (!parsed.success) throw toOmaError(root, parsed.error);
  return parsed.data;
}

export const decode = {
  notificationChannel: (doc: unknown) => decodeRoot(doc, 'notificationChannel', notificationChannel),
  channelLifetime: (doc: unknown) => decodeRoot(doc, 'notificationChannelLifetime', channelLifetime),
  subscription: (enabler: Enabler, doc: unknown): SubscriptionInput => decodeRoot(doc, ENABLERS[enabler].root, ENABLERS[enabler].schema as z.ZodType<SubscriptionInput>),
  capabilitySource: (doc: unknown) => decodeRoot(doc, 'capabilitySource', capabilitySource),
  registration: (doc: unknown) => decodeRoot(doc, 'registrationInformation', registrationInformation),
  vvoipSession: (doc: unknown) => decodeRoot(doc, 'vvoipSessionInformation', vvoipSessionInformation),
  /** PUT …/status: the receiver's (CAMARA `receiverSessionStatus`) or the originator's status. */
  sessionStatus: (doc: unknown): SessionStatusInput => {
    const root = doc && typeof doc === 'object' && !Array.isArray(doc) ? Object.keys(doc)[0] : undefined;
    const name = root === 'originatorSessionStatus' || root === 'sessionStatus' ? root : 'receiverSessionStatus';
    return decodeRoot(doc, name, sessionStatusUpdate);
  },
  chatSession: (doc: unknown) => decodeRoot(doc, 'chatSessionInformation', chatSessionInformation),
  /** An empty body accepts, as GSMA's server took it. */
  participantStatus: (doc: unknown) => (doc === undefined ? { status: 'Connected' as const } : decodeRoot(doc, 'participantSessionStatus', participantSessionStatus)),
  /** A chat message or an isComposing indication. */
  chatPost: (doc: unknown): { kind: 'message'; msg: ChatMessageInput } | { kind: 'composing'; composing: IsComposingInput } => {
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && 'isComposing' in doc) return { kind: 'composing', composing: decodeRoot(doc, 'isComposing', isComposing) };
    return { kind: 'message', msg: decodeRoot(doc, 'chatMessage', chatMessage) };
  },
  messageStatusReport: (doc: unknown) => decodeRoot(doc, 'messageStatusReport', messageStatusReport),
  /** A long poll: `{"longPollingRequestParameters":null}` or an empty body. */
  longPoll: (doc: unknown): void => {
    if (doc === undefined) return;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc) || Object.keys(doc).some((k) => k !== 'longPollingRequestParameters')) {
      throw omaError.invalid('body: expected longPollingRequestParameters');
    }
  },
};

/** The SDP of a body in either encoding: flat `sdp`, or nested `offer.sdp` / `answer.sdp`. */
export function sdpOf(v: { sdp?: string; offer?: { sdp: string }; answer?: { sdp: string } }): string | undefined {
  return v.sdp ?? v.answer?.sdp ?? v.offer?.sdp;
}

// ---- addresses ------------------------------------------------------------------------------------

const NUMBER = /^\+?[0-9][0-9\-.()]*$/;
const USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/** A phone number as SIP user part: visual separators of RFC 3966 §5.1.1 dropped. */
function cleanNumber(n: string): string {
  return n.replace(/[\-.()]/g, '');
}

/**
 * An address as OMA clients write it (`tel:+1…`, `sip:user@host`, a bare number, `user@host`,
 * percent-encoded or not) → an AOR; a number without host gets `domain`. Undefined if malformed.
 */
export function addressToAor(address: string, domain: string): string | undefined {
  let a = address.trim();
  if (/%[0-9A-Fa-f]{2}/.test(a)) {
    try {
      a = decodeURIComponent(a);
    } catch {
      return undefined;
    }
  }
  if (/^tel:/i.test(a)) {
    const n = a.slice(4).split(';')[0]!;
    return NUMBER.test(n) ? `${cleanNumber(n)}@${domain}` : undefined;
  }
  a = a.replace(/^sips?:/i, '').split(/[;?]/)[0]!;
  const at = a.lastIndexOf('@');
  if (at < 0) {
    if (NUMBER.test(a)) return `${cleanNumber(a)}@${domain}`;
    return USER.test(a) ? `${a}@${domain}` : undefined;
  }
  const user = a.slice(0, at);
  const host = a.slice(at + 1).toLowerCase();
  if (!USER.test(user) || !HOST.test(host)) return undefined;
  return `${NUMBER.test(user) ? cleanNumber(user) : user}@${host}`;
}

/** An AOR as the door writes addresses: `tel:+1…` for a global number, else `sip:user@host`. */
export function aorToAddress(aor: string): string {
  const user = aor.slice(0, aor.lastIndexOf('@'));
  return /^\+[0-9]+$/.test(user) ? `tel:${user}` : `sip:${aor}`;
}
