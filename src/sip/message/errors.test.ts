import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SIP_PARSE_ERROR_CODES, SipParseError } from './index.ts';

describe('SipParseError catalogue', () => {
  const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(SIP_ERR_[A-Z0-9_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])] as const);

  it('ERRORS.md lists exactly the codes the code throws, with the same statuses', () => {
    assert.deepEqual(new Map(rows), new Map(Object.entries(SIP_PARSE_ERROR_CODES)));
    assert.equal(rows.length, Object.keys(SIP_PARSE_ERROR_CODES).length, 'no code documented twice');
  });

  it('derives status from the code', () => {
    const err = new SipParseError('SIP_ERR_TOO_LARGE', 'big', 7);
    assert.equal(err.status, 513);
    assert.equal(err.offset, 7);
    assert.equal(err.name, 'SipParseError');
    assert.ok(err instanceof Error);
    assert.equal(err.shifted(3).offset, 10);
  });
});
