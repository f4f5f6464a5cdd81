/**
 * The typed emitter every core object uses, with one addition: events can be deferred until the
 * command that caused them has returned, so a door acknowledges a request before it reports what
 * the request set in motion (a `registering` after `register()`, a `progress` after `createCall()`),
 * as SylkServer does. Events emitted later keep their order behind deferred ones.
 */
import { TypedEmitter } from '../sip/ua/index.ts';
import type { Logger } from 'pino';

export abstract class CoreEmitter<E extends Record<string, unknown[]>> extends TypedEmitter<E> {
  private queue: Array<() => void> | undefined;
  protected abstract readonly log: Logger;

  /** Where errors no caller sees are counted (the gateway's observer). */
  protected abstract reportError(code: string, err: unknown): void;

  protected override onListenerError(err: unknown, event: string): void {
    this.log.error({ err, event }, 'event listener failed');
    this.reportError('listener', err);
  }

  /** Emits once the current command has returned (next turn of the event loop). */
  protected emitSoon<K extends keyof E>(event: K, ...args: E[K]): void {
    if (!this.queue) {
      this.queue = [];
      setImmediate(() => this.flush());
    }
    this.queue.push(() => this.emit(event, ...args));
  }

  /** Emits now, unless deferred events are still waiting: then after them. */
  protected emitInOrder<K extends keyof E>(event: K, ...args: E[K]): void {
    if (this.queue) this.queue.push(() => this.emit(event, ...args));
    else this.emit(event, ...args);
  }

  private flush(): void {
    const queue = this.queue!;
    // Listeners may queue more while we run; they go last, in order.
    for (let i = 0; i < queue.length; i++) queue[i]!();
    this.queue = undefined;
  }
}
