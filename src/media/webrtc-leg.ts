/**
 * The leg facing the browser: ICE-lite (RFC 8445 §2.5), DTLS-SRTP (RFC 5764) and SRTP on one UDP
 * socket, every packet told apart by its first byte (RFC 7983 §7).
 *
 * ICE-lite: we only answer connectivity checks and never send any, so the browser is always the
 * controlling agent. Its address is learnt from the checks themselves (a peer-reflexive candidate,
 * RFC 8445 §7.3.1.3): trickled candidates, including Chromium's mDNS `.local` host candidates, are
 * never resolved or needed. Media goes to the pair the browser nominated (USE-CANDIDATE), or until
 * then to the last address that passed a check. Packets from an address that never passed a
 * check are dropped. The browser's periodic checks are its consent (RFC 7675); their absence
 * shows up as media inactivity.
 *
 * DTLS runs on werift's DTLS stack; SRTP is our own, on buffers (`srtp.ts`).
 */
import type { Socket, RemoteInfo } from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { DtlsClient, DtlsServer, type DtlsSocket } from 'werift';
import type { DtlsCertificate } from './certificate.ts';
import { SrtpContext, SrtpAuthError } from './srtp.ts';
import { ATTR, BINDING_INDICATION, BINDING_REQUEST, bindingError, bindingSuccess, fingerprintOk, integrityOk, looksLikeStun, parseStun } from './stun.ts';

/** SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.1.2). */
const SRTP_PROFILE_AES128_CM_SHA1_80 = 1;

export interface RemoteIceDtls {
  ufrag: string;
  pwd: string;
  /** `sha-256` and its colon-separated hex value, from `a=fingerprint`. */
  fingerprint: { algorithm: string; value: string };
  /** The peer's `a=setup` (RFC 4145 §4). */
  setup: 'active' | 'passive' | 'actpass' | 'holdconn';
}

export type WebRtcLegState = 'new' | 'checking' | 'connected' | 'failed' | 'closed';

export interface WebRtcLegCounters {
  stunRequests: number;
  stunRejected: number;
  rtpIn: number;
  rtcpIn: number;
  rtpOut: number;
  rtcpOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Packets dropped: unknown source, failed SRTP authentication, before DTLS, malformed. */
  dropped: number;
}

export interface WebRtcLegOptions {
  socket: Socket;
  certificate: DtlsCertificate;
  logger: Logger;
  /** Decrypted RTP from the browser. */
  onRtp: (pkt: Buffer) => void;
  /** Decrypted RTCP from the browser (terminated here: counted, not relayed). */
  onRtcp?: (pkt: Buffer) => void;
  onState: (state: WebRtcLegState, reason?: string) => void;
}

function iceChars(n: number): string {
  // ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.4); base64 without padding gives exactly those.
  return randomBytes(Math.ceil((n * 3) / 4))
    .toString('base64')
    .replace(/=+$/, '')
    .slice(0, n);
}

function normalizeFingerprint(v: string): string {
  return v.replace(/:/g, '').toLowerCase();
}

export class WebRtcLeg {
  readonly localUfrag = iceChars(8);
  readonly localPwd = iceChars(24);
  readonly counters: WebRtcLegCounters = { stunRequests: 0, stunRejected: 0, rtpIn: 0, rtcpIn: 0, rtpOut: 0, rtcpOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };
  /** When the browser last passed a check or sent authentic SRTP (ms, monotonic). */
  lastHeard = 0;
  private readonly opts: WebRtcLegOptions;
  private readonly pwdKey: Buffer;
  private remote: RemoteIceDtls | undefined;
  private readonly validated = new Set<string>();
  private selected: { address: string; port: number } | undefined;
  private nominated = false;
  private dtls: DtlsSocket | undefined;
  private dtlsFrom: { address: string; port: number } | undefined;
  private dtlsConnected = false;
  private tx: SrtpContext | undefined;
  private rx: SrtpContext | undefined;
  private stateValue: WebRtcLegState = 'new';

  constructor(opts: WebRtcLegOptions) {
    this.opts = opts;
    this.pwdKey = Buffer.from(this.localPwd, 'utf8');
    opts.socket.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    opts.socket.on('error', (err) => opts.logger.warn({ err }, 'WebRTC leg socket error'));
  }

  get state(): WebRtcLegState {
    return this.stateValue;
  }

  get localAddress(): { address: string; port: number } {
    const a = this.opts.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Where media to the browser goes, once known. */
  get remoteAddress(): { address: string; port: number } | undefined {
    return this.selected;
  }

  /**
   * The browser's ICE credentials and DTLS fingerprint, from its offer or answer. A new ufrag is
   * an ICE restart: addresses are checked afresh. The DTLS role follows `setup` (RFC 5763 §5).
   */
  setRemote(remote: RemoteIceDtls): void {
    const restart = this.remote !== undefined && this.remote.ufrag !== remote.ufrag;
    this.remote = remote;
    if (restart) {
      this.validated.clear();
      this.nominated = false;
    }
    if (this.stateValue === 'new') this.setState('checking');
    if (this.dtlsConnected && !this.tx) this.startSrtp();
    // We are the DTLS client only when the browser answered `passive`.
    if (remote.setup === 'passive' && !this.dtls && this.selected) this.startDtls('client');
  }

  /** Our `setup` for an answer to the browser's offer: the browser connects (it answers actpass with active, or offers active). */
  static answerSetup(offered: RemoteIceDtls['setup']): 'active' | 'passive' {
    return offered === 'passive' ? 'active' : 'passive';
  }

  sendRtp(pkt: Buffer): void {
    if (!this.tx || !this.selected) return;
    const out = this.tx.protectRtp(pkt);
    this.counters.rtpOut++;
    this.counters.bytesOut += out.length;
    this.opts.socket.send(out, this.selected.port, this.selected.address);
  }

  sendRtcp(pkt: Buffer): void {
    if (!this.tx || !this.selected) return;
    const out = this.tx.protectRtcp(pkt);
    this.counters.rtcpOut++;
    this.counters.bytesOut += out.length;
    this.opts.socket.send(out, this.selected.port, this.selected.address);
  }

  close(): void {
    if (this.stateValue === 'closed') return;
    this.setState('closed');
    try {
      this.dtls?.close();
    } catch {
      /* already closed */
    }
    this.opts.socket.removeAllListeners('message');
    this.opts.socket.close();
  }

  private setState(state: WebRtcLegState, reason?: string): void {
    if (this.stateValue === state || this.stateValue === 'closed') return;
    this.stateValue = state;
    this.opts.onState(state, reason);
  }

  private fail(reason: string): void {
    this.opts.logger.info({ reason }, 'WebRTC leg failed');
    this.setState('failed', reason);
  }

  private onPacket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.stateValue === 'closed' || this.stateValue === 'failed') return;
    const first = msg[0];
    if (first === undefined) return;
    if (first < 4) return this.onStun(msg, rinfo);
    const key = `${rinfo.address}:${rinfo.port}`;
    if (!this.validated.has(key)) {
      this.counters.dropped++;
      return;
    }
    if (first >= 20 && first <= 63) return this.onDtls(msg, rinfo);
    if (first >= 128 && first <= 191) return this.onSrtp(msg);
    this.counters.dropped++;
  }

  private onStun(msg: Buffer, rinfo: RemoteInfo): void {
    if (!looksLikeStun(msg)) return void this.counters.dropped++;
    const stun = parseStun(msg);
    if (!stun) return void this.counters.dropped++;
    if (stun.type === BINDING_INDICATION) return; // keepalive, no answer (RFC 8489 §6.3.2)
    if (stun.type !== BINDING_REQUEST) return void this.counters.dropped++;
    this.counters.stunRequests++;
    const send = (buf: Buffer) => this.opts.socket.send(buf, rinfo.port, rinfo.address);
    // A check must carry USERNAME "ourUfrag:theirUfrag", our password's MESSAGE-INTEGRITY and a FINGERPRINT (RFC 8445 §7.2.2).
    const username = stun.attributes.get(ATTR.USERNAME)?.toString('utf8') ?? '';
    const [to, from] = username.split(':');
    if (stun.fingerprintAt >= 0 && !fingerprintOk(msg, stun)) return void this.counters.stunRejected++;
    if (!stun.attributes.has(ATTR.USERNAME) || !stun.attributes.has(ATTR.MESSAGE_INTEGRITY)) {
      this.counters.stunRejected++;
      return send(bindingError(stun.transactionId, 400, 'Bad Request'));
    }
    if (to !== this.localUfrag || !integrityOk(msg, stun, this.pwdKey)) {
      this.counters.stunRejected++;
      return send(bindingError(stun.transactionId, 401, 'Unauthorized'));
    }
    // The browser's ufrag is checked once its SDP is known; before that (a check racing our SDP answer) the password is the proof.
    if (this.remote && from !== undefined && from !== this.remote.ufrag) {
      this.counters.stunRejected++;
      return send(bindingError(stun.transactionId, 401, 'Unauthorized'));
    }
    send(bindingSuccess(stun.transactionId, rinfo.address, rinfo.port, this.pwdKey));
    this.lastHeard = performance.now();
    const addr = { address: rinfo.address, port: rinfo.port };
    this.validated.add(`${addr.address}:${addr.port}`);
    // USE-CANDIDATE: the controlling browser picked this pair (RFC 8445 §7.3.1.5); media goes there from now on.
    if (stun.attributes.has(ATTR.USE_CANDIDATE)) {
      const changed = !this.selected || this.selected.address !== addr.address || this.selected.port !== addr.port;
      this.selected = addr;
      this.nominated = true;
      if (changed) this.opts.logger.debug({ remote: `${addr.address}:${addr.port}` }, 'browser nominated a pair');
    } else if (!this.nominated) this.selected = addr;
    if (this.remote?.setup === 'passive' && !this.dtls) this.startDtls('client');
  }

  private onDtls(msg: Buffer, rinfo: RemoteInfo): void {
    // A ClientHello makes us the server unless the browser's SDP said it is passive.
    if (!this.dtls) {
      if (this.remote?.setup === 'passive') return void this.counters.dropped++;
      this.startDtls('server');
    }
    this.dtlsFrom = { address: rinfo.address, port: rinfo.port };
    try {
      (this.dtls as unknown as { transport: { socket: { onData: (b: Buffer, a: [string, number]) => void } } }).transport.socket.onData(msg, [rinfo.address, rinfo.port]);
    } catch (err) {
      this.opts.logger.debug({ err }, 'DTLS record dropped');
      this.counters.dropped++;
    }
  }

  private startDtls(role: 'server' | 'client'): void {
    const cert = this.opts.certificate;
    const transport = {
      type: 'udp',
      address: {} as never,
      closed: false,
      onData: (_data: Buffer, _addr: unknown) => {},
      send: async (buf: Buffer) => {
        const to = this.dtlsFrom ?? this.selected;
        if (!to || this.stateValue === 'closed') return;
        this.opts.socket.send(buf, to.port, to.address);
      },
      close: async () => {},
    };
    const options = {
      transport,
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: cert.signatureHash,
      srtpProfiles: [SRTP_PROFILE_AES128_CM_SHA1_80] as never,
      extendedMasterSecret: true,
      certificateRequest: true,
    };
    const dtls = role === 'server' ? new DtlsServer(options) : new DtlsClient(options);
    this.dtls = dtls;
    dtls.onConnect.once(() => {
      this.dtlsConnected = true;
      if (this.remote) this.startSrtp();
    });
    dtls.onError.once((err: Error) => this.fail(`DTLS failed: ${err.message}`));
    if (dtls instanceof DtlsClient) dtls.connect().catch((err: Error) => this.fail(`DTLS failed: ${err.message}`));
  }

  /** After the handshake: the browser's certificate must match its SDP fingerprint (RFC 8122 §5), then SRTP keys (RFC 5764 §4.2). */
  private startSrtp(): void {
    const dtls = this.dtls;
    const remote = this.remote;
    if (!dtls || !remote || this.tx) return;
    const cert = dtls.remoteCertificate;
    const algorithm = remote.fingerprint.algorithm.toLowerCase().replace('-', '');
    if (!cert) return this.fail('DTLS peer sent no certificate');
    let actual: string;
    try {
      actual = createHash(algorithm).update(cert).digest('hex');
    } catch {
      return this.fail(`unsupported fingerprint algorithm ${remote.fingerprint.algorithm}`);
    }
    if (actual !== normalizeFingerprint(remote.fingerprint.value)) return this.fail('the DTLS certificate does not match the SDP fingerprint');
    if (dtls.srtp.srtpProfile !== SRTP_PROFILE_AES128_CM_SHA1_80) return this.fail('no SRTP profile in common');
    const k = dtls.extractSessionKeys(16, 14);
    this.tx = new SrtpContext(Buffer.from(k.localKey), Buffer.from(k.localSalt));
    this.rx = new SrtpContext(Buffer.from(k.remoteKey), Buffer.from(k.remoteSalt));
    this.setState('connected');
  }

  private onSrtp(msg: Buffer): void {
    const rx = this.rx;
    if (!rx) return void this.counters.dropped++;
    // RTCP and RTP share the socket (rtcp-mux): packet types 192-223 are RTCP (RFC 5761 §4).
    const rtcp = msg.length >= 8 && msg[1]! >= 192 && msg[1]! <= 223;
    try {
      if (rtcp) {
        const plain = rx.unprotectRtcp(msg);
        this.counters.rtcpIn++;
        this.counters.bytesIn += msg.length;
        this.lastHeard = performance.now();
        this.opts.onRtcp?.(plain);
      } else {
        const plain = rx.unprotectRtp(msg);
        this.counters.rtpIn++;
        this.counters.bytesIn += msg.length;
        this.lastHeard = performance.now();
        this.opts.onRtp(plain);
      }
    } catch (err) {
      if (!(err instanceof SrtpAuthError)) this.opts.logger.debug({ err }, 'SRTP packet dropped');
      this.counters.dropped++;
    }
  }
}
