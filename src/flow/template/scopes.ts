/**
 * Filler contexts: where render looks values up. Scopes nest (step → call/chat → client → run) and lookup goes
 * innermost first (TEMPLATES.md "Scopes").
 */

/** One value: a string, or a list for multi-valued fillers (cookies). */
export type FillerValue = string | readonly string[];

/** What render reads values from. */
export interface FillerContext {
  lookup(name: string): FillerValue | undefined;
  /** Next value of the per-client `{seq}` counter: 1, 2, 3, … Without it `{seq}` is always 1. */
  nextSeq?(): number;
}

/** A scope layer: a plain record or a Map. Numbers and booleans are turned into strings on lookup. */
export type ScopeLayer =
  | Readonly<Record<string, FillerValue | number | boolean | undefined>>
  | ReadonlyMap<string, FillerValue | number | boolean | undefined>;

/** Per-client counter behind `{seq}`. */
export class SeqCounter {
  private n = 0;
  next(): number {
    return ++this.n;
  }
  /** The last value handed out (0 before the first). */
  get current(): number {
    return this.n;
  }
}

function get(layer: ScopeLayer, name: string): FillerValue | undefined {
  const v =
    layer instanceof Map
      ? (layer as ReadonlyMap<string, FillerValue | number | boolean | undefined>).get(name)
      : Object.prototype.hasOwnProperty.call(layer, name)
        ? (layer as Record<string, FillerValue | number | boolean | undefined>)[name]
        : undefined;
  if (v === undefined) return undefined;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v;
}

/**
 * Layers of fillers, innermost first. Layers are read live, so a runner may keep mutating its client record
 * (extractions) and later renders see the new values. A `undefined` entry means "not set here": lookup goes on.
 */
export class Scopes implements FillerContext {
  readonly layers: readonly ScopeLayer[];
  readonly counter: SeqCounter;

  constructor(layers: readonly ScopeLayer[], counter: SeqCounter = new SeqCounter()) {
    this.layers = layers;
    this.counter = counter;
  }

  lookup(name: string): FillerValue | undefined {
    for (const layer of this.layers) {
      const v = get(layer, name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  nextSeq(): number {
    return this.counter.next();
  }

  /** Inner layers in front of these, sharing this context's `{seq}` counter (e.g. a step inside a client). */
  child(...inner: ScopeLayer[]): Scopes {
    return new Scopes([...inner, ...this.layers], this.counter);
  }
}

/**
 * `createScopes(step, call, client, run)`: innermost first. Each call makes a fresh `{seq}` counter, so make
 * one per emulated client and derive steps with `.child(...)`.
 */
export function createScopes(...layers: ScopeLayer[]): Scopes {
  return new Scopes(layers);
}
