/**
 * A small event emitter typed by an event map (`{ registered: [expires: number] }`). A listener
 * that throws is isolated: the error goes to the `onListenerError` hook (the stack logs it) and the
 * other listeners and the emitting protocol code carry on.
 */
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap> {
  // Created with the first listener: many emitters (idle registrations) never get one.
  private listeners: Map<keyof E, Set<Listener<never[]>>> | undefined;

  /** Where a throwing listener's error goes; subclasses log it. */
  protected onListenerError(_err: unknown, _event: string): void {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const listeners = (this.listeners ??= new Map());
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener<never[]>);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapped = (...args: E[K]) => {
      this.off(event, wrapped);
      listener(...args);
    };
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    this.listeners?.get(event)?.delete(listener as unknown as Listener<never[]>);
    return this;
  }

  /** Resolves with the event's arguments the next time it fires. */
  next<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => this.once(event, (...args) => resolve(args)));
  }

  listenerCount(event: keyof E): number {
    return this.listeners?.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.listeners = undefined;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners?.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as Listener<E[K]>)(...args);
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
  }
}
