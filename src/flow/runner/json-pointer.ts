/**
 * JSON Pointer (RFC 6901) resolution with the tolerance OMA bodies need (reference §1.2):
 * - a one-element array may stand where an object is expected, and an object where a
 *   one-element array is expected (`/link/0/href` finds `"link": {…}`);
 * - a notification may come wrapped in `notificationList` (one object or an array): when the
 *   pointer does not name `notificationList` itself, each listed notification is tried in turn.
 */

const MISSING = Symbol('missing');

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new SyntaxError(`JSON pointer must start with "/": ${pointer}`);
  // RFC 6901 §4: ~1 is "/", ~0 is "~", in that order.
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Tokens of the pointers seen so far: a flow uses a handful, resolved on every response. */
const tokenCache = new Map<string, readonly string[]>();
const TOKEN_CACHE_MAX = 1024;

function tokensOf(pointer: string): readonly string[] {
  let tokens = tokenCache.get(pointer);
  if (tokens === undefined) {
    tokens = parsePointer(pointer);
    if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
    tokenCache.set(pointer, tokens);
  }
  return tokens;
}

function step(value: unknown, token: string): unknown {
  if (Array.isArray(value)) {
    if (/^(0|[1-9]\d*)$/.test(token)) {
      const i = Number(token);
      return i < value.length ? value[i] : MISSING;
    }
    // OMA quirk: a one-element array where an object was meant.
    if (value.length === 1) return step(value[0], token);
    return MISSING;
  }
  if (value !== null && typeof value === 'object') {
    if (Object.prototype.hasOwnProperty.call(value, token)) return (value as Record<string, unknown>)[token];
    // OMA quirk: an object where a one-element array was meant.
    if (token === '0') return value;
    return MISSING;
  }
  return MISSING;
}

function resolveTokens(doc: unknown, tokens: readonly string[]): unknown {
  let v: unknown = doc;
  for (const t of tokens) {
    v = step(v, t);
    if (v === MISSING) return MISSING;
  }
  return v;
}

/** Resolves `pointer` in `doc`; undefined when it names nothing. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  const tokens = tokensOf(pointer);
  const direct = resolveTokens(doc, tokens);
  if (direct !== MISSING) return direct;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && tokens[0] !== 'notificationList' && 'notificationList' in doc) {
    const list = (doc as { notificationList: unknown }).notificationList;
    for (const item of Array.isArray(list) ? list : [list]) {
      const v = resolveTokens(item, tokens);
      if (v !== MISSING) return v;
    }
  }
  return undefined;
}

/** The string form a filler gets from a JSON value: strings as they are, others as JSON. */
export function jsonValueToFiller(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
