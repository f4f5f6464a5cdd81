import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { IllegalTransitionError, TRANSACTION_ERROR_CODES, TransactionClosedError, TransactionTimeoutError } from './errors.ts';

describe('transaction error catalogue', () => {
  it('lists in ERRORS.md exactly the codes the code defines', () => {
    const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(SIP_ERR_[A-Z_]+)`/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, [...TRANSACTION_ERROR_CODES].sort());
  });

  it('maps timeouts to 408 and a closed layer to 503', () => {
    const timeout = new TransactionTimeoutError('B', 'z9hG4bKx', 'INVITE');
    assert.equal(timeout.code, 'SIP_ERR_TRANSACTION_TIMEOUT');
    assert.equal(timeout.status, 408);
    assert.equal(timeout.name, 'TransactionTimeoutError');
    assert.equal(new TransactionClosedError().status, 503);
    const illegal = new IllegalTransitionError('InviteClientTransaction', 'Completed', 'Calling');
    assert.equal(illegal.code, 'SIP_ERR_TRANSACTION_ILLEGAL_TRANSITION');
    assert.match(illegal.message, /Completed to Calling/);
  });
});
