/**
 * STUN Binding messages as ICE connectivity checks use them (RFC 8489, RFC 8445 §7.1): parsing,
 * MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term password, RFC 8489 §14.5), FINGERPRINT
 * (CRC-32 XOR 0x5354554e, §14.7) and the success response carrying XOR-MAPPED-ADDRESS (§14.2).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';

export const MAGIC_COOKIE = 0x2112a442;
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;
export const BINDING_INDICATION = 0x0011;

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  XOR_MAPPED_ADDRESS: 0x0020,
  PRIORITY: 0x0024,
  USE_CANDIDATE: 0x0025,
  FINGERPRINT: 0x8028,
  ICE_CONTROLLED: 0x8029,
  ICE_CONTROLLING: 0x802a,
} as const;

const FINGERPRINT_XOR = 0x5354554e;

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: Map<number, Buffer>;
  /** Offset of MESSAGE-INTEGRITY's header, or -1. */
  integrityAt: number;
  /** Offset of FINGERPRINT's header, or -1. */
  fingerprintAt: number;
}

/** First byte 0..3 marks STUN among the packets sharing an ICE socket (RFC 7983 §7). */
export function looksLikeStun(buf: Buffer): boolean {
  return buf.length >= 20 && buf[0]! < 4 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** Parses a STUN message; undefined when it is not a well-formed one. */
export function parseStun(buf: Buffer): StunMessage | undefined {
  if (!looksLikeStun(buf)) return undefined;
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length !== buf.length) return undefined;
  const msg: StunMessage = { type: buf.readUInt16BE(0), transactionId: buf.subarray(8, 20), attributes: new Map(), integrityAt: -1, fingerprintAt: -1 };
  let at = 20;
  while (at + 4 <= buf.length) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    if (at + 4 + len > buf.length) return undefined;
    // Only FINGERPRINT may follow MESSAGE-INTEGRITY (RFC 8489 §14.5); later attributes are ignored.
    if (msg.integrityAt < 0 || type === ATTR.FINGERPRINT) {
      if (!msg.attributes.has(type)) msg.attributes.set(type, buf.subarray(at + 4, at + 4 + len));
      if (type === ATTR.MESSAGE_INTEGRITY) msg.integrityAt = at;
      if (type === ATTR.FINGERPRINT) msg.fingerprintAt = at;
    }
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return msg;
}

/** FINGERPRINT matches the message before it (RFC 8489 §14.7). */
export function fingerprintOk(buf: Buffer, msg: StunMessage): boolean {
  if (msg.fingerprintAt < 0) return false;
  const value = msg.attributes.get(ATTR.FINGERPRINT);
  if (!value || value.length !== 4) return false;
  return ((crc32(buf.subarray(0, msg.fingerprintAt)) ^ FINGERPRINT_XOR) >>> 0) === value.readUInt32BE(0);
}

/**
 * MESSAGE-INTEGRITY matches with `key` (the short-term password): the HMAC covers the header,
 * with the length field counting up to and including MESSAGE-INTEGRITY, and every attribute
 * before it (RFC 8489 §14.5).
 */
export function integrityOk(buf: Buffer, msg: StunMessage, key: Buffer): boolean {
  if (msg.integrityAt < 0) return false;
  const value = msg.attributes.get(ATTR.MESSAGE_INTEGRITY);
  if (!value || value.length !== 20) return false;
  const head = Buffer.from(buf.subarray(0, msg.integrityAt));
  head.writeUInt16BE(msg.integrityAt - 20 + 24, 2);
  const mac = createHmac('sha1', key).update(head).digest();
  return timingSafeEqual(mac, value);
}

class StunWriter {
  private readonly parts: Buffer[] = [];
  private length = 0;
  constructor(
    private readonly type: number,
    private readonly transactionId: Buffer,
  ) {}

  add(type: number, value: Buffer): this {
    const pad = (4 - (value.length % 4)) % 4;
    const head = Buffer.alloc(4);
    head.writeUInt16BE(type, 0);
    head.writeUInt16BE(value.length, 2);
    this.parts.push(head, value, Buffer.alloc(pad));
    this.length += 4 + value.length + pad;
    return this;
  }

  private header(extra: number): Buffer {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(this.type, 0);
    h.writeUInt16BE(this.length + extra, 2);
    h.writeUInt32BE(MAGIC_COOKIE, 4);
    this.transactionId.copy(h, 8);
    return h;
  }

  /** Appends MESSAGE-INTEGRITY (with `key`) and FINGERPRINT, and returns the message. */
  finish(key: Buffer | undefined): Buffer {
    if (key) {
      const mac = createHmac('sha1', key)
        .update(Buffer.concat([this.header(24), ...this.parts]))
        .digest();
      this.add(ATTR.MESSAGE_INTEGRITY, mac);
    }
    const body = Buffer.concat([this.header(8), ...this.parts]);
    const fp = Buffer.alloc(4);
    fp.writeUInt32BE((crc32(body) ^ FINGERPRINT_XOR) >>> 0, 0);
    this.add(ATTR.FINGERPRINT, fp);
    return Buffer.concat([this.header(0), ...this.parts]);
  }
}

/** XOR-MAPPED-ADDRESS for an IPv4 or IPv6 address (RFC 8489 §14.2). */
function xorMappedAddress(address: string, port: number, transactionId: Buffer): Buffer {
  const v4 = isIPv4(address);
  const out = Buffer.alloc(v4 ? 8 : 20);
  out.writeUInt8(v4 ? 1 : 2, 1);
  out.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 2);
  if (v4) {
    const n = address.split('.').reduce((acc, o) => (acc << 8) | Number(o), 0) >>> 0;
    out.writeUInt32BE((n ^ MAGIC_COOKIE) >>> 0, 4);
  } else {
    const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transactionId]);
    const bytes = ipv6Bytes(address);
    for (let i = 0; i < 16; i++) out[4 + i] = bytes[i]! ^ mask[i]!;
  }
  return out;
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return out;
}

/** The success response to a Binding request: where it came from, signed with our password. */
export function bindingSuccess(transactionId: Buffer, address: string, port: number, key: Buffer): Buffer {
  return new StunWriter(BINDING_SUCCESS, transactionId).add(ATTR.XOR_MAPPED_ADDRESS, xorMappedAddress(address, port, transactionId)).finish(key);
}

/** An error response (RFC 8489 §14.8), e.g. 400 Bad Request, 401 Unauthorized, 487 Role Conflict. */
export function bindingError(transactionId: Buffer, code: number, reason: string, key?: Buffer): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const value = Buffer.alloc(4 + text.length);
  value.writeUInt8(Math.floor(code / 100), 2);
  value.writeUInt8(code % 100, 3);
  text.copy(value, 4);
  return new StunWriter(BINDING_ERROR, transactionId).add(ATTR.ERROR_CODE, value).finish(key);
}

/** A Binding request, as a full ICE agent sends it (used by tests playing the browser). */
export function bindingRequest(opts: { transactionId: Buffer; username: string; key: Buffer; priority: number; controlling?: Buffer; useCandidate?: boolean }): Buffer {
  const w = new StunWriter(BINDING_REQUEST, opts.transactionId).add(ATTR.USERNAME, Buffer.from(opts.username, 'utf8'));
  const prio = Buffer.alloc(4);
  prio.writeUInt32BE(opts.priority >>> 0, 0);
  w.add(ATTR.PRIORITY, prio);
  if (opts.controlling) w.add(ATTR.ICE_CONTROLLING, opts.controlling);
  if (opts.useCandidate) w.add(ATTR.USE_CANDIDATE, Buffer.alloc(0));
  return w.finish(opts.key);
}
