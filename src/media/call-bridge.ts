/**
 * One bridged call: a WebRTC leg facing the browser and a plain RTP leg facing SIP, with the SDP
 * for each side built from the other's.
 *
 * Offer/answer (RFC 3264) crosses the bridge in two shapes:
 * - browser offers (outgoing call, or a browser re-offer): `acceptBrowserOffer` → SIP offer,
 *   then `acceptSipAnswer` → the browser's answer;
 * - SIP offers (incoming call, or a SIP re-INVITE): `acceptSipOffer` → browser offer, then
 *   `acceptBrowserAnswer` → the SIP answer.
 * Only codecs both sides share are kept (no transcoding); each side keeps its payload type
 * numbers and the bridge rewrites them. Directions map one to one: what SIP says about its
 * stream is what we tell the browser, and the other way round.
 *
 * Timers: ICE and DTLS must complete within `setupTimeoutMs` once both sides have each other's
 * SDP; a leg that sends nothing for `inactivityTimeoutMs` ends the call (the browser's consent
 * checks count as life, RFC 7675; a SIP peer that said it will not send is not watched).
 */
import type { Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DtlsCertificate } from './certificate.ts';
import { codecAttributes, describeCodecs, isAudioCodec, isRelayed, payloadTypeMap, readCodecs, sharedCodecs, type Codec } from './codecs.ts';
import { MediaError } from './errors.ts';
import { RtpLeg } from './rtp-leg.ts';
import { RtpRewriter, randomSsrc, senderReport } from './rtp-rewriter.ts';
import { attr, directionOf, parseSdp, sectionAddress, serializeSdp, type Direction, type MediaSection, type SdpAttribute, type SessionDescription } from './sdp.ts';
import { rtpHeaderLength } from './srtp.ts';
import { WebRtcLeg, type RemoteIceDtls, type WebRtcLegState } from './webrtc-leg.ts';

export interface CallBridgeTimers {
  /** ICE + DTLS must complete within this, once both sides have the other's SDP. */
  setupTimeoutMs: number;
  /** A leg silent this long ends the call. */
  inactivityTimeoutMs: number;
  /** Our RTCP sender reports, per leg. */
  rtcpIntervalMs: number;
}

export interface CallBridgeOptions {
  id: string;
  webrtcSocket: Socket;
  rtpSocket: Socket;
  certificate: DtlsCertificate;
  /** Address written into SDP for both legs. */
  announceAddress: string;
  timers: CallBridgeTimers;
  logger: Logger;
  /** The bridge gave up on the call (media timeout, DTLS failure, no codec in the answer). */
  onEnd: (reason: string) => void;
  maxPacketBytes?: number;
}

export interface CallBridgeStats {
  state: WebRtcLegState;
  browser: WebRtcLeg['counters'] & { remote?: string };
  sip: RtpLeg['counters'] & { remote?: string; latched?: string };
  /** Codecs in use: `opus/48000`, `pcmu/8000`, ... */
  codecs: string[];
  /** Packets relayed each way. */
  toSip: number;
  toBrowser: number;
}

const SENDS = (d: Direction) => d === 'sendrecv' || d === 'sendonly';
const RECEIVES = (d: Direction) => d === 'sendrecv' || d === 'recvonly';

function isWebRtcProto(proto: string): boolean {
  return /^(UDP\/TLS\/RTP\/SAVPF?|RTP\/SAVPF)$/i.test(proto);
}

function isPlainRtpProto(proto: string): boolean {
  return /^RTP\/AVPF?$/i.test(proto);
}

function remoteIceDtls(sdp: SessionDescription, section: MediaSection): RemoteIceDtls {
  const ufrag = attr(sdp, section, 'ice-ufrag');
  const pwd = attr(sdp, section, 'ice-pwd');
  const fp = attr(sdp, section, 'fingerprint');
  const setup = (attr(sdp, section, 'setup') ?? 'actpass') as RemoteIceDtls['setup'];
  if (!ufrag || !pwd) throw new MediaError('MEDIA_ERR_BAD_SDP', 'the WebRTC SDP has no ICE credentials (a=ice-ufrag, a=ice-pwd)');
  const m = /^(\S+)\s+([0-9A-Fa-f:]+)$/.exec(fp ?? '');
  if (!m) throw new MediaError('MEDIA_ERR_BAD_SDP', 'the WebRTC SDP has no DTLS fingerprint (a=fingerprint)');
  if (!['active', 'passive', 'actpass', 'holdconn'].includes(setup)) throw new MediaError('MEDIA_ERR_BAD_SDP', `unknown a=setup:${setup}`);
  return { ufrag, pwd, fingerprint: { algorithm: m[1] as string, value: m[2] as string }, setup };
}

export class CallBridge {
  readonly id: string;
  readonly webrtc: WebRtcLeg;
  readonly rtp: RtpLeg;
  private readonly opts: CallBridgeOptions;
  private readonly log: Logger;
  private readonly cname = randomBytes(9).toString('base64url');
  private readonly streamId = randomBytes(9).toString('base64url');
  private readonly sessionId = String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
  private browserVersion = 0;
  private sipVersion = 0;
  private readonly toSip = new RtpRewriter(randomSsrc(), new Map());
  private readonly toBrowser = new RtpRewriter(randomSsrc(), new Map());
  /** The last browser offer, and which of its sections is the audio we bridge. */
  private browserOffer: { sdp: SessionDescription; audio: number; codecs: Codec[]; direction: Direction } | undefined;
  /** The last SIP offer, and which of its sections is the audio we bridge. */
  private sipOffer: { sdp: SessionDescription; audio: number; codecs: Codec[]; direction: Direction } | undefined;
  private browserCodecs: Codec[] = [];
  private sipCodecs: Codec[] = [];
  private sendToSip = true;
  private sendToBrowser = true;
  /** Whether the SIP peer said it sends (only then is its silence a dead call). */
  private sipSends = true;
  private setupTimer: NodeJS.Timeout | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private readonly rtcpTimer: NodeJS.Timeout;
  private mediaSince = 0;
  private ended = false;
  private closed = false;

  constructor(opts: CallBridgeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.log = opts.logger;
    this.webrtc = new WebRtcLeg({
      socket: opts.webrtcSocket,
      certificate: opts.certificate,
      logger: opts.logger.child({ leg: 'webrtc' }),
      onRtp: (pkt) => this.fromBrowser(pkt),
      onState: (state, reason) => this.onWebRtcState(state, reason),
    });
    this.rtp = new RtpLeg({
      socket: opts.rtpSocket,
      logger: opts.logger.child({ leg: 'rtp' }),
      maxPacketBytes: opts.maxPacketBytes,
      onRtp: (pkt) => this.fromSip(pkt),
    });
    const t = opts.timers;
    this.watchdog = setInterval(() => this.checkLife(), Math.max(20, Math.min(1000, Math.floor(t.inactivityTimeoutMs / 4))));
    this.watchdog.unref();
    this.rtcpTimer = setInterval(() => this.sendReports(), t.rtcpIntervalMs);
    this.rtcpTimer.unref();
  }

  stats(): CallBridgeStats {
    const fmt = (a: { address: string; port: number } | undefined) => (a ? `${a.address}:${a.port}` : undefined);
    return {
      state: this.webrtc.state,
      browser: { ...this.webrtc.counters, remote: fmt(this.webrtc.remoteAddress) },
      sip: { ...this.rtp.counters, remote: fmt(this.rtp.remoteAddress), latched: fmt(this.rtp.latchedAddress) },
      codecs: this.sipCodecs.filter(isAudioCodec).map((c) => `${c.name}/${c.clockRate}`),
      toSip: this.toSip.packets,
      toBrowser: this.toBrowser.packets,
    };
  }

  // ---- browser offers ------------------------------------------------------------------------

  /** The browser's offer → our offer to SIP (plain RTP/AVP with the codecs we can relay). */
  acceptBrowserOffer(text: string): string {
    const sdp = parseSdp(text);
    const audio = sdp.media.findIndex((m) => m.kind === 'audio' && m.port !== 0 && isWebRtcProto(m.proto));
    if (audio < 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the offer has no WebRTC audio stream');
    const section = sdp.media[audio] as MediaSection;
    if (!section.attributes.some((a) => a.name === 'rtcp-mux')) throw new MediaError('MEDIA_ERR_BAD_SDP', 'the WebRTC offer lacks a=rtcp-mux');
    const codecs = readCodecs(section).filter(isRelayed);
    if (!codecs.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `no audio codec in common (offered: ${describeCodecs(section)}; relayed: opus, PCMU, PCMA)`);
    this.webrtc.setRemote(remoteIceDtls(sdp, section));
    const direction = directionOf(sdp, section);
    this.browserOffer = { sdp, audio, codecs, direction };
    return this.sipDescription([{ kind: 'audio', codecs, direction }]);
  }

  /** SIP's answer to our offer → the answer for the browser. Throws when SIP kept no codec we relay. */
  acceptSipAnswer(text: string): string {
    const offer = this.browserOffer;
    if (!offer) throw new MediaError('MEDIA_ERR_UNKNOWN_CALL', 'a SIP answer without a browser offer');
    const sdp = parseSdp(text);
    const section = sdp.media[0];
    if (!section || section.kind !== 'audio' || section.port === 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the SIP peer rejected the audio stream');
    const address = sectionAddress(sdp, section);
    if (!address) throw new MediaError('MEDIA_ERR_BAD_SDP', 'the SIP answer has no connection address');
    const answered = sharedCodecs(readCodecs(section), offer.codecs);
    if (!answered.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `the SIP answer has no codec we offered (answered: ${describeCodecs(section)})`);
    const sipDirection = directionOf(sdp, section);
    this.rtp.setTarget(address, section.port);
    this.setCodecs(sharedCodecs(offer.codecs, answered), answered);
    this.setDirections(sipDirection);
    const answer = this.browserAnswer(offer.sdp, offer.audio, sipDirection);
    this.armSetupTimer();
    return answer;
  }

  /** A browser answer refusing every stream: the call cannot be bridged (the caller ends it). */
  rejectingBrowserAnswer(): string {
    const offer = this.browserOffer;
    const media = (offer?.sdp.media ?? []).map((m) => this.rejected(m));
    return serializeSdp({ ...this.browserSession(), attributes: [], media });
  }

  // ---- SIP offers ----------------------------------------------------------------------------

  /** A SIP offer → our offer to the browser (ICE-lite, DTLS actpass, the codecs we can relay). */
  acceptSipOffer(text: string): string {
    const sdp = parseSdp(text);
    const audio = sdp.media.findIndex((m) => m.kind === 'audio' && m.port !== 0 && isPlainRtpProto(m.proto));
    if (audio < 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the offer has no plain RTP audio stream');
    const section = sdp.media[audio] as MediaSection;
    const address = sectionAddress(sdp, section);
    if (!address) throw new MediaError('MEDIA_ERR_BAD_SDP', 'the SIP offer has no connection address');
    const codecs = readCodecs(section).filter(isRelayed);
    if (!codecs.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `no audio codec in common (offered: ${describeCodecs(section)}; relayed: opus, PCMU, PCMA)`);
    const direction = directionOf(sdp, section);
    this.rtp.setTarget(address, section.port);
    this.sipOffer = { sdp, audio, codecs, direction };
    // Until the browser answers, packets SIP sends early are accepted with the offered types.
    this.rtp.acceptedPayloadTypes = new Set(codecs.map((c) => c.pt));
    return this.browserOfferSdp(codecs, direction);
  }

  /** The browser's answer to our offer → the answer for SIP. */
  acceptBrowserAnswer(text: string): string {
    const offer = this.sipOffer;
    if (!offer) throw new MediaError('MEDIA_ERR_UNKNOWN_CALL', 'a browser answer without a SIP offer');
    const sdp = parseSdp(text);
    const section = sdp.media.find((m) => m.kind === 'audio');
    if (!section || section.port === 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the browser rejected the audio stream');
    this.webrtc.setRemote(remoteIceDtls(sdp, section));
    const answered = sharedCodecs(readCodecs(section), offer.codecs);
    if (!answered.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `the browser's answer has no codec we offered (answered: ${describeCodecs(section)})`);
    const browserDirection = directionOf(sdp, section);
    const sipCodecs = sharedCodecs(offer.codecs, answered);
    this.setCodecs(answered, sipCodecs);
    // What the browser says of its stream is what we say to SIP.
    this.setDirections(browserDirection === 'sendonly' ? 'recvonly' : browserDirection === 'recvonly' ? 'sendonly' : browserDirection);
    const media = offer.sdp.media.map((m, i) =>
      i === offer.audio ? { kind: 'audio', codecs: sipCodecs, direction: browserDirection } : { kind: m.kind, rejected: m },
    );
    this.armSetupTimer();
    return this.sipDescription(media);
  }

  /** Candidates the browser trickled: not needed (ICE-lite learns addresses from checks), logged. */
  trickle(count: number, end: boolean): void {
    this.log.debug({ count, end }, 'browser candidates');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    clearInterval(this.rtcpTimer);
    clearTimeout(this.setupTimer);
    this.webrtc.close();
    this.rtp.close();
  }

  // ---- relaying ------------------------------------------------------------------------------

  private fromBrowser(pkt: Buffer): void {
    if (!this.sendToSip) return;
    const hl = rtpHeaderLength(pkt);
    if (hl < 0) return;
    if (this.toSip.rewrite(pkt, hl)) this.rtp.send(pkt);
  }

  private fromSip(pkt: Buffer): void {
    if (!this.sendToBrowser) return;
    const hl = rtpHeaderLength(pkt);
    if (hl < 0) return;
    if (this.toBrowser.rewrite(pkt, hl)) this.webrtc.sendRtp(pkt);
  }

  private sendReports(): void {
    if (this.toSip.packets > 0) this.rtp.sendRtcp(senderReport(this.toSip, this.cname));
    if (this.toBrowser.packets > 0) this.webrtc.sendRtcp(senderReport(this.toBrowser, this.cname));
  }

  private setCodecs(browser: Codec[], sip: Codec[]): void {
    this.browserCodecs = browser;
    this.sipCodecs = sip;
    const rates = (list: Codec[]) => new Map(list.map((c) => [c.pt, c.clockRate]));
    this.toSip.setMapping(payloadTypeMap(browser, sip), rates(sip));
    this.toBrowser.setMapping(payloadTypeMap(sip, browser), rates(browser));
    this.rtp.acceptedPayloadTypes = new Set(sip.map((c) => c.pt));
  }

  /** `sipDirection` is the SIP side's own direction (as its SDP says it). */
  private setDirections(sipDirection: Direction): void {
    this.sendToBrowser = SENDS(sipDirection);
    this.sendToSip = RECEIVES(sipDirection);
    this.sipSends = SENDS(sipDirection);
  }

  private armSetupTimer(): void {
    this.mediaSince = performance.now();
    if (this.webrtc.state === 'connected' || this.setupTimer) return;
    const ms = this.opts.timers.setupTimeoutMs;
    this.setupTimer = setTimeout(() => {
      if (this.webrtc.state !== 'connected') this.end(`media setup failed: ICE and DTLS with the browser did not complete within ${ms / 1000} s`);
    }, ms);
    this.setupTimer.unref();
  }

  private onWebRtcState(state: WebRtcLegState, reason?: string): void {
    this.log.debug({ state, reason }, 'WebRTC leg state');
    if (state === 'connected') {
      clearTimeout(this.setupTimer);
      this.mediaSince = performance.now();
    } else if (state === 'failed') this.end(`media failed: ${reason ?? 'WebRTC leg failed'}`);
  }

  private checkLife(): void {
    if (this.ended || this.mediaSince === 0 || this.webrtc.state !== 'connected') return;
    const now = performance.now();
    const limit = this.opts.timers.inactivityTimeoutMs;
    const secs = limit >= 1000 ? `${Math.round(limit / 1000)} s` : `${limit} ms`;
    if (now - Math.max(this.webrtc.lastHeard, this.mediaSince) > limit) return this.end(`media timeout: nothing from the browser for ${secs}`);
    if (this.sipSends && now - Math.max(this.rtp.lastHeard, this.mediaSince) > limit) this.end(`media timeout: no RTP from the SIP side for ${secs}`);
  }

  private end(reason: string): void {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.log.info({ reason, stats: this.stats() }, 'bridge ends the call');
    this.opts.onEnd(reason);
  }

  // ---- SDP -----------------------------------------------------------------------------------

  private rejected(m: MediaSection): MediaSection {
    const mid = m.attributes.find((a) => a.name === 'mid');
    return { kind: m.kind, port: 0, proto: m.proto, formats: m.formats.slice(0, 1), connection: undefined, otherLines: [], attributes: mid ? [mid] : [] };
  }

  private browserSession(): SessionDescription {
    const address = this.opts.announceAddress;
    return {
      origin: { username: '-', sessionId: this.sessionId, version: String(++this.browserVersion), address },
      sessionName: '-',
      connection: undefined,
      otherLines: [],
      attributes: [],
      media: [],
    };
  }

  /** ICE, DTLS, codec and stream lines of our WebRTC audio section. */
  private webrtcAudio(proto: string, codecs: Codec[], direction: Direction, setup: string, mid: string): MediaSection {
    const local = this.webrtc.localAddress;
    const address = this.opts.announceAddress;
    const ssrc = this.toBrowser.ssrc;
    const attributes: SdpAttribute[] = [
      { name: 'mid', value: mid },
      { name: 'ice-ufrag', value: this.webrtc.localUfrag },
      { name: 'ice-pwd', value: this.webrtc.localPwd },
      { name: 'fingerprint', value: `sha-256 ${this.opts.certificate.fingerprint}` },
      { name: 'setup', value: setup },
      { name: direction, value: undefined },
      { name: 'rtcp-mux', value: undefined },
      ...codecAttributes(codecs),
      { name: 'msid', value: `${this.streamId} audio-${this.streamId}` },
      { name: 'ssrc', value: `${ssrc} cname:${this.cname}` },
      // One host candidate: our socket. Priority per RFC 8445 §5.1.2.1 for a host candidate, component 1.
      { name: 'candidate', value: `1 1 udp 2130706431 ${address} ${local.port} typ host` },
      { name: 'end-of-candidates', value: undefined },
    ];
    return { kind: 'audio', port: local.port, proto, formats: codecs.map((c) => String(c.pt)), connection: address, otherLines: [], attributes };
  }

  private browserAnswer(offer: SessionDescription, audio: number, sipDirection: Direction): string {
    const offered = offer.media[audio] as MediaSection;
    const mid = offered.attributes.find((a) => a.name === 'mid')?.value ?? '0';
    const remote = remoteIceDtls(offer, offered);
    const media = offer.media.map((m, i) =>
      i === audio ? this.webrtcAudio(m.proto, this.browserCodecs, sipDirection, WebRtcLeg.answerSetup(remote.setup), mid) : this.rejected(m),
    );
    const session = this.browserSession();
    const bundled = offer.attributes.some((a) => a.name === 'group' && a.value?.startsWith('BUNDLE'));
    session.attributes = [...(bundled ? [{ name: 'group', value: `BUNDLE ${mid}` }] : []), { name: 'ice-lite', value: undefined }, { name: 'msid-semantic', value: ' WMS *' }];
    session.media = media;
    return serializeSdp(session);
  }

  private browserOfferSdp(codecs: Codec[], direction: Direction): string {
    const session = this.browserSession();
    session.attributes = [{ name: 'group', value: 'BUNDLE 0' }, { name: 'ice-lite', value: undefined }, { name: 'msid-semantic', value: ' WMS *' }];
    session.media = [this.webrtcAudio('UDP/TLS/RTP/SAVPF', codecs, direction, 'actpass', '0')];
    return serializeSdp(session);
  }

  /** Our plain RTP/AVP description for SIP: the audio section, and rejected copies of any other offered section. */
  private sipDescription(media: Array<{ kind: string; codecs: Codec[]; direction: Direction } | { kind: string; rejected: MediaSection }>): string {
    const address = this.opts.announceAddress;
    const port = this.rtp.localAddress.port;
    const sections: MediaSection[] = media.map((m) => {
      if ('rejected' in m) return { ...this.rejected(m.rejected), attributes: [] };
      return {
        kind: 'audio',
        port,
        proto: 'RTP/AVP',
        formats: m.codecs.map((c) => String(c.pt)),
        connection: undefined,
        otherLines: [],
        attributes: [...codecAttributes(m.codecs), { name: 'ptime', value: '20' }, { name: 'rtcp', value: String(port) }, { name: m.direction, value: undefined }],
      };
    });
    return serializeSdp({
      origin: { username: 'portico', sessionId: this.sessionId, version: String(++this.sipVersion), address },
      sessionName: 'portico',
      connection: address,
      otherLines: [],
      attributes: [],
      media: sections,
    });
  }
}
