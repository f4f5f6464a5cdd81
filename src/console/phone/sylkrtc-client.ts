/// <reference lib="dom" />
/**
 * A small sylkRTC-2 client for the browser (the protocol: src/api/sylkrtc/PROTOCOL.md): one
 * WebSocket, requests answered by `ack`/`error` per transaction, account and session events; calls
 * carry WebRTC audio in an RTCPeerConnection each (offer/answer, trickled candidates, hold and
 * resume by re-offer, DTMF by RTCDTMFSender, audio levels from getStats()).
 */

export type Json = Record<string, unknown>;

export type CallState = 'new' | 'progress' | 'ringing' | 'incoming' | 'early-media' | 'accepted' | 'established' | 'terminated';

/** What a call's media does now, from getStats(): packets each way and the audio levels (0..1). */
export interface CallMedia {
  connectionState: RTCPeerConnectionState;
  packetsSent: number;
  packetsReceived: number;
  /** The far end's audio as we hear it, and our microphone as we send it. */
  inboundLevel: number;
  outboundLevel: number;
  totalInboundEnergy: number;
  codec: string | undefined;
  /** Our side of the audio direction as negotiated (`sendrecv`, `sendonly`, `recvonly`, `inactive`). */
  direction: string | undefined;
}

type Listener = (event: Json) => void;

let counter = 0;
function uid(): string {
  counter++;
  return typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2)}`;
}

/** The direction attribute of the first audio section of an SDP. */
export function audioDirection(sdp: string | undefined): string | undefined {
  if (!sdp) return undefined;
  const audio = sdp.split(/^m=/m).find((s) => s.startsWith('audio'));
  return /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(audio ?? '')?.[1] ?? 'sendrecv';
}

export class SylkRtcClient {
  readonly url: string;
  ws: WebSocket | undefined;
  readonly calls = new Map<string, Call>();
  /** Every event received, in order (the page's log, and what tests read). */
  readonly events: Json[] = [];
  private readonly pending = new Map<string, { resolve: (m: Json) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<Listener>();
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Events are handled one at a time, in order (a re-offer's answer before the next event). */
  private chain: Promise<void> = Promise.resolve();

  constructor(url: string) {
    this.url = url;
  }

  /** Opens the socket (subprotocol `sylkRTC-2`); resolves on the ready event. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, 'sylkRTC-2');
      this.ws = ws;
      let ready = false;
      ws.onmessage = (m) => {
        let msg: Json;
        try {
          msg = JSON.parse(String(m.data)) as Json;
        } catch {
          return;
        }
        if (msg.sylkrtc === 'ready-event') {
          ready = true;
          this.pingTimer = setInterval(() => void this.request({ sylkrtc: 'ping' }).catch(() => undefined), 20_000);
          resolve();
          this.emit({ sylkrtc: 'ready-event' });
          return;
        }
        if (msg.sylkrtc === 'ack' || msg.sylkrtc === 'error') {
          const p = this.pending.get(String(msg.transaction));
          this.pending.delete(String(msg.transaction));
          if (msg.sylkrtc === 'ack') p?.resolve(msg);
          else p?.reject(new Error(String(msg.error)));
          return;
        }
        this.chain = this.chain.then(() => this.onEvent(msg)).catch((err) => console.error('event handling failed', err));
      };
      ws.onclose = (e) => {
        clearInterval(this.pingTimer);
        for (const p of this.pending.values()) p.reject(new Error('the connection closed'));
        this.pending.clear();
        for (const c of this.calls.values()) c.closeMedia();
        this.calls.clear();
        if (!ready) reject(new Error(`cannot connect to ${this.url} (${e.code})`));
        this.emit({ sylkrtc: 'closed', code: e.code, reason: e.reason });
      };
    });
  }

  close(): void {
    this.ws?.close();
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Every event (account, session, and the client's own `ready-event`/`closed`). Returns an unsubscribe. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends a request; resolves with the ack, rejects with the error text. */
  request(body: Json): Promise<Json> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const transaction = uid();
    return new Promise((resolve, reject) => {
      this.pending.set(transaction, { resolve, reject });
      ws.send(JSON.stringify({ ...body, transaction }));
    });
  }

  /** `account-add` with the digest HA1 (`md5(user:realm:password)`, computed by the caller). */
  addAccount(account: string, ha1: string, displayName?: string): Promise<Json> {
    return this.request({ sylkrtc: 'account-add', account, password: ha1, display_name: displayName || undefined });
  }

  removeAccount(account: string): Promise<Json> {
    return this.request({ sylkrtc: 'account-remove', account });
  }

  register(account: string): Promise<Json> {
    return this.request({ sylkrtc: 'account-register', account });
  }

  unregister(account: string): Promise<Json> {
    return this.request({ sylkrtc: 'account-unregister', account });
  }

  sendMessage(account: string, uri: string, content: string, contentType = 'text/plain'): Promise<Json> {
    return this.request({ sylkrtc: 'account-message', account, uri, message_id: uid(), content, content_type: contentType, timestamp: new Date().toISOString() });
  }

  /** Places a call with the microphone's audio; `id` is the session id (a UUID by default). */
  async call(account: string, uri: string, id: string = uid()): Promise<Call> {
    const call = new Call(this, id, 'outgoing', account, uri);
    this.calls.set(id, call);
    try {
      await call.start();
    } catch (err) {
      call.closeMedia();
      this.calls.delete(id);
      throw err;
    }
    return call;
  }

  private emit(event: Json): void {
    this.events.push(event);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        console.error('listener failed', err);
      }
    }
  }

  private async onEvent(msg: Json): Promise<void> {
    if (msg.sylkrtc === 'account-event' && msg.event === 'incoming-session') {
      const originator = (msg.originator ?? {}) as Json;
      const call = new Call(this, String(msg.session), 'incoming', String(msg.account), String(originator.uri ?? ''), String(msg.sdp ?? ''));
      call.displayName = typeof originator.display_name === 'string' ? originator.display_name : undefined;
      this.calls.set(call.id, call);
    }
    if (msg.sylkrtc === 'session-event') {
      const call = this.calls.get(String(msg.session));
      if (call) await call.onEvent(msg);
    }
    this.emit(msg);
  }
}

export class Call {
  readonly client: SylkRtcClient;
  readonly id: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly account: string;
  readonly peer: string;
  displayName: string | undefined;
  state: CallState;
  reason: string | undefined;
  pc: RTCPeerConnection | undefined;
  stream: MediaStream | undefined;
  /** The far end's audio, for playing. */
  remoteStream: MediaStream | undefined;
  /** We put the call on hold (our offer said `sendonly`). */
  held = false;
  /** The last SDP we set locally and the last the far side gave us. */
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  /** Digits handed to RTCDTMFSender or sent as SIP INFO, in order. */
  tonesSent = '';
  private offer: string | undefined;
  private updateWaiter: { resolve: (sdp: string) => void; reject: (e: Error) => void } | undefined;

  constructor(client: SylkRtcClient, id: string, direction: 'outgoing' | 'incoming', account: string, peer: string, offer?: string) {
    this.client = client;
    this.id = id;
    this.direction = direction;
    this.account = account;
    this.peer = peer;
    this.offer = offer;
    this.state = direction === 'incoming' ? 'incoming' : 'new';
  }

  /** Outgoing: microphone, offer, `session-create`. */
  async start(): Promise<void> {
    const pc = await this.media();
    await pc.setLocalDescription(await pc.createOffer());
    this.localSdp = pc.localDescription?.sdp;
    this.state = 'progress';
    await this.client.request({ sylkrtc: 'session-create', account: this.account, session: this.id, uri: this.peer, sdp: this.localSdp });
  }

  /** Incoming: microphone, answer to the offer, `session-answer`. */
  async answer(): Promise<void> {
    if (this.direction !== 'incoming' || !this.offer) throw new Error('nothing to answer');
    const pc = await this.media();
    await pc.setRemoteDescription({ type: 'offer', sdp: this.offer });
    this.remoteSdp = this.offer;
    await pc.setLocalDescription(await pc.createAnswer());
    this.localSdp = pc.localDescription?.sdp;
    await this.client.request({ sylkrtc: 'session-answer', session: this.id, sdp: this.localSdp });
  }

  /** Declines an incoming call, cancels or ends any other. */
  async hangup(): Promise<void> {
    if (this.state === 'terminated') return;
    await this.client.request({ sylkrtc: 'session-terminate', session: this.id });
  }

  /** Hold (our audio section `sendonly`, RFC 3264 §8.4) or resume (`sendrecv`), by re-offer. */
  async hold(on = true): Promise<void> {
    const pc = this.pc;
    if (!pc) throw new Error('no media yet');
    const tr = pc.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
    if (tr) tr.direction = on ? 'sendonly' : 'sendrecv';
    await pc.setLocalDescription(await pc.createOffer());
    this.localSdp = pc.localDescription?.sdp;
    const answered = new Promise<string>((resolve, reject) => (this.updateWaiter = { resolve, reject }));
    await this.client.request({ sylkrtc: 'session-update', session: this.id, sdp: this.localSdp });
    const sdp = await answered;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    this.remoteSdp = sdp;
    this.held = on;
  }

  /** DTMF as RFC 4733 events on the audio stream (RTCDTMFSender), e.g. `"123#"`. */
  sendDtmf(tones: string, durationMs = 100, gapMs = 70): void {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === 'audio');
    if (!sender?.dtmf || !sender.dtmf.canInsertDTMF) throw new Error('no audio sender for DTMF');
    // Queued behind tones still waiting (insertDTMF alone would replace them).
    sender.dtmf.insertDTMF(sender.dtmf.toneBuffer + tones, durationMs, gapMs);
    this.tonesSent += tones;
  }

  /** DTMF as SIP INFO through the gateway (`session-dtmf-info`). */
  sendDtmfInfo(digits: string, durationMs = 100): Promise<Json> {
    this.tonesSent += digits;
    return this.client.request({ sylkrtc: 'session-dtmf-info', session: this.id, digit: digits, duration: durationMs });
  }

  sendMessage(content: string, contentType = 'text/plain'): Promise<Json> {
    return this.client.request({ sylkrtc: 'session-message', session: this.id, message_id: uid(), content, content_type: contentType, timestamp: new Date().toISOString() });
  }

  /** Our audio direction now (from the SDP we set last). */
  get audioDirection(): string | undefined {
    const tr = this.pc?.getTransceivers().find((t) => t.receiver.track.kind === 'audio');
    return tr?.currentDirection ?? audioDirection(this.localSdp);
  }

  async stats(): Promise<CallMedia> {
    const out: CallMedia = {
      connectionState: this.pc?.connectionState ?? 'new',
      packetsSent: 0,
      packetsReceived: 0,
      inboundLevel: 0,
      outboundLevel: 0,
      totalInboundEnergy: 0,
      codec: undefined,
      direction: this.audioDirection,
    };
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    let codecId: string | undefined;
    report.forEach((s: Json) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        out.packetsReceived = Number(s.packetsReceived ?? 0);
        out.inboundLevel = Number(s.audioLevel ?? 0);
        out.totalInboundEnergy = Number(s.totalAudioEnergy ?? 0);
        codecId = s.codecId as string | undefined;
      }
      if (s.type === 'outbound-rtp' && s.kind === 'audio') out.packetsSent = Number(s.packetsSent ?? 0);
      if (s.type === 'media-source' && s.kind === 'audio') out.outboundLevel = Number(s.audioLevel ?? 0);
    });
    if (codecId) out.codec = String((report.get(codecId) as Json | undefined)?.mimeType ?? '').replace(/^audio\//, '') || undefined;
    return out;
  }

  closeMedia(): void {
    this.updateWaiter?.reject(new Error('the call ended'));
    this.updateWaiter = undefined;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.pc?.close();
  }

  /** @internal Session events for this call. */
  async onEvent(msg: Json): Promise<void> {
    if (msg.event === 'state') {
      const state = String(msg.state) as CallState | 'proceeding';
      if (state === 'proceeding') return;
      this.state = state;
      if (state === 'terminated') {
        this.reason = typeof msg.reason === 'string' ? msg.reason : undefined;
        this.closeMedia();
        this.client.calls.delete(this.id);
        return;
      }
      const sdp = typeof msg.sdp === 'string' ? msg.sdp : undefined;
      if (sdp && (state === 'accepted' || state === 'early-media') && this.pc?.signalingState === 'have-local-offer') {
        await this.pc.setRemoteDescription({ type: 'answer', sdp });
        this.remoteSdp = sdp;
      }
      return;
    }
    if (msg.event === 'update') {
      const sdp = typeof msg.sdp === 'string' ? msg.sdp : undefined;
      if (msg.state === 'accepted' && sdp) {
        this.updateWaiter?.resolve(sdp);
        this.updateWaiter = undefined;
      } else if (msg.state === 'failed') {
        this.updateWaiter?.reject(new Error(String(msg.reason ?? 'update failed')));
        this.updateWaiter = undefined;
        // Back to the state before our offer.
        if (this.pc?.signalingState === 'have-local-offer') await this.pc.setLocalDescription({ type: 'rollback' });
      } else if (msg.state === 'received' && sdp && this.pc) {
        // The far side re-offered (hold, resume): answer with our own direction intersected (RFC 3264 §6.1).
        await this.pc.setRemoteDescription({ type: 'offer', sdp });
        this.remoteSdp = sdp;
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        this.localSdp = this.pc.localDescription?.sdp;
        await this.client.request({ sylkrtc: 'session-update', session: this.id, sdp: this.localSdp });
      }
    }
  }

  private async media(): Promise<RTCPeerConnection> {
    const pc = new RTCPeerConnection();
    this.pc = pc;
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of this.stream.getAudioTracks()) pc.addTrack(t, this.stream);
    pc.ontrack = (e) => {
      this.remoteStream = e.streams[0] ?? new MediaStream([e.track]);
    };
    // Every candidate as it is found, then [] for the end (sylkRTC's end of candidates).
    pc.onicecandidate = (e) => {
      const candidates = e.candidate ? [e.candidate.toJSON()] : [];
      void this.client.request({ sylkrtc: 'session-trickle', session: this.id, candidates }).catch(() => undefined);
    };
    return pc;
  }
}
