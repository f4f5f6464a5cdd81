/**
 * An RTP echo: answers a plain RTP/AVP offer with the codecs it can take (Opus, PCMU, PCMA,
 * telephone-event) on a socket of its own, and sends every RTP packet it receives back to where it
 * came from (symmetric RTP, latched to the first valid source). RTCP is answered with nothing:
 * the echo is a reflector, not an endpoint. It is the media half of the `echo@` service of the
 * local domain, so a newcomer's first call has something to talk to.
 */
import type { Logger } from 'pino';
import pino from 'pino';
import { codecAttributes, describeCodecs, isAudioCodec, isRelayed, readCodecs } from './codecs.ts';
import { MediaError } from './errors.ts';
import { RtpLeg } from './rtp-leg.ts';
import { answerDirection, directionOf, parseSdp, sectionAddress, serializeSdp, type MediaSection } from './sdp.ts';
import { UdpSocketPool } from './udp-pool.ts';

export interface RtpEchoOptions {
  host?: string;
  announceAddress?: string;
  /** Longest echo, after which the leg stops reflecting (default 1 hour). */
  maxDurationMs?: number;
  logger?: Logger;
}

export interface EchoStats {
  received: number;
  echoed: number;
}

export class RtpEcho {
  private readonly opts: RtpEchoOptions;
  private readonly log: Logger;
  private readonly pool: UdpSocketPool;
  private readonly legs = new Map<string, { leg: RtpLeg; stats: EchoStats; timer: NodeJS.Timeout }>();
  private closed = false;
  /** Every packet echoed since start, over all calls. */
  totalEchoed = 0;

  constructor(opts: RtpEchoOptions = {}) {
    this.opts = opts;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ layer: 'media', service: 'echo' });
    this.pool = new UdpSocketPool({ host: opts.host ?? '127.0.0.1', spare: 2, logger: this.log });
  }

  async start(): Promise<void> {
    await this.pool.start();
  }

  /** Answers `offer` for call `id` and starts reflecting. Throws MediaError (488) when nothing can be echoed. */
  answer(id: string, offer: string): string {
    if (this.closed) throw new MediaError('MEDIA_ERR_CLOSED', 'the echo is closed');
    const sdp = parseSdp(offer);
    const audio = sdp.media.findIndex((m) => m.kind === 'audio' && m.port !== 0 && /^RTP\/AVPF?$/i.test(m.proto));
    if (audio < 0) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', 'the echo takes plain RTP audio only');
    const section = sdp.media[audio] as MediaSection;
    const codecs = readCodecs(section).filter(isRelayed);
    if (!codecs.some(isAudioCodec)) throw new MediaError('MEDIA_ERR_NO_COMMON_CODEC', `no audio codec in common (offered: ${describeCodecs(section)})`);
    const address = sectionAddress(sdp, section) as string;
    const socket = this.pool.take();
    if (!socket) throw new MediaError('MEDIA_ERR_NO_PORT', 'no free media port');
    this.release(id);
    const stats: EchoStats = { received: 0, echoed: 0 };
    const leg: RtpLeg = new RtpLeg({
      socket,
      logger: this.log,
      onRtp: (pkt) => {
        stats.received++;
        leg.send(pkt);
        stats.echoed++;
        this.totalEchoed++;
      },
    });
    leg.acceptedPayloadTypes = new Set(codecs.map((c) => c.pt));
    leg.setTarget(address, section.port);
    const timer = setTimeout(() => this.release(id), this.opts.maxDurationMs ?? 3_600_000);
    timer.unref();
    this.legs.set(id, { leg, stats, timer });
    const port = leg.localAddress.port;
    const announce = this.opts.announceAddress ?? this.opts.host ?? '127.0.0.1';
    const media = sdp.media.map((m, i): MediaSection =>
      i === audio
        ? {
            kind: 'audio',
            port,
            proto: m.proto,
            formats: codecs.map((c) => String(c.pt)),
            connection: undefined,
            otherLines: [],
            attributes: [...codecAttributes(codecs), { name: 'rtcp', value: String(port) }, { name: answerDirection(directionOf(sdp, section)), value: undefined }],
          }
        : { kind: m.kind, port: 0, proto: m.proto, formats: m.formats.slice(0, 1), connection: undefined, otherLines: [], attributes: [] },
    );
    return serializeSdp({
      origin: { username: 'portico-echo', sessionId: String(Date.now()), version: '1', address: announce },
      sessionName: 'echo',
      connection: announce,
      otherLines: [],
      attributes: [],
      media,
    });
  }

  stats(id: string): EchoStats | undefined {
    return this.legs.get(id)?.stats;
  }

  release(id: string): void {
    const e = this.legs.get(id);
    if (!e) return;
    this.legs.delete(id);
    clearTimeout(e.timer);
    e.leg.close();
    this.log.debug({ id, ...e.stats }, 'echo ended');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.legs.keys()]) this.release(id);
    this.pool.close();
  }
}
