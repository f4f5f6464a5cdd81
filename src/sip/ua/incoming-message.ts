/**
 * An incoming MESSAGE (RFC 3428). The listener answers it with `accept()` / `reject()`, or calls
 * `defer()` to answer later; unanswered after the listeners ran, it is accepted with 200.
 */
import type { SipRequest } from '../message/index.ts';
import type { ServerTransaction } from '../transaction/index.ts';
import type { SipStack } from './sip-stack.ts';

export class IncomingMessage {
  readonly request: SipRequest;
  private readonly stack: SipStack;
  private readonly tx: ServerTransaction;
  private answered = false;
  private deferred = false;

  constructor(stack: SipStack, request: SipRequest, tx: ServerTransaction) {
    this.stack = stack;
    this.request = request;
    this.tx = tx;
  }

  get from(): string {
    return this.request.headers.get('From') ?? '';
  }

  get contentType(): string {
    return this.request.contentType ?? 'text/plain';
  }

  get body(): Buffer {
    return this.request.body;
  }

  /** 200 OK (a MESSAGE UAS answers 200 or 202, RFC 3428 §7). */
  accept(status = 200): void {
    this.answer(status);
  }

  reject(status = 488, reason?: string): void {
    this.answer(status, reason);
  }

  /** Answer later; the sender's Timer F (32 s on UDP) bounds how long. */
  defer(): void {
    this.deferred = true;
  }

  /** @internal */
  settle(): void {
    if (!this.answered && !this.deferred) this.answer(200);
  }

  private answer(status: number, reason?: string): void {
    if (this.answered) return;
    this.answered = true;
    this.stack.respond(this.tx, status, reason);
  }
}
