/**
 * `echo@<local domain>`: a SIP user of the embedded local domain, answered by Portico itself,
 * that returns the caller's own audio. It registers like any phone (with a password made at
 * start), answers every INVITE at once with an RTP echo, and ends the echo with the dialog.
 * Re-INVITEs (hold, resume) are answered from the same echo.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { MediaError, RtpEcho } from '../media/index.ts';
import type { IncomingCall, Registration, SipStack, SipUser } from '../sip/ua/index.ts';

export interface EchoServiceOptions {
  stack: SipStack;
  /** The local domain, e.g. `portico.local`. */
  domain: string;
  /** User part (default `echo`). */
  user?: string;
  /** The password the local domain knows the user by. */
  password: string;
  /** Address for the echo's RTP. */
  host?: string;
  logger: Logger;
}

/** A fresh password for the echo user (the local domain gets it in its user table). */
export function echoPassword(): string {
  return randomBytes(18).toString('base64url');
}

export class EchoService {
  readonly aor: string;
  private readonly opts: EchoServiceOptions;
  private readonly echo: RtpEcho;
  private user: SipUser | undefined;
  private registration: Registration | undefined;
  private readonly calls = new Set<IncomingCall>();
  private closed = false;

  constructor(opts: EchoServiceOptions) {
    this.opts = opts;
    this.aor = `${opts.user ?? 'echo'}@${opts.domain}`;
    this.echo = new RtpEcho({ host: opts.host, logger: opts.logger });
  }

  /** Binds the echo's first sockets and registers `echo@domain` with the local domain. */
  async start(): Promise<void> {
    await this.echo.start();
    const user = this.opts.stack.createUser({ aor: `sip:${this.aor}`, displayName: 'Echo', credentials: { password: this.opts.password } });
    this.user = user;
    user.on('invite', (call) => this.onInvite(call));
    this.registration = user.registration({ expires: 3600 });
    await this.registration.register();
    this.opts.logger.info({ aor: this.aor }, 'echo service registered');
  }

  /** Packets echoed for the call with this SIP Call-ID, while it lasts. */
  stats(sipCallId: string) {
    return this.echo.stats(sipCallId);
  }

  /** Packets echoed since start, over all calls. */
  get totalEchoed(): number {
    return this.echo.totalEchoed;
  }

  private onInvite(call: IncomingCall): void {
    const id = call.request.callId;
    const offer = call.offer;
    if (!offer) return call.reject(488, 'The echo needs an SDP offer');
    let answer: string;
    try {
      answer = this.echo.answer(id, offer);
    } catch (err) {
      const status = err instanceof MediaError ? err.status : 500;
      this.opts.logger.info({ err }, 'echo refused a call');
      return call.reject(status, err instanceof MediaError ? err.reason : undefined);
    }
    this.calls.add(call);
    call.on('reinvite', (r) => {
      try {
        r.accept(r.sdp ? this.echo.answer(id, r.sdp) : undefined);
      } catch (err) {
        this.opts.logger.info({ err }, 'echo kept its media for a re-INVITE it cannot take');
        r.accept();
      }
    });
    call.on('ended', () => {
      this.calls.delete(call);
      this.echo.release(id);
    });
    call.accept({ sdp: answer });
  }

  /** Ends every echo call, un-REGISTERs, closes the sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.calls].map((c) => c.terminate('closed')));
    await this.registration?.close().catch(() => undefined);
    await this.user?.close().catch(() => undefined);
    this.echo.close();
  }
}
