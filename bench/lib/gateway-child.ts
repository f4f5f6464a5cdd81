/**
 * Portico's gateway service (`startGatewayService`, as `portico gateway` runs it) in a process of
 * its own, driven by a benchmark over IPC, so that the gateway's memory and CPU are measured apart
 * from the clients that load it.
 *
 *   fork('bench/lib/gateway-child.ts', [JSON.stringify(rawConfig)], { execArgv: ['--expose-gc', '--import', 'tsx'] })
 *
 * Messages (parent → child, each answered once with the same `id`):
 *   { id, cmd: 'snapshot', gc?: true }  → { memory, cpu, stats, loop }  (after full collections when `gc`)
 *   { id, cmd: 'probe', on: boolean }   → { records }  (the SIP timings gathered while it was on)
 *   { id, cmd: 'profile', file? }       → starts the CPU profiler; with `file`, stops it and writes
 *                                         the profile there (open it in Chrome DevTools)
 *   { id, cmd: 'heap-snapshot', file }  → writes a heap snapshot (after full collections)
 *   { id, cmd: 'exit' }                 → the process exits without a graceful close (no un-REGISTER
 *                                         storm at the end of a run)
 * The child first sends { ready: true, wsUrl } (or { error }).
 *
 * The probe times SIP at the gateway's own UDP socket, so that a request's time through the
 * gateway can be split into what the SIP peer took and what the gateway added: for each Call-ID,
 * the time from each INVITE or REGISTER handed to the socket to the final response the socket
 * delivers for it (a 401/407 and the retry with credentials are two such spans), up to the 200.
 * A response that waits in the kernel while the event loop is busy counts as the peer's time, so
 * the gateway's share comes out as a lower bound. The probe wraps `dgram.Socket` in this process
 * only, and costs a few regular expressions per datagram while on.
 */
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { configSchema, parseConfig, startGatewayService } from '../../src/gateway/index.ts';

export interface ProbeRecord {
  /** INVITE: the Call-ID; REGISTER: the user part of the To URI. */
  key: string;
  method: 'INVITE' | 'REGISTER';
  /** The peer's time: each request out → its final response in, summed up to the 200, ms. */
  sipMs: number;
  /** Each span: request out → final response in (a challenge makes two), ms. */
  spans: number[];
  /** Datagrams sent for the request, retransmissions included. */
  sends: number;
}

export interface ChildSnapshot {
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  stats: { connections: number; accounts: number; registered: number; calls: number; sipTransactions: number; sipDialogs: number };
  /** Event-loop delay since the previous snapshot, ms. */
  loop: { p50: number; p99: number; max: number };
  /** Garbage collections since the previous snapshot: count, total and longest pause (ms), by kind. */
  gc: Record<'minor' | 'major' | 'other', { count: number; totalMs: number; maxMs: number }>;
  /** Seconds since the gateway process started. */
  uptimeS: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('gateway-child needs --expose-gc');
if (!process.send) throw new Error('gateway-child runs as a forked child (IPC)');

// --- SIP timing probe -----------------------------------------------------------------------
let probing = false;
/**
 * Per Call-ID: the time the peer held each of our requests (request out → its final response in,
 * a challenge included), summed up to the 200; the gateway's own handling of a 401/407 between
 * the two requests is left out.
 */
interface Timing {
  key: string;
  method: 'INVITE' | 'REGISTER';
  sentAt: number;
  /** CSeq number of the request waiting for its final response. */
  cseq: number;
  outstanding: boolean;
  spans: number[];
  sends: number;
  done: boolean;
}
const pending = new Map<string, Timing>();
const CALL_ID = /\r\n(?:Call-ID|i)[ \t]*:[ \t]*([^\r\n]+)/i;
const CSEQ = /\r\n(?:CSeq)[ \t]*:[ \t]*(\d+)[ \t]+([A-Z]+)/i;
const TO_USER = /\r\n(?:To|t)[ \t]*:[^\r\n]*?sips?:([^@;>\s]+)@/i;

function head(buf: Buffer): string {
  return buf.toString('latin1', 0, Math.min(buf.length, 1500));
}

function onOut(buf: Buffer): void {
  const first = buf[0];
  if (first !== 0x49 /* I */ && first !== 0x52 /* R */) return;
  const text = head(buf);
  const method = text.startsWith('INVITE ') ? 'INVITE' : text.startsWith('REGISTER ') ? 'REGISTER' : undefined;
  if (!method) return;
  const callId = CALL_ID.exec(text)?.[1]?.trim();
  if (!callId) return;
  const t = pending.get(callId);
  const cseq = Number(CSEQ.exec(text)?.[1]);
  if (!t) {
    const key = method === 'INVITE' ? callId : (TO_USER.exec(text)?.[1] ?? '');
    pending.set(callId, { key, method, sentAt: performance.now(), cseq, outstanding: true, spans: [], sends: 1, done: false });
    return;
  }
  t.sends++;
  if (!t.outstanding && !t.done && cseq !== t.cseq) {
    // The request again with credentials (a retransmission keeps the first send time).
    t.sentAt = performance.now();
    t.cseq = cseq;
    t.outstanding = true;
  }
}

function onIn(buf: Buffer): void {
  if (buf.length < 12 || buf.toString('latin1', 0, 5) !== 'SIP/2') return;
  const status = Number(buf.toString('latin1', 8, 11));
  if (status < 200) return;
  const text = head(buf);
  const cseq = CSEQ.exec(text);
  const method = cseq?.[2];
  if (method !== 'INVITE' && method !== 'REGISTER') return;
  const callId = CALL_ID.exec(text)?.[1]?.trim();
  const t = callId === undefined ? undefined : pending.get(callId);
  // A retransmitted final response to an earlier request is no answer to this one.
  if (!t || !t.outstanding || Number(cseq![1]) !== t.cseq) return;
  t.spans.push(performance.now() - t.sentAt);
  t.outstanding = false;
  if (status < 300) t.done = true;
}

type SendFn = (this: dgram.Socket, msg: unknown, ...rest: unknown[]) => void;
type EmitFn = (this: dgram.Socket, event: string | symbol, ...args: unknown[]) => boolean;
const socketProto = dgram.Socket.prototype as unknown as { send: SendFn; emit: EmitFn };
const send = socketProto.send;
const emit = socketProto.emit;
socketProto.send = function (this: dgram.Socket, msg: unknown, ...rest: unknown[]): void {
  if (probing && Buffer.isBuffer(msg)) onOut(msg);
  return send.call(this, msg, ...rest);
};
socketProto.emit = function (this: dgram.Socket, event: string | symbol, ...args: unknown[]): boolean {
  if (probing && event === 'message' && Buffer.isBuffer(args[0])) onIn(args[0]);
  return emit.call(this, event, ...args);
};

// --- the gateway ----------------------------------------------------------------------------
const raw = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const options = JSON.parse(process.argv[3] ?? '{}') as { signallingOnly?: boolean };
// Signalling only: SDP crosses unchanged, where the gateway has a media plane to turn off.
const hasMedia = 'media' in (configSchema as unknown as { shape: Record<string, unknown> }).shape;
if (options.signallingOnly && hasMedia) raw.media = { ...(raw.media as object), mode: 'pass-through' };
const config = parseConfig(raw, { env: {}, source: 'benchmark' });
const mediaMode = hasMedia ? String((config as unknown as { media: { mode: string } }).media.mode) : 'none (signalling only)';
const service = await startGatewayService(config).catch((err: unknown) => {
  process.send!({ error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const emptyGc = (): ChildSnapshot['gc'] => ({ minor: { count: 0, totalMs: 0, maxMs: 0 }, major: { count: 0, totalMs: 0, maxMs: 0 }, other: { count: 0, totalMs: 0, maxMs: 0 } });
let gcs = emptyGc();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind;
    const k = kind === perfConstants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : 'other';
    const g = gcs[k];
    g.count++;
    g.totalMs += e.duration;
    g.maxMs = Math.max(g.maxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

async function collect(): Promise<void> {
  // Several passes: objects with finalizers or weak references need more than one.
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
}

async function snapshot(withGc: boolean): Promise<ChildSnapshot> {
  if (withGc) {
    await collect();
    gcs = emptyGc(); // ours, not the gateway's
  }
  const s = service.gateway.stats();
  const ms = (ns: number) => Number((ns / 1e6).toFixed(2));
  const result: ChildSnapshot = {
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    stats: {
      connections: s.connections,
      accounts: s.accounts,
      registered: s.registrations.registered,
      calls: Object.values(s.calls).reduce((a, b) => a + b, 0),
      sipTransactions: s.sipTransactions,
      sipDialogs: s.sipDialogs,
    },
    loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
    gc: Object.fromEntries(Object.entries(gcs).map(([k, g]) => [k, { count: g.count, totalMs: Math.round(g.totalMs), maxMs: Number(g.maxMs.toFixed(1)) }])) as ChildSnapshot['gc'],
    uptimeS: Math.round(process.uptime()),
  };
  loop.reset();
  gcs = emptyGc();
  return result;
}

let profiler: Session | undefined;

async function profile(file: string | undefined): Promise<void> {
  if (file === undefined) {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    return;
  }
  if (!profiler) return;
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  profiler.disconnect();
  profiler = undefined;
}

process.on('message', (raw) => {
  const msg = raw as { id: number; cmd: string; gc?: boolean; on?: boolean; file?: string };
  const reply = (body: object) => process.send!({ id: msg.id, ...body });
  switch (msg.cmd) {
    case 'snapshot':
      void snapshot(msg.gc === true).then(reply);
      break;
    case 'probe': {
      const records: ProbeRecord[] = [];
      if (!msg.on) {
        for (const t of pending.values()) {
          if (t.done) records.push({ key: t.key, method: t.method, sipMs: t.spans.reduce((a, b) => a + b, 0), spans: t.spans, sends: t.sends });
        }
      }
      pending.clear();
      probing = msg.on === true;
      reply({ records });
      break;
    }
    case 'profile':
      void profile(msg.file).then(() => reply({}));
      break;
    case 'heap-snapshot':
      void collect().then(() => reply({ file: writeHeapSnapshot(msg.file) }));
      break;
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, wsUrl: service.wsUrl(), mediaMode, sipUdpPort: service.gateway.stack.transport.local('udp')?.port });
