/**
 * A lean stand-in for a browser's audio PeerConnection, for driving hundreds of bridged calls
 * from one process: it offers what Chromium offers (Opus, PCMU, PCMA, telephone-event over
 * UDP/TLS/RTP/SAVPF with rtcp-mux, ICE credentials, a DTLS fingerprint, setup:actpass), runs the
 * controlling side of ICE (RFC 8445 §7.2.4: Binding requests with USE-CANDIDATE, aggressive
 * nomination, and answers to the other side's checks), DTLS-SRTP in either role (werift's DTLS,
 * RFC 5764), and sends an Opus-sized SRTP packet every 20 ms as its microphone.
 *
 * Why not Chromium: N RTCPeerConnections in headless Chromium encode and decode Opus, run jitter
 * buffers and congestion control per connection, and on a 2-core machine that work competes with
 * the relay under test. Why not werift's RTCPeerConnection: its per-packet cost is the very thing
 * the bench compares against. Here, per packet: one SRTP protect on send; on receive a count, and
 * an SRTP unprotect with a payload check for one packet in `verifyEvery`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { DtlsClient, DtlsServer, type DtlsSocket } from 'werift';
import type { DtlsCertificate } from '../../src/media/certificate.ts';
import { SrtpContext } from '../../src/media/srtp.ts';
import { ATTR, BINDING_REQUEST, BINDING_SUCCESS, bindingRequest, bindingSuccess, parseStun } from '../../src/media/stun.ts';

/** SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.1.2). */
const SRTP_AES128_CM_SHA1_80 = 1;
const OPUS_PT = 111;

export interface EmulatedBrowserOptions {
  certificate: DtlsCertificate;
  /** Opus payload bytes per packet (Chromium's fake microphone: about 70). */
  payloadBytes?: number;
  /** Unprotect and check one received packet in this many (1: every packet). */
  verifyEvery?: number;
  /** SO_RCVBUF of the socket. */
  recvBufferSize?: number;
}

export interface EmulatedBrowserCounters {
  sent: number;
  received: number;
  rtcpIn: number;
  verified: number;
  /** Sampled packets that failed SRTP authentication or carried another payload than ours. */
  bad: number;
  stunRequestsAnswered: number;
  /** Duplicate DTLS flights ignored (see startDtls). */
  dtlsDuplicates: number;
}

function iceString(n: number): string {
  return randomBytes(n).toString('base64').replace(/[^A-Za-z0-9+/]/g, '').slice(0, n);
}

/** What the answer says: ICE credentials, our DTLS role, loopback host candidates, Opus's payload type. */
export interface ParsedAnswer {
  ufrag: string;
  pwd: string;
  setup: string;
  candidates: Array<{ address: string; port: number }>;
  opusPt: number;
}

export function parseAnswer(sdp: string): ParsedAnswer {
  const line = (name: string) => new RegExp(`^a=${name}:(.*?)\\r?$`, 'm').exec(sdp)?.[1]?.trim();
  const ufrag = line('ice-ufrag');
  const pwd = line('ice-pwd');
  if (!ufrag || !pwd) throw new Error(`the answer has no ICE credentials:\n${sdp}`);
  const candidates: ParsedAnswer['candidates'] = [];
  for (const m of sdp.matchAll(/^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ (\S+)/gim)) {
    // Loopback only: the bench never sends anywhere else.
    if (m[1]!.startsWith('127.')) candidates.push({ address: m[1]!, port: Number(m[2]) });
  }
  const opus = /^a=rtpmap:(\d+) opus\/48000/im.exec(sdp);
  return { ufrag, pwd, setup: line('setup') ?? 'active', candidates, opusPt: opus ? Number(opus[1]) : OPUS_PT };
}

export class EmulatedBrowser {
  readonly localUfrag = iceString(8);
  readonly localPwd = iceString(24);
  readonly counters: EmulatedBrowserCounters = { sent: 0, received: 0, rtcpIn: 0, verified: 0, bad: 0, stunRequestsAnswered: 0, dtlsDuplicates: 0 };
  private readonly opts: Required<EmulatedBrowserOptions>;
  private readonly pwdKey: Buffer;
  private readonly tieBreaker = randomBytes(8);
  private readonly ssrc = randomBytes(4).readUInt32BE(0);
  private socket: Socket | undefined;
  private remote: ParsedAnswer | undefined;
  private selected: { address: string; port: number } | undefined;
  private dtls: DtlsSocket | undefined;
  private dtlsInput: ((buf: Buffer) => void) | undefined;
  private tx: SrtpContext | undefined;
  private rx: SrtpContext | undefined;
  private seq = randomBytes(2).readUInt16BE(0) & 0x7fff;
  private timestamp = randomBytes(4).readUInt32BE(0);
  private readonly payload: Buffer;
  private pendingChecks = new Map<string, { address: string; port: number }>();
  private onConnected: (() => void) | undefined;
  private onFailed: ((err: Error) => void) | undefined;
  private closed = false;

  constructor(opts: EmulatedBrowserOptions) {
    this.opts = { payloadBytes: 70, verifyEvery: 16, recvBufferSize: 1 << 20, ...opts };
    this.pwdKey = Buffer.from(this.localPwd, 'utf8');
    this.payload = randomBytes(this.opts.payloadBytes);
  }

  get connected(): boolean {
    return this.tx !== undefined;
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  async bind(): Promise<void> {
    const s = createSocket({ type: 'udp4', recvBufferSize: this.opts.recvBufferSize });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => resolve());
    });
    s.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    s.on('error', () => undefined);
    this.socket = s;
  }

  /** An SDP offer shaped like Chromium's for one microphone track. */
  offer(): string {
    const port = this.port;
    const id = randomBytes(6).readUIntBE(0, 6);
    return [
      'v=0',
      `o=- ${id} 2 IN IP4 127.0.0.1`,
      's=-',
      't=0 0',
      'a=group:BUNDLE 0',
      'a=extmap-allow-mixed',
      'a=msid-semantic: WMS mic',
      `m=audio ${port} UDP/TLS/RTP/SAVPF ${OPUS_PT} 0 8 126`,
      'c=IN IP4 127.0.0.1',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0`,
      `a=ice-ufrag:${this.localUfrag}`,
      `a=ice-pwd:${this.localPwd}`,
      'a=ice-options:trickle',
      `a=fingerprint:sha-256 ${this.opts.certificate.fingerprint}`,
      'a=setup:actpass',
      'a=mid:0',
      'a=sendrecv',
      'a=msid:mic track0',
      'a=rtcp-mux',
      `a=rtpmap:${OPUS_PT} opus/48000/2`,
      `a=fmtp:${OPUS_PT} minptime=10;useinbandfec=1`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:126 telephone-event/8000',
      `a=ssrc:${this.ssrc} cname:bench`,
      '',
    ].join('\r\n');
  }

  /**
   * Takes the answer and runs ICE then DTLS; resolves once SRTP keys are in place.
   * Rejects after `timeoutMs`.
   */
  connect(answerSdp: string, timeoutMs: number): Promise<void> {
    const remote = parseAnswer(answerSdp);
    if (remote.candidates.length === 0) return Promise.reject(new Error(`no loopback candidate in the answer:\n${answerSdp}`));
    this.remote = remote;
    // The answerer chose its DTLS role (RFC 5763 §5): `passive` makes us the client.
    if (remote.setup !== 'passive') this.startDtls('server');
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let checks: NodeJS.Timeout | undefined;
      const done = (err?: Error) => {
        clearTimeout(timer);
        clearInterval(checks);
        this.onConnected = undefined;
        this.onFailed = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.onConnected = () => done();
      this.onFailed = (err) => done(err);
      timer = setTimeout(() => done(new Error(`ICE+DTLS not done within ${timeoutMs} ms (selected: ${Boolean(this.selected)}, dtls: ${Boolean(this.dtls)})`)), timeoutMs);
      const check = () => {
        if (this.selected) return;
        for (const c of remote.candidates) this.sendCheck(c);
      };
      check();
      // Retransmit checks until one succeeds (RFC 8445 §14.3 paces them; 50 ms is enough here).
      checks = setInterval(check, 50);
    });
  }

  /** One 20 ms packet of "microphone". */
  sendOne(): void {
    const tx = this.tx;
    const to = this.selected;
    if (!tx || !to || this.closed) return;
    const pkt = Buffer.allocUnsafe(12 + this.payload.length);
    pkt[0] = 0x80;
    pkt[1] = this.remote?.opusPt ?? OPUS_PT;
    pkt.writeUInt16BE(this.seq, 2);
    pkt.writeUInt32BE(this.timestamp, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    this.payload.copy(pkt, 12);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + 960) >>> 0;
    this.socket!.send(tx.protectRtp(pkt), to.port, to.address);
    this.counters.sent++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dtls?.close();
    } catch {
      /* closed */
    }
    this.socket?.close();
  }

  private sendCheck(c: { address: string; port: number }): void {
    const transactionId = randomBytes(12);
    this.pendingChecks.set(transactionId.toString('hex'), c);
    const req = bindingRequest({
      transactionId,
      username: `${this.remote!.ufrag}:${this.localUfrag}`,
      key: Buffer.from(this.remote!.pwd, 'utf8'),
      // A host candidate's priority (RFC 8445 §5.1.2.1), as a peer-reflexive one would be learnt.
      priority: 1853824767,
      controlling: this.tieBreaker,
      useCandidate: true,
    });
    this.socket!.send(req, c.port, c.address);
  }

  private onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const first = msg[0]!;
    if (first < 4) return this.onStun(msg, rinfo);
    if (first >= 20 && first <= 63) return this.dtlsInput?.(msg);
    if (first >= 128 && first <= 191) {
      const second = msg[1]!;
      if (second >= 192 && second <= 223) return void this.counters.rtcpIn++;
      const n = ++this.counters.received;
      if (this.rx && n % this.opts.verifyEvery === 0) {
        try {
          const plain = this.rx.unprotectRtp(msg);
          if (plain.length === 12 + this.payload.length && plain.subarray(12).equals(this.payload)) this.counters.verified++;
          else this.counters.bad++;
        } catch {
          this.counters.bad++;
        }
      }
    }
  }

  private onStun(msg: Buffer, rinfo: RemoteInfo): void {
    const stun = parseStun(msg);
    if (!stun) return;
    if (stun.type === BINDING_REQUEST) {
      // The other side's checks (a full ICE agent checks too); the password is ours.
      this.counters.stunRequestsAnswered++;
      this.socket!.send(bindingSuccess(stun.transactionId, rinfo.address, rinfo.port, this.pwdKey), rinfo.port, rinfo.address);
      return;
    }
    if (stun.type !== BINDING_SUCCESS) return;
    const key = stun.transactionId.toString('hex');
    if (!this.pendingChecks.has(key) || this.selected) return;
    this.pendingChecks.clear();
    this.selected = { address: rinfo.address, port: rinfo.port };
    if (!stun.attributes.has(ATTR.XOR_MAPPED_ADDRESS)) this.onFailed?.(new Error('Binding success without XOR-MAPPED-ADDRESS'));
    if (this.remote?.setup === 'passive') this.startDtls('client');
  }

  private startDtls(role: 'client' | 'server'): void {
    if (this.dtls) return;
    const cert = this.opts.certificate;
    const transport = {
      type: 'udp',
      address: {} as never,
      closed: false,
      onData: (_data: Buffer, _addr?: unknown) => {},
      send: async (buf: Buffer) => {
        const to = this.selected ?? this.remote?.candidates[0];
        if (to && !this.closed) this.socket!.send(buf, to.port, to.address);
      },
      close: async () => {},
    };
    const options = {
      transport,
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: cert.signatureHash,
      srtpProfiles: [SRTP_AES128_CM_SHA1_80] as never,
      extendedMasterSecret: true,
      certificateRequest: true,
    };
    // werift's DTLS client throws (an Error without a message) when a retransmitted ClientHello
    // brings a second HelloVerifyRequest; a browser ignores the duplicate and so do we (RFC 6347 §4.2.1).
    const failed = (err: Error) => {
      if (err.message === '') this.counters.dtlsDuplicates++;
      else this.onFailed?.(err);
    };
    const dtls = role === 'client' ? new DtlsClient(options) : new DtlsServer(options);
    this.dtls = dtls;
    // werift's DTLS socket puts its record handler on the transport it was given.
    this.dtlsInput = (buf) => {
      try {
        transport.onData(buf, [this.selected?.address ?? '127.0.0.1', this.selected?.port ?? 0]);
      } catch (err) {
        failed(err as Error);
      }
    };
    dtls.onConnect.once(() => {
      const k = dtls.extractSessionKeys(16, 14);
      this.tx = new SrtpContext(Buffer.from(k.localKey), Buffer.from(k.localSalt));
      this.rx = new SrtpContext(Buffer.from(k.remoteKey), Buffer.from(k.remoteSalt));
      this.onConnected?.();
    });
    dtls.onError.subscribe(failed);
    if (dtls instanceof DtlsClient) dtls.connect().catch(failed);
  }
}
