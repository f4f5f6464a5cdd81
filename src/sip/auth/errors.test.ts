import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DIGEST_ERROR_CODES } from './digest-challenge.ts';

describe('digest error catalogue', () => {
  it('lists in ERRORS.md exactly the codes the code defines', () => {
    const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(SIP_ERR_[A-Z_0-9]+)`/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, [...DIGEST_ERROR_CODES].sort());
  });
});
