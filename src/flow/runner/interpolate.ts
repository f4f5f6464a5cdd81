import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/**
 * Filler substitution for the short strings of a flow file (URLs, `set` values, match values,
 * JSON frames): `{name}`, `{name?}` (empty when absent), `{{` for a literal brace, and the computed
 * fillers `{uuid}`, `{now-iso}`, `{seq}`, `{rand-digits:N}`, `{rand-hex:N}`. Message templates use
 * the full template language instead (src/flow/TEMPLATES.md).
 */

export interface Lookup {
  lookup(name: string): string | readonly string[] | undefined;
}

export class InterpolationError extends Error {
  readonly code = 'template.missing-filler';
  constructor(readonly filler: string, readonly where: string) {
    super(`missing filler {${filler}} in ${where}`);
    this.name = 'InterpolationError';
  }
}

const FILLER = /\{\{|\{([a-z][a-z0-9.\-_]*)(?::(\d+))?(\?)?\}/g;

export interface ComputedState {
  seq: number;
}

export function computed(name: string, arg: string | undefined, state?: ComputedState): string | undefined {
  switch (name) {
    case 'uuid': return randomUUID();
    case 'now-iso': return new Date().toISOString();
    case 'seq': return state ? String(++state.seq) : '1';
    case 'rand-digits': {
      const n = Number(arg ?? 8);
      let s = '';
      for (let i = 0; i < n; i++) s += String(randomInt(10));
      return s;
    }
    case 'rand-hex': {
      const n = Number(arg ?? 32);
      return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n).toUpperCase();
    }
    default: return undefined;
  }
}

export function interpolate(text: string, ctx: Lookup, where: string, state?: ComputedState): string {
  if (text.indexOf('{') < 0) return text;
  return text.replace(FILLER, (whole, name: string | undefined, arg: string | undefined, optional: string | undefined) => {
    if (whole === '{{') return '{';
    const v = ctx.lookup(name!);
    if (v !== undefined) return typeof v === 'string' ? v : v.join('; ');
    const c = computed(name!, arg, state);
    if (c !== undefined) return c;
    if (optional) return '';
    throw new InterpolationError(name!, where);
  });
}

/** Interpolates every string inside a JSON-like value (keys too). */
export function interpolateJson(value: unknown, ctx: Lookup, where: string, state?: ComputedState): unknown {
  if (typeof value === 'string') return interpolate(value, ctx, where, state);
  if (Array.isArray(value)) return value.map((v) => interpolateJson(v, ctx, where, state));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[interpolate(k, ctx, where, state)] = interpolateJson(v, ctx, where, state);
    return out;
  }
  return value;
}
