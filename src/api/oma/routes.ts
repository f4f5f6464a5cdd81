/**
 * The REST door's resources: one table of method + path pattern → handler, for every resource of
 * reference §1.3–§1.9 under a gateway session. The door authenticates the session before a handler
 * runs; handlers decode bodies (codec.ts), call the session, and answer with OMA's conventions:
 * 201 + Location + the representation with `resourceURL` for a creation (the same again for a
 * retry with the same `clientCorrelator`), 200 with the representation, 204 for a deletion.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decode, type Enabler } from './codec.ts';
import { OmaError, omaError } from './errors.ts';
import { sendEmpty, sendJson } from './http-io.ts';
import type { OmaSession } from './session.ts';
import { PATHS } from './urls.ts';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  session: OmaSession;
  /** The request body as JSON (undefined when empty); read once, size-limited. */
  json(): Promise<unknown>;
}

export interface Route {
  method: string;
  /** `/racm/v1/:sid/lineinfo`; `:name` matches one path segment (percent-decoded). */
  pattern: string;
  segments: string[];
  /** What it does, for the OpenAPI document. */
  summary: string;
  handler: (ctx: RouteContext) => Promise<void> | void;
}

const routes: Route[] = [];

function route(method: string, pattern: string, summary: string, handler: Route['handler']): void {
  routes.push({ method, pattern, segments: pattern.split('/').slice(1), summary, handler });
}

/** The route for a method and path; `allow` lists the methods of a path that exists with others. */
export function matchRoute(method: string, path: string): { route?: Route; params: Record<string, string>; allow: string[] } {
  const parts = path.split('/').slice(1);
  const allow: string[] = [];
  for (const r of routes) {
    if (r.segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = r.segments[i]!;
      if (seg.startsWith(':')) {
        try {
          params[seg.slice(1)] = decodeURIComponent(parts[i]!);
        } catch {
          ok = false;
        }
        ok &&= parts[i] !== '';
      } else ok = seg === parts[i];
    }
    if (!ok) continue;
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params, allow };
    allow.push(r.method);
  }
  return { params: {}, allow };
}

export function allRoutes(): readonly Route[] {
  return routes;
}

function created(ctx: RouteContext, url: string, body: object): void {
  sendJson(ctx.res, 201, body, { Location: url });
}

// ---- notification channels (OMA-NC §5.3) ----------------------------------------------------------

const NC = '/mavnotifyserver/notificationchannel/v1/:sid/channels';

route('POST', NC, 'Create a notification channel (WebSockets or LongPolling)', async (ctx) => {
  const input = decode.notificationChannel(await ctx.json());
  if (input.channelType !== 'WebSockets' && input.channelType !== 'LongPolling') throw new OmaError('OMA_ERR_CHANNEL_TYPE', [input.channelType, 'WebSockets, LongPolling']);
  const s = ctx.session;
  const existing = s.replayed('channels', input.clientCorrelator);
  const channel = (existing && s.channels.get(existing)) || s.createChannel({ type: input.channelType, lifetime: input.channelLifetime, maxNotifications: input.channelData?.maxNotifications, clientCorrelator: input.clientCorrelator, applicationTag: input.applicationTag });
  created(ctx, `${s.base}${PATHS.channels(s.id)}/${channel.id}`, { notificationChannel: s.channelRepresentation(channel) });
});

route('GET', NC, 'List the notification channels', (ctx) => {
  const s = ctx.session;
  sendJson(ctx.res, 200, { notificationChannelList: { notificationChannel: [...s.channels.values()].map((c) => s.channelRepresentation(c)), resourceURL: `${s.base}${PATHS.channels(s.id)}` } });
});

function channelOf(ctx: RouteContext) {
  const ch = ctx.session.channels.get(ctx.params.cid!);
  if (!ch) throw omaError.notFound('Channel');
  return ch;
}

route('GET', `${NC}/:cid`, 'Read a notification channel', (ctx) => {
  sendJson(ctx.res, 200, { notificationChannel: ctx.session.channelRepresentation(channelOf(ctx)) });
});

route('DELETE', `${NC}/:cid`, 'Delete a notification channel (the last one ends the session)', (ctx) => {
  ctx.session.deleteChannel(ctx.params.cid!);
  sendEmpty(ctx.res, 204);
});

function lifetimeBody(ctx: RouteContext, channelLifetime: number): object {
  const s = ctx.session;
  return { notificationChannelLifetime: { channelLifetime, resourceURL: `${s.base}${PATHS.channels(s.id)}/${ctx.params.cid}/channelLifetime` } };
}

route('GET', `${NC}/:cid/channelLifetime`, 'Remaining channel lifetime', (ctx) => {
  sendJson(ctx.res, 200, lifetimeBody(ctx, channelOf(ctx).remaining()));
});

route('PUT', `${NC}/:cid/channelLifetime`, 'Refresh the channel lifetime', async (ctx) => {
  const input = decode.channelLifetime(await ctx.json());
  const ch = channelOf(ctx);
  sendJson(ctx.res, 200, lifetimeBody(ctx, ch.refresh(input.channelLifetime)));
});

route('POST', `${NC}/:cid/notifications`, 'Long poll: pending notifications (LongPolling channels)', async (ctx) => {
  decode.longPoll(await ctx.json());
  const ch = channelOf(ctx);
  if (ch.type !== 'LongPolling') throw omaError.methodNotAllowed([]);
  ch.longPoll(ctx.res);
});

// ---- subscriptions (§1.4) --------------------------------------------------------------------------

const SUBSCRIPTION_BASES: Array<[Enabler, string, (ctx: RouteContext) => string]> = [
  ['vvoip', '/vvoip/vvoip/v1/:sid', (ctx) => PATHS.vvoip(ctx.session.id)],
  ['vvoip', '/vvoip/v1/:sid', (ctx) => PATHS.vvoip(ctx.session.id)],
  ['chat', '/chat/chat/v1/:sid', (ctx) => PATHS.chat(ctx.session.id)],
  ['chat', '/chat/v1/:sid', (ctx) => PATHS.chat(ctx.session.id)],
  ['racm', '/racm/v1/:sid', (ctx) => PATHS.racm(ctx.session.id)],
  ['nms', '/nms/v1/:store/:sid', (ctx) => PATHS.nms(ctx.params.store!, ctx.session.id)],
];

for (const [enabler, base, path] of SUBSCRIPTION_BASES) {
  route('POST', `${base}/subscriptions`, `Subscribe to ${enabler} notifications`, async (ctx) => {
    const input = decode.subscription(enabler, await ctx.json());
    const s = ctx.session;
    const { id } = s.createSubscription(enabler, input);
    const resourceBase = `${s.base}${path(ctx)}`;
    created(ctx, `${resourceBase}/subscriptions/${id}`, s.subscriptionRepresentation(enabler, id, resourceBase));
  });
  route('GET', `${base}/subscriptions/:subId`, `Read a ${enabler} subscription`, (ctx) => {
    sendJson(ctx.res, 200, ctx.session.subscriptionRepresentation(enabler, ctx.params.subId!, `${ctx.session.base}${path(ctx)}`));
  });
  route('DELETE', `${base}/subscriptions/:subId`, `Cancel a ${enabler} subscription`, (ctx) => {
    ctx.session.deleteSubscription(enabler, ctx.params.subId!);
    sendEmpty(ctx.res, 204);
  });
}

// ---- capability discovery (§1.6) -------------------------------------------------------------------

const CAP = '/capabilitydiscovery/v1/:sid/capabilitySources';

route('POST', CAP, 'Publish the client capabilities', async (ctx) => {
  const s = ctx.session;
  const { id } = s.createCapabilitySource(decode.capabilitySource(await ctx.json()));
  created(ctx, `${s.base}${PATHS.capabilities(s.id)}/${id}`, s.capabilityRepresentation(id));
});

route('GET', `${CAP}/:capId`, 'Read a capability source', (ctx) => {
  sendJson(ctx.res, 200, ctx.session.capabilityRepresentation(ctx.params.capId!));
});

route('PUT', `${CAP}/:capId`, 'Update a capability source', async (ctx) => {
  const input = decode.capabilitySource(await ctx.json());
  ctx.session.updateCapabilitySource(ctx.params.capId!, input);
  sendJson(ctx.res, 200, ctx.session.capabilityRepresentation(ctx.params.capId!));
});

route('DELETE', `${CAP}/:capId`, 'Remove a capability source', (ctx) => {
  ctx.session.deleteCapabilitySource(ctx.params.capId!);
  sendEmpty(ctx.res, 204);
});

// ---- RACM (§1.5) ------------------------------------------------------------------------------------

route('GET', '/racm/v1/:sid/lineinfo', "The user's lines", (ctx) => {
  sendJson(ctx.res, 200, ctx.session.lineInformation());
});

route('POST', '/racm/v1/:sid/registration', 'Register lines (SIP REGISTER each)', async (ctx) => {
  const s = ctx.session;
  const { id } = await s.register(decode.registration(await ctx.json()));
  sendJson(ctx.res, 200, s.registrationRepresentation(id), { Location: `${s.base}${PATHS.racm(s.id)}/registration/${id}` });
});

route('GET', '/racm/v1/:sid/registration/:regId', 'Read the registration', (ctx) => {
  sendJson(ctx.res, 200, ctx.session.registrationRepresentation(ctx.params.regId!));
});

route('DELETE', '/racm/v1/:sid/registration/:regId', 'De-register (un-REGISTER every line)', async (ctx) => {
  await ctx.session.deregister(ctx.params.regId!);
  sendEmpty(ctx.res, 204);
});

// ---- VVoIP (§1.7) -----------------------------------------------------------------------------------

for (const base of ['/vvoip/vvoip/v1/:sid', '/vvoip/v1/:sid']) {
  route('POST', `${base}/sessions`, 'Place a call (INVITE)', async (ctx) => {
    const s = ctx.session;
    const { id } = s.vvoip.create(decode.vvoipSession(await ctx.json()));
    created(ctx, `${s.base}${PATHS.vvoip(s.id)}/sessions/${id}`, s.vvoip.representation(id));
  });
  route('GET', `${base}/sessions/:callId`, 'Read a call', (ctx) => {
    sendJson(ctx.res, 200, ctx.session.vvoip.representation(ctx.params.callId!));
  });
  route('PUT', `${base}/sessions/:callId/status`, 'Answer, decline, hold or resume a call', async (ctx) => {
    const input = decode.sessionStatus(await ctx.json());
    ctx.session.vvoip.updateStatus(ctx.params.callId!, input);
    sendJson(ctx.res, 200, ctx.session.vvoip.representation(ctx.params.callId!));
  });
  route('DELETE', `${base}/sessions/:callId`, 'Cancel, decline or hang up a call', (ctx) => {
    ctx.session.vvoip.delete(ctx.params.callId!);
    sendEmpty(ctx.res, 204);
  });
}

// ---- Chat (§1.8) ------------------------------------------------------------------------------------

for (const base of ['/chat/chat/v1/:sid/oneToOne/:other', '/chat/v1/:sid/oneToOne/:other']) {
  route('POST', base, 'Invite to a 1-to-1 chat', async (ctx) => {
    const s = ctx.session;
    const other = ctx.params.other!;
    const { id } = s.chat.invite(other, decode.chatSession(await ctx.json()));
    const rep = s.chat.representation(other, id) as { chatSessionInformation: { resourceURL: string } };
    created(ctx, rep.chatSessionInformation.resourceURL, rep);
  });
  // Landslide posts messages to …/oneToOne/{other}/messages: taken as ad-hoc messaging.
  const post = async (ctx: RouteContext, chatId: string) => {
    const url = ctx.session.chat.post(ctx.params.other!, chatId, decode.chatPost(await ctx.json()));
    if (url === undefined) sendEmpty(ctx.res, 204);
    else created(ctx, url, { resourceReference: { resourceURL: url } });
  };
  route('POST', `${base}/messages`, 'Send an ad-hoc message or isComposing (Landslide form)', (ctx) => post(ctx, 'adhoc'));
  route('GET', `${base}/:chatId`, 'Read a chat session', (ctx) => {
    sendJson(ctx.res, 200, ctx.session.chat.representation(ctx.params.other!, ctx.params.chatId!));
  });
  route('DELETE', `${base}/:chatId`, 'Leave or decline a chat session', (ctx) => {
    ctx.session.chat.delete(ctx.params.other!, ctx.params.chatId!);
    sendEmpty(ctx.res, 204);
  });
  route('PUT', `${base}/:chatId/status`, 'Accept (or decline) an invitation', async (ctx) => {
    const input = decode.participantStatus(await ctx.json());
    ctx.session.chat.setParticipantStatus(ctx.params.other!, ctx.params.chatId!, input.status);
    sendEmpty(ctx.res, 204);
  });
  route('POST', `${base}/:chatId/messages`, 'Send a message (201) or isComposing (204)', (ctx) => post(ctx, ctx.params.chatId!));
  route('PUT', `${base}/:chatId/messages/:msgId/status`, 'Delivery or display report (IMDN)', async (ctx) => {
    const input = decode.messageStatusReport(await ctx.json());
    ctx.session.chat.report(ctx.params.other!, ctx.params.chatId!, ctx.params.msgId!, input.status);
    sendEmpty(ctx.res, 204);
  });
}
