import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TRANSPORT_ERROR_CODES, TransportError } from './errors.ts';

describe('transport error catalogue', () => {
  it('ERRORS.md documents exactly the codes the code defines', () => {
    const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(SIP_ERR_TRANSPORT_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, Object.keys(TRANSPORT_ERROR_CODES).sort());
  });

  it('carries its code, target and cause', () => {
    const cause = new Error('boom');
    const target = { protocol: 'tcp' as const, host: '192.0.2.1', port: 5060 };
    const err = new TransportError('SIP_ERR_TRANSPORT_CONNECT', 'no', target, cause);
    assert.equal(err.code, 'SIP_ERR_TRANSPORT_CONNECT');
    assert.equal(err.name, 'TransportError');
    assert.deepEqual(err.target, target);
    assert.equal(err.cause, cause);
    assert.ok(err instanceof Error);
  });
});
