/**
 * A small SDP model (RFC 8866) holding exactly what the bridge reads and writes: the session's
 * origin and connection, and per media section its port, protocol, formats, connection and
 * attributes in order. Parsing is strict about the lines it needs (`v=`, `o=`, `m=`, a connection
 * address for every active section) and keeps every other line as it came, so an SDP that is only
 * passed along loses nothing.
 */
import { MediaError } from './errors.ts';

export interface SdpAttribute {
  name: string;
  /** Text after the first `:`, or undefined for a flag such as `a=rtcp-mux`. */
  value: string | undefined;
}

export interface MediaSection {
  /** `audio`, `video`, `application`, ... */
  kind: string;
  port: number;
  /** `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, ... */
  proto: string;
  /** Payload types (as text) in preference order. */
  formats: string[];
  /** The section's own `c=` address, if any. */
  connection: string | undefined;
  /** `b=`, `i=`, `k=` lines, kept as they came. */
  otherLines: string[];
  attributes: SdpAttribute[];
}

export interface SessionDescription {
  origin: { username: string; sessionId: string; version: string; address: string };
  sessionName: string;
  connection: string | undefined;
  /** Session-level lines other than v/o/s/c/t/a (b=, i=, u=, e=, p=, ...). */
  otherLines: string[];
  attributes: SdpAttribute[];
  media: MediaSection[];
}

const LINE = /^([a-z])=(.*)$/;
/** Longest SDP accepted: far above any real offer (a browser's audio+video offer is ~6 KB). */
export const MAX_SDP_BYTES = 64 * 1024;

function attribute(text: string): SdpAttribute {
  const colon = text.indexOf(':');
  return colon < 0 ? { name: text, value: undefined } : { name: text.slice(0, colon), value: text.slice(colon + 1) };
}

function connectionAddress(value: string): string {
  // c=<nettype> <addrtype> <connection-address> (RFC 8866 §5.7); a multicast TTL suffix is dropped.
  const parts = value.trim().split(/\s+/);
  if (parts.length < 3 || parts[0] !== 'IN' || (parts[1] !== 'IP4' && parts[1] !== 'IP6')) {
    throw new MediaError('MEDIA_ERR_BAD_SDP', `malformed connection line "c=${value}"`);
  }
  return (parts[2] as string).split('/')[0] as string;
}

/** Parses an SDP; throws `MediaError` `MEDIA_ERR_BAD_SDP` (answered with 488 / a request error). */
export function parseSdp(text: string): SessionDescription {
  if (typeof text !== 'string' || text.length === 0) throw new MediaError('MEDIA_ERR_BAD_SDP', 'empty SDP');
  if (text.length > MAX_SDP_BYTES) throw new MediaError('MEDIA_ERR_BAD_SDP', `SDP larger than ${MAX_SDP_BYTES} bytes`);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const sdp: SessionDescription = {
    origin: { username: '-', sessionId: '0', version: '0', address: '0.0.0.0' },
    sessionName: '-',
    connection: undefined,
    otherLines: [],
    attributes: [],
    media: [],
  };
  let sawVersion = false;
  let sawOrigin = false;
  let current: MediaSection | undefined;
  for (const [i, line] of lines.entries()) {
    const m = LINE.exec(line);
    if (!m) throw new MediaError('MEDIA_ERR_BAD_SDP', `malformed SDP line ${i + 1}: "${line.slice(0, 60)}"`);
    const type = m[1] as string;
    const value = m[2] as string;
    if (i === 0 && type !== 'v') throw new MediaError('MEDIA_ERR_BAD_SDP', 'SDP must start with v=0');
    switch (type) {
      case 'v':
        if (value !== '0') throw new MediaError('MEDIA_ERR_BAD_SDP', `unsupported SDP version ${value}`);
        sawVersion = true;
        break;
      case 'o': {
        const p = value.split(/\s+/);
        if (p.length < 6) throw new MediaError('MEDIA_ERR_BAD_SDP', `malformed origin line "o=${value}"`);
        sdp.origin = { username: p[0] as string, sessionId: p[1] as string, version: p[2] as string, address: p[5] as string };
        sawOrigin = true;
        break;
      }
      case 's':
        sdp.sessionName = value;
        break;
      case 't':
        break;
      case 'm': {
        // m=<media> <port>[/<count>] <proto> <fmt> ... (RFC 8866 §5.14)
        const p = value.split(/\s+/);
        const port = Number((p[1] ?? '').split('/')[0]);
        if (p.length < 3 || !Number.isInteger(port) || port < 0 || port > 65535) {
          throw new MediaError('MEDIA_ERR_BAD_SDP', `malformed media line "m=${value.slice(0, 60)}"`);
        }
        current = { kind: p[0] as string, port, proto: p[2] as string, formats: p.slice(3), connection: undefined, otherLines: [], attributes: [] };
        sdp.media.push(current);
        break;
      }
      case 'c':
        if (current) current.connection = connectionAddress(value);
        else sdp.connection = connectionAddress(value);
        break;
      case 'a':
        (current ? current.attributes : sdp.attributes).push(attribute(value));
        break;
      default:
        (current ? current.otherLines : sdp.otherLines).push(line);
    }
  }
  if (!sawVersion || !sawOrigin) throw new MediaError('MEDIA_ERR_BAD_SDP', 'SDP lacks its v= or o= line');
  for (const section of sdp.media) {
    if (section.port !== 0 && !section.connection && !sdp.connection && section.proto.startsWith('RTP/')) {
      throw new MediaError('MEDIA_ERR_BAD_SDP', `no connection address for the ${section.kind} section`);
    }
  }
  return sdp;
}

export function serializeSdp(sdp: SessionDescription): string {
  const out: string[] = ['v=0'];
  const o = sdp.origin;
  const family = (addr: string) => (addr.includes(':') ? 'IP6' : 'IP4');
  out.push(`o=${o.username} ${o.sessionId} ${o.version} IN ${family(o.address)} ${o.address}`);
  out.push(`s=${sdp.sessionName || '-'}`);
  if (sdp.connection) out.push(`c=IN ${family(sdp.connection)} ${sdp.connection}`);
  out.push(...sdp.otherLines);
  out.push('t=0 0');
  for (const a of sdp.attributes) out.push(a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`);
  for (const m of sdp.media) {
    out.push(`m=${m.kind} ${m.port} ${m.proto} ${m.formats.length > 0 ? m.formats.join(' ') : '0'}`);
    if (m.connection) out.push(`c=IN ${family(m.connection)} ${m.connection}`);
    out.push(...m.otherLines);
    for (const a of m.attributes) out.push(a.value === undefined ? `a=${a.name}` : `a=${a.name}:${a.value}`);
  }
  return `${out.join('\r\n')}\r\n`;
}

/** First value of an attribute in a section, falling back to the session level. */
export function attr(sdp: SessionDescription, section: MediaSection | undefined, name: string): string | undefined {
  const own = section?.attributes.find((a) => a.name === name);
  if (own) return own.value ?? '';
  const session = sdp.attributes.find((a) => a.name === name);
  return session ? (session.value ?? '') : undefined;
}

export function attrs(section: MediaSection, name: string): string[] {
  return section.attributes.filter((a) => a.name === name).map((a) => a.value ?? '');
}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** The section's direction (RFC 3264 §5.1), session level as fallback, `sendrecv` by default. */
export function directionOf(sdp: SessionDescription, section: MediaSection): Direction {
  const own = section.attributes.find((a) => DIRECTIONS.has(a.name));
  if (own) return own.name as Direction;
  const session = sdp.attributes.find((a) => DIRECTIONS.has(a.name));
  return (session?.name as Direction | undefined) ?? 'sendrecv';
}

/** The direction our answer takes for an offered one (RFC 3264 §6.1), limited by what we want. */
export function answerDirection(offered: Direction): Direction {
  return offered === 'sendonly' ? 'recvonly' : offered === 'recvonly' ? 'sendonly' : offered;
}

/** Where the section's RTP goes: its own `c=` or the session's. */
export function sectionAddress(sdp: SessionDescription, section: MediaSection): string | undefined {
  return section.connection ?? sdp.connection;
}
