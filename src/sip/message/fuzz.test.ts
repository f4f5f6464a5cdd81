/**
 * Seeded fuzzing over every fixture: mutated messages must either parse (and then survive every
 * accessor and a serialize → parse round trip) or fail with SipParseError — nothing else, and
 * quickly. The stream framer must cut the same messages whatever the chunk boundaries are.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { loadFixtureDir, snapshot } from '../../../test/fixtures/sip/helpers.ts';
import { SipParseError, StreamFramer, parseMessage } from './index.ts';
import type { SipMessage } from './index.ts';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INSERTS = ['\r', '\n', '\r\n', '\0', '"', '<', '>', ' ', '\t', ';', ',', ':', '\\', '%', '@', '[', ']', '\r\n ', '=', '\x80', '\xff']
  .map((s) => Buffer.from(s, 'latin1'));

function mutate(input: Buffer, rnd: () => number): Buffer {
  const pick = (n: number): number => Math.floor(rnd() * n);
  let buf = input;
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(buf.length + 1);
    switch (pick(6)) {
      case 0: { // flip one bit
        if (buf.length === 0) break;
        buf = Buffer.from(buf);
        buf[Math.min(at, buf.length - 1)] ^= 1 << pick(8);
        break;
      }
      case 1: // truncate
        buf = buf.subarray(0, at);
        break;
      case 2: { // duplicate a range
        const len = pick(64);
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at, at + len), buf.subarray(at)]);
        break;
      }
      case 3: // insert a syntax character
        buf = Buffer.concat([buf.subarray(0, at), INSERTS[pick(INSERTS.length)], buf.subarray(at)]);
        break;
      case 4: // delete a range
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + pick(8))]);
        break;
      default: { // overwrite with a random byte
        if (buf.length === 0) break;
        buf = Buffer.from(buf);
        buf[Math.min(at, buf.length - 1)] = pick(256);
      }
    }
  }
  return buf;
}

function readEverything(m: SipMessage): void {
  void m.callId, m.cseq, m.from, m.to, m.fromTag, m.toTag, m.vias, m.topVia;
  void m.contacts(), m.isWildcardContact, m.routes(), m.recordRoutes(), m.maxForwards, m.expires, m.contentType;
}

/** Runs `fn`; anything thrown must be a SipParseError. */
function onlyParseErrors(fn: () => void, input: Buffer): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SipParseError)) {
      assert.fail(`${String(err)} for input ${JSON.stringify(input.toString('latin1'))}`);
    }
  }
}

const FIXTURES = ['rfc4475', 'rfc3261', 'rfc3665', 'misc'].flatMap((d) => loadFixtureDir(d).map(([, b]) => b));
const MUTATIONS = 4000;
// Generous: the box is shared, and a GC pause may land in any one parse; a hang or a quadratic blow-up
// takes far longer.
const PARSE_BUDGET_MS = 250;

describe('fuzzing the parser', () => {
  it(`${MUTATIONS} seeded mutations throw nothing but SipParseError, each within ${PARSE_BUDGET_MS} ms`, () => {
    const rnd = prng(0x5eed);
    let parsed = 0;
    let slowest = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const input = mutate(FIXTURES[i % FIXTURES.length], rnd);
      const t0 = performance.now();
      let m: SipMessage | undefined;
      onlyParseErrors(() => {
        m = parseMessage(input);
      }, input);
      slowest = Math.max(slowest, performance.now() - t0);
      if (m === undefined) continue;
      parsed++;
      const msg = m;
      onlyParseErrors(() => readEverything(msg), input);
      // Whatever parsed must serialize to something that parses to the same fields.
      const again = parseMessage(msg.toBuffer());
      assert.deepEqual(snapshot(again), snapshot(msg), JSON.stringify(input.toString('latin1')));
    }
    assert.ok(slowest < PARSE_BUDGET_MS, `slowest parse took ${slowest.toFixed(1)} ms`);
    // The mutations must exercise both paths, or the test proves little.
    assert.ok(parsed > MUTATIONS / 10 && parsed < MUTATIONS * 0.9, `parsed ${parsed} of ${MUTATIONS}`);
  });

  it('survives pathological input sizes quickly', () => {
    for (const input of [
      Buffer.from('INVITE sip:a@b SIP/2.0\r\n' + 'Via: SIP/2.0/UDP h;branch=1,'.repeat(2000) + '\r\n\r\n'),
      Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nX: ' + '"'.repeat(50000) + '\r\n\r\n'),
      Buffer.from('OPTIONS sip:a@b SIP/2.0\r\n' + ' x\r\n'.repeat(10000) + '\r\n'),
      Buffer.from('SIP/2.0 200 OK\r\nContact: ' + '<'.repeat(30000) + '\r\n\r\n'),
      Buffer.alloc(60000, 0x0d),
    ]) {
      const t0 = performance.now();
      onlyParseErrors(() => readEverything(parseMessage(input)), input);
      assert.ok(performance.now() - t0 < 200);
    }
  });
});

describe('fuzzing the stream framer', () => {
  // Serialized messages always carry Content-Length, as a stream requires.
  const messages = FIXTURES.flatMap((b) => {
    try {
      return [parseMessage(b).toBuffer()];
    } catch {
      return [];
    }
  });
  const KEEPALIVES = [Buffer.from('\r\n\r\n'), Buffer.from('\r\n')];

  it('frames the same messages and keep-alives whatever the chunk boundaries (300 seeded splits)', () => {
    const rnd = prng(42);
    const parts: Buffer[] = [];
    const expected: Buffer[] = [];
    let crlfPairs = 0;
    for (let i = 0; i < 60; i++) {
      if (rnd() < 0.3) {
        const ka = KEEPALIVES[Math.floor(rnd() * 2)];
        parts.push(ka);
        crlfPairs += ka.length / 2;
      }
      const m = messages[Math.floor(rnd() * messages.length)];
      parts.push(m);
      expected.push(m);
    }
    const stream = Buffer.concat(parts);
    for (let round = 0; round < 300; round++) {
      const got: Buffer[] = [];
      let pairs = 0;
      const errors: SipParseError[] = [];
      const framer = new StreamFramer({
        onMessage: (b) => got.push(b),
        onKeepAlive: (k) => (pairs += k === 'ping' ? 2 : 1),
        onError: (e) => errors.push(e),
      });
      // Small chunks in some rounds, large ones in others.
      const maxChunk = 1 + Math.floor(rnd() * (round % 2 === 0 ? 16 : 3000));
      for (let pos = 0; pos < stream.length;) {
        const n = 1 + Math.floor(rnd() * maxChunk);
        framer.push(stream.subarray(pos, pos + n));
        pos += n;
      }
      assert.deepEqual(errors, []);
      assert.equal(got.length, expected.length);
      for (let i = 0; i < got.length; i++) assert.ok(got[i].equals(expected[i]), `message ${i} in round ${round}`);
      // A ping split between its CRLFs may be reported as two pongs; the CRLFs are all accounted for.
      assert.equal(pairs, crlfPairs);
      assert.equal(framer.buffered, 0);
    }
  });

  it('never throws on mutated streams, and reports errors only through onError', () => {
    const rnd = prng(7);
    for (let round = 0; round < 300; round++) {
      const stream = mutate(Buffer.concat([messages[round % messages.length], messages[(round + 1) % messages.length]]), rnd);
      const framer = new StreamFramer({ onMessage: () => {}, onError: (e) => assert.ok(e instanceof SipParseError) }, { maxMessageSize: 4096 });
      for (let pos = 0; pos < stream.length;) {
        const n = 1 + Math.floor(rnd() * 200);
        framer.push(stream.subarray(pos, pos + n));
        pos += n;
      }
    }
  });
});
