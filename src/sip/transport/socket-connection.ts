import type { Socket } from 'node:net';
import { StreamFramer, type SipParseError } from '../message/index.ts';
import { Connection, type TransportContext } from './connection.ts';
import type { Flow } from './types.ts';

/** How much of an unfinished message we keep aside to answer it if its framing turns out bad. */
const HEAD_KEEP = 4096;
/** How long a gracefully closing socket may linger before it is destroyed. */
const LINGER_MS = 1000;

const PONG = Buffer.from('\r\n');
const PING = Buffer.from('\r\n\r\n');

/**
 * A TCP or TLS connection: bytes go through a StreamFramer (Content-Length required, RFC 3261
 * §18.3); CRLFCRLF pings are answered with a CRLF pong (RFC 5626 §4.4.1).
 */
export class SocketConnection extends Connection {
  private readonly socket: Socket;
  private readonly framer: StreamFramer;
  // Bookkeeping (absolute byte offsets on this connection) that keeps the start of the message
  // being framed beside the framer, so a message whose framing fails can still be answered.
  /** Bytes received before the current chunk. */
  private received = 0;
  /** Where the message being framed starts: every byte before it was a message or keep-alive. */
  private msgStart = 0;
  /** Bytes from msgStart on, at most HEAD_KEEP of them. */
  private head: Buffer = Buffer.alloc(0);
  /** During a push: the bytes in view (`viewHead` then `viewChunk`) and where they start. */
  private viewHead: Buffer = Buffer.alloc(0);
  private viewChunk: Buffer = Buffer.alloc(0);
  private viewStart = 0;
  private framingLost = false;
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(ctx: TransportContext, socket: Socket, flow: Flow, outbound: boolean, serverName?: string) {
    super(ctx, flow, outbound, serverName);
    this.socket = socket;
    this.framer = new StreamFramer(
      {
        onMessage: (buf: Buffer) => {
          if (this.framingLost) return;
          this.msgStart += buf.length;
          ctx.handler.onMessage(buf, this.flow, this);
        },
        onKeepAlive: (kind: 'ping' | 'pong') => {
          this.msgStart += kind === 'ping' ? PING.length : PONG.length;
          // RFC 5626 §4.4.1: a CRLFCRLF ping is answered with a CRLF pong.
          if (kind === 'ping' && !this.closed && this.socket.writable) this.socket.write(PONG);
        },
        onError: (err: SipParseError) => this.onFramingError(err),
      },
      { maxMessageSize: ctx.maxMessageSize },
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.onSocketError(err));
    socket.on('close', () => {
      clearTimeout(this.lingerTimer);
      this.markClosed();
    });
    socket.on('end', () => {
      if (this.midMessage()) {
        ctx.logger.warn({ peer: this.peer, code: 'SIP_ERR_TRANSPORT_CLOSED' }, 'peer closed mid-message');
      }
    });
    socket.setNoDelay(true);
  }

  write(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.socket.destroyed) {
        reject(new Error('connection closed'));
        return;
      }
      this.touch();
      this.socket.write(buf, (err) => (err ? reject(err) : resolve()));
    });
  }

  protected sendPing(): void {
    if (this.socket.writable) this.socket.write(PING);
  }

  protected shutdown(graceful: boolean): void {
    if (!graceful) {
      clearTimeout(this.lingerTimer);
      this.socket.destroy();
      return;
    }
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
  }

  private onData(chunk: Buffer): void {
    if (this.framingLost || this.closed) return;
    this.touch();
    // The view is head + chunk without concatenating them: copies stay below 2 × HEAD_KEEP per
    // chunk however large the chunk.
    const headWhole = this.msgStart + this.head.length === this.received;
    this.viewHead = headWhole ? this.head : Buffer.alloc(0);
    this.viewChunk = chunk;
    this.viewStart = headWhole ? this.msgStart : this.received;
    this.received += chunk.length;
    this.framer.push(chunk);
    if (this.framingLost) return;
    // Exact again after every push, whatever the framer skipped silently (stray LFs).
    this.msgStart = this.received - this.framer.buffered;
    // A message longer than HEAD_KEEP that began before the view keeps its head as it was.
    if (this.msgStart >= this.viewStart) this.head = this.viewFrom(this.msgStart, HEAD_KEEP);
    this.viewHead = this.viewChunk = Buffer.alloc(0);
  }

  /** A copy of at most `max` bytes of the view, from absolute offset `from`. */
  private viewFrom(from: number, max: number): Buffer {
    const off = from - this.viewStart;
    const h = this.viewHead;
    const c = this.viewChunk;
    if (off >= h.length) return Buffer.from(c.subarray(off - h.length, off - h.length + max));
    const fromHead = h.subarray(off, off + max);
    return Buffer.concat([fromHead, c.subarray(0, max - fromHead.length)]);
  }

  /** Some bytes of a message have arrived but not all of it. */
  private midMessage(): boolean {
    return !this.framingLost && this.received > this.msgStart;
  }

  private onFramingError(err: SipParseError): void {
    if (this.framingLost) return;
    this.framingLost = true;
    const head = this.msgStart >= this.viewStart ? this.viewFrom(this.msgStart, HEAD_KEEP) : this.head;
    this.head = this.viewHead = this.viewChunk = Buffer.alloc(0);
    this.ctx.handler.onFramingError(err, head, this);
  }

  private onSocketError(err: NodeJS.ErrnoException): void {
    const midMessage = this.midMessage();
    const fields = { peer: this.peer, code: err.code ?? 'SIP_ERR_TRANSPORT_CLOSED', connId: this.id };
    if (midMessage) this.ctx.logger.warn(fields, 'connection failed mid-message');
    else this.ctx.logger.debug(fields, 'connection error');
    this.markClosed();
  }
}
