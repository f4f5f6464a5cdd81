import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExpectSpec, ExtractRule } from '../model/index.ts';
import { checkExpect, extractValues, Subject } from './extract.ts';

const body = JSON.stringify({ session: { id: 'abc123', status: 'Connected' }, notificationList: [{ chat: { state: 'Active' } }] });
const subject = (status = 201): Subject => new Subject(Buffer.from(body), status, [['Content-Type', 'application/json'], ['Location', '/s/abc123?x=1']]);
const none = { lookup: () => undefined };

describe('expectations on a response', () => {
  it('accepts a status given as a number, a list, a class or a numeric string', () => {
    for (const status of [201, [204, 201], '2xx', '201', ['4xx', '2XX']] as ExpectSpec['status'][]) {
      assert.equal(checkExpect({ status }, subject(), none), undefined, JSON.stringify(status));
    }
  });
  it('names the status it got and every status it wanted', () => {
    assert.deepEqual(checkExpect({ status: 200 }, subject(), none), { reason: 'status-mismatch', detail: 'status 201, expected 200' });
    assert.deepEqual(checkExpect({ status: [200, '3xx'] }, subject(), none), { reason: 'status-mismatch', detail: 'status 201, expected 200 or 3xx' });
  });
  it('checks headers case-insensitively and the body after the status', () => {
    assert.equal(checkExpect({ status: 201, headers: { 'content-type': 'application/json' } }, subject(), none), undefined);
    assert.equal(checkExpect({ headers: { 'X-Nope': { exists: true } } } as ExpectSpec, subject(), none)?.reason, 'header-mismatch');
    assert.equal(checkExpect({ status: 201, body: { json: '/session/status', equals: 'Connected' } } as ExpectSpec, subject(), none), undefined);
    assert.equal(checkExpect({ status: 201, body: [{ json: '/session/status', equals: 'Gone' }] } as ExpectSpec, subject(), none)?.reason, 'body-mismatch');
  });
});

describe('extraction from a response', () => {
  const rule = (r: Partial<ExtractRule>): ExtractRule => ({ source: 'json', pointers: [], scope: 'client', group: 0, ...r }) as ExtractRule;
  it('takes JSON values by pointer, again and again, through notificationList', () => {
    const rules = { 'session-id': rule({ pointers: ['/session/id'] }), state: rule({ pointers: ['/chat/state'], scope: 'chat' }) };
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(extractValues(rules, subject()), {
        values: [{ name: 'session-id', value: 'abc123', scope: 'client' }, { name: 'state', value: 'Active', scope: 'chat' }],
        failures: [],
      });
    }
  });
  it('falls back to a default, skips an optional rule and reports a miss', () => {
    const r = extractValues(
      {
        a: rule({ pointers: ['/nope'], default: 'd' }),
        b: rule({ pointers: ['/nope'], optional: true }),
        c: rule({ pointers: ['/nope', '/also/nope'] }),
        loc: rule({ source: 'header', header: 'location', query: 'x' }),
      },
      subject(),
    );
    assert.deepEqual(r.values, [{ name: 'a', value: 'd', scope: 'client' }, { name: 'loc', value: '1', scope: 'client' }]);
    assert.deepEqual(r.failures, ['c: json /nope else /also/nope found nothing']);
  });
});
