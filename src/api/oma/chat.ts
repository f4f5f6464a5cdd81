/**
 * OMA Chat 1-to-1 (reference §1.8) of one REST session, over SIP page-mode messaging (RFC 3428
 * MESSAGE, CPIM-wrapped with IMDN, RFC 5438, as the core sends it).
 *
 * Deviation: OMA/RCS chat sessions are MSRP sessions set up with INVITE; Portico carries them as
 * page-mode MESSAGEs. A chat session is Portico's view of a conversation between one line and one
 * peer:
 * - invite (POST …/oneToOne/{other}): an isComposing (RFC 3994, `active`) MESSAGE announces it; its
 *   2xx from the peer's device makes the session Connected (`chatEventNotification` `Accepted`),
 *   a failure ends it (`Declined`);
 * - the first MESSAGE from a peer without a live session creates one on the receiving side
 *   (`chatSessionInvitationNotification`, then the `messageNotification`), which the client
 *   accepts with PUT …/status (local only: page mode has nothing to accept);
 * - messages and isComposing go out as MESSAGEs; delivery and display reports (PUT
 *   …/messages/{id}/status) as IMDNs; IMDNs received become `messageStatusNotification`s.
 * Not yet: subjects on the wire, group chat, file transfer.
 */
import { randomUUID } from 'node:crypto';
import type { DispositionEvent, IncomingMessageEvent } from '../../core/index.ts';
import { addressToAor, aorToAddress, type ChatMessageInput, type ChatSessionInput, type IsComposingInput } from './codec.ts';
import { omaError, toOmaError } from './errors.ts';
import type { LineState, OmaSession } from './session.ts';
import { PATHS } from './urls.ts';

const COMPOSING_TYPE = 'application/im-iscomposing+xml';

type ChatStatus = 'Invited' | 'Connected' | 'Terminated';

interface ChatResource {
  id: string;
  line: LineState;
  peer: string;
  /** The `{otherUserId}` path segment of this session's URLs. */
  other: string;
  direction: 'outgoing' | 'incoming';
  status: ChatStatus;
  input?: ChatSessionInput;
  inviteMessageId?: string;
  /** Messages we sent: id → their URL (for IMDNs coming back). */
  sent: Set<string>;
  /** Messages received: id → their timestamp (the IMDN names it, RFC 5438 §7.2.1.2). */
  received: Map<string, string>;
}

/** An isComposing document (RFC 3994 §3). */
export function composingXml(c: { state: 'active' | 'idle'; contenttype?: string; refresh?: number; lastActive?: string }): string {
  const parts = [`<state>${c.state}</state>`];
  if (c.lastActive) parts.push(`<lastactive>${escapeXml(c.lastActive)}</lastactive>`);
  if (c.contenttype) parts.push(`<contenttype>${escapeXml(c.contenttype)}</contenttype>`);
  if (c.refresh !== undefined && c.state === 'active') parts.push(`<refresh>${c.refresh}</refresh>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">${parts.join('')}</isComposing>`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function readComposing(xml: string): { state: string; refresh?: number; lastActive?: string } {
  const tag = (name: string) => new RegExp(`<(?:\\w+:)?${name}>\\s*([^<]*?)\\s*</`, 'i').exec(xml)?.[1];
  const refresh = Number(tag('refresh'));
  return { state: tag('state') ?? 'idle', ...(Number.isFinite(refresh) && refresh > 0 ? { refresh } : {}), ...(tag('lastactive') ? { lastActive: tag('lastactive') } : {}) };
}

function domainOf(aor: string): string {
  return aor.slice(aor.lastIndexOf('@') + 1);
}

export class ChatService {
  private readonly chats = new Map<string, ChatResource>();
  /** Live chat per line and peer. */
  private readonly byPeer = new Map<string, string>();
  /** Ad-hoc messages sent outside a session: id → line and peer (for their IMDNs). */
  private readonly adhoc = new Map<string, { line: LineState; peer: string; other: string }>();

  constructor(private readonly session: OmaSession) {}

  private base(other: string): string {
    return `${this.session.base}${PATHS.chat(this.session.id)}/oneToOne/${encodeURIComponent(other)}`;
  }

  /** POST …/oneToOne/{other}: a confirmed chat with the peer, announced with an isComposing MESSAGE. */
  invite(other: string, input: ChatSessionInput): { id: string; replay: boolean } {
    const s = this.session;
    const replay = s.replayed('chats', input.clientCorrelator);
    if (replay && this.chats.get(replay)?.status !== 'Terminated' && this.chats.has(replay)) return { id: replay, replay: true };
    if (this.chats.size >= s.settings.maxChats) throw omaError.limit('chats', s.settings.maxChats);
    const line = s.lineFor(input.originatorAddress);
    const account = line.account!;
    const peer = addressToAor(other, domainOf(account.aor));
    if (!peer) throw omaError.address('otherUserId');
    if (input.tParticipantAddress && addressToAor(input.tParticipantAddress, domainOf(account.aor)) !== peer) {
      throw omaError.invalid('chatSessionInformation.tParticipantAddress: differs from the address in the URL');
    }
    const chat: ChatResource = { id: randomUUID(), line, peer, other, direction: 'outgoing', status: 'Invited', input, sent: new Set(), received: new Map() };
    chat.inviteMessageId = randomUUID();
    try {
      account.sendMessage({ account: account.aor, to: peer, messageId: chat.inviteMessageId, contentType: COMPOSING_TYPE, content: composingXml({ state: 'active', refresh: 90 }), timestamp: new Date().toISOString() });
    } catch (err) {
      throw toOmaError(err);
    }
    this.add(chat);
    s.remember('chats', input.clientCorrelator, chat.id);
    s.log.info({ chat: chat.id, to: peer }, 'chat invitation');
    return { id: chat.id, replay: false };
  }

  representation(other: string, id: string): object {
    const c = this.get(other, id);
    const info: Record<string, unknown> = {};
    const mine = aorToAddress(c.line.line.aor);
    const theirs = aorToAddress(c.peer);
    info.originatorAddress = c.direction === 'outgoing' ? mine : theirs;
    if (c.input?.originatorName) info.originatorName = c.input.originatorName;
    info.tParticipantAddress = c.direction === 'outgoing' ? theirs : mine;
    if (c.input?.tParticipantName) info.tParticipantName = c.input.tParticipantName;
    if (c.input?.subject) info.subject = c.input.subject;
    if (c.input?.clientCorrelator !== undefined) info.clientCorrelator = c.input.clientCorrelator;
    info.status = c.status;
    info.resourceURL = `${this.base(c.other)}/${c.id}`;
    return { chatSessionInformation: info };
  }

  /** PUT …/{id}/status: the receiver accepts (or declines); Connected again is a no-op. */
  setParticipantStatus(other: string, id: string, status: 'Connected' | 'Declined' | 'Terminated'): void {
    const c = this.get(other, id);
    if (status !== 'Connected') return this.end(c);
    if (c.status === 'Connected') return;
    if (c.status === 'Invited' && c.direction === 'incoming') {
      c.status = 'Connected';
      return;
    }
    throw omaError.conflict(`chat ${id} is ${c.status}: only the invited party accepts`);
  }

  delete(other: string, id: string): void {
    this.end(this.get(other, id));
  }

  /**
   * POST …/{id}/messages (or …/adhoc/messages): a chat message (201 with its URL) or an
   * isComposing indication (no resource). Returns the message URL, or undefined for isComposing.
   */
  post(other: string, id: string, body: { kind: 'message'; msg: ChatMessageInput } | { kind: 'composing'; composing: IsComposingInput }): string | undefined {
    const { line, peer, chat } = this.target(other, id);
    const account = line.account;
    if (!account) throw omaError.conflict('the line is not registered');
    const messageId = randomUUID();
    const timestamp = new Date().toISOString();
    try {
      if (body.kind === 'composing') {
        account.sendMessage({ account: account.aor, to: peer, messageId, contentType: COMPOSING_TYPE, content: composingXml(body.composing), timestamp });
        return undefined;
      }
      account.sendMessage({ account: account.aor, to: peer, messageId, contentType: 'text/plain', content: body.msg.text, timestamp });
    } catch (err) {
      throw toOmaError(err);
    }
    if (chat) chat.sent.add(messageId);
    else this.adhoc.set(messageId, { line, peer, other });
    return `${this.base(other)}/${chat ? chat.id : 'adhoc'}/messages/${messageId}`;
  }

  /** PUT …/messages/{msgId}/status: a delivery or display report (IMDN) for a received message. */
  report(other: string, id: string, messageId: string, status: 'Delivered' | 'Displayed'): void {
    const chat = this.get(other, id);
    const timestamp = chat.received.get(messageId);
    if (timestamp === undefined) throw omaError.notFound('Message');
    const account = chat.line.account;
    if (!account) throw omaError.conflict('the line is not registered');
    try {
      account.sendDisposition({ account: account.aor, to: chat.peer, messageId, timestamp, state: status === 'Delivered' ? 'delivered' : 'displayed' });
    } catch (err) {
      throw toOmaError(err);
    }
  }

  // ---- core events --------------------------------------------------------------------------------

  onMessage(line: LineState, ev: IncomingMessageEvent): void {
    const s = this.session;
    if (!s.hasSubscription('chat') || s.isClosed) {
      s.log.info({ from: ev.sender.uri }, 'message without a chat subscription dropped');
      return;
    }
    const peer = ev.sender.uri;
    const liveId = this.byPeer.get(`${line.line.aor}\n${peer}`);
    let chat = liveId ? this.chats.get(liveId) : undefined;
    if (!chat) {
      if (this.chats.size >= s.settings.maxChats) return;
      chat = { id: randomUUID(), line, peer, other: aorToAddress(peer), direction: 'incoming', status: 'Invited', sent: new Set(), received: new Map() };
      this.add(chat);
      const url = `${this.base(chat.other)}/${chat.id}`;
      s.notify('chat', 'chatSessionInvitationNotification', {
        originatorAddress: aorToAddress(peer),
        ...(ev.sender.displayName ? { originatorName: ev.sender.displayName } : {}),
        tParticipantAddress: aorToAddress(line.line.aor),
        sessionId: chat.id,
        link: [
          { rel: 'ParticipantSessionStatus', href: `${url}/status` },
          { rel: 'ChatSessionInformation', href: url },
        ],
      });
    }
    const url = `${this.base(chat.other)}/${chat.id}`;
    const payload: Record<string, unknown> = { senderAddress: aorToAddress(peer), sessionId: chat.id, messageId: ev.messageId, dateTime: ev.timestamp };
    if (ev.contentType.toLowerCase() === COMPOSING_TYPE) {
      payload.isComposing = readComposing(ev.content);
    } else {
      chat.received.set(ev.messageId, ev.timestamp);
      payload.chatMessage = { text: ev.content };
      payload.link = [{ rel: 'MessageStatusReport', href: `${url}/messages/${ev.messageId}/status` }];
    }
    s.notify('chat', 'messageNotification', payload);
  }

  onDisposition(line: LineState, ev: DispositionEvent): void {
    const s = this.session;
    for (const chat of this.chats.values()) {
      if (chat.line !== line) continue;
      if (chat.inviteMessageId === ev.messageId) {
        if (ev.state === 'accepted') {
          if (chat.status === 'Invited') chat.status = 'Connected';
          this.event(chat, 'Accepted');
        } else if (ev.state === 'failed') {
          this.event(chat, 'Declined', `${ev.code} ${ev.reason}`.trim());
          this.end(chat, false);
        }
        return;
      }
      if (chat.sent.has(ev.messageId)) return this.messageStatus(chat.id, chat.other, ev);
    }
    const adhoc = this.adhoc.get(ev.messageId);
    if (adhoc && adhoc.line === line) this.messageStatus('adhoc', adhoc.other, ev);
  }

  /** The line was de-registered: its chats end. */
  lineGone(line: LineState): void {
    for (const chat of [...this.chats.values()]) if (chat.line === line) this.end(chat, false);
    for (const [id, m] of this.adhoc) if (m.line === line) this.adhoc.delete(id);
  }

  close(): void {
    this.chats.clear();
    this.byPeer.clear();
    this.adhoc.clear();
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private messageStatus(sessionId: string, other: string, ev: DispositionEvent): void {
    const status = ev.state === 'delivered' ? 'Delivered' : ev.state === 'displayed' ? 'Displayed' : ev.state === 'failed' || ev.state === 'error' || ev.state === 'forbidden' ? 'Failed' : undefined;
    if (!status) return; // `accepted`: the network took it; Delivered follows from the peer
    this.session.notify('chat', 'messageStatusNotification', {
      sessionId,
      messageId: ev.messageId,
      status,
      ...(status === 'Failed' && ev.code ? { reason: `${ev.code} ${ev.reason}`.trim() } : {}),
      link: [{ rel: 'ChatMessage', href: `${this.base(other)}/${sessionId}/messages/${ev.messageId}` }],
    });
  }

  private event(chat: ChatResource, eventType: 'Accepted' | 'Declined' | 'SessionEnded', reason?: string): void {
    this.session.notify('chat', 'chatEventNotification', {
      sessionId: chat.id,
      eventType,
      ...(reason ? { reason } : {}),
      link: [{ rel: 'ChatSessionInformation', href: `${this.base(chat.other)}/${chat.id}` }],
    });
  }

  private add(chat: ChatResource): void {
    this.chats.set(chat.id, chat);
    this.byPeer.set(`${chat.line.line.aor}\n${chat.peer}`, chat.id);
  }

  private end(chat: ChatResource, forget = true): void {
    chat.status = 'Terminated';
    const key = `${chat.line.line.aor}\n${chat.peer}`;
    if (this.byPeer.get(key) === chat.id) this.byPeer.delete(key);
    this.session.forget('chats', chat.input?.clientCorrelator);
    if (forget || !chat.line.account) this.chats.delete(chat.id);
  }

  /** The chat `{other}/{id}` names; 404 unless it is this session's and `other` is its peer. */
  private get(other: string, id: string): ChatResource {
    const chat = this.chats.get(id);
    if (!chat || addressToAor(other, domainOf(chat.line.line.aor)) !== chat.peer) throw omaError.notFound('Chat session');
    return chat;
  }

  private target(other: string, id: string): { line: LineState; peer: string; chat?: ChatResource } {
    if (id !== 'adhoc') {
      const chat = this.get(other, id);
      if (chat.status === 'Terminated') throw omaError.conflict(`chat ${id} is Terminated`);
      return { line: chat.line, peer: chat.peer, chat };
    }
    const line = this.session.lineFor(undefined);
    const peer = addressToAor(other, domainOf(line.line.aor));
    if (!peer) throw omaError.address('otherUserId');
    return { line, peer };
  }
}
