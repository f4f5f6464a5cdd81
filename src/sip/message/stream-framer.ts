/**
 * Cuts a byte stream (TCP, TLS) into SIP messages by Content-Length (RFC 3261 §18.3), and
 * recognises the CRLF keep-alives of RFC 5626 §4.4.1 between messages: CRLFCRLF is a ping, a lone
 * CRLF a pong. The maximum message size is checked on the header section and on the announced
 * body length before the body is buffered, so a peer cannot make us hold more than that.
 *
 * After an error the framer stops: the stream cannot be re-synchronised and must be closed.
 */
import { SipParseError } from './errors.ts';
import { DEFAULT_MAX_MESSAGE_SIZE } from './parser.ts';

export interface StreamFramerHandlers {
  /** One complete message (header section and body), ready for `parseMessage(buf, { stream: true })`. */
  onMessage(buf: Buffer): void;
  onKeepAlive?(kind: 'ping' | 'pong'): void;
  onError(err: SipParseError): void;
}

export interface StreamFramerOptions {
  maxMessageSize?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Finds Content-Length (or `l`) in a header section; -1 when absent. Folded values are not expected here. */
function findContentLength(head: string): number {
  let length = -1;
  let pos = head.indexOf('\n') + 1;
  while (pos > 0 && pos < head.length) {
    let eol = head.indexOf('\n', pos);
    if (eol === -1) eol = head.length;
    const colon = head.indexOf(':', pos);
    if (colon !== -1 && colon < eol) {
      const name = head.slice(pos, colon).trim().toLowerCase();
      if (name === 'content-length' || name === 'l') {
        const value = head.slice(colon + 1, eol).trim();
        if (!/^[0-9]{1,10}$/.test(value)) throw new SipParseError('SIP_ERR_BAD_CONTENT_LENGTH', `invalid Content-Length "${value}"`, colon + 1);
        const n = Number(value);
        if (length !== -1 && n !== length) throw new SipParseError('SIP_ERR_BAD_CONTENT_LENGTH', 'Content-Length headers disagree', colon + 1);
        length = n;
      }
    }
    pos = eol + 1;
  }
  return length;
}

export class StreamFramer {
  private readonly handlers: StreamFramerHandlers;
  private readonly maxSize: number;
  /** Bytes of an unfinished message (or keep-alive), at the start of `acc`. */
  private acc: Buffer = Buffer.alloc(0);
  private accLength = 0;
  /** Where the search for the end of the header section resumes, relative to the message start. */
  private scanFrom = 0;
  /** Total size of the current message once its header section is known, else -1. */
  private expected = -1;
  private failed = false;

  constructor(handlers: StreamFramerHandlers, opts: StreamFramerOptions = {}) {
    this.handlers = handlers;
    this.maxSize = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.accLength;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    let data: Buffer;
    const direct = this.accLength === 0;
    if (direct) {
      // Nothing pending: frame straight out of the socket's chunk, which Node never reuses.
      data = chunk;
    } else {
      this.append(chunk);
      data = this.acc.subarray(0, this.accLength);
    }
    let consumed: number;
    try {
      consumed = this.frame(data, !direct);
    } catch (err) {
      this.failed = true;
      this.acc = Buffer.alloc(0);
      this.accLength = 0;
      if (err instanceof SipParseError) {
        this.handlers.onError(err);
        return;
      }
      throw err;
    }
    const rest = data.length - consumed;
    if (direct) {
      if (rest > 0) this.append(chunk.subarray(consumed));
    } else if (consumed > 0) {
      this.acc.copyWithin(0, consumed, this.accLength);
      this.accLength = rest;
    }
  }

  private append(bytes: Buffer): void {
    const need = this.accLength + bytes.length;
    if (need > this.acc.length) {
      // Doubling keeps a byte-at-a-time sender linear; the cap is one message plus one chunk.
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(this.acc.length * 2, this.maxSize + bytes.length), 1024));
      this.acc.copy(grown, 0, 0, this.accLength);
      this.acc = grown;
    }
    bytes.copy(this.acc, this.accLength);
    this.accLength = need;
  }

  /** Emits every complete unit in `data`; returns how many bytes were used. */
  private frame(data: Buffer, copy: boolean): number {
    let pos = 0;
    const end = data.length;
    while (pos < end) {
      if (this.expected === -1) {
        const c = data[pos];
        if (c === 0x0d || c === 0x0a) {
          const used = this.keepAlive(data, pos, end);
          if (used === 0) break;
          pos += used;
          continue;
        }
        const from = pos + this.scanFrom;
        const found = data.indexOf(CRLFCRLF, from);
        if (found === -1) {
          if (end - pos > this.maxSize) {
            throw new SipParseError('SIP_ERR_TOO_LARGE', `header section exceeds ${this.maxSize} bytes`, this.maxSize);
          }
          this.scanFrom = Math.max(0, end - pos - 3);
          break;
        }
        const headLength = found + 4 - pos;
        const length = findContentLength(data.toString('latin1', pos, found));
        if (length === -1) {
          throw new SipParseError('SIP_ERR_MISSING_HEADER', 'Content-Length is required on a stream transport', found);
        }
        if (headLength + length > this.maxSize) {
          throw new SipParseError('SIP_ERR_TOO_LARGE', `message of ${headLength + length} bytes exceeds ${this.maxSize}`, this.maxSize);
        }
        this.expected = headLength + length;
        this.scanFrom = 0;
      }
      if (end - pos < this.expected) break;
      const message = data.subarray(pos, pos + this.expected);
      pos += this.expected;
      this.expected = -1;
      // A buffer carved out of `acc` would be overwritten later, so hand out a copy.
      this.handlers.onMessage(copy ? Buffer.from(message) : message);
    }
    return pos;
  }

  /**
   * Consumes keep-alive bytes at `pos`; returns 0 to wait for more. A CRLF that ends the data so
   * far is reported as a pong at once, so a client waiting for its pong is not kept waiting.
   * Deviation: a CRLFCRLF ping split between its two CRLFs is then seen as two pongs.
   */
  private keepAlive(data: Buffer, pos: number, end: number): number {
    if (data[pos] === 0x0a) return 1; // stray LF between messages: ignored
    if (pos + 1 >= end) return 0;
    if (data[pos + 1] !== 0x0a) throw new SipParseError('SIP_ERR_BAD_START_LINE', 'CR not followed by LF between messages', pos);
    if (pos + 2 < end && data[pos + 2] === 0x0d) {
      if (pos + 3 >= end) return 0;
      if (data[pos + 3] === 0x0a) {
        this.handlers.onKeepAlive?.('ping');
        return 4;
      }
    }
    this.handlers.onKeepAlive?.('pong');
    return 2;
  }
}
