/**
 * Fresh identifiers. All are drawn from the OS CSPRNG and written in base64url, whose alphabet
 * (A-Z a-z 0-9 - _) is inside both `token` and `word` (RFC 3261 §25.1).
 */
import { randomBytes } from 'node:crypto';

/** RFC 3261 §8.1.1.7: the branch starts with the magic cookie z9hG4bK and is unique in space and time. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

// Random bytes are drawn in batches: one syscall serves many identifiers on the hot path.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

function random(bytes: number): string {
  if (poolOffset + bytes > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const s = pool.toString('base64url', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return s;
}

/** A Via branch: magic cookie + 96 random bits. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + random(12);
}

/** A From/To tag: 64 random bits (RFC 3261 §19.3 asks for at least 32). */
export function newTag(): string {
  return random(8);
}

/** A Call-ID: 144 random bits, no host part (RFC 3261 §8.1.1.4 recommends random strings). */
export function newCallId(): string {
  return random(18);
}
