/**
 * Instant messages between the core's vocabulary and SIP MESSAGE bodies (RFC 3428): outgoing ones
 * CPIM-wrapped with IMDN headers as SylkServer sends them, incoming ones read whether CPIM or plain
 * (any other content type is taken as the content itself), and IMDN documents inside CPIM turned
 * into disposition events.
 */
import { randomUUID } from 'node:crypto';
import {
  CPIM_CONTENT_TYPE,
  IMDN_CONTENT_TYPE,
  decodeCpim,
  decodeImdn,
  encodeCpim,
  encodeImdn,
  imdnKindOf,
  type CpimEncodeInput,
} from './cpim.ts';
import type { DispositionCommand, DispositionEvent, IncomingMessageEvent, Party } from './types.ts';

/** Types that never ask for notifications: notifications themselves and typing indications. */
const NO_NOTIFICATION = new Set([IMDN_CONTENT_TYPE, 'application/im-iscomposing+xml']);

export type IncomingContent =
  | { kind: 'message'; event: IncomingMessageEvent }
  | { kind: 'disposition'; event: DispositionEvent; sender: Party };

/** The SIP body of an outgoing message: CPIM asking for delivery and display notifications. */
export function outgoingMessageBody(
  from: Party,
  to: Party,
  msg: { messageId: string; contentType: string; content: string; timestamp: string },
): { contentType: string; body: string } {
  const input: CpimEncodeInput = {
    from,
    to,
    dateTime: msg.timestamp,
    messageId: msg.messageId,
    contentType: msg.contentType,
    content: msg.content,
  };
  if (!NO_NOTIFICATION.has(msg.contentType.toLowerCase())) input.dispositionNotification = ['positive-delivery', 'display'];
  return { contentType: CPIM_CONTENT_TYPE, body: encodeCpim(input) };
}

/** The SIP body of an IMDN (RFC 5438 §7) for `cmd`, CPIM-wrapped. */
export function dispositionBody(from: Party, cmd: DispositionCommand, now = new Date()): { contentType: string; body: string } {
  const imdn = encodeImdn({ messageId: cmd.messageId, dateTime: cmd.timestamp, kind: imdnKindOf(cmd.state), status: cmd.state });
  const body = encodeCpim({
    from,
    to: { uri: cmd.to },
    dateTime: now.toISOString(),
    messageId: randomUUID(),
    contentType: IMDN_CONTENT_TYPE,
    content: imdn,
  });
  return { contentType: CPIM_CONTENT_TYPE, body };
}

/**
 * Reads an incoming MESSAGE body. `sipFrom` stands in when CPIM names no sender; `now` stamps
 * messages that carry no DateTime. Throws `CpimParseError` on a malformed CPIM body.
 */
export function readIncomingMessage(contentType: string, body: string, sipFrom: Party, now = new Date()): IncomingContent {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type !== CPIM_CONTENT_TYPE) {
    // Plain content, as SylkServer accepts it: a fresh id, the time of arrival.
    return {
      kind: 'message',
      event: { sender: sipFrom, messageId: randomUUID(), contentType: type, content: body, timestamp: now.toISOString() },
    };
  }
  const cpim = decodeCpim(body);
  const sender = cpim.from ?? sipFrom;
  if (cpim.contentType === IMDN_CONTENT_TYPE) {
    const n = decodeImdn(cpim.content);
    if (n) {
      return {
        kind: 'disposition',
        sender,
        event: { messageId: n.messageId, messageTimestamp: n.dateTime ?? cpim.dateTime ?? now.toISOString(), state: n.status, code: 200, reason: '' },
      };
    }
  }
  const event: IncomingMessageEvent = {
    sender,
    messageId: cpim.messageId ?? randomUUID(),
    contentType: cpim.contentType,
    content: cpim.content,
    timestamp: cpim.dateTime ?? now.toISOString(),
  };
  if (cpim.dispositionNotification) event.dispositionNotification = cpim.dispositionNotification;
  return { kind: 'message', event };
}
