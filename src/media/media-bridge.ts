/**
 * The media port the gateway's core calls for every SDP and trickled candidate: per call either
 * a `CallBridge` (WebRTC on the browser side, plain RTP on the SIP side, the default) or
 * pass-through (the SDP crosses unchanged, for SIP peers that speak WebRTC media themselves),
 * chosen by the SIP peer's domain. A new call whose offer already suits the other side (a client
 * offering plain RTP, a SIP peer offering WebRTC) passes through as well.
 *
 * Every method answers synchronously, as the core expects: sockets come bound from a pool and
 * the DTLS certificate is made once at `start()`.
 */
import pino, { type Logger } from 'pino';
import type { MediaCallRef, MediaPort } from '../core/media-port.ts';
import type { IceCandidate } from '../core/types.ts';
import { CallBridge, type CallBridgeStats, type CallBridgeTimers, type DtmfFromBrowser } from './call-bridge.ts';
import { createDtlsCertificate, type DtlsCertificate } from './certificate.ts';
import { MediaError } from './errors.ts';
import { UdpSocketPool } from './udp-pool.ts';

export type MediaMode = 'bridge' | 'pass-through';

export interface MediaRoute {
  /** The SIP peer's domain (the callee's for outgoing calls, the caller's for incoming ones); `*.example.com` matches subdomains. */
  domain: string;
  mode: MediaMode;
}

export interface MediaBridgeOptions {
  /** Mode for calls no route matches (default `bridge`). */
  mode?: MediaMode;
  routes?: MediaRoute[];
  /** Address the media sockets bind to (default 127.0.0.1). */
  host?: string;
  /** Address written into SDP (default: `host`; set it when binding 0.0.0.0 or behind NAT). */
  announceAddress?: string;
  /** UDP ports for media, inclusive; absent: ephemeral ports. */
  portRange?: [number, number];
  /** Sockets kept bound ahead of calls (default 8). */
  spareSockets?: number;
  timers?: Partial<CallBridgeTimers>;
  /** Datagrams larger than this are dropped (default 1500). */
  maxPacketBytes?: number;
  dtmf?: MediaDtmfOptions;
  logger?: Logger;
}

/** DTMF conversion between RFC 4733 events and SIP INFO, where one side lacks one. */
export interface MediaDtmfOptions {
  /** RFC 4733 from the browser: `auto` (default) relays when SIP negotiated telephone-event, else SIP INFO; `rfc4733` relays only; `info` always SIP INFO. */
  fromBrowser?: DtmfFromBrowser;
  /** SIP INFO from the SIP side becomes RFC 4733 towards the browser when it negotiated telephone-event (default true). */
  infoToBrowser?: boolean;
}

/** A digit from the browser to be sent to SIP as INFO `application/dtmf-relay`; the gateway sends it on the call's dialog. */
export type MediaDtmfHandler = (call: MediaCallRef, digit: string, durationMs: number) => void;

/** Called when the bridge ends a call on its own; the gateway ends the SIP dialog and tells the client `reason`. */
export type MediaEndHandler = (call: MediaCallRef, reason: string) => void;

const DEFAULT_TIMERS: CallBridgeTimers = { setupTimeoutMs: 15_000, inactivityTimeoutMs: 60_000, rtcpIntervalMs: 5000 };

function domainOf(peer: string | undefined): string {
  if (!peer) return '';
  const at = peer.lastIndexOf('@');
  const host = (at >= 0 ? peer.slice(at + 1) : peer.replace(/^sips?:/i, '')).split(/[;:>?]/)[0] ?? '';
  return host.toLowerCase();
}

export class MediaBridge implements MediaPort {
  private readonly opts: MediaBridgeOptions;
  private readonly log: Logger;
  private readonly timers: CallBridgeTimers;
  private readonly pool: UdpSocketPool;
  private certificate: DtlsCertificate | undefined;
  private readonly bridges = new Map<string, CallBridge>();
  /** Calls in pass-through mode (nothing held for them). */
  private readonly passThrough = new Set<string>();
  private onEnd: MediaEndHandler | undefined;
  private onDtmf: MediaDtmfHandler | undefined;
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(opts: MediaBridgeOptions = {}) {
    this.opts = opts;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ layer: 'media' });
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.pool = new UdpSocketPool({ host: opts.host ?? '127.0.0.1', portRange: opts.portRange, spare: opts.spareSockets ?? 8, logger: this.log });
  }

  /** Makes the DTLS certificate and binds the first sockets. */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.certificate = await createDtlsCertificate();
    await this.pool.start();
    this.state = 'running';
  }

  /** Who ends a call when the bridge gives up on it (the gateway composition wires this). */
  attach(onEnd: MediaEndHandler): void {
    this.onEnd = onEnd;
  }

  /** Who sends a browser's digit as SIP INFO when SIP negotiated no telephone-event (the gateway composition wires this). */
  attachDtmf(onDtmf: MediaDtmfHandler): void {
    this.onDtmf = onDtmf;
  }

  /**
   * A digit the SIP side sent as INFO (`application/dtmf-relay` or `application/dtmf`), for the
   * browser as an RFC 4733 event. False when the call is not bridged, the browser negotiated no
   * `telephone-event`, the call is on hold, or `dtmf.infoToBrowser` is off.
   */
  dtmfFromSip(digit: string, durationMs: number, call: MediaCallRef): boolean {
    if (this.opts.dtmf?.infoToBrowser === false || !/^[0-9A-Da-d*#]$/.test(digit)) return false;
    const bridge = this.bridges.get(this.key(call));
    return bridge ? bridge.sendDtmfToBrowser(digit, Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 100) : false;
  }

  /** Counters of a bridged call, for tests and monitoring. */
  stats(call: MediaCallRef): CallBridgeStats | undefined {
    return this.bridges.get(this.key(call))?.stats();
  }

  /** Counters of the bridged call with this id (on any connection). */
  callStats(callId: string): CallBridgeStats | undefined {
    for (const b of this.bridges.values()) if (b.id === callId) return b.stats();
    return undefined;
  }

  get activeBridges(): number {
    return this.bridges.size;
  }

  modeFor(call: MediaCallRef): MediaMode {
    const domain = domainOf(call.peer);
    for (const r of this.opts.routes ?? []) {
      const d = r.domain.toLowerCase();
      if (d === domain || (d.startsWith('*.') && domain.endsWith(d.slice(1)))) return r.mode;
    }
    return this.opts.mode ?? 'bridge';
  }

  offerToSip(browserSdp: string, call: MediaCallRef): string {
    const key = this.key(call);
    if (this.isPassThrough(key, call, browserSdp, 'browser')) return browserSdp;
    const existing = this.bridges.get(key);
    if (existing) return existing.acceptBrowserOffer(browserSdp);
    const bridge = this.newBridge(call);
    try {
      return bridge.acceptBrowserOffer(browserSdp);
    } catch (err) {
      this.drop(key);
      throw err;
    }
  }

  answerFromSip(sipSdp: string, call: MediaCallRef): string {
    const key = this.key(call);
    if (this.passThrough.has(key)) return sipSdp;
    const bridge = this.bridges.get(key);
    if (!bridge) throw new MediaError('MEDIA_ERR_UNKNOWN_CALL', `no media for call ${call.id}`);
    try {
      return bridge.acceptSipAnswer(sipSdp);
    } catch (err) {
      // The dialog is up but cannot carry media: refuse every stream to the browser and end the call.
      const reason = err instanceof MediaError ? err.message : `media failed: ${(err as Error).message}`;
      this.log.info({ callId: call.id, reason }, 'SIP answer cannot be bridged');
      setImmediate(() => this.endCall(call, reason));
      return bridge.rejectingBrowserAnswer();
    }
  }

  offerFromSip(sipSdp: string, call: MediaCallRef): string {
    const key = this.key(call);
    if (this.isPassThrough(key, call, sipSdp, 'sip')) return sipSdp;
    const existing = this.bridges.get(key);
    if (existing) return existing.acceptSipOffer(sipSdp);
    const bridge = this.newBridge(call);
    try {
      return bridge.acceptSipOffer(sipSdp);
    } catch (err) {
      this.drop(key);
      throw err;
    }
  }

  answerToSip(browserSdp: string, call: MediaCallRef): string {
    const key = this.key(call);
    if (this.passThrough.has(key)) return browserSdp;
    const bridge = this.bridges.get(key);
    if (!bridge) throw new MediaError('MEDIA_ERR_UNKNOWN_CALL', `no media for call ${call.id}`);
    return bridge.acceptBrowserAnswer(browserSdp);
  }

  trickle(candidates: IceCandidate[], call: MediaCallRef): void {
    this.bridges.get(this.key(call))?.trickle(candidates.length, candidates.length === 0);
  }

  release(call: MediaCallRef): void {
    const key = this.key(call);
    this.passThrough.delete(key);
    this.drop(key);
  }

  /** Ends every bridge and closes the spare sockets. Idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const b of this.bridges.values()) b.close();
    this.bridges.clear();
    this.passThrough.clear();
    this.pool.close();
  }

  private key(call: MediaCallRef): string {
    return `${call.connectionId}\n${call.id}`;
  }

  /**
   * Pass-through when the route says so, or when a new call's offer already suits the other side:
   * a client offering plain RTP, or a SIP peer offering WebRTC (ICE credentials on a SAVPF stream).
   */
  private isPassThrough(key: string, call: MediaCallRef, offer: string, from: 'browser' | 'sip'): boolean {
    if (this.passThrough.has(key)) return true;
    if (this.bridges.has(key)) return false;
    const webrtc = /^m=audio [1-9]\d* (UDP\/TLS\/RTP\/SAVPF|RTP\/SAVPF)\b/m.test(offer) && /^a=ice-ufrag:/m.test(offer);
    const suits = from === 'browser' ? !webrtc && /^m=audio [1-9]\d* RTP\/AVP\b/m.test(offer) : webrtc;
    if (this.modeFor(call) !== 'pass-through' && !suits) return false;
    this.passThrough.add(key);
    return true;
  }

  private drop(key: string): void {
    const b = this.bridges.get(key);
    if (!b) return;
    this.bridges.delete(key);
    b.close();
  }

  private endCall(call: MediaCallRef, reason: string): void {
    if (!this.bridges.has(this.key(call))) return;
    this.drop(this.key(call));
    try {
      this.onEnd?.(call, reason);
    } catch (err) {
      this.log.error({ err }, 'ending a call for the media failed');
    }
  }

  private newBridge(call: MediaCallRef): CallBridge {
    if (this.state !== 'running' || !this.certificate) throw new MediaError('MEDIA_ERR_CLOSED', 'the media bridge is not running');
    const webrtcSocket = this.pool.take();
    const rtpSocket = webrtcSocket ? this.pool.take() : undefined;
    if (!webrtcSocket || !rtpSocket) {
      webrtcSocket?.close();
      throw new MediaError('MEDIA_ERR_NO_PORT', 'no free media port');
    }
    const bridge = new CallBridge({
      id: call.id,
      webrtcSocket,
      rtpSocket,
      certificate: this.certificate,
      announceAddress: this.opts.announceAddress ?? this.opts.host ?? '127.0.0.1',
      timers: this.timers,
      logger: this.log.child({ callId: call.id }),
      maxPacketBytes: this.opts.maxPacketBytes,
      onEnd: (reason) => this.endCall(call, reason),
      dtmfFromBrowser: this.opts.dtmf?.fromBrowser,
      onDtmfToSip: (digit, durationMs) => {
        try {
          this.onDtmf?.(call, digit, durationMs);
        } catch (err) {
          this.log.info({ err, callId: call.id, digit }, 'DTMF as SIP INFO failed');
        }
      },
    });
    this.bridges.set(this.key(call), bridge);
    return bridge;
  }
}
