/**
 * A lean sylkRTC-2 client for load: one WebSocket (the `ws` package), requests sent without
 * waiting for their acks (the door keeps each socket's order), and the few events a benchmark
 * waits for routed by callback, with no frame history kept. Transactions are a per-socket
 * counter rather than UUIDs: the door only echoes them.
 */
import { WebSocket } from 'ws';

export type Frame = Record<string, unknown> & { sylkrtc: string };

export class SylkLoadClient {
  private seq = 0;
  private readonly replies = new Map<string, (frame: Frame) => void>();
  private readonly sessions = new Map<string, (frame: Frame) => void>();
  /** `registration-state` events and errors of account requests sent with `register()`. */
  private registrationWaiter: ((state: string) => void) | undefined;
  /** Errors nobody waited for. */
  strayErrors = 0;
  readonly closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data) => this.onFrame(JSON.parse(String(data)) as Frame));
  }

  /** Opens a socket speaking sylkRTC-2; resolves once the ready event arrived. */
  static open(url: string): Promise<SylkLoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'sylkRTC-2', { perMessageDeflate: false, skipUTF8Validation: true });
      const client = new SylkLoadClient(ws);
      ws.once('error', reject);
      client.readyWaiter = () => {
        ws.off('error', reject);
        ws.on('error', () => {});
        resolve(client);
      };
    });
  }

  private readyWaiter: (() => void) | undefined;

  private onFrame(frame: Frame): void {
    switch (frame.sylkrtc) {
      case 'ready-event':
        this.readyWaiter?.();
        this.readyWaiter = undefined;
        return;
      case 'ack':
      case 'error': {
        const tx = frame.transaction as string | undefined;
        const reply = tx === undefined ? undefined : this.replies.get(tx);
        if (reply) {
          this.replies.delete(tx as string);
          reply(frame);
        } else if (frame.sylkrtc === 'error') {
          if (this.registrationWaiter) this.settleRegistration(`error: ${String(frame.error)}`);
          else this.strayErrors++;
        }
        return;
      }
      case 'account-event':
        if (frame.event === 'registration-state' && frame.state !== 'registering') {
          this.settleRegistration(frame.state === 'failed' ? `failed: ${String(frame.reason)}` : String(frame.state));
        }
        return;
      case 'session-event': {
        const watcher = this.sessions.get(frame.session as string);
        watcher?.(frame);
      }
    }
  }

  private settleRegistration(outcome: string): void {
    const waiter = this.registrationWaiter;
    this.registrationWaiter = undefined;
    waiter?.(outcome);
  }

  /** Sends a request without waiting; an `error` reply to it counts as stray (or fails a registration). */
  send(request: string, fields: Record<string, unknown>): string {
    const transaction = String(++this.seq);
    this.ws.send(JSON.stringify({ sylkrtc: request, transaction, ...fields }));
    return transaction;
  }

  /** Sends a request; resolves with its `ack` or `error` frame. */
  request(request: string, fields: Record<string, unknown>): Promise<Frame> {
    return new Promise((resolve) => {
      const tx = this.send(request, fields);
      this.replies.set(tx, resolve);
    });
  }

  /**
   * account-add (with the HA1) and account-register in one burst, as sylkrtc.js sends them;
   * resolves with `registered`, `failed: <reason>` or `error: <text>`. `onRegisterSent` is called
   * right after account-register left.
   */
  register(account: string, ha1: string, onRegisterSent?: () => void): Promise<string> {
    const outcome = new Promise<string>((resolve) => {
      this.registrationWaiter = resolve;
    });
    this.send('account-add', { account, password: ha1 });
    this.send('account-register', { account });
    onRegisterSent?.();
    return outcome;
  }

  /** Routes every `session-event` of `session` to `watcher` until `unwatch`. */
  watch(session: string, watcher: (frame: Frame) => void): void {
    this.sessions.set(session, watcher);
  }

  unwatch(session: string): void {
    this.sessions.delete(session);
  }

  /** Drops the socket without a closing handshake. */
  terminate(): void {
    this.ws.terminate();
  }
}
