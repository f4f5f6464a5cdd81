/**
 * The typed emitter every core object uses, with one addition: events can be deferred until the
 * command that caused them has returned, so a door acknowledges a request before it reports what
 * the request set in motion (a `registering` after `register()`, a `progress` after `createCall()`),
 * as SylkServer does. Events emitted later keep their order behind deferred ones.
 *
 * Listeners are kept in one flat array of (event, listener) pairs rather than a Map of Sets: every
 * connected account holds about seven listeners on five events, and a Map with a Set per event
 * costs about a kilobyte per object where the array costs a tenth of that. The semantics are the
 * emitter's: a listener added twice for one event is added once, a listener added while an event
 * is being emitted is not called for it, one removed meanwhile still is, and a throwing listener
 * is isolated (logged and counted) while the others carry on.
 */
import { TypedEmitter } from '../sip/ua/index.ts';
import type { Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type Listener = (...args: never[]) => void;

export abstract class CoreEmitter<E extends Record<string, unknown[]>> extends TypedEmitter<E> {
  private queue: Array<() => void> | undefined;
  /** Event name, listener, event name, listener…; replaced, never changed in place. */
  private pairs: Array<string | Listener> | undefined;

  /** This object's logger: the gateway's, with the object's ids bound. */
  abstract readonly log: Logger;

  /**
   * One log line with this object's ids as fields, on the gateway's logger: no child logger is
   * kept per object (one costs about 800 bytes for as long as the object lives).
   */
  abstract logAt(level: LogLevel, obj: object, msg: string): void;

  /** Where errors no caller sees are counted (the gateway's observer). */
  protected abstract reportError(code: string, err: unknown): void;

  protected override onListenerError(err: unknown, event: string): void {
    this.logAt('error', { err, event }, 'event listener failed');
    this.reportError('listener', err);
  }

  override on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const pairs = this.pairs;
    const fn = listener as unknown as Listener;
    if (!pairs) {
      this.pairs = [event as string, fn];
      return this;
    }
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === event && pairs[i + 1] === fn) return this;
    // A new array of the exact size (push would reserve room for 16 more), never changed in place.
    this.pairs = pairs.concat(event as string, fn);
    return this;
  }

  override off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const pairs = this.pairs;
    if (!pairs) return this;
    const fn = listener as unknown as Listener;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === event && pairs[i + 1] === fn) {
        // A copy, so that an emit walking the old array still calls the listeners it started with.
        const rest = pairs.slice(0, i).concat(pairs.slice(i + 2));
        this.pairs = rest.length > 0 ? rest : undefined;
        return this;
      }
    }
    return this;
  }

  override listenerCount(event: keyof E): number {
    const pairs = this.pairs;
    let n = 0;
    if (pairs) for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === event) n++;
    return n;
  }

  override removeAllListeners(): void {
    this.pairs = undefined;
  }

  protected override emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const pairs = this.pairs;
    if (!pairs) return;
    // Listeners added or removed during the emit change `this.pairs`, not the array walked here.
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] !== event) continue;
      try {
        (pairs[i + 1] as unknown as (...a: E[K]) => void)(...args);
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
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
