// Headless Chromium (Debian's, at /usr/bin/chromium) driven by playwright-core, and a test page
// with a small sylkRTC-2 client: connect, add and register an account, call, answer, hang up, and
// read what WebRTC really did from getStats() (packets, audio level and energy per direction).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** The page's client, as plain browser JavaScript (it runs in Chromium, not in Node). */
const CLIENT = String.raw`
const phone = {
  ws: null, tx: 0, pending: new Map(), events: [], pcs: new Map(), log: [],
  connect(url) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'sylkRTC-2');
      this.ws = ws;
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.sylkrtc === 'ready-event') return resolve();
        if (msg.sylkrtc === 'ack' || msg.sylkrtc === 'error') {
          const p = this.pending.get(msg.transaction);
          this.pending.delete(msg.transaction);
          if (p) msg.sylkrtc === 'ack' ? p.resolve(msg) : p.reject(new Error(msg.error));
          return;
        }
        this.events.push(msg);
        this.onEvent(msg).catch((e) => this.log.push('event handling failed: ' + e));
      };
      ws.onerror = () => reject(new Error('WebSocket error'));
    });
  },
  request(body) {
    const transaction = 't' + (++this.tx);
    return new Promise((resolve, reject) => {
      this.pending.set(transaction, { resolve, reject });
      this.ws.send(JSON.stringify({ ...body, transaction }));
    });
  },
  async register(account, ha1) {
    await this.request({ sylkrtc: 'account-add', account, password: ha1 });
    await this.request({ sylkrtc: 'account-register', account });
  },
  async newPc(session) {
    const pc = new RTCPeerConnection();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    stream.getAudioTracks().forEach((t) => pc.addTrack(t, stream));
    pc.ontrack = (e) => {
      const audio = document.createElement('audio');
      audio.autoplay = true;
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      document.body.appendChild(audio);
    };
    // Trickle every candidate as the browser finds it; [] marks the end.
    pc.onicecandidate = (e) => {
      this.request({ sylkrtc: 'session-trickle', session, candidates: e.candidate ? [e.candidate.toJSON()] : [] }).catch((err) => this.log.push('trickle: ' + err.message));
    };
    this.pcs.set(session, pc);
    return pc;
  },
  async call(account, uri, session) {
    const pc = await this.newPc(session);
    await pc.setLocalDescription(await pc.createOffer());
    await this.request({ sylkrtc: 'session-create', account, session, uri, sdp: pc.localDescription.sdp });
  },
  async answer(session) {
    const ev = this.events.find((e) => e.event === 'incoming-session' && e.session === session);
    const pc = await this.newPc(session);
    await pc.setRemoteDescription({ type: 'offer', sdp: ev.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await this.request({ sylkrtc: 'session-answer', session, sdp: pc.localDescription.sdp });
  },
  async hangup(session) {
    await this.request({ sylkrtc: 'session-terminate', session });
  },
  async onEvent(msg) {
    if (msg.sylkrtc !== 'session-event' || msg.event !== 'state' || !msg.sdp) return;
    if (msg.state === 'accepted' || msg.state === 'early-media') {
      const pc = this.pcs.get(msg.session);
      if (pc && pc.signalingState === 'have-local-offer') await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
    }
  },
  async stats(session) {
    const pc = this.pcs.get(session);
    const out = { connectionState: pc.connectionState, inbound: null, outbound: null, remoteCandidateAddress: null };
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inbound = { packetsReceived: s.packetsReceived, packetsLost: s.packetsLost, audioLevel: s.audioLevel ?? 0, totalAudioEnergy: s.totalAudioEnergy ?? 0, codecId: s.codecId };
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.outbound = { packetsSent: s.packetsSent };
      if (s.type === 'codec' && out.inbound && s.id === out.inbound.codecId) out.inbound.mimeType = s.mimeType;
    });
    if (out.inbound) (await pc.getStats()).forEach((s) => { if (s.type === 'codec' && s.id === out.inbound.codecId) out.inbound.mimeType = s.mimeType; });
    return out;
  },
};
window.phone = phone;
`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Portico e2e</title></head><body><script>${CLIENT}</script></body></html>`;

export interface AudioStats {
  connectionState: string;
  inbound: { packetsReceived: number; packetsLost: number; audioLevel: number; totalAudioEnergy: number; mimeType?: string } | null;
  outbound: { packetsSent: number } | null;
}

export class TestBrowser {
  private browser: Browser | undefined;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(PAGE);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    this.browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  }

  /** A fresh page with the client, connected to `wsUrl`. */
  async phone(wsUrl: string): Promise<Page> {
    const page = await this.browser!.newPage();
    await page.goto(this.url);
    await page.evaluate((url) => (window as unknown as { phone: { connect(u: string): Promise<void> } }).phone.connect(url), wsUrl);
    return page;
  }

  async close(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

type PhoneApi = {
  register(a: string, h: string): Promise<void>;
  call(a: string, u: string, s: string): Promise<void>;
  answer(s: string): Promise<void>;
  hangup(s: string): Promise<void>;
  stats(s: string): Promise<AudioStats>;
  events: Array<Record<string, unknown>>;
  log: string[];
};

/** Runs `fn` with the page's `phone`. */
export function onPhone<T, A>(page: Page, fn: (phone: PhoneApi, arg: A) => T | Promise<T>, arg: A): Promise<T> {
  return page.evaluate(
    ([src, a]) => {
      const f = new Function(`return (${src})`)() as (p: unknown, a: unknown) => unknown;
      return f((window as unknown as { phone: unknown }).phone, a);
    },
    [fn.toString(), arg] as [string, A],
  ) as Promise<T>;
}

/** Polls until `test` passes on the page's events, or throws with the events seen. */
export async function waitForEvent(page: Page, test: (e: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await onPhone(page, (p) => p.events, undefined);
    const hit = events.find(test);
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`event not seen within ${timeoutMs} ms; events: ${JSON.stringify(events).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The HA1 the page sends as `password`, as sylkrtc.js does: md5(user:domain:password). */
export function ha1(user: string, domain: string, password: string): string {
  return createHash('md5').update(`${user}:${domain}:${password}`).digest('hex');
}

/** A call's audio stats after `ms` more of it. */
export async function statsAfter(page: Page, session: string, ms: number): Promise<AudioStats> {
  await new Promise((r) => setTimeout(r, ms));
  return onPhone(page, (p, s) => p.stats(s), session);
}
