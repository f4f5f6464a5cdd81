/**
 * What one direction of a bridge does to each RTP packet, in place on its buffer: the payload type
 * becomes the receiving leg's number for the same codec, and the SSRC becomes the bridge's own for
 * that leg. When the sending SSRC changes (a peer restarting its stream), sequence numbers and
 * timestamps are shifted to continue ours, so the receiver sees one unbroken stream (RFC 3550
 * §8.2 lets a translator own the SSRC it forwards under). RTCP is not relayed: each leg gets our
 * own sender reports (`senderReport`).
 */
import { randomBytes } from 'node:crypto';

export function randomSsrc(): number {
  return randomBytes(4).readUInt32BE(0);
}

export class RtpRewriter {
  readonly ssrc: number;
  ptMap: Map<number, number>;
  /** Packets and payload octets sent, for sender reports (RFC 3550 §6.4.1). */
  packets = 0;
  octets = 0;
  lastTimestamp = 0;
  /** Clock rate of the last packet's codec, to extrapolate the SR's RTP timestamp. */
  clockRate = 8000;
  lastSentAt = 0;
  private source: number | undefined;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSeq = 0;
  private readonly clockRates: Map<number, number>;

  constructor(ssrc: number, ptMap: Map<number, number>, clockRates: Map<number, number> = new Map()) {
    this.ssrc = ssrc;
    this.ptMap = ptMap;
    this.clockRates = clockRates;
  }

  setMapping(ptMap: Map<number, number>, clockRates: Map<number, number>): void {
    this.ptMap = ptMap;
    this.clockRates.clear();
    for (const [pt, rate] of clockRates) this.clockRates.set(pt, rate);
  }

  /** The stream's RTP timestamp now at `rate`: the last one sent, advanced by the time since. */
  timestampNow(rate: number): number {
    const elapsed = this.lastSentAt > 0 ? performance.now() - this.lastSentAt : 0;
    return (this.lastTimestamp + Math.floor((elapsed * rate) / 1000)) >>> 0;
  }

  /**
   * A packet of our own in this direction's stream (a generated DTMF event): our SSRC and the next
   * sequence number; packets relayed after it are numbered on from there.
   */
  ownPacket(pt: number, marker: boolean, timestamp: number, payload: Buffer): Buffer {
    const seq = (this.lastSeq + 1) & 0xffff;
    this.seqOffset = (this.seqOffset + 1) & 0xffff;
    // Before any relayed packet: the first source to come continues after ours.
    if (this.source === undefined) this.source = -1;
    this.lastSeq = seq;
    const pkt = Buffer.alloc(12 + payload.length);
    pkt[0] = 0x80;
    pkt[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
    pkt.writeUInt16BE(seq, 2);
    pkt.writeUInt32BE(timestamp >>> 0, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    payload.copy(pkt, 12);
    this.packets++;
    this.octets += payload.length;
    return pkt;
  }

  /** Rewrites `pkt` for the other leg; false when its payload type has no counterpart there (dropped). */
  rewrite(pkt: Buffer, headerLength: number): boolean {
    const b1 = pkt[1]!;
    const pt = this.ptMap.get(b1 & 0x7f);
    if (pt === undefined) return false;
    pkt[1] = (b1 & 0x80) | pt;
    const src = pkt.readUInt32BE(8);
    const seq = pkt.readUInt16BE(2);
    const ts = pkt.readUInt32BE(4);
    const rate = this.clockRates.get(pt) ?? this.clockRate;
    if (src !== this.source) {
      if (this.source !== undefined) {
        // Continue our numbering one packet (20 ms) after the last one sent.
        this.seqOffset = (this.lastSeq + 1 - seq) & 0xffff;
        this.tsOffset = (this.lastTimestamp + rate / 50 - ts) >>> 0;
      }
      this.source = src;
    }
    const outSeq = (seq + this.seqOffset) & 0xffff;
    const outTs = (ts + this.tsOffset) >>> 0;
    pkt.writeUInt16BE(outSeq, 2);
    pkt.writeUInt32BE(outTs, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    this.lastSeq = outSeq;
    this.lastTimestamp = outTs;
    this.clockRate = rate;
    this.lastSentAt = performance.now();
    this.packets++;
    this.octets += pkt.length - headerLength;
    return true;
  }
}

/** NTP time (RFC 5905 §6) of `ms` since the Unix epoch: seconds and fraction. */
function ntp(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000) + 2_208_988_800;
  const fraction = Math.floor(((ms % 1000) / 1000) * 0x100000000);
  return [seconds >>> 0, fraction >>> 0];
}

/**
 * A compound RTCP packet: a sender report without report blocks (RFC 3550 §6.4.1) and an SDES
 * with our CNAME (§6.5.1), which every compound packet must carry (§6.1).
 */
export function senderReport(r: RtpRewriter, cname: string): Buffer {
  const now = Date.now();
  const [sec, frac] = ntp(now);
  // The RTP timestamp for "now", extrapolated from the last packet sent.
  const elapsed = r.lastSentAt > 0 ? performance.now() - r.lastSentAt : 0;
  const rtpTs = (r.lastTimestamp + Math.floor((elapsed * r.clockRate) / 1000)) >>> 0;
  const name = Buffer.from(cname, 'utf8').subarray(0, 255);
  // SDES chunk: SSRC, CNAME item (type 1, length, text), a null item, padded to 32 bits.
  const chunkLen = 4 + 2 + name.length + 1;
  const sdesWords = 1 + Math.ceil(chunkLen / 4);
  const out = Buffer.alloc(28 + sdesWords * 4);
  out.writeUInt8(0x80, 0);
  out.writeUInt8(200, 1);
  out.writeUInt16BE(6, 2);
  out.writeUInt32BE(r.ssrc, 4);
  out.writeUInt32BE(sec, 8);
  out.writeUInt32BE(frac, 12);
  out.writeUInt32BE(rtpTs, 16);
  out.writeUInt32BE(r.packets >>> 0, 20);
  out.writeUInt32BE(r.octets >>> 0, 24);
  out.writeUInt8(0x81, 28);
  out.writeUInt8(202, 29);
  out.writeUInt16BE(sdesWords - 1, 30);
  out.writeUInt32BE(r.ssrc, 32);
  out.writeUInt8(1, 36);
  out.writeUInt8(name.length, 37);
  name.copy(out, 38);
  return out;
}
