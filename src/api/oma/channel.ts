/**
 * One OMA notification channel (OMA-NC v1.0): its lifetime, its WebSocket (Appendix I) or its long
 * polls (§5.3.19), and the notifications waiting for either.
 *
 * - Lifetime: granted at creation (the client proposes, the server bounds it), reset by a client
 *   `connCheck` (answered `connAck{channelLifetime}`), by the client's `connAck` to our
 *   `connCheck{newChannelLifetime}`, by PUT …/channelLifetime and by every long poll. When it runs
 *   out the channel expires: its socket is closed (1000) and the owner is told.
 * - A second WebSocket on the same channel replaces the first, which gets nothing more and is
 *   closed (4001).
 * - Every `checkIntervalMs` we send `connCheck`; a socket that did not `connAck` the previous one
 *   is closed (4002). The channel itself lives on until its lifetime ends, so the client may
 *   reconnect.
 * - One notification goes out bare, several wrapped in `notificationList` (at most
 *   `maxNotifications` per list); while no socket or poll is there they wait, oldest dropped first
 *   beyond `maxQueued`.
 */
import type { ServerResponse } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import type { DoorLog } from './door-log.ts';
import { OmaError } from './errors.ts';
import { sendError, sendJson } from './http-io.ts';

export const WS_SUBPROTOCOL = 'notificationchannel-netapi-rest.openmobilealliance.org';

export const CHANNEL_CLOSE_CODES = {
  /** Channel deleted or expired. */
  normal: 1000,
  /** The gateway shuts down. */
  goingAway: 1001,
  /** A frame above the limit (ws closes with it by itself). */
  tooBig: 1009,
  /** A newer WebSocket took over this channel. */
  replaced: 4001,
  /** Our connCheck was not acknowledged before the next one was due. */
  noConnAck: 4002,
} as const;

export interface ChannelSettings {
  /** Lifetime granted when the client proposes none (s). */
  defaultLifetimeS: number;
  minLifetimeS: number;
  maxLifetimeS: number;
  /** Period of our connCheck frames (ms); 0: we send none. */
  checkIntervalMs: number;
  /** How long a long poll is held before `{"notificationList":null}` (ms). */
  longPollTimeoutMs: number;
  /** Notifications kept while nobody listens. */
  maxQueued: number;
  /** `maxNotifications` when the client gives none. */
  defaultMaxNotifications: number;
}

export type ChannelEndReason = 'deleted' | 'expired' | 'session-closed' | 'shutdown';

export interface ChannelInit {
  id: string;
  type: 'WebSockets' | 'LongPolling';
  lifetimeS: number;
  maxNotifications: number;
  clientCorrelator?: string;
  applicationTag?: string;
  settings: ChannelSettings;
  log: DoorLog;
  /** The lifetime ran out. */
  onExpire: () => void;
  /** Any sign of life from the client (keeps its session from idling out). */
  onActivity: () => void;
}

export class NotificationChannel {
  readonly id: string;
  readonly type: 'WebSockets' | 'LongPolling';
  readonly clientCorrelator: string | undefined;
  readonly applicationTag: string | undefined;
  readonly maxNotifications: number;
  private lifetimeS: number;
  private expiresAt = 0;
  private expiryTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private awaitingAck: number | undefined;
  private socket: WebSocket | undefined;
  private poll: { res: ServerResponse; timer: NodeJS.Timeout } | undefined;
  private readonly queue: object[] = [];
  private ended: ChannelEndReason | undefined;
  private readonly init: ChannelInit;
  /** Notifications sent (for tests and metrics). */
  delivered = 0;
  dropped = 0;

  constructor(init: ChannelInit) {
    this.init = init;
    this.id = init.id;
    this.type = init.type;
    this.clientCorrelator = init.clientCorrelator;
    this.applicationTag = init.applicationTag;
    this.maxNotifications = init.maxNotifications;
    this.lifetimeS = init.lifetimeS;
    this.refresh(init.lifetimeS);
  }

  get lifetime(): number {
    return this.lifetimeS;
  }

  get isOpen(): boolean {
    return this.ended === undefined;
  }

  get hasSocket(): boolean {
    return this.socket !== undefined && this.socket.readyState === WebSocket.OPEN;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Seconds left before expiry. */
  remaining(): number {
    return Math.max(0, Math.ceil((this.expiresAt - Date.now()) / 1000));
  }

  /** The lifetime the client may ask for, bounded by the settings. */
  static grant(requested: number | undefined, s: ChannelSettings): number {
    const want = requested === undefined || requested === 0 ? s.defaultLifetimeS : requested;
    return Math.min(s.maxLifetimeS, Math.max(s.minLifetimeS, want));
  }

  /** Restarts the lifetime (at `lifetimeS` from now, bounded); returns the granted value. */
  refresh(lifetimeS?: number): number {
    if (this.ended) return 0;
    if (lifetimeS !== undefined) this.lifetimeS = NotificationChannel.grant(lifetimeS, this.init.settings);
    clearTimeout(this.expiryTimer);
    this.expiresAt = Date.now() + this.lifetimeS * 1000;
    this.expiryTimer = setTimeout(() => {
      this.init.log.info({ channel: this.id }, 'notification channel expired');
      this.end('expired');
      this.init.onExpire();
    }, this.lifetimeS * 1000);
    this.expiryTimer.unref?.();
    this.init.onActivity();
    return this.lifetimeS;
  }

  /** A WebSocket for this channel; an older one is abandoned and closed (OMA-NC Appendix I). */
  attach(ws: WebSocket): void {
    if (this.ended) {
      ws.close(CHANNEL_CLOSE_CODES.normal, 'Channel gone');
      return;
    }
    const old = this.socket;
    this.socket = ws;
    if (old) {
      this.init.log.info({ channel: this.id }, 'a second WebSocket replaces the first');
      old.removeAllListeners('message');
      old.close(CHANNEL_CLOSE_CODES.replaced, 'Replaced by a newer connection');
    }
    this.awaitingAck = undefined;
    ws.on('message', (data, isBinary) => this.onFrame(ws, data, isBinary));
    ws.on('close', () => {
      if (this.socket === ws) {
        this.socket = undefined;
        clearInterval(this.checkTimer);
        this.checkTimer = undefined;
      }
    });
    ws.on('error', (err) => this.init.log.debug({ err, channel: this.id }, 'channel WebSocket error'));
    clearInterval(this.checkTimer);
    if (this.init.settings.checkIntervalMs > 0) {
      this.checkTimer = setInterval(() => this.sendConnCheck(ws), this.init.settings.checkIntervalMs);
      this.checkTimer.unref?.();
    }
    this.init.onActivity();
    this.flush();
  }

  /** Queues a notification and sends what can be sent. */
  notify(notification: object): void {
    if (this.ended) return;
    this.queue.push(notification);
    if (this.queue.length > this.init.settings.maxQueued) {
      this.queue.shift();
      this.dropped++;
      this.init.log.warn({ channel: this.id }, 'notification dropped: nobody listens on the channel');
    }
    this.flush();
  }

  /** A long poll (POST on the channel URL): answered now if something waits, else held. */
  longPoll(res: ServerResponse): void {
    if (this.ended) {
      sendError(res, new OmaError('OMA_ERR_NOT_FOUND', ['Channel not found']));
      return;
    }
    this.refresh();
    if (this.poll) {
      // A second concurrent poll: the server rejects the first (OMA-NC §5.3.19).
      const first = this.poll;
      this.poll = undefined;
      clearTimeout(first.timer);
      sendError(first.res, new OmaError('OMA_ERR_SIMULTANEOUS_POLL'));
    }
    if (this.queue.length > 0) {
      sendJson(res, 200, { notificationList: this.take() });
      return;
    }
    const timer = setTimeout(() => {
      if (this.poll?.res !== res) return;
      this.poll = undefined;
      sendJson(res, 200, { notificationList: null });
    }, this.init.settings.longPollTimeoutMs);
    timer.unref?.();
    this.poll = { res, timer };
    res.on('close', () => {
      if (this.poll?.res === res) {
        clearTimeout(this.poll.timer);
        this.poll = undefined;
      }
    });
  }

  /** Ends the channel: socket closed, pending poll answered 404, timers stopped. Idempotent. */
  end(reason: ChannelEndReason): void {
    if (this.ended) return;
    this.ended = reason;
    clearTimeout(this.expiryTimer);
    clearInterval(this.checkTimer);
    if (this.poll) {
      clearTimeout(this.poll.timer);
      sendError(this.poll.res, new OmaError('OMA_ERR_NOT_FOUND', ['Channel not found']));
      this.poll = undefined;
    }
    const ws = this.socket;
    this.socket = undefined;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      ws.close(reason === 'shutdown' ? CHANNEL_CLOSE_CODES.goingAway : CHANNEL_CLOSE_CODES.normal, reason === 'expired' ? 'Channel expired' : 'Channel closed');
    }
    this.queue.length = 0;
  }

  private take(): object[] {
    return this.queue.splice(0, this.maxNotifications);
  }

  private flush(): void {
    if (this.poll && this.queue.length > 0) {
      const { res, timer } = this.poll;
      this.poll = undefined;
      clearTimeout(timer);
      const batch = this.take();
      this.delivered += batch.length;
      sendJson(res, 200, { notificationList: batch });
      return;
    }
    const ws = this.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    while (this.queue.length > 0) {
      const batch = this.take();
      this.delivered += batch.length;
      // One notification bare, several wrapped (OMA-NC Appendix I).
      ws.send(JSON.stringify(batch.length === 1 ? batch[0] : { notificationList: batch }));
    }
  }

  private sendConnCheck(ws: WebSocket): void {
    if (ws !== this.socket || ws.readyState !== WebSocket.OPEN) return;
    if (this.awaitingAck !== undefined) {
      this.init.log.info({ channel: this.id }, 'connCheck not acknowledged; closing the WebSocket');
      this.socket = undefined;
      clearInterval(this.checkTimer);
      this.checkTimer = undefined;
      ws.close(CHANNEL_CLOSE_CODES.noConnAck, 'connAck missing');
      return;
    }
    this.awaitingAck = this.lifetimeS;
    ws.send(JSON.stringify({ connCheck: { checkInterval: Math.ceil(this.init.settings.checkIntervalMs / 1000), newChannelLifetime: this.lifetimeS } }));
  }

  private onFrame(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (ws !== this.socket || isBinary) return;
    let doc: unknown;
    try {
      doc = JSON.parse(String(data));
    } catch {
      this.init.log.debug({ channel: this.id }, 'non-JSON frame on a notification channel ignored');
      return;
    }
    if (!doc || typeof doc !== 'object') return;
    if ('connCheck' in doc) {
      // The client checks the connection: answer with the lifetime, which starts again (Appendix I).
      const granted = this.refresh();
      ws.send(JSON.stringify({ connAck: { channelLifetime: granted } }));
    } else if ('connAck' in doc) {
      if (this.awaitingAck !== undefined) {
        const lifetime = this.awaitingAck;
        this.awaitingAck = undefined;
        this.refresh(lifetime);
      }
    }
  }
}
