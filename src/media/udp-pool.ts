/**
 * UDP sockets bound ahead of need. A media port answers SDP synchronously, and the SDP must carry
 * the port, so every leg takes an already bound socket from here; a replacement is bound in the
 * background. With a port range, even ports are used in turn (RFC 3550 §11 keeps RTP on even
 * ports); without one, the system picks ephemeral ports.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';

export interface UdpPoolOptions {
  /** Address the sockets bind to. */
  host: string;
  /** Inclusive port range; absent: ephemeral ports. */
  portRange?: [number, number] | undefined;
  /** Sockets kept bound and ready (at least 2: a bridged call takes two). */
  spare: number;
  /** SO_RCVBUF for each socket, bytes. */
  recvBufferSize?: number | undefined;
  logger: Logger;
}

export class UdpSocketPool {
  private readonly opts: UdpPoolOptions;
  private readonly ready: Socket[] = [];
  private binding = 0;
  private nextPort: number;
  private closed = false;
  /** Sockets bound but not yet handed out or closed, for close(). */
  private readonly pendingBinds = new Set<Socket>();

  constructor(opts: UdpPoolOptions) {
    this.opts = { ...opts, spare: Math.max(2, opts.spare) };
    this.nextPort = opts.portRange ? opts.portRange[0] + (opts.portRange[0] % 2) : 0;
  }

  async start(): Promise<void> {
    const first = await Promise.all(Array.from({ length: this.opts.spare }, () => this.bindOne()));
    for (const s of first) if (s) this.ready.push(s);
    if (this.ready.length === 0) throw new Error(`cannot bind any UDP socket on ${this.opts.host}`);
  }

  /** A bound socket, or undefined when none is ready (the caller answers 503). */
  take(): Socket | undefined {
    const s = this.ready.shift();
    this.refill();
    return s;
  }

  get available(): number {
    return this.ready.length;
  }

  private refill(): void {
    while (!this.closed && this.ready.length + this.binding < this.opts.spare) {
      this.binding++;
      void this.bindOne().then((s) => {
        this.binding--;
        if (!s) return;
        if (this.closed) s.close();
        else this.ready.push(s);
      });
    }
  }

  private candidatePort(): number {
    const range = this.opts.portRange;
    if (!range) return 0;
    const port = this.nextPort;
    this.nextPort += 2;
    if (this.nextPort > range[1]) this.nextPort = range[0] + (range[0] % 2);
    return port;
  }

  private async bindOne(): Promise<Socket | undefined> {
    const attempts = this.opts.portRange ? Math.max(1, Math.floor((this.opts.portRange[1] - this.opts.portRange[0]) / 2) + 1) : 1;
    for (let i = 0; i < attempts && !this.closed; i++) {
      const s = createSocket({ type: isIPv6(this.opts.host) ? 'udp6' : 'udp4', recvBufferSize: this.opts.recvBufferSize });
      this.pendingBinds.add(s);
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(this.candidatePort(), this.opts.host, () => resolve(true));
      });
      this.pendingBinds.delete(s);
      if (ok) {
        s.removeAllListeners('error');
        return s;
      }
      try {
        s.close();
      } catch {
        /* never bound */
      }
    }
    if (!this.closed) this.opts.logger.warn({ host: this.opts.host, range: this.opts.portRange }, 'no free UDP port for media');
    return undefined;
  }

  /** Closes every spare socket; sockets already taken belong to their legs. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.ready.splice(0)) s.close();
    for (const s of this.pendingBinds) {
      try {
        s.close();
      } catch {
        /* not bound yet */
      }
    }
  }
}
