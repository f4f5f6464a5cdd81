/**
 * Fresh identifiers. All are drawn from the OS CSPRNG and written in base64url, whose alphabet
 * (A-Z a-z 0-9 - _) is inside both `token` and `word` (RFC 3261 §25.1).
 */
import { randomBytes } from 'node:crypto';

/** RFC 3261 §8.1.1.7: the branch starts with the magic cookie z9hG4bK and is unique in space and time. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

// Random bytes are drawn in batches and encoded once: each identifier is then a slice of that
// text, with no call into the runtime per identifier. 3,072 bytes encode to 4,096 base64url
// characters of six random bits each (a multiple of 3 bytes leaves no partly filled last one).
const POOL_BYTES = 3072;
let pool = '';
let poolOffset = 0;

function random(chars: number): string {
  if (poolOffset + chars > pool.length) {
    pool = randomBytes(POOL_BYTES).toString('base64url');
    poolOffset = 0;
  }
  const s = pool.slice(poolOffset, poolOffset + chars);
  poolOffset += chars;
  return s;
}

/** A Via branch: magic cookie + 96 random bits (16 characters). */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + random(16);
}

/** A From/To tag: 66 random bits in 11 characters (RFC 3261 §19.3 asks for at least 32). */
export function newTag(): string {
  return random(11);
}

// Call-IDs are often kept for as long as a registration or dialog lives: a slice of the text
// batch would keep all 4 KB of it alive, so they are encoded on their own from a byte batch.
let bytes = randomBytes(POOL_BYTES);
let bytesOffset = 0;

/** A Call-ID: 144 random bits (24 characters), no host part (RFC 3261 §8.1.1.4 recommends random strings). */
export function newCallId(): string {
  if (bytesOffset + 18 > POOL_BYTES) {
    bytes = randomBytes(POOL_BYTES);
    bytesOffset = 0;
  }
  const s = bytes.toString('base64url', bytesOffset, bytesOffset + 18);
  bytesOffset += 18;
  return s;
}
