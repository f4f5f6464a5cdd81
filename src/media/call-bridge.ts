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
import { codecAttributes, describeCodecs, isAudioCodec, isRelayed, payloadTypeMap, readCodecs, renumber, sharedCodecs, telephoneEvents, type Codec } from './codecs.ts';
import { DtmfReader, dtmfPackets, type DtmfDigit } from './dtmf.ts';
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

/**
 * What happens to RFC 4733 DTMF from the browser: `auto` relays it when the SIP side negotiated
 * `telephone-event` and sends each digit as SIP INFO otherwise; `rfc4733` only relays (digits are
 * dropped when SIP has no `telephone-event`); `info` always sends SIP INFO and relays no events.
 */
export type DtmfFromBrowser = 'auto' | 'rfc4733' | 'info';

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
  /** Default `auto`. */
  dtmfFromBrowser?: DtmfFromBrowser;
  /** A digit from the browser to be sent as SIP INFO (see `DtmfFromBrowser`). */
  onDtmfToSip?: (digit: string, durationMs: number) => void;
}

/** DTMF digits seen per path, in order (the last 64 of each), for tests and monitoring. */
export interface DtmfStats {
  /** RFC 4733 events from the browser. */
  fromBrowser: string;
  /** Of those, relayed to SIP as RFC 4733. */
  toSip: string;
  /** Of those, sent to SIP as SIP INFO. */
  toSipInfo: string;
  /** RFC 4733 events from SIP. */
  fromSip: string;
  /** Events sent to the browser: relayed from SIP or made here (SIP INFO in). */
  toBrowser: string;
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
  dtmf: DtmfStats;
  /** The directions in force: does media flow browser → SIP, SIP → browser. */
  flowing: { toSip: boolean; toBrowser: boolean };
}

const SENDS = (d: Direction) => d === 'sendrecv' || d === 'sendonly';
const RECEIVES = (d: Direction) => d === 'sendrecv' || d === 'recvonly';

/** The last 64 characters: a digit log that cannot grow without bound. */
function keep(s: string): string {
  return s.length > 64 ? s.slice(-64) : s;
}

/** An RTP packet's payload, without padding (RFC 3550 §5.1). */
function rtpPayload(pkt: Buffer, headerLength: number): Buffer {
  const pad = pkt[0]! & 0x20 ? pkt[pkt.length - 1]! : 0;
  return pkt.subarray(headerLength, Math.max(headerLength, pkt.length - pad));
}

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
  private sipOffer: { sdp: SessionDescription; audio: number; codecs: Codec[]; direction: Direction; toBrowser: Codec[] } | undefined;
  private browserCodecs: Codec[] = [];
  private sipCodecs: Codec[] = [];
  /** telephone-event payload types → clock rate, per side. */
  private browserEvents = new Map<number, number>();
  private sipEvents = new Map<number, number>();
  private readonly dtmfFromBrowser = new DtmfReader();
  private readonly dtmfFromSip = new DtmfReader();
  private readonly dtmf: DtmfStats = { fromBrowser: '', toSip: '', toSipInfo: '', fromSip: '', toBrowser: '' };
  /** Generated DTMF packets waiting for their time. */
  private readonly dtmfTimers = new Set<NodeJS.Timeout>();
  /** When the digit being generated towards the browser ends (the next one waits). */
  private dtmfBusyUntil = 0;
  /** The browser session's media sections as they stand (kind, mid, protocol), for re-offers. */
  private browserSections: Array<{ kind: string; mid: string; proto: string }> = [];
  private browserAudioMid = '0';
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
      dtmf: { ...this.dtmf },
      flowing: { toSip: this.sendToSip, toBrowser: this.sendToBrowser },
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
    this.rememberBrowserSections(sdp, audio);
    // A re-offer keeps the payload types SIP already agreed to (RFC 3264 §8.3.2).
    return this.sipDescription([{ kind: 'audio', codecs: renumber(codecs, this.sipCodecs), direction }]);
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
    const offered = renumber(offer.codecs, this.sipCodecs);
    const answered = sharedCodecs(readCodecs(section), offered);
    if (!answered.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `the SIP answer has no codec we offered (answered: ${describeCodecs(section)})`);
    const sipDirection = directionOf(sdp, section);
    this.rtp.setTarget(address, section.port);
    this.setCodecs(this.withBrowserEvents(sharedCodecs(offer.codecs, answered), offer.codecs), answered);
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
    // A re-offer keeps the payload types the browser already agreed to (RFC 3264 §8.3.2).
    const toBrowser = renumber(this.withBrowserEvents(codecs, codecs), this.browserCodecs);
    this.sipOffer = { sdp, audio, codecs, direction, toBrowser };
    // Until the browser answers, packets SIP sends early are accepted with the offered types.
    this.rtp.acceptedPayloadTypes = new Set([...codecs.map((c) => c.pt), ...this.sipCodecs.map((c) => c.pt)]);
    return this.browserOfferSdp(toBrowser, direction);
  }

  /** The browser's answer to our offer → the answer for SIP. */
  acceptBrowserAnswer(text: string): string {
    const offer = this.sipOffer;
    if (!offer) throw new MediaError('MEDIA_ERR_UNKNOWN_CALL', 'a browser answer without a SIP offer');
    const sdp = parseSdp(text);
    const section = sdp.media.find((m) => m.kind === 'audio');
    if (!section || section.port === 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the browser rejected the audio stream');
    this.webrtc.setRemote(remoteIceDtls(sdp, section));
    const answered = sharedCodecs(readCodecs(section), offer.toBrowser);
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

  /**
   * Sends `digit` to the browser as an RFC 4733 event (a SIP INFO the SIP side sent, converted).
   * False when the browser negotiated no `telephone-event` or the call does not send to the browser
   * (on hold); a digit asked for while another is being sent follows it.
   */
  sendDtmfToBrowser(digit: string, durationMs: number): boolean {
    if (this.closed || !this.sendToBrowser || this.webrtc.state !== 'connected') return false;
    const audio = this.browserCodecs.find(isAudioCodec);
    // The event's clock is the audio's (RFC 4733 §2.1): Opus at 48 kHz, G.711 at 8 kHz.
    const rate = this.toBrowser.packets > 0 ? this.toBrowser.clockRate : (audio?.clockRate ?? 8000);
    const pt = [...this.browserEvents].find(([, r]) => r === rate)?.[0];
    if (pt === undefined) return false;
    const packets = dtmfPackets(digit, durationMs, rate);
    const now = performance.now();
    const start = Math.max(now, this.dtmfBusyUntil);
    this.dtmfBusyUntil = start + (packets.at(-1)?.atMs ?? 0) + 60;
    let timestamp: number | undefined;
    for (const p of packets) {
      const t = setTimeout(() => {
        this.dtmfTimers.delete(t);
        if (this.closed || !this.sendToBrowser) return;
        // One event, one timestamp: where the stream is when the event starts (RFC 4733 §2.5.1.2).
        timestamp ??= this.toBrowser.timestampNow(rate);
        this.webrtc.sendRtp(this.toBrowser.ownPacket(pt, p.marker, timestamp, p.payload));
        if (p.marker) this.dtmf.toBrowser = keep(this.dtmf.toBrowser + digit.toUpperCase());
      }, start - now + p.atMs);
      this.dtmfTimers.add(t);
    }
    return true;
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
    for (const t of this.dtmfTimers) clearTimeout(t);
    this.dtmfTimers.clear();
    this.webrtc.close();
    this.rtp.close();
  }

  // ---- relaying ------------------------------------------------------------------------------

  private fromBrowser(pkt: Buffer): void {
    const hl = rtpHeaderLength(pkt);
    if (hl < 0) return;
    const rate = this.browserEvents.get(pkt[1]! & 0x7f);
    if (rate !== undefined) {
      const mode = this.opts.dtmfFromBrowser ?? 'auto';
      const relay = mode !== 'info' && this.toSip.ptMap.has(pkt[1]! & 0x7f);
      for (const d of this.dtmfFromBrowser.read(pkt.readUInt32BE(4), rtpPayload(pkt, hl), rate)) this.browserDigit(d, relay, mode);
      if (!relay) return;
    }
    if (!this.sendToSip) return;
    if (this.toSip.rewrite(pkt, hl)) this.rtp.send(pkt);
  }

  private browserDigit(d: DtmfDigit, relayed: boolean, mode: DtmfFromBrowser): void {
    this.dtmf.fromBrowser = keep(this.dtmf.fromBrowser + d.digit);
    if (relayed) {
      if (this.sendToSip) this.dtmf.toSip = keep(this.dtmf.toSip + d.digit);
      return;
    }
    if (mode === 'rfc4733' || !this.opts.onDtmfToSip) return;
    this.dtmf.toSipInfo = keep(this.dtmf.toSipInfo + d.digit);
    this.opts.onDtmfToSip(d.digit, d.durationMs);
  }

  private fromSip(pkt: Buffer): void {
    const hl = rtpHeaderLength(pkt);
    if (hl < 0) return;
    const rate = this.sipEvents.get(pkt[1]! & 0x7f);
    if (rate !== undefined) {
      const relay = this.sendToBrowser && this.toBrowser.ptMap.has(pkt[1]! & 0x7f);
      for (const d of this.dtmfFromSip.read(pkt.readUInt32BE(4), rtpPayload(pkt, hl), rate)) {
        this.dtmf.fromSip = keep(this.dtmf.fromSip + d.digit);
        if (relay) this.dtmf.toBrowser = keep(this.dtmf.toBrowser + d.digit);
      }
    }
    if (!this.sendToBrowser) return;
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
    this.browserEvents = telephoneEvents(browser);
    this.sipEvents = telephoneEvents(sip);
  }

  /**
   * `browser` (codecs for the browser) with a `telephone-event` at its audio clock rate when SIP
   * has none, so the browser can send digits that we turn into SIP INFO (unless `rfc4733` only).
   * Taken from `source` (the browser's own offer) when it has one, else numbered afresh.
   */
  private withBrowserEvents(browser: Codec[], source: Codec[]): Codec[] {
    if ((this.opts.dtmfFromBrowser ?? 'auto') === 'rfc4733' || browser.some((c) => c.name === 'telephone-event')) return browser;
    const rates = [...new Set(browser.filter(isAudioCodec).map((c) => c.clockRate))];
    const used = new Set(browser.map((c) => c.pt));
    const out = [...browser];
    for (const rate of rates) {
      let ev = source.find((c) => c.name === 'telephone-event' && c.clockRate === rate);
      if (!ev || used.has(ev.pt)) {
        let pt = rate === 8000 ? 101 : 110;
        while (used.has(pt) && pt < 127) pt++;
        ev = { pt, name: 'telephone-event', clockRate: rate, channels: 1, fmtp: '0-15' };
      }
      used.add(ev.pt);
      out.push(ev);
    }
    return out;
  }

  /** The browser session's sections after its offer, so our later offers keep their order and mids (RFC 8829 §5.2.2). */
  private rememberBrowserSections(sdp: SessionDescription, audio: number): void {
    this.browserSections = sdp.media.map((m, i) => ({ kind: m.kind, mid: m.attributes.find((a) => a.name === 'mid')?.value ?? String(i), proto: m.proto }));
    this.browserAudioMid = this.browserSections[audio]?.mid ?? '0';
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

  /**
   * Our offer to the browser: the first one has one audio section; a re-offer repeats the
   * session's sections in their order with their mids (the audio one ours, the others rejected).
   */
  private browserOfferSdp(codecs: Codec[], direction: Direction): string {
    if (this.browserSections.length === 0) {
      this.browserSections = [{ kind: 'audio', mid: '0', proto: 'UDP/TLS/RTP/SAVPF' }];
      this.browserAudioMid = '0';
    }
    const session = this.browserSession();
    const mid = this.browserAudioMid;
    session.attributes = [{ name: 'group', value: `BUNDLE ${mid}` }, { name: 'ice-lite', value: undefined }, { name: 'msid-semantic', value: ' WMS *' }];
    session.media = this.browserSections.map((s) =>
      s.mid === mid
        ? this.webrtcAudio(s.proto, codecs, direction, 'actpass', mid)
        : { kind: s.kind, port: 0, proto: s.proto, formats: [s.kind === 'application' ? 'webrtc-datachannel' : '0'], connection: this.opts.announceAddress, otherLines: [], attributes: [{ name: 'mid', value: s.mid }, { name: 'inactive', value: undefined }] },
    );
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
