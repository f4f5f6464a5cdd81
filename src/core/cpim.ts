/**
 * Message/CPIM (RFC 3862) as SylkServer wraps instant messages in SIP MESSAGE, with the IMDN
 * (RFC 5438) headers that ask for and carry delivery and display notifications.
 *
 * A CPIM message is: message headers, a blank line, the MIME headers of the content, a blank line,
 * the content (RFC 3862 §2). Header names may carry a namespace prefix declared by an `NS` header
 * (`NS: imdn <urn:ietf:params:imdn>` then `imdn.Message-ID: ...`, RFC 3862 §3.3.3, RFC 5438 §5).
 */
import type { Party } from './types.ts';

export const CPIM_CONTENT_TYPE = 'message/cpim';
export const IMDN_CONTENT_TYPE = 'message/imdn+xml';
export const IMDN_NAMESPACE = 'urn:ietf:params:imdn';
const IMDN_XML_NAMESPACE = 'urn:ietf:params:xml:ns:imdn';

export class CpimParseError extends Error {
  readonly code = 'CPIM_ERR_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'CpimParseError';
  }
}

export interface CpimMessage {
  from?: Party;
  to: Party[];
  /** `DateTime` as sent (RFC 3339). */
  dateTime?: string;
  /** `imdn.Message-ID` (RFC 5438 §6.3). */
  messageId?: string;
  /** `imdn.Disposition-Notification` values, e.g. `['positive-delivery', 'display']` (RFC 5438 §6.2). */
  dispositionNotification?: string[];
  /** Content-Type of the content, without parameters. */
  contentType: string;
  /** Content-Type as written, parameters included. */
  contentTypeFull: string;
  content: string;
}

export interface CpimEncodeInput {
  from: Party;
  to: Party;
  dateTime: string;
  messageId: string;
  dispositionNotification?: string[];
  contentType: string;
  content: string;
}

/** Writes a CPIM message; parties are written as `sip:` URIs (the AOR without scheme gets one). */
export function encodeCpim(msg: CpimEncodeInput): string {
  const lines = [`From: ${formatParty(msg.from)}`, `To: ${formatParty(msg.to)}`, `DateTime: ${msg.dateTime}`];
  lines.push(`NS: imdn <${IMDN_NAMESPACE}>`, `imdn.Message-ID: ${msg.messageId}`);
  if (msg.dispositionNotification && msg.dispositionNotification.length > 0) {
    lines.push(`imdn.Disposition-Notification: ${msg.dispositionNotification.join(', ')}`);
  }
  return `${lines.join('\r\n')}\r\n\r\nContent-Type: ${msg.contentType}\r\n\r\n${msg.content}`;
}

/** Reads a CPIM message; line ends may be CRLF or LF. Throws `CpimParseError`. */
export function decodeCpim(text: string): CpimMessage {
  const first = splitBlock(text, 0);
  if (!first) throw new CpimParseError('no blank line after the message headers');
  const second = splitBlock(text, first.next);
  if (!second) throw new CpimParseError('no blank line after the content headers');

  const namespaces = new Map<string, string>();
  const headers: Array<[string, string]> = [];
  for (const [name, value] of parseHeaderLines(first.block)) {
    if (name.toLowerCase() === 'ns') {
      // `NS: prefix <uri>`; without a prefix it names the default namespace.
      const m = /^\s*([^\s<]*)\s*<([^>]*)>\s*$/.exec(value);
      if (!m) throw new CpimParseError(`bad NS header: ${value}`);
      namespaces.set(m[1]!.toLowerCase(), m[2]!);
    } else headers.push([name, value]);
  }

  const msg: CpimMessage = { to: [], contentType: '', contentTypeFull: '', content: text.slice(second.next) };
  for (const [name, value] of headers) {
    const dot = name.indexOf('.');
    const prefix = dot >= 0 ? name.slice(0, dot).toLowerCase() : '';
    const local = (dot >= 0 ? name.slice(dot + 1) : name).toLowerCase();
    const ns = dot >= 0 ? namespaces.get(prefix) : undefined;
    if (dot < 0) {
      if (local === 'from') msg.from = parseParty(value);
      else if (local === 'to') msg.to.push(parseParty(value));
      else if (local === 'datetime') msg.dateTime = value.trim();
    } else if (ns === IMDN_NAMESPACE) {
      if (local === 'message-id') msg.messageId = value.trim();
      else if (local === 'disposition-notification') {
        msg.dispositionNotification = value
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
      }
    }
  }
  for (const [name, value] of parseHeaderLines(second.block)) {
    if (name.toLowerCase() === 'content-type') {
      msg.contentTypeFull = value.trim();
      msg.contentType = value.split(';')[0]!.trim().toLowerCase();
    }
  }
  if (!msg.contentType) throw new CpimParseError('no Content-Type for the content');
  return msg;
}

/** `"Alice" <sip:alice@example.com>` → `{ uri: 'alice@example.com', displayName: 'Alice' }`. */
export function parseParty(value: string): Party {
  const lt = value.indexOf('<');
  const gt = value.lastIndexOf('>');
  let uri: string;
  let name: string | undefined;
  if (lt >= 0 && gt > lt) {
    uri = value.slice(lt + 1, gt);
    name = value.slice(0, lt).trim();
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  } else uri = value.trim();
  const party: Party = { uri: aorOfUri(uri) };
  if (name) party.displayName = name;
  return party;
}

/** The AOR of a URI: scheme, parameters and headers dropped (`sip:bob@x;transport=tcp` → `bob@x`). */
export function aorOfUri(uri: string): string {
  const noScheme = uri.replace(/^(sips?|im|pres):/i, '');
  return noScheme.split(/[;?]/)[0]!;
}

function formatParty(p: Party): string {
  const uri = /^[a-z][a-z0-9+.-]*:/i.test(p.uri) ? p.uri : `sip:${p.uri}`;
  return p.displayName ? `"${p.displayName.replace(/["\\]/g, '\\$&')}" <${uri}>` : `<${uri}>`;
}

function splitBlock(text: string, from: number): { block: string; next: number } | undefined {
  const re = /\r?\n\r?\n/g;
  re.lastIndex = from;
  // A block may be empty (no headers): the text starts with the blank line.
  const leading = /^\r?\n/.exec(text.slice(from, from + 2));
  if (leading) return { block: '', next: from + leading[0].length };
  const m = re.exec(text);
  if (!m) return undefined;
  return { block: text.slice(from, m.index), next: m.index + m[0].length };
}

function parseHeaderLines(block: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CpimParseError(`bad header line: ${line.slice(0, 80)}`);
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

// ---- IMDN (RFC 5438 §7) --------------------------------------------------------------------------

export type ImdnStatus = 'delivered' | 'failed' | 'displayed' | 'processed' | 'stored' | 'forbidden' | 'error';

export interface ImdnNotification {
  messageId: string;
  /** When the original message was sent, as the notification quotes it. */
  dateTime?: string;
  kind: 'delivery' | 'display' | 'processing';
  status: ImdnStatus;
}

/** The notification kind each status belongs to (RFC 5438 §7.2.1.1–7.2.1.3). */
export function imdnKindOf(status: ImdnStatus): ImdnNotification['kind'] {
  if (status === 'displayed') return 'display';
  if (status === 'processed' || status === 'stored') return 'processing';
  return 'delivery';
}

export function encodeImdn(n: ImdnNotification): string {
  const el = `${n.kind}-notification`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<imdn xmlns="${IMDN_XML_NAMESPACE}">\r\n` +
    `<message-id>${escapeXml(n.messageId)}</message-id>\r\n` +
    (n.dateTime ? `<datetime>${escapeXml(n.dateTime)}</datetime>\r\n` : '') +
    `<${el}><status><${n.status}/></status></${el}>\r\n` +
    '</imdn>\r\n'
  );
}

/** Reads an IMDN document; undefined when it is not one we understand. */
export function decodeImdn(xml: string): ImdnNotification | undefined {
  const id = /<(?:\w+:)?message-id>([^<]*)<\/(?:\w+:)?message-id>/.exec(xml);
  const kind = /<(?:\w+:)?(delivery|display|processing)-notification>/.exec(xml);
  if (!id || !kind) return undefined;
  const status = /<(?:\w+:)?status>\s*<(?:\w+:)?(delivered|failed|displayed|processed|stored|forbidden|error)\s*\/?>/.exec(xml);
  if (!status) return undefined;
  const dt = /<(?:\w+:)?datetime>([^<]*)<\/(?:\w+:)?datetime>/.exec(xml);
  const n: ImdnNotification = {
    messageId: unescapeXml(id[1]!.trim()),
    kind: kind[1] as ImdnNotification['kind'],
    status: status[1] as ImdnStatus,
  };
  if (dt) n.dateTime = unescapeXml(dt[1]!.trim());
  return n;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unescapeXml(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
