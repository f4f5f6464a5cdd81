import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LINT_CODES, TEMPLATE_ERROR_CODES } from './errors.ts';
import { COMPUTED_FILLERS } from './computed.ts';
import { LIBRARY_ERROR_CODES } from '../library/library.ts';

const doc = readFileSync(new URL('../TEMPLATES.md', import.meta.url), 'utf8');

describe('TEMPLATES.md', () => {
  for (const [what, list] of [
    ['template error', TEMPLATE_ERROR_CODES],
    ['lint code', LINT_CODES],
    ['library error', LIBRARY_ERROR_CODES],
    ['computed filler', COMPUTED_FILLERS.map((c) => `{${c === 'rand-digits' ? 'rand-digits:N' : c}}`)],
  ] as const) {
    it(`documents every ${what}`, () => {
      for (const code of list) assert.ok(doc.includes('`' + code + '`'), `${code} is not documented`);
    });
  }
});
