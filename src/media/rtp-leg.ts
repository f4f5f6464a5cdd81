/**
 * The leg facing SIP: plain RTP/AVP on one UDP socket, RTCP on the same port (announced with
 * `a=rtcp`, RFC 3605, and told apart by packet type, RFC 5761 §4).
 *
 * Symmetric RTP (RFC 4961): until a packet arrives we send to the address in the peer's SDP; the
 * first valid RTP packet (version 2, a negotiated payload type, a well-formed header) latches the
 * leg to its source, which then receives our media, and packets from any other source are dropped
 * and counted. Datagrams larger than `maxPacketBytes` are dropped.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Logger } from 'pino';
import { rtpHeaderLength } from './srtp.ts';

export interface RtpLegCounters {
  rtpIn: number;
  rtcpIn: number;
  rtpOut: number;
  rtcpOut: number;
  bytesIn: number;
  bytesOut: number;
  /** From another source than the latched one. */
  foreign: number;
  /** Not RTP/RTCP, unknown payload type, or too large. */
  dropped: number;
}

export interface RtpLegOptions {
  socket: Socket;
  logger: Logger;
  /** Datagrams above this size are dropped (default 1500). */
  maxPacketBytes?: number;
  onRtp: (pkt: Buffer) => void;
  onRtcp?: (pkt: Buffer) => void;
}

export class RtpLeg {
  readonly counters: RtpLegCounters = { rtpIn: 0, rtcpIn: 0, rtpOut: 0, rtcpOut: 0, bytesIn: 0, bytesOut: 0, foreign: 0, dropped: 0 };
  /** When a packet from the peer last arrived (ms, monotonic); 0 before the first. */
  lastHeard = 0;
  /** Payload types the peer may send (the negotiated ones). */
  acceptedPayloadTypes = new Set<number>();
  private readonly opts: RtpLegOptions;
  private readonly maxBytes: number;
  private target: { address: string; port: number } | undefined;
  private latched: { address: string; port: number } | undefined;
  private closed = false;

  constructor(opts: RtpLegOptions) {
    this.opts = opts;
    this.maxBytes = opts.maxPacketBytes ?? 1500;
    opts.socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    opts.socket.on('error', (err) => opts.logger.warn({ err }, 'RTP leg socket error'));
  }

  get localAddress(): { address: string; port: number } {
    const a = this.opts.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Where our RTP goes: the latched source, else the SDP's address. */
  get remoteAddress(): { address: string; port: number } | undefined {
    return this.latched ?? this.target;
  }

  get latchedAddress(): { address: string; port: number } | undefined {
    return this.latched;
  }

  /** The peer's address from its SDP. A changed address (a re-INVITE moving the media) unlatches. */
  setTarget(address: string, port: number): void {
    if (this.target && (this.target.address !== address || this.target.port !== port)) this.latched = undefined;
    this.target = { address, port };
  }

  send(pkt: Buffer): void {
    const to = this.latched ?? this.target;
    if (!to || this.closed || to.port === 0) return;
    this.counters.rtpOut++;
    this.counters.bytesOut += pkt.length;
    this.opts.socket.send(pkt, to.port, to.address);
  }

  sendRtcp(pkt: Buffer): void {
    const to = this.latched ?? this.target;
    if (!to || this.closed || to.port === 0) return;
    this.counters.rtcpOut++;
    this.counters.bytesOut += pkt.length;
    this.opts.socket.send(pkt, to.port, to.address);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.socket.removeAllListeners('message');
    this.opts.socket.close();
  }

  private onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    if (msg.length > this.maxBytes || msg.length < 8 || msg[0]! >> 6 !== 2) return void this.counters.dropped++;
    const latched = this.latched;
    if (latched && (latched.address !== rinfo.address || latched.port !== rinfo.port)) return void this.counters.foreign++;
    const second = msg[1]!;
    if (second >= 192 && second <= 223) {
      // RTCP is terminated here: it tells us the peer is alive, nothing is relayed.
      if (!latched) return void this.counters.dropped++;
      this.counters.rtcpIn++;
      this.counters.bytesIn += msg.length;
      this.lastHeard = performance.now();
      this.opts.onRtcp?.(msg);
      return;
    }
    if (rtpHeaderLength(msg) < 0 || !this.acceptedPayloadTypes.has(second & 0x7f)) return void this.counters.dropped++;
    if (!latched) {
      this.latched = { address: rinfo.address, port: rinfo.port };
      this.opts.logger.debug({ remote: `${rinfo.address}:${rinfo.port}` }, 'RTP leg latched');
    }
    this.counters.rtpIn++;
    this.counters.bytesIn += msg.length;
    this.lastHeard = performance.now();
    this.opts.onRtp(msg);
  }
}
