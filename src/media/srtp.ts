/**
 * SRTP and SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711, the profile every browser offers in
 * DTLS-SRTP, RFC 5764 §4.1.2), done directly on packet buffers: no per-packet objects besides the
 * output buffer. One `SrtpContext` protects one direction (our keys for sending, the peer's for
 * receiving) of every SSRC on a leg.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';

const TAG_LENGTH = 10;
const RTCP_TRAILER = 4;

export class SrtpAuthError extends Error {
  readonly code = 'MEDIA_ERR_SRTP_AUTH';
  constructor(what: string) {
    super(`${what} failed authentication`);
    this.name = 'SrtpAuthError';
  }
}

/** AES in counter mode over `length` zero bytes: the keystream the key derivation uses (RFC 3711 §4.3.3). */
function prf(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  // key_id = label || r, with r = 0 (no key derivation rate), XORed onto the salt's low bytes.
  iv[7]! ^= label;
  const c = createCipheriv('aes-128-ctr', masterKey, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

interface SsrcState {
  /** Rollover counter (RFC 3711 §3.3.1). */
  roc: number;
  /** Highest sequence number seen (s_l). */
  last: number;
}

/** Length of an RTP header with its CSRCs and extension (RFC 3550 §5.1, §5.3.1); -1 if the packet is shorter. */
export function rtpHeaderLength(pkt: Buffer): number {
  if (pkt.length < 12) return -1;
  let len = 12 + 4 * (pkt[0]! & 0x0f);
  if (pkt[0]! & 0x10) {
    if (pkt.length < len + 4) return -1;
    len += 4 + 4 * pkt.readUInt16BE(len + 2);
  }
  return len <= pkt.length ? len : -1;
}

export class SrtpContext {
  private readonly rtpKey: Buffer;
  private readonly rtpAuth: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtcpAuth: Buffer;
  private readonly rtcpSalt: Buffer;
  private readonly ssrcs = new Map<number, SsrcState>();
  private rtcpIndex = 0;

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    if (masterKey.length !== 16 || masterSalt.length !== 14) throw new Error('AES_CM_128_HMAC_SHA1_80 needs a 16-byte key and a 14-byte salt');
    this.rtpKey = prf(masterKey, masterSalt, 0, 16);
    this.rtpAuth = prf(masterKey, masterSalt, 1, 20);
    this.rtpSalt = prf(masterKey, masterSalt, 2, 14);
    this.rtcpKey = prf(masterKey, masterSalt, 3, 16);
    this.rtcpAuth = prf(masterKey, masterSalt, 4, 20);
    this.rtcpSalt = prf(masterKey, masterSalt, 5, 14);
  }

  private iv(salt: Buffer, ssrc: number, indexHigh: number, indexLow: number): Buffer {
    // IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16) (RFC 3711 §4.1.1).
    const iv = Buffer.alloc(16);
    salt.copy(iv, 0, 0, 14);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt16BE(iv.readUInt16BE(8) ^ indexHigh, 8);
    iv.writeUInt32BE((iv.readUInt32BE(10) ^ indexLow) >>> 0, 10);
    return iv;
  }

  private tag(key: Buffer, data: Buffer, end: number, roc: number | undefined): Buffer {
    const h = createHmac('sha1', key).update(data.subarray(0, end));
    if (roc !== undefined) {
      const r = Buffer.alloc(4);
      r.writeUInt32BE(roc >>> 0, 0);
      h.update(r);
    }
    return h.digest().subarray(0, TAG_LENGTH);
  }

  /** Protects a plain RTP packet (RFC 3711 §3.3); returns a new buffer. */
  protectRtp(pkt: Buffer): Buffer {
    const hl = rtpHeaderLength(pkt);
    if (hl < 0) throw new Error('not an RTP packet');
    const ssrc = pkt.readUInt32BE(8);
    const seq = pkt.readUInt16BE(2);
    let s = this.ssrcs.get(ssrc);
    if (!s) this.ssrcs.set(ssrc, (s = { roc: 0, last: seq }));
    else if (seq < s.last && s.last - seq > 0x8000) {
      s.roc = (s.roc + 1) >>> 0; // the sequence number wrapped
      s.last = seq;
    } else if (seq > s.last && seq - s.last < 0x8000) s.last = seq;
    const roc = seq > s.last && seq - s.last > 0x8000 && s.roc > 0 ? s.roc - 1 : s.roc; // a late packet from before a wrap
    const out = Buffer.allocUnsafe(pkt.length + TAG_LENGTH);
    pkt.copy(out, 0, 0, hl);
    const c = createCipheriv('aes-128-ctr', this.rtpKey, this.iv(this.rtpSalt, ssrc, (roc >>> 16) & 0xffff, ((roc & 0xffff) * 0x10000 + seq) >>> 0));
    const enc = c.update(pkt.subarray(hl));
    enc.copy(out, hl);
    this.tag(this.rtpAuth, out, pkt.length, roc).copy(out, pkt.length);
    return out;
  }

  /** Checks and decrypts an SRTP packet; throws SrtpAuthError when the tag does not match. */
  unprotectRtp(pkt: Buffer): Buffer {
    const end = pkt.length - TAG_LENGTH;
    const hl = rtpHeaderLength(pkt.subarray(0, Math.max(0, end)));
    if (end < 12 || hl < 0) throw new SrtpAuthError('SRTP packet');
    const ssrc = pkt.readUInt32BE(8);
    const seq = pkt.readUInt16BE(2);
    const s = this.ssrcs.get(ssrc);
    // Guess the rollover counter from the highest sequence number (RFC 3711 Appendix A).
    let v = 0;
    if (s) {
      v = s.roc;
      if (s.last < 0x8000) {
        if (seq - s.last > 0x8000 && s.roc > 0) v = s.roc - 1;
      } else if (s.last - 0x8000 > seq) v = s.roc + 1;
    }
    const expected = this.tag(this.rtpAuth, pkt, end, v >>> 0);
    if (!timingSafeEqual(expected, pkt.subarray(end))) throw new SrtpAuthError('SRTP packet');
    if (!s) this.ssrcs.set(ssrc, { roc: 0, last: seq });
    else if (v === s.roc + 1) {
      s.roc = v;
      s.last = seq;
    } else if (v === s.roc && seq > s.last) s.last = seq;
    const out = Buffer.allocUnsafe(end);
    pkt.copy(out, 0, 0, hl);
    const roc = v >>> 0;
    const c = createCipheriv('aes-128-ctr', this.rtpKey, this.iv(this.rtpSalt, ssrc, (roc >>> 16) & 0xffff, ((roc & 0xffff) * 0x10000 + seq) >>> 0));
    c.update(pkt.subarray(hl, end)).copy(out, hl);
    return out;
  }

  /** Protects a compound RTCP packet (RFC 3711 §3.4): encrypted after the first 8 bytes, E-flag and index appended. */
  protectRtcp(pkt: Buffer): Buffer {
    if (pkt.length < 8) throw new Error('not an RTCP packet');
    const index = this.rtcpIndex;
    this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff;
    const ssrc = pkt.readUInt32BE(4);
    const out = Buffer.allocUnsafe(pkt.length + RTCP_TRAILER + TAG_LENGTH);
    pkt.copy(out, 0, 0, 8);
    const c = createCipheriv('aes-128-ctr', this.rtcpKey, this.iv(this.rtcpSalt, ssrc, 0, index));
    c.update(pkt.subarray(8)).copy(out, 8);
    out.writeUInt32BE((0x80000000 | index) >>> 0, pkt.length);
    this.tag(this.rtcpAuth, out, pkt.length + RTCP_TRAILER, undefined).copy(out, pkt.length + RTCP_TRAILER);
    return out;
  }

  /** Checks and decrypts an SRTCP packet; throws SrtpAuthError when the tag does not match. */
  unprotectRtcp(pkt: Buffer): Buffer {
    const end = pkt.length - TAG_LENGTH - RTCP_TRAILER;
    if (end < 8) throw new SrtpAuthError('SRTCP packet');
    const expected = this.tag(this.rtcpAuth, pkt, end + RTCP_TRAILER, undefined);
    if (!timingSafeEqual(expected, pkt.subarray(end + RTCP_TRAILER))) throw new SrtpAuthError('SRTCP packet');
    const word = pkt.readUInt32BE(end);
    const out = Buffer.allocUnsafe(end);
    pkt.copy(out, 0, 0, 8);
    if (word & 0x80000000) {
      const c = createCipheriv('aes-128-ctr', this.rtcpKey, this.iv(this.rtcpSalt, pkt.readUInt32BE(4), 0, word & 0x7fffffff));
      c.update(pkt.subarray(8, end)).copy(out, 8);
    } else pkt.copy(out, 8, 8, end);
    return out;
  }
}
