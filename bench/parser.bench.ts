/**
 * SIP parser throughput on a fixed mix of typical messages (REGISTER, INVITE with SDP, 200 OK with
 * SDP, MESSAGE), in messages per second on one core, next to a naive baseline measured in the same
 * run: `toString()` + `split('\r\n')` + one `indexOf(':')` per line, which validates nothing.
 *
 *   node --import tsx bench/parser.bench.ts            (BENCH_SECONDS=1 per case by default)
 *
 * Prints one line per case, then one JSON line with every figure.
 */
import { performance } from 'node:perf_hooks';
import { loadFixture } from '../test/fixtures/sip/helpers.ts';
import { parseMessage } from '../src/sip/message/index.ts';
import type { SipMessage } from '../src/sip/message/index.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const TARGET = 100_000;

const MIX = [
  'rfc3261/24.1-register.sip',
  'rfc3665/3.1-f1-invite.sip',
  'rfc3261/24.2-f11-200.sip',
  'misc/message.sip',
].map(loadFixture);

let sink = 0; // keeps results alive so nothing is optimised away

function naiveSplit(buf: Buffer): void {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    headers.push([lines[i].slice(0, colon), lines[i].slice(colon + 1).trim()]);
  }
  sink += headers.length + lines[0].length;
}

function parseOnly(buf: Buffer): void {
  sink += parseMessage(buf).headers.size;
}

function parseAndRead(buf: Buffer): void {
  const m = parseMessage(buf);
  sink += m.callId.length + m.cseq.seq + (m.fromTag?.length ?? 0) + (m.toTag?.length ?? 0) + m.topVia.host.length +
    m.vias.length + m.from.uri.host.length + m.to.uri.host.length + m.body.length;
}

const parsed: SipMessage[] = MIX.map((b) => parseMessage(b));
function serialize(_: Buffer, i: number): void {
  sink += parsed[i % parsed.length].toBuffer().length;
}

/** Messages per second of `fn` over the mix for about SECONDS, after a short warm-up. */
function measure(fn: (buf: Buffer, i: number) => void): number {
  const n = MIX.length;
  for (let i = 0; i < 20_000; i++) fn(MIX[i % n], i);
  let count = 0;
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) fn(MIX[(count + i) % n], count + i);
    count += 1000;
    now = performance.now();
  }
  return Math.round(count / ((now - start) / 1000));
}

const baseline = measure(naiveSplit);
const parse = measure(parseOnly);
const parseRead = measure(parseAndRead);
const ser = measure(serialize);

const row = (name: string, rate: number): void => {
  console.log(`${name.padEnd(34)} ${rate.toLocaleString('en-US').padStart(12)} msg/s   ${(rate / baseline).toFixed(2)}x baseline`);
};
row('baseline (split + indexOf)', baseline);
row('parseMessage', parse);
row('parseMessage + eager fields', parseRead);
row('serialize (toBuffer)', ser);

const bytes = MIX.reduce((s, b) => s + b.length, 0) / MIX.length;
console.log(JSON.stringify({
  bench: 'sip-message-parser',
  node: process.version,
  secondsPerCase: SECONDS,
  avgMessageBytes: Math.round(bytes),
  baselineMsgPerSec: baseline,
  parseMsgPerSec: parse,
  parseAndReadMsgPerSec: parseRead,
  serializeMsgPerSec: ser,
  parseVsBaseline: Number((parse / baseline).toFixed(3)),
  parseAndReadVsBaseline: Number((parseRead / baseline).toFixed(3)),
  serializeVsBaseline: Number((ser / baseline).toFixed(3)),
  target: TARGET,
  meetsTarget: parseRead >= TARGET,
  sink: sink > 0,
}));
