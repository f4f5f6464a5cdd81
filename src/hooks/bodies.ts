/**
 * The JSON bodies of the hooks, with Web Call Server's field names, built from the core's typed
 * requests and reports; and the reverse for the fields a backend may overwrite. Every body starts
 * with `nodeId`, `appKey` and `sessionId`.
 *
 * Where Portico has no value for a WCS field it sends WCS's neutral one (`mediaProvider: "WebRTC"`,
 * `isMsrp: false`, `sipSDP: []`), so a backend that reads them finds the type it expects.
 */
import type { CallInfo, CallStateEvent, ConnectRequest, DispositionEvent, IncomingMessageRequest, MessageRequest, Party, SipIdentity } from '../core/index.ts';
import type { HookMethod } from './methods.ts';

export interface Envelope {
  nodeId: string;
  appKey: string;
  sessionId: string;
}

export type Body = Record<string, unknown>;

function userOf(aor: string): string {
  const at = aor.lastIndexOf('@');
  return at >= 0 ? aor.slice(0, at) : aor;
}

function domainOf(aor: string): string {
  const at = aor.lastIndexOf('@');
  return at >= 0 ? aor.slice(at + 1) : '';
}

/** The SIP fields of a connection, as WCS names them. */
export function sipFields(identity: SipIdentity, registerRequired: boolean): Body {
  return {
    sipLogin: userOf(identity.aor),
    sipAuthenticationName: identity.authUsername ?? userOf(identity.aor),
    sipPassword: identity.secret,
    sipVisibleName: identity.displayName ?? userOf(identity.aor),
    sipDomain: domainOf(identity.aor),
    sipRegisterRequired: registerRequired,
  };
}

export function connectBody(env: Envelope, req: ConnectRequest, door: string): Body {
  return {
    ...env,
    mediaProviders: ['WebRTC'],
    clientVersion: door,
    clientBrowserVersion: req.userAgent ?? '',
    custom: req.custom ?? {},
    keepAlive: false,
    ...sipFields(req.identity, req.registerRequired ?? true),
    /** Portico: the AOR the client names the account by. */
    account: req.account,
  };
}

/** Applies what the connect answer overwrote to the identity; undefined if nothing changed. */
export function identityFrom(before: SipIdentity, changed: Body): Partial<SipIdentity> | undefined {
  const out: Partial<SipIdentity> = {};
  const str = (k: string): string | undefined => (typeof changed[k] === 'string' && changed[k] !== '' ? (changed[k] as string) : undefined);
  const login = str('sipLogin');
  const domain = str('sipDomain');
  if (login !== undefined || domain !== undefined) {
    const aor = `${login ?? userOf(before.aor)}@${domain ?? domainOf(before.aor)}`;
    if (aor !== before.aor) out.aor = aor;
  }
  const password = str('sipPassword');
  if (password !== undefined && password !== before.secret) {
    out.secret = password;
    out.secretKind = 'password';
  }
  const auth = str('sipAuthenticationName');
  if (auth !== undefined && auth !== (before.authUsername ?? userOf(before.aor))) out.authUsername = auth;
  const visible = str('sipVisibleName');
  if (visible !== undefined && visible !== (before.displayName ?? userOf(before.aor))) out.displayName = visible;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function connectionStatusBody(env: Envelope, connection: Body, status: 'ESTABLISHED' | 'DISCONNECTED' | 'FAILED', info: string): Body {
  // The password stays out of the status events (WCS repeats it; a backend has it from `connect`).
  const { sipPassword: _omit, ...fields } = connection;
  return { ...fields, ...env, status, info };
}

const REGISTRATION_STATUS = { registered: 'REGISTERED', unregistered: 'UNREGISTERED', failed: 'FAILED' } as const;

export function registrationStatusBody(env: Envelope, account: string, identity: SipIdentity | undefined, state: 'registered' | 'unregistered' | 'failed', reason?: string): Body {
  const aor = identity?.aor ?? account;
  return {
    ...env,
    sipLogin: userOf(aor),
    sipAuthenticationName: identity?.authUsername ?? userOf(aor),
    sipVisibleName: identity?.displayName ?? userOf(aor),
    sipDomain: domainOf(aor),
    account,
    status: REGISTRATION_STATUS[state],
    info: state === 'failed' ? (reason ?? 'Failed') : state === 'registered' ? 'Registered' : 'Unregistered',
  };
}

function displayOf(p: Party): string {
  return p.displayName ?? userOf(p.uri);
}

/**
 * The envelope and the fields every call hook carries, then `status`/`info` when given, as one
 * object literal: call hooks are the most frequent, and a body of one fixed shape is built and
 * serialised faster than one assembled by spreading. An absent `sipCallId` (a call not yet sent)
 * is `undefined`, which JSON leaves out.
 */
function callBase(env: Envelope, call: CallInfo, callee: string, status: string | undefined, info: string | undefined): Body {
  return {
    nodeId: env.nodeId,
    appKey: env.appKey,
    sessionId: env.sessionId,
    callId: call.id,
    caller: call.caller.uri,
    callee,
    visibleName: displayOf(call.caller),
    incoming: call.direction === 'incoming',
    hasAudio: call.hasAudio ?? true,
    hasVideo: call.hasVideo ?? false,
    mediaProvider: 'WebRTC',
    isMsrp: false,
    holdForTransfer: false,
    sipCallId: call.sipCallId || undefined,
    status,
    info,
  };
}

export function callBody(env: Envelope, call: CallInfo, to: string, headers: Array<{ name: string; value: string }> | undefined): Body {
  // The callee as the client wrote it: what a click-to-call backend rewrites.
  const body = callBase(env, call, to, 'PENDING', undefined);
  body.sipSDP = [];
  body.inviteParameters = headers && headers.length > 0 ? Object.fromEntries(headers.map((h) => [h.name, h.value])) : {};
  body.custom = {};
  return body;
}

export function callActionBody(env: Envelope, call: CallInfo, extra?: Body): Body {
  const body = callBase(env, call, call.callee.uri, undefined, undefined);
  return extra ? Object.assign(body, extra) : body;
}

export function onCallBody(env: Envelope, call: CallInfo): Body {
  return callBase(env, call, call.callee.uri, 'PENDING', undefined);
}

const PHRASE_STATUS: Record<string, string> = { '486': 'BUSY', '600': 'BUSY' };

/** WCS's call status for a core call event; undefined for events WCS has no status for. */
export function callStatusOf(ev: CallStateEvent): { status: string; info: string } | undefined {
  switch (ev.state) {
    case 'progress':
      return { status: 'TRYING', info: 'Trying' };
    case 'proceeding':
      return ev.code === 183 ? { status: 'SESSION_PROGRESS', info: 'Session Progress' } : undefined;
    case 'ringing':
      return { status: 'RING', info: 'Ringing' };
    case 'early-media':
      return { status: 'RING_MEDIA', info: 'Ringing with media' };
    case 'established':
      return { status: 'ESTABLISHED', info: 'Established' };
    case 'terminated': {
      const m = /^(\d{3})\s*(.*)$/.exec(ev.reason);
      if (!m || m[1] === '200') return { status: 'FINISH', info: 'Normal call clearing' };
      if (m[1] === '487') return { status: 'FINISH', info: `SIP 487 ${m[2]!.toUpperCase()}` };
      return { status: PHRASE_STATUS[m[1]!] ?? 'FAILED', info: `SIP ${m[1]} ${m[2]!.toUpperCase()}` };
    }
    default:
      return undefined;
  }
}

export function callStatusBody(env: Envelope, call: CallInfo, status: { status: string; info: string }): Body {
  return callBase(env, call, call.callee.uri, status.status, status.info);
}

export function sendMessageBody(env: Envelope, req: MessageRequest): Body {
  return {
    ...env,
    id: req.messageId,
    from: req.from.uri,
    to: req.to,
    visibleName: displayOf(req.from),
    body: req.content,
    contentType: req.contentType,
    isImdnRequired: true,
    ...(req.callId ? { callId: req.callId } : {}),
  };
}

const MESSAGE_STATUS: Record<DispositionEvent['state'], string> = {
  accepted: 'ACCEPTED',
  failed: 'FAILED',
  delivered: 'IMDN_DELIVERED',
  displayed: 'IMDN_DISPLAYED',
  processed: 'IMDN_PROCESSED',
  stored: 'IMDN_STORED',
  forbidden: 'IMDN_FORBIDDEN',
  error: 'IMDN_ERROR',
};

export function messageStatusBody(env: Envelope, account: string, ev: DispositionEvent, sent: Body | undefined): Body {
  return {
    ...env,
    ...(sent ?? { from: account }),
    id: ev.messageId,
    status: MESSAGE_STATUS[ev.state],
    info: ev.state === 'accepted' || ev.state === 'failed' ? `${ev.code} ${ev.reason}`.trim() : ev.state,
  };
}

export function onMessageBody(env: Envelope, req: IncomingMessageRequest): Body {
  return {
    ...env,
    id: req.messageId,
    from: req.from.uri,
    to: req.account,
    visibleName: displayOf(req.from),
    body: req.content,
    contentType: req.contentType,
    status: 'RECEIVED',
  };
}

/** Drops the fields of `restExclude` (never the envelope). */
export function excludeFields(body: Body, exclude: readonly string[] | undefined): Body {
  if (!exclude || exclude.length === 0) return body;
  const out = { ...body };
  for (const f of exclude) if (f !== 'nodeId' && f !== 'appKey' && f !== 'sessionId') delete out[f];
  return out;
}

/** The fields of an answer that `restOverwrite` lets through (`restPolicy: OVERWRITE`). */
export function overwritten(answer: Body, allowed: readonly string[] | undefined): Body {
  const out: Body = {};
  for (const f of allowed ?? []) if (f in answer && f !== 'nodeId' && f !== 'appKey' && f !== 'sessionId') out[f] = answer[f];
  return out;
}

/** Methods whose answer may change something, and the fields that do. */
export const OVERWRITABLE: Partial<Record<HookMethod, readonly string[]>> = {
  connect: ['sipLogin', 'sipAuthenticationName', 'sipPassword', 'sipVisibleName', 'sipDomain'],
  call: ['callee'],
  sendMessage: ['to', 'body'],
};
