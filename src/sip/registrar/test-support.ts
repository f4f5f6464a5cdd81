/**
 * Test support for the local domain's tests (not part of the public API): a raw UDP peer that sends
 * hand-built requests and records every message it receives, a digest answer for it, and helpers
 * to wait for things.
 */
import dgram from 'node:dgram';
import { buildAuthorization, parseChallenge } from '../auth/index.ts';
import {
  createRequest,
  formatUri,
  isRequest,
  newBranch,
  newCallId,
  newTag,
  parseMessage,
  type HeaderInit,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../message/index.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something truthy, or fails after `timeoutMs`. */
export async function until<T>(check: () => T | undefined | false, timeoutMs = 2000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A UDP socket on 127.0.0.1 driven by the test. */
export class RawUdpPeer {
  readonly received: Array<{ msg: SipMessage; raw: string }> = [];
  private socket: dgram.Socket | undefined;
  /** Answer every request this peer receives with this status (0: stay silent). */
  autoAnswer = 0;

  async start(): Promise<this> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (buf, rinfo) => {
      let msg: SipMessage;
      try {
        msg = parseMessage(buf);
      } catch {
        return;
      }
      this.received.push({ msg, raw: buf.toString('utf8') });
      if (this.autoAnswer && isRequest(msg) && msg.method !== 'ACK') {
        const res = createResponseFor(msg, this.autoAnswer);
        void this.sendTo(res, rinfo.port);
      }
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.socket = socket;
    return this;
  }

  get port(): number {
    return this.socket!.address().port;
  }

  /** `sip:<user>@127.0.0.1:<port>` */
  contact(user: string): string {
    return `sip:${user}@127.0.0.1:${this.port}`;
  }

  sendTo(msg: SipMessage | string, port: number): Promise<void> {
    const buf = typeof msg === 'string' ? Buffer.from(msg) : msg.toBuffer();
    return new Promise((resolve, reject) => this.socket!.send(buf, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
  }

  /** A request as this peer would send it: our Via with a fresh branch and rport. */
  request(o: {
    method: string;
    uri: string;
    from: string;
    to: string;
    callId?: string;
    cseq?: number;
    headers?: HeaderInit;
    body?: string;
    contentType?: string;
  }): SipRequest {
    const req = createRequest({
      method: o.method,
      uri: o.uri,
      from: `<${o.from}>;tag=${newTag()}`,
      to: `<${o.to}>`,
      callId: o.callId ?? newCallId(),
      cseq: o.cseq ?? 1,
      headers: o.headers,
      body: o.body,
      contentType: o.contentType,
    });
    req.headers.prepend('Via', `SIP/2.0/UDP 127.0.0.1:${this.port};branch=${newBranch()};rport`);
    return req;
  }

  /** Sends and waits for the first final response (or the response matching `status`) to this request. */
  async transact(req: SipRequest, port: number, timeoutMs = 2000): Promise<SipResponse> {
    const branch = req.topVia.branch;
    const from = this.received.length;
    await this.sendTo(req, port);
    return until(
      () =>
        this.received
          .slice(from)
          .map((r) => r.msg)
          .find((m): m is SipResponse => !isRequest(m) && m.status >= 200 && m.topVia.branch === branch && m.cseq.method === req.method),
      timeoutMs,
      `final response to ${req.method}`,
    );
  }

  /** Requests received so far, of one method. */
  requests(method: string): SipRequest[] {
    return this.received.map((r) => r.msg).filter((m): m is SipRequest => isRequest(m) && m.method === method);
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** A response to a received request, To tag added. */
export function createResponseFor(req: SipRequest, status: number, headers: Array<[string, string]> = []): SipResponse {
  const lines: string[] = [`SIP/2.0 ${status} X`];
  for (const v of req.headers.getLines('Via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.headers.get('From')}`);
  lines.push(`To: ${req.headers.get('To')}${req.toTag || status === 100 ? '' : `;tag=${newTag()}`}`);
  lines.push(`Call-ID: ${req.callId}`, `CSeq: ${req.headers.get('CSeq')}`);
  for (const [n, v] of headers) lines.push(`${n}: ${v}`);
  lines.push('Content-Length: 0', '', '');
  return parseMessage(Buffer.from(lines.join('\r\n'))) as SipResponse;
}

/** The request again, answering the challenge in `res` (401 or 407), CSeq + 1 and a new branch. */
export function withCredentials(req: SipRequest, res: SipResponse, username: string, password: string, nc = 1): SipRequest {
  const proxy = res.status === 407;
  const challenge = parseChallenge(res.headers.get(proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate')!);
  const next = req.clone();
  next.headers.set('CSeq', `${req.cseq.seq + 1} ${req.method}`);
  const via = req.topVia;
  next.headers.replaceFirst('Via', `SIP/2.0/UDP ${via.host}:${via.port};branch=${newBranch()};rport`);
  const value = buildAuthorization({
    challenge,
    method: req.method,
    uri: formatUri(req.uri),
    username,
    password,
    nc,
    cnonce: newTag(),
  });
  next.headers.set(proxy ? 'Proxy-Authorization' : 'Authorization', value);
  return next;
}
