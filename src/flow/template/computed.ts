/**
 * Computed fillers: values the engine makes at render time rather than looking up (TEMPLATES.md "Computed
 * fillers"). Randomness and time come from an injectable `RandomSource`, so renders are reproducible in tests.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Names the engine computes. The context cannot shadow them, except `websocket-key` (see TEMPLATES.md). */
export const COMPUTED_FILLERS = [
  'content-length',
  'websocket-key',
  'websocket-accept',
  'uuid',
  'now-iso',
  'seq',
  'rand-digits',
] as const;

export type ComputedFiller = (typeof COMPUTED_FILLERS)[number];

export function isComputedFiller(name: string): name is ComputedFiller {
  return (COMPUTED_FILLERS as readonly string[]).includes(name);
}

/** Computed fillers that take a numeric argument: `{rand-digits:8}`. */
export function isParameterisedFiller(name: string): boolean {
  return name === 'rand-digits';
}

/** Where render gets randomness and the clock from. */
export interface RandomSource {
  bytes(n: number): Buffer;
  now(): Date;
}

export const cryptoRandomSource: RandomSource = {
  bytes: (n) => randomBytes(n),
  now: () => new Date(),
};

/**
 * A deterministic source for golden tests and reproducible runs: a 32-bit seeded generator (mulberry32) and a
 * fixed clock. Not for anything secret.
 */
export function createSeededSource(seed: number, now: Date | string = '2024-01-01T00:00:00.000Z'): RandomSource {
  let a = seed >>> 0;
  const fixed = new Date(now);
  return {
    bytes(n: number): Buffer {
      const out = Buffer.alloc(n);
      for (let i = 0; i < n; i++) {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
      }
      return out;
    },
    now: () => new Date(fixed.getTime()),
  };
}

/** The fixed GUID a WebSocket server appends to the client's key (RFC 6455 §1.3, §4.2.2). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2 step 5.4). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID, 'latin1').digest('base64');
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 §4.1). */
export function websocketKey(src: RandomSource): string {
  return src.bytes(16).toString('base64');
}

/** A version 4 (random) UUID (RFC 9562 §5.4). */
export function uuidV4(src: RandomSource): string {
  const b = src.bytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `n` decimal digits, uniform (bytes ≥ 250 are drawn again so `% 10` has no bias). */
export function randomDigits(src: RandomSource, n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of src.bytes(n - out.length + 2)) {
      if (byte < 250) out += String(byte % 10);
      if (out.length === n) break;
    }
  }
  return out;
}
