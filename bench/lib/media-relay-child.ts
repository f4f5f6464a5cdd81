/**
 * The relay under test, alone in its own process so its CPU and memory are its own:
 *   bridge  Portico's MediaBridge: per call a WebRTC leg (ICE-lite, werift's DTLS, our SRTP on
 *           buffers) and a plain RTP leg, answered as if the SIP side had chosen Opus;
 *   werift  a bare werift relay doing the same work: one RTCPeerConnection per call (full ICE,
 *           DTLS-SRTP, its RTP pipeline); each received packet is sent as plain RTP from a
 *           per-call UDP socket, and each plain packet coming back is sent to the browser with
 *           `sender.sendRtp()`.
 * Both send the plain side to `--sink` (SIPp with -rtp_echo), which returns every packet to its
 * source, so each packet crosses the relay twice: decrypt → plain → echo → encrypt.
 *
 * The parent drives it over IPC: `setup` (a browser offer → the answer), `stats` (CPU, memory,
 * event-loop delay, relay counters), `gc`, `close`.
 */
import { createSocket, type Socket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RTCPeerConnection, useOPUS } from 'werift';
import { MediaBridge } from '../../src/media/index.ts';
import { schedStat } from './media-udp-drops.ts';

export type RelayEngine = 'bridge' | 'werift';

export type RelayRequest =
  | { t: 'setup'; id: string; offer: string }
  | { t: 'stats'; req: number }
  | { t: 'gc'; req: number }
  | { t: 'close'; req: number };

export interface RelayCounters {
  /** Packets from browsers, relayed towards the plain side. */
  fromBrowsers: number;
  /** Packets from the plain side, relayed towards browsers. */
  toBrowsers: number;
  /** Packets the relay dropped by its own counters (unknown source, SRTP failures, ...). */
  dropped: number;
}

export interface RelayStats {
  t: 'stats';
  req: number;
  calls: number;
  connected: number;
  /** process.cpuUsage() since start, µs (all threads). */
  cpuUs: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Event-loop delay since the previous stats call, ms. */
  loopP99Ms: number;
  loopMaxMs: number;
  /** Main thread: time waiting for a CPU while runnable, ns since start. */
  waitNs: number;
  counters: RelayCounters;
  /** Local UDP ports of the relay's sockets, to attribute kernel drops. */
  ports: number[];
}

export type RelayReply = { t: 'ready' } | { t: 'answer'; id: string; sdp: string } | { t: 'error'; id?: string; req?: number; message: string } | RelayStats | { t: 'closed'; req: number };

const { values } = parseArgs({ options: { engine: { type: 'string' }, sink: { type: 'string' } } });
const engine = values.engine as RelayEngine;
const sinkPort = Number(values.sink);
if (!['bridge', 'werift'].includes(engine) || !sinkPort) throw new Error('usage: media-relay-child --engine bridge|werift --sink <port>');

const send = (m: RelayReply) => process.send?.(m);
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

interface Relay {
  setup(id: string, offer: string): Promise<string>;
  calls(): number;
  connected(): number;
  counters(): RelayCounters;
  ports(): number[];
  close(): Promise<void>;
}

/** The SIP side's answer: Opus at another payload type than the browser's (the bridge rewrites it), at the sink. */
function sipAnswer(): string {
  return `v=0\r\no=sink 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sinkPort} RTP/AVP 107\r\na=rtpmap:107 opus/48000/2\r\na=fmtp:107 minptime=10;useinbandfec=1\r\na=ptime:20\r\na=sendrecv\r\n`;
}

async function bridgeRelay(): Promise<Relay> {
  const media = new MediaBridge({
    host: '127.0.0.1',
    // Handshakes arrive in bursts; sockets are bound ahead so SDP is answered synchronously.
    spareSockets: 64,
    timers: { setupTimeoutMs: 30_000, inactivityTimeoutMs: 30_000, rtcpIntervalMs: 5000 },
  });
  await media.start();
  const refs = new Map<string, { id: string; connectionId: string; peer: string }>();
  const ports: number[] = [];
  return {
    async setup(id, offer) {
      const ref = { id, connectionId: 'bench', peer: 'sink@127.0.0.1' };
      refs.set(id, ref);
      const sipOffer = media.offerToSip(offer, ref);
      const answer = media.answerFromSip(sipAnswer(), ref);
      const rtpPort = /^m=audio (\d+)/m.exec(sipOffer)?.[1];
      const icePort = /^m=audio (\d+)/m.exec(answer)?.[1];
      if (rtpPort) ports.push(Number(rtpPort));
      if (icePort) ports.push(Number(icePort));
      return answer;
    },
    calls: () => media.activeBridges,
    connected() {
      let n = 0;
      for (const ref of refs.values()) if (media.stats(ref)?.state === 'connected') n++;
      return n;
    },
    counters() {
      const c: RelayCounters = { fromBrowsers: 0, toBrowsers: 0, dropped: 0 };
      for (const ref of refs.values()) {
        const s = media.stats(ref);
        if (!s) continue;
        c.fromBrowsers += s.toSip;
        c.toBrowsers += s.toBrowser;
        c.dropped += s.browser.dropped + s.sip.dropped + s.sip.foreign;
      }
      return c;
    },
    ports: () => ports,
    async close() {
      for (const ref of refs.values()) media.release(ref);
      media.close();
    },
  };
}

async function weriftRelay(): Promise<Relay> {
  const calls: Array<{ pc: RTCPeerConnection; plain: Socket; state: string }> = [];
  const counters: RelayCounters = { fromBrowsers: 0, toBrowsers: 0, dropped: 0 };
  const ports: number[] = [];
  return {
    async setup(_id, offer) {
      const plain = createSocket('udp4');
      await new Promise<void>((r) => plain.bind(0, '127.0.0.1', () => r()));
      ports.push(plain.address().port);
      const pc = new RTCPeerConnection({
        codecs: { audio: [useOPUS()] },
        iceUseIpv6: false,
        iceAdditionalHostAddresses: ['127.0.0.1'],
        iceInterfaceAddresses: { udp4: '127.0.0.1' },
      });
      const call = { pc, plain, state: 'new' };
      calls.push(call);
      pc.connectionStateChange.subscribe((s) => (call.state = s));
      pc.onTransceiverAdded.subscribe((t) => {
        t.setDirection('sendrecv');
        t.onTrack.subscribe((track) =>
          track.onReceiveRtp.subscribe((rtp) => {
            counters.fromBrowsers++;
            plain.send(rtp.serialize(), sinkPort, '127.0.0.1');
          }),
        );
        plain.on('message', (m) => {
          counters.toBrowsers++;
          void t.sender.sendRtp(m).catch(() => counters.dropped++);
        });
      });
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => {
          const sub = pc.iceGatheringStateChange.subscribe((s) => {
            if (s === 'complete') {
              sub.unSubscribe();
              resolve();
            }
          });
        });
      }
      const sdp = pc.localDescription!.sdp;
      for (const m of sdp.matchAll(/^a=candidate:\S+ 1 udp \d+ 127\.\S+ (\d+) typ/gm)) ports.push(Number(m[1]));
      return sdp;
    },
    calls: () => calls.length,
    connected: () => calls.filter((c) => c.state === 'connected').length,
    counters: () => ({ ...counters }),
    ports: () => ports,
    async close() {
      await Promise.allSettled(calls.map((c) => c.pc.close()));
      for (const c of calls) c.plain.close();
    },
  };
}

const relay = engine === 'bridge' ? await bridgeRelay() : await weriftRelay();

function stats(req: number): RelayStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const s: RelayStats = {
    t: 'stats',
    req,
    calls: relay.calls(),
    connected: relay.connected(),
    cpuUs: cpu.user + cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    waitNs: schedStat().waitNs,
    counters: relay.counters(),
    ports: relay.ports(),
  };
  loop.reset();
  return s;
}

process.on('message', (m: RelayRequest) => {
  if (m.t === 'setup') {
    relay.setup(m.id, m.offer).then(
      (sdp) => send({ t: 'answer', id: m.id, sdp }),
      (err: Error) => send({ t: 'error', id: m.id, message: err.message }),
    );
  } else if (m.t === 'stats') send(stats(m.req));
  else if (m.t === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    send(stats(m.req));
  } else if (m.t === 'close') {
    void relay.close().finally(() => {
      send({ t: 'closed', req: m.req });
      process.disconnect?.();
      setTimeout(() => process.exit(0), 50).unref();
    });
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
