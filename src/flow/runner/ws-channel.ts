import WebSocket from 'ws';
import { Subject } from './extract.ts';

/**
 * One emulated client's WebSocket (RFC 6455, through `ws`). Incoming text frames queue up until a
 * flow step awaits them. OMA notification lists are split into one queued notification each
 * (OMA-TS-REST_NetAPI_NotificationChannel Appendix I), empty lists are dropped, and a server
 * `connCheck` is answered with `connAck` so keep-alive traffic never reaches the flow.
 */

export type WsErrorCode = 'FLOW_ERR_WS_TIMEOUT' | 'FLOW_ERR_WS_CLOSED' | 'FLOW_ERR_WS_HANDSHAKE' | 'FLOW_ERR_WS_UNEXPECTED' | 'FLOW_ERR_WS_ABORTED';

export class WsChannelError extends Error {
  constructor(readonly code: WsErrorCode, message: string, readonly frame?: string) {
    super(message);
    this.name = 'WsChannelError';
  }
}

export interface WsOpenOptions {
  subprotocols: string[];
  headers?: Record<string, string>;
  timeoutMs: number;
  answerConnCheck: boolean;
  /** Most frames kept waiting for an await; older ones are dropped. */
  maxQueue?: number;
}

interface Waiter {
  test: (s: Subject) => boolean;
  unexpected: 'skip' | 'fail';
  resolve: (s: Subject) => void;
  reject: (e: WsChannelError) => void;
  timer: NodeJS.Timeout;
}

export class WsChannel {
  private readonly queue: Subject[] = [];
  private waiter: Waiter | undefined;
  private closedInfo: string | undefined;
  private readonly maxQueue: number;

  private constructor(private readonly ws: WebSocket, private readonly answerConnCheck: boolean, maxQueue: number) {
    this.maxQueue = maxQueue;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      this.onText(data.toString());
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closedInfo = `WebSocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
      const w = this.waiter;
      if (w) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.reject(new WsChannelError('FLOW_ERR_WS_CLOSED', this.closedInfo));
      }
    });
    ws.on('error', () => {
      /* 'close' follows and carries the outcome */
    });
  }

  static open(url: string, opts: WsOpenOptions): Promise<WsChannel> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, opts.subprotocols, {
          headers: opts.headers,
          handshakeTimeout: opts.timeoutMs,
          perMessageDeflate: false,
          followRedirects: false,
        });
      } catch (err) {
        reject(new WsChannelError('FLOW_ERR_WS_HANDSHAKE', `bad WebSocket URL ${url}: ${(err as Error).message}`));
        return;
      }
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new WsChannelError('FLOW_ERR_WS_TIMEOUT', `WebSocket handshake not done within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      const channel = new WsChannel(ws, opts.answerConnCheck, opts.maxQueue ?? 256);
      const fail = (msg: string): void => {
        clearTimeout(timer);
        ws.terminate();
        reject(new WsChannelError('FLOW_ERR_WS_HANDSHAKE', msg));
      };
      ws.once('unexpected-response', (_req, res) => {
        fail(`WebSocket handshake answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
        res.resume();
      });
      ws.once('error', (err: Error) => fail(`WebSocket handshake failed: ${err.message}`));
      ws.once('open', () => {
        clearTimeout(timer);
        ws.removeAllListeners('unexpected-response');
        resolve(channel);
      });
    });
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private onText(text: string): void {
    const subj = new Subject(text);
    const doc = text.length && (text[0] === '{' || text[0] === '[') ? subj.json : undefined;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const rec = doc as Record<string, unknown>;
      if (this.answerConnCheck && 'connCheck' in rec) {
        // OMA-NC Appendix I: the client answers a server connCheck with an empty connAck.
        this.send('{"connAck":{}}');
        return;
      }
      if ('notificationList' in rec) {
        const list = rec.notificationList;
        const items = list === null ? [] : Array.isArray(list) ? list : [list];
        for (const item of items) this.deliver(new Subject(JSON.stringify(item)));
        return;
      }
    }
    this.deliver(subj);
  }

  private deliver(s: Subject): void {
    const w = this.waiter;
    if (w) {
      if (w.test(s)) {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(s);
        return;
      }
      if (w.unexpected === 'fail') {
        this.waiter = undefined;
        clearTimeout(w.timer);
        w.reject(new WsChannelError('FLOW_ERR_WS_UNEXPECTED', `unexpected frame ${clip(s.bodyText)}`, s.bodyText));
        return;
      }
    }
    this.queue.push(s);
    if (this.queue.length > this.maxQueue) this.queue.shift();
  }

  /**
   * Waits for a frame that passes `test`. Frames already queued are looked at first, oldest first.
   * With `unexpected: 'fail'`, the next frame must match; otherwise non-matching frames stay queued.
   */
  await(test: (s: Subject) => boolean, timeoutMs: number, unexpected: 'skip' | 'fail'): Promise<Subject> {
    if (unexpected === 'fail') {
      const head = this.queue.shift();
      if (head) return test(head) ? Promise.resolve(head) : Promise.reject(new WsChannelError('FLOW_ERR_WS_UNEXPECTED', `unexpected frame ${clip(head.bodyText)}`, head.bodyText));
    } else {
      for (let i = 0; i < this.queue.length; i++) {
        const s = this.queue[i]!;
        if (test(s)) {
          this.queue.splice(i, 1);
          return Promise.resolve(s);
        }
      }
    }
    if (this.closedInfo) return Promise.reject(new WsChannelError('FLOW_ERR_WS_CLOSED', this.closedInfo));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new WsChannelError('FLOW_ERR_WS_TIMEOUT', `no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = { test, unexpected, resolve, reject, timer };
    });
  }

  send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) throw new WsChannelError('FLOW_ERR_WS_CLOSED', this.closedInfo ?? 'WebSocket is not open');
    this.ws.send(text);
  }

  /** Cancels a pending await (end of run). */
  abort(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.reject(new WsChannelError('FLOW_ERR_WS_ABORTED', 'aborted'));
    }
  }

  /** Closes the socket (idempotent); `terminate` drops it without the closing handshake. */
  close(code = 1000, terminate = false): void {
    this.abort();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (terminate || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else this.ws.close(code);
  }
}

function clip(s: string): string {
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}
